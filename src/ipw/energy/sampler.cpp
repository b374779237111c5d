#include "ipw/energy/sampler.h"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include <fmt/ranges.h>

#include "ipw/core/clock.h"
#include "ipw/core/error.h"
#include "ipw/core/stats.h"

namespace ipw::energy {
namespace {
// Enough intervals for a stable median of the update period, without growing for hours at 1 kHz.
constexpr size_t kMaxIntervals = 4096;

// A failure text that names the sensor and its path even when the error itself does not.
std::string labelled(const SensorInfo& info, const std::string& what) {
  if (what.find(info.name) != std::string::npos) return what;
  return fmt::format("{} ({}): {}", info.name, info.path, what);
}
}  // namespace

Sampler::Sampler(SensorList sensors, double period_s, size_t ring_capacity)
    : sensors_(std::move(sensors)), period_s_(period_s), capacity_(ring_capacity) {
  if (!(period_s_ > 0)) fail(Errc::usage, "sampling period must be positive, got {} s", period_s_);
  for (const auto& s : sensors_) infos_.push_back(s->info());
  size_t n = sensors_.size();
  use_energy_.assign(n, 0);
  last_raw_.assign(n, 0);
  last_power_.assign(n, 0);
  cumulative_.assign(n, 0);
  peak_.assign(n, 0);
  last_change_t_.assign(n, -1);
  change_j_.assign(n, 0);
  counter_power_.assign(n, 0);
  snap_j_.assign(n, 0);
  power_now_.assign(n, 0);
  change_intervals_.resize(n);
  reads_.assign(n, 0);
  resets_.assign(n, 0);
  failure_.assign(n, "");
}

Sampler::~Sampler() { stop(); }

void Sampler::start() {
  {
    std::lock_guard lock(mu_);
    if (started_) fail(Errc::internal, "Sampler::start() called twice");
    if (sensors_.empty())
      fail(Errc::sensor, "no energy sensor to sample; run `ipw sensors` to see what was found and why");
    double t = now_s();
    size_t ok = 0;
    for (size_t i = 0; i < sensors_.size(); ++i) {
      try {
        SensorReading r = sensors_[i]->read();
        if (!r.has_energy && !r.has_power)
          fail(Errc::sensor, "{} ({}) returned neither energy nor power", infos_[i].name, infos_[i].path);
        use_energy_[i] = r.has_energy;
        counter_power_[i] = r.has_energy && r.has_power;
        last_raw_[i] = r.energy_j;
        last_power_[i] = r.has_power ? r.power_w : 0;
        power_now_[i] = last_power_[i];
        peak_[i] = last_power_[i];
        reads_[i] = 1;
        ++ok;
      } catch (const std::exception& e) {
        failure_[i] = labelled(infos_[i], e.what());
      }
    }
    if (ok == 0) fail(Errc::sensor, "no energy sensor could be read: {}", fmt::join(failure_, "; "));
    start_t_ = last_t_ = t;
    started_ = true;
  }
  running_ = true;
  thread_ = std::thread([this] { loop(); });
}

void Sampler::stop() {
  running_ = false;
  if (thread_.joinable()) thread_.join();
}

namespace {
// Sleeps until an absolute CLOCK_MONOTONIC deadline (the clock of steady_clock and now_s()), in
// slices of at most 50 ms so that stop() is prompt even with long periods; false if stopped.
bool sleep_until(const timespec& deadline, const std::atomic<bool>& running) {
  constexpr long kSliceNs = 50'000'000;
  for (;;) {
    if (!running) return false;
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long left = (deadline.tv_sec - now.tv_sec) * 1'000'000'000LL + (deadline.tv_nsec - now.tv_nsec);
    if (left <= 0) return true;
    timespec until = deadline;
    if (left > kSliceNs) {
      until = now;
      until.tv_nsec += kSliceNs;
      if (until.tv_nsec >= 1'000'000'000) {
        until.tv_nsec -= 1'000'000'000;
        ++until.tv_sec;
      }
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
    }
    if (left <= kSliceNs) return running;
  }
}
}  // namespace

void Sampler::loop() {
  const long long period_ns = std::max(1LL, std::llround(period_s_ * 1e9));
  timespec next{};
  clock_gettime(CLOCK_MONOTONIC, &next);
  auto advance = [&next](long long ns) {
    long long t = next.tv_nsec + ns;
    next.tv_sec += static_cast<time_t>(t / 1'000'000'000);
    next.tv_nsec = static_cast<long>(t % 1'000'000'000);
  };
  advance(period_ns);
  while (sleep_until(next, running_)) {
    {
      std::lock_guard lock(mu_);
      try {
        sample_locked(now_s());
      } catch (const std::exception& e) {  // bookkeeping failed (out of memory): stop, say why
        for (auto& f : failure_)
          if (f.empty()) f = fmt::format("sampler thread stopped: {}", e.what());
        running_ = false;
      }
    }
    advance(period_ns);
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long behind = (now.tv_sec - next.tv_sec) * 1'000'000'000LL + (now.tv_nsec - next.tv_nsec);
    if (behind > 0) advance((behind / period_ns + 1) * period_ns);  // fell behind: skip missed ticks
  }
}

Snapshot Sampler::snapshot() {
  std::lock_guard lock(mu_);
  if (!started_) fail(Errc::internal, "Sampler::snapshot() before start()");
  double t = now_s();
  sample_locked(t);
  Snapshot s;
  s.t_s = last_t_;
  s.cumulative_j = cumulative_;
  for (size_t i = 0; i < cumulative_.size(); ++i) {
    double& v = s.cumulative_j[i];
    if (counter_power_[i] && failure_[i].empty() && last_change_t_[i] >= 0 && t > last_change_t_[i])
      v = change_j_[i] + last_power_[i] * (t - last_change_t_[i]);
    v = std::max(v, snap_j_[i]);
    snap_j_[i] = v;
    if (infos_[i].in_total) s.total_j += v;
  }
  return s;
}

void Sampler::read_one(size_t i, double t, double dt) {
  SensorReading r;
  try {
    r = sensors_[i]->read();
    if (use_energy_[i] ? !r.has_energy : !r.has_power)
      fail(Errc::sensor, "{} ({}) stopped reporting {}", infos_[i].name, infos_[i].path,
           use_energy_[i] ? "energy" : "power");
  } catch (const std::exception& e) {
    failure_[i] = labelled(infos_[i], e.what());
    return;
  }
  ++reads_[i];
  bool changed;
  if (use_energy_[i]) {
    double d = r.energy_j - last_raw_[i];
    if (d < 0) {
      double wrap = sensors_[i]->wrap_j();
      if (wrap > 0) {
        d = wrap - last_raw_[i] + r.energy_j;
      } else {
        d = 0;  // counter reset (driver reload): the energy in between is unknown
        ++resets_[i];
      }
    }
    cumulative_[i] += d;
    changed = r.energy_j != last_raw_[i];
    last_raw_[i] = r.energy_j;
    if (changed && last_change_t_[i] >= 0 && t > last_change_t_[i]) {
      double p = (cumulative_[i] - change_j_[i]) / (t - last_change_t_[i]);
      power_now_[i] = p;
      if (!r.has_power) peak_[i] = std::max(peak_[i], p);
    }
    if (r.has_power) {
      power_now_[i] = r.power_w;
      peak_[i] = std::max(peak_[i], r.power_w);
      last_power_[i] = r.power_w;
    }
  } else {
    cumulative_[i] += 0.5 * (last_power_[i] + r.power_w) * dt;
    changed = r.power_w != last_power_[i];
    last_power_[i] = power_now_[i] = r.power_w;
    peak_[i] = std::max(peak_[i], r.power_w);
  }
  if (changed) {
    if (last_change_t_[i] >= 0 && change_intervals_[i].size() < kMaxIntervals)
      change_intervals_[i].push_back(t - last_change_t_[i]);
    last_change_t_[i] = t;
    change_j_[i] = cumulative_[i];
  }
}

void Sampler::sample_locked(double t) {
  double dt = t > last_t_ ? t - last_t_ : 0;
  for (size_t i = 0; i < sensors_.size(); ++i)
    if (failure_[i].empty()) read_one(i, t, dt);
  last_t_ = std::max(last_t_, t);
  if (capacity_ == 0) return;
  if (ring_.size() < capacity_) {
    ring_.push_back(TracePoint{t, power_now_});
  } else {
    ring_[ring_head_].t_s = t;
    ring_[ring_head_].power_w.assign(power_now_.begin(), power_now_.end());
    ring_head_ = (ring_head_ + 1) % capacity_;
  }
}

bool Sampler::estimated() const {
  for (const auto& i : infos_)
    if (i.in_total && i.kind == SensorKind::estimated) return true;
  return false;
}

std::vector<TracePoint> Sampler::trace() const {
  std::lock_guard lock(mu_);
  std::vector<TracePoint> out;
  out.reserve(ring_.size());
  for (size_t k = 0; k < ring_.size(); ++k) out.push_back(ring_[(ring_head_ + k) % ring_.size()]);
  return out;
}

std::vector<SensorStats> Sampler::stats() const {
  std::lock_guard lock(mu_);
  std::vector<SensorStats> out(sensors_.size());
  double duration = last_t_ - start_t_;
  for (size_t i = 0; i < out.size(); ++i) {
    auto& s = out[i];
    s.energy_j = cumulative_[i];
    s.mean_power_w = duration > 0 ? cumulative_[i] / duration : 0;
    s.peak_power_w = peak_[i];
    s.update_period_s = change_intervals_[i].empty() ? -1 : percentile(change_intervals_[i], 50);
    s.reads = reads_[i];
    s.counter_resets = resets_[i];
    s.failure = failure_[i];
  }
  return out;
}

std::vector<std::string> Sampler::failures() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& f : failure_)
    if (!f.empty()) out.push_back(f);
  return out;
}

}  // namespace ipw::energy
