// The conformance suite: tests/patterns/conformance/*.json, each an array of cases
//   {"name", "pattern", "event", "match": true|false}   or
//   {"name", "pattern", "valid": false, "path": "where the error is"}.
// Every case runs through the compiled matcher and the reference evaluator; then all valid
// patterns are compiled into one matcher and checked against every event, which tests the
// sharing of states between unrelated patterns.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "patterns/matcher.hpp"
#include "patterns/pattern.hpp"
#include "patterns/reference.hpp"

namespace homeostat::patterns {
namespace {
namespace json = boost::json;

struct Case {
  std::string file;
  std::string name;
  json::value pattern;
  json::value event;
  bool valid = true;
  bool match = false;
  std::string path;
};

std::vector<Case> load_cases() {
  std::vector<Case> cases;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(HOMEOSTAT_CONFORMANCE_DIR)) {
    if (entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    auto doc = json::parse(text.str());
    for (const auto& item : doc.as_array()) {
      const auto& obj = item.as_object();
      Case c;
      c.file = file.filename().string();
      c.name = std::string(obj.at("name").as_string());
      c.pattern = obj.at("pattern");
      if (const auto* valid = obj.if_contains("valid")) {
        c.valid = valid->as_bool();
      }
      if (const auto* path = obj.if_contains("path")) {
        c.path = std::string(path->as_string());
      }
      if (c.valid) {
        c.event = obj.at("event");
        c.match = obj.at("match").as_bool();
      }
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = load_cases();
  return kCases;
}

TEST(Conformance, HasAtLeastThreeHundredCasesWithUniqueNames) {
  std::set<std::string> names;
  for (const auto& c : cases()) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate case name: " << c.name;
  }
  EXPECT_GE(cases().size(), 300u);
}

TEST(Conformance, EveryCaseGivesTheExpectedResult) {
  MatchScratch scratch;
  std::vector<uint32_t> out;
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.file + ": " + c.name);
    auto pattern = parse_pattern(json::serialize(c.pattern));
    if (!c.valid) {
      if (pattern.ok()) {
        ADD_FAILURE() << "an invalid pattern was accepted";
        continue;
      }
      EXPECT_NE(pattern.error().message().find(c.path), std::string::npos)
          << "the message does not name " << c.path << ": " << pattern.error().message();
      continue;
    }
    if (!pattern.ok()) {
      ADD_FAILURE() << "a valid pattern was refused: " << pattern.error().message();
      continue;
    }
    EXPECT_EQ(reference_match(*pattern, c.event), c.match) << "reference evaluator";
    auto matcher = Matcher::compile(std::span(&*pattern, 1));
    EXPECT_TRUE(matcher->match(json::serialize(c.event), scratch, out).ok());
    EXPECT_EQ(!out.empty(), c.match) << "compiled matcher";
  }
}

TEST(Conformance, AllPatternsCompiledTogetherAgreeWithEachAlone) {
  std::vector<Pattern> patterns;
  for (const auto& c : cases()) {
    if (c.valid) {
      auto p = parse_pattern(json::serialize(c.pattern));
      patterns.push_back(p.ok() ? std::move(*p) : Pattern{});  // refusals fail the test above
    }
  }
  auto matcher = Matcher::compile(patterns);
  MatchScratch scratch;
  std::vector<uint32_t> out;
  for (const auto& c : cases()) {
    if (!c.valid) {
      continue;
    }
    SCOPED_TRACE(c.file + ": " + c.name);
    EXPECT_TRUE(matcher->match(json::serialize(c.event), scratch, out).ok());
    std::vector<uint32_t> expected;
    for (uint32_t i = 0; i < patterns.size(); ++i) {
      if (reference_match(patterns[i], c.event)) {
        expected.push_back(i);
      }
    }
    EXPECT_EQ(out, expected);
  }
}

}  // namespace
}  // namespace homeostat::patterns
