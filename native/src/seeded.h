// Seeded initialisation. torch::nn modules draw their initial weights from LibTorch's default CPU
// generator, which the whole process shares: two constructions seeded at once (a CLIP created on a
// pool thread while the main thread creates an embedder) would interleave their draws, and neither
// would get the weights its seed promises. Every seeded construction goes through here.
#pragma once

#include <cstdint>
#include <mutex>

#include <torch/torch.h>

namespace clips4 {

// Held for the whole seed-and-construct, by every user of the default generator in clips4.
std::mutex& DefaultGeneratorMutex();

// A construction whose draws do not matter (its weights are loaded next) still draws from the
// default generator, so it holds the lock too.
template <typename F>
auto Unseeded(F&& construct) -> decltype(construct()) {
  std::lock_guard<std::mutex> lock(DefaultGeneratorMutex());
  return construct();
}

template <typename F>
auto Seeded(uint64_t seed, F&& construct) -> decltype(construct()) {
  return Unseeded([&] {
    torch::manual_seed(seed);
    return construct();
  });
}

}  // namespace clips4
