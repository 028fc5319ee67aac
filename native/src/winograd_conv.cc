#include "winograd_conv.h"
#include "env_switch.h"

#include <list>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

#ifdef CLIPS4_WITH_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace clips4 {

namespace {

[[maybe_unused]] bool Enabled() {
  static const bool enabled = SwitchedOn("CLIPS4_WINOGRAD");
  return enabled;
}

}  // namespace

// Written against the oneDNN 2.x API (the oneDNN Debian's LibTorch 1.13 links; oneDNN 3 changed the
// descriptor API, and no oneDNN 3 was at hand to test against): other versions compile the fallback.
#if defined(CLIPS4_WITH_DNNL) && DNNL_VERSION_MAJOR == 2
#define CLIPS4_WINOGRAD_BUILT 1

namespace {

using dnnl::memory;
using Dims = memory::dims;

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

enum Kind { kForward, kBackwardData, kBackwardWeights };

// One primitive and the layouts it wants. Roles by kind: forward a = src, b = weights, out = dst;
// backward data a = diff_dst, b = weights, out = diff_src; backward weights a = src, b = diff_dst,
// out = diff_weights.
struct Entry {
  bool ok = false;
  dnnl::primitive prim;
  memory::desc a, b, out, scratch;
  std::string impl;
};

// N, C, O, H, W and the kind.
using Key = std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t>;

Entry Build(Kind kind, int64_t N, int64_t C, int64_t O, int64_t H, int64_t W) {
  using dt = memory::data_type;
  using tag = memory::format_tag;
  const memory::desc src({N, C, H, W}, dt::f32, tag::any), wei({O, C, 3, 3}, dt::f32, tag::any), dst({N, O, H, W}, dt::f32, tag::any);
  const Dims stride{1, 1}, pad{1, 1};
  dnnl::primitive_attr attr;
  // Scratch memory per call (an ATen buffer), so that concurrent calls never share the library's.
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const auto alg = dnnl::algorithm::convolution_winograd;
  Entry e;
  try {
    dnnl::convolution_forward::primitive_desc fwd({dnnl::prop_kind::forward_training, alg, src, wei, dst, stride, pad, pad}, attr, Engine());
    if (kind == kForward) {
      e.prim = dnnl::convolution_forward(fwd);
      e.a = fwd.src_desc(), e.b = fwd.weights_desc(), e.out = fwd.dst_desc(), e.scratch = fwd.scratchpad_desc();
      e.impl = fwd.impl_info_str();
    } else if (kind == kBackwardData) {
      dnnl::convolution_backward_data::primitive_desc pd({alg, src, wei, dst, stride, pad, pad}, attr, Engine(), fwd);
      e.prim = dnnl::convolution_backward_data(pd);
      e.a = pd.diff_dst_desc(), e.b = pd.weights_desc(), e.out = pd.diff_src_desc(), e.scratch = pd.scratchpad_desc();
      e.impl = pd.impl_info_str();
    } else {
      dnnl::convolution_backward_weights::primitive_desc pd({alg, src, wei, dst, stride, pad, pad}, attr, Engine(), fwd);
      e.prim = dnnl::convolution_backward_weights(pd);
      e.a = pd.src_desc(), e.b = pd.diff_dst_desc(), e.out = pd.diff_weights_desc(), e.scratch = pd.scratchpad_desc();
      e.impl = pd.impl_info_str();
    }
    e.ok = true;
  } catch (const dnnl::error&) {
    e.ok = false;  // no Winograd kernel for this CPU or shape: the caller uses at::conv2d
  }
  return e;
}

// Primitives by shape, most recent first. Bounded: a Segmenter over images of many sizes asks for
// many shapes, and each primitive holds JIT code.
class Cache {
 public:
  Entry Get(Kind kind, int64_t N, int64_t C, int64_t O, int64_t H, int64_t W) {
    const Key key{kind, N, C, O, H, W};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->first == key) {
          entries_.splice(entries_.begin(), entries_, it);
          return entries_.front().second;
        }
      }
    }
    Entry e = Build(kind, N, C, O, H, W);  // outside the lock: JIT compilation takes milliseconds
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.emplace_front(key, e);
    if (entries_.size() > kCapacity) entries_.pop_back();
    return e;
  }

 private:
  static constexpr size_t kCapacity = 96;
  std::mutex mutex_;
  std::list<std::pair<Key, Entry>> entries_;
};

