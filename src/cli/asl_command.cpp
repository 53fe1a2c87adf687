// `homeostat asl validate` and `homeostat asl run`: the States Language offline, with no
// daemon. `run` executes a machine to its end in this process on the same engine the daemon
// uses (a memory store instead of SQLite), with the test resources and, optionally, the mocked
// responses of an AWS Step Functions Local mock file.
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/commands.hpp"
#include "engine/local_run.hpp"
#include "engine/mocks.hpp"
#include "states/machine.hpp"

namespace homeostat::cli {
namespace {
namespace json = boost::json;

int fail(int code, const std::string& message) {
  std::cerr << "homeostat: " << message << "\n";
  return code;
}

int validate(const std::string& file) {
  auto text = read_file(file);
  if (!text) return fail(kExitUsage, text.error().message());
  auto machine = states::parse_state_machine(*text);
  if (!machine) return fail(kExitFailed, file + ": " + machine.error().message());
  std::cout << file << ": valid, " << (*machine)->states.size() << " top-level states\n";
  return kExitOk;
}

struct RunOptions {
  std::string file;
  std::string input = "{}";
  std::string mocks;
  std::string test_case;
  std::string name;
  bool real_time = false;
  bool history = false;
  std::string record_file;
};

int run(const RunOptions& options) {
  auto text = read_file(options.file);
  if (!text) return fail(kExitUsage, text.error().message());

  engine::LocalRunOptions run;
  run.definition = std::move(*text);
  run.virtual_time = !options.real_time;
  run.resources.record_file = options.record_file;

  // --input is JSON, or @FILE holding JSON.
  auto input_text = inline_or_file(options.input);
  if (!input_text) return fail(kExitUsage, input_text.error().message());
  boost::system::error_code ec;
  run.input = json::parse(*input_text, ec);
  if (ec) return fail(kExitUsage, "--input is not JSON: " + ec.message());

  // The mock file's test cases are looked up under the machine's name: --name, or the file's
  // name without its extensions.
  if (!options.mocks.empty()) {
    if (options.test_case.empty()) return fail(kExitUsage, "--mocks needs --test-case");
    auto mock_text = read_file(options.mocks);
    if (!mock_text) return fail(kExitUsage, mock_text.error().message());
    auto config = engine::parse_mock_config(*mock_text);
    if (!config) return fail(kExitUsage, options.mocks + ": " + config.error().message());
    run.mocks = std::make_shared<engine::MockConfig>(std::move(*config));
    run.test_case = options.test_case;
  }
  if (!options.name.empty()) {
    run.machine_name = options.name;
  } else {
    std::string base = options.file.substr(options.file.find_last_of('/') + 1);
    run.machine_name = base.substr(0, base.find('.'));
    if (run.machine_name.empty()) run.machine_name = "local";
  }

  auto result = engine::run_locally(run);
  if (!result) {
    const int code = result.error().code() == core::ErrorCode::kInvalidArgument ||
                             result.error().code() == core::ErrorCode::kNotFound
                         ? kExitUsage
                         : kExitFailed;
    return fail(code, options.file + ": " + result.error().message());
  }

  if (options.history) {
    for (const store::HistoryRecord& event : result->history) {
      std::cerr << event.event_id << " " << event.type << " " << event.details << "\n";
    }
  }
  const store::ExecutionRecord& record = result->record;
  if (record.status == store::ExecutionStatus::kSucceeded) {
    std::cout << record.output << "\n";
    return kExitOk;
  }
  json::object error{{"Error", record.error}, {"Cause", record.cause}};
  std::cout << json::serialize(error) << "\n";
  return kExitFailed;
}

}  // namespace

void add_asl_command(CLI::App& app, int* exit_code) {
  CLI::App* asl = app.add_subcommand("asl", "Check and run Amazon States Language machines");
  asl->require_subcommand(1);

  auto file = std::make_shared<std::string>();
  CLI::App* validate_cmd = asl->add_subcommand("validate", "Validate a state machine definition");
  validate_cmd->add_option("file", *file, "The definition (JSON; - for stdin)")->required();
  validate_cmd->callback([file, exit_code] { *exit_code = validate(*file); });

  auto options = std::make_shared<RunOptions>();
  CLI::App* run_cmd =
      asl->add_subcommand("run", "Run a machine to its end in this process and print its output");
  run_cmd->add_option("file", options->file, "The definition (JSON; - for stdin)")->required();
  run_cmd->add_option("--input", options->input, "The execution's input: JSON, or @FILE");
  run_cmd->add_option("--mocks", options->mocks, "An AWS Step Functions Local mock file");
  run_cmd->add_option("--test-case", options->test_case, "The mock file's test case to use");
  run_cmd->add_option("--name", options->name,
                      "The machine's name in the mock file (default: the file's base name)");
  run_cmd->add_flag("--real-time", options->real_time,
                    "Let Wait states and retry back-off take the time they say");
  run_cmd->add_flag("--history", options->history, "Print the history on stderr");
  run_cmd->add_option("--record-file", options->record_file,
                      "Where the test:record resource appends its lines");
  run_cmd->callback([options, exit_code] { *exit_code = run(*options); });
}

}  // namespace homeostat::cli
