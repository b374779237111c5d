// RAPL through the Linux powercap interface. /sys/class/powercap lists every zone flat
// (intel-rapl:0, intel-rapl:0:0, ... as symlinks) next to the `intel-rapl` control type, which has
// no energy_uj; under /sys/devices/virtual/powercap/intel-rapl the sub-zones are nested inside
// their package. Both layouts are scanned and zones are de-duplicated by id. AMD Zen CPUs expose
// their RAPL counters through the same interface (the zone prefix stays "intel-rapl").
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/ranges.h>

#include "ipw/core/error.h"
#include "ipw/core/strings.h"
#include "ipw/energy/sensor.h"
#include "ipw/energy/sysfs_file.h"

namespace fs = std::filesystem;

namespace ipw::energy {
namespace {

constexpr std::string_view kPrefix = "intel-rapl:";

// "intel-rapl:0" -> {0}, "intel-rapl:0:1" -> {0, 1}; empty if the name is not a zone id.
std::vector<int> parse_zone_id(const std::string& name) {
  if (!starts_with(name, kPrefix)) return {};
  std::vector<int> out;
  for (const auto& part : split(std::string_view(name).substr(kPrefix.size()), ':')) {
    auto v = parse_u64(part);
    if (!v || part.empty() || std::to_string(*v) != part) return {};
    out.push_back(static_cast<int>(*v));
  }
  return out.size() <= 2 ? out : std::vector<int>{};
}

class RaplSensor : public Sensor {
 public:
  RaplSensor(SensorInfo info, std::unique_ptr<CounterFile> file, double wrap_j)
      : info_(std::move(info)), file_(std::move(file)), wrap_j_(wrap_j) {}
  const SensorInfo& info() const override { return info_; }
  SensorReading read() override {
    SensorReading r;
    r.has_energy = true;
    r.energy_j = static_cast<double>(file_->read()) * 1e-6;
    return r;
  }
  double wrap_j() const override { return wrap_j_; }

 private:
  SensorInfo info_;
  std::unique_ptr<CounterFile> file_;
  double wrap_j_;
};

struct Zone {
  std::vector<int> id;
  std::string dir;
  std::string name;  // contents of `name`
};

void collect(const fs::path& dir, std::map<std::vector<int>, Zone>& zones, int depth) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string base = it->path().filename().string();
    auto id = parse_zone_id(base);
    if (!id.empty()) {
      if (!zones.count(id)) zones[id] = Zone{id, it->path().string(), ""};
      if (id.size() == 1 && depth < 2) collect(it->path(), zones, depth + 1);
    } else if (base == "intel-rapl" && depth == 0) {
      collect(it->path(), zones, depth + 1);  // the control type holding nested zones
    }
  }
}

}  // namespace

SensorList discover_rapl(const std::string& powercap_root, std::vector<std::string>* notes) {
  SensorList out;
  std::error_code ec;
  if (!fs::is_directory(powercap_root, ec)) {
    if (notes) notes->push_back(fmt::format("no RAPL: {} does not exist (not Linux, or no powercap driver)", powercap_root));
    return out;
  }
  std::map<std::vector<int>, Zone> zones;
  collect(powercap_root, zones, 0);

  // Zone names; skip directories without energy_uj (control types, unsupported domains).
  std::vector<Zone> usable;
  for (auto& [id, z] : zones) {
    struct stat st {};
    if (::stat((z.dir + "/energy_uj").c_str(), &st) != 0) continue;
    z.name = read_text(z.dir + "/name").value_or("");
    if (z.name.empty()) z.name = fmt::format("zone-{}", fmt::join(id, "-"));
    usable.push_back(z);
  }
  bool has_package = std::any_of(usable.begin(), usable.end(), [](const Zone& z) {
    return z.id.size() == 1 && starts_with(z.name, "package");
  });

  std::vector<std::string> denied;
  std::set<std::string> names;
  for (const auto& z : usable) {
    const Zone* parent = nullptr;
    if (z.id.size() == 2) {
      auto it = zones.find({z.id[0]});
      if (it != zones.end() && !it->second.name.empty()) parent = &it->second;
    }
    SensorInfo info;
    info.source = "rapl";
    info.path = z.dir + "/energy_uj";
    std::string parent_name = parent ? parent->name : fmt::format("package-{}", z.id[0]);
    info.name = z.id.size() == 2 ? "rapl:" + parent_name + "/" + z.name : "rapl:" + z.name;
    if (!names.insert(info.name).second) info.name += "@" + fs::path(z.dir).filename().string();
    std::string socket = starts_with(parent_name, "package-") ? parent_name.substr(8) : std::to_string(z.id[0]);
    if (z.name == "psys")
      info.device = "platform (psys)";
    else
      info.device = fmt::format("CPU socket {} ({})", socket, starts_with(z.name, "package") ? "package" : z.name);
    if (z.id.size() == 2)
      info.in_total = z.name == "dram";  // core/uncore are inside the package
    else if (z.name == "psys")
      info.in_total = !has_package;     // psys includes the packages
    else
      info.in_total = true;
    double wrap_j = static_cast<double>(read_u64(z.dir + "/max_energy_range_uj").value_or(0)) * 1e-6;
    info.unit = "uJ counter";
    info.method = wrap_j > 0 ? fmt::format("energy counter (µJ, wraps at {:.0f} J)", wrap_j)
                             : "energy counter (µJ, wrap range unknown)";
    if (!info.in_total) info.method += z.name == "psys" ? "; includes the packages, not summed"
                                                         : "; inside the package, not summed";
    int err = 0;
    auto file = CounterFile::open(info.path, &err);
    if (!file) {
      if (err == EACCES || err == EPERM)
        denied.push_back(info.path);
      else if (notes)
        notes->push_back(fmt::format("RAPL zone {} skipped: cannot open {}: {}", info.name, info.path, std::strerror(err)));
      continue;
    }
    try {
      file->read();
    } catch (const Error& e) {
      if (notes) notes->push_back(fmt::format("RAPL zone {} skipped: {}", info.name, e.what()));
      continue;
    }
    out.push_back(std::make_unique<RaplSensor>(std::move(info), std::move(file), wrap_j));
  }
  if (!denied.empty() && notes)
    notes->push_back(fmt::format(
        "RAPL energy counters are not readable ({}): newer kernels restrict energy_uj to root "
        "(CVE-2020-8694 mitigation). Run as root, or allow reading with "
        "`sudo chmod a+r {}/intel-rapl:*/energy_uj {}/intel-rapl:*/intel-rapl:*/energy_uj` "
        "(lost at reboot) or a udev rule: "
        "SUBSYSTEM==\"powercap\", ACTION==\"add\", RUN+=\"/bin/chmod a+r /sys%p/energy_uj\"",
        fmt::join(denied, ", "), powercap_root, powercap_root));
  if (usable.empty() && notes)
    notes->push_back(fmt::format("no RAPL zones with energy_uj under {}", powercap_root));
  return out;
}

}  // namespace ipw::energy
