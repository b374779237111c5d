// The runner against a scripted in-process backend, a real SQLite store and a synthetic sensor.
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "ipw/core/clock.h"
#include "ipw/core/error.h"
#include "ipw/runner/runner.h"
#include "ipw/store/sqlite_store.h"

using namespace ipw;

namespace {

// Answers "The answer is (B)" after `delay_s`; queries whose prompt contains "fail" throw.
class ScriptedBackend : public backends::Backend {
 public:
  explicit ScriptedBackend(double delay_s) : delay_s_(delay_s) {}
  Completion complete(const backends::ChatRequest& req, const CancelFlag* cancel) override {
    ++calls;
    const std::string& prompt = req.messages.back().content;
    Completion c;
    c.start_s = now_s();
    double until = c.start_s + delay_s_;
    while (now_s() < until) {
      if (cancel && cancel->load()) fail(Errc::cancelled, "cancelled");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (prompt.find("fail") != std::string::npos && fail_enabled.load()) fail(Errc::http, "HTTP 500 from fake");
    c.text = "The answer is (B)";
    c.first_token_s = c.start_s + delay_s_ / 2;
    c.end_s = now_s();
    c.token_times_s = {c.first_token_s, c.end_s};
    c.prompt_tokens = 10;
    c.completion_tokens = 2;
    return c;
  }
  std::string endpoint() const override { return "http://fake/v1"; }
  std::string model() const override { return "fake"; }

  std::atomic<int> calls{0};
  std::atomic<bool> fail_enabled{true};

 private:
  double delay_s_;
};

// A power-only sensor drawing a constant 100 W.
class ConstantPower : public energy::Sensor {
 public:
  ConstantPower() {
    info_.name = "test:constant";
    info_.device = "constant 100 W";
    info_.source = "test";
    info_.method = "power";
  }
  const energy::SensorInfo& info() const override { return info_; }
  energy::SensorReading read() override {
    energy::SensorReading r;
    r.has_power = true;
    r.power_w = 100;
    return r;
  }

 private:
  energy::SensorInfo info_;
};

workloads::Workload make_workload(int n, const std::string& prompt_extra = "") {
  workloads::Workload w;
  w.path = "test.jsonl";
  w.sha256 = "abc";
  for (int i = 0; i < n; ++i) {
    Query q;
    q.id = "q" + std::to_string(i);
    q.messages = {{"user", "question " + std::to_string(i) + (i == 1 ? prompt_extra : "")}};
    q.choices = {"x", "y", "z"};
    q.references = {"B"};
    q.scorer = "mcq";
    w.queries.push_back(q);
  }
  return w;
}

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("ipw-runner-" + std::to_string(::getpid()) + "-" +
                                                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir);
    hw.cpu_model = "Test CPU";
    hw.cpu_threads = 2;
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  std::unique_ptr<energy::Sampler> sampler() {
    energy::SensorList s;
    s.push_back(std::make_unique<ConstantPower>());
    return std::make_unique<energy::Sampler>(std::move(s), 0.002);
  }

