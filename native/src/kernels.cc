// The CLIP-S4 kernels (REFERENCE §4), device-agnostic ATen code shared by the trainer and the
// `kernels` binding: batched spherical k-means with location features, segment splitting by
// region, segment pooling, and the pixel-segment contrastive loss.
#include "kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "errors.h"
#include "onednn_linear.h"
#include "tensor_ops.h"

namespace clips4 {
namespace kernels {

at::Tensor NearestResize(const at::Tensor& map, int64_t h, int64_t w) {
  // map [V,H,W] integer → [V,h,w] by nearest neighbour: output cell (i, j) takes source pixel
  // (⌊i·H/h⌋, ⌊j·W/w⌋), the top-left pixel of its block (upsample_nearest2d's rule; the step's
  // reference test composes the same rule).
  if (map.size(1) == h && map.size(2) == w) return map;
  auto f = map.to(at::kFloat).unsqueeze(1);
  return at::upsample_nearest2d(f, {h, w}).squeeze(1).to(map.scalar_type());
}

namespace {

// Initial labels from a regular gy × gx grid: [HW].
at::Tensor GridLabels(int64_t H, int64_t W, const KMeansOptions& c, const at::TensorOptions& opts) {
  auto gy = at::div(at::arange(H, opts.dtype(at::kLong)) * c.gridY, H, "floor");
  auto gx = at::div(at::arange(W, opts.dtype(at::kLong)) * c.gridX, W, "floor");
  return (gy.view({H, 1}) * c.gridX + gx.view({1, W})).flatten();
}

// The E-step's [N, cols] × [cols, K] product has only K = 36 columns: OpenBLAS packs the whole
// [N, cols] operand for those few columns (~40–70 GFLOP/s here), while oneDNN's inner product
// runs it at ~200 GFLOP/s (2 cores, measured). On the CPU the rows are converted to oneDNN's tensor
// once per chunk (xOneDnn, one per view) and reused by every iteration; elsewhere it is a bmm.
// Scores [n,N,K] of rows x [n,N,cols] against centroids [n,K,cols].
at::Tensor EStepScores(const at::Tensor& x, const std::vector<at::Tensor>& xOneDnn, const at::Tensor& centroids) {
  if (xOneDnn.empty()) return at::bmm(x, centroids.transpose(1, 2));
  std::vector<at::Tensor> scores;
  for (size_t v = 0; v < xOneDnn.size(); ++v) scores.push_back(OneDnnRowsTimesT(xOneDnn[v], centroids[v]));
  return at::stack(scores, 0);
}

}  // namespace

// Spherical k-means on f_p = [e_p, locationWeight·(y_p, x_p)] / ‖·‖ with grid initialisation.
// The rows [e_p, loc_p] are not normalised: the E-step's argmax_k cos(f_p, c_k) does not change when
// f_p is scaled, and the M-step takes f_p's unit length as a weight 1/‖[e_p, loc_p]‖ in embedding_bag,
// so each iteration is one GEMM (E) and one O(N·D) weighted segment sum (M) per view. Measured on
// 2 CPU cores at B=16, 84², D=512: ~2x the reference per-image loop with the E-step in OpenBLAS
// (~70% of the time), 3.3–4.6x with it in oneDNN.
at::Tensor KMeansLabels(const at::Tensor& emb, const at::Tensor& ignore, const KMeansOptions& c, KMeansImpl impl,
                        at::Tensor* centroidsOut) {
  const int64_t V = emb.size(0), D = emb.size(1), H = emb.size(2), W = emb.size(3), N = H * W;
  const int64_t K = c.gridY * c.gridX;
  auto opts = emb.options();
  auto ys = (at::arange(H, opts) + 0.5) / H - 0.5;
  auto xs = (at::arange(W, opts) + 0.5) / W - 0.5;
  auto loc = (at::stack({ys.view({H, 1}).expand({H, W}), xs.view({1, W}).expand({H, W})}, 0).view({1, 2, N}) * c.locationWeight)
                 .expand({V, 2, N});
  auto e = emb.reshape({V, D, N});
  auto init = GridLabels(H, W, c, opts);
  auto ignored = ignore.reshape({V, N}) != 0;
  auto none = at::full({}, -1, init.options());
  at::Tensor labels;
  if (impl == KMeansImpl::kBatched) {
    // On a GPU every view goes through each op at once. On a CPU the views run in chunks of about
    // kCpuChunkBytes of embeddings, each through all its iterations, so that a chunk stays in cache
    // (16 views at 84² and D=512 are 232 MB, which every pass would otherwise stream from memory).
    const int64_t bytesPerView = D * N * static_cast<int64_t>(emb.element_size());
    constexpr int64_t kCpuChunkBytes = int64_t(16) << 20;
    const int64_t chunk = emb.is_cpu() ? std::max<int64_t>(1, kCpuChunkBytes / bytesPerView) : V;
    std::vector<at::Tensor> parts, centroidParts;
    for (int64_t v0 = 0; v0 < V; v0 += chunk) {
      const int64_t n = std::min(chunk, V - v0);
      // Pixels as rows [e_p, loc_p] (one transposing copy per chunk), weights 1/‖[e_p, loc_p]‖.
      // Rows padded with zeros to a multiple of 16 floats: 514-float rows run ~20% slower in BLAS.
      const int64_t cols = (D + 2 + 15) / 16 * 16;
      auto x = at::cat({e.narrow(0, v0, n).transpose(1, 2), loc.narrow(0, 0, n).transpose(1, 2),
                        at::zeros({n, N, cols - D - 2}, opts)}, 2);  // [n,N,cols]
      auto ig = ignored.narrow(0, v0, n);
      auto weight = at::where(ig, at::zeros({}, opts), x.square().sum(2).rsqrt()).flatten();
      auto rows = x.view({n * N, cols});
      std::vector<at::Tensor> xOneDnn;
      if (OneDnnCanMultiply(x, x)) {
        for (int64_t v = 0; v < n; ++v) xOneDnn.push_back(ToOneDnn(x[v]));
      }
      auto slotBase = at::arange(n, init.options()).view({n, 1}) * (K + 1);
      // Rows grouped by (view, cluster) (slot K of a view takes its ignored pixels) and summed with
      // weights w by embedding_bag: O(N·D), where a one-hot GEMM is O(N·K·D). → [n,K,cols]
      auto clusterSums = [&](const at::Tensor& l, const at::Tensor& w) {
        auto slot = (at::where(l >= 0, l, at::full({}, K, l.options())) + slotBase).flatten();
        auto order = slot.argsort();
        auto counts = at::bincount(slot, {}, n * (K + 1));
        auto offsets = at::cat({at::zeros({1}, counts.options()), counts.cumsum(0).narrow(0, 0, n * (K + 1) - 1)});
        auto sums = std::get<0>(at::embedding_bag(rows, order, offsets, false, /*sum*/ 0, false, w.index_select(0, order)));
        return sums.view({n, K + 1, cols}).narrow(1, 0, K);
      };
      auto l = at::where(ig, none, init.unsqueeze(0).expand({n, N}));
      for (int64_t it = 0; it < c.iterations; ++it) {
        auto centroids = L2Normalize(clusterSums(l, weight), 2);  // M-step
        // E-step: the best cluster along the contiguous cluster axis of [n,N,K] (max's indices
        // measured ~2x faster than argmax there).
        auto next = at::where(ig, none, std::get<1>(EStepScores(x, xOneDnn, centroids).max(2)));
        // Unchanged labels give unchanged centroids, so every later iteration would repeat this one.
        const bool converged = at::equal(next, l);
        l = next;
        if (converged) break;
      }
      // The returned centroids: normalised plain means of the embeddings (the rows' first D columns).
      if (centroidsOut) centroidParts.push_back(L2Normalize(clusterSums(l, ig.logical_not().flatten().to(opts.dtype())).narrow(2, 0, D), 2));
      parts.push_back(l);
    }
    labels = parts.size() == 1 ? parts[0] : at::cat(parts, 0);
    if (centroidsOut) *centroidsOut = centroidParts.size() == 1 ? centroidParts[0] : at::cat(centroidParts, 0);
  } else {
    // The reference code's loop: one image at a time on the normalised features, M-step by
    // scatter_add over expanded labels, E-step by mm.
    auto feats = L2Normalize(at::cat({e, loc}, 1), 1).transpose(1, 2);  // [V,N,D+2]
    auto clusterMeans = [&](const at::Tensor& rows, const at::Tensor& l) {
      return L2Normalize(at::zeros({K, rows.size(1)}, rows.options()).scatter_add_(0, l.unsqueeze(1).expand_as(rows), rows), 1);
    };
    std::vector<at::Tensor> out, centroids;
    for (int64_t v = 0; v < V; ++v) {
      auto keep = ignored[v].logical_not();
      auto fv = feats[v].index({keep});
      auto l = init.index({keep});
      for (int64_t it = 0; it < c.iterations; ++it) l = at::mm(fv, clusterMeans(fv, l).t()).argmax(1);
      out.push_back(at::full({N}, -1, init.options()).index_put_({keep}, l));
      if (centroidsOut) centroids.push_back(clusterMeans(e[v].t().index({keep}), l));
    }
    labels = at::stack(out, 0);
    if (centroidsOut) *centroidsOut = at::stack(centroids, 0);
  }
  return labels.view({V, H, W});
}

// Segment ids (global over the batch) for each (view, cluster, region) present; −1 stays −1.
at::Tensor SplitSegments(const at::Tensor& labels, const at::Tensor& regions, int64_t& count) {
  const int64_t V = labels.size(0);
  auto R = regions.max().item<int64_t>() + 1;
  auto K = labels.max().item<int64_t>() + 1;
  auto view = at::arange(V, labels.options()).view({V, 1, 1});
  auto key = (view * K + labels) * R + regions;
  auto valid = labels >= 0;
  auto out = at::full_like(labels, -1);
  auto keys = key.masked_select(valid);
  auto uniq = at::_unique(keys, /*sorted=*/true, /*return_inverse=*/true);
  count = std::get<0>(uniq).numel();
  out.masked_scatter_(valid, std::get<1>(uniq));
  return out;
}

// Normalised mean of features [V,C,H,W] per segment id → [P,C] (differentiable).
at::Tensor SegmentMeanEmbeddings(const at::Tensor& features, const at::Tensor& seg, int64_t count) {
  const int64_t C = features.size(1);
  auto flat = features.permute({0, 2, 3, 1}).reshape({-1, C});
  auto ids = seg.flatten();
  auto valid = ids >= 0;
  auto sums = at::zeros({count, C}, features.options()).index_add(0, ids.masked_select(valid), flat.index({valid}));
  return L2Normalize(sums, 1);
}

// L_t with the whole pixel × segment similarity in memory (small problems).
at::Tensor ContrastiveLoss(const at::Tensor& z, const at::Tensor& pixelGroup, const at::Tensor& pixelSeg,
                           const at::Tensor& v, const at::Tensor& segGroup, const at::Tensor& bank, double kappa) {
  auto all = bank.defined() && bank.numel() > 0 ? at::cat({v, bank}, 0) : v;
  auto sim = at::mm(z, all.t()) * kappa;  // [N, P+M]
  const int64_t P = v.size(0), M = all.size(0) - P;
  auto sameGroup = pixelGroup.unsqueeze(1) == segGroup.unsqueeze(0);                        // [N,P]
  auto own = at::arange(P, pixelSeg.options()).unsqueeze(0) == pixelSeg.unsqueeze(1);       // [N,P]
  auto others = sameGroup & ~own;
  auto hasOther = others.any(1, /*keepdim=*/true);
  auto pos = at::where(hasOther, others, own);
  if (M > 0) pos = at::cat({pos, at::zeros({pos.size(0), M}, pos.options())}, 1);
  auto neg_inf = at::full({}, -std::numeric_limits<float>::infinity(), sim.options());
  auto lse_pos = at::logsumexp(at::where(pos, sim, neg_inf), 1);
  auto lse_all = at::logsumexp(sim, 1);
  return (lse_all - lse_pos).mean();
}

at::Tensor EmbeddingLossSum(const at::Tensor& v, const at::Tensor& clip) {
  return (1 - (L2Normalize(v, 1) * L2Normalize(clip, 1)).sum(1)).sum();
}

at::Tensor PseudoLabels(const at::Tensor& clip, const at::Tensor& prototypes) {
  // Bitwise-identical prototypes (e.g. two classes whose top-m segments coincide) score the same in
  // exact arithmetic, but a GEMM may round their columns differently, so which one wins would
  // depend on the batch's shape. The first of a group takes the segment: the others are masked.
  auto c = L2Normalize(prototypes, 1);
  // [L,L,E] comparisons: ~28 MB of booleans for COCO-Stuff's 171 + 64 prototypes, once per step.
  auto same = (c.unsqueeze(0) == c.unsqueeze(1)).all(2).triu(1);  // [L,L]: row i equals a later j
  auto repeat = same.any(0);                                        // [L]: equals an earlier row
  auto sim = at::mm(L2Normalize(clip, 1), c.t());
  return sim.masked_fill(repeat.unsqueeze(0), -std::numeric_limits<float>::infinity()).argmax(1);
}

at::Tensor SemanticLossSum(const at::Tensor& v, const at::Tensor& prototypes, const at::Tensor& labels, double temperature) {
  auto logits = at::mm(L2Normalize(v, 1), L2Normalize(prototypes, 1).t()) / temperature;
  return at::cross_entropy_loss(logits, labels, {}, at::Reduction::Sum);
}

at::Tensor UnknownLossSum(const at::Tensor& unknown, const at::Tensor& clip, const at::Tensor& labels, int64_t known,
                          int64_t& count) {
  auto assigned = labels >= known;
  count = assigned.sum().item<int64_t>();
  if (count == 0) return (unknown * 0).sum();
  auto cu = L2Normalize(unknown.index_select(0, labels.masked_select(assigned) - known), 1);
  return (1 - (cu * L2Normalize(clip.index({assigned}), 1)).sum(1)).sum();
}

namespace {

// score[s,k] = l[s,k] − logsumexp_{j≠k} l[s,j]: increasing in softmax(l)[s,k] (p = σ(score)), but it
// does not round to a tie where p rounds to 1 (at CLIP's logit scale 100 many segments have p = 1.0
// in float64). For j≠k with k not the row's argmax, p_k ≤ ½ and logsumexp_{j≠k} = lse + log1p(−p_k)
// is exact; for the argmax it is the log-sum-exp of the row without it. One class: the raw logits.
at::Tensor ClassScores(const at::Tensor& l) {
  if (l.size(1) == 1) return l;
  auto lse = at::logsumexp(l, 1, true);
  auto top = l.argmax(1, true);
  auto isTop = at::zeros_like(l, l.options().dtype(at::kBool)).scatter_(1, top, true);
  auto others = lse + at::log1p(-at::exp(l - lse));
  auto withoutTop = at::logsumexp(l.masked_fill(isTop, -std::numeric_limits<double>::infinity()), 1, true);
  return l - at::where(isTop, withoutTop, others);
}

}  // namespace

at::Tensor KnownPrototypeSegments(const at::Tensor& clip, const at::Tensor& text, int64_t m, double logitScale) {
  // Ranked in float64 by ClassScores (the softmax's order without its rounding ties).
  auto logits = at::mm(L2Normalize(clip, 1).to(at::kDouble), L2Normalize(text, 1).to(at::kDouble).t()) * logitScale;  // [S,K]
  return std::get<1>(ClassScores(logits).topk(std::min(m, logits.size(0)), 0)).t().contiguous();  // [K,m]
}

at::Tensor KnownPrototypes(const at::Tensor& clip, const at::Tensor& text, int64_t m, double logitScale) {
  auto top = KnownPrototypeSegments(clip, text, m, logitScale);
  return L2Normalize(L2Normalize(clip, 1).index_select(0, top.flatten()).view({text.size(0), top.size(1), -1}).sum(1), 1);
}

void MemoryBank::Push(const at::Tensor& segments) {
  if (batches_ <= 0) return;
  entries_.push_back(segments.detach());
  while (static_cast<int64_t>(entries_.size()) > batches_) entries_.pop_front();
}

at::Tensor MemoryBank::All(int64_t dim, const at::TensorOptions& options) const {
  if (entries_.empty()) return at::zeros({0, dim}, options);
  return at::cat(std::vector<at::Tensor>(entries_.begin(), entries_.end()), 0);
}

}  // namespace kernels
}  // namespace clips4

