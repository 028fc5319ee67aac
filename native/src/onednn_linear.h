// Linear layers through oneDNN for CPU inference.
//
// Why: LibTorch's at::linear runs float32 products in the BLAS it was built with. Measured on this
// project's 2-core machine (Debian's LibTorch 1.13 with OpenBLAS) for a ViT-B/16 at 448² (785
// tokens): OpenBLAS 97–180 GFLOP/s, oneDNN's inner product with the weight kept as a oneDNN tensor
// 320–350 GFLOP/s on its own, ~200–290 inside the forward pass. With the attention products too
// (MatMulNT), `npm run bench clip` measured ViT-B/16 dense features at 448² 0.88 → 1.38 images/s
// and at 224² 4.0 → 4.9 images/s. Autograd does not go through this path: with gradients required
// (training, CLIP pretraining), on other devices and in builds without oneDNN, it is at::linear.
#pragma once

#include <memory>
#include <mutex>

#include <torch/torch.h>

namespace clips4 {

// The primitives the CLIP layers below and the k-means E-step share. Whether oneDNN can multiply
// x by w: CPU float32 tensors in a LibTorch built with oneDNN.
bool OneDnnCanMultiply(const at::Tensor& x, const at::Tensor& w);
// A dense tensor as a oneDNN tensor (a copy), for operands used by several products.
at::Tensor ToOneDnn(const at::Tensor& t);
// rows [M,K] (a oneDNN tensor from ToOneDnn) · wᵀ (+ bias) with w [N,K] dense or oneDNN → dense [M,N].
at::Tensor OneDnnRowsTimesT(const at::Tensor& rows, const at::Tensor& w, const at::Tensor& bias = {});

// A weight's oneDNN copy, made on first use and again whenever the weight is modified in place
// (its version counter moves) or replaced (another storage). Owned by the module that owns the
// weight, so a copy never outlives or mixes up its source; safe for concurrent forwards.
class OneDnnWeight {
 public:
  at::Tensor Get(const at::Tensor& weight);

 private:
  std::mutex mutex_;
  at::Tensor packed_;
  const void* source_ = nullptr;
  int64_t version_ = -1;
};

// x [..., in] · weightᵀ + bias → [..., out], as at::linear; `packed` caches the weight's oneDNN copy.
at::Tensor Linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                  const std::shared_ptr<OneDnnWeight>& packed);

// a [..., M, K] · b[..., N, K]ᵀ → [..., M, N] (the attention products; same dispatch as Linear:
// one oneDNN inner product per leading index, otherwise at::matmul). Keeping these in oneDNN as
// well leaves OpenBLAS's thread pool idle, whose spinning threads otherwise compete with oneDNN's.
at::Tensor MatMulNT(const at::Tensor& a, const at::Tensor& b);

// Whether OneDnnAttention can compute softmax(q kᵀ / √d) v for these [N,L,D] tensors (same dispatch
// as Linear, no mask, at least 64 tokens).
bool OneDnnAttends(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);
// softmax(q kᵀ / √(D/heads)) v with q,k,v [N,L,D] → [N,L,D], one head at a time: a head's [L,L]
// scores (2.4 MB at 785 tokens) stay in cache from the first product through the softmax to the
// second, where all heads' scores at once (30 MB for a ViT-B/16 at 448²) went through memory for the
// scaling, the softmax and the product. Measured for ViT-B/16 blocks on 2 cores: attention
// 0.53–0.63 → 0.26–0.31 s per 448² image; at 224² (197 tokens, where at::matmul served before)
// the 12 blocks 0.50–0.66 → 0.33 s per image against OpenBLAS with its AVX-512 kernels.
at::Tensor OneDnnAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t heads);

}  // namespace clips4
