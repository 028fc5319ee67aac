#include "pyramid_conv.h"

#include <utility>

#include "winograd_conv.h"

namespace clips4 {

namespace {

// [Σ_i 9 b_i², H·W]: for bin b, tap k = (ky, kx) and pooled cell j, the weight of cell j in the
// upsampled map at (y + ky - 1, x + kx - 1), zero where that falls outside the H × W map. Built in
// float32 for 16-bit options (LibTorch 1.13 has no bfloat16 eye), then cast.
at::Tensor PyramidBasis(const std::vector<std::pair<int64_t, int64_t>>& bins, int64_t H, int64_t W, const at::TensorOptions& options) {
  const auto dtype = options.dtype().toScalarType();
  const auto build = dtype == at::kBFloat16 || dtype == at::kHalf ? options.dtype(at::kFloat) : options;
  std::vector<at::Tensor> rows;
  for (const auto& [bh, bw] : bins) {
    auto onehot = at::eye(bh * bw, build).view({1, bh * bw, bh, bw});
    auto up = at::constant_pad_nd(at::upsample_bilinear2d(onehot, {H, W}, false), {1, 1, 1, 1})[0];
    for (int64_t ky = 0; ky < 3; ++ky) {
      for (int64_t kx = 0; kx < 3; ++kx) rows.push_back(up.slice(1, ky, ky + H).slice(2, kx, kx + W).reshape({bh * bw, H * W}));
    }
  }
  return at::cat(rows, 0).to(options);
}

}  // namespace

bool PyramidSplitPays(const std::vector<at::Tensor>& pooled) {
  int64_t cells = 0, channels = 0;
  for (const auto& p : pooled) cells += p.size(2) * p.size(3), channels += p.size(1);
  return !pooled.empty() && 4 * cells <= channels;
}

at::Tensor PyramidConv3x3(const at::Tensor& x, const std::vector<at::Tensor>& pooled, const at::Tensor& w, bool split, bool winograd) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), O = w.size(0);
  if (!split) {
    std::vector<at::Tensor> parts{x};
    for (const auto& p : pooled) parts.push_back(at::upsample_bilinear2d(p, {H, W}, false));
    return SameConv3x3(at::cat(parts, 1), w, 1, winograd);
  }
  auto y = SameConv3x3(x, w.slice(1, 0, C).contiguous(), 1, winograd);
  // The products in x's type: under bfloat16 autocast x and the pooled maps come in bfloat16 (or the
  // norms' float32) and the weight in float32, and at::matmul, unlike the conv, does not cast them.
  const auto type = x.scalar_type();
  std::vector<std::pair<int64_t, int64_t>> bins;
  std::vector<at::Tensor> taps;  // per bin [N, O, 9 · b²], columns (tap, cell) as the basis' rows
  int64_t offset = C;
  for (const auto& p : pooled) {
    const int64_t Ci = p.size(1), cells = p.size(2) * p.size(3);
    bins.emplace_back(p.size(2), p.size(3));
    // [9 · O, Ci] (tap-major) × [N, Ci, cells] → [N, 9, O, cells] → [N, O, 9 · cells]
    auto wk = w.slice(1, offset, offset + Ci).permute({2, 3, 0, 1}).reshape({9 * O, Ci}).to(type);
    auto q = at::matmul(wk, p.reshape({N, Ci, cells}).to(type)).view({N, 9, O, cells});
    taps.push_back(q.permute({0, 2, 1, 3}).reshape({N, O, 9 * cells}));
    offset += Ci;
  }
  auto pyramid = at::matmul(at::cat(taps, 2), PyramidBasis(bins, H, W, x.options())).view({N, O, H, W});
  return y + pyramid.to(y.scalar_type());
}

}  // namespace clips4
