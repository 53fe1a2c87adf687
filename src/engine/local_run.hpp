// Running one state machine to its end inside the calling process, with nothing stored on
// disk: what `homeostat asl run` and the conformance suite do. It is the same engine the daemon
// runs, on a memory store, with the test resources and, when given, the mocked responses of an
// AWS Step Functions Local mock file in front of them.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "engine/mocks.hpp"
#include "engine/test_resources.hpp"
#include "store/execution_store.hpp"

namespace homeostat::engine {

struct LocalRunOptions {
  std::string definition;  // the machine, as JSON text
  boost::json::value input = boost::json::object();
  std::string machine_name = "local";       // also the name mock test cases are looked up under
  std::string execution_name;               // empty: the execution's id
  std::string execution_id;                 // empty: generated
  std::shared_ptr<const MockConfig> mocks;  // optional
  std::string test_case;                    // required with mocks
  // Virtual time: Wait states and retry back-off take no time, and the clock starts at
  // start_ms (0: now). Without it they take the real time they say.
  bool virtual_time = true;
  int64_t start_ms = 0;
  TestResourceOptions resources;
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
};

struct LocalRunResult {
  store::ExecutionRecord record;  // status, output or error and cause
  std::vector<store::HistoryRecord> history;
};

// Validates the definition (kInvalidArgument with the validator's message), runs it and
// returns how it ended. kUnavailable when it did not end within the timeout.
core::Result<LocalRunResult> run_locally(const LocalRunOptions& options);

}  // namespace homeostat::engine
