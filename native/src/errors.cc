#include "errors.h"

#include <cstdlib>
#include <cstring>

#include <c10/util/Exception.h>

namespace clips4 {
namespace {

bool DebugMessages() {
  const char* v = std::getenv("CLIPS4_DEBUG");
  return v != nullptr && std::strcmp(v, "") != 0 && std::strcmp(v, "0") != 0;
}

// LibTorch's messages for device problems are long; recognise the "asked for CUDA without CUDA" case.
bool LooksLikeMissingCuda(const std::string& msg) {
  return msg.find("CUDA") != std::string::npos &&
         (msg.find("not available") != std::string::npos || msg.find("no CUDA") != std::string::npos ||
          msg.find("without CUDA") != std::string::npos || msg.find("not compiled") != std::string::npos);
}

}  // namespace

ErrorInfo TranslateCurrentException(const char* call) {
  try {
    throw;
  } catch (const NativeError& e) {
    return {e.code(), e.what(), e.type_error()};
  } catch (const c10::OutOfMemoryError& e) {
    return {code::kOom, std::string("out of memory in ") + call + ": " +
                            (DebugMessages() ? e.what() : e.what_without_backtrace())};
  } catch (const c10::Error& e) {
    std::string msg = DebugMessages() ? e.what() : e.what_without_backtrace();
    return {LooksLikeMissingCuda(msg) ? code::kNoCuda : code::kNative, msg};
  } catch (const std::bad_alloc&) {
    return {code::kOom, std::string("out of memory in ") + call};
  } catch (const std::exception& e) {
    return {code::kNative, e.what()};
  } catch (...) {
    return {code::kNative, std::string("unknown native error in ") + call};
  }
}

Napi::Error MakeJsError(Napi::Env env, const ErrorInfo& info) {
  Napi::Error err = info.type_error ? Napi::TypeError::New(env, info.message) : Napi::Error::New(env, info.message);
  err.Set("code", Napi::String::New(env, info.code));
  return err;
}

void ThrowType(const std::string& message, const char* error_code) { throw NativeError(error_code, message, true); }

}  // namespace clips4
