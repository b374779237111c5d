#include "ipw/core/types.h"

#include <algorithm>
#include <cmath>

#include "ipw/core/error.h"
#include "ipw/core/stats.h"

namespace ipw {

double Completion::ttft_s() const {
  double first = -1;
  if (first_token_s >= 0) first = first_token_s;
  if (first_reasoning_s >= 0 && (first < 0 || first_reasoning_s < first)) first = first_reasoning_s;
  return first < 0 ? -1 : first - start_s;
}

double Completion::tpot_s() const {
  double ttft = ttft_s();
  if (ttft < 0 || completion_tokens < 2) return -1;
  return (latency_s() - ttft) / static_cast<double>(completion_tokens - 1);
}

static std::vector<double> gaps(const std::vector<double>& t) {
  std::vector<double> g;
  for (size_t i = 1; i < t.size(); ++i) g.push_back(t[i] - t[i - 1]);
  return g;
}

double Completion::itl_mean_s() const {
  auto g = gaps(token_times_s);
  return g.empty() ? -1 : mean(g);
}

double Completion::itl_p99_s() const {
  auto g = gaps(token_times_s);
  return g.empty() ? -1 : percentile(g, 99);
}

ModelRef parse_model_ref(const std::string& ref) {
  auto slash = ref.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == ref.size())
    fail(Errc::usage,
         "model '{}' is not of the form provider/model (e.g. vllm/Qwen/Qwen3-8B, ollama/qwen3:8b)",
         ref);
  return {ref.substr(0, slash), ref.substr(slash + 1)};
}

}  // namespace ipw