Cache& Primitives() {
  static Cache cache;
  return cache;
}

at::Tensor Bytes(size_t n) { return at::empty({static_cast<int64_t>(n)}, at::TensorOptions().dtype(at::kByte)); }

// A contiguous float tensor in the layout `want`: its own memory when the layouts agree, otherwise a
// reordered copy whose buffer is kept alive in `keep` until the primitive has run.
memory Into(const at::Tensor& t, memory::format_tag tag, const memory::desc& want, dnnl::stream& s, std::vector<at::Tensor>& keep) {
  const memory::desc plain(t.sizes().vec(), memory::data_type::f32, tag);
  memory user(plain, Engine(), t.data_ptr());
  if (plain == want) return user;
  keep.push_back(Bytes(want.get_size()));
  memory m(want, Engine(), keep.back().data_ptr());
  dnnl::reorder(user, m).execute(s, user, m);
  return m;
}

// Runs entry `e` on plain tensors a and b (NCHW or OIHW, `aTag`/`bTag`) into a new plain tensor of
// `outSizes` (layout `outTag`).
at::Tensor Run(const Entry& e, int aArg, const at::Tensor& a, memory::format_tag aTag, int bArg, const at::Tensor& b,
               memory::format_tag bTag, int outArg, at::IntArrayRef outSizes, memory::format_tag outTag) {
  dnnl::stream s(Engine());
  std::vector<at::Tensor> keep;
  memory ma = Into(a, aTag, e.a, s, keep), mb = Into(b, bTag, e.b, s, keep);
  auto out = at::empty(outSizes, a.options());
  const memory::desc plainOut(outSizes.vec(), memory::data_type::f32, outTag);
  memory userOut(plainOut, Engine(), out.data_ptr());
  const bool reorderOut = !(plainOut == e.out);
  memory mo = userOut;
  if (reorderOut) {
    keep.push_back(Bytes(e.out.get_size()));
    mo = memory(e.out, Engine(), keep.back().data_ptr());
  }
  auto scratch = Bytes(e.scratch.get_size());
  memory ms(e.scratch, Engine(), scratch.data_ptr());
  e.prim.execute(s, {{aArg, ma}, {bArg, mb}, {outArg, mo}, {DNNL_ARG_SCRATCHPAD, ms}});
  if (reorderOut) dnnl::reorder(mo, userOut).execute(s, mo, userOut);
  s.wait();
  return out;
}

using tag = memory::format_tag;

// The three primitives training needs, or none (any missing: at::conv2d does the whole conv).
bool TrainingEntries(int64_t N, int64_t C, int64_t O, int64_t H, int64_t W, Entry* fwd, Entry* bwdData, Entry* bwdWeights) {
  *fwd = Primitives().Get(kForward, N, C, O, H, W);
  if (!fwd->ok) return false;
  *bwdData = Primitives().Get(kBackwardData, N, C, O, H, W);
  *bwdWeights = Primitives().Get(kBackwardWeights, N, C, O, H, W);
  return bwdData->ok && bwdWeights->ok;
}

at::Tensor Forward(const Entry& e, const at::Tensor& x, const at::Tensor& w) {
  return Run(e, DNNL_ARG_SRC, x, tag::nchw, DNNL_ARG_WEIGHTS, w, tag::oihw, DNNL_ARG_DST, {x.size(0), w.size(0), x.size(2), x.size(3)}, tag::nchw);
}

struct WinogradFunction : public torch::autograd::Function<WinogradFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w) {
    const auto xc = x.contiguous(), wc = w.contiguous();
    ctx->save_for_backward({xc, wc});
    Entry f, d, g;
    TrainingEntries(x.size(0), x.size(1), w.size(0), x.size(2), x.size(3), &f, &d, &g);  // cached: checked by the caller
    return Forward(f, xc, wc);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    const auto gy = grads[0].contiguous();
    Entry f, d, g;
    TrainingEntries(x.size(0), x.size(1), w.size(0), x.size(2), x.size(3), &f, &d, &g);
    at::Tensor gx, gw;
    if (ctx->needs_input_grad(0)) gx = Run(d, DNNL_ARG_DIFF_DST, gy, tag::nchw, DNNL_ARG_WEIGHTS, w, tag::oihw, DNNL_ARG_DIFF_SRC, x.sizes(), tag::nchw);
    if (ctx->needs_input_grad(1)) gw = Run(g, DNNL_ARG_SRC, x, tag::nchw, DNNL_ARG_DIFF_DST, gy, tag::nchw, DNNL_ARG_DIFF_WEIGHTS, w.sizes(), tag::oihw);
    return {gx, gw};
  }
};

