// Distributed data parallel over PyTorch's c10d: a TCPStore rendezvous at MASTER_ADDR:MASTER_PORT
// and a Gloo process group (CPU tensors; CUDA tensors go through Gloo's CUDA path or NCCL in a
// CUDA LibTorch). Compiled only when LibTorch ships the c10d and Gloo headers (CLIPS4_WITH_C10D).
#ifdef CLIPS4_WITH_C10D

#include <chrono>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "async.h"
#include "dist.h"
#include "handle.h"
#include "registry.h"
#include "tensor_js.h"

namespace clips4 {

void Group::AllReduceSum(std::vector<at::Tensor>& tensors) {
  if (size <= 1 || tensors.empty()) return;
  // One flat buffer per call keeps the number of collective operations low.
  std::vector<at::Tensor> flat_in;
  for (auto& t : tensors) flat_in.push_back(t.reshape({-1}));
  at::Tensor flat = at::cat(flat_in).to(at::kCPU).contiguous();
  std::vector<at::Tensor> buf{flat};
  pg->allreduce(buf, c10d::AllreduceOptions())->wait();
  int64_t offset = 0;
  for (auto& t : tensors) {
    int64_t n = t.numel();
    t.copy_(flat.narrow(0, offset, n).view(t.sizes()));
    offset += n;
  }
}

at::Tensor Group::AllGather(const at::Tensor& t) {
  if (size <= 1) return t;
  // Rows may differ per rank: exchange counts first, pad to the largest, gather, trim.
  at::Tensor local = t.to(at::kCPU).contiguous();
  at::Tensor count = at::full({1}, local.size(0), at::TensorOptions().dtype(at::kLong));
  std::vector<std::vector<at::Tensor>> counts_out(1);
  for (int i = 0; i < size; ++i) counts_out[0].push_back(at::empty_like(count));
  std::vector<at::Tensor> counts_in{count};
  pg->allgather(counts_out, counts_in)->wait();
  int64_t max_rows = 0;
  for (auto& c : counts_out[0]) max_rows = std::max(max_rows, c.item<int64_t>());
  auto sizes = local.sizes().vec();
  sizes[0] = max_rows;
  at::Tensor padded = at::zeros(sizes, local.options());
  padded.narrow(0, 0, local.size(0)).copy_(local);
  std::vector<std::vector<at::Tensor>> out(1);
  for (int i = 0; i < size; ++i) out[0].push_back(at::empty_like(padded));
  std::vector<at::Tensor> in{padded};
  pg->allgather(out, in)->wait();
  std::vector<at::Tensor> parts;
  for (int i = 0; i < size; ++i) parts.push_back(out[0][i].narrow(0, 0, counts_out[0][i].item<int64_t>()));
  return at::cat(parts, 0).to(t.device());
}

void Group::Broadcast(std::vector<at::Tensor>& tensors, int root) {
  if (size <= 1) return;
  for (auto& t : tensors) {
    at::Tensor cpu = t.to(at::kCPU).contiguous();
    std::vector<at::Tensor> buf{cpu};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    pg->broadcast(buf, o)->wait();
    t.copy_(cpu);
  }
}

namespace {

// init({rank, worldSize, addr, port, timeoutMs}) → group handle (blocks until every rank joined).
Napi::Value Init(const Napi::CallbackInfo& info) {
  return Guarded(info, "dist.init", [&]() -> Napi::Value {
    Napi::Object o = GetObject(info, 0, "options");
    int rank = static_cast<int>(GetNumber(o, "rank"));
    int world = static_cast<int>(GetNumber(o, "worldSize"));
    std::string addr = GetString(o, "addr");
    int port = static_cast<int>(GetNumber(o, "port"));
    int64_t timeout_ms = static_cast<int64_t>(GetNumber(o, "timeoutMs"));
    return RunAsync(info.Env(), "dist.init", [rank, world, addr, port, timeout_ms]() -> Producer {
      c10d::TCPStoreOptions so;
      so.port = static_cast<uint16_t>(port);
      so.isServer = rank == 0;
      so.numWorkers = world;
      so.waitWorkers = true;
      so.timeout = std::chrono::milliseconds(timeout_ms);
      auto store = c10::make_intrusive<c10d::TCPStore>(addr, so);
      auto opts = c10d::ProcessGroupGloo::Options::create();
      opts->timeout = std::chrono::milliseconds(timeout_ms);
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(addr));
      auto group = std::make_shared<Group>();
      group->rank = rank;
      group->size = world;
      group->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, opts);
      return [group](Napi::Env env) -> Napi::Value { return WrapHandle(env, group); };
    }, GradMode::kNoGrad);
  });
}

// allReduce(group, tensor) → element-wise sum over ranks.
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  return Guarded(info, "dist.allReduce", [&]() -> Napi::Value {
    auto group = UnwrapHandle<Group>(info[0], "group");
    at::Tensor t = TensorFromJs(info[1], "tensor");
    return RunAsync(info.Env(), "dist.allReduce", [group, t]() -> Producer {
      std::vector<at::Tensor> v{t.clone()};
      group->AllReduceSum(v);
      at::Tensor out = PrepareForJs(v[0]);
      return [out](Napi::Env env) -> Napi::Value { return TensorToJs(env, out); };
    }, GradMode::kNoGrad);
  });
}

void InitModule(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "dist", "init", Init);
  Export(env, exports, "dist", "allReduce", AllReduce);
}

}  // namespace
}  // namespace clips4

CLIPS4_MODULE(dist, clips4::InitModule);

#endif  // CLIPS4_WITH_C10D
