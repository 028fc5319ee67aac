#include "clip_model.h"

#include <cmath>
#include <set>

#include "errors.h"
#include "state_dict.h"
#include "tensor_ops.h"

namespace clips4 {

namespace F = torch::nn::functional;

// x · sigmoid(1.702 x); without autograd in place on one temporary (the same values, one pass and
// one [L,4D] buffer fewer per block).
static at::Tensor QuickGelu(const at::Tensor& x) {
  if (at::GradMode::is_enabled() && x.requires_grad()) return x * torch::sigmoid(1.702 * x);
  return (x * 1.702).sigmoid_().mul_(x);
}

static torch::nn::LayerNorm Ln(int64_t w) { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({w}).eps(1e-5)); }

// softmax(q kᵀ / √d (+ bias)) v over heads; q,k,v [N,L,D] → [N,L,D]; returns attention in *attn.
static at::Tensor Attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t heads,
                         const at::Tensor& mask, at::Tensor* attn = nullptr) {
  if (!mask.defined() && !attn && OneDnnAttends(q, k, v)) return OneDnnAttention(q, k, v, heads);
  const int64_t N = q.size(0), L = q.size(1), D = q.size(2), hd = D / heads;
  auto split = [&](const at::Tensor& t) { return t.reshape({N, t.size(1), heads, hd}).transpose(1, 2); };
  auto qh = split(q), kh = split(k), vh = split(v);
  auto w = MatMulNT(qh, kh) / std::sqrt(static_cast<double>(hd));
  if (mask.defined()) w = w + mask;
  w = at::softmax(w, -1);
  if (attn) *attn = w;
  return MatMulNT(w, vh.transpose(-2, -1)).transpose(1, 2).reshape({N, L, D});
}

MultiheadSelfAttentionImpl::MultiheadSelfAttentionImpl(int64_t width, int64_t h) : heads(h) {
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * width, width}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * width}));
  out_proj = register_module("out_proj", torch::nn::Linear(width, width));
}

std::vector<at::Tensor> MultiheadSelfAttentionImpl::qkv(const at::Tensor& x) {
  return Linear(x, in_proj_weight, in_proj_bias, inPacked).chunk(3, -1);
}

at::Tensor MultiheadSelfAttentionImpl::project(const at::Tensor& x) {
  return Linear(x, out_proj->weight, out_proj->bias, outPacked);
}

at::Tensor MultiheadSelfAttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  auto p = qkv(x);
  return project(Attend(p[0], p[1], p[2], heads, mask));
}

MlpImpl::MlpImpl(int64_t width) {
  c_fc = register_module("c_fc", torch::nn::Linear(width, 4 * width));
  c_proj = register_module("c_proj", torch::nn::Linear(4 * width, width));
}
at::Tensor MlpImpl::forward(const at::Tensor& x) {
  auto h = QuickGelu(Linear(x, c_fc->weight, c_fc->bias, fcPacked));
  return Linear(h, c_proj->weight, c_proj->bias, projPacked);
}

ResidualBlockImpl::ResidualBlockImpl(int64_t width, int64_t heads) {
  ln_1 = register_module("ln_1", Ln(width));
  attn = register_module("attn", MultiheadSelfAttention(width, heads));
  ln_2 = register_module("ln_2", Ln(width));
  mlp = register_module("mlp", Mlp(width));
}
at::Tensor ResidualBlockImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  auto y = x + attn(ln_1(x), mask);
  return y + mlp(ln_2(y));
}

