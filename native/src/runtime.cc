// Runtime facts and settings: versions, threads, devices, BLAS, plus two small compute calls used
// by the doctor, the benchmarks and the smoke tests (matmul, sgemm timing).
#include <dlfcn.h>

#include <chrono>

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "seeded.h"
#include "async.h"
#include "device.h"
#include "registry.h"
#include "sgd_cpu.h"
#include "tensor_js.h"
#include "winograd_conv.h"

namespace clips4 {
namespace {

#ifndef CLIPS4_TORCH_SOURCE
#ifdef CLIPS4_PREBUILD
#define CLIPS4_TORCH_SOURCE "prebuild (node-gyp, binding.gyp)"
#else
#define CLIPS4_TORCH_SOURCE "unknown"
#endif
#endif

Napi::Value Versions(const Napi::CallbackInfo& info) {
  return Guarded(info, "runtime.versions", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("torch", Napi::String::New(env, TORCH_VERSION));
    o.Set("torchSource", Napi::String::New(env, CLIPS4_TORCH_SOURCE));
    o.Set("cxx11Abi", Napi::Boolean::New(env, _GLIBCXX_USE_CXX11_ABI != 0));
    o.Set("napi", Napi::Number::New(env, NAPI_VERSION));
    bool cuda = torch::cuda::is_available();
    o.Set("cuda", Napi::Boolean::New(env, cuda));
    o.Set("cudaDevices", Napi::Number::New(env, cuda ? static_cast<double>(torch::cuda::device_count()) : 0));
    o.Set("convolutions", Napi::String::New(env, WinogradStatus()));
    o.Set("sgd", Napi::String::New(env, FusedSgdStatus()));
#ifdef CLIPS4_WITH_C10D
    o.Set("distributed", Napi::Boolean::New(env, true));
#else
    o.Set("distributed", Napi::Boolean::New(env, false));
#endif
    return o;
  });
}

Napi::Value ShowConfig(const Napi::CallbackInfo& info) {
  return Guarded(info, "runtime.showConfig", [&]() -> Napi::Value {
    return Napi::String::New(info.Env(), at::show_config() + "\n" + at::get_parallel_info());
  });
}

// The kernel set OpenBLAS chose at load time (openblas_get_corename), or null when the BLAS in this
// process is not OpenBLAS (MKL in PyTorch's own LibTorch builds, reference BLAS).
Napi::Value BlasCore(const Napi::CallbackInfo& info) {
  return Guarded(info, "runtime.blasCore", [&]() -> Napi::Value {
    using CoreName = char* (*)();
    auto fn = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
    const char* name = fn ? fn() : nullptr;
    return name ? Napi::Value(Napi::String::New(info.Env(), name)) : info.Env().Null();
  });
}

// OpenBLAS's threading, and what clips4 did about it at load time. OpenBLAS's pthreads build keeps
// its own worker pool and registers a fork handler (blas_thread_shutdown_) that joins those
// workers. With OpenBLAS 0.3.21 (Debian 12) the handler does not wait for a worker that is still
// running a job: the worker, when done, stores "no job" over the handler's "exit" request and goes
// back to sleep, and the forking thread waits in pthread_join for ever. Node forks on its main
// thread for every child_process call, so two clips4 computations in flight and one spawn hang the
// whole process. The OpenMP build has no such pool or handler (its threads are libgomp's, which
// LibTorch and oneDNN use already): the build links it where it is installed (CMakeLists.txt). If
// the pthreads build is what got loaded anyway, it is limited to one thread: its workers then never
// hold a job, so the fork handler only ever joins idle threads.
struct BlasThreading {
  const char* parallel = nullptr;  // "sequential", "pthreads", "openmp"; nullptr: not OpenBLAS
  int threadsBefore = 0;
  bool limited = false;
};

BlasThreading& LoadedBlas() {
  static BlasThreading state = [] {
    BlasThreading s;
    using GetInt = int (*)();
    using SetInt = void (*)(int);
    auto parallel = reinterpret_cast<GetInt>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
    auto get = reinterpret_cast<GetInt>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    auto set = reinterpret_cast<SetInt>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (parallel == nullptr || get == nullptr || set == nullptr) return s;
    static const char* const kinds[] = {"sequential", "pthreads", "openmp"};
    int kind = parallel();
    s.parallel = kind >= 0 && kind <= 2 ? kinds[kind] : "unknown";
    s.threadsBefore = get();
    if (kind == 1 && s.threadsBefore > 1) {
      set(1);
      s.limited = true;
    }
    return s;
  }();
  return state;
}

Napi::Value BlasThreadingInfo(const Napi::CallbackInfo& info) {
  return Guarded(info, "runtime.blasThreading", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const BlasThreading& s = LoadedBlas();
    if (s.parallel == nullptr) return env.Null();
    Napi::Object o = Napi::Object::New(env);
    o.Set("parallel", s.parallel);
    o.Set("threadsBefore", s.threadsBefore);
    o.Set("limited", s.limited);
    return o;
  });
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  return Guarded(info, "runtime.setNumThreads", [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsNumber()) ThrowType("Expected an integer for threads");
    const int n = info[0].As<Napi::Number>().Int32Value();
    at::set_num_threads(n);
    gRequestedThreads.store(n);
    return info.Env().Undefined();
  });
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Guarded(info, "runtime.getNumThreads",
                 [&]() -> Napi::Value { return Napi::Number::New(info.Env(), at::get_num_threads()); });
}

