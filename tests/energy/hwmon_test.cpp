#include <filesystem>

#include <gtest/gtest.h>

#include "fake_tree.h"
#include "ipw/energy/sensor.h"

using namespace ipw::energy;
using ipw::energy::testing::TempDir;
using ipw::energy::testing::write_file;

namespace {

// hwmonN for an amdgpu card whose `device` link points at PCI function 0000:03:00.0.
std::string amdgpu(const TempDir& dir, const std::string& hwmon) {
  std::string d = dir / hwmon;
  write_file(d + "/name", "amdgpu\n");
  write_file(dir / "devices/pci0000:00/0000:03:00.0/vendor", "0x1002\n");
  std::filesystem::create_directory_symlink(dir / "devices/pci0000:00/0000:03:00.0", d + "/device");
  return d;
}

}  // namespace

TEST(Hwmon, AmdgpuPrefersTheEnergyCounter) {
  TempDir dir;
  std::string d = amdgpu(dir, "hwmon2");
  write_file(d + "/energy1_input", "7500000\n");
  write_file(d + "/power1_input", "120000000\n");
  write_file(d + "/power1_average", "110000000\n");
  auto sensors = discover_hwmon(dir.path(), nullptr);
  ASSERT_EQ(sensors.size(), 1u);
  const SensorInfo& info = sensors[0]->info();
  EXPECT_EQ(info.name, "hwmon:amdgpu:0000:03:00.0");
  EXPECT_NE(info.device.find("0000:03:00.0"), std::string::npos);
  EXPECT_NE(info.method.find("energy counter"), std::string::npos);
  EXPECT_TRUE(info.in_total);
  SensorReading r = sensors[0]->read();
  EXPECT_TRUE(r.has_energy);
  EXPECT_DOUBLE_EQ(r.energy_j, 7.5);
}

TEST(Hwmon, AmdgpuWithoutEnergyUsesInstantaneousPowerInMicrowatts) {
  TempDir dir;
  std::string d = amdgpu(dir, "hwmon2");
  write_file(d + "/power1_input", "120000000\n");
  write_file(d + "/power1_average", "110000000\n");
  auto sensors = discover_hwmon(dir.path(), nullptr);
  ASSERT_EQ(sensors.size(), 1u);
  EXPECT_NE(sensors[0]->info().method.find("instantaneous power"), std::string::npos);
  SensorReading r = sensors[0]->read();
  EXPECT_FALSE(r.has_energy);
  EXPECT_TRUE(r.has_power);
  EXPECT_DOUBLE_EQ(r.power_w, 120.0);
}

TEST(Hwmon, AmdgpuFallsBackToAveragePower) {
  TempDir dir;
  std::string d = amdgpu(dir, "hwmon2");
  write_file(d + "/power1_average", "110000000\n");
  auto sensors = discover_hwmon(dir.path(), nullptr);
  ASSERT_EQ(sensors.size(), 1u);
  EXPECT_NE(sensors[0]->info().method.find("average power"), std::string::npos);
  EXPECT_DOUBLE_EQ(sensors[0]->read().power_w, 110.0);
}

TEST(Hwmon, AmdgpuWithoutDeviceLinkIsNamedAfterItsHwmonDirectory) {
  TempDir dir;
  write_file(dir / "hwmon5/name", "amdgpu\n");
  write_file(dir / "hwmon5/power1_average", "1000000\n");
  auto sensors = discover_hwmon(dir.path(), nullptr);
  ASSERT_EQ(sensors.size(), 1u);
  EXPECT_EQ(sensors[0]->info().name, "hwmon:amdgpu:hwmon5");
}

TEST(Hwmon, GenericPowerSensorIsListedButNotSummed) {
  TempDir dir;
  write_file(dir / "hwmon0/name", "acpi_power_meter\n");
  write_file(dir / "hwmon0/power1_average", "250000000\n");
  write_file(dir / "hwmon0/power1_label", "system\n");
  std::vector<std::string> notes;
  auto sensors = discover_hwmon(dir.path(), &notes);
  ASSERT_EQ(sensors.size(), 1u);
  const SensorInfo& info = sensors[0]->info();
  EXPECT_EQ(info.name, "hwmon:acpi_power_meter:hwmon0:1");
  EXPECT_FALSE(info.in_total);
  EXPECT_NE(info.method.find("not summed"), std::string::npos);
  EXPECT_NE(info.device.find("system"), std::string::npos);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("hwmon:acpi_power_meter:hwmon0:1"), std::string::npos);
  EXPECT_DOUBLE_EQ(sensors[0]->read().power_w, 250.0);
}

TEST(Hwmon, GenericEnergyChannelsAreSeparateSensors) {
  TempDir dir;
  write_file(dir / "hwmon1/name", "some_meter\n");
  write_file(dir / "hwmon1/energy1_input", "1000000\n");
  write_file(dir / "hwmon1/energy2_input", "2000000\n");
  auto sensors = discover_hwmon(dir.path(), nullptr);
  ASSERT_EQ(sensors.size(), 2u);
  EXPECT_EQ(sensors[1]->info().name, "hwmon:some_meter:hwmon1:2");
  EXPECT_DOUBLE_EQ(sensors[1]->read().energy_j, 2.0);
}

TEST(Hwmon, DevicesWithoutPowerOrEnergyAreIgnored) {
  TempDir dir;
  write_file(dir / "hwmon0/name", "coretemp\n");
  write_file(dir / "hwmon0/temp1_input", "45000\n");
  write_file(dir / "hwmon1/name", "nvme\n");
  write_file(dir / "hwmon1/power1_cap", "5000000\n");
  std::vector<std::string> notes;
  EXPECT_TRUE(discover_hwmon(dir.path(), &notes).empty());
  EXPECT_TRUE(notes.empty());
}
