#include <stdlib.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "support/scoped_env.h"

#include "fake_tree.h"
#include "ipw/core/error.h"
#include "ipw/energy/sensor.h"

using namespace ipw::energy;
using ipw::energy::testing::add_rapl_zone;
using ipw::energy::testing::TempDir;
using ipw::energy::testing::write_file;

namespace {

// /proc/stat with the aggregate line: user nice system idle iowait irq softirq steal guest guest_nice.
void proc_stat(const std::string& path, unsigned busy_user, unsigned idle) {
  write_file(path, "cpu  " + std::to_string(busy_user) + " 0 0 " + std::to_string(idle) +
                       " 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\nintr 12345 0 0\n");
}

// /proc/stat changes at the scheduler tick, so the estimate does not re-read it sooner than
// 5 ms after the last read; tests wait out that interval before expecting a new value.
void next_tick() { std::this_thread::sleep_for(std::chrono::milliseconds(6)); }

DiscoveryOptions isolated(const TempDir& dir) {
  DiscoveryOptions o;
  o.powercap_root = dir / "powercap";
  o.hwmon_root = dir / "hwmon";
  o.nvml_library = "libnvidia-ml-absent.so.1";
  o.proc_stat = dir / "stat";
  o.cpu_tdp_w = 100;
  proc_stat(o.proc_stat, 100, 100);
  return o;
}

}  // namespace

TEST(CpuEstimate, IsLabelledEstimatedWithItsModel) {
  TempDir dir;
  proc_stat(dir / "stat", 100, 100);
  auto s = make_cpu_estimate(dir / "stat", 100);
  const SensorInfo& info = s->info();
  EXPECT_EQ(info.name, "estimate:cpu");
  EXPECT_EQ(info.source, "estimate");
  EXPECT_EQ(info.kind, SensorKind::estimated);
  EXPECT_EQ(info.method, "estimated: (0.3 + 0.7 x utilisation) x TDP 100 W");
}

TEST(CpuEstimate, PowerFollowsUtilisationBetweenReads) {
  TempDir dir;
  proc_stat(dir / "stat", 100, 100);
  auto s = make_cpu_estimate(dir / "stat", 100);
  proc_stat(dir / "stat", 200, 100);  // 100 busy jiffies, 0 idle: 100%
  next_tick();
  EXPECT_DOUBLE_EQ(s->read().power_w, 100.0);
  proc_stat(dir / "stat", 250, 150);  // 50 busy, 50 idle: 50%
  next_tick();
  EXPECT_DOUBLE_EQ(s->read().power_w, 65.0);
  proc_stat(dir / "stat", 250, 250);  // idle
  next_tick();
  EXPECT_DOUBLE_EQ(s->read().power_w, 30.0);
}

TEST(CpuEstimate, ReadsWithinOneTickReuseTheLastValue) {
  TempDir dir;
  proc_stat(dir / "stat", 100, 100);
  auto s = make_cpu_estimate(dir / "stat", 100);
  proc_stat(dir / "stat", 200, 100);
  next_tick();
  EXPECT_DOUBLE_EQ(s->read().power_w, 100.0);
  proc_stat(dir / "stat", 200, 200);  // all idle since, but read again at once: not re-read
  EXPECT_DOUBLE_EQ(s->read().power_w, 100.0);
  next_tick();
  EXPECT_DOUBLE_EQ(s->read().power_w, 30.0);
}

TEST(CpuEstimate, KeepsTheLastValueUntilEnoughTicksPassed) {
  TempDir dir;
  proc_stat(dir / "stat", 100, 100);
  auto s = make_cpu_estimate(dir / "stat", 100);
  proc_stat(dir / "stat", 200, 100);
  next_tick();
  EXPECT_DOUBLE_EQ(s->read().power_w, 100.0);
  proc_stat(dir / "stat", 200, 101);  // one idle jiffy: too little to measure
  next_tick();
  EXPECT_DOUBLE_EQ(s->read().power_w, 100.0);
}

TEST(CpuEstimate, RejectsAFileThatIsNotProcStat) {
  TempDir dir;
  write_file(dir / "stat", "hello\n");
  EXPECT_THROW(make_cpu_estimate(dir / "stat", 100), ipw::Error);
}

