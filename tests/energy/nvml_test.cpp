// NVML through the real dlopen path, against libfake_nvml.so (fake_nvml.c) scripted per test.
#include <dlfcn.h>
#include <stdlib.h>

#include <cstring>

#include <gtest/gtest.h>

#include "fake_tree.h"
#include "ipw/core/error.h"
#include "ipw/energy/hardware.h"
#include "ipw/energy/sampler.h"
#include "ipw/energy/sensor.h"

using namespace ipw::energy;
using ipw::energy::testing::TempDir;
using ipw::energy::testing::write_file;

namespace {

class Nvml : public ::testing::Test {
 protected:
  void script(const std::string& text) {
    write_file(dir_ / "script", text);
    setenv("FAKE_NVML_SCRIPT", (dir_ / "script").c_str(), 1);
  }
  void TearDown() override { unsetenv("FAKE_NVML_SCRIPT"); }
  TempDir dir_;
};

// init/shutdown counters of the fake, through the same handle the sensors use.
std::pair<int, int> counts() {
  void* h = dlopen(FAKE_NVML_PATH, RTLD_NOW | RTLD_NOLOAD);
  if (!h) return {-1, -1};  // not loaded
  void (*fn)(int*, int*) = nullptr;
  void* sym = dlsym(h, "fake_nvml_counts");
  std::memcpy(&fn, &sym, sizeof fn);
  int i = 0, s = 0;
  if (fn) fn(&i, &s);
  dlclose(h);
  return {i, s};
}

}  // namespace

TEST_F(Nvml, CounterBasedGpuReadsMillijoulesAsJoulesAndInstantPower) {
  script("driver 550.54.15\ndevice NVIDIA H100 80GB HBM3\nenergy 1000000 250\npower 300000\ninstant 412000\n");
  std::vector<std::string> notes;
  auto sensors = discover_nvml(FAKE_NVML_PATH, &notes);
  ASSERT_EQ(sensors.size(), 1u) << (notes.empty() ? "" : notes[0]);
  const SensorInfo& info = sensors[0]->info();
  EXPECT_EQ(info.name, "nvml:0");
  EXPECT_EQ(info.device, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(info.source, "nvml");
  EXPECT_TRUE(info.in_total);
  EXPECT_NE(info.method.find("energy counter"), std::string::npos);
  EXPECT_NE(info.method.find("instant power"), std::string::npos);
  SensorReading a = sensors[0]->read();
  SensorReading b = sensors[0]->read();
  EXPECT_TRUE(a.has_energy);
  EXPECT_TRUE(a.has_power);
  EXPECT_DOUBLE_EQ(b.energy_j - a.energy_j, 0.25);
  EXPECT_GE(a.energy_j, 1000.0);
  EXPECT_DOUBLE_EQ(a.power_w, 412.0);
}

TEST_F(Nvml, WithoutInstantFieldPowerComesFromPowerUsageAndSaysWhatItAverages) {
  script("device NVIDIA A100-SXM4-40GB\nenergy 0 100\npower 250000\n");
  auto sensors = discover_nvml(FAKE_NVML_PATH, nullptr);
  ASSERT_EQ(sensors.size(), 1u);
  EXPECT_NE(sensors[0]->info().method.find("1 s average on Ampere+ / instantaneous on older"), std::string::npos);
  SensorReading r = sensors[0]->read();
  EXPECT_TRUE(r.has_energy);
  EXPECT_DOUBLE_EQ(r.power_w, 250.0);
}

TEST_F(Nvml, OlderGpuWithoutEnergyCounterIsPowerOnlyAndIntegrated) {
  script("device Tesla P100-PCIE-16GB\npower 150000\n");
  auto sensors = discover_nvml(FAKE_NVML_PATH, nullptr);
  ASSERT_EQ(sensors.size(), 1u);
  EXPECT_NE(sensors[0]->info().method.find("integrated"), std::string::npos);
  SensorReading r = sensors[0]->read();
  EXPECT_FALSE(r.has_energy);
  EXPECT_TRUE(r.has_power);
  EXPECT_DOUBLE_EQ(r.power_w, 150.0);
}

TEST_F(Nvml, EveryGpuBecomesASensor) {
  script("device GPU A\nenergy 0 1\npower 1000\ndevice GPU B\npower 2000\n");
  auto sensors = discover_nvml(FAKE_NVML_PATH, nullptr);
  ASSERT_EQ(sensors.size(), 2u);
  EXPECT_EQ(sensors[1]->info().name, "nvml:1");
  EXPECT_EQ(sensors[1]->info().device, "GPU B");
}

TEST_F(Nvml, GpuWithNeitherPowerNorEnergyIsSkippedWithANote) {
  script("device Mystery GPU\n");
  std::vector<std::string> notes;
  EXPECT_TRUE(discover_nvml(FAKE_NVML_PATH, &notes).empty());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("Mystery GPU"), std::string::npos);
}

