// Addon entry point: runs every CLIPS4_MODULE registration.
#include <utility>
#include <vector>

#include "registry.h"

namespace clips4 {
namespace {

std::vector<std::pair<const char*, ModuleInit>>& Modules() {
  static std::vector<std::pair<const char*, ModuleInit>> modules;
  return modules;
}

}  // namespace

Registrar::Registrar(const char* name, ModuleInit init) { Modules().emplace_back(name, init); }

InstanceData& Instance(Napi::Env env) { return *env.GetInstanceData<InstanceData>(); }

void Export(Napi::Env env, Napi::Object exports, const char* ns, const char* name, Napi::Function::Callback fn) {
  Napi::Value existing = exports.Get(ns);
  Napi::Object target = existing.IsObject() ? existing.As<Napi::Object>() : Napi::Object::New(env);
  target.Set(name, Napi::Function::New(env, fn, name));
  exports.Set(ns, target);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<InstanceData>(new InstanceData());
  for (auto& [name, init] : Modules()) init(env, exports);
  return exports;
}

}  // namespace clips4

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return clips4::Init(env, exports); }

NODE_API_MODULE(clips4, InitAddon)
