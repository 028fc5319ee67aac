#include "dist_autograd.h"

namespace clips4 {
namespace {

thread_local Group* currentSyncGroup = nullptr;

struct AllReduceSumFunction : public torch::autograd::Function<AllReduceSumFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& t, int64_t group) {
    // The group outlives the step (the trainer holds it), so its address is safe to keep here.
    ctx->saved_data["group"] = group;
    std::vector<at::Tensor> v{t.clone()};
    reinterpret_cast<Group*>(group)->AllReduceSum(v);
    return v[0];
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* g = reinterpret_cast<Group*>(ctx->saved_data["group"].toInt());
    std::vector<at::Tensor> v{grads[0].contiguous().clone()};
    g->AllReduceSum(v);
    return {v[0], at::Tensor()};
  }
};

}  // namespace

at::Tensor AllReduceSumAutograd(const at::Tensor& t, Group* group) {
  if (group == nullptr || group->size <= 1) return t;
  return AllReduceSumFunction::apply(t, reinterpret_cast<int64_t>(group));
}

Group* CurrentSyncGroup() { return currentSyncGroup; }

SyncBatchNormScope::SyncBatchNormScope(Group* group) : previous_(currentSyncGroup) { currentSyncGroup = group; }
SyncBatchNormScope::~SyncBatchNormScope() { currentSyncGroup = previous_; }

at::Tensor SyncBatchNorm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, at::Tensor runningMean,
                         at::Tensor runningVar, double momentum, double eps, Group* group) {
  const int64_t C = x.size(1);
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  std::vector<int64_t> shape(x.dim(), 1);
  shape[1] = C;
  const double localCount = static_cast<double>(x.numel() / C);
  // Two passes (mean, then centred squares) as at::batch_norm does, for the same accuracy.
  auto sums = AllReduceSumAutograd(at::cat({x.sum(dims), at::full({1}, localCount, x.options())}), group);
  auto count = sums.narrow(0, C, 1);
  auto mean = sums.narrow(0, 0, C) / count;
  auto centred = x - mean.view(shape);
  auto var = AllReduceSumAutograd(centred.pow(2).sum(dims), group) / count;
  {
    torch::NoGradGuard ng;
    double n = count.item<double>();
    if (runningMean.defined()) runningMean.mul_(1 - momentum).add_(mean.detach() * momentum);
    if (runningVar.defined()) runningVar.mul_(1 - momentum).add_(var.detach() * (n / std::max(1.0, n - 1)) * momentum);
  }
  auto y = centred * at::rsqrt(var + eps).view(shape);
  if (weight.defined()) y = y * weight.view(shape);
  if (bias.defined()) y = y + bias.view(shape);
  return y;
}

}  // namespace clips4
