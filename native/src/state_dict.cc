#include "state_dict.h"

#include <sstream>
#include <vector>

#include "errors.h"

namespace clips4 {

static bool EndsWithAny(const std::string& s, const std::set<std::string>& suffixes) {
  for (const auto& x : suffixes)
    if (s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0) return true;
  return false;
}

void LoadStateDict(torch::nn::Module& module, const StateDict& sd, const LoadOptions& o) {
  torch::NoGradGuard ng;
  std::vector<std::string> missing, unexpected;
  std::set<std::string> used;
  auto copy = [&](const std::string& name, at::Tensor& target) {
    const std::string key = o.prefix + name;
    auto it = sd.find(key);
    if (it == sd.end()) {
      if (!EndsWithAny(key, o.optionalSuffixes)) missing.push_back(key);
      return;
    }
    used.insert(key);
    const at::Tensor& src = it->second;
    // float64 is read only into float64 (a float64 training run's checkpoint, StateDictFloats::kExact).
    if (src.scalar_type() == at::kDouble && target.scalar_type() != at::kDouble)
      throw NativeError(code::kWeights, "tensor '" + key + "' is float64; clips4 reads float32, float16 and bfloat16 weights (convert the file)");
    if (src.sizes() != target.sizes()) {
      std::ostringstream m;
      m << "tensor '" << key << "' has shape " << src.sizes() << " but " << o.what << " needs " << target.sizes();
      throw NativeError(code::kWeights, m.str());
    }
    target.copy_(src.to(target.scalar_type()));
  };
  for (auto& p : module.named_parameters(true)) copy(p.key(), p.value());
  for (auto& b : module.named_buffers(true)) copy(b.key(), b.value());
  if (!o.allowUnexpected)
    for (auto& [k, v] : sd)
      if (!used.count(k) && k.rfind(o.prefix, 0) == 0 && !o.ignoredKeys.count(k) && !EndsWithAny(k, o.optionalSuffixes)) unexpected.push_back(k);
  if (missing.empty() && unexpected.empty()) return;
  std::string msg = "the weights do not fit " + o.what + ":";
  auto list = [&](const char* what, const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    msg += std::string(" ") + what;
    for (size_t i = 0; i < keys.size() && i < 10; ++i) msg += (i ? ", '" : " '") + keys[i] + "'";
    if (keys.size() > 10) msg += " and " + std::to_string(keys.size() - 10) + " more";
    msg += ";";
  };
  list("missing", missing);
  list("unexpected", unexpected);
  msg.pop_back();
  throw NativeError(code::kWeights, msg);
}

StateDict ModuleStateDict(torch::nn::Module& module, bool withCounters, StateDictFloats floats) {
  auto out = [floats](const at::Tensor& t) { return floats == StateDictFloats::kExact ? t : t.to(at::kFloat); };
  StateDict sd;
  for (auto& p : module.named_parameters(true)) sd.emplace(p.key(), PrepareForJs(out(p.value())));
  for (auto& b : module.named_buffers(true)) {
    bool counter = b.key().find("num_batches_tracked") != std::string::npos;
    if (counter && !withCounters) continue;
    sd.emplace(b.key(), PrepareForJs(counter ? b.value() : out(b.value())));
  }
  return sd;
}

}  // namespace clips4
