#include "bus/rule.hpp"

#include <gtest/gtest.h>

#include <string>

#include <boost/json.hpp>

namespace homeostat::bus {
namespace {

namespace json = boost::json;

// A rule that parses, for cases that change one part of it.
constexpr const char* kPattern = R"({"source": ["app"]})";

json::value rule_json(const std::string& targets, const std::string& extra = "") {
  return json::parse(R"({"name": "r1", "pattern": )" + std::string(kPattern) + R"(, "targets": )" +
                     targets + extra + "}");
}

Rule parse_ok(const json::value& v, const std::string& origin = "api") {
  auto rule = parse_rule(v, origin);
  EXPECT_TRUE(rule.ok()) << json::serialize(v) << ": " << (rule.ok() ? "" : rule.error().message());
  return rule.ok() ? std::move(*rule) : Rule{};
}

TEST(ParseRule, ReadsAWebhookTargetWithHeadersTimeoutAndRetry) {
  Rule r = parse_ok(json::parse(R"({
    "name": "disk-full.v2", "description": "paging", "bus": "ops", "enabled": false,
    "pattern": {"source": ["app"]},
    "targets": [{"id": "pager", "webhook": {"url": "https://example.com/hook",
                 "headers": {"X-Token": "abc", "Trace_Id": "1"}, "timeout": "2s"},
                 "retry": {"maximum_retry_attempts": 3, "maximum_event_age": "2h"}}]})"),
                    "file:/etc/homeostat/rules/a.yaml");

