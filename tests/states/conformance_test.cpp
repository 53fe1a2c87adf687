// The States Language conformance suite: every case in tests/states/conformance/*.json runs a
// state machine through the engine (memory store, virtual time, test resources, optional mocks)
// and compares how it ended with what the case expects. The case format is described in
// tests/states/conformance/README.md.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "engine/local_run.hpp"
#include "engine/mocks.hpp"
#include "states/machine.hpp"

namespace homeostat {
namespace {
namespace json = boost::json;

struct Case {
  std::string file;
  std::string name;
  json::object body;
};

// Names the case instead of dumping its bytes when gtest prints a parameter; GoogleTest looks
// for this exact name.
void PrintTo(  // NOLINT(readability-identifier-naming)
    const Case& c, std::ostream* out) {
  *out << c.file << ": " << c.name;
}

std::string conformance_dir() {
  if (const char* dir = std::getenv("HOMEOSTAT_CONFORMANCE_DIR")) return dir;
  return HOMEOSTAT_CONFORMANCE_DIR;
}

std::vector<Case> load_cases() {
  std::vector<Case> cases;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(conformance_dir())) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    json::value document = json::parse(text.str());
    for (json::value& item : document.at("cases").as_array()) {
      Case c;
      c.file = path.filename().string();
      c.name = std::string(item.at("name").as_string());
      c.body = std::move(item.as_object());
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

std::string printable_name(const ::testing::TestParamInfo<Case>& info) {
  std::string name;
  for (char ch : info.param.name)
    name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return name;
}

class ConformanceTest : public ::testing::TestWithParam<Case> {};

TEST_P(ConformanceTest, EndsAsExpected) {
  const Case& c = GetParam();
  SCOPED_TRACE(c.file + ": " + c.name);
  const json::object& expect = c.body.at("expect").as_object();
  const std::string definition = json::serialize(c.body.at("definition"));

  // A definition the validator must refuse.
  if (const json::value* invalid = expect.if_contains("invalid")) {
    auto parsed = states::parse_state_machine(definition);
    ASSERT_FALSE(parsed.ok()) << "the definition was accepted";
    EXPECT_NE(parsed.error().message().find(std::string(invalid->as_string())), std::string::npos)
        << "message: " << parsed.error().message();
    return;
  }

  engine::LocalRunOptions options;
  options.definition = definition;
  if (const json::value* input = c.body.if_contains("input")) options.input = *input;
  options.machine_name = "conformance";
  options.execution_name = c.name;
  options.execution_id = "conformance:" + c.name;
  options.start_ms = core::parse_rfc3339("2026-01-01T00:00:00Z").value();
  options.timeout = std::chrono::seconds(60);
  if (const json::value* mocks = c.body.if_contains("mocks")) {
    auto config = engine::parse_mock_config(json::serialize(*mocks));
    ASSERT_TRUE(config.ok()) << config.error().message();
    options.mocks = std::make_shared<engine::MockConfig>(std::move(*config));
    options.test_case = std::string(c.body.at("test_case").as_string());
  }

  auto result = engine::run_locally(options);
  ASSERT_TRUE(result.ok()) << result.error().message();
  const store::ExecutionRecord& record = result->record;

  if (const json::value* output = expect.if_contains("output")) {
    ASSERT_EQ(record.status, store::ExecutionStatus::kSucceeded)
        << "failed with " << record.error << ": " << record.cause;
    EXPECT_EQ(json::parse(record.output), *output) << "output: " << record.output;
    return;
  }

  ASSERT_NE(record.status, store::ExecutionStatus::kSucceeded) << "succeeded: " << record.output;
  EXPECT_EQ(record.error, std::string(expect.at("error").as_string())) << "cause: " << record.cause;
  if (const json::value* cause = expect.if_contains("cause")) {
    EXPECT_EQ(record.cause, std::string(cause->as_string()));
  }
  if (const json::value* part = expect.if_contains("cause_contains")) {
    EXPECT_NE(record.cause.find(std::string(part->as_string())), std::string::npos)
        << "cause: " << record.cause;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ConformanceTest, ::testing::ValuesIn(load_cases()), printable_name);

// The suite's own promise: enough cases, and names that identify them.
TEST(ConformanceSuite, HasAtLeast150UniquelyNamedCases) {
  const auto cases = load_cases();
  std::set<std::string> names;
  for (const Case& c : cases)
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate " << c.name;
  EXPECT_GE(cases.size(), 150u);
}

}  // namespace
}  // namespace homeostat
