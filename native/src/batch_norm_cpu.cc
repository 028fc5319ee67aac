#include "batch_norm_cpu.h"

#include <ATen/Parallel.h>

#include <cmath>

namespace clips4 {
namespace {

// Sums over one channel row of a map in 16 float lanes (independent additions the compiler can
// vectorise), the rows' sums then added in double.
constexpr int kLanes = 16;

template <class F>
double RowSum(int64_t n, F&& term) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) acc[k] += term(i + k);
  double s = 0;
  for (; i < n; ++i) s += term(i);
  for (int k = 0; k < kLanes; ++k) s += acc[k];
  return s;
}

struct BatchNormFunction : public torch::autograd::Function<BatchNormFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, at::Tensor x, at::Tensor weight, at::Tensor bias,
                            at::Tensor runningMean, at::Tensor runningVar, double momentum, double eps) {
    const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3), M = N * HW;
    auto y = at::empty_like(x);
    auto stats = x.options().dtype(at::kDouble);
    auto mean = at::empty({C}, stats), invstd = at::empty({C}, stats), variance = at::empty({C}, stats);
    const float* xp = x.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    const float* w = weight.data_ptr<float>();
    const float* b = bias.data_ptr<float>();
    double* mp = mean.data_ptr<double>();
    double* ip = invstd.data_ptr<double>();
    double* vp = variance.data_ptr<double>();
    at::parallel_for(0, C, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        double s = 0;
        for (int64_t n = 0; n < N; ++n) {
          const float* row = xp + (n * C + c) * HW;
          s += RowSum(HW, [row](int64_t i) { return row[i]; });
        }
        const double mu = s / static_cast<double>(M);
        const float muf = static_cast<float>(mu);
        double q = 0;
        for (int64_t n = 0; n < N; ++n) {
          const float* row = xp + (n * C + c) * HW;
          q += RowSum(HW, [row, muf](int64_t i) { const float d = row[i] - muf; return d * d; });
        }
        // The deviations were from mu rounded to float: correct the mean square by (mu − muf)².
        const double var = std::max(0.0, q / static_cast<double>(M) - (mu - muf) * (mu - muf));
        mp[c] = mu;
        vp[c] = var;
        ip[c] = 1.0 / std::sqrt(var + eps);
        const float scale = static_cast<float>(w[c] * ip[c]), shift = static_cast<float>(b[c] - mu * w[c] * ip[c]);
        for (int64_t n = 0; n < N; ++n) {
          const float* row = xp + (n * C + c) * HW;
          float* out = yp + (n * C + c) * HW;
          for (int64_t i = 0; i < HW; ++i) out[i] = row[i] * scale + shift;
        }
      }
    });
    {
      torch::NoGradGuard ng;
      auto var = variance * (static_cast<double>(M) / static_cast<double>(M - 1));  // unbiased, as LibTorch's
      runningMean.mul_(1 - momentum).add_(mean.to(runningMean.scalar_type()), momentum);
      runningVar.mul_(1 - momentum).add_(var.to(runningVar.scalar_type()), momentum);
    }
    ctx->save_for_backward({x, weight});
    ctx->saved_data["mean"] = mean;
    ctx->saved_data["invstd"] = invstd;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto x = saved[0], weight = saved[1];
    auto mean = ctx->saved_data["mean"].toTensor(), invstd = ctx->saved_data["invstd"].toTensor();
    auto dy = grads[0].contiguous();
    const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3), M = N * HW;
    auto dx = at::empty_like(x);
    auto dw = at::empty({C}, weight.options()), db = at::empty({C}, weight.options());
    const float* xp = x.data_ptr<float>();
    const float* gp = dy.data_ptr<float>();
    float* dxp = dx.data_ptr<float>();
    const float* w = weight.data_ptr<float>();
    float* dwp = dw.data_ptr<float>();
    float* dbp = db.data_ptr<float>();
    const double* mp = mean.data_ptr<double>();
    const double* ip = invstd.data_ptr<double>();
    at::parallel_for(0, C, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const float mu = static_cast<float>(mp[c]);
        double sdy = 0, sdyx = 0;  // Σ dy and Σ dy·(x − mean)
        for (int64_t n = 0; n < N; ++n) {
          const float* row = xp + (n * C + c) * HW;
          const float* g = gp + (n * C + c) * HW;
          sdy += RowSum(HW, [g](int64_t i) { return g[i]; });
          sdyx += RowSum(HW, [g, row, mu](int64_t i) { return g[i] * (row[i] - mu); });
        }
        sdyx -= sdy * (mp[c] - mu);  // deviations from the double mean
        const double is = ip[c];
        dwp[c] = static_cast<float>(sdyx * is);
        dbp[c] = static_cast<float>(sdy);
        // dx = w·invstd·(dy − Σdy/M − (x − mean)·invstd²·Σ dy·(x − mean)/M)
        const double k = w[c] * is;
        const double slope = -k * is * is * sdyx / static_cast<double>(M);
        // (x − mean) = (x − mu) − (mean − mu) with mu the float mean: the second part folds into the shift.
        const float a = static_cast<float>(k), shift = static_cast<float>(-k * sdy / static_cast<double>(M) - slope * (mp[c] - mu)),
                    slopef = static_cast<float>(slope);
        for (int64_t n = 0; n < N; ++n) {
          const float* row = xp + (n * C + c) * HW;
          const float* g = gp + (n * C + c) * HW;
          float* out = dxp + (n * C + c) * HW;
          for (int64_t i = 0; i < HW; ++i) out[i] = a * g[i] + shift + slopef * (row[i] - mu);
        }
      }
    });
    return {dx, dw, db, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

bool BatchNormTrainCpuApplies(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  return x.is_cpu() && x.dim() == 4 && x.scalar_type() == at::kFloat && x.is_contiguous() && x.size(0) * x.size(2) * x.size(3) > 1 &&
         weight.defined() && bias.defined() && weight.scalar_type() == at::kFloat && bias.scalar_type() == at::kFloat &&
         weight.is_contiguous() && bias.is_contiguous();
}

at::Tensor BatchNormTrainCpu(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, at::Tensor& runningMean,
                             at::Tensor& runningVar, double momentum, double eps) {
  return BatchNormFunction::apply(x, weight, bias, runningMean, runningVar, momentum, eps);
}

}  // namespace clips4