  EXPECT_EQ(r.name, "disk-full.v2");
  EXPECT_EQ(r.description, "paging");
  EXPECT_EQ(r.bus, "ops");
  EXPECT_FALSE(r.enabled);
  EXPECT_EQ(r.origin, "file:/etc/homeostat/rules/a.yaml");
  ASSERT_EQ(r.targets.size(), 1u);
  const Target& t = r.targets[0];
  EXPECT_EQ(t.id, "pager");
  EXPECT_EQ(t.kind, Target::Kind::kWebhook);
  EXPECT_EQ(t.webhook.url, "https://example.com/hook");
  using Headers = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(t.webhook.headers, (Headers{{"X-Token", "abc"}, {"Trace_Id", "1"}}));
  EXPECT_EQ(t.webhook.timeout_ms, 2000);
  EXPECT_EQ(t.retry.maximum_retry_attempts, 3);
  EXPECT_EQ(t.retry.maximum_event_age_ms, 2 * 3'600'000);
  EXPECT_FALSE(t.input_path.has_value());
  EXPECT_FALSE(t.input_transformer.has_value());
}

TEST(ParseRule, GivesDefaultsForEverythingLeftOut) {
  Rule r = parse_ok(rule_json(R"([{"id": "t", "webhook": {"url": "http://localhost:8080/"}}])"));

  EXPECT_EQ(r.description, "");
  EXPECT_EQ(r.bus, "default");
  EXPECT_TRUE(r.enabled);
  ASSERT_EQ(r.targets.size(), 1u);
  EXPECT_TRUE(r.targets[0].webhook.headers.empty());
  EXPECT_EQ(r.targets[0].webhook.timeout_ms, 10'000);
  EXPECT_EQ(r.targets[0].retry.maximum_retry_attempts, 185);
  EXPECT_EQ(r.targets[0].retry.maximum_event_age_ms, 24 * 3'600'000LL);
}

TEST(ParseRule, ReadsATopicTargetWithAnInputPath) {
  Rule r = parse_ok(rule_json(R"([{"id": "t", "topic": "alerts", "input_path": "$.detail"}])"));

  ASSERT_EQ(r.targets.size(), 1u);
  EXPECT_EQ(r.targets[0].kind, Target::Kind::kTopic);
  EXPECT_EQ(r.targets[0].topic, "alerts");
  ASSERT_TRUE(r.targets[0].input_path.has_value());
  EXPECT_EQ(r.targets[0].input_path->text(), "$.detail");
}

TEST(ParseRule, ReadsATopicTargetWithAnInputTransformer) {
  Rule r = parse_ok(rule_json(R"([{"id": "t", "topic": "alerts", "input_transformer": {
      "input_paths_map": {"host": "$.detail.host"}, "input_template": "{\"h\": <host>}"}}])"));

  ASSERT_EQ(r.targets.size(), 1u);
  ASSERT_TRUE(r.targets[0].input_transformer.has_value());
  EXPECT_EQ(r.targets[0].input_transformer->input_template(), R"({"h": <host>})");
  ASSERT_EQ(r.targets[0].input_transformer->variables().size(), 1u);
  EXPECT_EQ(r.targets[0].input_transformer->variables()[0].first, "host");
  EXPECT_FALSE(r.targets[0].input_path.has_value());
}

TEST(ParseRule, ReadsABusTargetAndUpToFiveTargets) {
  Rule r = parse_ok(rule_json(R"([{"id": "a", "bus": "audit"},
                                  {"id": "b", "topic": "t"},
                                  {"id": "c", "webhook": {"url": "https://x/"}},
                                  {"id": "d", "topic": "t"},
                                  {"id": "e", "topic": "t"}])"));

  ASSERT_EQ(r.targets.size(), 5u);
  EXPECT_EQ(r.targets[0].kind, Target::Kind::kBus);
  EXPECT_EQ(r.targets[0].bus, "audit");
  std::vector<std::string> ids;
  for (const auto& t : r.targets) {
    ids.push_back(t.id);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
}

// Values at the edges of each allowed range, which must all be accepted.
struct Edge {
  const char* target;  // the JSON of one target
  int64_t timeout_ms;
  int attempts;
  int64_t age_ms;
};

class AcceptsTheEdgesOfEachRange : public ::testing::TestWithParam<Edge> {};

TEST_P(AcceptsTheEdgesOfEachRange, AndReadsThemInMilliseconds) {
  Rule r = parse_ok(rule_json(std::string("[") + GetParam().target + "]"));

  ASSERT_EQ(r.targets.size(), 1u);
  EXPECT_EQ(r.targets[0].webhook.timeout_ms, GetParam().timeout_ms);
  EXPECT_EQ(r.targets[0].retry.maximum_retry_attempts, GetParam().attempts);
  EXPECT_EQ(r.targets[0].retry.maximum_event_age_ms, GetParam().age_ms);
}

INSTANTIATE_TEST_SUITE_P(
    ParseRule, AcceptsTheEdgesOfEachRange,
    ::testing::Values(Edge{R"({"id": "t", "webhook": {"url": "http://x/", "timeout": "100ms"},
                 "retry": {"maximum_retry_attempts": 0, "maximum_event_age": "60s"}})",
                           100, 0, 60'000},
                      Edge{R"({"id": "t", "webhook": {"url": "http://x/", "timeout": "5m"},
                 "retry": {"maximum_retry_attempts": 185, "maximum_event_age": "24h"}})",
                           300'000, 185, 86'400'000},
                      // A bare number is seconds.
                      Edge{R"({"id": "t", "webhook": {"url": "http://x/", "timeout": 30},
                 "retry": {"maximum_event_age": 3600}})",
                           30'000, 185, 3'600'000}));

// A rule that must be refused, and how its message starts: with the path of the field at fault.
struct Refusal {
  const char* name;
  const char* rule;     // the JSON of the whole rule
  const char* message;  // the start of the expected message
};

class RefusesAnInvalidRule : public ::testing::TestWithParam<Refusal> {};

TEST_P(RefusesAnInvalidRule, NamingTheFieldAtFault) {
  auto r = parse_rule(json::parse(GetParam().rule), "api");

  ASSERT_FALSE(r.ok()) << GetParam().rule;
  EXPECT_EQ(r.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_TRUE(r.error().message().starts_with(GetParam().message))
      << "got: " << r.error().message() << "\nwanted the start: " << GetParam().message;
}

// Short forms for the tables: a valid pattern and a valid target.
#define PATTERN R"("pattern": {"source": ["app"]})"
#define HOOK R"({"id": "t", "webhook": {"url": "https://x/"}})"

INSTANTIATE_TEST_SUITE_P(
    ParseRule, RefusesAnInvalidRule,
    ::testing::Values(
        Refusal{"NotAnObject", R"(["r1"])", "rule: must be an object"},
        Refusal{"MissingName",
                R"({)" PATTERN R"(, "targets": [])"
                "}",
                "name: is required"},
        Refusal{"NameNotAString", R"({"name": 5, )" PATTERN R"(, "targets": []})",
                "name: must be a string"},
        Refusal{"NameWithASpace", R"({"name": "disk full", )" PATTERN R"(, "targets": []})",
                "name: must be 1 to 64 of A-Z a-z 0-9 . _ -"},
        Refusal{"NameWithASlash", R"({"name": "a/b", )" PATTERN R"(, "targets": []})",
                "name: must be 1 to 64"},
        Refusal{"EmptyName", R"({"name": "", )" PATTERN R"(, "targets": []})",
                "name: must be 1 to 64"},
        Refusal{
            "NameOf65Characters",
            R"({"name": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", )" PATTERN
            R"(, "targets": []})",
            "name: must be 1 to 64"},
        Refusal{"UnknownField", R"({"name": "r1", "colour": "red", )" PATTERN R"(, "targets": []})",
                "colour: unknown field; the fields here are name, description, bus, enabled, "
                "pattern, targets"},
        Refusal{"DescriptionNotAString",
                R"({"name": "r1", "description": 1, )" PATTERN R"(, "targets": []})",
                "description: must be a string"},
        Refusal{"BusWithASpace", R"({"name": "r1", "bus": "a b", )" PATTERN R"(, "targets": []})",
                "bus: must be 1 to 64"},
        Refusal{"EnabledNotABool",
                R"({"name": "r1", "enabled": "yes", )" PATTERN R"(, "targets": []})",
                "enabled: must be true or false"},
        Refusal{"MissingPattern", R"({"name": "r1", "targets": []})", "pattern: is required"},
        Refusal{"PatternFieldNotAList",
                R"({"name": "r1", "pattern": {"source": "app"}, "targets": []})",
                "pattern: source: expected an array"},
        Refusal{"PatternNotAnObject", R"({"name": "r1", "pattern": [1], "targets": []})",
                "pattern: "},
        Refusal{"MissingTargets", R"({"name": "r1", )" PATTERN "}",
                "targets: is required: a list of up to 5 targets"},
        Refusal{"TargetsNotAList", R"({"name": "r1", )" PATTERN R"(, "targets": )" HOOK "}",
                "targets: is required: a list"},
        Refusal{"SixTargets",
                R"({"name": "r1", )" PATTERN R"(, "targets": [)" HOOK "," HOOK "," HOOK "," HOOK
                "," HOOK "," HOOK "]}",
                "targets: a rule has at most 5 targets"},
        Refusal{"DuplicateTargetIds",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "a", "topic": "t"},
                    {"id": "b", "topic": "t"}, {"id": "a", "topic": "u"}]})",
                "targets[2].id: \"a\" is used by another target of this rule"},
        Refusal{"TargetNotAnObject", R"({"name": "r1", )" PATTERN R"(, "targets": ["t"]})",
                "targets[0]: must be an object"},
        Refusal{"TargetWithoutId", R"({"name": "r1", )" PATTERN R"(, "targets": [{"topic": "t"}]})",
                "targets[0].id: is required"},
        Refusal{"TargetIdWithASpace",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "a b", "topic": "t"}]})",
                "targets[0].id: must be 1 to 64"},
        Refusal{"UnknownTargetField",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "topic": "t", "x": 1}]})",
                "targets[0].x: unknown field"},
        Refusal{"NoDestination", R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t"}]})",
                "targets[0]: needs exactly one of webhook, topic or bus"},
        Refusal{"TwoDestinations",
                R"({"name": "r1", )" PATTERN R"(, "targets": [)" HOOK R"(, {"id": "u",
                    "topic": "t", "bus": "other"}]})",
                "targets[1]: needs exactly one of webhook, topic or bus"},
        Refusal{"RunbookTarget",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "runbook": "rb"}]})",
                "targets[0].runbook: runbook targets need the runbook engine"},
        Refusal{"TopicWithASlash",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "topic": "a/b"}]})",
                "targets[0].topic: must be 1 to 64"},
        Refusal{"WebhookNotAnObject",
                R"({"name": "r1", )" PATTERN
                R"(, "targets": [{"id": "t", "webhook": "http://x"}]})",
                "targets[0].webhook: must be an object with a url"},
        Refusal{"WebhookWithoutUrl",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "webhook": {}}]})",
                "targets[0].webhook.url: is required"},
        Refusal{"WebhookUrlNotHttp",
                R"({"name": "r1", )" PATTERN
                R"(, "targets": [{"id": "t", "webhook": {"url": "ftp://x/"}}]})",
                "targets[0].webhook.url: must start with http:// or https://"},
        Refusal{"UnknownWebhookField",
                R"({"name": "r1", )" PATTERN
                R"(, "targets": [{"id": "t", "webhook": {"url": "http://x", "method": "PUT"}}]})",
                "targets[0].webhook.method: unknown field; the fields here are url, headers, "
                "timeout"},
        Refusal{"HeaderValueWithANewline",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "webhook":
                    {"url": "http://x", "headers": {"X-A": "1\r\nX-B: 2"}}}]})",
                "targets[0].webhook.headers.X-A: must be a string on one line"},
        Refusal{"HeaderValueNotAString",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "webhook":
                    {"url": "http://x", "headers": {"X-A": 1}}}]})",
                "targets[0].webhook.headers.X-A: must be a string on one line"},
        Refusal{"HeaderNameWithASpace",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "webhook":
                    {"url": "http://x", "headers": {"X A": "1"}}}]})",
                "targets[0].webhook.headers.X A: is not a valid header name"},
        Refusal{"TimeoutTooShort",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "webhook":
                    {"url": "http://x", "timeout": "99ms"}}]})",
                "targets[0].webhook.timeout: must be from 100ms to 5m"},
        Refusal{"TimeoutTooLong",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "webhook":
                    {"url": "http://x", "timeout": 301}}]})",
                "targets[0].webhook.timeout: must be from 100ms to 5m"},
        Refusal{"TimeoutNotADuration",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "webhook":
                    {"url": "http://x", "timeout": "soon"}}]})",
                "targets[0].webhook.timeout: "},
        Refusal{"RetryNotAnObject",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "topic": "t",
                    "retry": 3}]})",
                "targets[0].retry: must be an object"},
        Refusal{"RetryAttemptsAbove185",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "topic": "t",
                    "retry": {"maximum_retry_attempts": 186}}]})",
                "targets[0].retry.maximum_retry_attempts: must be a whole number from 0 to 185"},
        Refusal{"RetryAttemptsNegative",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "topic": "t",
                    "retry": {"maximum_retry_attempts": -1}}]})",
                "targets[0].retry.maximum_retry_attempts: must be a whole number"},
        Refusal{"RetryAttemptsFractional",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "topic": "t",
                    "retry": {"maximum_retry_attempts": 1.5}}]})",
                "targets[0].retry.maximum_retry_attempts: must be a whole number"},
        Refusal{"EventAgeBelowAMinute",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "topic": "t",
                    "retry": {"maximum_event_age": "59s"}}]})",
                "targets[0].retry.maximum_event_age: must be from 60s to 24h"},
        Refusal{"EventAgeAboveADay",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "topic": "t",
                    "retry": {"maximum_event_age": "25h"}}]})",
                "targets[0].retry.maximum_event_age: must be from 60s to 24h"},
        Refusal{"UnknownRetryField",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "topic": "t",
                    "retry": {"attempts": 3}}]})",
                "targets[0].retry.attempts: unknown field"},
        Refusal{"InputPathAndTransformer",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "topic": "t",
                    "input_path": "$.detail",
                    "input_transformer": {"input_template": "\"x\""}}]})",
                "targets[0]: input_path and input_transformer cannot both be given"},
        Refusal{"BadInputPath",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "topic": "t",
                    "input_path": "$..a"}]})",
                "targets[0].input_path: "},
        Refusal{"TransformerWithoutTemplate",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "topic": "t",
                    "input_transformer": {"input_paths_map": {}}}]})",
                "targets[0].input_transformer.input_template: is required"},
        Refusal{"TransformerWithAnUnknownVariable",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "topic": "t",
                    "input_transformer": {"input_template": "<nope>"}}]})",
                "targets[0].input_transformer: "},
        Refusal{"TransformerOnABusTarget",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "bus": "other",
                    "input_transformer": {"input_template": "\"x\""}}]})",
                "targets[0]: a bus target receives the event itself; it takes no "
                "input_transformer"},
        Refusal{"InputPathOnABusTarget",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "bus": "other",
                    "input_path": "$.detail"}]})",
                "targets[0]: a bus target receives the event itself; it takes no input_path"},
        Refusal{"BusTargetToTheDefaultBusOfItsRule",
                R"({"name": "r1", )" PATTERN R"(, "targets": [{"id": "t", "bus": "default"}]})",
                "targets[0].bus: is the rule's own bus"},
        Refusal{"BusTargetToTheNamedBusOfItsRule",
                R"({"name": "r1", "bus": "ops", )" PATTERN R"(, "targets": [{"id": "t",
                    "bus": "ops"}]})",
                "targets[0].bus: is the rule's own bus"}),
    [](const ::testing::TestParamInfo<Refusal>& param) { return std::string(param.param.name); });

