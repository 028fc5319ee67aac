#include "train_step.h"

#include "errors.h"
#include "tensor_ops.h"

namespace clips4 {
namespace {

at::Tensor NearestResize(const at::Tensor& map, int64_t h, int64_t w) {
  // map [V,H,W] integer → [V,h,w] by nearest neighbour (sampling pixel centres).
  if (map.size(1) == h && map.size(2) == w) return map;
  auto f = map.to(at::kFloat).unsqueeze(1);
  return at::upsample_nearest2d(f, {h, w}).squeeze(1).to(map.scalar_type());
}

// Spherical k-means on [embedding, locationWeight·(y,x)] with grid initialisation; all views at once.
at::Tensor KMeansLabels(const at::Tensor& emb, const at::Tensor& ignore, const StepConfig& c) {
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
  for (int64_t it = 0; it < c.kmeansIterations; ++it) {
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

}  // namespace

void MemoryBank::Push(const at::Tensor& segments) {
  if (batches_ <= 0) return;
  entries_.push_back(segments.detach());
  while (static_cast<int64_t>(entries_.size()) > batches_) entries_.pop_front();
}

at::Tensor MemoryBank::All(int64_t dim, const at::TensorOptions& options) const {
  if (entries_.empty()) return at::zeros({0, dim}, options);
  return at::cat(std::vector<at::Tensor>(entries_.begin(), entries_.end()), 0);
}

StepLosses ComputeStepLosses(const at::Tensor& emb, const StepBatch& batch, const at::Tensor& known,
                             const at::Tensor& unknown, const at::Tensor& bank, const at::Tensor& knownText,
                             const StepConfig& c) {
  const int64_t V = emb.size(0), h = emb.size(2), w = emb.size(3);
  if (batch.pairs <= 0 || V != 2 * batch.pairs)
    throw NativeError(code::kShape, "a training batch must hold two views of each image");
  auto dev = emb.device();
  auto regions = NearestResize(batch.regions.to(dev).to(at::kLong), h, w);
  auto ignore = NearestResize(batch.ignore.to(dev), h, w);
  auto clip = batch.clip.to(dev).to(emb.scalar_type());
  if (clip.size(2) != h || clip.size(3) != w) clip = at::upsample_bilinear2d(clip, {h, w}, false);
  clip = L2Normalize(clip, 1);
  StepLosses out;
  auto zero = at::zeros({}, emb.options());

  if (c.maskclipPlus) {
    // Per-pixel pseudo-labels from CLIP over the known classes' text embeddings.
    auto t = L2Normalize(knownText.to(dev).to(emb.scalar_type()), 1);
    auto target = at::einsum("vehw,ke->vkhw", {clip, t}).argmax(1);
    auto logits = at::einsum("vdhw,kd->vkhw", {emb, t}) / c.semanticTemperature;
    target = at::where(ignore != 0, at::full({}, -100, target.options()), target);
    auto ce = at::cross_entropy_loss(logits, target, {}, at::Reduction::Mean, -100);
    out.total = ce * c.weightSemantic;
    out.semantic = ce.item<double>();
    out.segments = at::zeros({0, emb.size(1)}, emb.options());
    return out;
  }

  auto labels = KMeansLabels(emb.detach(), ignore, c);
  int64_t P = 0;
  auto seg = SplitSegments(labels, regions, P);
  out.numSegments = P;
  auto v = SegmentMeanEmbeddings(emb, seg, P);
  at::Tensor is;
  {
    torch::NoGradGuard ng;
    is = SegmentMeanEmbeddings(clip, seg, P);
  }
  auto total = zero;

  if (c.useContrastive) {
    auto image = (at::arange(V, regions.options()) % batch.pairs).view({V, 1, 1});
    auto R = regions.max() + 1;
    auto group = image * R + regions;  // region id made unique per image, shared by both views
    auto valid = seg >= 0;
    auto ids = seg.masked_select(valid);
    auto pixelGroup = group.masked_select(valid);
    auto segGroup = at::zeros({P}, pixelGroup.options()).index_put_({ids}, pixelGroup);
    auto z = emb.permute({0, 2, 3, 1}).reshape({-1, emb.size(1)}).index({valid.flatten()});
    auto lt = ContrastiveLoss(z, pixelGroup, ids, v, segGroup, bank, c.kappa);
    out.contrastive = lt.item<double>();
    total = total + lt * c.weightContrastive;
  }
  if (c.useEmbedding) {
    auto le = (1 - (v * is).sum(1)).mean();
    out.embedding = le.item<double>();
    total = total + le * c.weightEmbedding;
  }
  if (c.useSemantic && known.defined() && known.numel() > 0) {
    auto protos = L2Normalize(unknown.defined() && unknown.numel() > 0 ? at::cat({known.to(dev), unknown.detach()}, 0)
                                                                        : known.to(dev),
                              1);
    auto y = at::mm(is, protos.t()).argmax(1);
    auto ls = at::cross_entropy_loss(at::mm(v, protos.t()) / c.semanticTemperature, y);
    out.semantic = ls.item<double>();
    total = total + ls * c.weightSemantic;
    const int64_t K = known.size(0);
    auto assigned = y >= K;
    if (unknown.defined() && unknown.numel() > 0 && assigned.any().item<bool>()) {
      auto idx = y.masked_select(assigned) - K;
      auto cu = L2Normalize(unknown.index_select(0, idx), 1);
      auto lu = (1 - (cu * is.index({assigned})).sum(1)).mean();
      out.unknown = lu.item<double>();
      out.unknownLoss = lu;
    }
  }
  out.avgsim = (v.detach() * is).sum(1).mean().item<double>();
  out.total = total;
  out.segments = v.detach();
  return out;
}

}  // namespace clips4
