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

namespace {

// Sums scalars over the ranks (identity in a single process).
std::vector<double> SumOverRanks(std::vector<double> values, Group* group) {
  if (group == nullptr || group->size <= 1) return values;
  auto t = at::tensor(values, at::TensorOptions().dtype(at::kDouble));
  std::vector<at::Tensor> buf{t};
  group->AllReduceSum(buf);
  auto a = buf[0].accessor<double, 1>();
  for (size_t i = 0; i < values.size(); ++i) values[i] = a[static_cast<int64_t>(i)];
  return values;
}

}  // namespace

StepLosses ComputeStepLosses(const at::Tensor& emb, const StepBatch& batch, const at::Tensor& known,
                             const at::Tensor& unknown, const at::Tensor& bank, const at::Tensor& knownText,
                             const StepConfig& c, Group* group) {
  const int64_t V = emb.size(0), h = emb.size(2), w = emb.size(3);
  if (batch.pairs <= 0 || V != 2 * batch.pairs)
    throw NativeError(code::kShape, "a training batch must hold two views of each image");
  const bool dist = group != nullptr && group->size > 1;
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
    double pixels = SumOverRanks({(ignore == 0).sum().item<double>()}, group)[0];
    auto ce = at::cross_entropy_loss(logits, target, {}, at::Reduction::Sum, -100) / std::max(1.0, pixels);
    out.total = ce * c.weightSemantic;
    out.semantic = SumOverRanks({ce.item<double>()}, group)[0];
    out.loss = out.semantic * c.weightSemantic;
    out.segments = at::zeros({0, emb.size(1)}, emb.options());
    return out;
  }

  auto labels = KMeansLabels(emb.detach(), ignore, {c.gridY, c.gridX, c.kmeansIterations, c.locationWeight});
  int64_t P = 0;
  auto seg = SplitSegments(labels, regions, P);
  auto v = SegmentMeanEmbeddings(emb, seg, P);
  at::Tensor is;
  {
    torch::NoGradGuard ng;
    is = SegmentMeanEmbeddings(clip, seg, P);
  }
  const bool semantic = c.useSemantic && known.defined() && known.numel() > 0;
  const bool hasUnknown = unknown.defined() && unknown.numel() > 0;
  at::Tensor protos, y;
  int64_t assignedHere = 0;
  if (semantic) {
    protos = hasUnknown ? at::cat({known.to(dev), unknown.detach()}, 0) : known.to(dev);
    y = kernels::PseudoLabels(is, protos);
    assignedHere = (y >= known.size(0)).sum().item<int64_t>();
  }
  auto valid = seg >= 0;
  // Global counts: every mean below is over the whole (all ranks') batch.
  auto counts = SumOverRanks({valid.sum().item<double>(), static_cast<double>(P),
                              static_cast<double>(assignedHere)},
                             group);
  const double pixelsAll = std::max(1.0, counts[0]), segmentsAll = std::max(1.0, counts[1]), assignedAll = counts[2];
  out.numSegments = static_cast<int64_t>(counts[1]);
  auto total = zero;
  out.segments = v.detach();

  if (c.useContrastive) {
    // Region ids made unique per image (global index across ranks), shared by both views.
    auto image = (at::arange(V, regions.options()) % batch.pairs + batch.imageOffset).view({V, 1, 1});
    auto groupId = image * (int64_t(1) << 32) + regions;
    auto ids = seg.masked_select(valid);
    auto pixelGroup = groupId.masked_select(valid);
    auto segGroup = at::zeros({P}, pixelGroup.options()).index_put_({ids}, pixelGroup);
    auto z = emb.permute({0, 2, 3, 1}).reshape({-1, emb.size(1)}).index({valid.flatten()});
    at::Tensor segments = v;
    if (dist) {
      auto sizes = group->AllGather(at::full({1}, P, at::TensorOptions().dtype(at::kLong)));
      out.segmentOffset = sizes.narrow(0, 0, group->rank).sum().item<int64_t>();
      segments = group->AllGather(v.detach()).requires_grad_(true);
      segGroup = group->AllGather(segGroup);
      ids = ids + out.segmentOffset;
      out.gathered = segments;
      out.localSegments = v;
      out.segments = segments.detach();
    }
    auto lt = c.lossImpl == "naive" ? ContrastiveLoss(z, pixelGroup, ids, segments, segGroup, bank, c.kappa)
                                      : kernels::ContrastiveLossTiled(z, pixelGroup, ids, segments, segGroup, bank, c.kappa);
    if (dist) lt = lt * (static_cast<double>(z.size(0)) / pixelsAll);
    out.contrastive = lt.item<double>();
    total = total + lt * c.weightContrastive;
  }
  if (c.useEmbedding) {
    auto le = kernels::EmbeddingLossSum(v, is) / segmentsAll;
    out.embedding = le.item<double>();
    total = total + le * c.weightEmbedding;
  }
  if (semantic) {
    auto ls = kernels::SemanticLossSum(v, protos, y, c.semanticTemperature) / segmentsAll;
    out.semantic = ls.item<double>();
    total = total + ls * c.weightSemantic;
    // Every rank takes part when any rank has segments assigned to unknown prototypes (the
    // prototypes' gradient is summed over ranks).
    if (hasUnknown && assignedAll > 0) {
      int64_t n = 0;
      auto lu = kernels::UnknownLossSum(unknown, is, y, known.size(0), n) / assignedAll;
      out.unknown = lu.item<double>();
      out.unknownLoss = lu;
    }
  }
  out.avgsim = (v.detach() * is).sum(1).sum().item<double>() / segmentsAll;
  auto global = SumOverRanks({out.contrastive, out.embedding, out.semantic, out.unknown, out.avgsim}, group);
  out.contrastive = global[0];
  out.embedding = global[1];
  out.semantic = global[2];
  out.unknown = global[3];
  out.avgsim = global[4];
  out.loss = out.contrastive * (c.useContrastive ? c.weightContrastive : 0) + out.embedding * (c.useEmbedding ? c.weightEmbedding : 0) +
             out.semantic * (semantic ? c.weightSemantic : 0);
  out.total = total;
  return out;
}

}  // namespace clips4
