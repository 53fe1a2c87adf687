// Test resources: Task resources named "test:..." for tests, examples and crash tests. They
// call nothing outside the process (test:record writes one file the operator named) and are
// deterministic apart from test:sleep's timing. None of them is meant for production state
// machines; docs/states-language.md ("Task resources and mocks") describes each one.
//
//   test:echo    returns its input unchanged.
//   test:fail    fails with Error = input.Error (default "Test.Failure") and
//                Cause = input.Cause (default "").
//   test:flaky   fails with input.Error (default "Test.Flaky") while the request's attempt
//                number is below input.failures (default 1), then returns its input.
//   test:sleep   returns its input after input.ms milliseconds (0..3,600,000, default 100).
//   test:record  appends one JSON line describing the attempt to options.record_file, with
//                write and fsync, then returns its input. Registered only when that is set.
//
// Fields are read only when the input is a JSON object; any other input takes every default.
// A field of the wrong type or out of range fails the attempt with kBadInput and a cause
// naming the resource and the field.
//
// Threads: test:sleep owns one timer thread for all sleeping attempts, however many; it is
// started by add_test_resources() and stopped when the last reference to the sleep runner
// goes, usually with the registry. Every other resource answers on the calling thread before
// invoke() returns.
#pragma once

#include <string>
#include <string_view>

#include "engine/resources.hpp"

namespace homeostat::engine {

// The error name of an attempt whose input a test resource cannot use.
inline constexpr std::string_view kBadInput = "Test.BadInput";

// The longest test:sleep, one hour.
inline constexpr int64_t kMaxTestSleepMs = 3'600'000;

struct TestResourceOptions {
  // Where test:record appends its lines; empty leaves test:record unregistered. The path comes
  // from the operator or the test, never from a task's input.
  std::string record_file;
};

// Registers the test resources above in `registry` under their exact names.
void add_test_resources(ResourceRegistry& registry, TestResourceOptions options);

}  // namespace homeostat::engine
