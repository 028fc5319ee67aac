// Small ATen helpers shared by the native modules.
#pragma once

#include <torch/torch.h>

namespace clips4 {

// x / max(||x||₂, eps) along `dim` (as torch.nn.functional.normalize).
inline at::Tensor L2Normalize(const at::Tensor& x, int64_t dim, double eps = 1e-12) {
  return x / x.norm(2, dim, /*keepdim=*/true).clamp_min(eps);
}

}  // namespace clips4