TransformerImpl::TransformerImpl(int64_t width, int64_t layers, int64_t heads) {
  resblocks = register_module("resblocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < layers; ++i) resblocks->push_back(ResidualBlock(width, heads));
}
at::Tensor TransformerImpl::forward(at::Tensor x, const at::Tensor& mask, int64_t upto) {
  int64_t n = upto < 0 ? static_cast<int64_t>(resblocks->size()) : upto;
  for (int64_t i = 0; i < n; ++i) x = block(i).forward(x, mask);
  return x;
}

DenseVariant ParseDenseVariant(const std::string& name) {
  if (name == "maskclip") return DenseVariant::kMaskClip;
  if (name == "clearclip") return DenseVariant::kClearClip;
  if (name == "sclip") return DenseVariant::kSClip;
  if (name == "naclip") return DenseVariant::kNaClip;
  throw NativeError(code::kInvalidArg, "Expected 'maskclip', 'clearclip', 'sclip' or 'naclip' for variant but received '" + name + "'", true);
}

VisionTransformerImpl::VisionTransformerImpl(const ClipConfig& c) : patch(c.patchSize) {
  const int64_t w = c.visionWidth, grid = c.imageResolution / c.patchSize;
  conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, w, patch).stride(patch).bias(false)));
  class_embedding = register_parameter("class_embedding", torch::zeros({w}));
  positional_embedding = register_parameter("positional_embedding", torch::zeros({grid * grid + 1, w}));
  ln_pre = register_module("ln_pre", Ln(w));
  transformer = register_module("transformer", Transformer(w, c.visionLayers, c.visionHeads()));
  ln_post = register_module("ln_post", Ln(w));
  proj = register_parameter("proj", torch::zeros({w, c.embedDim}));
}

at::Tensor VisionTransformerImpl::embed(const at::Tensor& images, int64_t& gh, int64_t& gw) {
  if (images.size(2) % patch != 0 || images.size(3) % patch != 0)
    throw NativeError(code::kShape, "image size " + std::to_string(images.size(2)) + "x" + std::to_string(images.size(3)) +
                                        " is not divisible by the patch size " + std::to_string(patch));
  auto x = conv1(images);  // [N,D,gh,gw]
  gh = x.size(2);
  gw = x.size(3);
  const int64_t N = x.size(0), D = x.size(1);
  x = x.flatten(2).transpose(1, 2);  // [N,L,D]
  auto pos = positional_embedding;
  const int64_t g = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(pos.size(0) - 1))));
  if (gh != g || gw != g) {
    auto grid = pos.narrow(0, 1, g * g).reshape({1, g, g, D}).permute({0, 3, 1, 2});
    grid = at::upsample_bicubic2d(grid, {gh, gw}, /*align_corners=*/false);
    pos = at::cat({pos.narrow(0, 0, 1), grid.permute({0, 2, 3, 1}).reshape({gh * gw, D})}, 0);
  }
  auto cls = class_embedding.view({1, 1, D}).expand({N, 1, D});
  return ln_pre(at::cat({cls, x}, 1) + pos.unsqueeze(0));
}

at::Tensor VisionTransformerImpl::forward(const at::Tensor& images) {
  int64_t gh, gw;
  auto x = transformer(embed(images, gh, gw));
  return at::matmul(ln_post(x.select(1, 0)), proj);
}

at::Tensor VisionTransformerImpl::dense(const at::Tensor& images, DenseVariant variant, at::Tensor* attention) {
  int64_t gh, gw;
  auto x = embed(images, gh, gw);
  const int64_t L = static_cast<int64_t>(transformer->resblocks->size());
  x = transformer->forward(x, {}, L - 1);
  auto& last = transformer->block(L - 1);
  auto y = last.ln_1(x);
  auto p = last.attn->qkv(y);
  const int64_t heads = last.attn->heads;
  at::Tensor v;
  if (variant == DenseVariant::kMaskClip) {
    // Value path: out_proj(v) + residual + FFN (MaskCLIP).
    v = last.attn->project(p[2]);
    v = v + x;
    v = v + last.mlp(last.ln_2(v));
  } else {
    at::Tensor q = p[0], k = p[1];
    at::Tensor mask;
    if (variant == DenseVariant::kNaClip) {
      // Gaussian neighbourhood bias over the patch grid (σ = 5 cells); the class token is unbiased.
      const double sigma = 5.0;
      auto opts = x.options();
      auto ys = at::arange(gh, opts).repeat_interleave(gw), xs = at::arange(gw, opts).repeat({gh});
      auto d2 = (ys.unsqueeze(1) - ys.unsqueeze(0)).pow(2) + (xs.unsqueeze(1) - xs.unsqueeze(0)).pow(2);
      auto bias = at::zeros({gh * gw + 1, gh * gw + 1}, opts);
      bias.narrow(0, 1, gh * gw).narrow(1, 1, gh * gw).copy_(-d2 / (2 * sigma * sigma));
      mask = bias;
      q = k;  // k-k attention
    } else if (variant == DenseVariant::kClearClip) {
      k = q;  // q-q attention
    }
    at::Tensor a1, out;
    if (variant == DenseVariant::kSClip) {
      // softmax(q qᵀ) + softmax(k kᵀ), applied to v.
      at::Tensor a2;
      out = Attend(p[0], p[0], p[2], heads, {}, &a1) + Attend(p[1], p[1], p[2], heads, {}, &a2);
      a1 = a1 + a2;
    } else {
      out = Attend(q, k, p[2], heads, mask, &a1);
    }
    if (attention) *attention = a1;
    // No residual and no FFN (ClearCLIP / SCLIP / NACLIP).
    v = last.attn->project(out);
  }
  auto patches = v.narrow(1, 1, gh * gw);
  auto dense = at::matmul(ln_post(patches), proj);  // [N,hw,E]
  return dense.transpose(1, 2).reshape({dense.size(0), dense.size(2), gh, gw});
}

