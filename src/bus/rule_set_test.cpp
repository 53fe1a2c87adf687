#include "bus/rule_set.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <boost/json.hpp>

namespace homeostat::bus {
namespace {

namespace json = boost::json;

// A rule named `name` on `bus` that matches events whose source is `source`.
Rule rule(const std::string& name, const std::string& origin, const std::string& source = "app",
          const std::string& bus = "default", bool enabled = true) {
  json::object def{{"name", name},
                   {"bus", bus},
                   {"enabled", enabled},
                   {"pattern", json::object{{"source", json::array{json::value(source)}}}},
                   {"targets", json::array{json::object{{"id", "t"}, {"topic", "alerts"}}}}};
  auto r = parse_rule(def, origin);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  return r.ok() ? std::move(*r) : Rule{};
}

std::string event(const std::string& source) {
  return R"({"id": "e1", "source": ")" + source + R"(", "detail-type": "Thing", "detail": {}})";
}

// The names of the rules a snapshot matches for an event of `source` on `bus`, in the order given.
std::vector<std::string> matches(const RuleSnapshot& snapshot, const std::string& bus,
                                 const std::string& source) {
  patterns::MatchScratch scratch;
  std::vector<std::shared_ptr<const Rule>> out;
  auto s = snapshot.match(bus, event(source), scratch, out);
  EXPECT_TRUE(s.ok()) << s.error().message();
  std::vector<std::string> names;
  names.reserve(out.size());
  for (const auto& r : out) {
    names.push_back(r->name);
  }
  return names;
}

std::vector<std::string> matches(const RuleSet& set, const std::string& bus,
                                 const std::string& source) {
  return matches(*set.snapshot(), bus, source);
}

using Names = std::vector<std::string>;

TEST(RuleSet, MatchesNothingBeforeAnyRuleIsSet) {
  RuleSet set;

  EXPECT_EQ(matches(set, "default", "app"), Names{});
  EXPECT_TRUE(set.snapshot()->all().empty());
}

TEST(RuleSet, MatchesOnlyTheRulesOfTheEventsBus) {
  RuleSet set;
  std::vector<Rule> api;
  api.push_back(rule("on-default", "api"));
  api.push_back(rule("on-b", "api", "app", "b"));
  ASSERT_TRUE(set.reset({}, std::move(api)).ok());

  EXPECT_EQ(matches(set, "default", "app"), Names{"on-default"});
  EXPECT_EQ(matches(set, "b", "app"), Names{"on-b"});
  EXPECT_EQ(matches(set, "c", "app"), Names{});
  EXPECT_EQ(matches(set, "default", "other"), Names{});
}

TEST(RuleSet, NeverMatchesADisabledRuleButStillFindsIt) {
  RuleSet set;
  std::vector<Rule> files;
  files.push_back(rule("off-file", "file:/r/a.yaml", "app", "default", false));
  files.push_back(rule("on", "file:/r/a.yaml"));
  ASSERT_TRUE(set.reset(std::move(files), {}).ok());
  ASSERT_TRUE(set.put(rule("off-api", "api", "app", "default", false)).ok());

  EXPECT_EQ(matches(set, "default", "app"), Names{"on"});
  auto snapshot = set.snapshot();
  ASSERT_NE(snapshot->find("off-file"), nullptr);
  EXPECT_FALSE(snapshot->find("off-file")->enabled);
  EXPECT_EQ(snapshot->all().size(), 3u);

  // Disabling the only rule of a bus leaves nothing to match there.
  ASSERT_TRUE(set.put(rule("only-b", "api", "app", "b", false)).ok());
  EXPECT_EQ(matches(set, "b", "app"), Names{});
}

TEST(RuleSet, ReturnsTheMatchesInNameOrderWhateverTheOrderTheyCameIn) {
  RuleSet set;
  std::vector<Rule> files;
  files.push_back(rule("m-file", "file:/r/a.yaml"));
  files.push_back(rule("c-file", "file:/r/a.yaml"));
  std::vector<Rule> api;
  api.push_back(rule("z-api", "api"));
  api.push_back(rule("a-api", "api"));
  api.push_back(rule("d-api", "api", "other"));
  ASSERT_TRUE(set.reset(std::move(files), std::move(api)).ok());
  ASSERT_TRUE(set.put(rule("b-api", "api")).ok());

  EXPECT_EQ(matches(set, "default", "app"), (Names{"a-api", "b-api", "c-file", "m-file", "z-api"}));
  Names all;
  for (const auto& r : set.snapshot()->all()) {
    all.push_back(r->name);
  }
  EXPECT_EQ(all, (Names{"a-api", "b-api", "c-file", "d-api", "m-file", "z-api"}));
}

TEST(RuleSet, PutAddsAnApiRuleAndReplacesOneOfTheSameName) {
  RuleSet set;
  ASSERT_TRUE(set.put(rule("r", "api", "app")).ok());
  EXPECT_EQ(matches(set, "default", "app"), Names{"r"});

  ASSERT_TRUE(set.put(rule("r", "api", "other")).ok());

  EXPECT_EQ(matches(set, "default", "app"), Names{});
  EXPECT_EQ(matches(set, "default", "other"), Names{"r"});
  EXPECT_EQ(set.snapshot()->all().size(), 1u);
}

TEST(RuleSet, PutMovesARuleToAnotherBus) {
  RuleSet set;
  ASSERT_TRUE(set.put(rule("r", "api", "app", "a")).ok());

  ASSERT_TRUE(set.put(rule("r", "api", "app", "b")).ok());

  EXPECT_EQ(matches(set, "a", "app"), Names{});
  EXPECT_EQ(matches(set, "b", "app"), Names{"r"});
}

TEST(RuleSet, PutRefusesTheNameOfAFileRuleAndKeepsTheFileRule) {
  RuleSet set;
  std::vector<Rule> files;
  files.push_back(rule("r", "file:/cfg/rules/r.yaml", "app"));
  ASSERT_TRUE(set.reset(std::move(files), {}).ok());

  auto s = set.put(rule("r", "api", "other"));

  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), core::ErrorCode::kAlreadyExists);
  EXPECT_NE(s.error().message().find("/cfg/rules/r.yaml"), std::string::npos)
      << s.error().message();
  EXPECT_EQ(matches(set, "default", "app"), Names{"r"});
  EXPECT_EQ(set.snapshot()->find("r")->origin, "file:/cfg/rules/r.yaml");
}

