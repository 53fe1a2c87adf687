// Running the homeostat binary the way a user does, through the shell, for the CLI tests.
#pragma once

#include <string>

namespace homeostat::testing {

struct CliRun {
  int code = -1;    // the exit code; -1 when the process did not exit normally
  std::string out;  // everything it wrote to stdout
};

// Runs `homeostat ARGS` (shell syntax: quoting, redirections) and waits for it. Stdout is
// captured; stderr goes to the test's own output unless ARGS redirects it.
CliRun run_homeostat(const std::string& args);

}  // namespace homeostat::testing
