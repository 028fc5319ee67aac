// The `clip` namespace of the addon: load/create CLIP models and run their encoders, dense
// features (with optional sliding windows) and contrastive training steps off the main thread.
#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

#include <torch/script.h>

#include "seeded.h"
#include "async.h"
#include "clip_model.h"
#include "device.h"
#include "handle.h"
#include "registry.h"
#include "state_dict.h"
#include "tensor_js.h"
#include "tensor_ops.h"

namespace clips4 {
namespace {

struct ClipHandle {
  static constexpr napi_type_tag kTag = {0x7e2a9c1b3d4f5a60ULL, 0x1122334455667788ULL};
  ClipModel model{nullptr};
  c10::Device device = c10::Device(c10::kCPU);
  at::ScalarType dtype = at::kFloat;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::mutex mutex;  // training steps and state reads are exclusive
};

Napi::Object InfoToJs(Napi::Env env, const ClipConfig& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", c.vit ? "vit" : "resnet");
  o.Set("embedDim", c.embedDim);
  o.Set("imageResolution", c.imageResolution);
  o.Set("visionWidth", c.visionWidth);
  o.Set("visionHeads", c.visionHeads());
  if (c.vit) {
    o.Set("visionLayers", c.visionLayers);
    o.Set("patchSize", c.patchSize);
  } else {
    Napi::Array a = Napi::Array::New(env, c.resnetLayers.size());
    for (size_t i = 0; i < c.resnetLayers.size(); ++i) a.Set(static_cast<uint32_t>(i), c.resnetLayers[i]);
    o.Set("resnetLayers", a);
  }
  o.Set("contextLength", c.contextLength);
  o.Set("vocabSize", c.vocabSize);
  o.Set("textWidth", c.textWidth);
  o.Set("textHeads", c.textHeads);
  o.Set("textLayers", c.textLayers);
  return o;
}

Napi::Value Wrap(Napi::Env env, std::shared_ptr<ClipHandle> h) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("handle", WrapHandle(env, h));
  r.Set("info", InfoToJs(env, h->model->config));
  return r;
}

// load(stateDict, {device, dtype}) → {handle, info}
Napi::Value Load(const Napi::CallbackInfo& info) {
  return Guarded(info, "clip.load", [&]() -> Napi::Value {
    StateDict sd = StateDictFromJs(info[0], "weights");
    Napi::Object o = GetObject(info, 1, "options");
    std::string device = GetString(o, "device"), dtype = GetString(o, "dtype");
    bool openaiRounding = GetBool(o, "openaiRounding");
    return RunAsync(info.Env(), "clip.load", [sd, device, dtype, openaiRounding]() -> Producer {
      auto h = std::make_shared<ClipHandle>();
      h->device = ParseDevice(device);
      ClipConfig c = InferClipConfig(sd);
      h->model = Unseeded([&] { return ClipModel(c); });
      LoadClipWeights(*h->model, sd);
      if (openaiRounding) RoundLikeOpenAI(*h->model);
      h->model->eval();
      if (dtype == "float16" && h->device.is_cuda()) h->dtype = at::kHalf;
      h->model->to(h->device, h->dtype);
      return [h](Napi::Env env) -> Napi::Value { return Wrap(env, h); };
    }, GradMode::kNoGrad);
  });
}

// create(config, {device, seed}) → {handle, info}: a freshly initialised model (for training).
Napi::Value Create(const Napi::CallbackInfo& info) {
  return Guarded(info, "clip.create", [&]() -> Napi::Value {
    Napi::Object o = GetObject(info, 0, "config");
    ClipConfig c;
    c.vit = GetString(o, "kind") == "vit";
    c.embedDim = static_cast<int64_t>(GetNumber(o, "embedDim"));
    c.imageResolution = static_cast<int64_t>(GetNumber(o, "imageResolution"));
    c.visionWidth = static_cast<int64_t>(GetNumber(o, "visionWidth"));
    c.visionLayers = static_cast<int64_t>(GetNumber(o, "visionLayers"));
    c.patchSize = static_cast<int64_t>(GetNumber(o, "patchSize"));
    c.resnetLayers = GetIntArray(o, "resnetLayers");
    if (!c.vit && c.resnetLayers.size() != 4) ThrowType("Expected 4 block counts for config.resnetLayers");
    c.contextLength = static_cast<int64_t>(GetNumber(o, "contextLength"));
    c.vocabSize = static_cast<int64_t>(GetNumber(o, "vocabSize"));
    c.textWidth = static_cast<int64_t>(GetNumber(o, "textWidth"));
    c.textLayers = static_cast<int64_t>(GetNumber(o, "textLayers"));
    c.textHeads = std::max<int64_t>(1, c.textWidth / 64);
    Napi::Object opts = GetObject(info, 1, "options");
    std::string device = GetString(opts, "device");
    uint64_t seed = static_cast<uint64_t>(GetNumber(opts, "seed"));
    return RunAsync(info.Env(), "clip.create", [c, device, seed]() -> Producer {
      auto h = std::make_shared<ClipHandle>();
      h->device = ParseDevice(device);
      h->model = Seeded(seed, [&] {
        ClipModel m(c);
        InitClipWeights(*m);
        return m;
      });
      h->model->to(h->device);
      return [h](Napi::Env env) -> Napi::Value { return Wrap(env, h); };
    }, GradMode::kNoGrad);
  });
}

using Fn = std::function<at::Tensor(ClipHandle&, const at::Tensor&)>;

Napi::Value RunEncoder(const Napi::CallbackInfo& info, const char* name, Fn fn) {
  auto h = UnwrapHandle<ClipHandle>(info[0], "clip");
  at::Tensor input = TensorFromJs(info[1], "input");
  return RunAsync(info.Env(), name, [h, input, fn]() -> Producer {
    h->model->eval();
    at::Tensor x = input.to(h->device);
    if (x.is_floating_point()) x = x.to(h->dtype);
    at::Tensor out = PrepareForJs(fn(*h, x).to(at::kFloat));
    return [out](Napi::Env env) -> Napi::Value { return TensorToJs(env, out); };
  });
}

Napi::Value EncodeImage(const Napi::CallbackInfo& info) {
  return Guarded(info, "clip.encodeImage", [&]() -> Napi::Value {
    return RunEncoder(info, "clip.encodeImage", [](ClipHandle& h, const at::Tensor& x) { return h.model->encodeImage(x); });
  });
}

Napi::Value EncodeText(const Napi::CallbackInfo& info) {
  return Guarded(info, "clip.encodeText", [&]() -> Napi::Value {
    return RunEncoder(info, "clip.encodeText", [](ClipHandle& h, const at::Tensor& x) { return h.model->encodeText(x); });
  });
}

// Pixels per CLIP pass when sliding windows: the windows of a few images are stacked up to this
// (sixteen 224² images), a larger batch keeps one window per pass.
constexpr int64_t kWindowPixels = 16 * 224 * 224;

// denseFeatures(handle, images, {variant, window, stride, attention}) → features [N,E,h,w] (and the
// last block's attention when asked, for tests of the variants' invariants).
Napi::Value DenseFeatures(const Napi::CallbackInfo& info) {
  return Guarded(info, "clip.denseFeatures", [&]() -> Napi::Value {
    auto h = UnwrapHandle<ClipHandle>(info[0], "clip");
    at::Tensor images = TensorFromJs(info[1], "images");
    Napi::Object o = GetObject(info, 2, "options");
    DenseVariant variant = ParseDenseVariant(GetString(o, "variant"));
    int64_t window = static_cast<int64_t>(GetNumber(o, "window"));
    int64_t stride = static_cast<int64_t>(GetNumber(o, "stride"));
    bool wantAttention = GetBool(o, "attention");
    return RunAsync(info.Env(), "clip.denseFeatures", [h, images, variant, window, stride, wantAttention]() -> Producer {
      h->model->eval();
      at::Tensor x = images.to(h->device).to(h->dtype);
      at::Tensor attention, out;
      const int64_t H = x.size(2), W = x.size(3);
      if (window > 0 && (H > window || W > window)) {
        // Sliding window: average the overlapping windows' features at feature resolution.
        const int64_t s = stride > 0 ? stride : window;
        const int64_t p = h->model->config.vit ? h->model->config.patchSize : 32;
        at::Tensor acc, count;
        auto starts = [&](int64_t size) {
          std::vector<int64_t> v;
          for (int64_t a = 0;; a += s) {
            if (a + window >= size) {
              v.push_back(std::max<int64_t>(0, size - window));
              break;
            }
            v.push_back(a);
          }
          return v;
        };
        std::vector<std::pair<int64_t, int64_t>> corners;
        for (int64_t y0 : starts(H))
          for (int64_t x0 : starts(W)) corners.emplace_back(y0, x0);
        // A few images' windows go through CLIP as one batch: one image's nine windows were nine
        // batch-1 passes, which a CPU runs far below its rate. The overlaps are summed in the same
        // order either way.
        const int64_t N = x.size(0), wh = std::min(window, H), ww = std::min(window, W);
        const auto per = static_cast<size_t>(std::max<int64_t>(1, kWindowPixels / (N * wh * ww)));
        for (size_t first = 0; first < corners.size(); first += per) {
          const size_t last = std::min(corners.size(), first + per);
          std::vector<at::Tensor> crops;
          for (size_t k = first; k < last; k++) {
            crops.push_back(x.narrow(2, corners[k].first, wh).narrow(3, corners[k].second, ww));
          }
          auto f = h->model->denseFeatures(crops.size() == 1 ? crops[0] : at::cat(crops, 0), variant);
          if (!acc.defined()) {
            acc = at::zeros({N, f.size(1), H / p, W / p}, f.options());
            count = at::zeros({1, 1, H / p, W / p}, f.options());
          }
          for (size_t k = first; k < last; k++) {
            auto fk = f.narrow(0, static_cast<int64_t>(k - first) * N, N);
            const int64_t y0 = corners[k].first / p, x0 = corners[k].second / p;
            acc.narrow(2, y0, fk.size(2)).narrow(3, x0, fk.size(3)).add_(fk);
            count.narrow(2, y0, fk.size(2)).narrow(3, x0, fk.size(3)).add_(1);
          }
        }
        out = acc / count;
      } else {
        out = h->model->denseFeatures(x, variant, wantAttention ? &attention : nullptr);
      }
      at::Tensor o1 = PrepareForJs(out.to(at::kFloat));
      at::Tensor o2 = attention.defined() ? PrepareForJs(attention.to(at::kFloat)) : at::Tensor();
      return [o1, o2](Napi::Env env) -> Napi::Value {
        Napi::Object r = Napi::Object::New(env);
        r.Set("features", TensorToJs(env, o1));
        if (o2.defined()) r.Set("attention", TensorToJs(env, o2));
        return r;
      };
    });
  });
}

// keys(handle, images) → the keys MaskCLIP's key smoothing compares [N, D, h, w] (ViT or ResNet).
Napi::Value Keys(const Napi::CallbackInfo& info) {
  return Guarded(info, "clip.keys", [&]() -> Napi::Value {
    return RunEncoder(info, "clip.keys", [](ClipHandle& h, const at::Tensor& x) { return h.model->denseKeys(x); });
  });
}

// stateDict(handle) → OpenAI-layout state dict (float32, CPU).
// logitScale(handle) → exp(logit_scale) capped at 100, the scale CLIP's own softmax over classes uses.
Napi::Value LogitScale(const Napi::CallbackInfo& info) {
  return Guarded(info, "clip.logitScale", [&]() -> Napi::Value {
    auto h = UnwrapHandle<ClipHandle>(info[0], "clip");
    return RunAsync(info.Env(), "clip.logitScale", [h]() -> Producer {
      std::lock_guard<std::mutex> lock(h->mutex);
      double scale = h->model->logit_scale.exp().clamp_max(100).item<double>();
      return [scale](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, scale); };
    }, GradMode::kNoGrad);
  });
}

