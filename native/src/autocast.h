// Mixed precision for the network's forward pass: ATen's autocast with bfloat16 (no loss scaling
// needed, unlike float16), on the device the tensors live on. Losses, k-means and the optimiser
// stay in float32. The autocast API changed in LibTorch 2.4 (per-device functions); both are handled.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

namespace clips4 {

class AutocastScope {
 public:
  AutocastScope(bool enabled, c10::Device device) : enabled_(enabled), type_(device.type()) {
    if (!enabled_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    previous_ = at::autocast::is_autocast_enabled(type_);
    previousType_ = at::autocast::get_autocast_dtype(type_);
    at::autocast::set_autocast_dtype(type_, at::kBFloat16);
    at::autocast::set_autocast_enabled(type_, true);
#else
    const bool cuda = type_ == c10::DeviceType::CUDA;
    previous_ = cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
    previousType_ = cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
    if (cuda) {
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
      at::autocast::set_enabled(true);
    } else {
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    }
#endif
    at::autocast::increment_nesting();
  }

  ~AutocastScope() {
    if (!enabled_) return;
    // The cast cache lives until the outermost scope ends.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(type_, previous_);
    at::autocast::set_autocast_dtype(type_, previousType_);
#else
    if (type_ == c10::DeviceType::CUDA) {
      at::autocast::set_enabled(previous_);
      at::autocast::set_autocast_gpu_dtype(previousType_);
    } else {
      at::autocast::set_cpu_enabled(previous_);
      at::autocast::set_autocast_cpu_dtype(previousType_);
    }
#endif
  }

  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  c10::DeviceType type_;
  bool previous_ = false;
  at::ScalarType previousType_ = at::kBFloat16;
};

}  // namespace clips4