#undef PATTERN
#undef HOOK

TEST(ParseRule, AcceptsABusTargetToTheDefaultBusFromAnotherBus) {
  Rule r = parse_ok(json::parse(
      R"({"name": "r1", "bus": "ops", "pattern": {"source": ["app"]},
          "targets": [{"id": "t", "bus": "default"}]})"));

  ASSERT_EQ(r.targets.size(), 1u);
  EXPECT_EQ(r.targets[0].bus, "default");
}

TEST(RuleToJson, GivesTheDefinitionAsWrittenPlusItsOrigin) {
  const json::value written = json::parse(R"({
    "name": "r1", "bus": "ops", "enabled": false, "description": "d",
    "pattern": {"source": ["app"], "detail": {"level": [{"numeric": [">", 3]}]}},
    "targets": [{"id": "t", "topic": "alerts", "input_path": "$.detail",
                 "retry": {"maximum_retry_attempts": 0, "maximum_event_age": "1h"}}]})");
  Rule r = parse_ok(written, "file:/cfg/rules/r1.yaml");

  json::value out = rule_to_json(r);

  ASSERT_TRUE(out.is_object());
  json::object expected = written.get_object();
  expected["origin"] = "file:/cfg/rules/r1.yaml";
  EXPECT_EQ(out.get_object(), expected);
}

