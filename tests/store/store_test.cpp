#include "ipw/store/store.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/scoped_env.h"
#include <sqlite3.h>

#include "ipw/core/clock.h"
#include "ipw/core/error.h"
#include "ipw/store/sqlite_store.h"

namespace ipw::store {
namespace {

using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ipw-store-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

RunRecord make_run(const std::string& id) {
  RunRecord r;
  r.id = id;
  r.created_at = "2025-01-02T03:04:05Z";
  r.model = "ollama/qwen3:8b";
  r.endpoint = "http://127.0.0.1:11434";
  r.workload = "data/mini.jsonl";
  r.workload_sha256 = "abc123";
  r.n_queries = 3;
  r.settings = {{"temperature", 0.0}, {"seed", 42}};
  r.tool_version = "0.1.0";
  r.hardware_id = "hw1";
  r.hardware_label = "test box";
  r.hardware = {{"cpu", "x"}};
  r.energy_kind = "measured";
  r.sensors = Json::array({{{"name", "rapl"}}});
  r.status = "running";
  r.tag = "t";
  return r;
}

SampleRecord make_sample(const std::string& run, const std::string& query, const std::string& error = "") {
  SampleRecord s;
  s.run_id = run;
  s.query_id = query;
  s.started_at = "2025-01-02T03:04:06Z";
  s.response = "answer to " + query;
  s.error = error;
  if (error.empty()) s.score = 1.0;
  return s;
}

// Runs `sql` on the file through a separate raw connection; returns the first column of the
// first row, if any.
std::string raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db));
  sqlite3_busy_timeout(db, 10000);
  std::string out;
  auto cb = [](void* p, int n, char** vals, char**) {
    auto* o = static_cast<std::string*>(p);
    if (o->empty() && n > 0 && vals[0]) *o = vals[0];
    return 0;
  };
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), cb, &out, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error(msg);
  return out;
}

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// Calls f and returns the Error it throws; fails the test if it throws nothing.
Error error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an ipw::Error";
  return Error(Errc::internal, "");
}

// A child process that sleeps until killed (bounded by an alarm), so its pid is alive.
class SleepingChild {
 public:
  SleepingChild() {
    pid_ = fork();
    if (pid_ == 0) {
      alarm(120);
      for (;;) pause();
    }
  }
  ~SleepingChild() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

pid_t dead_pid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return pid;
}

TEST(SqliteStore, NewFileIsMigratedToTheCurrentSchema) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  EXPECT_EQ(store->schema_version(), sqlite_schema_version());
  EXPECT_GE(sqlite_schema_version(), 1);
  EXPECT_TRUE(store->list_runs().empty());
  EXPECT_EQ(raw_sql(dir.file("ipw.db"), "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw_sql(dir.file("ipw.db"), "SELECT count(*) FROM sqlite_master WHERE name IN ('runs','samples','traces')"),
            "3");
}

TEST(SqliteStore, ReopeningKeepsRunsAndSamples) {
  TempDir dir;
  {
    auto store = open_store(dir.file("ipw.db"));
    store->begin_run(make_run("r1"), nullptr);
    store->put_sample(make_sample("r1", "q1"));
  }
  auto store = open_store(dir.file("ipw.db"));
  EXPECT_EQ(store->list_runs().size(), 1u);
  ASSERT_EQ(store->samples("r1").size(), 1u);
  EXPECT_EQ(store->samples("r1")[0].response, "answer to q1");
}

TEST(SqliteStore, DatabaseFromANewerIpwIsRefused) {
  TempDir dir;
  open_store(dir.file("ipw.db"));
  int newer = sqlite_schema_version() + 1;
  raw_sql(dir.file("ipw.db"), "PRAGMA user_version=" + std::to_string(newer));
  Error e = error_of([&] { open_store(dir.file("ipw.db")); });
  EXPECT_EQ(e.code(), Errc::store);
  EXPECT_THAT(e.what(), HasSubstr(fmt::format("newer ipw (schema {} > {}); upgrade ipw", newer, newer - 1)));
  EXPECT_THAT(e.what(), HasSubstr(dir.file("ipw.db")));
}

