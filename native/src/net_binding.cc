// The `net` namespace: create/load/save the pixel embedder (ResNet + PSPNet) and run it.
#include "seeded.h"
#include "async.h"
#include "batch_norm_cpu.h"
#include "device.h"
#include "handle.h"
#include "net_model.h"
#include "registry.h"
#include "state_dict.h"
#include "tensor_js.h"
#include "pyramid_conv.h"
#include "winograd_conv.h"

namespace clips4 {
namespace {

NetConfig ConfigFromJs(const Napi::Object& o) {
  NetConfig c;
  c.bottleneck = GetString(o, "block") == "bottleneck";
  auto layers = GetIntArray(o, "layers"), inner = GetIntArray(o, "inner"), out = GetIntArray(o, "out");
  if (layers.size() != 4 || inner.size() != 4 || out.size() != 4) ThrowType("Expected 4 values for config.layers, config.inner and config.out");
  c.layers = layers;
  c.inner = inner;
  c.out = out;
  c.stem = static_cast<int64_t>(GetNumber(o, "stem"));
  c.deepStem = GetBool(o, "deepStem");
  Napi::Value dil = o.Get("dilation");
  if (!dil.IsArray() || dil.As<Napi::Array>().Length() != 3) ThrowType("Expected 3 booleans for config.dilation");
  Napi::Array a = dil.As<Napi::Array>();
  c.dilation.assign(3, false);
  for (uint32_t i = 0; i < 3; ++i) c.dilation[i] = a.Get(i).ToBoolean().Value();
  c.headChannels = static_cast<int64_t>(GetNumber(o, "headChannels"));
  c.bins = GetIntArray(o, "bins");
  if (c.bins.empty()) ThrowType("Expected at least one pooling bin for config.bins");
  c.norm = GetString(o, "norm");
  c.upsample = GetBool(o, "upsample");
  c.embedDim = static_cast<int64_t>(GetNumber(o, "embedDim"));
  return c;
}

// The backbone's keys alone (what a torchvision state dict determines), or the whole config.
Napi::Object ConfigToJs(Napi::Env env, const NetConfig& c, bool backboneOnly = false) {
  Napi::Object o = Napi::Object::New(env);
  auto arr = [&](const std::vector<int64_t>& v) {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(v[i])));
    return a;
  };
  o.Set("block", c.bottleneck ? "bottleneck" : "basic");
  o.Set("layers", arr(c.layers));
  o.Set("inner", arr(c.inner));
  o.Set("out", arr(c.out));
  o.Set("stem", c.stem);
  o.Set("deepStem", c.deepStem);
  if (backboneOnly) return o;
  Napi::Array d = Napi::Array::New(env, 3);
  for (uint32_t i = 0; i < 3; ++i) d.Set(i, Napi::Boolean::New(env, c.dilation[i]));
  o.Set("dilation", d);
  o.Set("headChannels", c.headChannels);
  o.Set("bins", arr(c.bins));
  o.Set("norm", c.norm);
  o.Set("upsample", c.upsample);
  o.Set("embedDim", c.embedDim);
  return o;
}

std::shared_ptr<PixelEmbedderNet> Embedder(const Napi::Value& v) {
  auto net = UnwrapHandle<EmbeddingNet>(v, "embedder");
  auto e = std::dynamic_pointer_cast<PixelEmbedderNet>(net);
  if (!e) ThrowType("Expected a PixelEmbedder handle for embedder");
  return e;
}

// create(config, {seed, device}) → handle (also usable as the trainer's model).
Napi::Value Create(const Napi::CallbackInfo& info) {
  return Guarded(info, "net.create", [&]() -> Napi::Value {
    NetConfig c = ConfigFromJs(GetObject(info, 0, "config"));
    Napi::Object o = GetObject(info, 1, "options");
    auto seed = static_cast<uint64_t>(GetNumber(o, "seed"));
    auto device = ParseDevice(GetString(o, "device"));
    std::shared_ptr<EmbeddingNet> net = Seeded(seed, [&] { return std::make_shared<PixelEmbedderNet>(c); });
    net->Module().to(device);
    return WrapHandle(info.Env(), net);
  });
}

