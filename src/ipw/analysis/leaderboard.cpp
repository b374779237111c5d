#include "ipw/analysis/leaderboard.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "ipw/core/stats.h"

namespace ipw::analysis {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(double a, double b) { return (b > 0 && std::isfinite(a) && std::isfinite(b)) ? a / b : kNaN; }
}  // namespace

std::vector<LeaderboardRow> leaderboard(const std::vector<RunData>& data) {
  using Key = std::tuple<std::string, std::string, std::string>;
  std::map<Key, std::vector<const RunData*>> groups;
  for (const auto& d : data) groups[{d.run.model, d.run.hardware_id, d.run.energy_kind}].push_back(&d);

  std::vector<LeaderboardRow> rows;
  for (const auto& [key, runs] : groups) {
    LeaderboardRow r;
    r.model = std::get<0>(key);
    r.hardware_id = std::get<1>(key);
    r.energy_kind = std::get<2>(key);
    r.hardware = runs.front()->run.hardware_label;
    r.runs = runs.size();
    double wsum = 0, wscore = 0, energy = 0, above = 0, attributed = 0, out_tokens = 0, stream_s = 0;
    size_t with_energy = 0, with_above = 0;
    std::vector<double> lat, ttft, tpot;
    for (const RunData* d : runs) {
      for (const auto& s : d->samples) {
        if (!s.error.empty()) {
          ++r.errors;
          continue;
        }
        ++r.n;
        if (s.score) {
          ++r.scored;
          wsum += s.weight;
          wscore += s.weight * *s.score;
        }
        if (s.latency_s) lat.push_back(*s.latency_s);
        if (s.ttft_s) ttft.push_back(*s.ttft_s);
        if (s.tpot_s) tpot.push_back(*s.tpot_s);
        if (s.completion_tokens && s.latency_s) {
          double start = s.ttft_s ? *s.ttft_s : 0;
          double streaming = *s.latency_s - start;
          if (streaming > 0) {
            out_tokens += static_cast<double>(*s.completion_tokens);
            stream_s += streaming;
          }
        }
        if (s.tokens_estimated) r.tokens_estimated = true;
        if (s.energy_j && s.attributed_s) {
          energy += *s.energy_j;
          attributed += *s.attributed_s;
          ++with_energy;
        }
        if (s.energy_above_idle_j) {
          above += *s.energy_above_idle_j;
          ++with_above;
        }
      }
    }
    r.accuracy = wsum > 0 ? wscore / wsum : kNaN;
    r.latency_mean_s = mean(lat);
    r.latency_p50_s = percentile(lat, 50);
    r.latency_p99_s = percentile(lat, 99);
    r.ttft_mean_s = mean(ttft);
    r.ttft_p50_s = percentile(ttft, 50);
    r.ttft_p99_s = percentile(ttft, 99);
    r.tpot_mean_s = mean(tpot);
    r.output_tok_s = ratio(out_tokens, stream_s);
    r.energy_j_per_query = with_energy ? energy / static_cast<double>(with_energy) : kNaN;
    r.energy_above_idle_j_per_query = with_above ? above / static_cast<double>(with_above) : kNaN;
    r.mean_power_w = ratio(energy, attributed);
    r.ipw = ratio(r.accuracy, r.mean_power_w);
    r.ipj = ratio(r.accuracy, r.energy_j_per_query);
    rows.push_back(std::move(r));
  }
  auto key = [](double v) { return std::isfinite(v) ? v : -std::numeric_limits<double>::infinity(); };
  std::stable_sort(rows.begin(), rows.end(), [&](const LeaderboardRow& a, const LeaderboardRow& b) {
    if (key(a.ipw) != key(b.ipw)) return key(a.ipw) > key(b.ipw);
    return key(a.accuracy) > key(b.accuracy);
  });
  return rows;
}

report::Table leaderboard_table(const std::vector<LeaderboardRow>& rows) {
  using report::Cell;
  report::Table t;
  t.columns = {"model", "hardware", "energy", "n", "err", "accuracy", "lat mean s", "lat p50 s",
               "lat p99 s", "TTFT mean s", "TTFT p99 s", "tok/s", "J/query", "J/query above idle",
               "W", "IPW (1/W)", "IPJ (1/J)"};
  t.keys = {"model", "hardware", "energy_kind", "n", "errors", "accuracy", "latency_mean_s",
            "latency_p50_s", "latency_p99_s", "ttft_mean_s", "ttft_p99_s", "output_tok_s",
            "energy_j_per_query", "energy_above_idle_j_per_query", "mean_power_w", "ipw", "ipj"};
  bool any_estimated = false, any_tok_est = false;
  for (const auto& r : rows) {
    bool est = r.energy_kind == "estimated";
    any_estimated |= est;
    any_tok_est |= r.tokens_estimated;
    std::string mark = est ? "~" : "";
    t.rows.push_back({Cell::text(r.model), Cell::text(r.hardware), Cell::text(r.energy_kind),
                      Cell::integer(static_cast<long long>(r.n)),
                      Cell::integer(static_cast<long long>(r.errors)), Cell::num(r.accuracy, 3),
                      Cell::num(r.latency_mean_s, 3), Cell::num(r.latency_p50_s, 3),
                      Cell::num(r.latency_p99_s, 3), Cell::num(r.ttft_mean_s, 3),
                      Cell::num(r.ttft_p99_s, 3),
                      Cell::num(r.output_tok_s, 1, r.tokens_estimated ? "*" : ""),
                      Cell::num(r.energy_j_per_query, 2, mark),
                      Cell::num(r.energy_above_idle_j_per_query, 2, mark),
                      Cell::num(r.mean_power_w, 1, mark), Cell::num(r.ipw, 4, mark),
                      Cell::num(r.ipj, 4, mark)});
  }
  t.footnotes.push_back(
      "IPW = accuracy / mean power while serving (W); IPJ = accuracy / mean energy per query (J).");
  if (any_estimated)
    t.footnotes.push_back("~ estimated energy (no power sensor; CPU utilisation x TDP), not a measurement.");
  if (any_tok_est)
    t.footnotes.push_back("* some token counts were counted by ipw because the server sent no usage.");
  return t;
}

std::vector<RunData> load_runs(store::Store& store, const std::string& model_filter,
                               const std::string& workload_filter) {
  std::vector<RunData> out;
  for (auto& run : store.list_runs()) {
    if (!model_filter.empty() && run.model.find(model_filter) == std::string::npos) continue;
    if (!workload_filter.empty() && run.workload.find(workload_filter) == std::string::npos &&
        run.workload_sha256.rfind(workload_filter, 0) != 0)
      continue;
    RunData d;
    d.samples = store.samples(run.id);
    d.run = std::move(run);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace ipw::analysis
