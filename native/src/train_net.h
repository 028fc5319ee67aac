// What the trainer needs from a pixel-embedding network: a forward pass to L2-normalised
// embeddings [B,d,h,w] and its parameters/buffers. The PixelEmbedder (net_embedder.h) provides it.
#pragma once

#include <memory>

#include <napi.h>
#include <torch/torch.h>

namespace clips4 {

class EmbeddingNet {
 public:
  virtual ~EmbeddingNet() = default;
  virtual at::Tensor Forward(const at::Tensor& images) = 0;
  virtual torch::nn::Module& Module() = 0;
  static constexpr napi_type_tag kTag = {0x9f1c2e8d4b7a4c11ULL, 0xa3d5e6f708192a3bULL};
};

}  // namespace clips4