at::Tensor VisionTransformerImpl::keys(const at::Tensor& images) {
  int64_t gh, gw;
  auto x = embed(images, gh, gw);
  const int64_t L = static_cast<int64_t>(transformer->resblocks->size());
  x = transformer->forward(x, {}, L - 1);
  auto& last = transformer->block(L - 1);
  // MaskCLIP's backbone passes q, k and v alike through the block's out_proj before returning them.
  auto k = last.attn->project(last.attn->qkv(last.ln_1(x))[1]).narrow(1, 1, gh * gw);  // [N,hw,D]
  return k.transpose(1, 2).reshape({k.size(0), k.size(2), gh, gw});
}

BottleneckImpl::BottleneckImpl(int64_t inplanes, int64_t planes, int64_t s) : stride(s) {
  namespace nn = torch::nn;
  conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(inplanes, planes, 1).bias(false)));
  bn1 = register_module("bn1", nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(planes, planes, 3).padding(1).bias(false)));
  bn2 = register_module("bn2", nn::BatchNorm2d(planes));
  conv3 = register_module("conv3", nn::Conv2d(nn::Conv2dOptions(planes, planes * 4, 1).bias(false)));
  bn3 = register_module("bn3", nn::BatchNorm2d(planes * 4));
  has_downsample = s > 1 || inplanes != planes * 4;
  if (has_downsample) {
    // OpenAI's downsample is Sequential("-1": AvgPool, "0": conv, "1": bn); the pool has no weights.
    downsample = register_module("downsample", std::make_shared<torch::nn::Module>());
    ds_conv = downsample->register_module("0", nn::Conv2d(nn::Conv2dOptions(inplanes, planes * 4, 1).bias(false)));
    ds_bn = downsample->register_module("1", nn::BatchNorm2d(planes * 4));
  }
}

at::Tensor BottleneckImpl::forward(const at::Tensor& x) {
  auto out = torch::relu(bn1(conv1(x)));
  out = torch::relu(bn2(conv2(out)));
  if (stride > 1) out = at::avg_pool2d(out, stride);
  out = bn3(conv3(out));
  auto identity = x;
  if (has_downsample) identity = ds_bn(ds_conv(stride > 1 ? at::avg_pool2d(x, stride) : x));
  return torch::relu(out + identity);
}

AttentionPoolImpl::AttentionPoolImpl(int64_t spatial, int64_t embed, int64_t h, int64_t output) : heads(h) {
  positional_embedding = register_parameter("positional_embedding", torch::randn({spatial * spatial + 1, embed}) / std::sqrt(static_cast<double>(embed)));
  q_proj = register_module("q_proj", torch::nn::Linear(embed, embed));
  k_proj = register_module("k_proj", torch::nn::Linear(embed, embed));
  v_proj = register_module("v_proj", torch::nn::Linear(embed, embed));
  c_proj = register_module("c_proj", torch::nn::Linear(embed, output));
}

