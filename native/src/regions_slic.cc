// SLIC superpixels (Achanta et al.): k-means in (Lab, x, y) restricted to 2S×2S windows around
// grid-initialised centres, then connectivity enforcement (small fragments merge into a
// neighbour). A classic per-pixel CPU algorithm, run off the main thread.
#include <cmath>
#include <vector>

#include "async.h"
#include "registry.h"
#include "tensor_js.h"

namespace clips4 {
namespace {

void RgbToLab(const uint8_t* rgb, int64_t n, std::vector<float>& lab) {
  lab.resize(n * 3);
  auto lin = [](float c) { c /= 255.f; return c <= 0.04045f ? c / 12.92f : std::pow((c + 0.055f) / 1.055f, 2.4f); };
  auto f = [](float t) { return t > 0.008856f ? std::cbrt(t) : 7.787f * t + 16.f / 116.f; };
  for (int64_t i = 0; i < n; ++i) {
    float r = lin(rgb[3 * i]), g = lin(rgb[3 * i + 1]), b = lin(rgb[3 * i + 2]);
    float x = (0.4124f * r + 0.3576f * g + 0.1805f * b) / 0.95047f, y = 0.2126f * r + 0.7152f * g + 0.0722f * b,
          z = (0.0193f * r + 0.1192f * g + 0.9505f * b) / 1.08883f;
    float fx = f(x), fy = f(y), fz = f(z);
    lab[3 * i] = 116.f * fy - 16.f;
    lab[3 * i + 1] = 500.f * (fx - fy);
    lab[3 * i + 2] = 200.f * (fy - fz);
  }
}

std::vector<int32_t> Slic(const uint8_t* rgb, int64_t W, int64_t H, int64_t k, double compactness, int iterations) {
  const int64_t N = W * H;
  std::vector<float> lab;
  RgbToLab(rgb, N, lab);
  const double S = std::max(1.0, std::sqrt(static_cast<double>(N) / k));
  struct C { double l, a, b, x, y; };
  std::vector<C> centres;
  for (double y = S / 2; y < H; y += S)
    for (double x = S / 2; x < W; x += S) {
      int64_t i = static_cast<int64_t>(y) * W + static_cast<int64_t>(x);
      centres.push_back({lab[3 * i], lab[3 * i + 1], lab[3 * i + 2], x, y});
    }
  std::vector<int32_t> label(N, -1);
  std::vector<double> dist(N);
  const double m2 = compactness * compactness / (S * S);
  for (int it = 0; it < iterations; ++it) {
    std::fill(dist.begin(), dist.end(), 1e30);
    for (size_t c = 0; c < centres.size(); ++c) {
      const auto& ce = centres[c];
      int64_t x0 = std::max<int64_t>(0, static_cast<int64_t>(ce.x - 2 * S)), x1 = std::min<int64_t>(W, static_cast<int64_t>(ce.x + 2 * S) + 1);
      int64_t y0 = std::max<int64_t>(0, static_cast<int64_t>(ce.y - 2 * S)), y1 = std::min<int64_t>(H, static_cast<int64_t>(ce.y + 2 * S) + 1);
      for (int64_t y = y0; y < y1; ++y)
        for (int64_t x = x0; x < x1; ++x) {
          int64_t i = y * W + x;
          double dl = lab[3 * i] - ce.l, da = lab[3 * i + 1] - ce.a, db = lab[3 * i + 2] - ce.b, dx = x - ce.x, dy = y - ce.y;
          double d = dl * dl + da * da + db * db + m2 * (dx * dx + dy * dy);
          if (d < dist[i]) {
            dist[i] = d;
            label[i] = static_cast<int32_t>(c);
          }
        }
    }
    std::vector<C> sum(centres.size(), {0, 0, 0, 0, 0});
    std::vector<int64_t> cnt(centres.size(), 0);
    for (int64_t i = 0; i < N; ++i) {
      if (label[i] < 0) continue;
      auto& s = sum[label[i]];
      s.l += lab[3 * i];
      s.a += lab[3 * i + 1];
      s.b += lab[3 * i + 2];
      s.x += i % W;
      s.y += i / W;
      cnt[label[i]]++;
    }
    for (size_t c = 0; c < centres.size(); ++c)
      if (cnt[c]) centres[c] = {sum[c].l / cnt[c], sum[c].a / cnt[c], sum[c].b / cnt[c], sum[c].x / cnt[c], sum[c].y / cnt[c]};
  }
  // Connectivity: relabel 4-connected components; components smaller than S²/4 join the label of
  // an adjacent, already relabelled component.
  std::vector<int32_t> out(N, -1);
  std::vector<int64_t> stack, comp;
  const int64_t minSize = std::max<int64_t>(1, static_cast<int64_t>(S * S / 4));
  int32_t next = 0;
  const int dx4[4] = {1, -1, 0, 0}, dy4[4] = {0, 0, 1, -1};
  for (int64_t start = 0; start < N; ++start) {
    if (out[start] >= 0) continue;
    int32_t adjacent = -1;
    for (int d = 0; d < 4; ++d) {
      int64_t x = start % W + dx4[d], y = start / W + dy4[d];
      if (x >= 0 && y >= 0 && x < W && y < H && out[y * W + x] >= 0) adjacent = out[y * W + x];
    }
    comp.clear();
    stack.assign(1, start);
    out[start] = next;
    while (!stack.empty()) {
      int64_t i = stack.back();
      stack.pop_back();
      comp.push_back(i);
      for (int d = 0; d < 4; ++d) {
        int64_t x = i % W + dx4[d], y = i / W + dy4[d];
        if (x < 0 || y < 0 || x >= W || y >= H) continue;
        int64_t j = y * W + x;
        if (out[j] < 0 && label[j] == label[start]) {
          out[j] = next;
          stack.push_back(j);
        }
      }
    }
    if (static_cast<int64_t>(comp.size()) < minSize && adjacent >= 0) {
      for (int64_t i : comp) out[i] = adjacent;
    } else {
      next++;
    }
  }
  return out;
}

// slic(image uint8 [H,W,3], {segments, compactness, iterations}) → int32 [H,W] region ids 0..n−1
Napi::Value SlicBinding(const Napi::CallbackInfo& info) {
  return Guarded(info, "regions.slic", [&]() -> Napi::Value {
    at::Tensor img = TensorFromJs(info[0], "image");
    if (img.scalar_type() != at::kByte || img.dim() != 3 || img.size(2) != 3) ThrowType("Expected a uint8 [H,W,3] image for image", code::kShape);
    // TypeScript validates every setting and always passes it (defaults: src/data/regions.ts).
    Napi::Object o = GetObject(info, 1, "options");
    int64_t k = static_cast<int64_t>(GetNumber(o, "segments"));
    double compactness = GetNumber(o, "compactness");
    int iterations = static_cast<int>(GetNumber(o, "iterations"));
    return RunAsync(info.Env(), "regions.slic", [img, k, compactness, iterations]() -> Producer {
      const int64_t H = img.size(0), W = img.size(1);
      auto labels = Slic(img.contiguous().data_ptr<uint8_t>(), W, H, k, compactness, iterations);
      at::Tensor out = at::from_blob(labels.data(), {H, W}, at::kInt).clone();
      return [out](Napi::Env env) -> Napi::Value { return TensorToJs(env, out); };
    });
  });
}

void Init(Napi::Env env, Napi::Object exports) { Export(env, exports, "regions", "slic", SlicBinding); }

}  // namespace
}  // namespace clips4

CLIPS4_MODULE(regions_slic, clips4::Init);
