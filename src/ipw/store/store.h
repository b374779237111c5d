// The store: runs and their per-query samples. SQLite (WAL) by default; the interface is what a
// PostgreSQL implementation provides too. Every sample is committed when it is written, so a
// crash loses nothing already recorded; writing a sample for a (run, query) that already has one
// replaces it only if the stored one was an error (a rerun retries failures, never duplicates).
// Thread-safe: calls are serialised internally.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ipw/core/json.h"

namespace ipw::store {

struct RunRecord {
  std::string id;              // derived from what defines the run (see runner), stable across reruns
  std::string created_at;      // ISO 8601 UTC
  std::string updated_at;
  std::string model;           // "provider/model"
  std::string endpoint;        // URL (no credentials)
  std::string workload;        // path or name as given
  std::string workload_sha256;
  int n_queries = 0;           // queries in the workload after --limit
  Json settings = Json::object();   // temperature, seed, max_tokens, concurrency, sampler period, ...
  std::string tool_version;
  std::string hardware_id;
  std::string hardware_label;
  Json hardware = Json::object();
  std::string energy_kind;     // "measured" | "estimated" | "none"
  Json sensors = Json::array();  // [{name, device, method, kind, in_total}]
  double idle_power_w = -1;    // -1: not measured
  std::string status;          // "running" | "complete" | "interrupted" | "failed"
  std::string tag;             // user label distinguishing repeated runs
  Json notes = Json::array();  // warnings: a sensor vanished, ...
};

struct SampleRecord {
  std::string run_id;
  std::string query_id;
  std::string category;
  double weight = 1;
  std::string started_at;      // ISO 8601 UTC
  std::string response;
  std::string reasoning;
  std::string extracted;
  std::optional<double> score; // unset: unscored or failed
  std::string error;           // empty on success
  std::optional<int64_t> prompt_tokens, completion_tokens, reasoning_tokens;
  bool tokens_estimated = false;
  std::optional<double> latency_s, ttft_s, tpot_s, itl_mean_s, itl_p99_s;
  std::optional<double> energy_j, energy_above_idle_j, attributed_s, power_w;
  int attempts = 1;
  Json extra = Json::object(); // backend-specific (server timings, finish_reason)
};

struct TraceRow {
  double t_s;
  std::string sensor;
  double power_w;
};

class Store {
 public:
  virtual ~Store() = default;

  // Creates the run, or returns the existing one with the same id (resume). `resumed` set
  // accordingly. Marks it running and owned by this process; if another live process holds
  // it, throws Error(store) naming that pid and host.
  virtual RunRecord begin_run(const RunRecord& run, bool* resumed) = 0;
  virtual void update_run(const RunRecord& run) = 0;   // status, notes, idle power, ...
  virtual void release_run(const std::string& run_id) = 0;  // drops this process's claim
  virtual std::optional<RunRecord> get_run(const std::string& id) = 0;  // id or unique prefix
  virtual std::vector<RunRecord> list_runs() = 0;

  // Ids of queries with a successful sample in this run.
  virtual std::set<std::string> completed_queries(const std::string& run_id) = 0;
  virtual void put_sample(const SampleRecord& s) = 0;
  virtual void put_samples(const std::vector<SampleRecord>& batch) = 0;  // one transaction
  virtual std::vector<SampleRecord> samples(const std::string& run_id) = 0;
  virtual size_t count_samples(const std::string& run_id, bool errors) = 0;

  virtual void put_trace(const std::string& run_id, const std::vector<TraceRow>& rows) = 0;
  virtual std::vector<TraceRow> trace(const std::string& run_id) = 0;

  virtual int schema_version() = 0;
  virtual std::string url() const = 0;
};

// Opens "path/to/file.db" (created if missing; parent directory must exist) or, later,
// "postgresql://...". Runs pending migrations. Errors name the path and the cause
// (unwritable directory, not a database, newer schema than this ipw knows, disk full).
std::unique_ptr<Store> open_store(const std::string& url);

// The database the user means: --db value if non-empty, else $IPW_DB, else "./ipw.db".
std::string resolve_db_url(const std::string& flag);

}  // namespace ipw::store
