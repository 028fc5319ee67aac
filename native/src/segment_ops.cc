// Dense classification for inference: pixel features [N,E,h,w] against class embeddings [C,E]
// (both L2-normalised here), logits upsampled bilinearly to the output size, argmax per pixel.
// Optional MaskCLIP refinements (prompt denoising) are applied at feature resolution.
#include "async.h"
#include "device.h"
#include "tensor_ops.h"
#include "registry.h"
#include "tensor_js.h"

namespace clips4 {
namespace {

struct ClassifyOptions {
  int64_t height = 0, width = 0;
  double logitScale = 100.0;
  // Prompt denoising (MaskCLIP): a class whose max probability over all pixels of an image is below
  // this threshold is removed from that image (0 = off).
  double denoiseThreshold = 0.0;
  bool withScores = false;
  std::string device = "cpu";
};

Napi::Value Classify(const Napi::CallbackInfo& info) {
  return Guarded(info, "segment.classify", [&]() -> Napi::Value {
    at::Tensor features = TensorFromJs(info[0], "features");
    at::Tensor classifier = TensorFromJs(info[1], "classifier");
    Napi::Object o = GetObject(info, 2, "options");
    ClassifyOptions opt;
    opt.height = static_cast<int64_t>(GetNumber(o, "height"));
    opt.width = static_cast<int64_t>(GetNumber(o, "width"));
    opt.logitScale = GetNumber(o, "logitScale");
    opt.denoiseThreshold = GetNumber(o, "denoiseThreshold");
    opt.withScores = GetBool(o, "scores");
    opt.device = GetString(o, "device");
    at::Tensor keys = OptionalTensorFromJs(o.Get("keys"), "keys");
    double smoothThreshold = GetNumber(o, "smoothThreshold");
    return RunAsync(info.Env(), "segment.classify", [features, classifier, opt, keys, smoothThreshold]() -> Producer {
      c10::Device dev = ParseDevice(opt.device);
      at::Tensor f = L2Normalize(features.to(dev).to(at::kFloat), 1);
      at::Tensor c = L2Normalize(classifier.to(dev).to(at::kFloat), 1);
      // logits [N,C,h,w] = scale · <f, c>
      at::Tensor logits = at::einsum("nehw,ce->nchw", {f, c}) * opt.logitScale;
      if (opt.denoiseThreshold > 0) {
        // MaskCLIP's prompt denoising: a class whose probability stays below the threshold everywhere
        // gets a cosine of −100 (−100 × the logit scale here).
        at::Tensor prob = at::softmax(logits, 1);
        at::Tensor keep = std::get<0>(prob.flatten(2).max(2)) >= opt.denoiseThreshold;  // [N,C]
        logits = at::where(keep.unsqueeze(-1).unsqueeze(-1), logits, at::full({}, -100.0 * opt.logitScale, logits.options()));
      }
      const bool smooth = keys.defined() && smoothThreshold > 0;
      // The map that is resized and whose argmax gives the labels: the logits, or after key smoothing
      // MaskCLIP's refined map (probabilities, key-weighted sums of them where smoothed).
      at::Tensor map = logits;
      if (smooth) {
        // MaskCLIP key smoothing as its head computes it: p = softmax over classes; the keys
        // L2-normalised by F.normalize's default dim on [N, hw, D], which is over positions (per
        // channel); W = k kᵀ as it is (no clamp, no row normalisation); positions whose best p is below
        // the threshold take W p.
        const int64_t N = logits.size(0), C = logits.size(1), h = logits.size(2), w = logits.size(3);
        auto k = L2Normalize(keys.to(dev).to(at::kFloat).flatten(2), 2);  // [N,D,hw], over positions
        auto W = at::bmm(k.transpose(1, 2), k);  // [N,hw,hw]
        auto p = at::softmax(logits, 1).flatten(2);  // [N,C,hw]
        auto smoothed = at::bmm(p, W.transpose(1, 2));  // [N,C,hw]: Σ_j W_ij p_j
        auto low = (std::get<0>(p.max(1, true)) < smoothThreshold).expand_as(p);
        map = at::where(low, smoothed, p).view({N, C, h, w});
      }
      int64_t H = opt.height > 0 ? opt.height : map.size(2);
      int64_t W = opt.width > 0 ? opt.width : map.size(3);
      if (H != map.size(2) || W != map.size(3)) {
        map = at::upsample_bilinear2d(map, {H, W}, /*align_corners=*/false);
      }
      at::Tensor labels = PrepareForJs(map.argmax(1).to(at::kInt));
      at::Tensor scores;
      if (opt.withScores && smooth) {
        // The refined map is not a distribution where smoothed (W's rows neither sum to 1 nor stay
        // non-negative): scores are its non-negative part normalised per pixel, uniform where none is left.
        auto pos = map.clamp_min(0);
        auto total = pos.sum(1, true);
        scores = PrepareForJs(at::where(total > 0, pos / total.clamp_min(1e-30), at::full({}, 1.0 / map.size(1), map.options())));
      } else if (opt.withScores) {
        scores = PrepareForJs(at::softmax(map, 1));
      }
      return [labels, scores](Napi::Env env) -> Napi::Value {
        Napi::Object r = Napi::Object::New(env);
        r.Set("labels", TensorToJs(env, labels));
        if (scores.defined()) r.Set("scores", TensorToJs(env, scores));
        return r;
      };
    });
  });
}

void Init(Napi::Env env, Napi::Object exports) { Export(env, exports, "segment", "classify", Classify); }

}  // namespace
}  // namespace clips4

CLIPS4_MODULE(segment_ops, clips4::Init);
