// The CLIP-S4 kernels (see kernels.cc).
#pragma once

#include <torch/torch.h>

namespace clips4 {
namespace kernels {

struct KMeansOptions {
  int64_t gridY = 6, gridX = 6, iterations = 10;
  double locationWeight = 1.0;
};

// [V,H,W] integer map → [V,h,w] by nearest neighbour.
at::Tensor NearestResize(const at::Tensor& map, int64_t h, int64_t w);
// Spherical k-means of emb [V,D,H,W] with (y,x) ∈ [−0.5,0.5]·locationWeight appended and
// renormalised; grid initialisation; ignore [V,H,W] (nonzero = ignored) → labels int64 [V,H,W], −1 ignored.
at::Tensor KMeansLabels(const at::Tensor& emb, const at::Tensor& ignore, const KMeansOptions& options);
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

}  // namespace kernels
}  // namespace clips4