// conv2d(x, w, padding 1) by Winograd, or at::conv2d where oneDNN has no kernel for the shape.
at::Tensor Same3x3(const at::Tensor& x, const at::Tensor& w) {
  const int64_t N = x.size(0), C = x.size(1), O = w.size(0), H = x.size(2), W = x.size(3);
  const bool grad = at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad());
  if (grad) {
    Entry f, d, g;
    if (TrainingEntries(N, C, O, H, W, &f, &d, &g)) return WinogradFunction::apply(x, w);
  } else {
    // The training primitive here too: the inference one wants its weights pre-transformed, which
    // took 0.51 s per call for the PSPNet head's (4096 → 512) against 0.14 s for the conv itself.
    Entry e = Primitives().Get(kForward, N, C, O, H, W);
    if (e.ok) return Forward(e, x.contiguous(), w.contiguous());
  }
  return at::conv2d(x, w, {}, 1, 1);
}

}  // namespace

#endif  // CLIPS4_WITH_DNNL && DNNL_VERSION_MAJOR == 2

bool WinogradApplies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias, at::IntArrayRef kernel,
                     at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups) {
#ifdef CLIPS4_WINOGRAD_BUILT
  return Enabled() && x.is_cpu() && w.is_cpu() && x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat &&
         x.dim() == 4 && !bias.defined() && groups == 1 && kernel.size() == 2 && kernel[0] == 3 && kernel[1] == 3 &&
         stride.size() == 2 && stride[0] == 1 && stride[1] == 1 && dilation.size() == 2 && dilation[0] == dilation[1] &&
         padding.size() == 2 && padding[0] == dilation[0] && padding[1] == dilation[0] && x.numel() > 0;
#else
  return false;
#endif
}

at::Tensor WinogradConv3x3(const at::Tensor& x, const at::Tensor& w, int64_t dilation) {
#ifdef CLIPS4_WINOGRAD_BUILT
  if (dilation == 1) return Same3x3(x, w);
  // Space to batch: output (i·d + r, j·d + s) of the dilated conv is output (i, j) of the plain conv
  // on sub-grid (r, s) = x[r::d, s::d]; zeros pad the sides to multiples of d, as the conv's padding would.
  const int64_t d = dilation, N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t h = (H + d - 1) / d, wd = (W + d - 1) / d;
  auto padded = (h * d == H && wd * d == W) ? x : at::constant_pad_nd(x, {0, wd * d - W, 0, h * d - H});
  auto grids = padded.reshape({N, C, h, d, wd, d}).permute({0, 3, 5, 1, 2, 4}).reshape({N * d * d, C, h, wd});
  auto y = Same3x3(grids, w);
  const int64_t O = y.size(1);
  y = y.reshape({N, d, d, O, h, wd}).permute({0, 3, 4, 1, 5, 2}).reshape({N, O, h * d, wd * d});
  return (h * d == H && wd * d == W) ? y : y.slice(2, 0, H).slice(3, 0, W).contiguous();
#else
  return at::conv2d(x, w, {}, 1, dilation, dilation);
#endif
}

at::Tensor SameConv3x3(const at::Tensor& x, const at::Tensor& w, int64_t dilation, bool winograd) {
  const int64_t d = dilation;
  if (winograd && WinogradApplies(x, w, {}, {3, 3}, {1, 1}, {d, d}, {d, d}, 1)) return WinogradConv3x3(x, w, d);
  return at::conv2d(x, w, {}, 1, d, d);
}

std::string WinogradStatus() {
#ifdef CLIPS4_WINOGRAD_BUILT
  if (!Enabled()) return "off (CLIPS4_WINOGRAD=0)";
  Entry e = Primitives().Get(kForward, 1, 16, 16, 8, 8);
  return e.ok ? "winograd (oneDNN " + e.impl + ")" : "unavailable (oneDNN has no Winograd kernel for this CPU)";
#elif defined(CLIPS4_WITH_DNNL)
  return "not built (oneDNN " + std::to_string(DNNL_VERSION_MAJOR) + ".x: the Winograd path uses oneDNN 2's API)";
#else
  return "not built (LibTorch does not link a shared oneDNN 2 with headers installed: cmake/FindLibTorch.cmake)";
#endif
}

}  // namespace clips4
