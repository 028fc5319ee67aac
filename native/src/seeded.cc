#include "seeded.h"

namespace clips4 {

std::mutex& DefaultGeneratorMutex() {
  static std::mutex m;
  return m;
}

}  // namespace clips4