TEST(RuleSet, RemoveTakesAnApiRuleOut) {
  RuleSet set;
  ASSERT_TRUE(set.put(rule("a", "api")).ok());
  ASSERT_TRUE(set.put(rule("b", "api")).ok());

  ASSERT_TRUE(set.remove("a").ok());

  EXPECT_EQ(matches(set, "default", "app"), Names{"b"});
  EXPECT_EQ(set.snapshot()->find("a"), nullptr);
}

TEST(RuleSet, RemoveRefusesAFileRuleAndKeepsIt) {
  RuleSet set;
  std::vector<Rule> files;
  files.push_back(rule("r", "file:/cfg/rules/r.yaml"));
  ASSERT_TRUE(set.reset(std::move(files), {}).ok());

  auto s = set.remove("r");

  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), core::ErrorCode::kPermissionDenied);
  EXPECT_NE(s.error().message().find("/cfg/rules/r.yaml"), std::string::npos)
      << s.error().message();
  EXPECT_EQ(matches(set, "default", "app"), Names{"r"});
}

TEST(RuleSet, RemoveOfAnUnknownNameIsNotFound) {
  RuleSet set;
  ASSERT_TRUE(set.put(rule("r", "api")).ok());

  auto s = set.remove("nope");

  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), core::ErrorCode::kNotFound);
  EXPECT_EQ(matches(set, "default", "app"), Names{"r"});
}

