#include "net_model.h"

#include <numeric>
#include <set>
#include <sstream>

#include "batch_norm_cpu.h"
#include "dist_autograd.h"
#include "errors.h"
#include "pyramid_conv.h"
#include "state_dict.h"
#include "tensor_ops.h"
#include "winograd_conv.h"

namespace clips4 {

namespace nn = torch::nn;

static nn::Conv2d Conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t pad = 0, int64_t dil = 1, bool bias = false) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).dilation(dil).bias(bias));
}

// A conv of the embedder: oneDNN's Winograd kernels where they apply (winograd_conv.h), else LibTorch's.
static at::Tensor RunConv(nn::Conv2d& conv, const at::Tensor& x) {
  const auto& o = conv->options;
  // The padding is a variant (sizes, 'valid' or 'same'): c10's in LibTorch 1.13, std's in 2.x;
  // an unqualified get<> with std::get in scope finds either (argument-dependent lookup).
  using std::get;
  if (o.padding().index() == 0) {
    const auto& padding = get<0>(o.padding());
    const auto& w = conv->weight;
    if (WinogradApplies(x, w, conv->bias, w.sizes().slice(2), *o.stride(), *padding, *o.dilation(), o.groups())) {
      return WinogradConv3x3(x, w, (*o.dilation())[0]);
    }
  }
  return conv->forward(x);
}

ResNetBlockImpl::ResNetBlockImpl(bool bn, int64_t in, int64_t inner, int64_t out, int64_t stride, int64_t dilation, bool, int64_t)
    : bottleneck(bn) {
  if (bottleneck) {
    conv1 = register_module("conv1", Conv(in, inner, 1));
    bn1 = register_module("bn1", BatchNorm(inner));
    conv2 = register_module("conv2", Conv(inner, inner, 3, stride, dilation, dilation));
    bn2 = register_module("bn2", BatchNorm(inner));
    conv3 = register_module("conv3", Conv(inner, out, 1));
    bn3 = register_module("bn3", BatchNorm(out));
  } else {
    conv1 = register_module("conv1", Conv(in, out, 3, stride, dilation, dilation));
    bn1 = register_module("bn1", BatchNorm(out));
    conv2 = register_module("conv2", Conv(out, out, 3, 1, dilation, dilation));
    bn2 = register_module("bn2", BatchNorm(out));
  }
  if (stride != 1 || in != out) {
    downsample = register_module("downsample", nn::Sequential(Conv(in, out, 1, stride), BatchNorm(out)));
  }
}

at::Tensor ResNetBlockImpl::forward(const at::Tensor& x) {
  auto y = torch::relu(bn1(RunConv(conv1, x)));
  if (bottleneck) {
    y = torch::relu(bn2(RunConv(conv2, y)));
    y = bn3(conv3(y));
  } else {
    y = bn2(RunConv(conv2, y));
  }
  return torch::relu(y + (downsample ? downsample->forward(x) : x));
}

ResNetImpl::ResNetImpl(const NetConfig& c) : config(c) {
  if (c.deepStem) {
    conv1 = register_module("conv1", Conv(3, c.stem / 2, 3, 2, 1));
    bn1 = register_module("bn1", BatchNorm(c.stem / 2));
    conv2 = register_module("conv2", Conv(c.stem / 2, c.stem / 2, 3, 1, 1));
    bn2 = register_module("bn2", BatchNorm(c.stem / 2));
    conv3 = register_module("conv3", Conv(c.stem / 2, c.stem, 3, 1, 1));
    bn3 = register_module("bn3", BatchNorm(c.stem));
  } else {
    conv1 = register_module("conv1", Conv(3, c.stem, 7, 2, 3));
    bn1 = register_module("bn1", BatchNorm(c.stem));
  }
  int64_t in = c.stem, dilation = 1;
  nn::Sequential* targets[4] = {&layer1, &layer2, &layer3, &layer4};
  for (int l = 0; l < 4; ++l) {
    int64_t stride = l == 0 ? 1 : 2;
    int64_t prev = dilation;
    if (l > 0 && c.dilation[l - 1]) {
      dilation *= stride;
      stride = 1;
    }
    nn::Sequential seq;
    // torchvision: the first block of a layer keeps the previous dilation, the others use the new one.
    seq->push_back(ResNetBlock(c.bottleneck, in, c.inner[l], c.out[l], stride, prev, false, prev));
    for (int64_t b = 1; b < c.layers[l]; ++b) seq->push_back(ResNetBlock(c.bottleneck, c.out[l], c.inner[l], c.out[l], 1, dilation, false, prev));
    in = c.out[l];
    *targets[l] = register_module("layer" + std::to_string(l + 1), seq);
  }
}

