// OpenAI CLIP in LibTorch: VisionTransformer, ModifiedResNet and the causal text Transformer, with
// parameter names exactly as in OpenAI's state dicts (so loading is a name-for-name copy), the
// architecture inferred from a state dict as OpenAI's build_model does, and MaskCLIP-style dense
// features from the last block (REFERENCE §2).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <napi.h>
#include <torch/torch.h>

#include "onednn_linear.h"

namespace clips4 {

struct ClipConfig {
  // No defaults: set from a state dict (InferClipConfig) or by the binding from every key.
  bool vit{};
  int64_t embedDim{};
  int64_t imageResolution{}, visionLayers{}, visionWidth{}, patchSize{};
  std::vector<int64_t> resnetLayers;  // ModifiedResNet block counts
  int64_t contextLength{}, vocabSize{}, textWidth{}, textHeads{}, textLayers{};
  int64_t visionHeads() const { return vit ? visionWidth / 64 : visionWidth * 32 / 64; }
};

// build_model's inference of the architecture from tensor names and shapes.
ClipConfig InferClipConfig(const std::map<std::string, at::Tensor>& sd);

struct MultiheadSelfAttentionImpl : torch::nn::Module {
  MultiheadSelfAttentionImpl(int64_t width, int64_t heads);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask = {});  // x [N,L,D]
  // q, k, v projections of x ([N,L,D] each).
  std::vector<at::Tensor> qkv(const at::Tensor& x);
  // The output projection (out_proj) of [N,L,D].
  at::Tensor project(const at::Tensor& x);
  int64_t heads;
  at::Tensor in_proj_weight, in_proj_bias;
  torch::nn::Linear out_proj{nullptr};
  std::shared_ptr<OneDnnWeight> inPacked = std::make_shared<OneDnnWeight>(), outPacked = std::make_shared<OneDnnWeight>();
};
TORCH_MODULE(MultiheadSelfAttention);

struct MlpImpl : torch::nn::Module {
  explicit MlpImpl(int64_t width);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Linear c_fc{nullptr}, c_proj{nullptr};
  std::shared_ptr<OneDnnWeight> fcPacked = std::make_shared<OneDnnWeight>(), projPacked = std::make_shared<OneDnnWeight>();
};
TORCH_MODULE(Mlp);

struct ResidualBlockImpl : torch::nn::Module {
  ResidualBlockImpl(int64_t width, int64_t heads);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask = {});
  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  MultiheadSelfAttention attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(ResidualBlock);

struct TransformerImpl : torch::nn::Module {
  TransformerImpl(int64_t width, int64_t layers, int64_t heads);
  at::Tensor forward(at::Tensor x, const at::Tensor& mask = {}, int64_t upto = -1);
  torch::nn::ModuleList resblocks{nullptr};
  ResidualBlockImpl& block(size_t i) { return *resblocks[i]->as<ResidualBlockImpl>(); }
};
TORCH_MODULE(Transformer);

// Dense-feature variants of the last vision block.
enum class DenseVariant { kMaskClip, kClearClip, kSClip, kNaClip };
DenseVariant ParseDenseVariant(const std::string& name);

struct VisionTransformerImpl : torch::nn::Module {
  explicit VisionTransformerImpl(const ClipConfig& c);
  // Tokens after ln_pre for an image of any size divisible by the patch ([N, 1+h*w, D]), and the grid.
  at::Tensor embed(const at::Tensor& images, int64_t& gh, int64_t& gw);
  at::Tensor forward(const at::Tensor& images);  // [N,E]
  at::Tensor dense(const at::Tensor& images, DenseVariant variant, at::Tensor* attention = nullptr);
  // The patch tokens' keys [N, D, h, w] for MaskCLIP key smoothing, as MaskCLIP's ViT backbone
  // returns them: the last block's in_proj keys sent through that block's out_proj.
  at::Tensor keys(const at::Tensor& images);
  int64_t patch;
  torch::nn::Conv2d conv1{nullptr};
  at::Tensor class_embedding, positional_embedding, proj;
  torch::nn::LayerNorm ln_pre{nullptr}, ln_post{nullptr};
  Transformer transformer{nullptr};
};
TORCH_MODULE(VisionTransformer);

struct BottleneckImpl : torch::nn::Module {
  BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride);
  at::Tensor forward(const at::Tensor& x);
  int64_t stride;
  bool has_downsample;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  std::shared_ptr<torch::nn::Module> downsample;
  torch::nn::Conv2d ds_conv{nullptr};
  torch::nn::BatchNorm2d ds_bn{nullptr};
};
TORCH_MODULE(Bottleneck);

struct AttentionPoolImpl : torch::nn::Module {
  AttentionPoolImpl(int64_t spatial, int64_t embed, int64_t heads, int64_t output);
  at::Tensor forward(const at::Tensor& x);  // x [N,C,H,W] → [N,out]
  at::Tensor dense(const at::Tensor& x);    // [N,out,H,W]: v_proj → c_proj per position
  at::Tensor keys(const at::Tensor& x);     // [N,C,H,W]: k_proj per position (MaskCLIP key smoothing)
  int64_t heads;
  at::Tensor positional_embedding;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, c_proj{nullptr};
};
TORCH_MODULE(AttentionPool);

struct ModifiedResNetImpl : torch::nn::Module {
  explicit ModifiedResNetImpl(const ClipConfig& c);
  at::Tensor trunk(const at::Tensor& x);
  at::Tensor forward(const at::Tensor& x) { return attnpool(trunk(x)); }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  AttentionPool attnpool{nullptr};
};
TORCH_MODULE(ModifiedResNet);

struct ClipModelImpl : torch::nn::Module {
  explicit ClipModelImpl(const ClipConfig& c);
  at::Tensor encodeImage(const at::Tensor& images);
  at::Tensor encodeText(const at::Tensor& tokens);
  at::Tensor denseFeatures(const at::Tensor& images, DenseVariant variant, at::Tensor* attention = nullptr);
  at::Tensor denseKeys(const at::Tensor& images);  // [N,D,h,w]: the keys MaskCLIP smooths with
  ClipConfig config;
  VisionTransformer vit{nullptr};
  ModifiedResNet resnet{nullptr};
  Transformer transformer{nullptr};
  torch::nn::Embedding token_embedding{nullptr};
  at::Tensor positional_embedding, text_projection, logit_scale;
  torch::nn::LayerNorm ln_final{nullptr};
};
TORCH_MODULE(ClipModel);

// Copies a state dict into the model; throws NativeError listing missing/unexpected keys or naming
// the first tensor with a wrong shape or an unsupported dtype.
void LoadClipWeights(ClipModelImpl& model, const std::map<std::string, at::Tensor>& sd);
// Rounds the tensors OpenAI's build_model converts to fp16 (exactly what clip.load does on CPU).
void RoundLikeOpenAI(ClipModelImpl& model);
// OpenAI's initialisation (initialize_parameters) for models trained from scratch.
void InitClipWeights(ClipModelImpl& model);

}  // namespace clips4