TEST(SqliteStore, FileThatIsNotADatabaseIsRefused) {
  TempDir dir;
  std::ofstream(dir.file("notes.txt")) << "these are my notes, not a database, and long enough to have a header\n";
  Error e = error_of([&] { open_store(dir.file("notes.txt")); });
  EXPECT_EQ(e.code(), Errc::store);
  EXPECT_THAT(e.what(), HasSubstr(dir.file("notes.txt")));
  EXPECT_THAT(e.what(), HasSubstr("file is not a database"));
}

TEST(SqliteStore, MissingParentDirectoryIsNamed) {
  TempDir dir;
  std::string path = dir.file("no/such/dir/ipw.db");
  Error e = error_of([&] { open_store(path); });
  EXPECT_EQ(e.code(), Errc::store);
  EXPECT_THAT(e.what(), HasSubstr(path));
  EXPECT_THAT(e.what(), HasSubstr("does not exist"));
}

TEST(SqliteStore, BeginRunCreatesThenResumesWithCompletedQueries) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  bool resumed = true;
  RunRecord r = store->begin_run(make_run("r1"), &resumed);
  EXPECT_FALSE(resumed);
  EXPECT_EQ(r.status, "running");
  store->put_samples({make_sample("r1", "q1"), make_sample("r1", "q2", "HTTP 500 from upstream")});
  RunRecord done = r;
  done.status = "interrupted";
  store->update_run(done);
  store->release_run("r1");

  RunRecord again = make_run("r1");
  again.created_at = "2030-01-01T00:00:00Z";
  RunRecord r2 = store->begin_run(again, &resumed);
  EXPECT_TRUE(resumed);
  EXPECT_EQ(r2.created_at, "2025-01-02T03:04:05Z");  // the stored run, not the new request
  EXPECT_EQ(r2.status, "running");
  EXPECT_EQ(store->completed_queries("r1"), (std::set<std::string>{"q1"}));
  EXPECT_EQ(store->count_samples("r1", false), 1u);
  EXPECT_EQ(store->count_samples("r1", true), 1u);
}

TEST(SqliteStore, RunFieldsRoundTripAndUpdate) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  RunRecord r = store->begin_run(make_run("r1"), nullptr);
  r.status = "complete";
  r.idle_power_w = 12.5;
  r.notes = Json::array({"sensor rapl vanished"});
  store->update_run(r);
  auto got = store->get_run("r1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->model, "ollama/qwen3:8b");
  EXPECT_EQ(got->settings, r.settings);
  EXPECT_EQ(got->hardware, r.hardware);
  EXPECT_EQ(got->sensors, r.sensors);
  EXPECT_EQ(got->n_queries, 3);
  EXPECT_EQ(got->status, "complete");
  EXPECT_EQ(got->idle_power_w, 12.5);
  EXPECT_EQ(got->notes, r.notes);
  EXPECT_EQ(got->tag, "t");
  EXPECT_FALSE(got->updated_at.empty());
}

TEST(SqliteStore, UpdatingAnUnknownRunIsAnError) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  Error e = error_of([&] { store->update_run(make_run("nope")); });
  EXPECT_EQ(e.code(), Errc::store);
  EXPECT_THAT(e.what(), HasSubstr("nope"));
}

