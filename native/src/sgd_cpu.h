// SGD with momentum and weight decay for one float32 parameter on the CPU in one pass, bit for bit
// ATen's four ops (g + wd·p, buf·m + that, p − lr·buf) as its AVX2 and AVX-512 kernels compute them:
// an add with a factor is one fused multiply-add, a multiply and a plain add round separately. ATen's
// four passes and two temporaries per parameter were ~290 small operator calls per step of the
// world's training (LibTorch's profiler); the demo's 4,500 steps train to the same model file.
#pragma once
#include <ATen/ATen.h>

#include <string>

namespace clips4 {

// Updates p and buf in place from the gradient g and returns true; returns false (nothing changed)
// where the one-pass rule does not apply: not float32 contiguous CPU tensors of one shape, a CPU
// without fused multiply-adds (where ATen's add would round twice too), or CLIPS4_FUSED_SGD=0; the
// caller then runs ATen's ops.
bool FusedSgdStep(at::Tensor& p, const at::Tensor& g, at::Tensor& buf, double weightDecay, double momentum, double lr);

// How float32 parameters are updated on this CPU: "one pass per float32 parameter", or why ATen's
// ops are ("ATen ops (CLIPS4_FUSED_SGD=0)", "ATen ops (this CPU has no fused multiply-add)").
std::string FusedSgdStatus();

}  // namespace clips4