Napi::Value GetStateDict(const Napi::CallbackInfo& info) {
  return Guarded(info, "clip.stateDict", [&]() -> Napi::Value {
    auto h = UnwrapHandle<ClipHandle>(info[0], "clip");
    return RunAsync(info.Env(), "clip.stateDict", [h]() -> Producer {
      std::lock_guard<std::mutex> lock(h->mutex);
      StateDict sd = ModuleStateDict(*h->model, /*withCounters=*/false, StateDictFloats::kFloat32);
      return [sd](Napi::Env env) -> Napi::Value { return StateDictToJs(env, sd); };
    }, GradMode::kNoGrad);
  });
}

// trainStep(handle, images [N,3,R,R], tokens [N,L], {lr, weightDecay}) → {loss, accuracy}:
// symmetric image–text InfoNCE with the learned logit scale (clamped at 100), AdamW (weight decay
// on tensors of two or more dimensions only).
Napi::Value TrainStep(const Napi::CallbackInfo& info) {
  return Guarded(info, "clip.trainStep", [&]() -> Napi::Value {
    auto h = UnwrapHandle<ClipHandle>(info[0], "clip");
    at::Tensor images = TensorFromJs(info[1], "images");
    at::Tensor tokens = TensorFromJs(info[2], "tokens");
    Napi::Object o = GetObject(info, 3, "options");
    double lr = GetNumber(o, "lr"), wd = GetNumber(o, "weightDecay");
    return RunAsync(info.Env(), "clip.trainStep", [h, images, tokens, lr, wd]() -> Producer {
      std::lock_guard<std::mutex> lock(h->mutex);
      auto& m = *h->model;
      m.train();
      if (!h->optimizer) {
        // Weight decay only on matrices and kernels: gains, biases and the logit scale (fewer than
        // two dimensions) are not pulled towards zero, as in OpenCLIP's training.
        auto options = [lr](double decay) { return torch::optim::AdamWOptions(lr).weight_decay(decay).betas({0.9, 0.98}).eps(1e-6); };
        std::vector<at::Tensor> decayed, kept;
        for (auto& p : m.parameters()) (p.dim() >= 2 ? decayed : kept).push_back(p);
        std::vector<torch::optim::OptimizerParamGroup> groups;
        groups.emplace_back(decayed, std::make_unique<torch::optim::AdamWOptions>(options(wd)));
        groups.emplace_back(kept, std::make_unique<torch::optim::AdamWOptions>(options(0)));
        h->optimizer = std::make_unique<torch::optim::AdamW>(std::move(groups), options(wd));
      }
      for (auto& g : h->optimizer->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
      auto img = L2Normalize(m.encodeImage(images.to(h->device)), 1);
      auto txt = L2Normalize(m.encodeText(tokens.to(h->device)), 1);
      auto logits = at::mm(img, txt.t()) * m.logit_scale.exp().clamp_max(100);
      auto target = at::arange(images.size(0), tokens.options().device(h->device));
      auto loss = (at::cross_entropy_loss(logits, target) + at::cross_entropy_loss(logits.t(), target)) / 2;
      h->optimizer->zero_grad();
      loss.backward();
      h->optimizer->step();
      double l = loss.item<double>();
      double acc = (logits.argmax(1) == target).to(at::kFloat).mean().item<double>();
      m.eval();
      return [l, acc](Napi::Env env) -> Napi::Value {
        Napi::Object r = Napi::Object::New(env);
        r.Set("loss", l);
        r.Set("accuracy", acc);
        return r;
      };
    }, GradMode::kGrad);
  });
}

// readTorchScript(path) → state dict of an OpenAI TorchScript archive (parameters and buffers only;
// none of the archive's code runs).
Napi::Value ReadTorchScript(const Napi::CallbackInfo& info) {
  return Guarded(info, "clip.readTorchScript", [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) ThrowType("Expected a file path for path");
    std::string path = info[0].As<Napi::String>();
    return RunAsync(info.Env(), "clip.readTorchScript", [path]() -> Producer {
      torch::jit::Module m;
      try {
        m = torch::jit::load(path, c10::Device(c10::kCPU));
      } catch (const c10::Error& e) {
        throw NativeError(code::kWeights, "cannot read TorchScript archive " + path + ": " + e.what_without_backtrace());
      }
      StateDict sd;
      for (const auto& p : m.named_parameters(true)) sd.emplace(p.name, PrepareForJs(p.value.to(at::kFloat)));
      for (const auto& b : m.named_buffers(true))
        if (b.value.is_floating_point()) sd.emplace(b.name, PrepareForJs(b.value.to(at::kFloat)));
      return [sd](Napi::Env env) -> Napi::Value { return StateDictToJs(env, sd); };
    }, GradMode::kNoGrad);
  });
}