at::Tensor AttentionPoolImpl::forward(const at::Tensor& x) {
  auto t = x.flatten(2).transpose(1, 2);  // [N,HW,C]
  t = at::cat({t.mean(1, true), t}, 1);
  auto pos = positional_embedding;
  if (pos.size(0) != t.size(1)) {
    const int64_t g = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(pos.size(0) - 1))));
    auto grid = pos.narrow(0, 1, g * g).reshape({1, g, g, -1}).permute({0, 3, 1, 2});
    grid = at::upsample_bicubic2d(grid, {x.size(2), x.size(3)}, false).permute({0, 2, 3, 1}).reshape({x.size(2) * x.size(3), -1});
    pos = at::cat({pos.narrow(0, 0, 1), grid}, 0);
  }
  t = t + pos.unsqueeze(0);
  auto q = q_proj(t.narrow(1, 0, 1));
  auto out = Attend(q, k_proj(t), v_proj(t), heads, {});
  return c_proj(out).squeeze(1);
}

at::Tensor AttentionPoolImpl::dense(const at::Tensor& x) {
  auto t = x.flatten(2).transpose(1, 2);
  auto d = c_proj(v_proj(t));  // [N,HW,out]
  return d.transpose(1, 2).reshape({x.size(0), d.size(2), x.size(2), x.size(3)});
}

// MaskCLIP's head for ResNet backbones takes its keys from k_proj on the raw map: no positional embedding.
at::Tensor AttentionPoolImpl::keys(const at::Tensor& x) {
  auto k = k_proj(x.flatten(2).transpose(1, 2));  // [N,HW,C]
  return k.transpose(1, 2).reshape({x.size(0), k.size(2), x.size(2), x.size(3)});
}

ModifiedResNetImpl::ModifiedResNetImpl(const ClipConfig& c) {
  namespace nn = torch::nn;
  const int64_t w = c.visionWidth;
  conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, w / 2, 3).stride(2).padding(1).bias(false)));
  bn1 = register_module("bn1", nn::BatchNorm2d(w / 2));
  conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(w / 2, w / 2, 3).padding(1).bias(false)));
  bn2 = register_module("bn2", nn::BatchNorm2d(w / 2));
  conv3 = register_module("conv3", nn::Conv2d(nn::Conv2dOptions(w / 2, w, 3).padding(1).bias(false)));
  bn3 = register_module("bn3", nn::BatchNorm2d(w));
  int64_t inplanes = w;
  auto make = [&](int64_t planes, int64_t blocks, int64_t stride) {
    nn::Sequential seq;
    seq->push_back(Bottleneck(inplanes, planes, stride));
    inplanes = planes * 4;
    for (int64_t i = 1; i < blocks; ++i) seq->push_back(Bottleneck(inplanes, planes, 1));
    return seq;
  };
  layer1 = register_module("layer1", make(w, c.resnetLayers[0], 1));
  layer2 = register_module("layer2", make(w * 2, c.resnetLayers[1], 2));
  layer3 = register_module("layer3", make(w * 4, c.resnetLayers[2], 2));
  layer4 = register_module("layer4", make(w * 8, c.resnetLayers[3], 2));
  attnpool = register_module("attnpool", AttentionPool(c.imageResolution / 32, w * 32, c.visionHeads(), c.embedDim));
}

at::Tensor ModifiedResNetImpl::trunk(const at::Tensor& input) {
  auto x = torch::relu(bn1(conv1(input)));
  x = torch::relu(bn2(conv2(x)));
  x = torch::relu(bn3(conv3(x)));
  x = at::avg_pool2d(x, 2);
  return layer4->forward(layer3->forward(layer2->forward(layer1->forward(x))));
}

