// The CLIP-S4 kernels (see kernels.cc).
#pragma once

#include <deque>

#include <torch/torch.h>

namespace clips4 {
namespace kernels {

struct KMeansOptions {
  int64_t gridY{}, gridX{}, iterations{};  // set by every caller (no defaults in C++)
  double locationWeight{};
};

// How k-means runs: batched ops with an embedding_bag M-step (what the trainer uses; see
// KMeansLabels in kernels.cc), or the per-image loop of the reference code (SegSort/HSG: per image,
// mm E-step and scatter_add M-step), kept as the benchmark's baseline and a second test reference.
enum class KMeansImpl { kBatched, kPerImage };

// [V,H,W] integer map → [V,h,w] by nearest neighbour.
at::Tensor NearestResize(const at::Tensor& map, int64_t h, int64_t w);
// Spherical k-means of emb [V,D,H,W] with (y,x) ∈ [−0.5,0.5]·locationWeight appended and
// renormalised; grid initialisation; ignore [V,H,W] (nonzero = ignored) → labels int64 [V,H,W], −1 ignored.
// With centroidsOut, also the normalised mean embedding of each final cluster → [V,K,D] (empty
// clusters are zero).
at::Tensor KMeansLabels(const at::Tensor& emb, const at::Tensor& ignore, const KMeansOptions& options,
                        KMeansImpl impl = KMeansImpl::kBatched, at::Tensor* centroidsOut = nullptr);
// One segment per (view, cluster, region) present: global ids 0..count−1 in [V,H,W], −1 kept.
at::Tensor SplitSegments(const at::Tensor& labels, const at::Tensor& regions, int64_t& count);
// L2-normalised mean of features [V,C,H,W] per segment → [count, C] (differentiable).
at::Tensor SegmentMeanEmbeddings(const at::Tensor& features, const at::Tensor& segments, int64_t count);
// Pixel-segment contrastive loss (HSG's segsort+ reading) in log-sum-exp form.
at::Tensor ContrastiveLoss(const at::Tensor& z, const at::Tensor& pixelGroup, const at::Tensor& pixelSegment,
                           const at::Tensor& segments, const at::Tensor& segmentGroup, const at::Tensor& bank, double kappa);

// The same loss computed in pixel tiles with a custom autograd function that recomputes each tile
// in backward (memory O((N+P+M)·D + tile·(P+M))).
at::Tensor ContrastiveLossTiled(const at::Tensor& z, const at::Tensor& pixelGroup, const at::Tensor& pixelSegment,
                                const at::Tensor& segments, const at::Tensor& segmentGroup, const at::Tensor& bank, double kappa,
                                int64_t tile = 4096);

// The CLIP guidance losses (paper §3.2) as sums over segments; callers divide by the (global)
// segment count so data-parallel ranks add up to the single-process loss. Rows are L2-normalised
// inside, so any segment embeddings may be passed.
// L_e, eq. 2: Σ_s 1 − cos(v_s, i_s).
at::Tensor EmbeddingLossSum(const at::Tensor& v, const at::Tensor& clip);
// Pseudo-labels y_s = argmax_l cos(i_s, c_l) over the target prototypes C = known ∪ unknown; of
// bitwise-identical prototypes only the first is a label.
at::Tensor PseudoLabels(const at::Tensor& clip, const at::Tensor& prototypes);
// L_s, eq. 3: Σ_s CE(y_s, softmax(cos(v_s, C) / temperature)).
at::Tensor SemanticLossSum(const at::Tensor& v, const at::Tensor& prototypes, const at::Tensor& labels, double temperature);
// L_u, eq. 4: Σ over segments whose label is an unknown prototype (label ≥ known) of
// 1 − cos(c_{label − known}, i_s); differentiable w.r.t. `unknown` [U,E]. `count` gets how many.
at::Tensor UnknownLossSum(const at::Tensor& unknown, const at::Tensor& clip, const at::Tensor& labels, int64_t known,
                          int64_t& count);
// Known prototypes (paper Fig. 3b): p = softmax over classes of logitScale·cos(i_s, t_k); class k's
// prototype is the normalised mean of the CLIP embeddings of its top-m segments by p[:,k].
at::Tensor KnownPrototypes(const at::Tensor& clip, const at::Tensor& text, int64_t m, double logitScale);
// The rows of `clip` those prototypes average: [K,min(m,S)] int64, each class's best first. A
// class's top-m over a dataset is its top-m over the union of every chunk's top-m, so the
// prototypes can be built from a stream of segments holding only these rows.
at::Tensor KnownPrototypeSegments(const at::Tensor& clip, const at::Tensor& text, int64_t m, double logitScale);

// FIFO of detached segment embeddings from the previous `batches` steps (negatives only).
class MemoryBank {
 public:
  explicit MemoryBank(int64_t batches = 2) : batches_(batches) {}
  void Push(const at::Tensor& segments);
  // All stored rows [M,dim] (empty [0,dim] when nothing is stored yet).
  at::Tensor All(int64_t dim, const at::TensorOptions& options) const;
  std::deque<at::Tensor>& entries() { return entries_; }
  const std::deque<at::Tensor>& entries() const { return entries_; }
  int64_t batches() const { return batches_; }

 private:
  int64_t batches_;
  std::deque<at::Tensor> entries_;
};

}  // namespace kernels
}  // namespace clips4
