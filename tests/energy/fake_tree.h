// Test helpers: a temporary directory removed at scope exit, and writers for fake sysfs trees
// laid out like /sys/class/powercap and /sys/class/hwmon.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace ipw::energy::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ipw-energy-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

// Rewrites a counter in place (same inode, one pwrite), so a sensor that keeps the file open sees
// the new value. Zero-padded to a fixed width so a shorter number leaves no stale digits.
inline void set_counter(const std::string& path, uint64_t value) {
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%020llu\n", static_cast<unsigned long long>(value));
  int fd = ::open(path.c_str(), O_WRONLY);
  if (fd < 0 || ::pwrite(fd, buf, static_cast<size_t>(n), 0) != n) throw std::runtime_error("cannot update " + path);
  ::close(fd);
}

// A RAPL zone directory <root>/<zone> with name, energy_uj and max_energy_range_uj.
inline void add_rapl_zone(const std::string& root, const std::string& zone, const std::string& name,
                          uint64_t energy_uj, uint64_t max_range_uj = 262143328850ULL) {
  write_file(root + "/" + zone + "/name", name + "\n");
  write_file(root + "/" + zone + "/max_energy_range_uj", std::to_string(max_range_uj) + "\n");
  write_file(root + "/" + zone + "/energy_uj", "");
  set_counter(root + "/" + zone + "/energy_uj", energy_uj);
}

}  // namespace ipw::energy::testing
