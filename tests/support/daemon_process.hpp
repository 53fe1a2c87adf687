// Starts the real `homeostat serve` binary for a test: a temp data directory, a free loopback
// port, and helpers to talk to it, stop it, or kill it.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "cli/client.hpp"
#include "support/temp_dir.hpp"

namespace homeostat::testing {

struct DaemonOptions {
  std::string data_dir;  // required
  std::string listen = "127.0.0.1:0";
  std::string config_dir = "/nonexistent";  // holds homeostat.yaml when a test needs settings
  std::vector<std::string> extra_args;      // appended to `homeostat serve ...`
  std::map<std::string, std::string> env;   // added to the child's environment
  bool wait_ready = true;                   // wait until the address file appears
};

class DaemonProcess {
 public:
  explicit DaemonProcess(DaemonOptions options);
  ~DaemonProcess();  // SIGKILLs the daemon if it still runs
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Starts the process; with wait_ready, returns once it serves (false on a timeout or exit).
  bool start();
  // Sends SIGTERM and waits; returns the exit status (or -1 on a timeout).
  int terminate();
  // Sends SIGKILL and reaps the process.
  void kill9();
  // Waits for the process to end by itself; returns the exit code, or -1 on a timeout.
  int wait_exit(int timeout_ms);

  const std::string& url() const { return url_; }
  std::string admin_token() const;
  // Everything the daemon wrote to stderr so far.
  std::string log() const;
  pid_t pid() const { return pid_; }

  // A client for the daemon with the given token (the admin token when empty).
  cli::Client client(const std::string& token = "") const;

 private:
  DaemonOptions options_;
  pid_t pid_ = -1;
  std::string url_;
  std::string log_path_;
};

// Returns the text of a file, or "" when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace homeostat::testing
