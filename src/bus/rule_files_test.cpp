#include "bus/rule_files.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "support/temp_dir.hpp"

namespace homeostat::bus {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using homeostat::testing::TempDir;

// One YAML scalar and the JSON value it must become.
struct Scalar {
  const char* yaml;
  const char* json;
};

class ConvertsAYamlScalar : public ::testing::TestWithParam<Scalar> {};

TEST_P(ConvertsAYamlScalar, ToTheJsonValueItReadsAs) {
  auto v = yaml_to_json(std::string("v: ") + GetParam().yaml + "\n");

  ASSERT_TRUE(v.ok()) << v.error().message();
  ASSERT_TRUE(v->is_object());
  const json::value& got = v->get_object().at("v");
  const json::value want = json::parse(GetParam().json);
  EXPECT_EQ(got, want) << GetParam().yaml << " became " << json::serialize(got);
  EXPECT_EQ(got.kind(), want.kind()) << GetParam().yaml;
}

INSTANTIATE_TEST_SUITE_P(YamlToJson, ConvertsAYamlScalar,
                         ::testing::Values(Scalar{"123", "123"},          // plain: an integer
                                           Scalar{"-7", "-7"},            //
                                           Scalar{"\"123\"", "\"123\""},  // quoted: stays a string
                                           Scalar{"'123'", "\"123\""},    //
                                           Scalar{"1.5", "1.5"},          // a double
                                           Scalar{"1e3", "1000.0"},       //
                                           Scalar{"true", "true"},        //
                                           Scalar{"false", "false"},      //
                                           Scalar{"True", "true"},        //
                                           Scalar{"\"true\"", "\"true\""},  //
                                           Scalar{"null", "null"},          //
                                           Scalar{"~", "null"},             //
                                           Scalar{"", "null"},      // nothing after the colon
                                           Scalar{"\"\"", "\"\""},  // the empty string
                                           Scalar{"\"null\"", "\"null\""},            //
                                           Scalar{"hello world", "\"hello world\""},  //
                                           Scalar{"12abc", "\"12abc\""},  // not wholly a number
                                           Scalar{"0x1F", "\"0x1F\""},    //
                                           Scalar{"yes", "\"yes\""},      // YAML 1.2: not a boolean
                                           Scalar{".inf", "\".inf\""},    // no infinities in JSON
                                           Scalar{"https://x/y?a=1", "\"https://x/y?a=1\""}));

TEST(YamlToJson, ConvertsMappingsAndSequencesInOrder) {
  auto v = yaml_to_json("b: [1, two]\na:\n  - x: 1\n  - {y: \"2\"}\n");

  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(json::serialize(*v), R"({"b":[1,"two"],"a":[{"x":1},{"y":"2"}]})");
}

TEST(YamlToJson, ReadsJsonTextAsItIs) {
  auto v = yaml_to_json(R"({"n": 1, "s": "1", "l": [true, null, 2.5]})");

  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(*v, json::parse(R"({"n": 1, "s": "1", "l": [true, null, 2.5]})"));
}

TEST(YamlToJson, RefusesInvalidYamlNamingTheLine) {
  auto v = yaml_to_json("a: 1\nb: [1, 2\n");

  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_TRUE(v.error().message().starts_with("not valid YAML at line ")) << v.error().message();
}

// A config directory in a temp dir, with files written into its rules/ folder.
class LoadRuleFilesTest : public ::testing::Test {
 protected:
  void write(const std::string& name, const std::string& text) {
    fs::create_directories(rules_dir());
    std::ofstream out(fs::path(rules_dir()) / name);
    out << text;
    ASSERT_TRUE(out.good()) << name;
  }

  std::string rules_dir() const { return dir_.file("rules"); }
  std::string path_of(const std::string& name) const {
    return (fs::path(rules_dir()) / name).string();
  }

  TempDir dir_;
};

std::vector<std::string> names_of(const std::vector<Rule>& rules) {
  std::vector<std::string> names;
  names.reserve(rules.size());
  for (const auto& r : rules) {
    names.push_back(r.name);
  }
  return names;
}

TEST_F(LoadRuleFilesTest, ReadsYamlListsAndJsonFilesInFileNameOrderAndIgnoresOtherFiles) {
  write("b-list.yaml", R"(
- name: disk-full
  pattern:
    source: [app]
  targets:
    - id: pager
      webhook:
        url: https://example.com/hook
      retry:
        maximum_retry_attempts: 3
- name: cpu-high
  enabled: false
  pattern: {source: [app]}
  targets: []
)");
  write("a-one.json", R"({"name": "from-json", "pattern": {"source": ["x"]},
                          "targets": [{"id": "t", "topic": "alerts"}]})");
  write("c.yml", "name: from-yml\npattern: {source: [y]}\ntargets: []\n");
  write("notes.txt", "this is not a rule: [");
  write("README", "neither is this");
  fs::create_directories(fs::path(rules_dir()) / "old.yaml");  // a directory, not a file