TEST(SqliteStore, SampleFieldsRoundTripIncludingUnsetOptionals) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  store->begin_run(make_run("r1"), nullptr);
  SampleRecord s = make_sample("r1", "q1");
  s.category = "math";
  s.weight = 2.5;
  s.reasoning = "think";
  s.extracted = "42";
  s.prompt_tokens = 10;
  s.completion_tokens = 20;
  s.tokens_estimated = true;
  s.latency_s = 1.25;
  s.ttft_s = 0.125;
  s.energy_j = 33.3;
  s.attempts = 2;
  s.extra = {{"finish_reason", "stop"}};
  store->put_sample(s);
  auto got = store->samples("r1");
  ASSERT_EQ(got.size(), 1u);
  const auto& g = got[0];
  EXPECT_EQ(g.category, "math");
  EXPECT_EQ(g.weight, 2.5);
  EXPECT_EQ(g.reasoning, "think");
  EXPECT_EQ(g.extracted, "42");
  EXPECT_EQ(g.score, 1.0);
  EXPECT_EQ(g.prompt_tokens, 10);
  EXPECT_EQ(g.completion_tokens, 20);
  EXPECT_FALSE(g.reasoning_tokens.has_value());
  EXPECT_TRUE(g.tokens_estimated);
  EXPECT_EQ(g.latency_s, 1.25);
  EXPECT_EQ(g.ttft_s, 0.125);
  EXPECT_FALSE(g.tpot_s.has_value());
  EXPECT_EQ(g.energy_j, 33.3);
  EXPECT_FALSE(g.power_w.has_value());
  EXPECT_EQ(g.attempts, 2);
  EXPECT_EQ(g.extra, s.extra);
}

TEST(SqliteStore, PutSampleNeverDuplicatesOrOverwritesASuccess) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  store->begin_run(make_run("r1"), nullptr);
  store->put_sample(make_sample("r1", "q1"));
  SampleRecord later = make_sample("r1", "q1");
  later.response = "a different answer";
  store->put_sample(later);
  store->put_sample(make_sample("r1", "q1", "timeout"));
  auto got = store->samples("r1");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].response, "answer to q1");
  EXPECT_EQ(got[0].error, "");
}

TEST(SqliteStore, PutSampleReplacesAnErrorWithTheRetry) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  store->begin_run(make_run("r1"), nullptr);
  store->put_sample(make_sample("r1", "q1", "connection refused"));
  SampleRecord retry = make_sample("r1", "q1");
  retry.attempts = 3;
  store->put_sample(retry);
  auto got = store->samples("r1");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].error, "");
  EXPECT_EQ(got[0].attempts, 3);
  EXPECT_EQ(store->count_samples("r1", true), 0u);
  EXPECT_EQ(store->completed_queries("r1"), (std::set<std::string>{"q1"}));
}

TEST(SqliteStore, PutSamplesWritesTheWholeBatch) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  store->begin_run(make_run("r1"), nullptr);
  std::vector<SampleRecord> batch;
  for (int i = 0; i < 250; ++i) batch.push_back(make_sample("r1", "q" + std::to_string(i), i % 10 ? "" : "err"));
  store->put_samples(batch);
  EXPECT_EQ(store->count_samples("r1", false), 225u);
  EXPECT_EQ(store->count_samples("r1", true), 25u);
  EXPECT_EQ(store->samples("r1").size(), 250u);
}

TEST(SqliteStore, BatchWithAnUnknownRunWritesNothing) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  store->begin_run(make_run("r1"), nullptr);
  Error e = error_of([&] { store->put_samples({make_sample("r1", "q1"), make_sample("ghost", "q2")}); });
  EXPECT_EQ(e.code(), Errc::store);
  EXPECT_THAT(e.what(), HasSubstr("run ghost is not in database"));
  EXPECT_EQ(store->samples("r1").size(), 0u);  // one transaction: all or nothing
}

TEST(SqliteStore, RunHeldByALiveProcessOnThisHostIsRefused) {
  SleepingChild child;
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  store->begin_run(make_run("r1"), nullptr);
  raw_sql(dir.file("ipw.db"), fmt::format("UPDATE runs SET owner_pid = {}, owner_host = '{}', "
                                          "claimed_at = '2025-05-05T05:05:05Z' WHERE id = 'r1'",
                                          child.pid(), host_name()));
  Error e = error_of([&] { store->begin_run(make_run("r1"), nullptr); });
  EXPECT_EQ(e.code(), Errc::store);
  EXPECT_THAT(e.what(), HasSubstr(fmt::format("run r1 is being profiled by pid {} on {} since 2025-05-05T05:05:05Z",
                                              child.pid(), host_name())));
}

