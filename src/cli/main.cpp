// The `homeostat` command: the daemon (`serve`) and the client commands that talk to it.

#include <curl/curl.h>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  using namespace homeostat::cli;
  curl_global_init(CURL_GLOBAL_DEFAULT);

  CLI::App app{"Homeostat: detects operational incidents and remediates them with runbooks."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  int exit_code = kExitOk;
  add_serve_command(app, &exit_code);
  add_events_command(app, &exit_code);
  add_tokens_command(app, &exit_code);
  add_pattern_command(app, &exit_code);
  add_rules_command(app, &exit_code);
  add_asl_command(app, &exit_code);
  add_executions_command(app, &exit_code);
  add_version_command(app, &exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  curl_global_cleanup();
  return exit_code;
}
