#include "harness.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gtest/gtest.h>

namespace ipw::testing {

namespace fs = std::filesystem;

std::string ipw_binary() { return std::string(IPW_BINARY_DIR) + "/apps/ipw/ipw"; }
std::string fixture_binary() { return std::string(IPW_BINARY_DIR) + "/tests/fixture/ipw-fixture"; }

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "ipw-it-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void TempDir::write(const std::string& name, const std::string& text) const {
  fs::create_directories(fs::path(file(name)).parent_path());
  std::ofstream(file(name)) << text;
}

static std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Proc::Proc(std::vector<std::string> argv, std::map<std::string, std::string> env, const std::string& workdir) {
  static int counter = 0;
  ++counter;
  out_path_ = workdir + "/proc" + std::to_string(counter) + "-" + std::to_string(getpid()) + ".out";
  err_path_ = workdir + "/proc" + std::to_string(counter) + "-" + std::to_string(getpid()) + ".err";
  pid_ = fork();
  if (pid_ == 0) {
    int o = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int n = open("/dev/null", O_RDONLY);
    dup2(n, 0);
    dup2(o, 1);
    dup2(e, 2);
    if (chdir(workdir.c_str()) != 0) _exit(126);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

Proc::~Proc() {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void Proc::signal(int sig) { kill(pid_, sig); }

std::string Proc::stdout_so_far() const { return slurp(out_path_); }

ProcResult Proc::wait(double timeout_s) {
  if (reaped_) return result_;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      ADD_FAILURE() << "process did not finish within " << timeout_s << " s";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  reaped_ = true;
  result_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result_.out = slurp(out_path_);
  result_.err = slurp(err_path_);
  return result_;
}

ProcResult run(std::vector<std::string> argv, std::map<std::string, std::string> env,
               const std::string& workdir, double timeout_s) {
  Proc p(std::move(argv), std::move(env), workdir);
  return p.wait(timeout_s);
}

Fixture::Fixture(const std::string& script_json, int threads) {
  dir_.write("script.json", script_json);
  proc_ = new Proc({fixture_binary(), "--port", "0", "--threads", std::to_string(threads), "--script",
                    dir_.file("script.json")},
                   {}, dir_.path());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string out = proc_->stdout_so_far();
    auto pos = out.find("listening on 127.0.0.1:");
    if (pos != std::string::npos && out.find('\n', pos) != std::string::npos) {
      port_ = std::atoi(out.c_str() + pos + std::strlen("listening on 127.0.0.1:"));
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "fixture server did not start";
}

Fixture::~Fixture() {
  proc_->signal(SIGTERM);
  proc_->wait(10);
  delete proc_;
}

std::string Fixture::base_url() const { return root_url() + "/v1"; }
std::string Fixture::root_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

FakeRapl::FakeRapl(const std::string& root, double watts) : root_(root), watts_(watts) {
  fs::create_directories(root_ + "/intel-rapl:0");
  std::ofstream(root_ + "/intel-rapl:0/name") << "package-0\n";
  std::ofstream(root_ + "/intel-rapl:0/max_energy_range_uj") << "262143328850\n";
  std::ofstream(root_ + "/intel-rapl:0/energy_uj") << "00000000000001000000\n";
  thread_ = std::thread([this] {
    auto t0 = std::chrono::steady_clock::now();
    while (!stop_.load()) {
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      long long uj = 1000000 + static_cast<long long>(s * watts_ * 1e6);
      // Rewrite in place with a fixed width (same inode, same size, no truncation), as a
      // kernel counter changes under an open file descriptor.
      int fd = open((root_ + "/intel-rapl:0/energy_uj").c_str(), O_WRONLY);
      if (fd >= 0) {
        char v[32];
        int len = std::snprintf(v, sizeof v, "%020lld\n", uj);
        ssize_t w = pwrite(fd, v, static_cast<size_t>(len), 0);
        (void)w;
        close(fd);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
}

FakeRapl::~FakeRapl() {
  stop_.store(true);
  thread_.join();
}

static size_t collect(char* p, size_t s, size_t n, void* ud) {
  static_cast<std::string*>(ud)->append(p, s * n);
  return s * n;
}

std::string http_get(const std::string& url) {
  std::string body;
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  curl_easy_perform(c);
  curl_easy_cleanup(c);
  return body;
}

}  // namespace ipw::testing
