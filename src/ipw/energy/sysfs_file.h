// Internal to the energy module: cheap repeated reads of small numeric files (sysfs, procfs).
// A CounterFile opens its file once and re-reads it with pread() at offset 0, parsing the
// unsigned decimal integer by hand, so a 1 kHz sampler costs one system call per sensor and no
// allocation. read_text() is the one-shot helper for discovery (names, ranges, links).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ipw::energy {

class CounterFile {
 public:
  // Opens path read-only; returns nullptr and sets *err to the errno value on failure.
  static std::unique_ptr<CounterFile> open(const std::string& path, int* err);
  ~CounterFile();
  CounterFile(const CounterFile&) = delete;
  CounterFile& operator=(const CounterFile&) = delete;

  // Reads the leading unsigned integer. Throws Error(sensor) naming the path when the read fails
  // (device gone: ENODEV, permission) or the file holds no number.
  uint64_t read();
  const std::string& path() const { return path_; }

 private:
  CounterFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

// Parses a leading unsigned decimal integer (after optional blanks); nullopt if there is none.
std::optional<uint64_t> parse_u64(std::string_view s);
// Whole file with surrounding whitespace trimmed; nullopt if it cannot be read.
std::optional<std::string> read_text(const std::string& path);
// read_text + parse_u64.
std::optional<uint64_t> read_u64(const std::string& path);

}  // namespace ipw::energy
