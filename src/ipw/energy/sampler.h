// The Sampler owns the sensors and a background thread that reads them at a fixed period
// (default 5 ms; 1 kHz works) into a ring buffer of monotonic-timestamped samples. It turns raw
// readings into cumulative joules per sensor since start(): energy counters are differenced with
// wrap-around (max_energy_range_uj for RAPL) and power-only sensors are integrated (trapezoid).
// Reading often enough is what makes wrap-around detectable, so the thread must keep running
// while energy is being measured. snapshot() takes an extra reading on the caller's thread
// (serialised with the sampler thread), so event boundaries are exact in time.
//
// Power of an energy-counter sensor is measured between two changes of its counter (RAPL updates
// about every 1 ms, NVML every 20-100 ms), not per sampling period, so slow counters do not show
// false spikes; sensors that also report power (NVML) show the reported power in the trace.
// The thread sleeps to absolute deadlines on the monotonic clock (clock_nanosleep), so the rate
// does not drift; when it falls behind it skips the missed ticks instead of bursting. stop()
// returns within about 50 ms whatever the period.
//
// A sensor that fails mid-run stops contributing; the failure is kept in failures() and the
// energy from then on is missing for that sensor (callers mark results accordingly).
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ipw/energy/sensor.h"

namespace ipw::energy {

struct Snapshot {
  double t_s = 0;                    // monotonic seconds
  std::vector<double> cumulative_j;  // per sensor, since start()
  double total_j = 0;                // sum over sensors with in_total
};

struct TracePoint {
  double t_s;
  std::vector<double> power_w;       // per sensor: power over the last sampling period
};

struct SensorStats {
  double energy_j = 0;           // since start()
  double mean_power_w = 0;       // energy / duration
  double peak_power_w = 0;       // highest power over one sampling period (or reported power)
  double update_period_s = -1;   // observed median interval between value changes; -1 unknown
  size_t reads = 0;
  size_t counter_resets = 0;     // counter went backwards with no known wrap range (driver reload): added 0
  std::string failure;           // empty unless the sensor failed
};

class Sampler {
 public:
  // period_s: sampling period; ring_capacity: trace points kept (oldest dropped).
  explicit Sampler(SensorList sensors, double period_s = 0.005, size_t ring_capacity = 1 << 16);
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  void start();  // takes the first reading and starts the thread; throws if no sensor can be read
  void stop();   // joins the thread; idempotent

  // Reads all sensors now (thread-safe). A counter that updates coarsely (NVML's every 20-100 ms)
  // and also reports power is interpolated: the energy since its last update is the reported
  // power x the time since then, so short windows between two counter updates are not read as
  // zero. Values never decrease: if the counter's next update comes in below the interpolation,
  // the snapshot holds until the counter catches up, so the counter stays the ground truth.
  Snapshot snapshot();

  const std::vector<SensorInfo>& sensors() const { return infos_; }
  bool estimated() const;  // true if any in-total sensor is an estimate
  std::vector<TracePoint> trace() const;  // copy of the ring buffer, oldest first
  std::vector<SensorStats> stats() const;
  std::vector<std::string> failures() const;
  double period_s() const { return period_s_; }

 private:
  void loop();
  void sample_locked(double t);
  void read_one(size_t i, double t, double dt);

  SensorList sensors_;
  std::vector<SensorInfo> infos_;
  double period_s_;
  size_t capacity_;

  mutable std::mutex mu_;
  double start_t_ = 0, last_t_ = 0;
  std::vector<char> use_energy_;      // counter sensor (else power is integrated); fixed at start()
  std::vector<double> last_raw_;      // last raw counter value (energy sensors)
  std::vector<double> last_power_;    // last power (power sensors)
  std::vector<double> cumulative_;
  std::vector<double> peak_;
  std::vector<double> last_change_t_;  // -1: no change seen yet
  std::vector<double> change_j_;       // cumulative energy at the last counter change
  std::vector<char> counter_power_;    // counter sensor that also reports power (NVML)
  std::vector<double> snap_j_;         // last value snapshot() returned (kept non-decreasing)
  std::vector<double> power_now_;      // power shown in the trace
  std::vector<std::vector<double>> change_intervals_;
  std::vector<size_t> reads_;
  std::vector<size_t> resets_;
  std::vector<std::string> failure_;
  std::vector<TracePoint> ring_;
  size_t ring_head_ = 0;
  bool started_ = false;

  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace ipw::energy
