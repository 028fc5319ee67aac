// The CPU fast paths' off switches (CLIPS4_ONEDNN, CLIPS4_WINOGRAD, CLIPS4_FUSED_SGD): each is on
// unless its variable is "0", read once per process by the caller's static.
#pragma once

#include <cstdlib>
#include <cstring>

namespace clips4 {

inline bool SwitchedOn(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr || std::strcmp(v, "0") != 0;
}

}  // namespace clips4
