// The trainer's native state: network, SGD with momentum, unknown prototypes, memory bank,
// iteration counter. TypeScript drives it one asynchronous step at a time and saves/restores the
// whole state for checkpoints (bit-identical resume on the same device and thread count).
#include <chrono>
#include <mutex>

#include "async.h"
#include "autocast.h"
#include "device.h"
#include "dist.h"
#include "dist_autograd.h"
#include "handle.h"
#include "registry.h"
#include "sgd_cpu.h"
#include "state_dict.h"
#include "tensor_js.h"
#include "tensor_ops.h"
#include "train_net.h"
#include "train_step.h"

namespace clips4 {
namespace {

struct Trainer {
  static constexpr napi_type_tag kTag = {0x51d0c3a2b4e54f66ULL, 0x8b7c6d5e4f3a2b1cULL};
  std::shared_ptr<EmbeddingNet> net;
  StepConfig step;
  double momentum{}, weightDecay{}, unknownLr{};  // from the binding (no defaults in C++)
  c10::Device device = c10::Device(c10::kCPU);
  at::Tensor known, unknown, knownText;
  std::map<std::string, at::Tensor> momentumBuffers;
  MemoryBank bank{0};  // sized from options.bankBatches in Create
  std::shared_ptr<Group> group;  // data-parallel ranks (nullptr: a single process)
  bool mixedPrecision = false;   // bfloat16 autocast for the network's forward pass
  // Parameters, losses and SGD in float32, or float64 (a numerical check: rounding ~1e-16, so runs
  // that differ only in summation order stay together through max-pools and argmaxes).
  at::ScalarType dtype = at::kFloat;
  int64_t iteration = 0;
  std::mutex mutex;  // one step (or state read/write) at a time
};

// SGD with momentum and weight decay, as torch.optim.SGD (dampening 0, no Nesterov); the momentum
// buffers are ours so that checkpoints hold them exactly.
void SgdUpdate(Trainer& t, double lr) {
  torch::NoGradGuard ng;
  for (auto& item : t.net->Module().named_parameters(/*recurse=*/true)) {
    auto& p = item.value();
    if (!p.grad().defined()) continue;
    auto g = p.grad();
    auto it = t.momentumBuffers.find(item.key());
    // A first step creates the buffer; later ones take the one-pass path where it applies.
    if (it == t.momentumBuffers.end() || !FusedSgdStep(p, g, it->second, t.weightDecay, t.momentum, lr)) {
      if (t.weightDecay != 0) g = g.add(p, t.weightDecay);
      if (it == t.momentumBuffers.end()) {
        it = t.momentumBuffers.emplace(item.key(), g.clone()).first;
      } else {
        it->second.mul_(t.momentum).add_(g);
      }
      p.add_(it->second, -lr);
    }
    p.mutable_grad() = at::Tensor();
  }
}

// The module's floating-point parameters and buffers in `dtype`. Module::to(dtype) would convert the
// integer num_batches_tracked counters too, which torch.nn.Module.to leaves alone.
void FloatingTo(torch::nn::Module& module, at::ScalarType dtype) {
  torch::NoGradGuard ng;
  for (auto& p : module.parameters(true))
    if (p.is_floating_point() && p.scalar_type() != dtype) p.set_data(p.data().to(dtype));
  for (auto& b : module.buffers(true))
    if (b.is_floating_point() && b.scalar_type() != dtype) b.set_data(b.data().to(dtype));
}

Group* DataParallel(const Trainer& t) { return t.group && t.group->size > 1 ? t.group.get() : nullptr; }

// Sums the gradients of all parameters over the ranks (the loss of each rank is already its share
// of the global mean). Parameters without a gradient contribute zeros so every rank sends the
// same layout.
void AllReduceGradients(Trainer& t, Group* group) {
  std::vector<at::Tensor> grads;
  for (auto& p : t.net->Module().parameters(/*recurse=*/true)) {
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    grads.push_back(p.grad());
  }
  group->AllReduceSum(grads);
}

// Rank 0's parameters, buffers and prototypes for every rank, so all start from the same state.
void BroadcastState(Trainer& t, Group* group) {
  torch::NoGradGuard ng;
  std::vector<at::Tensor> all;
  for (auto& p : t.net->Module().parameters(true)) all.push_back(p);
  for (auto& b : t.net->Module().buffers(true)) all.push_back(b);
  if (t.known.defined()) all.push_back(t.known);
  if (t.unknown.defined()) all.push_back(t.unknown);
  group->Broadcast(all, 0);
}

Napi::Value Create(const Napi::CallbackInfo& info) {
  return Guarded(info, "trainer.create", [&]() -> Napi::Value {
    auto net = UnwrapHandle<EmbeddingNet>(info[0], "model");
    Napi::Object o = GetObject(info, 1, "options");
    auto t = std::make_shared<Trainer>();
    t->net = net;
    t->device = ParseDevice(GetString(o, "device"));
    auto grid = GetIntArray(o, "grid");
    if (grid.size() != 2) ThrowType("Expected [gy, gx] for options.grid");
    t->step.gridY = grid[0];
    t->step.gridX = grid[1];
    t->step.kmeansIterations = static_cast<int64_t>(GetNumber(o, "kmeansIterations"));
    t->step.locationWeight = GetNumber(o, "locationWeight");
    t->step.kappa = GetNumber(o, "kappa");
    t->step.useContrastive = GetBool(o, "contrastive");
    t->step.useEmbedding = GetBool(o, "embedding");
    t->step.useSemantic = GetBool(o, "semantic");
    t->step.maskclipPlus = GetBool(o, "maskclipPlus");
    t->step.weightContrastive = GetNumber(o, "weightContrastive");
    t->step.weightEmbedding = GetNumber(o, "weightEmbedding");
    t->step.weightSemantic = GetNumber(o, "weightSemantic");
    t->step.semanticTemperature = GetNumber(o, "semanticTemperature");
    t->step.lossImpl = GetString(o, "lossImpl");
    t->momentum = GetNumber(o, "momentum");
    t->weightDecay = GetNumber(o, "weightDecay");
    t->unknownLr = GetNumber(o, "unknownLr");
    t->mixedPrecision = GetBool(o, "mixedPrecision");
    t->dtype = DtypeFromName(GetString(o, "dtype"), "options");
    t->bank = MemoryBank(static_cast<int64_t>(GetNumber(o, "bankBatches")));
    t->known = OptionalTensorFromJs(o.Get("known"), "known");
    t->unknown = OptionalTensorFromJs(o.Get("unknown"), "unknown");
    t->knownText = OptionalTensorFromJs(o.Get("knownText"), "knownText");
    auto dev = t->device;
    if (t->known.defined()) t->known = L2Normalize(t->known.to(dev, t->dtype), 1);
    if (t->knownText.defined()) t->knownText = t->knownText.to(dev, t->dtype);
    if (t->unknown.defined()) t->unknown = L2Normalize(t->unknown.to(dev, t->dtype), 1);
    t->net->Module().to(dev);
    FloatingTo(t->net->Module(), t->dtype);
    if (o.Has("group") && !o.Get("group").IsUndefined()) t->group = UnwrapHandle<Group>(o.Get("group"), "options.group");
    if (Group* g = DataParallel(*t)) BroadcastState(*t, g);
    return WrapHandle(info.Env(), t);
  });
}

Napi::Value Step(const Napi::CallbackInfo& info) {
  return Guarded(info, "trainer.step", [&]() -> Napi::Value {
    auto t = UnwrapHandle<Trainer>(info[0], "trainer");
    Napi::Object b = GetObject(info, 1, "batch");
    StepBatch batch;
    batch.images = TensorFromJs(b.Get("images"), "batch.images");
    batch.regions = TensorFromJs(b.Get("regions"), "batch.regions");
    batch.ignore = TensorFromJs(b.Get("ignore"), "batch.ignore");
    batch.clip = TensorFromJs(b.Get("clip"), "batch.clip");
    batch.pairs = static_cast<int64_t>(GetNumber(b, "pairs"));
    batch.imageOffset = static_cast<int64_t>(GetNumber(b, "imageOffset"));
    double lr = GetNumber(GetObject(info, 2, "options"), "lr");
    return RunAsync(
        info.Env(), "trainer.step",
        [t, batch, lr]() -> Producer {
          std::lock_guard<std::mutex> lock(t->mutex);
          auto t0 = std::chrono::steady_clock::now();
          auto& module = t->net->Module();
          module.train();
          if (t->unknown.defined()) t->unknown.set_requires_grad(true);
          Group* group = DataParallel(*t);
          SyncBatchNormScope syncBatchNorm(group);
          auto images = batch.images.to(t->device, t->dtype);
          at::Tensor emb;
          {
            AutocastScope autocast(t->mixedPrecision, t->device);
            emb = t->net->Forward(images);
          }
          emb = emb.to(t->dtype);  // losses and k-means in the trainer's type (after bfloat16 autocast too)
          auto bank = t->bank.All(emb.size(1), emb.options());
          StepLosses l = ComputeStepLosses(emb, batch, t->known, t->unknown, bank, t->knownText, t->step, group);
          double loss = l.loss;
          if (!std::isfinite(loss)) {
            throw NativeError(code::kState, "the training loss is " + std::to_string(loss) + " at iteration " +
                                                std::to_string(t->iteration + 1) + "; parameters were not updated");
          }
          module.zero_grad();
          if (l.total.requires_grad()) {
            if (group && l.gathered.defined()) {
              // L_t's gradient w.r.t. every rank's segments, summed over ranks, then back into ours.
              auto gs = torch::autograd::grad({l.total}, {l.gathered}, {}, /*retain_graph=*/true, false, /*allow_unused=*/true)[0];
              std::vector<at::Tensor> buf{gs.defined() ? gs : at::zeros_like(l.gathered)};
              group->AllReduceSum(buf);
              auto mine = buf[0].narrow(0, l.segmentOffset, l.localSegments.size(0));
              torch::autograd::backward({l.total, l.localSegments}, {at::ones_like(l.total), mine});
            } else {
              l.total.backward();
            }
          }
          if (group) AllReduceGradients(*t, group);
          SgdUpdate(*t, lr);
          if (l.unknownLoss.defined()) {
            auto g = torch::autograd::grad({l.unknownLoss}, {t->unknown})[0];
            if (group) {
              std::vector<at::Tensor> buf{g};
              group->AllReduceSum(buf);
            }
            torch::NoGradGuard ng;
            t->unknown = L2Normalize(t->unknown.detach() - t->unknownLr * g, 1);
          }
          if (t->unknown.defined()) t->unknown = t->unknown.detach();
          t->bank.Push(l.segments);
          t->iteration += 1;
          double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          int64_t iteration = t->iteration;
          return [l, loss, seconds, iteration](Napi::Env env) -> Napi::Value {
            Napi::Object r = Napi::Object::New(env);
            r.Set("iteration", iteration);
            r.Set("loss", loss);
            r.Set("contrastive", l.contrastive);
            r.Set("embedding", l.embedding);
            r.Set("semantic", l.semantic);
            r.Set("unknown", l.unknown);
            r.Set("avgsim", l.avgsim);
            r.Set("segments", static_cast<double>(l.numSegments));
            r.Set("seconds", seconds);
            return r;
          };
        },
        GradMode::kGrad);
  });
}

// state(trainer) → {model, momentum, unknown?, bank: [tensors], iteration}: everything a checkpoint holds.
Napi::Value State(const Napi::CallbackInfo& info) {
  return Guarded(info, "trainer.state", [&]() -> Napi::Value {
    auto t = UnwrapHandle<Trainer>(info[0], "trainer");
    return RunAsync(info.Env(), "trainer.state", [t]() -> Producer {
      std::lock_guard<std::mutex> lock(t->mutex);
      StateDict model = ModuleStateDict(t->net->Module(), /*withCounters=*/true, StateDictFloats::kExact);
      StateDict momentum = PrepareStateDictForJs(t->momentumBuffers);
      StateDict extra;
      if (t->unknown.defined()) extra.emplace("unknown", PrepareForJs(t->unknown));
      if (t->known.defined()) extra.emplace("known", PrepareForJs(t->known));
      int i = 0;
      for (auto& e : t->bank.entries()) extra.emplace("bank." + std::to_string(i++), PrepareForJs(e));
      int64_t iteration = t->iteration;
      return [model, momentum, extra, iteration](Napi::Env env) -> Napi::Value {
        Napi::Object r = Napi::Object::New(env);
        r.Set("model", StateDictToJs(env, model));
        r.Set("momentum", StateDictToJs(env, momentum));
        r.Set("extra", StateDictToJs(env, extra));
        r.Set("iteration", static_cast<double>(iteration));
        return r;
      };
    }, GradMode::kNoGrad);
  });
}

// restore(trainer, {model, momentum, extra, iteration}).
Napi::Value Restore(const Napi::CallbackInfo& info) {
  return Guarded(info, "trainer.restore", [&]() -> Napi::Value {
    auto t = UnwrapHandle<Trainer>(info[0], "trainer");
    Napi::Object s = GetObject(info, 1, "state");
    StateDict model = StateDictFromJs(s.Get("model"), "state.model");
    StateDict momentum = StateDictFromJs(s.Get("momentum"), "state.momentum");
    StateDict extra = StateDictFromJs(s.Get("extra"), "state.extra");
    int64_t iteration = static_cast<int64_t>(GetNumber(s, "iteration"));
    return RunAsync(info.Env(), "trainer.restore", [t, model, momentum, extra, iteration]() -> Producer {
      std::lock_guard<std::mutex> lock(t->mutex);
      torch::NoGradGuard ng;
      LoadOptions lo;
      lo.what = "the trainer's network";
      LoadStateDict(t->net->Module(), model, lo);
      t->momentumBuffers.clear();
      for (auto& [k, v] : momentum) t->momentumBuffers.emplace(k, v.to(t->device).clone());
      t->bank.entries().clear();
      for (int i = 0;; ++i) {
        auto it = extra.find("bank." + std::to_string(i));
        if (it == extra.end()) break;
        t->bank.entries().push_back(it->second.to(t->device));
      }
      if (extra.count("unknown")) t->unknown = extra.at("unknown").to(t->device);
      if (extra.count("known")) t->known = extra.at("known").to(t->device);
      t->iteration = iteration;
      return [](Napi::Env env) -> Napi::Value { return env.Undefined(); };
    }, GradMode::kNoGrad);
  });
}

void Init(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "trainer", "create", Create);
  Export(env, exports, "trainer", "step", Step);
  Export(env, exports, "trainer", "state", State);
  Export(env, exports, "trainer", "restore", Restore);
}

}  // namespace
}  // namespace clips4

CLIPS4_MODULE(train_state, clips4::Init);
