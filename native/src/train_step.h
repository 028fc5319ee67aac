// One CLIP-S4 training step (paper §3, REFERENCE §4), device-agnostic:
//   pixel embeddings → k-means segments per view, split by region → segment embeddings v_s
//   L_t pixel-segment contrastive (positives: segments of the same region of the same image in
//       either view; negatives: other segments of the batch + memory bank)
//   L_e = 1 − cos(v_s, i_s) with i_s the mean of CLIP's dense features over the segment
//   L_s = CE(softmax(cos(v_s, C)/T), argmax_l cos(i_s, c_l)), C = known ∪ unknown prototypes
//   L_u updates the unknown prototypes towards the segments CLIP assigns to them.
// MaskCLIP+ baseline: per-pixel CE against CLIP's argmax over the known classes' text embeddings.
#pragma once

#include <deque>
#include <string>

#include <torch/torch.h>

#include "dist.h"
#include "kernels.h"

namespace clips4 {

struct StepConfig {
  // No defaults here: every field comes from the binding (src/train/schema.ts declares the values).
  int64_t gridY{}, gridX{}, kmeansIterations{};
  double locationWeight{};
  double kappa{};
  bool useContrastive{}, useEmbedding{}, useSemantic{}, maskclipPlus{};
  double weightContrastive{}, weightEmbedding{}, weightSemantic{};
  double semanticTemperature{};
  std::string lossImpl;
};

// A batch of 2B views: view v of image b is row v*B + b. Regions are unique per image and shared by
// both of its views; ignore marks padding; clip holds CLIP's dense features transformed like the view.
struct StepBatch {
  at::Tensor images;   // [2B,3,S,S] float32, normalised
  at::Tensor regions;  // [2B,S,S] int32
  at::Tensor ignore;   // [2B,S,S] uint8 (1 = ignore)
  at::Tensor clip;     // [2B,E,s,s] float32
  int64_t pairs = 0;   // B
  int64_t imageOffset = 0;  // global index of this batch's first image (data-parallel ranks)
};

struct StepLosses {
  at::Tensor total;         // differentiable w.r.t. the network (this rank's share of the global loss)
  at::Tensor unknownLoss;   // differentiable w.r.t. the unknown prototypes (undefined when none)
  at::Tensor segments;      // [P,d] detached segment embeddings of the whole batch (for the memory bank)
  // Data parallel only: L_t sees every rank's segments as a leaf `gathered` [P_all,d]; its gradient,
  // summed over ranks, flows back into this rank's rows (from `segmentOffset`) of `localSegments`.
  at::Tensor gathered, localSegments;
  int64_t segmentOffset = 0;
  double contrastive = 0, embedding = 0, semantic = 0, unknown = 0, avgsim = 0, loss = 0;
  int64_t numSegments = 0;
};

// Computes the losses of one step from the network's embeddings [2B,d,h,w] (L2-normalised).
// `known` [K,E] and `unknown` [U,E] are the prototypes (unknown may require grad); `bank` [M,d]
// holds earlier segment embeddings (may be empty); `knownText` [K,E] is used by MaskCLIP+ only.
// With a `group` of several ranks, each rank holds a slice of the global batch: every mean is taken
// over the global batch and the reported values are global, so the ranks' gradients sum to the
// single-process gradient of the same batch.
StepLosses ComputeStepLosses(const at::Tensor& embeddings, const StepBatch& batch, const at::Tensor& known,
                             const at::Tensor& unknown, const at::Tensor& bank, const at::Tensor& knownText,
                             const StepConfig& config, Group* group = nullptr);

using kernels::MemoryBank;


}  // namespace clips4
