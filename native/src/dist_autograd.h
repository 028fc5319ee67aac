// Collectives that autograd differentiates through, for data-parallel training: a sum over ranks
// whose gradient is again the sum over ranks, and batch normalisation with statistics over the
// whole global batch (SyncBatchNorm), so N processes with batch B/N compute what one process with
// batch B computes.
#pragma once

#include <torch/torch.h>

#include "dist.h"

namespace clips4 {

// Σ_ranks t (every rank gets the sum). Backward: the incoming gradients are summed over ranks too,
// because every rank's loss depends on every rank's contribution.
at::Tensor AllReduceSumAutograd(const at::Tensor& t, Group* group);

// The group whose ranks share batch-norm statistics on this thread (nullptr: local statistics).
Group* CurrentSyncGroup();

// Makes `group` current for the network's batch-norm layers for the lifetime of the scope.
class SyncBatchNormScope {
 public:
  explicit SyncBatchNormScope(Group* group);
  ~SyncBatchNormScope();
  SyncBatchNormScope(const SyncBatchNormScope&) = delete;
  SyncBatchNormScope& operator=(const SyncBatchNormScope&) = delete;

 private:
  Group* previous_;
};

// Training-mode batch norm of x [N,C,...] with mean and (biased) variance over all ranks' batches;
// running statistics are updated as torch.nn.BatchNorm does (unbiased variance, `momentum`).
at::Tensor SyncBatchNorm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, at::Tensor runningMean,
                         at::Tensor runningVar, double momentum, double eps, Group* group);

}  // namespace clips4