TEST_F(Nvml, LostGpuThrowsSensorErrorNamingTheDevice) {
  // discovery probes energy, instant field and power usage (3 reads); two sensor reads follow.
  script("device NVIDIA L4\nenergy 0 10\npower 70000\nlost_after 5\n");
  auto sensors = discover_nvml(FAKE_NVML_PATH, nullptr);
  ASSERT_EQ(sensors.size(), 1u);
  EXPECT_NO_THROW(sensors[0]->read());
  try {
    sensors[0]->read();
    FAIL() << "read of a lost GPU succeeded";
  } catch (const ipw::Error& e) {
    EXPECT_EQ(e.code(), ipw::Errc::sensor);
    std::string what = e.what();
    EXPECT_NE(what.find("nvml:0"), std::string::npos) << what;
    EXPECT_NE(what.find("NVIDIA L4"), std::string::npos) << what;
    EXPECT_NE(what.find("GPU is lost"), std::string::npos) << what;
  }
}

TEST_F(Nvml, SamplerKeepsOtherSensorsWhenAGpuIsLost) {
  script("device NVIDIA L4\npower 70000\nlost_after 6\ndevice NVIDIA T4\npower 30000\n");
  Sampler sampler(discover_nvml(FAKE_NVML_PATH, nullptr), 3600);
  sampler.start();
  for (int i = 0; i < 6; ++i) sampler.snapshot();
  auto failures = sampler.failures();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find("NVIDIA L4"), std::string::npos);
  auto stats = sampler.stats();
  EXPECT_EQ(stats[1].reads, 7u);
  EXPECT_TRUE(stats[1].failure.empty());
  EXPECT_LT(stats[0].reads, 7u);
}

TEST_F(Nvml, MissingLibraryIsANoteNotAnError) {
  std::vector<std::string> notes;
  EXPECT_TRUE(discover_nvml("libnvidia-ml-absent.so.1", &notes).empty());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], "no NVIDIA driver (libnvidia-ml-absent.so.1 not found)");
}

TEST_F(Nvml, LibraryWithoutNvmlSymbolsIsANote) {
  std::vector<std::string> notes;
  EXPECT_TRUE(discover_nvml("libm.so.6", &notes).empty());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("lacks nvmlInit_v2"), std::string::npos) << notes[0];
}

TEST_F(Nvml, FailedInitIsANoteWithTheNvmlError) {
  script("init 9\n");
  std::vector<std::string> notes;
  EXPECT_TRUE(discover_nvml(FAKE_NVML_PATH, &notes).empty());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("Driver Not Loaded"), std::string::npos) << notes[0];
}

TEST_F(Nvml, ShutsDownOnceWhenTheLastSensorGoes) {
  script("device GPU A\npower 1000\ndevice GPU B\npower 2000\n");
  void* keep = dlopen(FAKE_NVML_PATH, RTLD_NOW);  // keeps the fake's counters loaded
  ASSERT_NE(keep, nullptr);
  auto [init0, down0] = counts();
  auto sensors = discover_nvml(FAKE_NVML_PATH, nullptr);
  ASSERT_EQ(sensors.size(), 2u);
  EXPECT_EQ(counts().first, init0 + 1);
  sensors.pop_back();
  EXPECT_EQ(counts().second, down0);
  sensors.pop_back();
  EXPECT_EQ(counts().second, down0 + 1);
  dlclose(keep);
}

TEST_F(Nvml, HardwareListsGpusAndDriver) {
  script("driver 550.54.15\ndevice NVIDIA A100-SXM4-80GB\npower 1\ndevice NVIDIA A100-SXM4-80GB\npower 1\n");
  Hardware hw = detect_hardware("/proc", FAKE_NVML_PATH);
  ASSERT_EQ(hw.gpus.size(), 2u);
  EXPECT_EQ(hw.gpu_driver, "550.54.15");
  EXPECT_EQ(hw.label(), "2x NVIDIA A100-SXM4-80GB");
}
