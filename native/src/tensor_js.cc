#include "tensor_js.h"

#include <cstring>

#include "errors.h"

namespace clips4 {
namespace {

struct DtypeEntry {
  const char* name;
  at::ScalarType type;
  napi_typedarray_type array;
};

constexpr DtypeEntry kDtypes[] = {
    {"float32", at::kFloat, napi_float32_array},  {"float16", at::kHalf, napi_uint16_array},
    {"bfloat16", at::kBFloat16, napi_uint16_array}, {"int32", at::kInt, napi_int32_array},
    {"int64", at::kLong, napi_bigint64_array},     {"uint8", at::kByte, napi_uint8_array},
    {"float64", at::kDouble, napi_float64_array},
};

// "float32, float16, …": the names above, for messages (one list, so a new dtype is named everywhere).
std::string DtypeNames() {
  std::string names;
  for (const auto& e : kDtypes) names += (names.empty() ? "" : ", ") + std::string(e.name);
  return names;
}

const DtypeEntry& EntryFor(at::ScalarType type) {
  for (const auto& e : kDtypes)
    if (e.type == type) return e;
  throw NativeError(code::kDtype, std::string("tensor of dtype ") + c10::toString(type) +
                                      " cannot be returned to JavaScript (supported: " + DtypeNames() + ")");
}

}  // namespace

std::string DtypeName(at::ScalarType type) { return EntryFor(type).name; }

at::ScalarType DtypeFromName(const std::string& name, const char* what) {
  for (const auto& e : kDtypes)
    if (name == e.name) return e.type;
  throw NativeError(code::kDtype,
                    "Expected one of " + DtypeNames() + " for " + what +
                        ".dtype but received " + name,
                    true);
}

at::Tensor TensorFromJs(const Napi::Value& value, const char* name) {
  if (!value.IsObject()) ThrowType(std::string("Expected a tensor object for ") + name, code::kDtype);
  Napi::Object obj = value.As<Napi::Object>();
  Napi::Value dtype_v = obj.Get("dtype");
  Napi::Value shape_v = obj.Get("shape");
  Napi::Value data_v = obj.Get("data");
  if (!dtype_v.IsString() || !shape_v.IsArray() || !data_v.IsTypedArray())
    ThrowType(std::string("Expected {dtype, shape, data} for ") + name, code::kDtype);
  at::ScalarType type = DtypeFromName(dtype_v.As<Napi::String>(), name);
  Napi::TypedArray data = data_v.As<Napi::TypedArray>();
  if (data.TypedArrayType() != EntryFor(type).array)
    ThrowType(std::string("Typed array of ") + name + " does not match its dtype", code::kDtype);
  Napi::Array shape_a = shape_v.As<Napi::Array>();
  std::vector<int64_t> shape(shape_a.Length());
  int64_t numel = 1;
  for (uint32_t i = 0; i < shape_a.Length(); ++i) {
    Napi::Value d = shape_a.Get(i);
    if (!d.IsNumber()) ThrowType(std::string("Shape of ") + name + " must hold numbers", code::kShape);
    shape[i] = d.As<Napi::Number>().Int64Value();
    if (shape[i] < 0) ThrowType(std::string("Shape of ") + name + " has a negative dimension", code::kShape);
    numel *= shape[i];
  }
  if (static_cast<size_t>(numel) != data.ElementLength())
    ThrowType(std::string("Data length of ") + name + " does not match its shape", code::kShape);
  // Copy: the result owns its memory, so the JS array may be collected or changed meanwhile.
  at::Tensor out = at::empty(shape, at::TensorOptions().dtype(type));
  if (numel > 0) {
    auto* src = static_cast<const uint8_t*>(data.ArrayBuffer().Data()) + data.ByteOffset();
    std::memcpy(out.data_ptr(), src, data.ByteLength());
  }
  return out;
}

at::Tensor OptionalTensorFromJs(const Napi::Value& value, const char* name) {
  if (value.IsUndefined() || value.IsNull()) return at::Tensor();
  return TensorFromJs(value, name);
}

at::Tensor PrepareForJs(const at::Tensor& t) {
  EntryFor(t.scalar_type());
  return t.detach().to(at::kCPU).contiguous();
}

Napi::Object TensorToJs(Napi::Env env, const at::Tensor& t) {
  const DtypeEntry& e = EntryFor(t.scalar_type());
  size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, bytes);
  if (bytes > 0) std::memcpy(buf.Data(), t.data_ptr(), bytes);
  Napi::TypedArray arr;
  switch (e.array) {
    case napi_float32_array: arr = Napi::Float32Array::New(env, t.numel(), buf, 0); break;
    case napi_uint16_array: arr = Napi::Uint16Array::New(env, t.numel(), buf, 0); break;
    case napi_int32_array: arr = Napi::Int32Array::New(env, t.numel(), buf, 0); break;
    case napi_bigint64_array: arr = Napi::BigInt64Array::New(env, t.numel(), buf, 0); break;
    case napi_float64_array: arr = Napi::Float64Array::New(env, t.numel(), buf, 0); break;
    case napi_uint8_array: arr = Napi::Uint8Array::New(env, t.numel(), buf, 0); break;
    default: throw NativeError(code::kDtype, std::string("no typed array for dtype ") + e.name);
  }
  Napi::Array shape = Napi::Array::New(env, t.dim());
  for (int64_t i = 0; i < t.dim(); ++i) shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, t.size(i)));
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("dtype", Napi::String::New(env, e.name));
  obj.Set("shape", shape);
  obj.Set("data", arr);
  return obj;
}

