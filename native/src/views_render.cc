// Renders a training batch's views from parameters drawn in TypeScript (src/data/views.ts draws
// every random number, so the stream of draws is the reference's): per view a bilinear crop-resize
// of its sample's image, colour jitter / grayscale / blur, normalisation, and the same geometry
// applied to the region map (nearest) and to the teacher's features (bilinear).
//
// Bit for bit the TypeScript reference (test/helpers/views-reference.ts): the same double arithmetic
// in the same order, Math.round's ties-up rounding, a Uint8Array store's truncation and a
// Float32Array store's rounding (the build turns off floating-point contraction, so no FMA either).
// Why native: in TypeScript these loops were ~8 ms per world batch on the main thread (~10% of the
// CPU of two runs training side by side), and ~27× that at the paper's 336² views.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <napi.h>
#include <torch/torch.h>

#include "async.h"
#include "errors.h"
#include "registry.h"
#include "tensor_js.h"

namespace clips4 {
namespace {

// The columns of params (one row per view): see src/data/views.ts, VIEW_PARAMS.
enum Param { kSample, kX0, kY0, kW, kH, kFlip, kJitter, kBrightness, kContrast, kSaturation, kCosHue, kSinHue, kGray, kBlur, kCell, kCellY, kParams };

struct Source {
  at::Tensor image;    // uint8 [H, W, 3]
  at::Tensor regions;  // int32 [H, W]
  at::Tensor clip;     // float32 [E, fh, fw]
};

// Math.round (ties up) of a value ≥ 0, as an integer: truncation is floor there. Branch-free, as is
// Clamp255: on image data the branches mispredict (they made the crop 2× slower).
inline int64_t RoundNonNegative(double x) {
  const int64_t f = static_cast<int64_t>(x);
  return f + static_cast<int64_t>(x - static_cast<double>(f) >= 0.5);
}

inline double Clamp255(double x) { return std::min(std::max(x, 0.0), 255.0); }

// Uint8Array store of a value in [0, 255]: truncation.
inline uint8_t StoreU8(double x) { return static_cast<uint8_t>(x); }

void CropResize(const uint8_t* src, int64_t W, int64_t H, const double* p, int64_t S, uint8_t* out) {
  const double sx = p[kW] / S;
  const double sy = p[kH] / S;
  std::vector<int64_t> x1s(S), x2s(S);
  std::vector<double> txs(S);
  for (int64_t x = 0; x < S; x++) {
    const double xx = p[kFlip] != 0 ? static_cast<double>(S - 1 - x) : static_cast<double>(x);
    const double fx = std::min(static_cast<double>(W - 1), std::max(0.0, p[kX0] + (xx + 0.5) * sx - 0.5));
    x1s[x] = static_cast<int64_t>(std::floor(fx));
    x2s[x] = std::min(W - 1, x1s[x] + 1);
    txs[x] = fx - static_cast<double>(x1s[x]);
  }
  for (int64_t y = 0; y < S; y++) {
    const double fy = std::min(static_cast<double>(H - 1), std::max(0.0, p[kY0] + (y + 0.5) * sy - 0.5));
    const int64_t y1 = static_cast<int64_t>(std::floor(fy));
    const int64_t y2 = std::min(H - 1, y1 + 1);
    const double ty = fy - static_cast<double>(y1);
    const int64_t r1 = y1 * W, r2 = y2 * W;
    for (int64_t x = 0; x < S; x++) {
      const int64_t x1 = x1s[x], x2 = x2s[x];
      const double tx = txs[x];
      for (int c = 0; c < 3; c++) {
        const double a = src[(r1 + x1) * 3 + c], b = src[(r1 + x2) * 3 + c];
        const double d = src[(r2 + x1) * 3 + c], e = src[(r2 + x2) * 3 + c];
        out[(y * S + x) * 3 + c] = static_cast<uint8_t>(RoundNonNegative((a * (1 - tx) + b * tx) * (1 - ty) + (d * (1 - tx) + e * tx) * ty));
      }
    }
  }
}

void Photometric(uint8_t* d, int64_t S, const double* p) {
  const int64_t n = S * S;
  if (p[kJitter] != 0) {
    const double b = p[kBrightness], c = p[kContrast], s = p[kSaturation], cosH = p[kCosHue], sinH = p[kSinHue];
    double mean = 0;
    for (int64_t i = 0; i < n; i++) mean += 0.299 * d[3 * i] + 0.587 * d[3 * i + 1] + 0.114 * d[3 * i + 2];
    mean = (mean / n) * b;
    for (int64_t i = 0; i < n; i++) {
      double R = d[3 * i] * b, G = d[3 * i + 1] * b, B = d[3 * i + 2] * b;
      R = (R - mean) * c + mean;
      G = (G - mean) * c + mean;
      B = (B - mean) * c + mean;
      const double Y = 0.299 * R + 0.587 * G + 0.114 * B;
      const double I0 = (0.596 * R - 0.274 * G - 0.322 * B) * s;
      const double Q0 = (0.211 * R - 0.523 * G + 0.312 * B) * s;
      const double I = I0 * cosH - Q0 * sinH;
      const double Q = I0 * sinH + Q0 * cosH;
      d[3 * i] = StoreU8(Clamp255(Y + 0.956 * I + 0.621 * Q));
      d[3 * i + 1] = StoreU8(Clamp255(Y - 0.272 * I - 0.647 * Q));
      d[3 * i + 2] = StoreU8(Clamp255(Y - 1.106 * I + 1.703 * Q));
    }
  }
  if (p[kGray] != 0) {
    for (int64_t i = 0; i < n; i++) d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = StoreU8(Clamp255(0.299 * d[3 * i] + 0.587 * d[3 * i + 1] + 0.114 * d[3 * i + 2]));
  }
  if (p[kBlur] != 0) {
    std::vector<uint8_t> src(d, d + n * 3);
    for (int64_t y = 0; y < S; y++) {
      const int64_t up = std::max<int64_t>(0, y - 1) * S, row = y * S, down = std::min(S - 1, y + 1) * S;
      for (int64_t x = 0; x < S; x++) {
        const int64_t left = std::max<int64_t>(0, x - 1), right = std::min(S - 1, x + 1);
        // The reference sums quarters and halves in doubles: every partial sum is an integer
        // n / 16, exact, so its Math.round is (n + 8) >> 4 in integers, bit for bit.
        for (int c = 0; c < 3; c++) {
          const int u = src[(up + left) * 3 + c] + 2 * src[(up + x) * 3 + c] + src[(up + right) * 3 + c];
          const int m = src[(row + left) * 3 + c] + 2 * src[(row + x) * 3 + c] + src[(row + right) * 3 + c];
          const int b = src[(down + left) * 3 + c] + 2 * src[(down + x) * 3 + c] + src[(down + right) * 3 + c];
          d[(row + x) * 3 + c] = static_cast<uint8_t>((u + 2 * m + b + 8) >> 4);
        }
      }
    }
  }
}

// Source point (pixels) of the centre of output pixel (x, y) of an out×out view.
inline void SourcePoint(const double* p, int64_t out, double x, double y, double* sx, double* sy) {
  const double xx = p[kFlip] != 0 ? static_cast<double>(out - 1) - x : x;
  *sx = p[kX0] + ((xx + 0.5) * p[kW]) / static_cast<double>(out);
  *sy = p[kY0] + ((y + 0.5) * p[kH]) / static_cast<double>(out);
}

void WarpRegions(const int32_t* regions, int64_t W, int64_t H, const double* p, int64_t S, int32_t* out) {
  for (int64_t y = 0; y < S; y++) {
    for (int64_t x = 0; x < S; x++) {
      double sx, sy;
      SourcePoint(p, S, static_cast<double>(x), static_cast<double>(y), &sx, &sy);
      const int64_t ix = std::min(W - 1, std::max<int64_t>(0, static_cast<int64_t>(std::floor(sx))));
      const int64_t iy = std::min(H - 1, std::max<int64_t>(0, static_cast<int64_t>(std::floor(sy))));
      out[y * S + x] = regions[iy * W + ix];
    }
  }
}

void WarpFeatures(const float* feat, int64_t E, int64_t fh, int64_t fw, const double* p, int64_t S, int64_t s, float* out) {
  const double scale = static_cast<double>(S) / static_cast<double>(s);
  for (int64_t y = 0; y < s; y++) {
    for (int64_t x = 0; x < s; x++) {
      double sx, sy;
      SourcePoint(p, S, (x + 0.5) * scale - 0.5, (y + 0.5) * scale - 0.5, &sx, &sy);
      const double fx = std::min(static_cast<double>(fw - 1), std::max(0.0, sx / p[kCell] - 0.5));
      const double fy = std::min(static_cast<double>(fh - 1), std::max(0.0, sy / p[kCellY] - 0.5));
      const int64_t x1 = static_cast<int64_t>(std::floor(fx)), y1 = static_cast<int64_t>(std::floor(fy));
      const int64_t x2 = std::min(fw - 1, x1 + 1), y2 = std::min(fh - 1, y1 + 1);
      const double tx = fx - static_cast<double>(x1), ty = fy - static_cast<double>(y1);
      for (int64_t e = 0; e < E; e++) {
        const float* f = feat + e * fh * fw;
        const double v = (static_cast<double>(f[y1 * fw + x1]) * (1 - tx) + static_cast<double>(f[y1 * fw + x2]) * tx) * (1 - ty) +
                         (static_cast<double>(f[y2 * fw + x1]) * (1 - tx) + static_cast<double>(f[y2 * fw + x2]) * tx) * ty;
        out[e * s * s + y * s + x] = static_cast<float>(v);
      }
    }
  }
}

// render(sources [{image uint8 [H,W,3], regions int32 [H,W], clip float32 [E,fh,fw]}], params float64
// [V, 16], {size, cells, mean [3], std [3]}) → {images float32 [V,3,S,S], regions int32 [V,S,S],
// clip float32 [V,E,s,s]}. TypeScript validates; here only what keeps every read in bounds.
Napi::Value RenderBinding(const Napi::CallbackInfo& info) {
  return Guarded(info, "views.render", [&]() -> Napi::Value {
    if (!info[0].IsArray() || info[0].As<Napi::Array>().Length() == 0) ThrowType("Expected a non-empty array of samples for sources");
    Napi::Array list = info[0].As<Napi::Array>();
    std::vector<Source> sources;
    int64_t E = -1;
    for (uint32_t i = 0; i < list.Length(); i++) {
      if (!list.Get(i).IsObject()) ThrowType("Expected an object {image, regions, clip} for sources[" + std::to_string(i) + "]");
      Napi::Object o = list.Get(i).As<Napi::Object>();
      Source src{TensorFromJs(o.Get("image"), "image"), TensorFromJs(o.Get("regions"), "regions"), TensorFromJs(o.Get("clip"), "clip")};
      if (src.image.scalar_type() != at::kByte || src.image.dim() != 3 || src.image.size(2) != 3 || src.image.size(0) < 1 || src.image.size(1) < 1) ThrowType("Expected a uint8 [H,W,3] image for sources[" + std::to_string(i) + "].image", code::kShape);
      if (src.regions.scalar_type() != at::kInt || src.regions.dim() != 2 || src.regions.size(0) != src.image.size(0) || src.regions.size(1) != src.image.size(1)) ThrowType("Expected int32 [H,W] regions of the image's size for sources[" + std::to_string(i) + "].regions", code::kShape);
      if (src.clip.scalar_type() != at::kFloat || src.clip.dim() != 3 || src.clip.size(1) < 1 || src.clip.size(2) < 1 || (E >= 0 && src.clip.size(0) != E)) ThrowType("Expected float32 [E,fh,fw] features (one E for all) for sources[" + std::to_string(i) + "].clip", code::kShape);
      E = src.clip.size(0);
      sources.push_back(std::move(src));
    }
    at::Tensor params = TensorFromJs(info[1], "params");
    if (params.scalar_type() != at::kDouble || params.dim() != 2 || params.size(1) != kParams || params.size(0) < 1) ThrowType("Expected float64 [views, 16] for params", code::kShape);
    const double* pp = params.data_ptr<double>();
    for (int64_t v = 0; v < params.size(0); v++) {
      const double k = pp[v * kParams + kSample];
      if (!(k >= 0 && k < static_cast<double>(sources.size())) || k != std::floor(k)) ThrowType("Expected a sample index in [0, " + std::to_string(sources.size()) + ") for params[" + std::to_string(v) + "][0]", code::kShape);
      if (!(pp[v * kParams + kCell] > 0 && pp[v * kParams + kCellY] > 0)) ThrowType("Expected positive cell sizes for params[" + std::to_string(v) + "]");
    }
    Napi::Object o = GetObject(info, 2, "options");
    const int64_t S = static_cast<int64_t>(GetNumber(o, "size"));
    const int64_t s = static_cast<int64_t>(GetNumber(o, "cells"));
    if (S < 1 || s < 1) ThrowType("Expected positive size and cells for options");
    const std::vector<double> mean = GetNumberArray(o, "mean", 3), deviation = GetNumberArray(o, "std", 3);
    return RunAsync(info.Env(), "views.render", [sources, params, S, s, E, mean, deviation]() -> Producer {
      const int64_t V = params.size(0);
      const double* pp = params.data_ptr<double>();
      at::Tensor images = at::empty({V, 3, S, S}, at::kFloat);
      at::Tensor regions = at::empty({V, S, S}, at::kInt);
      at::Tensor clip = at::empty({V, E, s, s}, at::kFloat);
      std::vector<uint8_t> view(S * S * 3);
      for (int64_t v = 0; v < V; v++) {
        const double* p = pp + v * kParams;
        const Source& src = sources[static_cast<size_t>(p[kSample])];
        const int64_t H = src.image.size(0), W = src.image.size(1);
        CropResize(src.image.data_ptr<uint8_t>(), W, H, p, S, view.data());
        Photometric(view.data(), S, p);
        float* img = images.data_ptr<float>() + v * 3 * S * S;
        for (int c = 0; c < 3; c++) {
          const double scale = 1 / (255 * deviation[c]);
          const double shift = mean[c] / deviation[c];
          for (int64_t q = 0; q < S * S; q++) img[c * S * S + q] = static_cast<float>(view[3 * q + c] * scale - shift);
        }
        WarpRegions(src.regions.data_ptr<int32_t>(), W, H, p, S, regions.data_ptr<int32_t>() + v * S * S);
        WarpFeatures(src.clip.data_ptr<float>(), E, src.clip.size(1), src.clip.size(2), p, S, s, clip.data_ptr<float>() + v * E * s * s);
      }
      return [images, regions, clip](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("images", TensorToJs(env, images));
        out.Set("regions", TensorToJs(env, regions));
        out.Set("clip", TensorToJs(env, clip));
        return out;
      };
    });
  });
}

void Init(Napi::Env env, Napi::Object exports) { Export(env, exports, "views", "render", RenderBinding); }

}  // namespace
}  // namespace clips4

CLIPS4_MODULE(views_render, clips4::Init);