// inferResNet(stateDict) → backbone config from torchvision keys.
Napi::Value InferResNet(const Napi::CallbackInfo& info) {
  return Guarded(info, "net.inferResNet", [&]() -> Napi::Value {
    StateDict sd = StateDictFromJs(info[0], "weights");
    return ConfigToJs(info.Env(), InferResNetConfig(sd), /*backboneOnly=*/true);
  });
}

Napi::Value LoadWeights(const Napi::CallbackInfo& info, const char* name, bool backboneOnly) {
  auto e = Embedder(info[0]);
  StateDict sd = StateDictFromJs(info[1], "weights");
  return RunAsync(info.Env(), name, [e, sd, backboneOnly]() -> Producer {
    auto& m = *e->model();
    if (backboneOnly) CopyWeights(*m.backbone, sd, "", /*allowUnused=*/true);
    else CopyWeights(m, sd, "", false);
    return [](Napi::Env env) -> Napi::Value { return env.Undefined(); };
  }, GradMode::kNoGrad);
}

Napi::Value LoadBackbone(const Napi::CallbackInfo& info) {
  return Guarded(info, "net.loadBackbone", [&]() -> Napi::Value { return LoadWeights(info, "net.loadBackbone", true); });
}
Napi::Value Load(const Napi::CallbackInfo& info) {
  return Guarded(info, "net.load", [&]() -> Napi::Value { return LoadWeights(info, "net.load", false); });
}

Napi::Value StateDictOf(const Napi::CallbackInfo& info) {
  return Guarded(info, "net.stateDict", [&]() -> Napi::Value {
    auto e = Embedder(info[0]);
    return RunAsync(info.Env(), "net.stateDict", [e]() -> Producer {
      StateDict sd = ModuleStateDict(e->Module(), /*withCounters=*/true, StateDictFloats::kFloat32);
      return [sd](Napi::Env env) -> Napi::Value { return StateDictToJs(env, sd); };
    }, GradMode::kNoGrad);
  });
}

// embed(handle, images) → [B,d,h,w] (eval mode).
Napi::Value Embed(const Napi::CallbackInfo& info) {
  return Guarded(info, "net.embed", [&]() -> Napi::Value {
    auto e = Embedder(info[0]);
    at::Tensor images = TensorFromJs(info[1], "images");
    return RunAsync(info.Env(), "net.embed", [e, images]() -> Producer {
      auto& m = *e->model();
      m.eval();
      auto dev = m.parameters()[0].device();
      at::Tensor out = PrepareForJs(m.forward(images.to(dev)));
      return [out](Napi::Env env) -> Napi::Value { return TensorToJs(env, out); };
    });
  });
}

// features(handle, images) → {layer1..layer4} of the backbone (eval mode).
Napi::Value Features(const Napi::CallbackInfo& info) {
  return Guarded(info, "net.features", [&]() -> Napi::Value {
    auto e = Embedder(info[0]);
    at::Tensor images = TensorFromJs(info[1], "images");
    return RunAsync(info.Env(), "net.features", [e, images]() -> Producer {
      auto& m = *e->model();
      m.eval();
      auto dev = m.parameters()[0].device();
      auto layers = m.backbone->forward(images.to(dev));
      StateDict out;
      for (size_t i = 0; i < layers.size(); ++i) out.emplace("layer" + std::to_string(i + 1), PrepareForJs(layers[i]));
      return [out](Napi::Env env) -> Napi::Value { return StateDictToJs(env, out); };
    });
  });
}