// writeTorchScript(path, stateDict): an archive holding the tensors as parameters of nested
// submodules named like the keys (as OpenAI's archives do); used by tests and converters.
Napi::Value WriteTorchScript(const Napi::CallbackInfo& info) {
  return Guarded(info, "clip.writeTorchScript", [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) ThrowType("Expected a file path for path");
    std::string path = info[0].As<Napi::String>();
    StateDict sd = StateDictFromJs(info[1], "weights");
    return RunAsync(info.Env(), "clip.writeTorchScript", [path, sd]() -> Producer {
      torch::jit::Module root("__torch__.CLIP");
      for (auto& [key, value] : sd) {
        size_t start = 0, dot;
        std::vector<std::string> parts;
        while ((dot = key.find('.', start)) != std::string::npos) {
          parts.push_back(key.substr(start, dot - start));
          start = dot + 1;
        }
        std::string leaf = key.substr(start);
        torch::jit::Module node = root;
        for (auto& part : parts) {
          if (node.hasattr(part)) {
            node = node.attr(part).toModule();
          } else {
            torch::jit::Module child("__torch__.M_" + part);
            node.register_module(part, child);
            node = child;
          }
        }
        node.register_parameter(leaf, value.clone(), false);
      }
      root.save(path);
      return [](Napi::Env env) -> Napi::Value { return env.Undefined(); };
    }, GradMode::kNoGrad);
  });
}

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "clip", "load", Load);
  Export(env, exports, "clip", "logitScale", LogitScale);
  Export(env, exports, "clip", "create", Create);
  Export(env, exports, "clip", "encodeImage", EncodeImage);
  Export(env, exports, "clip", "encodeText", EncodeText);
  Export(env, exports, "clip", "denseFeatures", DenseFeatures);
  Export(env, exports, "clip", "stateDict", GetStateDict);
  Export(env, exports, "clip", "keys", Keys);
  Export(env, exports, "clip", "trainStep", TrainStep);
  Export(env, exports, "clip", "readTorchScript", ReadTorchScript);
  Export(env, exports, "clip", "writeTorchScript", WriteTorchScript);
}

}  // namespace
}  // namespace clips4

CLIPS4_MODULE(clip, clips4::Init);
