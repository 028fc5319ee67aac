#include "sgd_cpu.h"
#include "env_switch.h"

#include <cmath>
#include <string>

namespace clips4 {
namespace {

// std::fma is one instruction with the fma target; the build's -ffp-contract=off keeps t = b·m and
// t + d as two roundings, like ATen's mul_ then add_.
// Without weight decay ATen adds nothing to g (an fma with 0 could turn its −0 into +0).
template <bool kDecay>
__attribute__((target("fma"))) void SgdLoop(float* p, const float* g, float* b, int64_t n, float wd, float m, float step) {
  for (int64_t i = 0; i < n; ++i) {
    const float d = kDecay ? std::fma(p[i], wd, g[i]) : g[i];  // g.add(p, wd)
    const float t = b[i] * m;                   // buf.mul_(m)
    b[i] = t + d;                               // .add_(d)
    p[i] = std::fma(b[i], step, p[i]);          // p.add_(buf, -lr)
  }
}

bool Plain(const at::Tensor& t) { return t.is_cpu() && t.scalar_type() == at::kFloat && t.is_contiguous(); }

bool HasFma() {
  static const bool fma = [] {
    __builtin_cpu_init();  // harmless if libgcc's constructor has run already
    return __builtin_cpu_supports("fma") != 0;
  }();
  return fma;
}

// CLIPS4_FUSED_SGD=0 keeps the update in ATen's four ops (to compare, or to rule it out).
bool Enabled() {
  static const bool enabled = SwitchedOn("CLIPS4_FUSED_SGD");
  return enabled;
}

}  // namespace

std::string FusedSgdStatus() {
  if (!Enabled()) return "ATen ops (CLIPS4_FUSED_SGD=0)";
  if (!HasFma()) return "ATen ops (this CPU has no fused multiply-add)";
  return "one pass per float32 parameter";
}

bool FusedSgdStep(at::Tensor& p, const at::Tensor& g, at::Tensor& buf, double weightDecay, double momentum, double lr) {
  if (!Enabled() || !HasFma() || !Plain(p) || !Plain(g) || !Plain(buf) || g.sizes() != p.sizes() || buf.sizes() != p.sizes()) return false;
  // ATen casts each scalar to the tensor's type before its kernel runs.
  auto loop = weightDecay != 0 ? SgdLoop<true> : SgdLoop<false>;
  loop(p.data_ptr<float>(), g.data_ptr<float>(), buf.data_ptr<float>(), p.numel(), static_cast<float>(weightDecay),
       static_cast<float>(momentum), static_cast<float>(-lr));
  // Written through their pointers, so their version counters move here as ATen's in-place ops would
  // move them (autograd refuses a changed tensor it saved).
  p.unsafeGetTensorImpl()->bump_version();
  buf.unsafeGetTensorImpl()->bump_version();
  return true;
}

}  // namespace clips4