ClipModelImpl::ClipModelImpl(const ClipConfig& c) : config(c) {
  if (c.vit) vit = register_module("visual", VisionTransformer(c));
  else resnet = register_module("visual", ModifiedResNet(c));
  transformer = register_module("transformer", Transformer(c.textWidth, c.textLayers, c.textHeads));
  token_embedding = register_module("token_embedding", torch::nn::Embedding(c.vocabSize, c.textWidth));
  positional_embedding = register_parameter("positional_embedding", torch::zeros({c.contextLength, c.textWidth}));
  ln_final = register_module("ln_final", Ln(c.textWidth));
  text_projection = register_parameter("text_projection", torch::zeros({c.textWidth, c.embedDim}));
  logit_scale = register_parameter("logit_scale", torch::full({}, std::log(1 / 0.07)));
}

at::Tensor ClipModelImpl::encodeImage(const at::Tensor& images) { return config.vit ? vit(images) : resnet(images); }

at::Tensor ClipModelImpl::encodeText(const at::Tensor& tokens) {
  const int64_t L = tokens.size(1);
  if (L > positional_embedding.size(0))
    throw NativeError(code::kShape, "token sequences of length " + std::to_string(L) + " exceed the context length " +
                                        std::to_string(positional_embedding.size(0)));
  auto x = token_embedding(tokens) + positional_embedding.narrow(0, 0, L).unsqueeze(0);
  auto mask = at::full({L, L}, -std::numeric_limits<float>::infinity(), x.options()).triu(1);
  x = ln_final(transformer(x, mask));
  // The end-of-text token is the last non-padding one (padding is id 0). OpenAI's code takes
  // tokens.argmax(-1), which finds it only because its BPE gives <|endoftext|> the largest id; the
  // word tokenizer's end token is id 2, where argmax pooled at the highest-id word and the causal
  // mask hid every word after it (measured: the world CLIP's class embeddings at cos > 0.99 in pairs).
  // Id 0 is also a BPE token ('!'), but never after the end token, so "last non-zero" is the same rule.
  auto positions = at::arange(L, tokens.options()).unsqueeze(0).expand_as(tokens);
  auto eot = at::where(tokens != 0, positions, at::zeros_like(positions)).amax(-1);
  auto pooled = x.index({at::arange(x.size(0), tokens.options()), eot});
  return at::matmul(pooled, text_projection);
}

at::Tensor ClipModelImpl::denseFeatures(const at::Tensor& images, DenseVariant variant, at::Tensor* attention) {
  if (config.vit) return vit->dense(images, variant, attention);
  if (variant != DenseVariant::kMaskClip)
    throw NativeError(code::kInvalidArg, "the clearclip, sclip and naclip variants exist for ViT CLIPs only; use 'maskclip' with a ResNet CLIP", true);
  return resnet->attnpool->dense(resnet->trunk(images));
}

at::Tensor ClipModelImpl::denseKeys(const at::Tensor& images) {
  return config.vit ? vit->keys(images) : resnet->attnpool->keys(resnet->trunk(images));
}

// ---- architecture inference (OpenAI build_model) ----
static bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

ClipConfig InferClipConfig(const std::map<std::string, at::Tensor>& sd) {
  auto need = [&](const std::string& k) -> const at::Tensor& {
    auto it = sd.find(k);
    if (it == sd.end()) throw NativeError(code::kWeights, "missing key '" + k + "': not an OpenAI-layout CLIP state dict");
    return it->second;
  };
  ClipConfig c;
  c.vit = sd.count("visual.proj") > 0;
  if (c.vit) {
    c.visionWidth = need("visual.conv1.weight").size(0);
    c.visionLayers = 0;
    for (auto& [k, v] : sd)
      if (k.rfind("visual.", 0) == 0 && EndsWith(k, ".attn.in_proj_weight")) c.visionLayers++;
    c.patchSize = need("visual.conv1.weight").size(-1);
    int64_t grid = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(need("visual.positional_embedding").size(0) - 1))));
    c.imageResolution = c.patchSize * grid;
  } else {
    c.resnetLayers.clear();
    for (int b = 1; b <= 4; ++b) {
      std::set<std::string> ids;
      std::string prefix = "visual.layer" + std::to_string(b) + ".";
      for (auto& [k, v] : sd)
        if (k.rfind(prefix, 0) == 0) ids.insert(k.substr(prefix.size(), k.find('.', prefix.size()) - prefix.size()));
      c.resnetLayers.push_back(static_cast<int64_t>(ids.size()));
    }
    c.visionWidth = need("visual.layer1.0.conv1.weight").size(0);
    int64_t out = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(need("visual.attnpool.positional_embedding").size(0) - 1))));
    c.imageResolution = out * 32;
  }
  c.embedDim = need("text_projection").size(1);
  c.contextLength = need("positional_embedding").size(0);
  c.vocabSize = need("token_embedding.weight").size(0);
  c.textWidth = need("ln_final.weight").size(0);
  c.textHeads = c.textWidth / 64 > 0 ? c.textWidth / 64 : 1;
  std::set<std::string> layers;
  for (auto& [k, v] : sd)
    if (k.rfind("transformer.resblocks.", 0) == 0) layers.insert(k.substr(22, k.find('.', 22) - 22));
  c.textLayers = static_cast<int64_t>(layers.size());
  return c;
}

