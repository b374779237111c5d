// Time. All measurement timestamps are seconds on the monotonic clock (std::chrono::steady_clock),
// so intervals never jump with NTP; wall-clock time is used only for labels in the store.
#pragma once

#include <chrono>
#include <string>

namespace ipw {

inline double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// Seconds since the Unix epoch (wall clock).
inline double unix_time_s() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

// "2026-11-25T01:35:04Z" for a Unix time in seconds.
std::string iso8601_utc(double unix_s);

}  // namespace ipw
