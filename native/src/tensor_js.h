// Tensors across the boundary. A JS tensor is a plain object {dtype, shape, data} (src/tensor.ts).
// TypeScript validates dtype names, shapes and lengths with precise messages before calling; this
// side only checks types again so that a wrong call can never read out of bounds.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <napi.h>
#include <torch/torch.h>

namespace clips4 {

// Copies a JS tensor into a new, owned CPU tensor (so asynchronous work never touches JS memory).
at::Tensor TensorFromJs(const Napi::Value& value, const char* name);

// Same, or an undefined tensor when the value is undefined/null.
at::Tensor OptionalTensorFromJs(const Napi::Value& value, const char* name);

// Makes a CPU, contiguous copy ready for TensorToJs (call in the worker thread: it may be a device copy).
at::Tensor PrepareForJs(const at::Tensor& t);

// Creates the JS tensor object (main thread). `t` must come from PrepareForJs.
Napi::Object TensorToJs(Napi::Env env, const at::Tensor& t);

// A JS object of tensors (a state dict) ↔ name → tensor map. Copies, like TensorFromJs.
using StateDict = std::map<std::string, at::Tensor>;
StateDict StateDictFromJs(const Napi::Value& value, const char* name);
// Prepares every tensor (worker thread) / converts them (main thread).
StateDict PrepareStateDictForJs(const StateDict& dict);
Napi::Object StateDictToJs(Napi::Env env, const StateDict& dict);

std::string DtypeName(at::ScalarType type);
at::ScalarType DtypeFromName(const std::string& name, const char* what);

// Small readers for option objects (TypeScript has validated values already). Every key is required:
// no setting has a default in C++ (a missing key throws a TypeError naming it).
double GetNumber(const Napi::Object& o, const char* key);
bool GetBool(const Napi::Object& o, const char* key);
std::string GetString(const Napi::Object& o, const char* key);
std::vector<int64_t> GetIntArray(const Napi::Object& o, const char* key);
// An array of exactly `length` numbers.
std::vector<double> GetNumberArray(const Napi::Object& o, const char* key, size_t length);
Napi::Object GetObject(const Napi::CallbackInfo& info, size_t index, const char* what);

}  // namespace clips4
