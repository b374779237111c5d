// Energy sensors. A Sensor reads one physical (or estimated) energy source: a GPU through NVML,
// a RAPL domain through powercap, an amdgpu/hwmon power or energy file, or the CPU-utilisation
// estimate. read() returns what the hardware reports right now; turning that into cumulative
// joules (wrap-around, integrating power) is the Sampler's job. Sensors are not thread-safe:
// the Sampler serialises all reads.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace ipw::energy {

enum class SensorKind { measured, estimated };

struct SensorInfo {
  std::string name;    // unique and stable: "nvml:0", "rapl:package-0", "rapl:package-0/dram", "hwmon:amdgpu:0000:03:00.0", "estimate:cpu"
  std::string device;  // human label: "NVIDIA H100 80GB HBM3", "CPU socket 0 (package)", ...
  std::string source;  // "nvml" | "rapl" | "hwmon" | "estimate"
  SensorKind kind = SensorKind::measured;
  std::string method;  // how energy is obtained, e.g. "energy counter", "instant power, integrated",
                       // "1 s average power, integrated", "utilisation x TDP"
  std::string unit;    // what the hardware reports: "uJ counter", "mJ counter", "uW", "mW", "W (estimated)"
  std::string path;    // sysfs path or library, for error messages
  // Whether this sensor's energy is part of the machine total. Sub-domains contained in another
  // sensor (RAPL core/uncore inside package, psys when packages exist) are listed but not summed.
  bool in_total = true;
};

struct SensorReading {
  bool has_energy = false;
  double energy_j = 0;  // raw counter in joules; may wrap at wrap_j() or reset
  bool has_power = false;
  double power_w = 0;   // instantaneous (or averaged, see SensorInfo::method) power
};

class Sensor {
 public:
  virtual ~Sensor() = default;
  virtual const SensorInfo& info() const = 0;
  // Reads the sensor now. Throws ipw::Error(Errc::sensor) naming the path when it cannot be read
  // (vanished device, permission denied — RAPL needs root on newer kernels, CVE-2020-8694).
  virtual SensorReading read() = 0;
  // Range of the energy counter in joules (the value after which it wraps to 0); 0 if unknown.
  virtual double wrap_j() const { return 0; }
};

using SensorList = std::vector<std::unique_ptr<Sensor>>;

// Where to look for sensors. Every root is injectable so tests run against fake trees.
struct DiscoveryOptions {
  std::string powercap_root = "/sys/class/powercap";
  std::string hwmon_root = "/sys/class/hwmon";
  std::string nvml_library = "libnvidia-ml.so.1";  // IPW_NVML_LIBRARY overrides
  std::string proc_stat = "/proc/stat";
  double cpu_tdp_w = 65.0;     // for the estimate: IPW_CPU_TDP_W or --cpu-tdp
  bool allow_estimate = true;  // add the estimate when no measured sensor exists
  bool force_estimate = false; // use the estimate even when measured sensors exist
  std::vector<std::string> only;  // if non-empty: keep sensors whose name starts with one of these
};

// Applies environment overrides (IPW_NVML_LIBRARY, IPW_POWERCAP_ROOT, IPW_HWMON_ROOT,
// IPW_CPU_TDP_W) to defaults.
DiscoveryOptions discovery_options_from_env();

// All sensors found. Problems that only make a sensor unavailable (no NVML library, RAPL not
// readable) are appended to `notes` as readable sentences rather than thrown. The CPU estimate
// is never summed with measured sensors: it is added only when no measured sensor counts toward
// the total (and allow_estimate), or alone when force_estimate is set.
SensorList discover_sensors(const DiscoveryOptions& opt, std::vector<std::string>* notes = nullptr);

// Implementations, exposed for tests.
SensorList discover_rapl(const std::string& powercap_root, std::vector<std::string>* notes);
SensorList discover_hwmon(const std::string& hwmon_root, std::vector<std::string>* notes);
SensorList discover_nvml(const std::string& library, std::vector<std::string>* notes);
// The CPU estimate "estimate:cpu" (SensorKind::estimated, power only):
//   power = (0.3 + 0.7 x u) x tdp_w, u = non-idle share of all CPUs' time between reads of the
//   aggregate "cpu" line of proc_stat (recomputed once at least 20 jiffies have passed).
// Throws Error(usage) for a non-positive TDP and Error(sensor) if proc_stat cannot be read.
std::unique_ptr<Sensor> make_cpu_estimate(const std::string& proc_stat, double tdp_w);

}  // namespace ipw::energy
