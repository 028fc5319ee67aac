// Device strings from JS ('cpu', 'cuda', 'cuda:N', 'auto') to c10::Device, with the one clear
// error for CUDA requested where there is none.
#pragma once

#include <string>

#include <torch/torch.h>

#include "errors.h"

namespace clips4 {

inline c10::Device ParseDevice(const std::string& name) {
  if (name.empty() || name == "cpu") return c10::Device(c10::kCPU);
  bool cuda = torch::cuda::is_available();
  if (name == "auto") return cuda ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!cuda)
      throw NativeError(code::kNoCuda,
                        "device '" + name +
                            "' was requested but this LibTorch has no usable CUDA device (CPU-only build, or no "
                            "GPU/driver). Use device 'cpu' or 'auto', or rebuild against a CUDA LibTorch: "
                            "LIBTORCH=/path/to/libtorch-cuda npm run rebuild:native");
    int64_t index = 0;
    if (name.size() > 5) index = std::stoll(name.substr(5));
    int64_t count = static_cast<int64_t>(torch::cuda::device_count());
    if (index < 0 || index >= count)
      throw NativeError(code::kNoCuda, "device '" + name + "' does not exist: " + std::to_string(count) +
                                           " CUDA device(s) are visible");
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw NativeError(code::kInvalidArg,
                    "Expected 'cpu', 'cuda', 'cuda:N' or 'auto' for device but received '" + name + "'", true);
}

}  // namespace clips4
