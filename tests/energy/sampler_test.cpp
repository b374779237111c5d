#include <chrono>
#include <cmath>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "ipw/core/clock.h"
#include "ipw/core/error.h"
#include "ipw/energy/meter.h"
#include "ipw/energy/sampler.h"

using namespace ipw::energy;

namespace {

// An in-memory sensor driven by a function of the number of reads or of time.
class FakeSensor : public Sensor {
 public:
  using Fn = std::function<SensorReading(size_t read_index)>;
  FakeSensor(std::string name, Fn fn, double wrap_j = 0, bool in_total = true,
             SensorKind kind = SensorKind::measured)
      : fn_(std::move(fn)), wrap_j_(wrap_j) {
    info_.name = std::move(name);
    info_.source = "fake";
    info_.path = "fake://" + info_.name;
    info_.in_total = in_total;
    info_.kind = kind;
  }
  const SensorInfo& info() const override { return info_; }
  SensorReading read() override { return fn_(reads_++); }
  double wrap_j() const override { return wrap_j_; }

 private:
  SensorInfo info_;
  Fn fn_;
  double wrap_j_;
  size_t reads_ = 0;
};

SensorReading power(double w) {
  SensorReading r;
  r.has_power = true;
  r.power_w = w;
  return r;
}

SensorReading energy(double j) {
  SensorReading r;
  r.has_energy = true;
  r.energy_j = j;
  return r;
}

// Sensors from a list of raw counter values, one per read (the last one repeats).
std::unique_ptr<Sensor> counter(std::string name, std::vector<double> values, double wrap_j = 0,
                                bool in_total = true) {
  return std::make_unique<FakeSensor>(
      std::move(name), [values](size_t i) { return energy(values[std::min(i, values.size() - 1)]); }, wrap_j,
      in_total);
}

SensorList list(std::unique_ptr<Sensor> a, std::unique_ptr<Sensor> b = nullptr) {
  SensorList l;
  l.push_back(std::move(a));
  if (b) l.push_back(std::move(b));
  return l;
}

constexpr double kOnlySnapshots = 3600;  // a period so long that the thread never reads

}  // namespace

TEST(Sampler, IntegratesAPowerOnlySensorByTrapezoid) {
  // P(t) = 100 + 400 (t - t0) W: the trapezoid rule is exact for a linear function, whatever the
  // sampling instants, so the sampled energy must match the integral up to rounding.
  double t0 = ipw::now_s();
  auto ramp = [t0](size_t) { return power(100 + 400 * (ipw::now_s() - t0)); };
  Sampler sampler(list(std::make_unique<FakeSensor>("ramp", ramp)), 0.001);
  sampler.start();
  Snapshot a = sampler.snapshot();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Snapshot b = sampler.snapshot();
  sampler.stop();
  double ta = a.t_s - t0, tb = b.t_s - t0;
  double truth = 100 * (tb - ta) + 200 * (tb * tb - ta * ta);
  EXPECT_NEAR(b.total_j - a.total_j, truth, truth * 1e-3);
  EXPECT_GT(sampler.stats()[0].reads, 3u);  // the thread read between the snapshots
}

TEST(Sampler, ConstantPowerGivesPowerTimesDuration) {
  Sampler sampler(list(std::make_unique<FakeSensor>("flat", [](size_t) { return power(250); })), kOnlySnapshots);
  sampler.start();
  Snapshot a = sampler.snapshot();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Snapshot b = sampler.snapshot();
  EXPECT_NEAR(b.total_j - a.total_j, 250 * (b.t_s - a.t_s), 1e-9);
  EXPECT_DOUBLE_EQ(sampler.stats()[0].peak_power_w, 250);
}

