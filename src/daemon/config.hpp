// The daemon's configuration: defaults, then <config dir>/homeostat.yaml, then HOMEOSTAT_*
// environment variables, then command-line flags, each overriding the one before.
// docs/configuration.md lists every setting.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "core/log.hpp"
#include "core/result.hpp"
#include "core/units.hpp"
#include "events/event.hpp"

namespace homeostat::daemon {

struct Config {
  std::string config_dir = "examples";
  std::string data_dir = ".homeostat";
  std::string listen = "127.0.0.1:9470";

  core::LogFormat log_format = core::LogFormat::kLogfmt;
  core::LogLevel log_level = core::LogLevel::kInfo;

  // HTTP.
  int http_threads = 2;
  uint64_t max_header_bytes = 16 * 1024;
  int64_t read_timeout_ms = 30'000;
  int64_t idle_timeout_ms = 60'000;
  std::string tls_cert;
  std::string tls_key;
  bool allow_insecure_listen = false;

  // Events and the log.
  events::Limits limits;
  events::Defaults defaults;
  bool synchronous_full = true;
  int64_t index_delay_ms = 100;  // how long a few unindexed events wait for more
  std::optional<int64_t> retention_max_age_ms;
  std::optional<int64_t> retention_max_bytes;
  int64_t retention_interval_ms = 60'000;

  // Rules and delivery.
  int delivery_workers = 4;
  int64_t retry_base_ms = 1000;     // the first retry's wait; it doubles per attempt
  int64_t retry_max_ms = 300'000;   // the longest wait between attempts
  int64_t dispatch_poll_ms = 1000;  // how often idle dispatch threads look for work

  // The execution engine.
  int engine_workers = 2;
  // Where the test resource test:record appends its lines; empty leaves it unregistered. For
  // tests only: the test resources are not meant for production state machines.
  std::string engine_test_record_file;
};

// Settings given on the command line; unset ones leave the lower layers alone.
struct ConfigFlags {
  std::optional<std::string> config_dir;
  std::optional<std::string> data_dir;
  std::optional<std::string> listen;
  std::optional<std::string> log_format;
  std::optional<std::string> log_level;
  std::optional<std::string> tls_cert;
  std::optional<std::string> tls_key;
  bool allow_insecure_listen = false;
};

// Reads an environment variable; returns nullopt when unset. Injected so tests need not touch
// the real environment.
using EnvLookup = std::function<std::optional<std::string>(const char*)>;
EnvLookup process_env();

// Builds the configuration from all layers. An error names the file, key or variable at fault.
core::Result<Config> load_config(const ConfigFlags& flags, const EnvLookup& env);

// Splits "HOST:PORT" or "[V6]:PORT".
core::Result<std::pair<std::string, uint16_t>> split_listen(const std::string& listen);

using core::parse_duration_ms;
using core::parse_size_bytes;

}  // namespace homeostat::daemon