std::vector<at::Tensor> ResNetImpl::forward(const at::Tensor& input) {
  auto x = torch::relu(bn1(conv1(input)));
  if (config.deepStem) {
    x = torch::relu(bn2(RunConv(conv2, x)));
    x = torch::relu(bn3(RunConv(conv3, x)));
  }
  // On a CPU, LibTorch's max-pool kernel is ~5x faster on channels-last input than on NCHW (measured
  // on the stem's [16,16,32,32] maps, 1.13); a maximum and its first-index ties are the same in either
  // layout, so the result and the gradient's routing are unchanged.
  if (x.is_cpu()) {
    x = at::max_pool2d(x.contiguous(at::MemoryFormat::ChannelsLast), {3, 3}, {2, 2}, {1, 1}).contiguous();
  } else {
    x = at::max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
  }
  auto l1 = layer1->forward(x);
  auto l2 = layer2->forward(l1);
  auto l3 = layer3->forward(l2);
  auto l4 = layer4->forward(l3);
  return {l1, l2, l3, l4};
}

void BatchNormImpl::reset() {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
  running_mean = register_buffer("running_mean", torch::zeros({channels}));
  running_var = register_buffer("running_var", torch::ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
}

at::Tensor BatchNormImpl::forward(const at::Tensor& x) {
  if (is_training()) {
    torch::NoGradGuard ng;
    num_batches_tracked += 1;
  }
  Group* group = CurrentSyncGroup();
  if (is_training() && group != nullptr && group->size > 1) {
    return SyncBatchNorm(x, weight, bias, running_mean, running_var, momentum, eps, group);
  }
  if (is_training() && BatchNormTrainCpuApplies(x, weight, bias)) return BatchNormTrainCpu(x, weight, bias, running_mean, running_var, momentum, eps);
  return at::batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, eps, false);
}

HeadNormImpl::HeadNormImpl(int64_t channels, const std::string& k) : kind(k) {
  if (kind == "gn") {
    int64_t groups = std::gcd<int64_t>(32, channels);
    gn = register_module("gn", nn::GroupNorm(nn::GroupNormOptions(groups, channels)));
  } else {
    bn = register_module("bn", BatchNorm(channels));
  }
}

at::Tensor HeadNormImpl::forward(const at::Tensor& x) {
  // Under bfloat16 autocast the conv before hands over bfloat16, and LibTorch 1.13's CPU group_norm
  // takes no mixed types: the norm runs in its parameters' type (autocast's policy for norms).
  if (kind == "gn") return torch::relu(gn(x.to(gn->weight.scalar_type())));
  const bool single = x.size(0) * x.size(2) * x.size(3) == 1;
  const bool useBatch = is_training() && kind == "bn" && !single;
  Group* group = CurrentSyncGroup();
  if (useBatch && group != nullptr && group->size > 1) {
    return torch::relu(SyncBatchNorm(x, bn->weight, bn->bias, bn->running_mean, bn->running_var, 0.1, 1e-5, group));
  }
  auto y = at::batch_norm(x, bn->weight, bn->bias, bn->running_mean, bn->running_var, useBatch, 0.1, 1e-5, false);
  return torch::relu(y);
}

PspHeadImpl::PspHeadImpl(int64_t in, const NetConfig& c) : bins(c.bins) {
  stages = register_module("stages", nn::ModuleList());
  stage_norms = register_module("stage_norms", nn::ModuleList());
  for (size_t i = 0; i < bins.size(); ++i) {
    stages->push_back(Conv(in, c.headChannels, 1));
    stage_norms->push_back(HeadNorm(c.headChannels, c.norm));
  }
  bottleneck = register_module("bottleneck", Conv(in + c.headChannels * static_cast<int64_t>(bins.size()), c.headChannels, 3, 1, 1));
  bottleneck_norm = register_module("bottleneck_norm", HeadNorm(c.headChannels, c.norm));
  classifier = register_module("classifier", Conv(c.headChannels, c.embedDim, 1, 1, 0, 1, true));
}

