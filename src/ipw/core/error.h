// ipw's one error model. Every failure that a user can see is an ipw::Error carrying a
// category (which decides the exit code) and a message that says what failed, where
// (file:line, URL, sensor path) and what to do. Code that runs on its own thread or inside a
// C callback catches everything and hands the Error over; nothing escapes a thread.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace ipw {

enum class Errc {
  usage,      // bad flags or arguments: exit 2
  input,      // a malformed file or value from outside (workload, config, body)
  io,         // file system
  network,    // connection refused, reset, DNS
  http,       // an upstream answered with an error status or a malformed body
  timeout,    // no progress within the allowed time
  cancelled,  // the user stopped the run (Ctrl-C)
  sensor,     // an energy sensor could not be read
  store,      // the database
  internal,   // a bug
};

const char* errc_name(Errc c);

class Error : public std::runtime_error {
 public:
  Error(Errc code, std::string message) : std::runtime_error(std::move(message)), code_(code) {}
  Errc code() const { return code_; }

 private:
  Errc code_;
};

template <typename... Args>
[[noreturn]] void fail(Errc code, fmt::format_string<Args...> f, Args&&... args) {
  throw Error(code, fmt::format(f, std::forward<Args>(args)...));
}

// Process exit code for an error category: 2 for usage errors, 1 for everything else.
int exit_code_for(Errc c);

}  // namespace ipw
