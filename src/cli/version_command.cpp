#include <iostream>

#include "cli/commands.hpp"
#include "store/sqlite/schema.hpp"

#ifndef HOMEOSTAT_VERSION
#define HOMEOSTAT_VERSION "unknown"
#endif

namespace homeostat::cli {

void add_version_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("version", "Print the version and the store schema version");
  cmd->callback([exit_code] {
    std::cout << "homeostat " << HOMEOSTAT_VERSION << " (store schema "
              << store::sqlite::current_schema_version() << ")\n";
    *exit_code = kExitOk;
  });
}

}  // namespace homeostat::cli
