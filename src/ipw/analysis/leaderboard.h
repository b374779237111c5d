// The leaderboard: per (model, hardware, energy kind), the figures ipw exists to compare.
// Definitions (also in `ipw leaderboard --help` and the README):
//   accuracy   weighted mean score of scored, successful samples, in [0,1]
//   J/query    mean energy per successful query (total; "above idle" where an idle baseline exists)
//   W          mean power while serving = sum of query energy / sum of wall time attributed to
//              queries (correct at any concurrency)
//   IPW        accuracy / W          IPJ  accuracy / J/query
//   tok/s      output tokens / time streaming them, summed over requests (per-stream speed)
// Runs with estimated energy form their own rows (never pooled with measured ones).
#pragma once

#include <string>
#include <vector>

#include "ipw/report/table.h"
#include "ipw/store/store.h"

namespace ipw::analysis {

struct RunData {
  store::RunRecord run;
  std::vector<store::SampleRecord> samples;
};

struct LeaderboardRow {
  std::string model, hardware, hardware_id, energy_kind;
  size_t runs = 0, n = 0, errors = 0, scored = 0;
  double accuracy, latency_mean_s, latency_p50_s, latency_p99_s, ttft_mean_s, ttft_p50_s,
      ttft_p99_s, tpot_mean_s, output_tok_s, energy_j_per_query, energy_above_idle_j_per_query,
      mean_power_w, ipw, ipj;
  bool tokens_estimated = false;  // some token counts were counted by ipw, not the server
};

// Rows sorted by IPW (then accuracy), best first; missing values are NaN.
std::vector<LeaderboardRow> leaderboard(const std::vector<RunData>& data);

report::Table leaderboard_table(const std::vector<LeaderboardRow>& rows);

// Loads every run (optionally filtered by model substring / workload sha or path) with samples.
std::vector<RunData> load_runs(store::Store& store, const std::string& model_filter = {},
                               const std::string& workload_filter = {});

}  // namespace ipw::analysis