TEST(RuleToJson, GivesBackWhatParsesToTheSameRule) {
  Rule r = parse_ok(json::parse(R"({
    "name": "r1", "pattern": {"source": ["app"]},
    "targets": [{"id": "w", "webhook": {"url": "https://x/", "headers": {"A": "b"},
                                        "timeout": "3s"}},
                {"id": "x", "topic": "alerts", "input_transformer": {
                  "input_paths_map": {"h": "$.detail.host"}, "input_template": "<h> is down"}}]})"));

  // What a client reads back, with the field only the server sets taken out, parses again to
  // a rule with the same definition and the same parts.
  json::object out = rule_to_json(r).as_object();
  EXPECT_EQ(out.at("origin"), "api");
  out.erase("origin");
  Rule again = parse_ok(out, "api");

  EXPECT_EQ(again.definition, r.definition);
  EXPECT_EQ(again.origin, r.origin);
  ASSERT_EQ(again.targets.size(), 2u);
  EXPECT_EQ(again.targets[0].webhook.timeout_ms, 3000);
  EXPECT_EQ(again.targets[0].webhook.headers, r.targets[0].webhook.headers);
  ASSERT_TRUE(again.targets[1].input_transformer.has_value());
  EXPECT_EQ(again.targets[1].input_transformer->input_template(), "<h> is down");
  EXPECT_EQ(rule_to_json(again), rule_to_json(r));
}