TEST(SqliteStore, ClaimOfADeadProcessIsTakenOver) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  store->begin_run(make_run("r1"), nullptr);
  pid_t dead = dead_pid();
  raw_sql(dir.file("ipw.db"),
          fmt::format("UPDATE runs SET owner_pid = {}, owner_host = '{}' WHERE id = 'r1'", dead, host_name()));
  bool resumed = false;
  store->begin_run(make_run("r1"), &resumed);
  EXPECT_TRUE(resumed);
  EXPECT_EQ(raw_sql(dir.file("ipw.db"), "SELECT owner_pid FROM runs WHERE id = 'r1'"), std::to_string(getpid()));
}

TEST(SqliteStore, ClaimFromAnotherHostWithAFreshHeartbeatIsRefused) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  store->begin_run(make_run("r1"), nullptr);
  raw_sql(dir.file("ipw.db"), fmt::format("UPDATE runs SET owner_pid = 1, owner_host = 'other-node', "
                                          "heartbeat_at = {} WHERE id = 'r1'",
                                          unix_time_s()));
  Error e = error_of([&] { store->begin_run(make_run("r1"), nullptr); });
  EXPECT_THAT(e.what(), HasSubstr("being profiled by pid 1 on other-node"));
}

TEST(SqliteStore, ClaimFromAnotherHostWithAStaleHeartbeatIsTakenOver) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  store->begin_run(make_run("r1"), nullptr);
  raw_sql(dir.file("ipw.db"), fmt::format("UPDATE runs SET owner_pid = 1, owner_host = 'other-node', "
                                          "heartbeat_at = {} WHERE id = 'r1'",
                                          unix_time_s() - 600));
  store->begin_run(make_run("r1"), nullptr);
  EXPECT_EQ(raw_sql(dir.file("ipw.db"), "SELECT owner_host FROM runs WHERE id = 'r1'"), host_name());
}

TEST(SqliteStore, ReleaseRunDropsOnlyThisProcesssClaim) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  store->begin_run(make_run("r1"), nullptr);
  store->begin_run(make_run("r2"), nullptr);
  raw_sql(dir.file("ipw.db"), "UPDATE runs SET owner_host = 'other-node' WHERE id = 'r2'");
  store->release_run("r1");
  store->release_run("r2");
  EXPECT_EQ(raw_sql(dir.file("ipw.db"), "SELECT count(*) FROM runs WHERE owner_pid IS NULL"), "1");
  EXPECT_EQ(raw_sql(dir.file("ipw.db"), "SELECT owner_host FROM runs WHERE id = 'r2'"), "other-node");
}

TEST(SqliteStore, TwoProcessesWritingDifferentRunsBothSucceed) {
  TempDir dir;
  const std::string path = dir.file("ipw.db");
  auto writer = [&](const std::string& run) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    alarm(300);  // a hang becomes a failure, not a stuck test
    int code = 0;
    try {
      auto store = open_store(path);
      store->begin_run(make_run(run), nullptr);
      for (int i = 0; i < 500; ++i) store->put_sample(make_sample(run, "q" + std::to_string(i)));
      store->release_run(run);
    } catch (const std::exception& e) {
      fprintf(stderr, "writer %s: %s\n", run.c_str(), e.what());
      code = 1;
    }
    _exit(code);
  };
  pid_t a = writer("run-a");
  pid_t b = writer("run-b");
  int status_a = 0, status_b = 0;
  waitpid(a, &status_a, 0);
  waitpid(b, &status_b, 0);
  ASSERT_TRUE(WIFEXITED(status_a) && WEXITSTATUS(status_a) == 0) << "status " << status_a;
  ASSERT_TRUE(WIFEXITED(status_b) && WEXITSTATUS(status_b) == 0) << "status " << status_b;
  auto store = open_store(path);
  EXPECT_EQ(store->count_samples("run-a", false), 500u);
  EXPECT_EQ(store->count_samples("run-b", false), 500u);
  EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM samples"), "1000");
  EXPECT_EQ(raw_sql(path, "PRAGMA integrity_check"), "ok");
}

