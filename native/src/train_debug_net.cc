// A deliberately small embedding network (two convolutions, stride 4) used by tests and tiny
// smoke configurations of the trainer, so the training machinery can be checked in seconds.
// Why it ships in the addon rather than in a test-only build: the tests (trainer, fork safety, the
// training-step reference) must run against the very binary users get — the prebuilt one included —
// and a second build configuration would test another binary. It is ~60 lines, adds no dependency,
// and is reachable only as the binding's `trainer.smallNet` (no public entry point exports it).
#include "seeded.h"
#include "async.h"
#include "handle.h"
#include "registry.h"
#include "tensor_js.h"
#include "tensor_ops.h"
#include "train_net.h"

namespace clips4 {
namespace {

struct SmallNetImpl : torch::nn::Module {
  torch::nn::Conv2d c1{nullptr}, c2{nullptr};
  SmallNetImpl(int64_t width, int64_t dim) {
    c1 = register_module("c1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, width, 3).stride(2).padding(1)));
    c2 = register_module("c2", torch::nn::Conv2d(torch::nn::Conv2dOptions(width, dim, 3).stride(2).padding(1)));
  }
  at::Tensor forward(const at::Tensor& x) { return L2Normalize(c2(torch::relu(c1(x))), 1); }
};

class SmallNet : public EmbeddingNet {
 public:
  SmallNet(int64_t width, int64_t dim) : impl_(std::make_shared<SmallNetImpl>(width, dim)) {}
  at::Tensor Forward(const at::Tensor& images) override { return impl_->forward(images); }
  torch::nn::Module& Module() override { return *impl_; }

 private:
  std::shared_ptr<SmallNetImpl> impl_;
};

// smallNet({width, dim, seed}) → EmbeddingNet handle (deterministic initialisation from the seed).
Napi::Value Create(const Napi::CallbackInfo& info) {
  return Guarded(info, "trainer.smallNet", [&]() -> Napi::Value {
    Napi::Object o = GetObject(info, 0, "options");
    int64_t width = static_cast<int64_t>(GetNumber(o, "width"));
    int64_t dim = static_cast<int64_t>(GetNumber(o, "dim"));
    uint64_t seed = static_cast<uint64_t>(GetNumber(o, "seed"));
    std::shared_ptr<EmbeddingNet> net = Seeded(seed, [&] { return std::make_shared<SmallNet>(width, dim); });
    return WrapHandle(info.Env(), net);
  });
}

void Init(Napi::Env env, Napi::Object exports) { Export(env, exports, "trainer", "smallNet", Create); }

}  // namespace
}  // namespace clips4

CLIPS4_MODULE(train_debug_net, clips4::Init);
