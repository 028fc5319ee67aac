// Each native source file registers what it exports with CLIPS4_MODULE(fn); addon.cc calls them
// all at load time. A new capability is a new file: no central list to edit.
#pragma once

#include <map>
#include <string>

#include <napi.h>

namespace clips4 {

using ModuleInit = void (*)(Napi::Env env, Napi::Object exports);

struct Registrar {
  Registrar(const char* name, ModuleInit init);
};

// Per-environment data (worker threads get their own): class constructors by name.
struct InstanceData {
  std::map<std::string, Napi::FunctionReference> constructors;
};

InstanceData& Instance(Napi::Env env);

// Sets exports[ns][name] = fn, creating the namespace object when needed.
void Export(Napi::Env env, Napi::Object exports, const char* ns, const char* name, Napi::Function::Callback fn);

}  // namespace clips4

#define CLIPS4_MODULE(name, init) static ::clips4::Registrar clips4_registrar_##name(#name, init)
