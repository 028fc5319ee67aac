// Copying named tensors between a torch::nn::Module and a state dict, in one place: the CLIP
// loader, the embedder/backbone loader and the trainer's restore all use it, so every weight error
// reads the same way (missing and unexpected keys listed, wrong shapes and float64 named).
#pragma once

#include <set>
#include <string>

#include <torch/torch.h>

#include "tensor_js.h"

namespace clips4 {

struct LoadOptions {
  // What the weights are for, used in messages ("the CLIP architecture inferred from them").
  std::string what = "the network";
  // Prefix of the module's names inside the state dict.
  std::string prefix;
  // Keys in the state dict that the module does not have are ignored instead of reported.
  bool allowUnexpected = false;
  // Keys that may be absent or extra without complaint (e.g. num_batches_tracked).
  std::set<std::string> optionalSuffixes{".num_batches_tracked"};
  std::set<std::string> ignoredKeys;
};

void LoadStateDict(torch::nn::Module& module, const StateDict& sd, const LoadOptions& options);

// What ModuleStateDict gives floating-point tensors: float32 (weights for inference and the weight
// files users load), or each tensor's own type (a trainer's checkpoint, exact also in float64).
enum class StateDictFloats { kFloat32, kExact };

// Parameters and buffers as CPU tensors ready for JS (num_batches_tracked left out unless asked).
StateDict ModuleStateDict(torch::nn::Module& module, bool withCounters, StateDictFloats floats);

}  // namespace clips4
