#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "fake_tree.h"
#include "ipw/core/error.h"
#include "ipw/energy/sampler.h"
#include "ipw/energy/sensor.h"

using namespace ipw::energy;
using ipw::energy::testing::add_rapl_zone;
using ipw::energy::testing::set_counter;
using ipw::energy::testing::TempDir;
using ipw::energy::testing::write_file;

namespace {

const Sensor* find(const SensorList& list, const std::string& name) {
  for (const auto& s : list)
    if (s->info().name == name) return s.get();
  return nullptr;
}

bool contains(const std::vector<std::string>& notes, const std::string& text) {
  for (const auto& n : notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

// /sys/class/powercap on a one-socket machine: the control type and every zone listed flat,
// with the sub-zones also nested inside the package directory as on real sysfs.
void one_socket(const std::string& root) {
  write_file(root + "/intel-rapl/enabled", "1\n");
  add_rapl_zone(root, "intel-rapl:0", "package-0", 5'000'000);
  add_rapl_zone(root, "intel-rapl:0:0", "core", 2'000'000);
  add_rapl_zone(root, "intel-rapl:0:1", "dram", 1'000'000);
  add_rapl_zone(root, "intel-rapl:0/intel-rapl:0:0", "core", 2'000'000);
  add_rapl_zone(root, "intel-rapl:0/intel-rapl:0:1", "dram", 1'000'000);
}

}  // namespace

TEST(Rapl, FlatListingGivesPackageCoreAndDramOnce) {
  TempDir dir;
  one_socket(dir.path());
  std::vector<std::string> notes;
  auto sensors = discover_rapl(dir.path(), &notes);
  ASSERT_EQ(sensors.size(), 3u);
  ASSERT_NE(find(sensors, "rapl:package-0"), nullptr);
  ASSERT_NE(find(sensors, "rapl:package-0/core"), nullptr);
  ASSERT_NE(find(sensors, "rapl:package-0/dram"), nullptr);
  EXPECT_EQ(find(sensors, "rapl:package-0")->info().device, "CPU socket 0 (package)");
  EXPECT_EQ(find(sensors, "rapl:package-0")->info().source, "rapl");
  EXPECT_EQ(find(sensors, "rapl:package-0")->info().kind, SensorKind::measured);
}

TEST(Rapl, PackageAndDramCountTowardTotalButCoreDoesNot) {
  TempDir dir;
  one_socket(dir.path());
  auto sensors = discover_rapl(dir.path(), nullptr);
  EXPECT_TRUE(find(sensors, "rapl:package-0")->info().in_total);
  EXPECT_TRUE(find(sensors, "rapl:package-0/dram")->info().in_total);
  EXPECT_FALSE(find(sensors, "rapl:package-0/core")->info().in_total);
  EXPECT_NE(find(sensors, "rapl:package-0/core")->info().method.find("not summed"), std::string::npos);
}

TEST(Rapl, ReadsMicrojoulesAsJoulesAndWrapRangeFromMaxEnergyRange) {
  TempDir dir;
  add_rapl_zone(dir.path(), "intel-rapl:0", "package-0", 12'345'678, 65'536'000'000);
  auto sensors = discover_rapl(dir.path(), nullptr);
  ASSERT_EQ(sensors.size(), 1u);
  SensorReading r = sensors[0]->read();
  EXPECT_TRUE(r.has_energy);
  EXPECT_FALSE(r.has_power);
  EXPECT_DOUBLE_EQ(r.energy_j, 12.345678);
  EXPECT_DOUBLE_EQ(sensors[0]->wrap_j(), 65536.0);
  set_counter(dir / "intel-rapl:0/energy_uj", 13'000'000);
  EXPECT_DOUBLE_EQ(sensors[0]->read().energy_j, 13.0);
}

TEST(Rapl, TwoSocketsInNestedLayoutEachWithDram) {
  TempDir dir;  // like /sys/devices/virtual/powercap: zones nested under the control type
  std::string ct = dir / "intel-rapl";
  add_rapl_zone(ct, "intel-rapl:0", "package-0", 1);
  add_rapl_zone(ct, "intel-rapl:0/intel-rapl:0:0", "dram", 1);
  add_rapl_zone(ct, "intel-rapl:1", "package-1", 1);
  add_rapl_zone(ct, "intel-rapl:1/intel-rapl:1:0", "dram", 1);
  auto sensors = discover_rapl(dir.path(), nullptr);
  ASSERT_EQ(sensors.size(), 4u);
  ASSERT_NE(find(sensors, "rapl:package-1/dram"), nullptr);
  EXPECT_EQ(find(sensors, "rapl:package-1")->info().device, "CPU socket 1 (package)");
  EXPECT_EQ(find(sensors, "rapl:package-1/dram")->info().device, "CPU socket 1 (dram)");
  for (const auto& s : sensors) EXPECT_TRUE(s->info().in_total) << s->info().name;
}

TEST(Rapl, PsysIsNotSummedWhenPackagesExist) {
  TempDir dir;
  add_rapl_zone(dir.path(), "intel-rapl:0", "package-0", 1);
  add_rapl_zone(dir.path(), "intel-rapl:1", "psys", 1);
  auto sensors = discover_rapl(dir.path(), nullptr);
  ASSERT_NE(find(sensors, "rapl:psys"), nullptr);
  EXPECT_FALSE(find(sensors, "rapl:psys")->info().in_total);
  EXPECT_TRUE(find(sensors, "rapl:package-0")->info().in_total);
}

TEST(Rapl, PsysIsSummedWhenItIsTheOnlyDomain) {
  TempDir dir;
  add_rapl_zone(dir.path(), "intel-rapl:1", "psys", 1);
  auto sensors = discover_rapl(dir.path(), nullptr);
  ASSERT_EQ(sensors.size(), 1u);
  EXPECT_TRUE(sensors[0]->info().in_total);
}

TEST(Rapl, ControlTypeAndNonRaplEntriesAreSkipped) {
  TempDir dir;
  write_file(dir / "intel-rapl/enabled", "1\n");
  write_file(dir / "intel-rapl-mmio:0/name", "package-0\n");  // MMIO duplicate of the package
  write_file(dir / "intel-rapl-mmio:0/energy_uj", "5\n");
  std::vector<std::string> notes;
  EXPECT_TRUE(discover_rapl(dir.path(), &notes).empty());
  EXPECT_TRUE(contains(notes, "no RAPL zones"));
}

TEST(Rapl, MissingPowercapRootIsANoteNotAnError) {
  std::vector<std::string> notes;
  EXPECT_TRUE(discover_rapl("/nonexistent/powercap", &notes).empty());
  EXPECT_TRUE(contains(notes, "/nonexistent/powercap"));
}

TEST(Rapl, UnreadableCounterGivesNoteAboutRootAndCve) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads files regardless of their mode";
  TempDir dir;
  add_rapl_zone(dir.path(), "intel-rapl:0", "package-0", 1);
  ASSERT_EQ(chmod((dir / "intel-rapl:0/energy_uj").c_str(), 0), 0);
  std::vector<std::string> notes;
  EXPECT_TRUE(discover_rapl(dir.path(), &notes).empty());
  EXPECT_TRUE(contains(notes, "CVE-2020-8694"));
  EXPECT_TRUE(contains(notes, "chmod a+r"));
  EXPECT_TRUE(contains(notes, "udev"));
  EXPECT_TRUE(contains(notes, dir / "intel-rapl:0/energy_uj"));
}

TEST(Rapl, WrapAroundAtMaxEnergyRangeGivesCumulativeEnergy) {
  TempDir dir;
  const uint64_t range = 100'000'000;  // 100 J
  add_rapl_zone(dir.path(), "intel-rapl:0", "package-0", 90'000'000, range);
  Sampler sampler(discover_rapl(dir.path(), nullptr), /*period_s=*/3600);  // only snapshots read
  sampler.start();
  set_counter(dir / "intel-rapl:0/energy_uj", 99'000'000);
  EXPECT_NEAR(sampler.snapshot().total_j, 9.0, 1e-9);
  set_counter(dir / "intel-rapl:0/energy_uj", 4'000'000);  // wrapped: +1 J to the range, +4 J after
  EXPECT_NEAR(sampler.snapshot().total_j, 14.0, 1e-9);
  set_counter(dir / "intel-rapl:0/energy_uj", 30'000'000);
  EXPECT_NEAR(sampler.snapshot().total_j, 40.0, 1e-9);
  sampler.stop();
}

TEST(Rapl, TruncatedCounterFileFailsTheSensorAndOthersContinue) {
  // A vanished device reads as an error or as nothing; the open file is emptied to simulate it.
  TempDir dir;
  add_rapl_zone(dir.path(), "intel-rapl:0", "package-0", 1'000'000);
  add_rapl_zone(dir.path(), "intel-rapl:1", "package-1", 1'000'000);
  Sampler sampler(discover_rapl(dir.path(), nullptr), 3600);
  sampler.start();
  ASSERT_EQ(truncate((dir / "intel-rapl:1/energy_uj").c_str(), 0), 0);
  set_counter(dir / "intel-rapl:0/energy_uj", 3'000'000);
  sampler.snapshot();
  set_counter(dir / "intel-rapl:0/energy_uj", 4'000'000);
  Snapshot s = sampler.snapshot();
  EXPECT_NEAR(s.cumulative_j[0], 3.0, 1e-9);
  auto failures = sampler.failures();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find(dir / "intel-rapl:1/energy_uj"), std::string::npos) << failures[0];
  EXPECT_EQ(sampler.stats()[1].failure, failures[0]);
}
