// timing_truth: does ipw measure what the server did? The in-process fixture server answers with
// known delays (time to first token and inter-token gaps); the OpenAI backend measures TTFT and
// end-to-end latency through real HTTP streaming. Reported, as |measured - injected| in ms:
//   - against the delays the fixture scheduled (includes the server's own timer slop),
//   - the server's timer slop alone (when it actually wrote vs when it was due),
//   - the client's error alone: measured intervals against the server's actual write times
//     (both are on the same monotonic clock, so the difference is what ipw adds or loses).
// Target: p99 < 1 ms. Prints PASS/FAIL and always exits 0.
#include <atomic>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fixture_server.h"
#include "ipw/backends/backend.h"
#include "ipw/core/clock.h"
#include "ipw/core/error.h"
#include "ipw/core/stats.h"

using namespace ipw;

namespace {

struct Combo {
  double ttft_ms, itl_ms;
};
constexpr int kTokens = 6;
constexpr int kPerCombo = 11;
// One client thread: requests run one after another, as a latency benchmark runs them; a second
// thread would add its own scheduling noise on a small machine.
constexpr int kThreads = 1;
const Combo kCombos[] = {{50, 5}, {50, 10}, {50, 20}, {100, 5}, {100, 10}, {100, 20}, {200, 5}, {200, 10}, {200, 20}};

struct Sample {
  int combo;
  Completion c;
};

void report(const char* name, std::vector<double> abs_ms, bool gated) {
  double p50 = percentile(abs_ms, 50), p99 = percentile(abs_ms, 99);
  std::printf("%s_p50_ms: %.3f\n", name, p50);
  if (gated) std::printf("%s_p99_ms: %.3f (target: < 1, %s)\n", name, p99, p99 < 1.0 ? "PASS" : "FAIL");
  else std::printf("%s_p99_ms: %.3f\n", name, p99);
}

}  // namespace

int main() {
  try {
    fixture::FixtureServer server;
    Json rules = Json::array();
    for (size_t i = 0; i < std::size(kCombos); ++i)
      rules.push_back({{"match", "combo-" + std::to_string(i) + " "},
                       {"answer", "one two three four five six"},
                       {"ttft_ms", kCombos[i].ttft_ms},
                       {"itl_ms", kCombos[i].itl_ms}});
    server.set_script({{"rules", rules}});

    backends::BackendOptions opt;
    opt.base_url = server.base_url();
    opt.max_retries = 0;
    auto backend = backends::make_backend({"vllm", "timing-truth"}, opt);
    // Each worker opens its connection with an unmeasured request first: connection setup is a
    // cost of the network, not an error of the measurement.
    auto warm_up = [&] {
      backends::ChatRequest req;
      req.messages = {{"user", "warm-up"}};
      backend->complete(req);
    };

    // Work list: every combination kPerCombo times, interleaved.
    std::vector<int> work;
    for (int r = 0; r < kPerCombo; ++r)
      for (size_t i = 0; i < std::size(kCombos); ++i) work.push_back(static_cast<int>(i));
    std::atomic<size_t> next{0};
    std::mutex mu;
    std::map<std::string, Sample> samples;  // by prompt
    std::vector<std::string> errors;
    const double t0 = now_s();
    std::vector<std::thread> pool;
    for (int t = 0; t < kThreads; ++t)
      pool.emplace_back([&] {
        try {
          warm_up();
        } catch (const std::exception& e) {
          std::lock_guard lock(mu);
          errors.push_back(e.what());
          return;
        }
        for (size_t k; (k = next++) < work.size();) {
          std::string prompt = "combo-" + std::to_string(work[k]) + " request-" + std::to_string(k);
          backends::ChatRequest req;
          req.messages = {{"user", prompt}};
          try {
            Completion c = backend->complete(req);
            std::lock_guard lock(mu);
            samples[prompt] = {work[k], std::move(c)};
          } catch (const std::exception& e) {
            std::lock_guard lock(mu);
            errors.push_back(e.what());
          }
        }
      });
    for (auto& th : pool) th.join();
    const double wall = now_s() - t0;

    std::vector<double> ttft_err, lat_err, slop_first, slop_end, client_ttft, client_lat;
    size_t matched = 0;
    for (const auto& t : server.timings()) {
      auto it = samples.find(t.prompt);
      if (it == samples.end()) continue;
      ++matched;
      const Combo& cb = kCombos[it->second.combo];
      const Completion& c = it->second.c;
      const double inj_ttft = cb.ttft_ms / 1000, inj_total = (cb.ttft_ms + cb.itl_ms * (kTokens - 1)) / 1000;
      ttft_err.push_back(std::abs(c.ttft_s() - inj_ttft) * 1000);
      lat_err.push_back(std::abs(c.latency_s() - inj_total) * 1000);
      slop_first.push_back((t.first_sent_s - t.scheduled_first_s) * 1000);
      slop_end.push_back((t.end_sent_s - t.scheduled_end_s) * 1000);
      // What the server actually did, as intervals from its receipt of the request.
      const double real_ttft = t.first_sent_s - t.received_s, real_total = t.end_sent_s - t.received_s;
      client_ttft.push_back(std::abs(c.ttft_s() - real_ttft) * 1000);
      client_lat.push_back(std::abs(c.latency_s() - real_total) * 1000);
    }

    std::printf("timing_truth: %zu requests (%zu combinations of ttft 50-200 ms x itl 5-20 ms, %d tokens), "
                "%d client thread(s), %.1f s\n",
                work.size(), std::size(kCombos), kTokens, kThreads, wall);
    if (!errors.empty()) std::printf("failed_requests: %zu (first: %s)\n", errors.size(), errors[0].c_str());
    if (matched == 0) {
      std::printf("no timings matched: FAIL\n");
      return 0;
    }
    std::printf("matched_requests: %zu\n", matched);
    report("ttft_vs_injected", ttft_err, true);
    report("latency_vs_injected", lat_err, true);
    report("server_timer_slop_first_token", slop_first, false);
    report("server_timer_slop_last_token", slop_end, false);
    report("client_ttft_error_excluding_server_slop", client_ttft, true);
    report("client_latency_error_excluding_server_slop", client_lat, true);
  } catch (const Error& e) {
    std::printf("timing_truth: error: %s (FAIL)\n", e.what());
  }
  return 0;
}