// Like NVML's total-energy counter: it advances only every 100 ms (by 100 W x 100 ms), while the
// reported power is always 100 W.
TEST(Sampler, CoarseCounterWithPowerIsInterpolatedBetweenUpdates) {
  const double t0 = ipw::now_s();
  auto coarse = std::make_unique<FakeSensor>("gpu", [t0](size_t) {
    SensorReading r;
    r.has_energy = r.has_power = true;
    r.energy_j = 10.0 * std::floor((ipw::now_s() - t0) / 0.1);
    r.power_w = 100;
    return r;
  });
  Sampler sampler(list(std::move(coarse)), 0.005);
  sampler.start();
  std::vector<Snapshot> snaps;
  for (int i = 0; i < 40; ++i) {
    snaps.push_back(sampler.snapshot());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  sampler.stop();
  size_t flat = 0;
  for (size_t i = 1; i < snaps.size(); ++i) {
    double dj = snaps[i].total_j - snaps[i - 1].total_j;
    EXPECT_GE(dj, 0) << "snapshots never go back";
    if (dj == 0) ++flat;
  }
  // Without interpolation about nine windows in ten would read 0 J; with it few do.
  EXPECT_LT(flat, snaps.size() / 3);
  double elapsed = snaps.back().t_s - snaps.front().t_s;
  EXPECT_NEAR(snaps.back().total_j - snaps.front().total_j, 100 * elapsed, 10.0 + 1e-9);
}

TEST(Sampler, DifferencesEnergyCounters) {
  Sampler sampler(list(counter("c", {1000, 1003, 1010.5})), kOnlySnapshots);
  sampler.start();
  EXPECT_DOUBLE_EQ(sampler.snapshot().total_j, 3);
  EXPECT_DOUBLE_EQ(sampler.snapshot().total_j, 10.5);
}

TEST(Sampler, CounterWrapAddsRangeMinusLastPlusNew) {
  Sampler sampler(list(counter("c", {90, 99, 4, 30}, /*wrap_j=*/100)), kOnlySnapshots);
  sampler.start();
  sampler.snapshot();
  EXPECT_DOUBLE_EQ(sampler.snapshot().total_j, 14);
  EXPECT_DOUBLE_EQ(sampler.snapshot().total_j, 40);
  EXPECT_EQ(sampler.stats()[0].counter_resets, 0u);
}

TEST(Sampler, CounterResetWithoutWrapRangeAddsNothingAndIsCounted) {
  Sampler sampler(list(counter("c", {500, 510, 2, 7})), kOnlySnapshots);
  sampler.start();
  sampler.snapshot();
  EXPECT_DOUBLE_EQ(sampler.snapshot().total_j, 10);
  EXPECT_DOUBLE_EQ(sampler.snapshot().total_j, 15);
  EXPECT_EQ(sampler.stats()[0].counter_resets, 1u);
}

TEST(Sampler, TotalSumsOnlyInTotalSensors) {
  Sampler sampler(list(counter("pkg", {0, 10}), counter("core", {0, 7}, 0, /*in_total=*/false)), kOnlySnapshots);
  sampler.start();
  Snapshot s = sampler.snapshot();
  EXPECT_DOUBLE_EQ(s.total_j, 10);
  ASSERT_EQ(s.cumulative_j.size(), 2u);
  EXPECT_DOUBLE_EQ(s.cumulative_j[1], 7);
}

TEST(Sampler, FailingSensorIsRecordedAndOthersContinue) {
  auto dying = [](size_t i) -> SensorReading {
    if (i >= 2) ipw::fail(ipw::Errc::sensor, "device vanished");
    return energy(static_cast<double>(i) * 5);
  };
  Sampler sampler(list(std::make_unique<FakeSensor>("dying", dying), counter("ok", {0, 1, 2, 3, 4})),
                  kOnlySnapshots);
  sampler.start();
  for (int i = 0; i < 4; ++i) sampler.snapshot();
  Snapshot s = sampler.snapshot();
  EXPECT_DOUBLE_EQ(s.cumulative_j[0], 5);  // energy up to the failure is kept
  EXPECT_DOUBLE_EQ(s.cumulative_j[1], 4);
  auto failures = sampler.failures();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find("dying"), std::string::npos);
  EXPECT_NE(failures[0].find("fake://dying"), std::string::npos);
  EXPECT_NE(failures[0].find("device vanished"), std::string::npos);
  auto stats = sampler.stats();
  EXPECT_EQ(stats[0].reads, 2u);
  EXPECT_EQ(stats[1].reads, 6u);  // start + 5 snapshots
}

