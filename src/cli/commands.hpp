// The `homeostat` command's subcommands. Each add_* function declares a subcommand and its
// options on the CLI11 app and sets the callback that runs it; the callback stores its exit code
// in *exit_code. Exit codes are documented in docs/cli.md.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "cli/client.hpp"
#include "core/result.hpp"

namespace homeostat::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,       // the daemon refused the request, or some of it failed
  kExitUsage = 2,        // bad flags or arguments
  kExitUnreachable = 3,  // the daemon could not be reached
  kExitAuth = 4,         // the token is missing, unknown, or lacks the role
};

// Options shared by every command that talks to a daemon.
struct ClientOptions {
  std::string server;   // --server URL
  std::string token;    // --token TOKEN
  std::string data;     // --data DIR, to find a local daemon's address and admin token
  std::string config;   // --config DIR
  std::string ca_file;  // --ca-file PEM
};

// Adds --server, --token, --data, --config and --ca-file to a subcommand.
void add_client_options(CLI::App& cmd, ClientOptions& options);

// Finds the daemon and a token: flags first, then HOMEOSTAT_SERVER / HOMEOSTAT_TOKEN /
// HOMEOSTAT_ADMIN_TOKEN, then <data>/homeostat.addr and <data>/admin.token, then the configured
// listen address.
core::Result<Endpoint> find_endpoint(const ClientOptions& options);

// Finds the endpoint and runs `fn` with a client for it; returns fn's exit code, or kExitUsage
// when the endpoint cannot be worked out.
int with_client(const ClientOptions& options, const std::function<int(Client&)>& fn);

// Maps an HTTP answer to an exit code, printing the daemon's message for a failure on stderr.
int exit_code_for(const core::Result<HttpResult>& result);

// The text of the file at `path`, or of standard input for "-". An error (kNotFound) reads
// "<path>: cannot be read".
core::Result<std::string> read_file(const std::string& path);
// A value given inline, or as @FILE (read with read_file).
core::Result<std::string> inline_or_file(const std::string& value);

void add_serve_command(CLI::App& app, int* exit_code);
void add_events_command(CLI::App& app, int* exit_code);
void add_tokens_command(CLI::App& app, int* exit_code);
void add_version_command(CLI::App& app, int* exit_code);
void add_pattern_command(CLI::App& app, int* exit_code);
// rules, deliveries, dlq, topics, and `events replay`; after add_events_command.
void add_rules_command(CLI::App& app, int* exit_code);
// asl validate, asl run: the States Language offline.
void add_asl_command(CLI::App& app, int* exit_code);
// state-machines and executions: through a daemon's engine.
void add_executions_command(CLI::App& app, int* exit_code);

}  // namespace homeostat::cli