// The intra-op thread count native work runs with: read on a worker thread, after it adopted the
// process setting (OpenMP keeps one count per thread).
Napi::Value WorkerThreads(const Napi::CallbackInfo& info) {
  return Guarded(info, "runtime.workerThreads", [&]() -> Napi::Value {
    return RunAsync(info.Env(), "runtime.workerThreads", []() -> Producer {
      const int n = at::get_num_threads();
      return [n](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, n); };
    });
  });
}

Napi::Value CheckDevice(const Napi::CallbackInfo& info) {
  return Guarded(info, "runtime.checkDevice", [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) ThrowType("Expected a string for device");
    return Napi::String::New(info.Env(), ParseDevice(info[0].As<Napi::String>()).str());
  });
}

// matmul(a [M,K], b [K,N], {device}) → a·b; the smallest real forward computation.
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  return Guarded(info, "runtime.matmul", [&]() -> Napi::Value {
    at::Tensor a = TensorFromJs(info[0], "a");
    at::Tensor b = TensorFromJs(info[1], "b");
    std::string device = GetString(GetObject(info, 2, "options"), "device");
    return RunAsync(info.Env(), "runtime.matmul", [a, b, device]() -> Producer {
      c10::Device dev = ParseDevice(device);
      at::Tensor out = PrepareForJs(at::matmul(a.to(dev), b.to(dev)));
      return [out](Napi::Env env) -> Napi::Value { return TensorToJs(env, out); };
    });
  });
}

// sgemm({n, iterations, device}) → {seconds, gflops}: float32 n×n matmul timing (after a warm-up).
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  return Guarded(info, "runtime.sgemm", [&]() -> Napi::Value {
    Napi::Object o = GetObject(info, 0, "options");
    int64_t n = static_cast<int64_t>(GetNumber(o, "n"));
    int64_t iterations = static_cast<int64_t>(GetNumber(o, "iterations"));
    std::string device = GetString(o, "device");
    return RunAsync(info.Env(), "runtime.sgemm", [n, iterations, device]() -> Producer {
      c10::Device dev = ParseDevice(device);
      auto opts = at::TensorOptions().dtype(at::kFloat).device(dev);
      at::Tensor a, b, c = at::empty({n, n}, opts);
      {
        std::lock_guard<std::mutex> lock(DefaultGeneratorMutex());  // not in a seeded construction's draws
        a = at::randn({n, n}, opts);
        b = at::randn({n, n}, opts);
      }
      at::mm_out(c, a, b);
      if (dev.is_cuda()) torch::cuda::synchronize();
      auto t0 = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < iterations; ++i) at::mm_out(c, a, b);
      if (dev.is_cuda()) torch::cuda::synchronize();
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      double gflops = 2.0 * n * n * n * iterations / seconds / 1e9;
      return [seconds, gflops](Napi::Env env) -> Napi::Value {
        Napi::Object r = Napi::Object::New(env);
        r.Set("seconds", seconds);
        r.Set("gflops", gflops);
        return r;
      };
    });
  });
}

void Init(Napi::Env env, Napi::Object exports) {
  LoadedBlas();  // before any computation can start
  Export(env, exports, "runtime", "blasThreading", BlasThreadingInfo);
  Export(env, exports, "runtime", "versions", Versions);
  Export(env, exports, "runtime", "showConfig", ShowConfig);
  Export(env, exports, "runtime", "blasCore", BlasCore);
  Export(env, exports, "runtime", "setNumThreads", SetNumThreads);
  Export(env, exports, "runtime", "getNumThreads", GetNumThreads);
  Export(env, exports, "runtime", "workerThreads", WorkerThreads);
  Export(env, exports, "runtime", "checkDevice", CheckDevice);
  Export(env, exports, "runtime", "matmul", Matmul);
  Export(env, exports, "runtime", "sgemm", Sgemm);
}

}  // namespace
}  // namespace clips4

CLIPS4_MODULE(runtime, clips4::Init);
