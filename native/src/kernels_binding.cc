// The `kernels` namespace: the CLIP-S4 kernels for tests, benchmarks and research.
#include "async.h"
#include "device.h"
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
    if (grid.size() == 2) {
      k.gridY = grid[0];
      k.gridX = grid[1];
    }
    k.iterations = static_cast<int64_t>(GetNumber(o, "iterations", 10));
    k.locationWeight = GetNumber(o, "locationWeight", 1.0);
    at::Tensor ignore = OptionalTensorFromJs(o.Get("ignore"), "ignore");
    std::string device = GetString(o, "device", "cpu");
    return RunAsync(info.Env(), "kernels.sphericalKMeans", [emb, ignore, k, device]() -> Producer {
      auto dev = ParseDevice(device);
      auto e = emb.to(dev);
      auto ig = ignore.defined() ? ignore.to(dev) : at::zeros({e.size(0), e.size(2), e.size(3)}, e.options().dtype(at::kByte));
      auto labels = kernels::KMeansLabels(e, ig, k);
      // Centroids in the embedding space: normalised mean of each cluster's embeddings.
      const int64_t B = e.size(0), D = e.size(1), K = k.gridY * k.gridX;
      auto flat = e.flatten(2).transpose(1, 2);  // [B,HW,D]
      auto l = labels.flatten(1);
      auto valid = (l >= 0).to(e.scalar_type()).unsqueeze(-1);
      auto onehot = at::one_hot(l.clamp_min(0), K).to(e.scalar_type()) * valid;
      auto sums = at::bmm(onehot.transpose(1, 2), flat);
      auto centroids = sums / sums.norm(2, 2, true).clamp_min(1e-12);
      (void)B;
      (void)D;
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
    double kappa = GetNumber(o, "kappa", 10.0);
    bool tiled = GetString(o, "impl", "tiled") == "tiled";
    int64_t tile = static_cast<int64_t>(GetNumber(o, "tile", 4096));
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

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "kernels", "sphericalKMeans", SphericalKMeans);
  Export(env, exports, "kernels", "splitByRegion", SplitByRegion);
  Export(env, exports, "kernels", "segmentMeans", SegmentMeans);
  Export(env, exports, "kernels", "pixelSegmentLoss", PixelSegmentLoss);
}

}  // namespace
}  // namespace clips4

CLIPS4_MODULE(kernels, clips4::Init);