TEST(RuleSet, ResetRefusesTwoRulesOfTheSameNameAndKeepsTheRulesInForce) {
  RuleSet set;
  ASSERT_TRUE(set.put(rule("kept", "api")).ok());
  std::vector<Rule> files;
  files.push_back(rule("same", "file:/r/a.yaml"));
  std::vector<Rule> api;
  api.push_back(rule("same", "api"));

  auto s = set.reset(std::move(files), std::move(api));

  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), core::ErrorCode::kAlreadyExists);
  EXPECT_EQ(matches(set, "default", "app"), Names{"kept"});
}

TEST(RuleSet, ResetReplacesEveryRule) {
  RuleSet set;
  ASSERT_TRUE(set.put(rule("old", "api")).ok());
  std::vector<Rule> api;
  api.push_back(rule("new", "api"));

  ASSERT_TRUE(set.reset({}, std::move(api)).ok());

  EXPECT_EQ(matches(set, "default", "app"), Names{"new"});
  EXPECT_EQ(set.snapshot()->find("old"), nullptr);
}

TEST(RuleSet, ASnapshotKeepsMatchingWithTheRulesItWasTakenWith) {
  RuleSet set;
  ASSERT_TRUE(set.put(rule("a", "api", "app")).ok());
  ASSERT_TRUE(set.put(rule("b", "api", "app")).ok());
  auto before = set.snapshot();

  ASSERT_TRUE(set.remove("a").ok());
  ASSERT_TRUE(set.put(rule("b", "api", "other")).ok());
  ASSERT_TRUE(set.put(rule("c", "api", "app")).ok());

  EXPECT_EQ(matches(*before, "default", "app"), (Names{"a", "b"}));
  EXPECT_EQ(matches(*before, "default", "other"), Names{});
  EXPECT_NE(before->find("a"), nullptr);
  EXPECT_EQ(before->find("c"), nullptr);
  EXPECT_EQ(matches(set, "default", "app"), Names{"c"});
  EXPECT_EQ(matches(set, "default", "other"), Names{"b"});
}

TEST(RuleSet, RefusesToMatchAnEventThatIsNotAJsonObject) {
  RuleSet set;
  ASSERT_TRUE(set.put(rule("r", "api")).ok());
  patterns::MatchScratch scratch;
  std::vector<std::shared_ptr<const Rule>> out;

  auto s = set.snapshot()->match("default", "[1, 2]", scratch, out);

  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_TRUE(out.empty());
}

// A rule on bus `from` that forwards every event of `source` to bus `to`.
Rule forward(const std::string& name, const std::string& from, const std::string& to) {
  json::object def{{"name", name},
                   {"bus", from},
                   {"pattern", json::object{{"source", json::array{"app"}}}},
                   {"targets", json::array{json::object{{"id", "t"}, {"bus", to}}}}};
  auto r = parse_rule(def, "api");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  return r.ok() ? std::move(*r) : Rule{};
}

TEST(RuleSet, RefusesBusTargetsThatWouldPassEventsAroundInALoop) {
  RuleSet set;
  ASSERT_TRUE(set.put(forward("a-to-b", "a", "b")).ok());
  ASSERT_TRUE(set.put(forward("b-to-c", "b", "c")).ok());

  auto s = set.put(forward("c-to-a", "c", "a"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message().find("a -> b -> c -> a"), std::string::npos) << s.error().message();
  EXPECT_EQ(set.snapshot()->find("c-to-a"), nullptr);
  EXPECT_EQ(set.snapshot()->all().size(), 2u);

  // The same loop from files is refused as a whole.
  std::vector<Rule> files;
  files.push_back(forward("x-to-y", "x", "y"));
  files.push_back(forward("y-to-x", "y", "x"));
  EXPECT_FALSE(set.reload_files(std::move(files)).ok());
  EXPECT_EQ(set.snapshot()->all().size(), 2u);
}

}  // namespace
}  // namespace homeostat::bus