namespace clips4 {
namespace kernels {
namespace {

// Positive mask of a tile of pixels against the P batch segments (bank columns are never positive).
at::Tensor PositiveMask(const at::Tensor& pg, const at::Tensor& ps, const at::Tensor& sg, int64_t P) {
  auto same = pg.unsqueeze(1) == sg.unsqueeze(0);
  auto own = at::arange(P, ps.options()).unsqueeze(0) == ps.unsqueeze(1);
  auto others = same & ~own;
  return at::where(others.any(1, true), others, own);
}

// Each pixel's positives on the CPU, as column lists: the batch segments of its group other than
// its own, or its own when there is no other. A pixel has a handful of positives among hundreds of
// columns, so visiting them by index replaces the dense [tile × P] mask and its where/any/exp passes
// (L_t was a quarter of the demo's step, most of it in those elementwise passes over the tile).
class PositiveLists {
 public:
  PositiveLists(const at::Tensor& pixelGroup, const at::Tensor& pixelSegment, const at::Tensor& segmentGroup)
      : pixelGroup_(pixelGroup.contiguous()), pixelSegment_(pixelSegment.contiguous()) {
    auto sg = segmentGroup.contiguous();
    const int64_t* g = sg.data_ptr<int64_t>();
    const int64_t P = sg.numel();
    order_.resize(P);
    for (int64_t j = 0; j < P; ++j) order_[j] = j;
    std::stable_sort(order_.begin(), order_.end(), [g](int64_t a, int64_t b) { return g[a] < g[b]; });
    groups_.resize(P);
    for (int64_t j = 0; j < P; ++j) groups_[j] = g[order_[j]];
  }
  // Calls f(column) for each positive of pixel i.
  template <class F>
  void ForEach(int64_t i, F&& f) const {
    const int64_t own = pixelSegment_.data_ptr<int64_t>()[i];
    auto range = std::equal_range(groups_.begin(), groups_.end(), pixelGroup_.data_ptr<int64_t>()[i]);
    bool any = false;
    for (auto it = range.first; it != range.second; ++it) {
      const int64_t j = order_[it - groups_.begin()];
      if (j != own) {
        f(j);
        any = true;
      }
    }
    if (!any) f(own);
  }

