// CPU cost of the Sampler at 1 kHz over a fake RAPL tree (2 sockets x package, core, dram) in a
// temporary directory. The main thread sleeps while the sampler runs, so the process CPU time
// (getrusage RUSAGE_SELF, user + system) is the sampler's cost. A bare thread that only wakes at
// 1 kHz (clock_nanosleep to absolute deadlines, no reads) is measured first as the reference: on
// a virtual machine the wakeups alone can cost about 1% of a core.
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "ipw/core/clock.h"
#include "ipw/energy/sampler.h"
#include "ipw/energy/sensor.h"

namespace fs = std::filesystem;
using namespace ipw::energy;

namespace {

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

void zone(const fs::path& root, const std::string& id, const std::string& name) {
  write(root / id / "name", name + "\n");
  write(root / id / "energy_uj", "123456789012\n");
  write(root / id / "max_energy_range_uj", "262143328850\n");
}

double cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// CPU share of one core used by a thread that only wakes every millisecond for `seconds`.
double bare_wakeups_pct(double seconds) {
  std::atomic<bool> run{true};
  std::thread th([&run] {
    timespec next{};
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (run) {
      next.tv_nsec += 1'000'000;
      if (next.tv_nsec >= 1'000'000'000) {
        next.tv_nsec -= 1'000'000'000;
        ++next.tv_sec;
      }
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
    }
  });
  double c0 = cpu_s(), t0 = ipw::now_s();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  double c1 = cpu_s(), t1 = ipw::now_s();
  run = false;
  th.join();
  return 100.0 * (c1 - c0) / (t1 - t0);
}

}  // namespace

int main() {
  std::string tmpl = (fs::temp_directory_path() / "ipw-sampler-cost-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) {
    std::perror("mkdtemp");
    return 1;
  }
  fs::path root = tmpl;
  for (int s = 0; s < 2; ++s) {
    std::string pkg = "intel-rapl:" + std::to_string(s);
    zone(root, pkg, "package-" + std::to_string(s));
    zone(root, pkg + ":0", "core");
    zone(root, pkg + ":1", "dram");
  }
  SensorList sensors = discover_rapl(root.string(), nullptr);
  size_t n = sensors.size();
  const double seconds = 3.0;
  double ref = bare_wakeups_pct(seconds);
  {
    Sampler sampler(std::move(sensors), 0.001);
    sampler.start();
    double c0 = cpu_s(), t0 = ipw::now_s();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    double c1 = cpu_s(), t1 = ipw::now_s();
    sampler.stop();
    size_t reads = sampler.stats()[0].reads;
    double pct = 100.0 * (c1 - c0) / (t1 - t0);
    std::printf("sensors: %zu RAPL zones (fake tree), period 1 ms, %.1f s\n", n, t1 - t0);
    std::printf("sampler 1 kHz CPU: %.2f%% of one core (target < 1%%, %s)\n", pct, pct < 1.0 ? "PASS" : "FAIL");
    std::printf("reference, bare 1 kHz wakeups without reads: %.2f%% of one core; sampler / reference: %.2fx\n",
                ref, ref > 0 ? pct / ref : 0.0);
    double rate = static_cast<double>(reads) / (t1 - t0);
    std::printf("achieved sample rate: %.0f Hz (target: >= 950 Hz, %s)\n", rate, rate >= 950 ? "PASS" : "FAIL");
  }
  fs::remove_all(root);
  return 0;
}