  auto rules = load_rule_files(dir_.path());

  ASSERT_TRUE(rules.ok()) << rules.error().message();
  EXPECT_EQ(names_of(*rules),
            (std::vector<std::string>{"from-json", "disk-full", "cpu-high", "from-yml"}));
  EXPECT_EQ((*rules)[0].origin, "file:" + path_of("a-one.json"));
  EXPECT_EQ((*rules)[1].origin, "file:" + path_of("b-list.yaml"));
  EXPECT_EQ((*rules)[2].origin, "file:" + path_of("b-list.yaml"));
  EXPECT_EQ((*rules)[3].origin, "file:" + path_of("c.yml"));
  ASSERT_EQ((*rules)[1].targets.size(), 1u);
  EXPECT_EQ((*rules)[1].targets[0].retry.maximum_retry_attempts, 3);
  EXPECT_FALSE((*rules)[2].enabled);
}

TEST_F(LoadRuleFilesTest, GivesNoRulesWhenTheRulesDirectoryIsMissing) {
  auto rules = load_rule_files(dir_.path());

  ASSERT_TRUE(rules.ok()) << rules.error().message();
  EXPECT_TRUE(rules->empty());

  auto none = load_rule_files(dir_.file("no-such-config"));
  ASSERT_TRUE(none.ok()) << none.error().message();
  EXPECT_TRUE(none->empty());
}

TEST_F(LoadRuleFilesTest, GivesNoRulesForAnEmptyRulesDirectory) {
  fs::create_directories(rules_dir());

  auto rules = load_rule_files(dir_.path());

  ASSERT_TRUE(rules.ok()) << rules.error().message();
  EXPECT_TRUE(rules->empty());
}

TEST_F(LoadRuleFilesTest, RefusesANameUsedInTwoFilesNamingTheSecondFile) {
  write("a.yaml", "name: same\npattern: {source: [a]}\ntargets: []\n");
  write("b.json", R"({"name": "same", "pattern": {"source": ["b"]}, "targets": []})");

  auto rules = load_rule_files(dir_.path());

  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(rules.error().message(),
            path_of("b.json") + ": name: another rule file already has a rule named same");
}

TEST_F(LoadRuleFilesTest, RefusesABadRuleNamingTheFileItsPlaceAndTheField) {
  write("a.yaml", "name: fine\npattern: {source: [a]}\ntargets: []\n");
  write("b.yaml", R"(
- name: ok
  pattern: {source: [a]}
  targets: []
- name: broken
  pattern: {source: [a]}
  targets:
    - id: t
      webhook: {url: "ftp://x/"}
)");

  auto rules = load_rule_files(dir_.path());

  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      rules.error().message(),
      path_of("b.yaml") + " [1]: targets[0].webhook.url: must start with http:// or https://");
}

TEST_F(LoadRuleFilesTest, RefusesAQuotedBooleanBecauseQuotedScalarsStayStrings) {
  write("a.yaml", "name: r\nenabled: \"true\"\npattern: {source: [a]}\ntargets: []\n");

  auto rules = load_rule_files(dir_.path());

  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.error().message(), path_of("a.yaml") + ": enabled: must be true or false");
}

TEST_F(LoadRuleFilesTest, RefusesAFileThatIsNotYamlNamingTheFile) {
  write("a.json", R"({"name": "r", "pattern": {"source": ["a"]}, "targets": [)");

  auto rules = load_rule_files(dir_.path());

  ASSERT_FALSE(rules.ok());
  EXPECT_TRUE(rules.error().message().starts_with(path_of("a.json") + ": not valid YAML at line"))
      << rules.error().message();
}

TEST_F(LoadRuleFilesTest, RefusesAnEmptyFileAsNotARule) {
  write("a.yaml", "");

  auto rules = load_rule_files(dir_.path());

  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.error().message(), path_of("a.yaml") + ": rule: must be an object");
}

}  // namespace
}  // namespace homeostat::bus
