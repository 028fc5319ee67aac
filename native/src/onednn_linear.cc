#include "onednn_linear.h"

#include <cstdlib>
#include <string>

namespace clips4 {

at::Tensor OneDnnWeight::Get(const at::Tensor& weight) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t version = static_cast<int64_t>(weight._version());
  if (!packed_.defined() || source_ != weight.data_ptr() || version_ != version) {
    packed_ = weight.contiguous().to_mkldnn();
    source_ = weight.data_ptr();
    version_ = version;
  }
  return packed_;
}

namespace {

// CLIPS4_ONEDNN=0 keeps CLIP's products in at::linear / at::matmul (to compare, or to rule it out).
bool OneDnnEnabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("CLIPS4_ONEDNN");
    return v == nullptr || std::string(v) != "0";
  }();
  return enabled;
}

// Whether x · wᵀ goes through oneDNN: CPU float32 inference in a build with oneDNN.
bool UseOneDnn(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias) {
  if (!OneDnnEnabled()) return false;
  const bool gradients = at::GradMode::is_enabled() &&
                         (x.requires_grad() || w.requires_grad() || (bias.defined() && bias.requires_grad()));
  return !gradients && x.is_cpu() && w.is_cpu() && x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat &&
         at::hasMKLDNN() && x.numel() > 0 && w.numel() > 0;
}

}  // namespace

at::Tensor MatMulNT(const at::Tensor& a, const at::Tensor& b) {
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-2);
  // Below ~4M multiply-adds per product the calls' fixed cost outweighs oneDNN's faster kernels
  // (a ViT at 224² with 196 tokens and 64-wide heads ran slower per head through oneDNN).
  constexpr int64_t kMinMacs = int64_t(1) << 22;
  if (!UseOneDnn(a, b, {}) || M * N * K < kMinMacs) return at::matmul(a, b.transpose(-2, -1));
  auto as = a.reshape({-1, M, K}), bs = b.reshape({-1, N, K});
  auto out = at::empty({as.size(0), M, N}, a.options());
  for (int64_t i = 0; i < as.size(0); ++i) {
    out[i].copy_(at::mkldnn_linear(as[i].contiguous().to_mkldnn(), bs[i].contiguous()).to_dense());
  }
  auto shape = a.sizes().vec();
  shape.back() = N;
  return out.view(shape);
}

at::Tensor Linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                  const std::shared_ptr<OneDnnWeight>& packed) {
  if (!packed || !UseOneDnn(x, weight, bias)) return at::linear(x, weight, bias);
  auto rows = x.reshape({-1, x.size(-1)}).contiguous();
  auto b = bias.defined() ? c10::optional<at::Tensor>(bias.contiguous()) : c10::nullopt;
  auto y = at::mkldnn_linear(rows.to_mkldnn(), packed->Get(weight), b).to_dense();
  auto shape = x.sizes().vec();
  shape.back() = weight.size(0);
  return y.view(shape);
}

}  // namespace clips4