TEST(SqliteStore, FullDatabaseIsReportedAndEarlierSamplesSurvive) {
  TempDir dir;
  const std::string path = dir.file("ipw.db");
  SqliteOptions options;
  options.max_page_count = 64;
  auto store = open_sqlite_store(path, options);
  store->begin_run(make_run("r1"), nullptr);
  size_t written = 0;
  Error e = error_of([&] {
    for (int i = 0; i < 10000; ++i) {
      SampleRecord s = make_sample("r1", "q" + std::to_string(i));
      s.response = std::string(3000, 'x');
      store->put_sample(s);
      ++written;
    }
  });
  EXPECT_EQ(e.code(), Errc::store);
  EXPECT_THAT(e.what(), HasSubstr("full at " + path));
  EXPECT_THAT(e.what(), HasSubstr("results so far are saved"));
  EXPECT_GT(written, 0u);
  EXPECT_EQ(store->samples("r1").size(), written);
  store.reset();
  EXPECT_EQ(open_store(path)->count_samples("r1", false), written);
}

TEST(SqliteStore, GetRunAcceptsAUniquePrefix) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  store->begin_run(make_run("abc111"), nullptr);
  store->begin_run(make_run("abd222"), nullptr);
  ASSERT_TRUE(store->get_run("abc"));
  EXPECT_EQ(store->get_run("abc")->id, "abc111");
  EXPECT_EQ(store->get_run("abd222")->id, "abd222");
  EXPECT_FALSE(store->get_run("zzz"));
  EXPECT_FALSE(store->get_run(""));
}

TEST(SqliteStore, AmbiguousRunPrefixIsAUsageErrorListingCandidates) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  store->begin_run(make_run("abc111"), nullptr);
  store->begin_run(make_run("abd222"), nullptr);
  Error e = error_of([&] { store->get_run("ab"); });
  EXPECT_EQ(e.code(), Errc::usage);
  EXPECT_THAT(e.what(), HasSubstr("abc111, abd222"));
}

TEST(SqliteStore, ExactIdWinsOverLongerIdsWithThatPrefix) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  store->begin_run(make_run("abc"), nullptr);
  store->begin_run(make_run("abcdef"), nullptr);
  EXPECT_EQ(store->get_run("abc")->id, "abc");
}

TEST(SqliteStore, TraceRoundTrips) {
  TempDir dir;
  auto store = open_store(dir.file("ipw.db"));
  store->begin_run(make_run("r1"), nullptr);
  store->put_trace("r1", {{0.05, "rapl", 30.5}, {0.0, "nvml:0", 70.0}});
  auto rows = store->trace("r1");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].sensor, "nvml:0");
  EXPECT_EQ(rows[1].t_s, 0.05);
  EXPECT_EQ(rows[1].power_w, 30.5);
  EXPECT_TRUE(store->trace("other").empty());
}

TEST(OpenStore, PostgresqlUrlIsNotBuiltInYet) {
  Error e = error_of([] { open_store("postgresql://user:secret@db/ipw"); });
  EXPECT_EQ(e.code(), Errc::usage);
  EXPECT_THAT(e.what(), HasSubstr("PostgreSQL support is not built in yet"));
  EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("secret")));
}

TEST(ResolveDbUrl, FlagThenEnvironmentThenDefault) {
  {
    ipw::testing::ScopedEnv env("IPW_DB", "/data/env.db");
    EXPECT_EQ(resolve_db_url("flag.db"), "flag.db");
    EXPECT_EQ(resolve_db_url(""), "/data/env.db");
  }
  ipw::testing::ScopedEnv unset("IPW_DB", nullptr);
  EXPECT_EQ(resolve_db_url(""), "ipw.db");
}

}  // namespace
}  // namespace ipw::store
