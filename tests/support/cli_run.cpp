#include "support/cli_run.hpp"

#include <sys/wait.h>

#include <cstdio>

namespace homeostat::testing {

CliRun run_homeostat(const std::string& args) {
  const std::string command = std::string(HOMEOSTAT_BINARY) + " " + args;
  CliRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
    run.out.append(buffer, n);
  const int status = ::pclose(pipe);
  run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

}  // namespace homeostat::testing
