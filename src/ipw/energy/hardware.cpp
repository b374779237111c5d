#include "ipw/energy/hardware.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include <fmt/ranges.h>

#include "ipw/core/strings.h"
#include "ipw/energy/nvml_lib.h"
#include "ipw/energy/sysfs_file.h"

namespace ipw::energy {

std::string Hardware::label() const {
  if (gpus.empty()) return cpu_model.empty() ? "unknown CPU" : cpu_model;
  bool same = std::all_of(gpus.begin(), gpus.end(), [&](const std::string& g) { return g == gpus[0]; });
  if (same) return gpus.size() == 1 ? gpus[0] : fmt::format("{}x {}", gpus.size(), gpus[0]);
  return fmt::format("{}", fmt::join(gpus, " + "));
}

std::string Hardware::id() const {
  std::string canonical = fmt::format("cpu={}\nthreads={}\nram_gib={}\ngpus={}\n", cpu_model, cpu_threads,
                                      std::llround(ram_gib), fmt::join(gpus, "|"));
  return sha256_hex(canonical).substr(0, 12);
}

Json Hardware::to_json() const {
  return Json{{"id", id()},           {"label", label()},          {"cpu_model", cpu_model},
              {"cpu_threads", cpu_threads}, {"ram_gib", ram_gib}, {"gpus", gpus},
              {"gpu_driver", gpu_driver}, {"hostname", hostname},  {"kernel", kernel}};
}

Hardware detect_hardware(const std::string& proc_root, const std::string& nvml_library) {
  Hardware hw;
  if (auto cpuinfo = read_text(proc_root + "/cpuinfo")) {
    std::istringstream in(*cpuinfo);
    for (std::string line; std::getline(in, line);) {
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string key(trim(std::string_view(line).substr(0, colon)));
      std::string value(trim(std::string_view(line).substr(colon + 1)));
      if (key == "processor") ++hw.cpu_threads;
      else if (key == "model name" && hw.cpu_model.empty()) hw.cpu_model = value;
    }
  }
  if (auto meminfo = read_text(proc_root + "/meminfo")) {
    std::istringstream in(*meminfo);
    for (std::string line; std::getline(in, line);) {
      if (!starts_with(line, "MemTotal:")) continue;
      if (auto kib = parse_u64(line.substr(9))) hw.ram_gib = static_cast<double>(*kib) / (1024.0 * 1024.0);
      break;
    }
  }
  std::string why;
  if (auto lib = nvml::Library::load(nvml_library, &why)) {
    hw.gpu_driver = lib->driver_version();
    unsigned int count = 0;
    if (lib->DeviceGetCount(&count) == nvml::kSuccess) {
      for (unsigned int i = 0; i < count; ++i) {
        nvml::Device dev = nullptr;
        char name[96] = {};
        if (lib->DeviceGetHandleByIndex(i, &dev) == nvml::kSuccess &&
            lib->DeviceGetName(dev, name, sizeof name) == nvml::kSuccess)
          hw.gpus.emplace_back(name);
        else
          hw.gpus.emplace_back("NVIDIA GPU");
      }
    }
  }
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) hw.hostname = host;
  struct utsname u {};
  if (uname(&u) == 0) hw.kernel = u.release;
  return hw;
}

}  // namespace ipw::energy
