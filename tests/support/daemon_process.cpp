#include "support/daemon_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace homeostat::testing {
namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

DaemonProcess::DaemonProcess(DaemonOptions options) : options_(std::move(options)) {
  log_path_ = options_.data_dir + ".log";
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) {
    kill9();
  }
}

bool DaemonProcess::start() {
  std::error_code ec;
  fs::remove(fs::path(options_.data_dir) / "homeostat.addr", ec);
  std::vector<std::string> args = {HOMEOSTAT_BINARY,    "serve",        "--config",
                                   options_.config_dir, "--data",       options_.data_dir,
                                   "--listen",          options_.listen};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());

  pid_ = ::fork();
  if (pid_ == 0) {
    const int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(fd, STDERR_FILENO);
    ::dup2(fd, STDOUT_FILENO);
    ::unsetenv("HOMEOSTAT_ADMIN_TOKEN");
    for (const auto& [k, v] : options_.env) {
      ::setenv(k.c_str(), v.c_str(), 1);
    }
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (!options_.wait_ready) {
    return pid_ > 0;
  }

  // Ready once the address file appears; give up if the process ends first.
  const std::string addr = (fs::path(options_.data_dir) / "homeostat.addr").string();
  for (int i = 0; i < 1000; ++i) {
    std::string text = read_file(addr);
    if (!text.empty() && text.back() == '\n') {
      text.pop_back();
      url_ = text;
      return true;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

int DaemonProcess::wait_exit(int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 5) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return -1;
}

int DaemonProcess::terminate() {
  if (pid_ <= 0) {
    return -1;
  }
  ::kill(pid_, SIGTERM);
  return wait_exit(30'000);
}

void DaemonProcess::kill9() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string DaemonProcess::admin_token() const {
  if (auto it = options_.env.find("HOMEOSTAT_ADMIN_TOKEN"); it != options_.env.end()) {
    return it->second;
  }
  std::string t = read_file((fs::path(options_.data_dir) / "admin.token").string());
  while (!t.empty() && t.back() == '\n')
    t.pop_back();
  return t;
}

std::string DaemonProcess::log() const {
  return read_file(log_path_);
}

cli::Client DaemonProcess::client(const std::string& token) const {
  return cli::Client(cli::Endpoint{url_, token.empty() ? admin_token() : token, ""});
}

}  // namespace homeostat::testing
