// The pixel embedding network: a ResNet in torchvision's layout and key names (Bottleneck or
// BasicBlock, any widths and block counts, strides replaced by dilation for output stride 8/16,
// optional deep stem) and a PSPNet head producing L2-normalised per-pixel embeddings.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "train_net.h"

namespace clips4 {

struct NetConfig {
  // No defaults here: the binding sets every field (PAPER_NET in src/net/embedder.ts is the paper's).
  bool bottleneck{};
  std::vector<int64_t> layers;
  std::vector<int64_t> inner;  // 3x3 widths per layer
  std::vector<int64_t> out;    // block output widths per layer
  int64_t stem{};
  bool deepStem{};
  std::vector<bool> dilation;  // replace the stride of layer2/3/4 with dilation
  int64_t headChannels{};
  std::vector<int64_t> bins;
  std::string norm;  // head normalisation: bn | bn-eval | gn
  bool upsample{};
  int64_t embedDim{};
};

// BatchNorm2d with torch::nn::BatchNorm2d's parameters, buffers, keys and defaults, whose
// training statistics span all data-parallel ranks while a sync group is current
// (dist_autograd.h). Its own module because LibTorch does not export everything a subclass of
// BatchNorm2dImpl would link against.
struct BatchNormImpl : torch::nn::Cloneable<BatchNormImpl> {
  explicit BatchNormImpl(int64_t channels) : channels(channels) { reset(); }
  void reset() override;
  at::Tensor forward(const at::Tensor& x);
  int64_t channels;
  double momentum = 0.1, eps = 1e-5;
  at::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
};
TORCH_MODULE(BatchNorm);

struct ResNetBlockImpl : torch::nn::Module {
  ResNetBlockImpl(bool bottleneck, int64_t in, int64_t inner, int64_t out, int64_t stride, int64_t dilation, bool first_dilation_prev, int64_t prev_dilation);
  at::Tensor forward(const at::Tensor& x);
  bool bottleneck;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  BatchNorm bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(ResNetBlock);

struct ResNetImpl : torch::nn::Module {
  explicit ResNetImpl(const NetConfig& c);
  std::vector<at::Tensor> forward(const at::Tensor& x);  // layer1..layer4
  NetConfig config;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  BatchNorm bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
};
TORCH_MODULE(ResNet);

// Norm + ReLU for the head, with batch-1 safety: BatchNorm falls back to running statistics when a
// channel has a single value in training (a 1×1 pyramid bin with batch 1).
struct HeadNormImpl : torch::nn::Module {
  HeadNormImpl(int64_t channels, const std::string& kind);
  at::Tensor forward(const at::Tensor& x);
  std::string kind;
  BatchNorm bn{nullptr};
  torch::nn::GroupNorm gn{nullptr};
};
TORCH_MODULE(HeadNorm);

struct PspHeadImpl : torch::nn::Module {
  PspHeadImpl(int64_t in, const NetConfig& c);
  at::Tensor forward(const at::Tensor& x);
  std::vector<int64_t> bins;
  torch::nn::ModuleList stages{nullptr};
  torch::nn::ModuleList stage_norms{nullptr};
  torch::nn::Conv2d bottleneck{nullptr}, classifier{nullptr};
  HeadNorm bottleneck_norm{nullptr};
};
TORCH_MODULE(PspHead);

struct PixelEmbedderImpl : torch::nn::Module {
  explicit PixelEmbedderImpl(const NetConfig& c);
  at::Tensor forward(const at::Tensor& images);  // [B,d,h,w], L2-normalised
  NetConfig config;
  ResNet backbone{nullptr};
  PspHead head{nullptr};
};
TORCH_MODULE(PixelEmbedder);

// The embedder as the trainer sees it.
class PixelEmbedderNet : public EmbeddingNet {
 public:
  explicit PixelEmbedderNet(const NetConfig& c) : model_(c) {}
  at::Tensor Forward(const at::Tensor& images) override { return model_->forward(images); }
  torch::nn::Module& Module() override { return *model_; }
  PixelEmbedder& model() { return model_; }

 private:
  PixelEmbedder model_;
};

// Infers a backbone configuration from torchvision key names and shapes.
NetConfig InferResNetConfig(const std::map<std::string, at::Tensor>& sd);
// Copies tensors with `prefix` + name into `module`; throws listing missing keys / naming wrong shapes.
// Keys of `sd` not used are ignored when `allowUnused` (e.g. torchvision's fc.*).
void CopyWeights(torch::nn::Module& module, const std::map<std::string, at::Tensor>& sd, const std::string& prefix, bool allowUnused);

}  // namespace clips4
