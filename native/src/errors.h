// One place where native failures become JS errors. Every exception thrown while a call runs is
// caught by the call's worker and handed to Translate(), which produces a NativeError: a stable
// `code` for programs and a message for people.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

#include <napi.h>

namespace clips4 {

// Error codes shared with src/errors.ts.
namespace code {
constexpr const char* kNative = "ERR_CLIPS4_NATIVE";
constexpr const char* kShape = "ERR_CLIPS4_SHAPE";
constexpr const char* kDtype = "ERR_CLIPS4_DTYPE";
constexpr const char* kOom = "ERR_CLIPS4_OOM";
constexpr const char* kNoCuda = "ERR_CLIPS4_NO_CUDA";
constexpr const char* kInvalidArg = "ERR_CLIPS4_INVALID_ARG";
constexpr const char* kWeights = "ERR_CLIPS4_WEIGHTS";
constexpr const char* kState = "ERR_CLIPS4_STATE";
}  // namespace code

// An error raised deliberately by clips4's native code (as opposed to one LibTorch raised).
class NativeError : public std::runtime_error {
 public:
  NativeError(std::string code, const std::string& message, bool type_error = false)
      : std::runtime_error(message), code_(std::move(code)), type_error_(type_error) {}
  const std::string& code() const { return code_; }
  bool type_error() const { return type_error_; }

 private:
  std::string code_;
  bool type_error_;
};

// What a failure looks like once it has been translated, ready to become a JS Error.
struct ErrorInfo {
  std::string code;
  std::string message;
  bool type_error = false;
};

// Translates the exception currently being handled (call inside a catch block). `call` names the
// native entry point for the "unknown native error" case.
ErrorInfo TranslateCurrentException(const char* call);

// Creates the JS error object (Error or TypeError) with its `code` property.
Napi::Error MakeJsError(Napi::Env env, const ErrorInfo& info);

// Throws a JS TypeError with the given code from synchronous binding code.
[[noreturn]] void ThrowType(const std::string& message, const char* error_code = code::kInvalidArg);

}  // namespace clips4