// A number of seconds that would overflow as milliseconds is refused, not wrapped.
TEST(ParseRule, RefusesATimeoutInSecondsTooLargeToHoldInMilliseconds) {
  auto r = parse_rule(json::parse(R"({"name": "r1", "pattern": {"source": ["app"]},
      "targets": [{"id": "t", "webhook": {"url": "http://x", "timeout": 18446744073709552}}]})"),
                      "api");

  ASSERT_FALSE(r.ok()) << "timeout read as " << r->targets[0].webhook.timeout_ms << " ms";
  EXPECT_TRUE(r.error().message().starts_with("targets[0].webhook.timeout: "))
      << r.error().message();
}

// A number of seconds above INT64_MAX (a uint64 in Boost.JSON) is an error, not an exception.
TEST(ParseRule, RefusesAnEventAgeInSecondsAboveInt64WithoutThrowing) {
  const json::value rule = json::parse(R"({"name": "r1", "pattern": {"source": ["app"]},
      "targets": [{"id": "t", "topic": "t",
                   "retry": {"maximum_event_age": 18446744073709551615}}]})");

  bool threw = false;
  try {
    auto r = parse_rule(rule, "api");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.error().message().starts_with("targets[0].retry.maximum_event_age: "))
        << r.error().message();
  } catch (const std::exception& e) {
    threw = true;
    ADD_FAILURE() << "parse_rule threw: " << e.what();
  }
  EXPECT_FALSE(threw);
}

// An error about the pattern as a whole names the pattern once.
TEST(ParseRule, NamesThePatternOnceInAnErrorAboutThePatternAsAWhole) {
  auto r = parse_rule(json::parse(R"({"name": "r1", "pattern": [1], "targets": []})"), "api");

  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "pattern: a pattern must be a JSON object, not an array");
}

TEST(ValidName, AcceptsOneTo64OfTheAllowedCharacters) {
  EXPECT_TRUE(valid_name("a"));
  EXPECT_TRUE(valid_name("Disk_full-2.v1"));
  EXPECT_TRUE(valid_name(std::string(64, 'x')));
  EXPECT_FALSE(valid_name(""));
  EXPECT_FALSE(valid_name(std::string(65, 'x')));
  EXPECT_FALSE(valid_name("a b"));
  EXPECT_FALSE(valid_name("a/b"));
  EXPECT_FALSE(valid_name("é"));
}

}  // namespace
}  // namespace homeostat::bus
