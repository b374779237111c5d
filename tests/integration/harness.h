// Helpers for end-to-end tests: run the real `ipw` binary, start the fixture server program,
// build fake sysfs trees. Every wait is bounded.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace ipw::testing {

struct ProcResult {
  int exit_code = -1;  // 128+N if killed by signal N
  std::string out, err;
};

std::string ipw_binary();
std::string fixture_binary();

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

// Spawns argv with extra environment entries; stdout/stderr captured to files.
class Proc {
 public:
  Proc(std::vector<std::string> argv, std::map<std::string, std::string> env, const std::string& workdir);
  ~Proc();
  pid_t pid() const { return pid_; }
  void signal(int sig);
  // Waits up to timeout_s; kills it (SIGKILL) and fails the test if it does not end.
  ProcResult wait(double timeout_s = 60);
  std::string stdout_so_far() const;

 private:
  pid_t pid_ = -1;
  std::string out_path_, err_path_;
  bool reaped_ = false;
  ProcResult result_;
};

ProcResult run(std::vector<std::string> argv, std::map<std::string, std::string> env,
               const std::string& workdir, double timeout_s = 120);

// The fixture server program on an ephemeral port with a script file.
class Fixture {
 public:
  explicit Fixture(const std::string& script_json, int threads = 1);
  ~Fixture();
  std::string base_url() const;  // http://127.0.0.1:PORT/v1
  std::string root_url() const;  // http://127.0.0.1:PORT
  int port() const { return port_; }

 private:
  TempDir dir_;
  Proc* proc_ = nullptr;
  int port_ = 0;
};

// A fake powercap tree with one RAPL package whose energy_uj counter a background thread
// advances at `watts`, so measured energy is known.
class FakeRapl {
 public:
  FakeRapl(const std::string& root, double watts);
  ~FakeRapl();
  const std::string& root() const { return root_; }

 private:
  std::string root_;
  double watts_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string http_get(const std::string& url);

}  // namespace ipw::testing
