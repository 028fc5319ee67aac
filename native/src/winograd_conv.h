// 3×3 stride-1 convolutions of the pixel embedder through oneDNN's Winograd kernels.
//
// Why: the PSPNet head's 3×3 bottleneck (over the backbone's channels: pyramid_conv.h) and every 3×3
// convolution of the dilated ResNet are stride 1, over half of the network's multiply-adds.
// LibTorch's oneDNN convolution always asks oneDNN for its direct algorithm; oneDNN 2.x also has
// Winograd F(4×4, 3×3) kernels (forward, backward data and backward weights) for AVX-512 CPUs, which
// do 4× fewer multiplications for the price of transforms. Measured on this project's 2-core AVX-512
// machine, the head's conv over its whole input (4096 → 512 channels at 42²): forward 0.29 → 0.16 s
// at batch 1; batch 16 forward / backward data / backward weights 4.7 / 4.6 / 5.3 → 1.9 / 1.6 /
// 1.7 s. A dilated conv (layer3/4 at output stride 8) is the
// same conv on the d² interleaved sub-grids of its input (space-to-batch), so it takes the same
// kernels. Results differ from the direct algorithm's by rounding (1e-6 to 4e-6 relative per conv;
// test/winograd.test.ts bounds it).
//
// Where it applies: CPU float32, 3×3, stride 1, padding = dilation (same size), one group, no bias,
// in a build linked to the oneDNN LibTorch itself uses (cmake/FindLibTorch.cmake: Debian's shared
// libdnnl 2.x) on a CPU oneDNN has the kernels for. Everywhere else (CUDA, float64, AVX2-only
// CPUs, LibTorch trees with oneDNN built in) it is at::conv2d, as is every call with
// CLIPS4_WINOGRAD=0.
#pragma once

#include <string>

#include <torch/torch.h>

namespace clips4 {

// Whether WinogradConv3x3 can take x · w at this dilation (shape rules above; the CPU is checked
// on the first call of each shape, which falls back to at::conv2d when oneDNN has no kernel).
bool WinogradApplies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias, at::IntArrayRef kernel,
                     at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups);

// conv2d(x, w, no bias, stride 1, padding = dilation, dilation) through Winograd, differentiable in
// x and w when autograd wants them; at::conv2d where oneDNN has no Winograd kernel for the shape.
at::Tensor WinogradConv3x3(const at::Tensor& x, const at::Tensor& w, int64_t dilation);

// The same conv through Winograd where it applies (WinogradApplies) and `winograd` asks for it, else
// at::conv2d: the one dispatch for callers that hold a weight tensor rather than a Conv2d module.
at::Tensor SameConv3x3(const at::Tensor& x, const at::Tensor& w, int64_t dilation, bool winograd);

// What this build and CPU do: "winograd" (oneDNN's kernel name), "off (CLIPS4_WINOGRAD=0)",
// "unavailable (...)" or "not built (...)". Probes a small conv on first use.
std::string WinogradStatus();

}  // namespace clips4
