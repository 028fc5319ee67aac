// The PSPNet head's 3×3 bottleneck conv over [x, upsampled pooled maps...] without building the
// upsampled maps.
//
// Why: in the paper's network the bottleneck reads 2,048 backbone channels and 4 × 512 pooled ones
// (bins 1, 2, 3, 6), and it is the largest conv of the network (4096 → 512 at 42² for a 336² view:
// 66 of the ~150 GFLOP of a forward pass, counted as the direct algorithm). The pooled half is
// smooth: bilinear upsampling is linear and acts on each channel alike, so it commutes with the
// conv's channel sums. For a pooled map p (b × b) and the conv taps W_k of its channels,
//   conv3x3(up(p), W)[o, y, x] = Σ_k Σ_j (W_k p)[o, j] · up(e_j)[y + dy_k, x + dx_k],
// where e_j is the one-hot b × b map (any bh × bw alike) and up(e_j) is zero outside the image, as
// the conv's padding. That is one product [O, Σ 9 b²] × [Σ 9 b², H·W] for all bins (450 rows for bins 1, 2, 3, 6: 0.8 GFLOP at 42²)
// instead of a conv over their Σ C_i channels (33 GFLOP): the conv keeps only x's channels. The
// interpolation basis comes from the same upsampling op on the one-hot maps, so its weights are
// exactly the op's. Results differ from the concatenated conv by rounding (summation order);
// test/pyramid-conv.test.ts bounds it, with the gradients.
#pragma once

#include <vector>

#include <torch/torch.h>

namespace clips4 {

// Whether the split pays: the basis product's multiply-adds (9 · Σ b² per output pixel and channel)
// are at most a quarter of the direct conv's over the pooled channels (9 · Σ C_i). False without
// pooled maps (nothing to split).
bool PyramidSplitPays(const std::vector<at::Tensor>& pooled);

// conv2d(cat([x, upsample_bilinear2d(p, x's H×W, align_corners=false) for p in pooled], 1), w,
// stride 1, padding 1, no bias), differentiable in x, pooled and w. `split` = the product above
// (else the concatenated conv itself); `winograd` = x's part through winograd_conv.h where it applies.
at::Tensor PyramidConv3x3(const at::Tensor& x, const std::vector<at::Tensor>& pooled, const at::Tensor& w, bool split, bool winograd);

}  // namespace clips4
