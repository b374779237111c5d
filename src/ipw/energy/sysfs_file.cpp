#include "ipw/energy/sysfs_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ipw/core/error.h"
#include "ipw/core/strings.h"

namespace ipw::energy {

std::unique_ptr<CounterFile> CounterFile::open(const std::string& path, int* err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (err) *err = errno;
    return nullptr;
  }
  if (err) *err = 0;
  return std::unique_ptr<CounterFile>(new CounterFile(fd, path));
}

CounterFile::~CounterFile() { ::close(fd_); }

uint64_t CounterFile::read() {
  char buf[64];
  ssize_t n = ::pread(fd_, buf, sizeof buf, 0);
  if (n < 0) {
    int e = errno;
    fail(Errc::sensor, "cannot read {}: {}{}", path_, std::strerror(e),
         e == ENODEV || e == ENOENT ? " (the device is gone)" : "");
  }
  auto v = parse_u64(std::string_view(buf, static_cast<size_t>(n)));
  if (!v) fail(Errc::sensor, "{} holds no number (read {} bytes); the device may be gone", path_, n);
  return *v;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  if (i == s.size() || s[i] < '0' || s[i] > '9') return std::nullopt;
  uint64_t v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  return v;
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::string(trim(ss.str()));
}

std::optional<uint64_t> read_u64(const std::string& path) {
  auto t = read_text(path);
  if (!t) return std::nullopt;
  return parse_u64(*t);
}

}  // namespace ipw::energy
