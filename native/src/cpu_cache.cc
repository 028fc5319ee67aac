// A caching allocator for large CPU tensors, installed as ATen's CPU allocator when the addon loads.
//
// Why: glibc serves every allocation above its mmap threshold (at most 32 MiB) with fresh pages
// and unmaps them on free, so each such tensor is page-faulted and zeroed by the kernel again.
// A ViT-B/16 at 448² allocates attention maps of 30 MiB per image per layer: at batch 1 they stay
// on the heap, at batch 2 (59 MiB) every one goes through mmap and the forward pass measured 2.5x
// slower per image, most of it system time; inference and training loops repeat the same shapes,
// so freed blocks are kept and handed out again. Blocks under 256 KiB go straight to c10's own
// allocation (k-means' ~1 MB score maps, one per iteration, were still page-faulted with a 1 MiB
// floor). The cache holds at most CLIPS4_CPU_CACHE_MB (default 4096) MiB of free blocks;
// CLIPS4_CPU_CACHE_MB=0 leaves ATen's allocator in place.
// A request takes the smallest free block that fits it with at most a quarter to spare, not only
// one of its exact size: a dataset of images of many sizes (VOC: 100–500 px sides) asks for a new
// size at nearly every image, and exact-size reuse kept one more block per size, so memory grew
// with the number of images up to the limit (measured: +287 MB after preparing 20,000 images vs
// 1,000). With the tolerance the free blocks cover the range of sizes once.
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include <c10/core/Allocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include "async.h"
#include "registry.h"

namespace clips4 {
namespace {

constexpr size_t kMinCached = size_t(256) << 10;  // smaller blocks are not cached
constexpr size_t kGranule = size_t(1) << 16;    // sizes are rounded up to 64 KiB
constexpr size_t kSpare = 4;                     // a reused block is at most 1 + 1/kSpare times the request

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(size_t limit) : limit_(limit) {}

  // LibTorch 1.13–2.2 declare allocate const, 2.3+ non-const: one of the two overrides it.
  c10::DataPtr allocate(size_t n) const { return Allocate(n); }
  c10::DataPtr allocate(size_t n) { return Allocate(n); }
  // Pure virtual from LibTorch 2.3 on (absent before).
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }

  struct Stats {
    size_t cachedBytes, hits, misses;
  };
  Stats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {cached_, hits_, misses_};
  }
  void Empty() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, ptr] : free_) c10::free_cpu(ptr);
    free_.clear();
    cached_ = 0;
  }

 private:
  // raw_allocate/raw_deallocate (used by some ATen kernels) need the context to be the data
  // pointer and a raw deleter, so the sizes of the blocks in use are looked up by pointer.
  c10::DeleterFnPtr raw_deleter() const override { return &Release; }

  c10::DataPtr Allocate(size_t n) const {
    auto* self = const_cast<CachingCpuAllocator*>(this);
    const c10::Device cpu(c10::DeviceType::CPU);
    if (n < kMinCached) {
      void* p = c10::alloc_cpu(n);
      return {p, p, &Release, cpu};
    }
    const size_t size = (n + kGranule - 1) / kGranule * kGranule;
    void* p = self->Take(size);
    return {p, p, &Release, cpu};
  }

  // The smallest free block of `size` to size + size/4 (or a new one), recorded as in use.
  void* Take(size_t size) {
    std::unique_lock<std::mutex> lock(mutex_);
    void* p = nullptr;
    auto it = free_.lower_bound(size);
    if (it != free_.end() && it->first <= size + size / kSpare) {
      p = it->second;
      size = it->first;
      free_.erase(it);
      cached_ -= size;
      ++hits_;
    } else {
      ++misses_;
      lock.unlock();
      p = c10::alloc_cpu(size);
      lock.lock();
    }
    used_.emplace(p, size);
    return p;
  }

  static void Release(void* p);

  void Keep(void* p) {
    std::unique_lock<std::mutex> lock(mutex_);
    auto it = used_.find(p);
    if (it != used_.end()) {
      const size_t size = it->second;
      used_.erase(it);
      if (cached_ + size <= limit_) {
        free_.emplace(size, p);
        cached_ += size;
        return;
      }
    }
    lock.unlock();
    c10::free_cpu(p);  // a small block, or the cache is full
  }

  const size_t limit_;
  std::mutex mutex_;
  std::multimap<size_t, void*> free_;
  std::unordered_map<void*, size_t> used_;
  size_t cached_ = 0, hits_ = 0, misses_ = 0;
};

// Process-wide and never destroyed: tensors may be freed after static destructors have run.
CachingCpuAllocator* Installed() {
  static CachingCpuAllocator* allocator = []() -> CachingCpuAllocator* {
    const char* env = std::getenv("CLIPS4_CPU_CACHE_MB");
    const long mb = env != nullptr ? std::strtol(env, nullptr, 10) : 4096;
    if (mb <= 0) return nullptr;
    auto* a = new CachingCpuAllocator(static_cast<size_t>(mb) << 20);
    c10::SetAllocator(c10::DeviceType::CPU, a, /*priority=*/1);
    return a;
  }();
  return allocator;
}

void CachingCpuAllocator::Release(void* p) {
  if (p != nullptr) Installed()->Keep(p);
}

// cpuCache() → {enabled, cachedBytes, hits, misses}
Napi::Value CpuCache(const Napi::CallbackInfo& info) {
  return Guarded(info, "runtime.cpuCache", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    auto* a = Installed();
    auto s = a != nullptr ? a->stats() : CachingCpuAllocator::Stats{0, 0, 0};
    o.Set("enabled", a != nullptr);
    o.Set("cachedBytes", static_cast<double>(s.cachedBytes));
    o.Set("hits", static_cast<double>(s.hits));
    o.Set("misses", static_cast<double>(s.misses));
    return o;
  });
}

// emptyCpuCache(): returns the cached free blocks to the system.
Napi::Value EmptyCpuCache(const Napi::CallbackInfo& info) {
  return Guarded(info, "runtime.emptyCpuCache", [&]() -> Napi::Value {
    if (auto* a = Installed()) a->Empty();
    return info.Env().Undefined();
  });
}

void Init(Napi::Env env, Napi::Object exports) {
  Installed();
  Export(env, exports, "runtime", "cpuCache", CpuCache);
  Export(env, exports, "runtime", "emptyCpuCache", EmptyCpuCache);
}

}  // namespace
}  // namespace clips4

CLIPS4_MODULE(cpu_cache, clips4::Init);
