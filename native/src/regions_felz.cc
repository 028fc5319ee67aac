// Felzenszwalb & Huttenlocher (2004) graph segmentation: Gaussian smoothing, an 8-connected grid
// graph weighted by the Euclidean RGB distance, edges merged in increasing weight while the
// weight is below both components' internal difference + scale/|C|, then components smaller than
// minSize merged along the remaining edges (lightest first). Like SLIC, a per-pixel CPU
// algorithm run off the main thread.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "async.h"
#include "registry.h"
#include "tensor_js.h"

namespace clips4 {
namespace {

// Separable Gaussian of width ceil(4σ)+1 per side with clamped borders (the paper's smoothing).
// σ = 0 keeps the pixels as they are.
std::vector<float> Smooth(const uint8_t* rgb, int64_t W, int64_t H, double sigma) {
  std::vector<float> out(rgb, rgb + W * H * 3);
  if (sigma <= 0) return out;
  const int r = static_cast<int>(std::ceil(4 * sigma));
  std::vector<double> k(r + 1);
  double sum = 0;
  for (int i = 0; i <= r; ++i) {
    k[i] = std::exp(-0.5 * (i / sigma) * (i / sigma));
    sum += i ? 2 * k[i] : k[i];
  }
  for (auto& v : k) v /= sum;
  std::vector<float> tmp(out.size());
  auto pass = [&](const std::vector<float>& src, std::vector<float>& dst, bool horizontal) {
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x)
        for (int c = 0; c < 3; ++c) {
          double acc = 0;
          for (int i = -r; i <= r; ++i) {
            int64_t xx = horizontal ? std::clamp<int64_t>(x + i, 0, W - 1) : x;
            int64_t yy = horizontal ? y : std::clamp<int64_t>(y + i, 0, H - 1);
            acc += k[std::abs(i)] * src[(yy * W + xx) * 3 + c];
          }
          dst[(y * W + x) * 3 + c] = static_cast<float>(acc);
        }
  };
  pass(out, tmp, true);
  pass(tmp, out, false);
  return out;
}

struct Edge {
  double w;
  int64_t a, b;
};

struct Forest {
  std::vector<int64_t> parent, size;
  explicit Forest(int64_t n) : parent(n), size(n, 1) { std::iota(parent.begin(), parent.end(), 0); }
  int64_t Find(int64_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  // Larger tree absorbs the smaller; returns the new root. Which root survives does not change
  // the partition, because the threshold is set on the merged root afterwards.
  int64_t Join(int64_t a, int64_t b) {
    if (size[a] < size[b]) std::swap(a, b);
    parent[b] = a;
    size[a] += size[b];
    return a;
  }
};

std::vector<int32_t> Felzenszwalb(const uint8_t* rgb, int64_t W, int64_t H, double scale, double sigma, int64_t minSize) {
  const int64_t N = W * H;
  const std::vector<float> img = Smooth(rgb, W, H, sigma);
  auto weight = [&](int64_t p, int64_t q) {
    double s = 0;
    for (int c = 0; c < 3; ++c) {
      double d = static_cast<double>(img[p * 3 + c]) - img[q * 3 + c];
      s += d * d;
    }
    return std::sqrt(s);
  };
  // Edges in raster order, each pixel to its right, lower, lower-right and upper-right neighbour
  // (every 8-neighbour pair once); a stable sort keeps that order among equal weights, so the
  // result is deterministic.
  std::vector<Edge> edges;
  edges.reserve(N * 4);
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      const int64_t p = y * W + x;
      if (x + 1 < W) edges.push_back({weight(p, p + 1), p, p + 1});
      if (y + 1 < H) edges.push_back({weight(p, p + W), p, p + W});
      if (x + 1 < W && y + 1 < H) edges.push_back({weight(p, p + W + 1), p, p + W + 1});
      if (x + 1 < W && y > 0) edges.push_back({weight(p, p - W + 1), p, p - W + 1});
    }
  std::stable_sort(edges.begin(), edges.end(), [](const Edge& l, const Edge& r) { return l.w < r.w; });
  Forest f(N);
  std::vector<double> threshold(N, scale);
  for (const Edge& e : edges) {
    int64_t a = f.Find(e.a), b = f.Find(e.b);
    if (a == b || e.w > threshold[a] || e.w > threshold[b]) continue;
    int64_t root = f.Join(a, b);
    threshold[root] = e.w + scale / static_cast<double>(f.size[root]);
  }
  for (const Edge& e : edges) {
    int64_t a = f.Find(e.a), b = f.Find(e.b);
    if (a != b && (f.size[a] < minSize || f.size[b] < minSize)) f.Join(a, b);
  }
  // Ids in raster order of each component's first pixel: contiguous from 0.
  std::vector<int32_t> id(N, -1), out(N);
  int32_t next = 0;
  for (int64_t p = 0; p < N; ++p) {
    int64_t root = f.Find(p);
    if (id[root] < 0) id[root] = next++;
    out[p] = id[root];
  }
  return out;
}

// felzenszwalb(image uint8 [H,W,3], {scale, sigma, minSize}) → int32 [H,W] region ids 0..n−1
Napi::Value FelzenszwalbBinding(const Napi::CallbackInfo& info) {
  return Guarded(info, "regions.felzenszwalb", [&]() -> Napi::Value {
    at::Tensor img = TensorFromJs(info[0], "image");
    if (img.scalar_type() != at::kByte || img.dim() != 3 || img.size(2) != 3) ThrowType("Expected a uint8 [H,W,3] image for image", code::kShape);
    // TypeScript validates every setting and always passes it (defaults: src/data/regions.ts).
    Napi::Object o = GetObject(info, 1, "options");
    double scale = GetNumber(o, "scale");
    double sigma = GetNumber(o, "sigma");
    int64_t minSize = static_cast<int64_t>(GetNumber(o, "minSize"));
    return RunAsync(info.Env(), "regions.felzenszwalb", [img, scale, sigma, minSize]() -> Producer {
      const int64_t H = img.size(0), W = img.size(1);
      auto labels = Felzenszwalb(img.contiguous().data_ptr<uint8_t>(), W, H, scale, sigma, minSize);
      at::Tensor out = at::from_blob(labels.data(), {H, W}, at::kInt).clone();
      return [out](Napi::Env env) -> Napi::Value { return TensorToJs(env, out); };
    });
  });
}

void Init(Napi::Env env, Napi::Object exports) { Export(env, exports, "regions", "felzenszwalb", FelzenszwalbBinding); }

}  // namespace
}  // namespace clips4

CLIPS4_MODULE(regions_felz, clips4::Init);