// [H·W, Σ b²]: column (b, i, j) averages the pixels of adaptive average pooling's window (i, j) at
// b × b bins (rows ⌊i·H/b⌋ to ⌈(i+1)·H/b⌉, the same for columns).
static at::Tensor PoolingMatrix(int64_t H, int64_t W, const std::vector<int64_t>& bins, const at::TensorOptions& options) {
  int64_t columns = 0;
  for (auto b : bins) columns += b * b;
  auto m = at::zeros({H * W, columns}, at::TensorOptions().dtype(at::kDouble));
  auto a = m.accessor<double, 2>();
  int64_t column = 0;
  for (auto b : bins) {
    for (int64_t i = 0; i < b; ++i) {
      for (int64_t j = 0; j < b; ++j, ++column) {
        const int64_t y0 = i * H / b, y1 = ((i + 1) * H + b - 1) / b, x0 = j * W / b, x1 = ((j + 1) * W + b - 1) / b;
        const double w = 1.0 / static_cast<double>((y1 - y0) * (x1 - x0));
        for (int64_t y = y0; y < y1; ++y)
          for (int64_t x = x0; x < x1; ++x) a[y * W + x][column] = w;
      }
    }
  }
  return m.to(options);
}

at::Tensor PspHeadImpl::forward(const at::Tensor& x) {
  // Every bin's average pooling in one product: the world's 8×8 maps took ~5 ms per training step
  // through at::adaptive_avg_pool2d's forward and backward on the CPU, the product ~0.3.
  const int64_t N = x.size(0), C = x.size(1);
  auto all = at::matmul(x.flatten(2), PoolingMatrix(x.size(2), x.size(3), bins, x.options()));  // [N, C, Σ b²]
  std::vector<at::Tensor> pooled;
  int64_t offset = 0;
  for (size_t i = 0; i < bins.size(); ++i) {
    auto p = all.narrow(2, offset, bins[i] * bins[i]).reshape({N, C, bins[i], bins[i]});
    offset += bins[i] * bins[i];
    pooled.push_back(stage_norms[i]->as<HeadNormImpl>()->forward(stages[i]->as<nn::Conv2dImpl>()->forward(p)));
  }
  // conv3x3 of [x, the pooled maps upsampled to x's size], without the upsampled maps (pyramid_conv.h).
  auto y = bottleneck_norm(PyramidConv3x3(x, pooled, bottleneck->weight, PyramidSplitPays(pooled), true));
  return classifier(y);
}

PixelEmbedderImpl::PixelEmbedderImpl(const NetConfig& c) : config(c) {
  backbone = register_module("backbone", ResNet(c));
  head = register_module("head", PspHead(c.out[3], c));
}

at::Tensor PixelEmbedderImpl::forward(const at::Tensor& images) {
  auto y = head(backbone->forward(images)[3]);
  if (config.upsample) y = at::upsample_bilinear2d(y, {y.size(2) * 2, y.size(3) * 2}, false);
  return L2Normalize(y, 1);
}

NetConfig InferResNetConfig(const std::map<std::string, at::Tensor>& sd) {
  auto need = [&](const std::string& k) -> const at::Tensor& {
    auto it = sd.find(k);
    if (it == sd.end()) throw NativeError(code::kWeights, "missing key '" + k + "': not a torchvision ResNet state dict");
    return it->second;
  };
  NetConfig c;  // the backbone's fields only: the head is not in a torchvision state dict
  c.layers.assign(4, 0);
  c.inner.assign(4, 0);
  c.out.assign(4, 0);
  c.bottleneck = sd.count("layer1.0.conv3.weight") > 0;
  c.deepStem = sd.count("conv3.weight") > 0;
  c.stem = need(c.deepStem ? "conv3.weight" : "conv1.weight").size(0);
  for (int l = 0; l < 4; ++l) {
    std::string prefix = "layer" + std::to_string(l + 1) + ".";
    std::set<std::string> ids;
    for (auto& [k, v] : sd)
      if (k.rfind(prefix, 0) == 0) ids.insert(k.substr(prefix.size(), k.find('.', prefix.size()) - prefix.size()));
    c.layers[l] = static_cast<int64_t>(ids.size());
    if (c.bottleneck) {
      c.inner[l] = need(prefix + "0.conv1.weight").size(0);
      c.out[l] = need(prefix + "0.conv3.weight").size(0);
    } else {
      c.inner[l] = c.out[l] = need(prefix + "0.conv1.weight").size(0);
    }
  }
  return c;
}

void CopyWeights(torch::nn::Module& module, const std::map<std::string, at::Tensor>& sd, const std::string& prefix, bool allowUnused) {
  LoadOptions o;
  o.prefix = prefix;
  o.allowUnexpected = allowUnused;
  LoadStateDict(module, sd, o);
}

}  // namespace clips4
