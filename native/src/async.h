// Asynchronous native calls: one AsyncWorker per call, a Promise for JS. The work function runs
// on a libuv pool thread and returns a "producer" that builds the JS result on the main thread.
// Everything the work touches must be owned by the closure (tensors copied from JS, shared_ptrs
// to models), never JS memory.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <utility>

#include <ATen/Parallel.h>
#include <napi.h>
#include <torch/torch.h>

#include "errors.h"

namespace clips4 {

// The intra-op thread count last asked for through runtime.setNumThreads (0: never; LibTorch's
// default holds). OpenMP keeps the count per thread, so every worker adopts it before its work.
inline std::atomic<int> gRequestedThreads{0};

// at::set_num_threads also rebuilds LibTorch's pthreadpool and clears oneDNN's primitive cache: done
// on every call it cost 7.5 ms per call at 2 threads (`npm run bench latency`, a 16×16 product:
// 0.15 ms without), so a worker applies the count only when its own differs.
inline void AdoptRequestedThreads() {
  const int want = gRequestedThreads.load();
  if (want > 0 && at::get_num_threads() != want) at::set_num_threads(want);
}

using Producer = std::function<Napi::Value(Napi::Env)>;
using Work = std::function<Producer()>;

// How autograd is set for the worker thread. Guards are thread-local, so they are set here, inside
// the worker, never on the main thread.
enum class GradMode {
  kInference,  // c10::InferenceMode: fastest, results cannot enter autograd later
  kNoGrad,     // torch::NoGradGuard: for work that creates state used by later training
  kGrad,       // autograd on: training steps
};

class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* name, Work work, GradMode mode)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), name_(name),
        work_(std::move(work)), mode_(mode) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      AdoptRequestedThreads();
      switch (mode_) {
        case GradMode::kInference: {
          c10::InferenceMode guard;
          producer_ = work_();
          break;
        }
        case GradMode::kNoGrad: {
          torch::NoGradGuard guard;
          producer_ = work_();
          break;
        }
        case GradMode::kGrad: {
          torch::AutoGradMode guard(true);
          producer_ = work_();
          break;
        }
      }
    } catch (...) {
      error_ = TranslateCurrentException(name_.c_str());
      SetError(error_.message);
    }
    work_ = nullptr;  // release captured inputs as soon as possible, on this thread
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(producer_(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (...) {
      deferred_.Reject(MakeJsError(env, TranslateCurrentException(name_.c_str())).Value());
    }
    producer_ = nullptr;
  }

  void OnError(const Napi::Error&) override {
    deferred_.Reject(MakeJsError(Env(), error_).Value());
    producer_ = nullptr;
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string name_;
  Work work_;
  Producer producer_;
  GradMode mode_;
  ErrorInfo error_;
};

// Queues `work` and returns its Promise.
inline Napi::Value RunAsync(Napi::Env env, const char* name, Work work, GradMode mode = GradMode::kInference) {
  auto* worker = new PromiseWorker(env, name, std::move(work), mode);
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

// Wraps a synchronous binding function so that any native exception becomes a JS error with its code
// (node-addon-api only converts Napi::Error by itself).
template <typename F>
Napi::Value Guarded(const Napi::CallbackInfo& info, const char* name, F&& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw MakeJsError(info.Env(), TranslateCurrentException(name));
  }
}

}  // namespace clips4
