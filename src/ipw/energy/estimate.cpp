// The CPU estimate used when nothing is measured. Model: power = (0.3 + 0.7 x u) x TDP, where u is
// the fraction of non-idle time of all CPUs (aggregate "cpu" line of /proc/stat: busy = user +
// nice + system + irq + softirq + steal, total = busy + idle + iowait; guest time is already in
// user). A CPU rarely idles below ~30% of TDP at the socket and rarely exceeds TDP for long; the
// result is an estimate and is labelled so everywhere (SensorKind::estimated).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "ipw/core/clock.h"
#include "ipw/core/error.h"
#include "ipw/energy/sensor.h"
#include "ipw/energy/sysfs_file.h"

namespace ipw::energy {
namespace {

// Utilisation is recomputed only once this many jiffies (summed over CPUs) have passed, so a
// 1 kHz sampler does not see 0%/100% flicker at the 100 Hz tick; between updates the last value holds.
constexpr uint64_t kMinJiffies = 20;
// /proc/stat advances at the scheduler tick (4-10 ms), so reading it more often only costs CPU:
// reads closer together than this return the power last computed. Energy snapshots taken at every
// query start and end would otherwise parse /proc/stat thousands of times a second.
constexpr double kMinReadInterval_s = 0.005;

class CpuEstimate : public Sensor {
 public:
  CpuEstimate(SensorInfo info, int fd, double tdp_w) : info_(std::move(info)), fd_(fd), tdp_w_(tdp_w) {}
  ~CpuEstimate() override { ::close(fd_); }
  const SensorInfo& info() const override { return info_; }

  SensorReading read() override {
    SensorReading r;
    r.has_power = true;
    double t = now_s();
    if (primed_ && t - last_read_s_ < kMinReadInterval_s) {
      r.power_w = (0.3 + 0.7 * util_) * tdp_w_;
      return r;
    }
    last_read_s_ = t;
    uint64_t busy = 0, total = 0;
    read_stat(&busy, &total);
    if (!primed_) {
      primed_ = true;
      util_ = total > 0 ? static_cast<double>(busy) / static_cast<double>(total) : 0;  // since boot
      last_busy_ = busy;
      last_total_ = total;
    } else if (total >= last_total_ + kMinJiffies) {
      uint64_t db = busy >= last_busy_ ? busy - last_busy_ : 0;
      util_ = std::min(1.0, static_cast<double>(db) / static_cast<double>(total - last_total_));
      last_busy_ = busy;
      last_total_ = total;
    }
    r.power_w = (0.3 + 0.7 * util_) * tdp_w_;
    return r;
  }

 private:
  void read_stat(uint64_t* busy, uint64_t* total) {
    char buf[512];
    ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    if (n < 0) fail(Errc::sensor, "cannot read {}: {}", info_.path, std::strerror(errno));
    std::string_view s(buf, static_cast<size_t>(n));
    if (s.substr(0, 4) != "cpu ") fail(Errc::sensor, "{}: first line is not the aggregate \"cpu\" line", info_.path);
    s.remove_prefix(4);
    uint64_t v[8] = {};  // user nice system idle iowait irq softirq steal
    for (int i = 0; i < 8; ++i) {
      size_t p = 0;
      while (p < s.size() && s[p] == ' ') ++p;
      s.remove_prefix(p);
      auto x = parse_u64(s);
      if (!x) {
        if (i < 4) fail(Errc::sensor, "{}: malformed \"cpu\" line", info_.path);
        break;  // old kernels have fewer columns
      }
      v[i] = *x;
      while (!s.empty() && s[0] >= '0' && s[0] <= '9') s.remove_prefix(1);
    }
    uint64_t idle = v[3] + v[4];
    *busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    *total = *busy + idle;
  }

  SensorInfo info_;
  int fd_;
  double tdp_w_;
  bool primed_ = false;
  double util_ = 0;
  uint64_t last_busy_ = 0, last_total_ = 0;
  double last_read_s_ = 0;
};

}  // namespace

std::unique_ptr<Sensor> make_cpu_estimate(const std::string& proc_stat, double tdp_w) {
  if (!(tdp_w > 0) || !std::isfinite(tdp_w))
    fail(Errc::usage, "CPU TDP must be a positive number of watts, got {}; set --cpu-tdp or IPW_CPU_TDP_W", tdp_w);
  int fd = ::open(proc_stat.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(Errc::sensor, "cannot open {} for the CPU estimate: {}", proc_stat, std::strerror(errno));
  SensorInfo info;
  info.name = "estimate:cpu";
  info.device = "CPU (estimate from utilisation)";
  info.source = "estimate";
  info.kind = SensorKind::estimated;
  info.method = fmt::format("estimated: (0.3 + 0.7 x utilisation) x TDP {:g} W", tdp_w);
  info.unit = "W (estimated)";
  info.path = proc_stat;
  info.in_total = true;
  auto s = std::make_unique<CpuEstimate>(std::move(info), fd, tdp_w);
  s->read();  // fails now, not in the sampler, if the file is not /proc/stat-like
  return s;
}

}  // namespace ipw::energy
