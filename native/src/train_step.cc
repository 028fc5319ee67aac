#include "train_step.h"

#include "kernels.h"

#include "errors.h"
#include "tensor_ops.h"

namespace clips4 {
using kernels::ContrastiveLoss;
using kernels::KMeansLabels;
using kernels::NearestResize;
using kernels::SegmentMeanEmbeddings;
using kernels::SplitSegments;

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

  auto labels = KMeansLabels(emb.detach(), ignore, {c.gridY, c.gridX, c.kmeansIterations, c.locationWeight});
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
    auto lt = c.lossImpl == "naive" ? ContrastiveLoss(z, pixelGroup, ids, v, segGroup, bank, c.kappa)
                                      : kernels::ContrastiveLossTiled(z, pixelGroup, ids, v, segGroup, bank, c.kappa);
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
