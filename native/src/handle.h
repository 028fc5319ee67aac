// Native objects (models, trainer state) handed to JS as opaque handles: a Napi::External that
// owns a std::shared_ptr<T>, tagged with T's type tag so a handle of the wrong kind is refused.
// Async work copies the shared_ptr, so an object lives until its last call finishes even if JS
// drops the handle meanwhile.
#pragma once

#include <memory>
#include <string>

#include <napi.h>

#include "errors.h"

namespace clips4 {

// Each handle type declares a unique tag: `static constexpr napi_type_tag kTag = {0x..., 0x...};`
template <typename T>
Napi::Value WrapHandle(Napi::Env env, std::shared_ptr<T> object) {
  auto* holder = new std::shared_ptr<T>(std::move(object));
  auto ext = Napi::External<std::shared_ptr<T>>::New(env, holder,
                                                     [](Napi::Env, std::shared_ptr<T>* p) { delete p; });
  ext.TypeTag(&T::kTag);
  return ext;
}

template <typename T>
std::shared_ptr<T> UnwrapHandle(const Napi::Value& value, const char* what) {
  if (!value.IsExternal()) ThrowType(std::string("Expected a native handle for ") + what);
  auto ext = value.As<Napi::External<std::shared_ptr<T>>>();
  if (!ext.CheckTypeTag(&T::kTag)) ThrowType(std::string("Expected a handle of the right kind for ") + what);
  return *ext.Data();
}

}  // namespace clips4
