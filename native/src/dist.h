// A c10d process group as the trainer sees it (see dist.cc). Without c10d support the group is
// never created and these members are unused.
#pragma once

#include <memory>
#include <vector>

#include <napi.h>
#include <torch/torch.h>

#ifdef CLIPS4_WITH_C10D
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif

namespace clips4 {

struct Group {
  static constexpr napi_type_tag kTag = {0x2b3c4d5e6f708192ULL, 0xa1b2c3d4e5f60718ULL};
  int rank = 0;
  int size = 1;
#ifdef CLIPS4_WITH_C10D
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  void AllReduceSum(std::vector<at::Tensor>& tensors);
  at::Tensor AllGather(const at::Tensor& t);
  void Broadcast(std::vector<at::Tensor>& tensors, int root);
#else
  void AllReduceSum(std::vector<at::Tensor>&) {}
  at::Tensor AllGather(const at::Tensor& t) { return t; }
  void Broadcast(std::vector<at::Tensor>&, int) {}
#endif
};

}  // namespace clips4
