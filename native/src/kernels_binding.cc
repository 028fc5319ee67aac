// The `kernels` namespace: the CLIP-S4 kernels for tests, benchmarks and research.
#include "async.h"
#include "device.h"
#include "handle.h"
#include "kernels.h"
#include "registry.h"
#include "tensor_js.h"

namespace clips4 {
namespace {

// sphericalKMeans(emb [B,D,H,W], {grid, iterations, locationWeight, ignore?, device}) → {labels int32 [B,H,W], centroids [B,K,D]}
Napi::Value SphericalKMeans(const Napi::CallbackInfo& info) {
  return Guarded(info, "kernels.sphericalKMeans", [&]() -> Napi::Value {
    at::Tensor emb = TensorFromJs(info[0], "emb");
    Napi::Object o = GetObject(info, 1, "options");
    kernels::KMeansOptions k;
    auto grid = GetIntArray(o, "grid");
    if (grid.size() != 2) ThrowType("Expected [gy, gx] for options.grid");
    k.gridY = grid[0];
    k.gridX = grid[1];
    k.iterations = static_cast<int64_t>(GetNumber(o, "iterations"));
    k.locationWeight = GetNumber(o, "locationWeight");
    at::Tensor ignore = OptionalTensorFromJs(o.Get("ignore"), "ignore");
    std::string device = GetString(o, "device");
    auto impl = GetString(o, "impl") == "perImage" ? kernels::KMeansImpl::kPerImage : kernels::KMeansImpl::kBatched;
    return RunAsync(info.Env(), "kernels.sphericalKMeans", [emb, ignore, k, device, impl]() -> Producer {
      auto dev = ParseDevice(device);
      auto e = emb.to(dev);
      auto ig = ignore.defined() ? ignore.to(dev) : at::zeros({e.size(0), e.size(2), e.size(3)}, e.options().dtype(at::kByte));
      at::Tensor centroids;
      auto labels = kernels::KMeansLabels(e, ig, k, impl, &centroids);
      at::Tensor lo = PrepareForJs(labels.to(at::kInt)), co = PrepareForJs(centroids.to(at::kFloat));
      return [lo, co](Napi::Env env) -> Napi::Value {
        Napi::Object r = Napi::Object::New(env);
        r.Set("labels", TensorToJs(env, lo));
        r.Set("centroids", TensorToJs(env, co));
        return r;
      };
    });
  });
}

// splitByRegion(labels int32 [B,H,W], regions int32 [B,H,W]) → {segments int32 [B,H,W], count}
Napi::Value SplitByRegion(const Napi::CallbackInfo& info) {
  return Guarded(info, "kernels.splitByRegion", [&]() -> Napi::Value {
    at::Tensor labels = TensorFromJs(info[0], "labels"), regions = TensorFromJs(info[1], "regions");
    return RunAsync(info.Env(), "kernels.splitByRegion", [labels, regions]() -> Producer {
      int64_t count = 0;
      auto seg = kernels::SplitSegments(labels.to(at::kLong), regions.to(at::kLong), count);
      at::Tensor out = PrepareForJs(seg.to(at::kInt));
      return [out, count](Napi::Env env) -> Napi::Value {
        Napi::Object r = Napi::Object::New(env);
        r.Set("segments", TensorToJs(env, out));
        r.Set("count", static_cast<double>(count));
        return r;
      };
    });
  });
}

// segmentMeans(features [B,C,H,W], segments int32 [B,H,W] (global ids, −1 ignored)) → {means [S,C], image int32 [S]}
Napi::Value SegmentMeans(const Napi::CallbackInfo& info) {
  return Guarded(info, "kernels.segmentMeans", [&]() -> Napi::Value {
    at::Tensor f = TensorFromJs(info[0], "features"), s = TensorFromJs(info[1], "segments");
    return RunAsync(info.Env(), "kernels.segmentMeans", [f, s]() -> Producer {
      auto seg = s.to(at::kLong);
      int64_t count = seg.numel() ? seg.max().item<int64_t>() + 1 : 0;
      auto means = kernels::SegmentMeanEmbeddings(f.to(at::kFloat), seg, count);
      auto image = at::full({count}, -1, seg.options());
      auto img = at::arange(seg.size(0), seg.options()).view({-1, 1, 1}).expand_as(seg);
      auto valid = seg >= 0;
      image.index_put_({seg.masked_select(valid)}, img.masked_select(valid));
      at::Tensor mo = PrepareForJs(means), io = PrepareForJs(image.to(at::kInt));
      return [mo, io](Napi::Env env) -> Napi::Value {
        Napi::Object r = Napi::Object::New(env);
        r.Set("means", TensorToJs(env, mo));
        r.Set("image", TensorToJs(env, io));
        return r;
      };
    });
  });
}

// pixelSegmentLoss({embeddings, pixelGroup, pixelSegment, segments, segmentGroup, bank?, kappa}) → {loss, gradEmbeddings, gradSegments}
Napi::Value PixelSegmentLoss(const Napi::CallbackInfo& info) {
  return Guarded(info, "kernels.pixelSegmentLoss", [&]() -> Napi::Value {
    Napi::Object o = GetObject(info, 0, "options");
    at::Tensor z = TensorFromJs(o.Get("embeddings"), "embeddings"), pg = TensorFromJs(o.Get("pixelGroup"), "pixelGroup"),
               ps = TensorFromJs(o.Get("pixelSegment"), "pixelSegment"), v = TensorFromJs(o.Get("segments"), "segments"),
               sg = TensorFromJs(o.Get("segmentGroup"), "segmentGroup"), bank = OptionalTensorFromJs(o.Get("bank"), "bank");
    double kappa = GetNumber(o, "kappa");
    bool tiled = GetString(o, "impl") == "tiled";
    int64_t tile = static_cast<int64_t>(GetNumber(o, "tile"));
    return RunAsync(info.Env(), "kernels.pixelSegmentLoss", [z, pg, ps, v, sg, bank, kappa, tiled, tile]() -> Producer {
      auto zz = z.clone().set_requires_grad(true), vv = v.clone().set_requires_grad(true);
      auto loss = tiled ? kernels::ContrastiveLossTiled(zz, pg, ps, vv, sg, bank, kappa, tile)
                        : kernels::ContrastiveLoss(zz, pg, ps, vv, sg, bank, kappa);
      auto grads = torch::autograd::grad({loss}, {zz, vv});
      double l = loss.item<double>();
      at::Tensor gz = PrepareForJs(grads[0]), gv = PrepareForJs(grads[1]);
      return [l, gz, gv](Napi::Env env) -> Napi::Value {
        Napi::Object r = Napi::Object::New(env);
        r.Set("loss", l);
        r.Set("gradEmbeddings", TensorToJs(env, gz));
        r.Set("gradSegments", TensorToJs(env, gv));
        return r;
      };
    }, GradMode::kGrad);
  });
}

// Returns {loss, <gradName>: gradient of the loss w.r.t. `wrt`} from a scalar loss built in `fn`.
template <typename F>
Napi::Value LossWithGrad(const Napi::CallbackInfo& info, const char* name, at::Tensor wrt, const char* gradName, F fn) {
  return RunAsync(info.Env(), name, [wrt, gradName, fn]() -> Producer {
    auto x = wrt.clone().set_requires_grad(true);
    double extra = 0;
    at::Tensor labels;
    at::Tensor loss = fn(x, extra, labels);
    auto g = torch::autograd::grad({loss}, {x}, {}, false, false, /*allow_unused=*/true)[0];
    if (!g.defined()) g = at::zeros_like(x);
    double l = loss.item<double>();
    at::Tensor go = PrepareForJs(g), lo = labels.defined() ? PrepareForJs(labels.to(at::kInt)) : at::Tensor();
    return [l, go, lo, extra, gradName](Napi::Env env) -> Napi::Value {
      Napi::Object r = Napi::Object::New(env);
      r.Set("loss", l);
      r.Set(gradName, TensorToJs(env, go));
      if (lo.defined()) r.Set("labels", TensorToJs(env, lo));
      r.Set("count", extra);
      return r;
    };
  }, GradMode::kGrad);
}

// embeddingLoss({segments [P,D], clipSegments [P,D]}) → {loss: mean L_e, gradSegments, count: P}
Napi::Value EmbeddingLoss(const Napi::CallbackInfo& info) {
  return Guarded(info, "kernels.embeddingLoss", [&]() -> Napi::Value {
    Napi::Object o = GetObject(info, 0, "options");
    at::Tensor v = TensorFromJs(o.Get("segments"), "segments"), i = TensorFromJs(o.Get("clipSegments"), "clipSegments");
    return LossWithGrad(info, "kernels.embeddingLoss", v, "gradSegments", [i](const at::Tensor& x, double& count, at::Tensor&) {
      count = static_cast<double>(x.size(0));
      return kernels::EmbeddingLossSum(x, i) / std::max<int64_t>(1, x.size(0));
    });
  });
}

// semanticLoss({segments [P,D], clipSegments [P,D], prototypes [L,D], temperature}) → {loss: mean L_s, labels int32 [P], gradSegments}
Napi::Value SemanticLoss(const Napi::CallbackInfo& info) {
  return Guarded(info, "kernels.semanticLoss", [&]() -> Napi::Value {
    Napi::Object o = GetObject(info, 0, "options");
    at::Tensor v = TensorFromJs(o.Get("segments"), "segments"), i = TensorFromJs(o.Get("clipSegments"), "clipSegments"),
               c = TensorFromJs(o.Get("prototypes"), "prototypes");
    double temperature = GetNumber(o, "temperature");
    return LossWithGrad(info, "kernels.semanticLoss", v, "gradSegments", [i, c, temperature](const at::Tensor& x, double& count, at::Tensor& labels) {
      labels = kernels::PseudoLabels(i, c);
      count = static_cast<double>(x.size(0));
      return kernels::SemanticLossSum(x, c, labels, temperature) / std::max<int64_t>(1, x.size(0));
    });
  });
}

// unknownPrototypeLoss({unknown [U,D], clipSegments [P,D], labels int32 [P], known}) → {loss: mean L_u, gradUnknown, count}
Napi::Value UnknownPrototypeLoss(const Napi::CallbackInfo& info) {
  return Guarded(info, "kernels.unknownPrototypeLoss", [&]() -> Napi::Value {
    Napi::Object o = GetObject(info, 0, "options");
    at::Tensor u = TensorFromJs(o.Get("unknown"), "unknown"), i = TensorFromJs(o.Get("clipSegments"), "clipSegments"),
               y = TensorFromJs(o.Get("labels"), "labels");
    auto known = static_cast<int64_t>(GetNumber(o, "known"));
    return LossWithGrad(info, "kernels.unknownPrototypeLoss", u, "gradUnknown", [i, y, known](const at::Tensor& x, double& count, at::Tensor&) {
      int64_t n = 0;
      auto sum = kernels::UnknownLossSum(x, i, y.to(at::kLong), known, n);
      count = static_cast<double>(n);
      return sum / std::max<int64_t>(1, n);
    });
  });
}

// The two prototype kernels take (clipSegments [S,E], text [K,E], {m, logitScale}).
template <typename Kernel>
Napi::Value PrototypeCall(const Napi::CallbackInfo& info, const char* name, Kernel kernel) {
  return Guarded(info, name, [&]() -> Napi::Value {
    at::Tensor i = TensorFromJs(info[0], "clipSegments"), t = TensorFromJs(info[1], "text");
    Napi::Object o = GetObject(info, 2, "options");
    auto m = static_cast<int64_t>(GetNumber(o, "m"));
    double scale = GetNumber(o, "logitScale");
    return RunAsync(info.Env(), name, [i, t, m, scale, kernel]() -> Producer {
      at::Tensor out = PrepareForJs(kernel(i, t, m, scale));
      return [out](Napi::Env env) -> Napi::Value { return TensorToJs(env, out); };
    });
  });
}

// knownPrototypes(...) → [K,E]
Napi::Value KnownPrototypes(const Napi::CallbackInfo& info) {
  return PrototypeCall(info, "kernels.knownPrototypes", kernels::KnownPrototypes);
}

// knownPrototypeSegments(...) → int32 [K,min(m,S)]: the rows knownPrototypes averages, best first.
Napi::Value KnownPrototypeSegments(const Napi::CallbackInfo& info) {
  return PrototypeCall(info, "kernels.knownPrototypeSegments", [](const at::Tensor& i, const at::Tensor& t, int64_t m, double scale) {
    return kernels::KnownPrototypeSegments(i, t, m, scale).to(at::kInt);
  });
}

// The FIFO memory bank behind an opaque handle. Its calls are synchronous (a few small copies) so
// that pushes and reads from JS never overlap.
struct BankHandle {
  static constexpr napi_type_tag kTag = {0x6b3f1c2e9a4d4b17, 0x8e21c0d5f7a96b33};
  explicit BankHandle(int64_t batches) : bank(batches) {}
  kernels::MemoryBank bank;
};

Napi::Value BankCreate(const Napi::CallbackInfo& info) {
  return Guarded(info, "kernels.bankCreate", [&]() -> Napi::Value {
    return WrapHandle(info.Env(), std::make_shared<BankHandle>(static_cast<int64_t>(info[0].As<Napi::Number>().Int64Value())));
  });
}

Napi::Value BankPush(const Napi::CallbackInfo& info) {
  return Guarded(info, "kernels.bankPush", [&]() -> Napi::Value {
    auto h = UnwrapHandle<BankHandle>(info[0], "bank");
    at::Tensor segments = TensorFromJs(info[1], "segments");
    h->bank.Push(segments);
    return info.Env().Undefined();
  });
}

Napi::Value BankAll(const Napi::CallbackInfo& info) {
  return Guarded(info, "kernels.bankAll", [&]() -> Napi::Value {
    auto h = UnwrapHandle<BankHandle>(info[0], "bank");
    // The width of an empty bank is the caller's (stored rows carry their own).
    auto dim = static_cast<int64_t>(info[1].As<Napi::Number>().Int64Value());
    return TensorToJs(info.Env(), PrepareForJs(h->bank.All(dim, at::TensorOptions().dtype(at::kFloat))));
  });
}

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "kernels", "sphericalKMeans", SphericalKMeans);
  Export(env, exports, "kernels", "splitByRegion", SplitByRegion);
  Export(env, exports, "kernels", "segmentMeans", SegmentMeans);
  Export(env, exports, "kernels", "pixelSegmentLoss", PixelSegmentLoss);
  Export(env, exports, "kernels", "embeddingLoss", EmbeddingLoss);
  Export(env, exports, "kernels", "semanticLoss", SemanticLoss);
  Export(env, exports, "kernels", "unknownPrototypeLoss", UnknownPrototypeLoss);
  Export(env, exports, "kernels", "knownPrototypes", KnownPrototypes);
  Export(env, exports, "kernels", "knownPrototypeSegments", KnownPrototypeSegments);
  Export(env, exports, "kernels", "bankCreate", BankCreate);
  Export(env, exports, "kernels", "bankPush", BankPush);
  Export(env, exports, "kernels", "bankAll", BankAll);
}

}  // namespace
}  // namespace clips4

CLIPS4_MODULE(kernels, clips4::Init);
