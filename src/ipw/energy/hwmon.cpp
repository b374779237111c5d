// hwmon power and energy files. amdgpu GPUs are measured (energy1_input in µJ if the driver
// exposes it, else power1_input or power1_average in µW) and counted in the machine total. Any
// other hwmon device with powerN_*/energyN_input files is listed but not summed: nothing says
// what it overlaps with (a platform power meter includes the CPU and GPUs already counted).
#include <algorithm>
#include <filesystem>
#include <cstring>
#include <map>

#include <fmt/ranges.h>

#include "ipw/core/error.h"
#include "ipw/core/strings.h"
#include "ipw/energy/sensor.h"
#include "ipw/energy/sysfs_file.h"

namespace fs = std::filesystem;

namespace ipw::energy {
namespace {

enum class Unit { microjoule, microwatt };

class HwmonSensor : public Sensor {
 public:
  HwmonSensor(SensorInfo info, std::unique_ptr<CounterFile> file, Unit unit)
      : info_(std::move(info)), file_(std::move(file)), unit_(unit) {}
  const SensorInfo& info() const override { return info_; }
  SensorReading read() override {
    SensorReading r;
    double v = static_cast<double>(file_->read()) * 1e-6;
    if (unit_ == Unit::microjoule) {
      r.has_energy = true;
      r.energy_j = v;
    } else {
      r.has_power = true;
      r.power_w = v;
    }
    return r;
  }

 private:
  SensorInfo info_;
  std::unique_ptr<CounterFile> file_;
  Unit unit_;
};

struct Channel {
  std::string file;  // "energy1_input"
  Unit unit;
  std::string what;  // "energy counter" | "instantaneous power" | "average power"
};

// Best file for channel n in dir: energy counter, then instantaneous, then average power.
std::optional<Channel> pick_channel(const fs::path& dir, int n) {
  const Channel options[] = {
      {fmt::format("energy{}_input", n), Unit::microjoule, "energy counter"},
      {fmt::format("power{}_input", n), Unit::microwatt, "instantaneous power, integrated"},
      {fmt::format("power{}_average", n), Unit::microwatt, "average power, integrated"},
  };
  std::error_code ec;
  for (const auto& c : options)
    if (fs::exists(dir / c.file, ec)) return c;
  return std::nullopt;
}

// Channel numbers N of powerN_* / energyN_input files in dir.
std::vector<int> channels(const fs::path& dir) {
  std::vector<int> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string f = it->path().filename().string();
    std::string_view rest;
    if (starts_with(f, "power")) rest = std::string_view(f).substr(5);
    else if (starts_with(f, "energy")) rest = std::string_view(f).substr(6);
    else continue;
    auto n = parse_u64(rest);
    if (!n) continue;
    std::string tail(rest.substr(std::to_string(*n).size()));
    if (tail != "_input" && tail != "_average") continue;
    if (std::find(out.begin(), out.end(), static_cast<int>(*n)) == out.end()) out.push_back(static_cast<int>(*n));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

SensorList discover_hwmon(const std::string& hwmon_root, std::vector<std::string>* notes) {
  SensorList out;
  std::error_code ec;
  if (!fs::is_directory(hwmon_root, ec)) return out;
  std::vector<fs::path> dirs;
  for (fs::directory_iterator it(hwmon_root, ec), end; !ec && it != end; it.increment(ec))
    if (starts_with(it->path().filename().string(), "hwmon")) dirs.push_back(it->path());
  std::sort(dirs.begin(), dirs.end());

  std::vector<std::string> generic;
  for (const auto& dir : dirs) {
    auto name = read_text((dir / "name").string());
    if (!name || name->empty()) continue;
    // The device link names the PCI function (0000:03:00.0) for GPUs; else use hwmonN.
    std::string dev = dir.filename().string();
    fs::path link = fs::read_symlink(dir / "device", ec);
    if (!ec && !link.filename().empty()) dev = link.filename().string();
    ec.clear();
    bool amdgpu = *name == "amdgpu";
    for (int n : channels(dir)) {
      if (amdgpu && n != 1) continue;
      auto ch = pick_channel(dir, n);
      if (!ch) continue;
      SensorInfo info;
      info.source = "hwmon";
      info.path = (dir / ch->file).string();
      info.unit = ch->file.rfind("energy", 0) == 0 ? "uJ counter" : "uW";
      if (amdgpu) {
        info.name = "hwmon:amdgpu:" + dev;
        info.device = "AMD GPU " + dev + " (amdgpu)";
        info.method = ch->what + " (amdgpu hwmon)";
        info.in_total = true;
      } else {
        std::string label = read_text((dir / fmt::format("power{}_label", n)).string()).value_or("");
        info.name = fmt::format("hwmon:{}:{}:{}", *name, dev, n);
        info.device = fmt::format("{} {}{}", *name, dev, label.empty() ? "" : " (" + label + ")");
        info.method = ch->what + "; generic hwmon sensor, overlap with other sensors unknown, not summed";
        info.in_total = false;
      }
      int err = 0;
      auto file = CounterFile::open(info.path, &err);
      if (!file) {
        if (notes) notes->push_back(fmt::format("hwmon sensor {} skipped: cannot open {}: {}", info.name, info.path, std::strerror(err)));
        continue;
      }
      try {
        file->read();
      } catch (const Error& e) {
        if (notes) notes->push_back(fmt::format("hwmon sensor {} skipped: {}", info.name, e.what()));
        continue;
      }
      if (!info.in_total) generic.push_back(info.name);
      out.push_back(std::make_unique<HwmonSensor>(std::move(info), std::move(file), ch->unit));
    }
  }
  if (!generic.empty() && notes)
    notes->push_back(fmt::format(
        "hwmon power sensors listed but not counted in the total (what they overlap with is unknown): {}",
        fmt::join(generic, ", ")));
  return out;
}

}  // namespace ipw::energy