  std::filesystem::path dir;
  energy::Hardware hw;
  CancelFlag cancel{false};
};

TEST_F(RunnerTest, RecordsEveryQueryWithScoreTimingAndTokens) {
  auto st = store::open_store((dir / "a.db").string());
  ScriptedBackend be(0.001);
  runner::RunOptions opt;
  opt.model = "test/fake";
  auto sum = runner::run(*st, be, make_workload(5), hw, nullptr, opt, cancel);
  EXPECT_FALSE(sum.resumed);
  EXPECT_EQ(sum.progress.done, 5u);
  auto samples = st->samples(sum.run_id);
  ASSERT_EQ(samples.size(), 4u + 1u);
  for (const auto& s : samples) {
    if (s.query_id == "q1") continue;  // prompt has no "fail" here; all succeed
    EXPECT_EQ(s.error, "");
    EXPECT_EQ(s.score.value_or(-1), 1.0);
    EXPECT_EQ(s.extracted, "B");
    EXPECT_EQ(s.completion_tokens.value_or(-1), 2);
    EXPECT_GT(s.ttft_s.value_or(-1), 0);
    EXPECT_FALSE(s.energy_j.has_value());  // no sampler: no energy
  }
  EXPECT_EQ(st->get_run(sum.run_id)->status, "complete");
  EXPECT_EQ(st->get_run(sum.run_id)->energy_kind, "none");
}

TEST_F(RunnerTest, RerunResumesSendingOnlyMissingQueries) {
  auto st = store::open_store((dir / "a.db").string());
  ScriptedBackend be(0.0);
  runner::RunOptions opt;
  opt.model = "test/fake";
  opt.limit = 3;
  auto first = runner::run(*st, be, make_workload(8), hw, nullptr, opt, cancel);
  opt.limit = 0;
  auto second = runner::run(*st, be, make_workload(8), hw, nullptr, opt, cancel);
  EXPECT_EQ(first.run_id, second.run_id);
  EXPECT_TRUE(second.resumed);
  EXPECT_EQ(second.skipped, 3u);
  EXPECT_EQ(be.calls.load(), 8);
  EXPECT_EQ(st->samples(second.run_id).size(), 8u);
}

TEST_F(RunnerTest, FailedQueryIsStoredThenRetriedAndReplaced) {
  auto st = store::open_store((dir / "a.db").string());
  ScriptedBackend be(0.0);
  runner::RunOptions opt;
  opt.model = "test/fake";
  auto w = make_workload(4, " please fail");
  auto first = runner::run(*st, be, w, hw, nullptr, opt, cancel);
  EXPECT_EQ(first.progress.errors, 1u);
  EXPECT_EQ(st->get_run(first.run_id)->status, "partial");
  EXPECT_EQ(st->count_samples(first.run_id, true), 1u);
  be.fail_enabled = false;
  auto second = runner::run(*st, be, w, hw, nullptr, opt, cancel);
  EXPECT_EQ(second.skipped, 3u);
  EXPECT_EQ(st->count_samples(first.run_id, true), 0u);
  EXPECT_EQ(st->count_samples(first.run_id, false), 4u);
  EXPECT_EQ(st->get_run(first.run_id)->status, "complete");
}

TEST_F(RunnerTest, DifferentSettingsMakeADifferentRun) {
  GenerationParams p;
  auto a = runner::make_run_id("m/x", "u", "sha", p, 1, "hw", "");
  EXPECT_EQ(a, runner::make_run_id("m/x", "u", "sha", p, 1, "hw", ""));
  EXPECT_NE(a, runner::make_run_id("m/x", "u", "sha", p, 4, "hw", ""));
  EXPECT_NE(a, runner::make_run_id("m/x", "u", "sha", p, 1, "hw", "repeat-2"));
  p.temperature = 0.7;
  EXPECT_NE(a, runner::make_run_id("m/x", "u", "sha", p, 1, "hw", ""));
}

TEST_F(RunnerTest, ConcurrentQueriesEnergySumsToPowerTimesWallTime) {
  auto st = store::open_store((dir / "a.db").string());
  ScriptedBackend be(0.03);
  runner::RunOptions opt;
  opt.model = "test/fake";
  opt.concurrency = 4;
  auto smp = sampler();
  auto sum = runner::run(*st, be, make_workload(16), hw, smp.get(), opt, cancel);
  EXPECT_EQ(sum.energy_kind, "measured");
  double energy = 0, attributed = 0;
  for (const auto& s : st->samples(sum.run_id)) {
    energy += s.energy_j.value();
    attributed += s.attributed_s.value();
    EXPECT_NEAR(s.power_w.value(), 100.0, 1.0);
    // Four in flight: each query is charged about a quarter of 100 W x its latency.
    EXPECT_LT(s.energy_j.value(), 100.0 * s.latency_s.value() * 0.6);
  }
  EXPECT_NEAR(energy / attributed, 100.0, 0.5);
}

TEST_F(RunnerTest, IdleBaselineGivesEnergyAboveIdle) {
  auto st = store::open_store((dir / "a.db").string());
  ScriptedBackend be(0.01);
  runner::RunOptions opt;
  opt.model = "test/fake";
  opt.idle_seconds = 0.05;
  auto smp = sampler();
  auto sum = runner::run(*st, be, make_workload(2), hw, smp.get(), opt, cancel);
  EXPECT_NEAR(sum.idle_power_w, 100.0, 1.0);
  for (const auto& s : st->samples(sum.run_id)) EXPECT_NEAR(s.energy_above_idle_j.value(), 0.0, 0.05);
}

TEST_F(RunnerTest, TraceOptionStoresThePowerTraceWithTheRun) {
  auto st = store::open_store((dir / "a.db").string());
  ScriptedBackend be(0.02);
  runner::RunOptions opt;
  opt.model = "test/fake";
  opt.save_trace = true;
  auto smp = sampler();
  auto sum = runner::run(*st, be, make_workload(3), hw, smp.get(), opt, cancel);
  auto trace = st->trace(sum.run_id);
  ASSERT_GT(trace.size(), 5u);
  for (const auto& row : trace) {
    EXPECT_EQ(row.sensor, "test:constant");
    EXPECT_DOUBLE_EQ(row.power_w, 100.0);
  }
  EXPECT_TRUE(st->get_run(sum.run_id)->sensors.dump().find("test:constant") != std::string::npos);
}

TEST_F(RunnerTest, CancelStopsPromptlyAndKeepsOnlyFinishedQueries) {
  auto st = store::open_store((dir / "a.db").string());
  ScriptedBackend be(0.05);
  runner::RunOptions opt;
  opt.model = "test/fake";
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(180));
    cancel.store(true);
  });
  double t0 = now_s();
  auto sum = runner::run(*st, be, make_workload(100), hw, nullptr, opt, cancel);
  stopper.join();
  EXPECT_LT(now_s() - t0, 3.0);  // bounded: not 100 x 50 ms
  EXPECT_TRUE(sum.interrupted);
  auto n = st->samples(sum.run_id).size();
  EXPECT_GT(n, 0u);
  EXPECT_LT(n, 100u);
  EXPECT_EQ(st->count_samples(sum.run_id, true), 0u);  // the aborted request left no error row
  EXPECT_EQ(st->get_run(sum.run_id)->status, "interrupted");
}

TEST_F(RunnerTest, FullDatabaseStopsTheRunWithAClearErrorAndKeepsWhatWasSaved) {
  store::SqliteOptions so;
  so.max_page_count = 24;  // a few dozen pages: fills up after some samples
  auto st = store::open_sqlite_store((dir / "full.db").string(), so);
  ScriptedBackend be(0.0005);  // about 1 ms a query: the database fills long before the end
  runner::RunOptions opt;
  opt.model = "test/fake";
  auto w = make_workload(2000);
  for (auto& q : w.queries) q.messages[0].content += std::string(200, 'x');
  runner::RunSummary sum;
  try {
    sum = runner::run(*st, be, w, hw, nullptr, opt, cancel);
  } catch (const Error& e) {
    FAIL() << "the database should fill up during the run, not before: " << e.what();
  }
  EXPECT_NE(sum.fatal_error.find("full"), std::string::npos) << sum.fatal_error;
  EXPECT_LT(be.calls.load(), 2000);  // it stopped instead of sending everything into the void
  auto again = store::open_store((dir / "full.db").string());
  EXPECT_GT(again->samples(sum.run_id).size(), 0u);
}

}  // namespace