TEST(Sampler, StartFailsWithoutSensors) {
  Sampler sampler(SensorList{}, 0.01);
  try {
    sampler.start();
    FAIL();
  } catch (const ipw::Error& e) {
    EXPECT_EQ(e.code(), ipw::Errc::sensor);
  }
}

TEST(Sampler, StartFailsWhenNoSensorCanBeRead) {
  auto broken = [](size_t) -> SensorReading { ipw::fail(ipw::Errc::sensor, "permission denied"); };
  Sampler sampler(list(std::make_unique<FakeSensor>("broken", broken)), 0.01);
  try {
    sampler.start();
    FAIL();
  } catch (const ipw::Error& e) {
    EXPECT_EQ(e.code(), ipw::Errc::sensor);
    EXPECT_NE(std::string(e.what()).find("permission denied"), std::string::npos);
  }
}

TEST(Sampler, UpdatePeriodIsTheMedianIntervalBetweenValueChanges) {
  // The counter changes on every third read; snapshots are >= 10 ms apart, so changes are
  // >= 30 ms apart.
  Sampler sampler(list(std::make_unique<FakeSensor>("slow", [](size_t i) { return energy(double(i / 3)); })),
                  kOnlySnapshots);
  sampler.start();
  for (int i = 0; i < 12; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    sampler.snapshot();
  }
  double p = sampler.stats()[0].update_period_s;
  EXPECT_GE(p, 0.029);
  EXPECT_LT(p, 10.0);
}

TEST(Sampler, UpdatePeriodUnknownWithoutChanges) {
  Sampler sampler(list(counter("still", {5})), kOnlySnapshots);
  sampler.start();
  sampler.snapshot();
  EXPECT_EQ(sampler.stats()[0].update_period_s, -1);
}

TEST(Sampler, TraceKeepsTheNewestPointsOldestFirst) {
  Sampler sampler(list(std::make_unique<FakeSensor>("p", [](size_t i) { return power(double(i)); })),
                  kOnlySnapshots, /*ring_capacity=*/4);
  sampler.start();
  for (int i = 0; i < 10; ++i) sampler.snapshot();
  auto trace = sampler.trace();
  ASSERT_EQ(trace.size(), 4u);
  for (size_t k = 0; k < 4; ++k) EXPECT_DOUBLE_EQ(trace[k].power_w[0], double(7 + k));
  for (size_t k = 1; k < 4; ++k) EXPECT_LE(trace[k - 1].t_s, trace[k].t_s);
}

TEST(Sampler, ThreadSamplesWithoutSnapshots) {
  Sampler sampler(list(counter("c", {0, 1, 2, 3})), 0.002);
  sampler.start();
  for (int i = 0; i < 500 && sampler.stats()[0].reads < 4; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  sampler.stop();
  EXPECT_GE(sampler.stats()[0].reads, 4u);
}

TEST(Sampler, EstimatedWhenAnInTotalSensorIsAnEstimate) {
  Sampler measured(list(counter("c", {0})), kOnlySnapshots);
  EXPECT_FALSE(measured.estimated());
  Sampler est(list(std::make_unique<FakeSensor>("e", [](size_t) { return power(1); }, 0, true,
                                                SensorKind::estimated)),
              kOnlySnapshots);
  EXPECT_TRUE(est.estimated());
}

TEST(Meter, QueriesSumToTheEnergyBetweenFirstBeginAndLastEnd) {
  Sampler sampler(list(counter("c", {0, 10, 30, 60, 100, 150})), kOnlySnapshots);
  sampler.start();
  Meter meter(sampler);
  uint64_t a = meter.begin();     // at 10 J
  uint64_t b = meter.begin();     // at 30 J: 20 J to a alone
  Attribution ra = meter.end(a);  // at 60 J: 30 J shared by two
  Attribution rb = meter.end(b);  // at 100 J: 40 J to b alone
  EXPECT_DOUBLE_EQ(ra.energy_j, 35);
  EXPECT_DOUBLE_EQ(rb.energy_j, 55);
  EXPECT_DOUBLE_EQ(ra.energy_j + rb.energy_j, 100 - 10);
}