// conv3x3(x [N,C,H,W], w [O,C,3,3], gy [N,O,H,W], {dilation, winograd}) → {y, gx, gw}: one conv of the
// embedder's kind (stride 1, padding = dilation, no bias) and its gradients for the upstream gradient
// gy, through the Winograd path (where it applies) or at::conv2d, so tests can hold one against the other.
Napi::Value Conv3x3(const Napi::CallbackInfo& info) {
  return Guarded(info, "net.conv3x3", [&]() -> Napi::Value {
    at::Tensor x = TensorFromJs(info[0], "x"), w = TensorFromJs(info[1], "w"), gy = TensorFromJs(info[2], "gy");
    Napi::Object o = GetObject(info, 3, "options");
    const int64_t d = static_cast<int64_t>(GetNumber(o, "dilation"));
    const bool winograd = GetBool(o, "winograd");
    if (x.dim() != 4 || w.dim() != 4 || w.size(1) != x.size(1) || w.size(2) != 3 || w.size(3) != 3 || d < 1) {
      ThrowType("Expected x [N,C,H,W], w [O,C,3,3] and a dilation ≥ 1 for net.conv3x3");
    }
    if (gy.sizes() != at::IntArrayRef{x.size(0), w.size(0), x.size(2), x.size(3)}) ThrowType("Expected gy [N,O,H,W] for net.conv3x3");
    return RunAsync(info.Env(), "net.conv3x3", [x, w, gy, d, winograd]() -> Producer {
      auto xv = x.clone().requires_grad_(true), wv = w.clone().requires_grad_(true);
      auto y = SameConv3x3(xv, wv, d, winograd);
      y.backward(gy);
      StateDict out{{"y", PrepareForJs(y.detach())}, {"gx", PrepareForJs(xv.grad())}, {"gw", PrepareForJs(wv.grad())}};
      return [out](Napi::Env env) -> Napi::Value { return StateDictToJs(env, out); };
    }, GradMode::kGrad);
  });
}

// pyramidConv3x3(x [N,C,H,W], pooled [[N,C_i,b_i,b_i], ...], w [O,C+ΣC_i,3,3], gy [N,O,H,W],
// {split, winograd}) → {y, gx, gw, gp0, gp1, ...}: the PSPNet head's bottleneck conv (pyramid_conv.h)
// and its gradients, split or over the concatenated maps, so tests can hold one against the other.
Napi::Value PyramidConv(const Napi::CallbackInfo& info) {
  return Guarded(info, "net.pyramidConv3x3", [&]() -> Napi::Value {
    at::Tensor x = TensorFromJs(info[0], "x"), w = TensorFromJs(info[2], "w"), gy = TensorFromJs(info[3], "gy");
    if (!info[1].IsArray()) ThrowType("Expected an array of tensors for pooled");
    Napi::Array a = info[1].As<Napi::Array>();
    const char* shapes = "Expected x [N,C,H,W] and w [O,C+ΣC_i,3,3] for net.pyramidConv3x3";
    if (x.dim() != 4) ThrowType(shapes);
    std::vector<at::Tensor> pooled;
    int64_t channels = x.size(1);
    for (uint32_t i = 0; i < a.Length(); ++i) {
      pooled.push_back(TensorFromJs(a.Get(i), "pooled[i]"));
      const auto& p = pooled.back();
      if (p.dim() != 4 || p.size(0) != x.size(0)) ThrowType("Expected pooled[i] [N,C_i,b,b] for net.pyramidConv3x3");
      channels += p.size(1);
    }
    Napi::Object o = GetObject(info, 4, "options");
    const bool split = GetBool(o, "split"), winograd = GetBool(o, "winograd");
    if (w.dim() != 4 || w.size(1) != channels || w.size(2) != 3 || w.size(3) != 3) {
      ThrowType(shapes);
    }
    if (gy.sizes() != at::IntArrayRef{x.size(0), w.size(0), x.size(2), x.size(3)}) ThrowType("Expected gy [N,O,H,W] for net.pyramidConv3x3");
    return RunAsync(info.Env(), "net.pyramidConv3x3", [x, pooled, w, gy, split, winograd]() -> Producer {
      auto xv = x.clone().requires_grad_(true), wv = w.clone().requires_grad_(true);
      std::vector<at::Tensor> pv;
      for (const auto& p : pooled) pv.push_back(p.clone().requires_grad_(true));
      auto y = PyramidConv3x3(xv, pv, wv, split, winograd);
      y.backward(gy);
      StateDict out{{"y", PrepareForJs(y.detach())}, {"gx", PrepareForJs(xv.grad())}, {"gw", PrepareForJs(wv.grad())}};
      for (size_t i = 0; i < pv.size(); ++i) out.emplace("gp" + std::to_string(i), PrepareForJs(pv[i].grad()));
      return [out](Napi::Env env) -> Napi::Value { return StateDictToJs(env, out); };
    }, GradMode::kGrad);
  });
}

