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

// Parameters and buffers as CPU float tensors ready for JS (num_batches_tracked left out unless asked).
StateDict ModuleStateDict(torch::nn::Module& module, bool withCounters = true);

}  // namespace clips4