void LoadClipWeights(ClipModelImpl& model, const std::map<std::string, at::Tensor>& sd) {
  LoadOptions o;
  o.what = "the CLIP architecture inferred from them";
  o.ignoredKeys = {"input_resolution", "context_length", "vocab_size"};
  LoadStateDict(model, sd, o);
}

void RoundLikeOpenAI(ClipModelImpl& model) {
  // OpenAI's build_model runs convert_weights (fp16) before a CPU model is turned back to float32:
  // conv/linear weights and biases, attention in_proj, text_projection and proj carry fp16 precision.
  torch::NoGradGuard ng;
  auto round = [](at::Tensor& t) {
    if (t.defined()) t.copy_(t.to(at::kHalf).to(t.scalar_type()));
  };
  for (auto& item : model.named_modules("", /*include_self=*/true)) {
    auto& m = *item.value();
    if (auto* conv = m.as<torch::nn::Conv2dImpl>()) {
      round(conv->weight);
      round(conv->bias);
    } else if (auto* lin = m.as<torch::nn::LinearImpl>()) {
      round(lin->weight);
      round(lin->bias);
    } else if (auto* mha = m.as<MultiheadSelfAttentionImpl>()) {
      round(mha->in_proj_weight);
      round(mha->in_proj_bias);
    } else if (auto* vit = m.as<VisionTransformerImpl>()) {
      round(vit->proj);
    }
  }
  round(model.text_projection);
}

void InitClipWeights(ClipModelImpl& m) {
  torch::NoGradGuard ng;
  const auto& c = m.config;
  torch::nn::init::normal_(m.token_embedding->weight, 0, 0.02);
  torch::nn::init::normal_(m.positional_embedding, 0, 0.01);
  auto initTransformer = [](TransformerImpl& t, int64_t width, int64_t layers) {
    double proj_std = std::pow(width, -0.5) * std::pow(2 * layers, -0.5), attn_std = std::pow(width, -0.5),
           fc_std = std::pow(2 * width, -0.5);
    for (size_t i = 0; i < t.resblocks->size(); ++i) {
      auto& b = t.block(i);
      torch::nn::init::normal_(b.attn->in_proj_weight, 0, attn_std);
      torch::nn::init::normal_(b.attn->out_proj->weight, 0, proj_std);
      b.attn->out_proj->bias.zero_();
      torch::nn::init::normal_(b.mlp->c_fc->weight, 0, fc_std);
      torch::nn::init::normal_(b.mlp->c_proj->weight, 0, proj_std);
    }
  };
  initTransformer(*m.transformer, c.textWidth, c.textLayers);
  torch::nn::init::normal_(m.text_projection, 0, std::pow(c.textWidth, -0.5));
  if (c.vit) {
    double s = std::pow(c.visionWidth, -0.5);
    torch::nn::init::normal_(m.vit->class_embedding, 0, s);
    torch::nn::init::normal_(m.vit->positional_embedding, 0, s);
    torch::nn::init::normal_(m.vit->proj, 0, s);
    initTransformer(*m.vit->transformer, c.visionWidth, c.visionLayers);
  }
}

}  // namespace clips4
