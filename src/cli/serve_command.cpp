#include <iostream>

#include "cli/commands.hpp"
#include "core/log.hpp"
#include "daemon/daemon.hpp"

namespace homeostat::cli {

void add_serve_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("serve", "Run the daemon until SIGINT or SIGTERM");
  auto flags = std::make_shared<daemon::ConfigFlags>();
  auto set = [](std::optional<std::string>& slot) {
    return [&slot](const std::string& v) { slot = v; };
  };
  cmd->add_option_function<std::string>("--config", set(flags->config_dir),
                                        "Configuration directory (default: examples)");
  cmd->add_option_function<std::string>("--data", set(flags->data_dir),
                                        "Data directory (default: .homeostat)");
  cmd->add_option_function<std::string>("--listen", set(flags->listen),
                                        "HOST:PORT to serve the API on (default: 127.0.0.1:9470)");
  cmd->add_option_function<std::string>("--log-format", set(flags->log_format), "json or logfmt");
  cmd->add_option_function<std::string>("--log-level", set(flags->log_level),
                                        "debug, info, warn or error");
  cmd->add_option_function<std::string>("--tls-cert", set(flags->tls_cert),
                                        "PEM certificate chain for https");
  cmd->add_option_function<std::string>("--tls-key", set(flags->tls_key),
                                        "PEM private key for https");
  cmd->add_flag("--allow-insecure-listen", flags->allow_insecure_listen,
                "Permit plain HTTP on a non-loopback address");

  cmd->callback([flags, exit_code] {
    auto config = daemon::load_config(*flags, daemon::process_env());
    if (!config) {
      std::cerr << "homeostat: " << config.error().message() << "\n";
      *exit_code = kExitUsage;
      return;
    }
    core::configure_logging(config->log_format, config->log_level);
    *exit_code = daemon::serve_until_signalled(*config, daemon::process_env());
  });
}

}  // namespace homeostat::cli
