// The CLIP-S4 kernels (REFERENCE §4), device-agnostic ATen code shared by the trainer and the
// `kernels` binding: batched spherical k-means with location features, segment splitting by
// region, segment pooling, and the pixel-segment contrastive loss.
#include "kernels.h"

#include <limits>

#include "errors.h"
#include "tensor_ops.h"

namespace clips4 {
namespace kernels {

at::Tensor NearestResize(const at::Tensor& map, int64_t h, int64_t w) {
  // map [V,H,W] integer → [V,h,w] by nearest neighbour (sampling pixel centres).
  if (map.size(1) == h && map.size(2) == w) return map;
  auto f = map.to(at::kFloat).unsqueeze(1);
  return at::upsample_nearest2d(f, {h, w}).squeeze(1).to(map.scalar_type());
}

// Spherical k-means on [embedding, locationWeight·(y,x)] with grid initialisation; all views at once.
at::Tensor KMeansLabels(const at::Tensor& emb, const at::Tensor& ignore, const KMeansOptions& c) {
  const int64_t V = emb.size(0), H = emb.size(2), W = emb.size(3);
  const int64_t K = c.gridY * c.gridX;
  auto opts = emb.options();
  auto ys = (at::arange(H, opts) + 0.5) / H - 0.5;
  auto xs = (at::arange(W, opts) + 0.5) / W - 0.5;
  auto loc = at::stack({ys.view({H, 1}).expand({H, W}), xs.view({1, W}).expand({H, W})}, 0) * c.locationWeight;
  auto feats = at::cat({emb, loc.unsqueeze(0).expand({V, 2, H, W})}, 1);
  feats = L2Normalize(feats, 1).flatten(2).transpose(1, 2);  // [V,HW,D+2]
  auto gy = at::div(at::arange(H, opts.dtype(at::kLong)) * c.gridY, H, "floor");
  auto gx = at::div(at::arange(W, opts.dtype(at::kLong)) * c.gridX, W, "floor");
  auto labels = (gy.view({H, 1}) * c.gridX + gx.view({1, W})).flatten().unsqueeze(0).expand({V, H * W}).contiguous();
  auto valid = (ignore.flatten(1) == 0).to(feats.scalar_type()).unsqueeze(-1);  // [V,HW,1]
  for (int64_t it = 0; it < c.iterations; ++it) {
    auto onehot = at::one_hot(labels, K).to(feats.scalar_type()) * valid;  // [V,HW,K]
    auto centroids = L2Normalize(at::bmm(onehot.transpose(1, 2), feats), 2);  // [V,K,D+2]
    labels = at::bmm(feats, centroids.transpose(1, 2)).argmax(2);
  }
  labels = labels.view({V, H, W});
  return at::where(ignore != 0, at::full({}, -1, labels.options()), labels);
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

// L_t in pixel tiles: forward keeps only two log-sum-exps per pixel; backward recomputes each tile's
// similarities. Memory O((N + P + M)·D + tile·(P + M)) instead of O(N·(P + M)).
struct TiledContrastive : public torch::autograd::Function<TiledContrastive> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, at::Tensor z, at::Tensor all, at::Tensor pg, at::Tensor ps, at::Tensor sg, int64_t P, double kappa, int64_t tile) {
    const int64_t N = z.size(0);
    auto lsePos = at::empty({N}, z.options()), lseAll = at::empty({N}, z.options());
    {
      torch::NoGradGuard ng;
      auto neg_inf = at::full({}, -std::numeric_limits<float>::infinity(), z.options());
      for (int64_t s = 0; s < N; s += tile) {
        const int64_t n = std::min(tile, N - s);
        auto sim = at::mm(z.narrow(0, s, n), all.t()) * kappa;
        auto pos = PositiveMask(pg.narrow(0, s, n), ps.narrow(0, s, n), sg, P);
        lsePos.narrow(0, s, n).copy_(at::logsumexp(at::where(pos, sim.narrow(1, 0, P), neg_inf), 1));
        lseAll.narrow(0, s, n).copy_(at::logsumexp(sim, 1));
      }
    }
    ctx->save_for_backward({z, all, pg, ps, sg, lsePos, lseAll});
    ctx->saved_data["P"] = P;
    ctx->saved_data["kappa"] = kappa;
    ctx->saved_data["tile"] = tile;
    return (lseAll - lsePos).mean();
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto z = saved[0], all = saved[1], pg = saved[2], ps = saved[3], sg = saved[4], lsePos = saved[5], lseAll = saved[6];
    const int64_t P = ctx->saved_data["P"].toInt(), tile = ctx->saved_data["tile"].toInt();
    const double kappa = ctx->saved_data["kappa"].toDouble();
    const int64_t N = z.size(0);
    auto scale = grads[0] * (kappa / static_cast<double>(N));
    auto gz = at::zeros_like(z), gall = at::zeros_like(all);
    for (int64_t s = 0; s < N; s += tile) {
      const int64_t n = std::min(tile, N - s);
      auto zt = z.narrow(0, s, n);
      auto sim = at::mm(zt, all.t()) * kappa;
      auto pAll = at::exp(sim - lseAll.narrow(0, s, n).unsqueeze(1));
      auto pos = PositiveMask(pg.narrow(0, s, n), ps.narrow(0, s, n), sg, P);
      auto pPos = at::zeros_like(pAll);
      pPos.narrow(1, 0, P).copy_(at::where(pos, at::exp(sim.narrow(1, 0, P) - lsePos.narrow(0, s, n).unsqueeze(1)), at::zeros({}, sim.options())));
      auto d = (pAll - pPos) * scale;  // dL/dsim / κ
      gz.narrow(0, s, n).copy_(at::mm(d, all));
      gall.add_(at::mm(d.t(), zt));
    }
    return {gz, gall, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor ContrastiveLossTiled(const at::Tensor& z, const at::Tensor& pixelGroup, const at::Tensor& pixelSegment,
                                const at::Tensor& segments, const at::Tensor& segmentGroup, const at::Tensor& bank, double kappa,
                                int64_t tile) {
  auto all = bank.defined() && bank.numel() > 0 ? at::cat({segments, bank.detach()}, 0) : segments;
  return TiledContrastive::apply(z, all, pixelGroup, pixelSegment, segmentGroup, segments.size(0), kappa, tile);
}

}  // namespace kernels
}  // namespace clips4
