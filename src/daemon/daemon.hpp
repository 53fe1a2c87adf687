// Start-up and wiring: builds every subsystem from the configuration, connects them, runs
// them, and stops them in the order that loses nothing.
//
// Start: data directory (locked against a second daemon) -> store -> tokens -> event log ->
// execution store -> engine (continuing the executions that were running) -> state machines ->
// routes -> HTTP server -> address file. Stop: the server stops taking requests and finishes
// the ones it holds (their commits complete) -> the engine stops where its executions stand ->
// the event log commits what is queued -> the stores close.
#pragma once

#include <memory>
#include <string>

#include "core/result.hpp"
#include "daemon/config.hpp"

namespace homeostat::daemon {

class Daemon {
 public:
  // Builds and starts everything; the daemon is serving when this returns ok.
  static core::Result<std::unique_ptr<Daemon>> start(const Config& config, const EnvLookup& env);
  ~Daemon();

  // The URL the API answers on, e.g. "http://127.0.0.1:9470".
  const std::string& url() const;

  // Reads the rule files again and puts them in force; on any error the rules in force stay.
  // Returns how many rules are in force.
  core::Result<size_t> reload_rules();

  // Reads the state machine files of <config>/state-machines again; a bad file is logged and
  // skipped. Returns how many files were skipped.
  core::Result<size_t> reload_state_machines();

  // Stops gracefully; blocks until every acknowledged write is committed. Idempotent.
  void stop();

 private:
  struct Parts;
  explicit Daemon(std::unique_ptr<Parts> parts);
  static core::Result<size_t> reload_files(Parts& parts);
  static core::Status start_engine(Parts& parts);
  std::unique_ptr<Parts> parts_;
};

// Runs the daemon until SIGINT or SIGTERM, then stops it gracefully. Returns the process exit
// code: 0 after a clean stop, 1 when it could not start.
int serve_until_signalled(const Config& config, const EnvLookup& env);

// Where the daemon writes its URL and its first admin token inside the data directory.
std::string address_file(const std::string& data_dir);
std::string admin_token_file(const std::string& data_dir);

}  // namespace homeostat::daemon