TEST(DiscoverSensors, UsesTheEstimateOnlyWhenNothingIsMeasured) {
  TempDir dir;
  std::vector<std::string> notes;
  auto sensors = discover_sensors(isolated(dir), &notes);
  ASSERT_EQ(sensors.size(), 1u);
  EXPECT_EQ(sensors[0]->info().name, "estimate:cpu");
  bool said = false;
  for (const auto& n : notes) said |= n.find("estimated") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST(DiscoverSensors, NoEstimateWhenRaplMeasures) {
  TempDir dir;
  DiscoveryOptions o = isolated(dir);
  add_rapl_zone(o.powercap_root, "intel-rapl:0", "package-0", 1);
  auto sensors = discover_sensors(o, nullptr);
  ASSERT_EQ(sensors.size(), 1u);
  EXPECT_EQ(sensors[0]->info().name, "rapl:package-0");
}

TEST(DiscoverSensors, GenericHwmonAloneStillGetsTheEstimate) {
  TempDir dir;  // a sensor outside the total does not measure the machine
  DiscoveryOptions o = isolated(dir);
  write_file(o.hwmon_root + "/hwmon0/name", "acpi_power_meter\n");
  write_file(o.hwmon_root + "/hwmon0/power1_average", "1000000\n");
  auto sensors = discover_sensors(o, nullptr);
  ASSERT_EQ(sensors.size(), 2u);
  EXPECT_EQ(sensors[1]->info().name, "estimate:cpu");
}

TEST(DiscoverSensors, ForcedEstimateReplacesMeasuredSensors) {
  TempDir dir;
  DiscoveryOptions o = isolated(dir);
  add_rapl_zone(o.powercap_root, "intel-rapl:0", "package-0", 1);
  o.force_estimate = true;
  auto sensors = discover_sensors(o, nullptr);
  ASSERT_EQ(sensors.size(), 1u);
  EXPECT_EQ(sensors[0]->info().kind, SensorKind::estimated);
}

TEST(DiscoverSensors, EstimateCanBeDisallowed) {
  TempDir dir;
  DiscoveryOptions o = isolated(dir);
  o.allow_estimate = false;
  EXPECT_TRUE(discover_sensors(o, nullptr).empty());
}

TEST(DiscoverSensors, OnlyKeepsSensorsWhoseNameStartsWithAPrefix) {
  TempDir dir;
  DiscoveryOptions o = isolated(dir);
  add_rapl_zone(o.powercap_root, "intel-rapl:0", "package-0", 1);
  add_rapl_zone(o.powercap_root, "intel-rapl:0:0", "dram", 1);
  add_rapl_zone(o.powercap_root, "intel-rapl:1", "package-1", 1);
  o.only = {"rapl:package-0"};
  auto sensors = discover_sensors(o, nullptr);
  ASSERT_EQ(sensors.size(), 2u);
  EXPECT_EQ(sensors[0]->info().name, "rapl:package-0");
  EXPECT_EQ(sensors[1]->info().name, "rapl:package-0/dram");
}

TEST(DiscoveryOptions, EnvironmentOverridesRootsLibraryAndTdp) {
  ipw::testing::ScopedEnv a("IPW_POWERCAP_ROOT", "/x/powercap"), b("IPW_HWMON_ROOT", "/x/hwmon"),
      c("IPW_NVML_LIBRARY", "/x/libnvidia-ml.so.1"), d("IPW_CPU_TDP_W", "125.5");
  DiscoveryOptions o = discovery_options_from_env();
  EXPECT_EQ(o.powercap_root, "/x/powercap");
  EXPECT_EQ(o.hwmon_root, "/x/hwmon");
  EXPECT_EQ(o.nvml_library, "/x/libnvidia-ml.so.1");
  EXPECT_DOUBLE_EQ(o.cpu_tdp_w, 125.5);
}

TEST(DiscoveryOptions, NonNumericTdpIsAUsageError) {
  for (const char* bad : {"abc", "65W", "-10", "0"}) {
    ipw::testing::ScopedEnv env("IPW_CPU_TDP_W", bad);
    try {
      discovery_options_from_env();
      ADD_FAILURE() << bad;
    } catch (const ipw::Error& e) {
      EXPECT_EQ(e.code(), ipw::Errc::usage);
      EXPECT_NE(std::string(e.what()).find("IPW_CPU_TDP_W"), std::string::npos);
    }
  }
}
