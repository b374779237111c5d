#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/ranges.h>

#include "ipw/core/error.h"
#include "ipw/core/strings.h"
#include "ipw/energy/sensor.h"

namespace ipw::energy {
namespace {

bool selected(const std::vector<std::string>& only, const std::string& name) {
  if (only.empty()) return true;
  for (const auto& p : only)
    if (starts_with(name, p)) return true;
  return false;
}

}  // namespace

DiscoveryOptions discovery_options_from_env() {
  DiscoveryOptions o;
  if (const char* v = std::getenv("IPW_NVML_LIBRARY"); v && *v) o.nvml_library = v;
  if (const char* v = std::getenv("IPW_POWERCAP_ROOT"); v && *v) o.powercap_root = v;
  if (const char* v = std::getenv("IPW_HWMON_ROOT"); v && *v) o.hwmon_root = v;
  if (const char* v = std::getenv("IPW_CPU_TDP_W"); v && *v) {
    char* end = nullptr;
    errno = 0;
    double w = std::strtod(v, &end);
    if (errno != 0 || end == v || !trim(end).empty() || !std::isfinite(w) || w <= 0)
      fail(Errc::usage, "IPW_CPU_TDP_W='{}' is not a positive number of watts; set it to the CPU's TDP, e.g. IPW_CPU_TDP_W=125", v);
    o.cpu_tdp_w = w;
  }
  return o;
}

SensorList discover_sensors(const DiscoveryOptions& opt, std::vector<std::string>* notes) {
  SensorList out;
  if (!opt.force_estimate) {
    auto keep = [&](SensorList found) {
      for (auto& s : found)
        if (selected(opt.only, s->info().name)) out.push_back(std::move(s));
    };
    keep(discover_rapl(opt.powercap_root, notes));
    keep(discover_hwmon(opt.hwmon_root, notes));
    keep(discover_nvml(opt.nvml_library, notes));
  }
  bool measured_total = false;
  for (const auto& s : out) measured_total |= s->info().in_total;
  bool want_estimate = opt.force_estimate || (!measured_total && opt.allow_estimate);
  if (want_estimate && selected(opt.only, "estimate:cpu")) {
    try {
      out.push_back(make_cpu_estimate(opt.proc_stat, opt.cpu_tdp_w));
      if (notes)
        notes->push_back(fmt::format(
            "{}: CPU power is estimated as (0.3 + 0.7 x utilisation) x TDP {:g} W, not measured; "
            "set IPW_CPU_TDP_W or --cpu-tdp to this CPU's TDP",
            opt.force_estimate ? "estimate forced, measured sensors ignored" : "no measured energy sensor counts toward the total",
            opt.cpu_tdp_w));
    } catch (const Error& e) {
      if (notes) notes->push_back(fmt::format("no CPU estimate: {}", e.what()));
    }
  }
  return out;
}

}  // namespace ipw::energy
