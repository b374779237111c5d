#include <gtest/gtest.h>

#include "fake_tree.h"
#include "ipw/energy/hardware.h"

using namespace ipw::energy;
using ipw::energy::testing::TempDir;
using ipw::energy::testing::write_file;

namespace {

void fake_proc(const TempDir& dir) {
  std::string cpuinfo;
  for (int i = 0; i < 4; ++i)
    cpuinfo += "processor\t: " + std::to_string(i) +
               "\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz\n"
               "flags\t\t: fpu vme\n\n";
  write_file(dir / "cpuinfo", cpuinfo);
  write_file(dir / "meminfo", "MemTotal:       16777216 kB\nMemFree:         1234 kB\n");
}

}  // namespace

TEST(Hardware, ReadsCpuModelThreadsAndRamFromProc) {
  TempDir dir;
  fake_proc(dir);
  Hardware hw = detect_hardware(dir.path(), "libnvidia-ml-absent.so.1");
  EXPECT_EQ(hw.cpu_model, "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz");
  EXPECT_EQ(hw.cpu_threads, 4);
  EXPECT_DOUBLE_EQ(hw.ram_gib, 16.0);
  EXPECT_TRUE(hw.gpus.empty());
  EXPECT_TRUE(hw.gpu_driver.empty());
  EXPECT_FALSE(hw.kernel.empty());
  EXPECT_EQ(hw.label(), hw.cpu_model);
}

TEST(Hardware, IdIsTwelveHexDigitsAndIgnoresHostname) {
  Hardware a;
  a.cpu_model = "CPU X";
  a.cpu_threads = 8;
  a.ram_gib = 31.6;
  a.hostname = "node1";
  Hardware b = a;
  b.hostname = "node2";
  b.ram_gib = 32.2;  // rounds to the same GiB
  EXPECT_EQ(a.id().size(), 12u);
  EXPECT_EQ(a.id().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(a.id(), b.id());
  b.gpus = {"NVIDIA L4"};
  EXPECT_NE(a.id(), b.id());
}

TEST(Hardware, LabelNamesMixedGpus) {
  Hardware hw;
  hw.cpu_model = "CPU X";
  hw.gpus = {"NVIDIA L4"};
  EXPECT_EQ(hw.label(), "NVIDIA L4");
  hw.gpus = {"NVIDIA L4", "NVIDIA T4"};
  EXPECT_EQ(hw.label(), "NVIDIA L4 + NVIDIA T4");
}

TEST(Hardware, JsonCarriesIdLabelAndFields) {
  Hardware hw;
  hw.cpu_model = "CPU X";
  hw.cpu_threads = 2;
  auto j = hw.to_json();
  EXPECT_EQ(j["id"], hw.id());
  EXPECT_EQ(j["label"], "CPU X");
  EXPECT_EQ(j["cpu_threads"], 2);
  EXPECT_TRUE(j["gpus"].is_array());
}
