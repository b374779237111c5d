// Incremental splitter for newline-delimited JSON (Ollama's streaming format). Feed it byte
// chunks split anywhere; it appends each complete line, without its "\n" or "\r\n", skipping
// blank lines. It does not parse the JSON. A line longer than max_line bytes throws Error(http).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ipw::backends {

class NdjsonSplitter {
 public:
  explicit NdjsonSplitter(size_t max_line = size_t{16} << 20) : max_line_(max_line) {}

  void feed(std::string_view bytes, std::vector<std::string>& out);
  // End of the stream: a last line without its newline is emitted.
  void finish(std::vector<std::string>& out);

 private:
  void emit(std::string_view l, std::vector<std::string>& out);

  size_t max_line_;
  std::string partial_;
};

}  // namespace ipw::backends
