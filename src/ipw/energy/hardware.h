// Hardware fingerprint: what the results were measured on. Grouping key for leaderboards.
#pragma once

#include <string>
#include <vector>

#include "ipw/core/json.h"

namespace ipw::energy {

struct Hardware {
  std::string cpu_model;        // /proc/cpuinfo "model name"
  int cpu_threads = 0;
  double ram_gib = 0;           // /proc/meminfo MemTotal
  std::vector<std::string> gpus;  // "NVIDIA H100 80GB HBM3", "AMD Radeon ..." (one entry per device)
  std::string gpu_driver;       // NVML driver version, if any
  std::string hostname;
  std::string kernel;

  // Short label: "NVIDIA H100 80GB HBM3" / "2x NVIDIA A100" / CPU model when no GPU.
  std::string label() const;
  // Stable id: hash of cpu model, threads, RAM rounded to GiB, GPU list (not the hostname).
  std::string id() const;
  Json to_json() const;
};

// Reads /proc and NVML (through the same dlopen path as the sensors; absent library = no GPUs).
Hardware detect_hardware(const std::string& proc_root = "/proc",
                         const std::string& nvml_library = "libnvidia-ml.so.1");

}  // namespace ipw::energy