StateDict StateDictFromJs(const Napi::Value& value, const char* name) {
  if (!value.IsObject()) ThrowType(std::string("Expected an object of tensors for ") + name);
  Napi::Object obj = value.As<Napi::Object>();
  Napi::Array keys = obj.GetPropertyNames();
  StateDict out;
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string key = keys.Get(i).As<Napi::String>();
    std::string label = std::string(name) + "['" + key + "']";
    out.emplace(key, TensorFromJs(obj.Get(key), label.c_str()));
  }
  return out;
}

StateDict PrepareStateDictForJs(const StateDict& dict) {
  StateDict out;
  for (const auto& [k, v] : dict) out.emplace(k, PrepareForJs(v));
  return out;
}

Napi::Object StateDictToJs(Napi::Env env, const StateDict& dict) {
  Napi::Object obj = Napi::Object::New(env);
  for (const auto& [k, v] : dict) obj.Set(k, TensorToJs(env, v));
  return obj;
}

// Options cross the binding complete: their defaults live in one place on the TypeScript side (the
// training schema, or the wrapper's declared defaults), so a key missing here is a wrapper's bug.
static Napi::Value Required(const Napi::Object& o, const char* key, const char* what) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    ThrowType(std::string("clips4 internal error: the native call received no option '") + key + "' (" + what +
              "); its TypeScript wrapper must pass every option");
  }
  return v;
}

double GetNumber(const Napi::Object& o, const char* key) {
  Napi::Value v = Required(o, key, "a number");
  if (!v.IsNumber()) ThrowType(std::string("Expected a number for ") + key);
  return v.As<Napi::Number>().DoubleValue();
}

bool GetBool(const Napi::Object& o, const char* key) {
  Napi::Value v = Required(o, key, "a boolean");
  if (!v.IsBoolean()) ThrowType(std::string("Expected a boolean for ") + key);
  return v.As<Napi::Boolean>().Value();
}

std::string GetString(const Napi::Object& o, const char* key) {
  Napi::Value v = Required(o, key, "a string");
  if (!v.IsString()) ThrowType(std::string("Expected a string for ") + key);
  return v.As<Napi::String>();
}

std::vector<double> GetNumberArray(const Napi::Object& o, const char* key, size_t length) {
  Napi::Value v = Required(o, key, "an array of numbers");
  const std::string want = std::string("Expected an array of ") + std::to_string(length) + " numbers for " + key;
  if (!v.IsArray() || v.As<Napi::Array>().Length() != length) ThrowType(want);
  Napi::Array a = v.As<Napi::Array>();
  std::vector<double> out;
  for (uint32_t i = 0; i < length; ++i) {
    Napi::Value x = a.Get(i);
    if (!x.IsNumber()) ThrowType(want);
    out.push_back(x.As<Napi::Number>().DoubleValue());
  }
  return out;
}

std::vector<int64_t> GetIntArray(const Napi::Object& o, const char* key) {
  Napi::Value v = Required(o, key, "an array of integers");
  std::vector<int64_t> out;
  if (!v.IsArray()) ThrowType(std::string("Expected an array of integers for ") + key);
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value x = a.Get(i);
    if (!x.IsNumber()) ThrowType(std::string("Expected an array of integers for ") + key);
    out.push_back(x.As<Napi::Number>().Int64Value());
  }
  return out;
}

Napi::Object GetObject(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (info.Length() <= index || !info[index].IsObject()) ThrowType(std::string("Expected an object for ") + what);
  return info[index].As<Napi::Object>();
}

}  // namespace clips4