 private:
  at::Tensor pixelGroup_, pixelSegment_;
  std::vector<int64_t> order_, groups_;
};

// The CPU path for float and double tiles; elsewhere ATen ops on the dense mask.
bool FusedTiles(const at::Tensor& z) {
  return z.is_cpu() && (z.scalar_type() == at::kFloat || z.scalar_type() == at::kDouble);
}

// For each pixel of a tile (sim's rows = κ·z·allᵀ of pixels first, first + 1, …), in PositiveLists
// order: log Σ_{j positive} exp(sim[j]) into lsePos, and the positives' softmax, exp(sim[j] − lsePos),
// appended to q.
template <class T>
void PositiveSoftmax(const at::Tensor& sim, const PositiveLists& lists, int64_t first, T* lsePos, std::vector<double>& q) {
  const T* rows = sim.data_ptr<T>();
  const int64_t n = sim.size(0), C = sim.size(1);
  for (int64_t i = 0; i < n; ++i) {
    const T* row = rows + i * C;
    double m = -std::numeric_limits<double>::infinity(), sum = 0;
    lists.ForEach(first + i, [&](int64_t j) { m = std::max(m, static_cast<double>(row[j])); });
    lists.ForEach(first + i, [&](int64_t j) { sum += std::exp(static_cast<double>(row[j]) - m); });
    const double lse = m + std::log(sum);
    lsePos[i] = static_cast<T>(lse);
    lists.ForEach(first + i, [&](int64_t j) { q.push_back(std::exp(static_cast<double>(row[j]) - lse)); });
  }
}

// L_t in pixel tiles: forward keeps two log-sum-exps per pixel, and on the CPU the positives'
// softmax values; backward recomputes each tile's similarities. Memory O((N + P + M)·D + tile·(P + M))
// instead of O(N·(P + M)). When all pixels fit in one tile (the demo's 1,024 pixels × ~1,400
// columns: ~455 segments and a bank of two batches, 5.6 MB), the CPU path keeps that tile's softmax
// for backward instead of recomputing its product, subtraction and exponentials (LibTorch's
// profiler, one step: L_t's backward 19 → 4–8 ms).
struct TiledContrastive : public torch::autograd::Function<TiledContrastive> {
  // The bank is a constant (earlier batches' segments): it gets no gradient, so backward's product
  // for the columns' gradient covers the batch's P segments only, not the P + M columns.
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, at::Tensor z, at::Tensor segments, at::Tensor bank, at::Tensor pg, at::Tensor ps, at::Tensor sg, double kappa, int64_t tile) {
    const int64_t P = segments.size(0);
    at::Tensor all;
    {
      torch::NoGradGuard ng;
      all = bank.numel() > 0 ? at::cat({segments, bank}, 0) : segments;  // the caller passes an empty bank, never none
    }
    const int64_t N = z.size(0), C = all.size(0);
    auto lsePos = at::empty({N}, z.options()), lseAll = at::empty({N}, z.options());
    const bool fused = FusedTiles(z);
    at::Tensor softmax, positives;  // the CPU path's kept values (undefined elsewhere)
    {
      torch::NoGradGuard ng;
      std::unique_ptr<PositiveLists> lists;
      if (fused) {
        lists = std::make_unique<PositiveLists>(pg, ps, sg);
        if (N <= tile) softmax = at::empty({N, C}, z.options());
      }
      auto neg_inf = at::full({}, -std::numeric_limits<float>::infinity(), z.options());
      std::vector<double> q;  // the positives' softmax values, pixel by pixel
      for (int64_t s = 0; s < N; s += tile) {
        const int64_t n = std::min(tile, N - s);
        auto sim = at::mm(z.narrow(0, s, n), all.t()).mul_(kappa);
        if (softmax.defined()) {
          // log-sum-exp as at::logsumexp computes it (row max, then the sum of shifted exps),
          // keeping the exps: the softmax is their quotient by the sum.
          auto m = std::get<0>(sim.max(1, true));
          auto p = softmax.narrow(0, s, n);
          at::sub_out(p, sim, m).exp_();
          auto sum = p.sum(1, true);
          p.div_(sum);
          lseAll.narrow(0, s, n).copy_((sum.log_() + m).squeeze(1));
        } else {
          lseAll.narrow(0, s, n).copy_(at::logsumexp(sim, 1));
        }
        if (fused) {
          AT_DISPATCH_FLOATING_TYPES(sim.scalar_type(), "TiledContrastive.forward", [&] {
            PositiveSoftmax<scalar_t>(sim, *lists, s, lsePos.data_ptr<scalar_t>() + s, q);
          });
        } else {
          auto pos = PositiveMask(pg.narrow(0, s, n), ps.narrow(0, s, n), sg, P);
          lsePos.narrow(0, s, n).copy_(at::logsumexp(at::where(pos, sim.narrow(1, 0, P), neg_inf), 1));
        }
      }
      if (fused) positives = at::tensor(at::ArrayRef<double>(q), z.options().dtype(at::kDouble));
    }
    ctx->save_for_backward({z, pg, ps, sg, lsePos, lseAll});
    ctx->saved_data["all"] = all;
    ctx->saved_data["P"] = P;
    ctx->saved_data["kappa"] = kappa;
    ctx->saved_data["tile"] = tile;
    ctx->saved_data["softmax"] = softmax;
    ctx->saved_data["positives"] = positives;
    return (lseAll - lsePos).mean();
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto z = saved[0], pg = saved[1], ps = saved[2], sg = saved[3], lsePos = saved[4], lseAll = saved[5];
    const at::Tensor all = ctx->saved_data["all"].toTensor();
    const int64_t P = ctx->saved_data["P"].toInt(), tile = ctx->saved_data["tile"].toInt();
    const double kappa = ctx->saved_data["kappa"].toDouble();
    const at::Tensor softmax = ctx->saved_data["softmax"].toOptional<at::Tensor>().value_or(at::Tensor());
    const at::Tensor positives = ctx->saved_data["positives"].toOptional<at::Tensor>().value_or(at::Tensor());
    const int64_t N = z.size(0);
    auto scale = grads[0] * (kappa / static_cast<double>(N));
    auto gz = at::zeros_like(z), gseg = at::zeros({P, all.size(1)}, all.options());
    const bool fused = positives.defined();
    std::unique_ptr<PositiveLists> lists;
    if (fused) lists = std::make_unique<PositiveLists>(pg, ps, sg);
    int64_t next = 0;  // the first of the tile's values in `positives`
    for (int64_t s = 0; s < N; s += tile) {
      const int64_t n = std::min(tile, N - s);
      auto zt = z.narrow(0, s, n);
      at::Tensor d;  // dL/dsim / κ = (softmax over all − softmax over the positives) · scale
      if (fused) {
        d = softmax.defined() ? softmax.narrow(0, s, n) * scale
                              : (at::mm(zt, all.t()).mul_(kappa) - lseAll.narrow(0, s, n).unsqueeze(1)).exp_().mul_(scale);
        const double k = scale.item<double>();
        AT_DISPATCH_FLOATING_TYPES(d.scalar_type(), "TiledContrastive.backward", [&] {
          scalar_t* rows = d.data_ptr<scalar_t>();
          const double* q = positives.data_ptr<double>();
          const int64_t C = d.size(1);
          for (int64_t i = 0; i < n; ++i) {
            scalar_t* row = rows + i * C;
            lists->ForEach(s + i, [&](int64_t j) { row[j] -= static_cast<scalar_t>(q[next++] * k); });
          }
        });
      } else {
        auto sim = at::mm(zt, all.t()) * kappa;
        auto pAll = at::exp(sim - lseAll.narrow(0, s, n).unsqueeze(1));
        auto pos = PositiveMask(pg.narrow(0, s, n), ps.narrow(0, s, n), sg, P);
        auto pPos = at::zeros_like(pAll);
        pPos.narrow(1, 0, P).copy_(at::where(pos, at::exp(sim.narrow(1, 0, P) - lsePos.narrow(0, s, n).unsqueeze(1)), at::zeros({}, sim.options())));
        d = (pAll - pPos) * scale;
      }
      gz.narrow(0, s, n).copy_(at::mm(d, all));
      gseg.add_(at::mm(d.narrow(1, 0, P).t(), zt));
    }
    return {gz, gseg, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor ContrastiveLossTiled(const at::Tensor& z, const at::Tensor& pixelGroup, const at::Tensor& pixelSegment,
                                const at::Tensor& segments, const at::Tensor& segmentGroup, const at::Tensor& bank, double kappa,
                                int64_t tile) {
  // The CPU tiles read each pixel's own segment by index: an id outside [0, P) would read out of bounds.
  if (pixelSegment.numel() > 0 && (pixelSegment.min().item<int64_t>() < 0 || pixelSegment.max().item<int64_t>() >= segments.size(0)))
    throw NativeError(code::kShape, "pixelSegment holds an id outside [0, " + std::to_string(segments.size(0)) + ")");
  // autograd needs a defined tensor for every input: no bank is an empty one.
  auto constant = bank.defined() ? bank.detach() : at::empty({0, segments.size(1)}, segments.options());
  return TiledContrastive::apply(z, segments, constant, pixelGroup, pixelSegment, segmentGroup, kappa, tile);
}

}  // namespace kernels
}  // namespace clips4
