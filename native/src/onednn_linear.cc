#include "onednn_linear.h"
#include "env_switch.h"

namespace clips4 {

at::Tensor OneDnnWeight::Get(const at::Tensor& weight) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t version = static_cast<int64_t>(weight._version());
  if (!packed_.defined() || source_ != weight.data_ptr() || version_ != version) {
    packed_ = ToOneDnn(weight);
    source_ = weight.data_ptr();
    version_ = version;
  }
  return packed_;
}

bool OneDnnCanMultiply(const at::Tensor& x, const at::Tensor& w) {
  return x.is_cpu() && w.is_cpu() && x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat && at::hasMKLDNN() &&
         x.numel() > 0 && w.numel() > 0;
}

at::Tensor ToOneDnn(const at::Tensor& t) { return t.contiguous().to_mkldnn(); }

at::Tensor OneDnnRowsTimesT(const at::Tensor& rows, const at::Tensor& w, const at::Tensor& bias) {
  auto b = bias.defined() ? c10::optional<at::Tensor>(bias.contiguous()) : c10::nullopt;
  return at::mkldnn_linear(rows, w.is_mkldnn() ? w : w.contiguous(), b).to_dense();
}

namespace {

// CLIPS4_ONEDNN=0 keeps CLIP's products in at::linear / at::matmul (to compare, or to rule it out).
bool OneDnnEnabled() {
  static const bool enabled = SwitchedOn("CLIPS4_ONEDNN");
  return enabled;
}

// Whether CLIP's x · wᵀ goes through oneDNN: inference (no gradients wanted) where it can run.
bool UseOneDnn(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias) {
  const bool gradients = at::GradMode::is_enabled() &&
                         (x.requires_grad() || w.requires_grad() || (bias.defined() && bias.requires_grad()));
  return OneDnnEnabled() && !gradients && OneDnnCanMultiply(x, w);
}

// x's shape with its last dimension replaced by n.
std::vector<int64_t> WithLastDim(const at::Tensor& x, int64_t n) {
  auto shape = x.sizes().vec();
  shape.back() = n;
  return shape;
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
  for (int64_t i = 0; i < as.size(0); ++i) out[i].copy_(OneDnnRowsTimesT(ToOneDnn(as[i]), bs[i]));
  return out.view(WithLastDim(a, N));
}

bool OneDnnAttends(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  return UseOneDnn(q, k, {}) && UseOneDnn(v, v, {}) && q.dim() == 3 && q.size(1) >= 64;
}

at::Tensor OneDnnAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t heads) {
  const int64_t N = q.size(0), L = q.size(1), D = q.size(2), hd = D / heads;
  // Scaling q (L×hd) instead of the scores (L×L); exact when hd is a power of 4 (CLIP's 64).
  auto qs = q * (1.0 / std::sqrt(static_cast<double>(hd)));
  auto out = at::empty({N, L, D}, q.options());
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t h = 0; h < heads; ++h) {
      auto head = [&](const at::Tensor& t) { return t[n].narrow(1, h * hd, hd); };  // [L,hd]
      auto scores = at::softmax(OneDnnRowsTimesT(ToOneDnn(head(qs)), head(k).contiguous()), -1);
      out[n].narrow(1, h * hd, hd).copy_(OneDnnRowsTimesT(ToOneDnn(scores), head(v).t().contiguous()));
    }
  }
  return out;
}

at::Tensor Linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                  const std::shared_ptr<OneDnnWeight>& packed) {
  if (!packed || !UseOneDnn(x, weight, bias)) return at::linear(x, weight, bias);
  auto y = OneDnnRowsTimesT(ToOneDnn(x.reshape({-1, x.size(-1)})), packed->Get(weight), bias);
  return y.view(WithLastDim(x, weight.size(0)));
}

}  // namespace clips4