// batchNorm(x [N,C,H,W], weight [C], bias [C], runningMean [C], runningVar [C], gy [N,C,H,W],
// {momentum, eps, clips4}) → {y, gx, gw, gb, runningMean, runningVar}: one training-mode batch norm
// and its gradients through the CPU kernel (batch_norm_cpu.h; an error where it does not apply) or
// LibTorch's, so tests can hold one against the other. The running statistics are updated copies.
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  return Guarded(info, "net.batchNorm", [&]() -> Napi::Value {
    at::Tensor x = TensorFromJs(info[0], "x"), w = TensorFromJs(info[1], "weight"), b = TensorFromJs(info[2], "bias"),
               rm = TensorFromJs(info[3], "runningMean"), rv = TensorFromJs(info[4], "runningVar"), gy = TensorFromJs(info[5], "gy");
    Napi::Object o = GetObject(info, 6, "options");
    const double momentum = GetNumber(o, "momentum"), eps = GetNumber(o, "eps");
    const bool ours = GetBool(o, "clips4");
    if (x.dim() != 4 || gy.sizes() != x.sizes()) ThrowType("Expected x [N,C,H,W] and gy of x's shape for net.batchNorm");
    for (const auto* t : {&w, &b, &rm, &rv})
      if (t->sizes() != at::IntArrayRef{x.size(1)}) ThrowType("Expected weight, bias, runningMean and runningVar [C] for net.batchNorm");
    if (ours && !BatchNormTrainCpuApplies(x, w, b)) ThrowType("Expected float32 tensors with more than one value per channel for net.batchNorm's CPU kernel");
    return RunAsync(info.Env(), "net.batchNorm", [x, w, b, rm, rv, gy, momentum, eps, ours]() -> Producer {
      auto xv = x.clone().requires_grad_(true), wv = w.clone().requires_grad_(true), bv = b.clone().requires_grad_(true);
      auto mean = rm.clone(), var = rv.clone();
      auto y = ours ? BatchNormTrainCpu(xv, wv, bv, mean, var, momentum, eps) : at::batch_norm(xv, wv, bv, mean, var, true, momentum, eps, false);
      y.backward(gy);
      StateDict out{{"y", PrepareForJs(y.detach())}, {"gx", PrepareForJs(xv.grad())}, {"gw", PrepareForJs(wv.grad())},
                    {"gb", PrepareForJs(bv.grad())}, {"runningMean", PrepareForJs(mean)}, {"runningVar", PrepareForJs(var)}};
      return [out](Napi::Env env) -> Napi::Value { return StateDictToJs(env, out); };
    }, GradMode::kGrad);
  });
}

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "net", "batchNorm", BatchNorm);
  Export(env, exports, "net", "conv3x3", Conv3x3);
  Export(env, exports, "net", "pyramidConv3x3", PyramidConv);
  Export(env, exports, "net", "create", Create);
  Export(env, exports, "net", "inferResNet", InferResNet);
  Export(env, exports, "net", "loadBackbone", LoadBackbone);
  Export(env, exports, "net", "load", Load);
  Export(env, exports, "net", "stateDict", StateDictOf);
  Export(env, exports, "net", "embed", Embed);
  Export(env, exports, "net", "features", Features);
}

}  // namespace
}  // namespace clips4

CLIPS4_MODULE(net, clips4::Init);
