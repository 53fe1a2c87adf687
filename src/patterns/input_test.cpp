#include "patterns/input.hpp"

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace homeostat::patterns {
namespace {

namespace json = boost::json;
using Vars = std::vector<std::pair<std::string, std::string>>;

json::value parse_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  return v;
}

std::string to_text(const json::value& v) {
  std::string out;
  append_json_text(out, v);
  return out;
}

// ---- JsonPath: parsing ----

struct ValidPath {
  const char* text;
  bool has_wildcard;
};

void PrintTo(const ValidPath& p, std::ostream* os) {
  *os << p.text;
}

class AcceptsThePathSubset : public testing::TestWithParam<ValidPath> {};

TEST_P(AcceptsThePathSubset, AndKeepsItsText) {
  auto path = JsonPath::parse(GetParam().text);
  ASSERT_TRUE(path.ok()) << GetParam().text << ": " << path.error().message();
  EXPECT_EQ(path->text(), GetParam().text);
  EXPECT_EQ(path->has_wildcard(), GetParam().has_wildcard);
}

INSTANTIATE_TEST_SUITE_P(Paths, AcceptsThePathSubset,
                         testing::Values(ValidPath{"$", false}, ValidPath{"$.detail", false},
                                         ValidPath{"$.detail.state", false},
                                         ValidPath{"$.a[0].b", false},
                                         ValidPath{"$.detail-type", false},
                                         ValidPath{"$.a-b_c", false}, ValidPath{"$.s/t", false},
                                         ValidPath{"$[0]", false}, ValidPath{"$.a[12][3]", false},
                                         ValidPath{"$.a[*].b", true}, ValidPath{"$.a.*", true},
                                         ValidPath{"$.*.b", true}));

struct PathRefusal {
  std::string text;
  const char* message;  // a part of the expected message
};

void PrintTo(const PathRefusal& p, std::ostream* os) {
  *os << p.text;
}

class RefusesPathsOutsideTheSubset : public testing::TestWithParam<PathRefusal> {};

TEST_P(RefusesPathsOutsideTheSubset, SayingWhatAndAtWhichCharacter) {
  auto path = JsonPath::parse(GetParam().text);
  ASSERT_FALSE(path.ok()) << GetParam().text;
  EXPECT_EQ(path.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_NE(path.error().message().find(GetParam().message), std::string::npos)
      << path.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Paths, RefusesPathsOutsideTheSubset,
    testing::Values(
        PathRefusal{"", "path \"\" at character 1: a path starts with $"},
        PathRefusal{"detail.state", "at character 1: a path starts with $"},
        PathRefusal{"$a", "path \"$a\" at character 2: expected . or [ before \"a\""},
        PathRefusal{"$.", "at character 3: expected a name after the ."},
        PathRefusal{"$.a..b", "at character 4: recursive descent (..) is not supported"},
        PathRefusal{"$.a b", "at character 4: \" \" cannot appear in a name"},
        PathRefusal{"$.$", "at character 3: \"$\" cannot start a name"},
        PathRefusal{"$.a.*b", "at character 6: * must be a whole step"},
        PathRefusal{"$.a[", "at character 4: [ is not closed"},
        PathRefusal{"$.a[1", "at character 4: [ is not closed"},
        PathRefusal{"$.a[x]", "at character 5: expected an index or * inside [ ]"},
        PathRefusal{"$.a[?(@.x)]", "at character 5: expected an index or * inside [ ]"},
        PathRefusal{"$.a[-1]", "at character 5: negative indexes are not supported"},
        PathRefusal{"$.a['b']", "at character 5: bracket-quoted names are not supported"},
        PathRefusal{"$.a[1:2]", "at character 6: expected ] after the index"},
        PathRefusal{"$.a[*", "at character 6: expected ] after *"},
        PathRefusal{"$.a[1234567890]", "at character 5: the index is too large"},
        PathRefusal{"$." + std::string(255, 'a'), "is 257 bytes, more than the 256 allowed"}));

TEST(JsonPathParse, AcceptsAPathOfExactlyTheLimit) {
  EXPECT_TRUE(JsonPath::parse("$." + std::string(254, 'a')).ok());
}

// ---- JsonPath: selecting ----

constexpr const char* kSelectEvent = R"({"a": {"b": 1, "c-d_e": "x", "s/t": true, "n": null},
    "list": [{"id": 1}, {"id": 2}, {"x": 3}], "grid": [[1, 2], [3]], "empty": [], "str": "text"})";

struct Selection {
  const char* path;
  const char* expected;  // JSON text, or nullptr when nothing is found
};

void PrintTo(const Selection& s, std::ostream* os) {
  *os << s.path;
}

class SelectsFromAnEvent : public testing::TestWithParam<Selection> {};

TEST_P(SelectsFromAnEvent, TheValueAtThePathOrNothing) {
  auto path = JsonPath::parse(GetParam().path);
  ASSERT_TRUE(path.ok()) << path.error().message();
  auto found = path->select(parse_json(kSelectEvent));
  if (GetParam().expected == nullptr) {
    EXPECT_FALSE(found.has_value()) << GetParam().path << " found " << to_text(*found);
    return;
  }

  ASSERT_TRUE(found.has_value()) << GetParam().path;
  EXPECT_EQ(to_text(*found), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Paths, SelectsFromAnEvent,
    testing::Values(Selection{"$.a", R"({"b":1,"c-d_e":"x","s/t":true,"n":null})"},
                    Selection{"$.a.b", "1"}, Selection{"$.a.c-d_e", R"("x")"},
                    Selection{"$.a.s/t", "true"},
                    Selection{"$.a.n", "null"},  // present, with the value null
                    Selection{"$.list[1].id", "2"}, Selection{"$.grid[0][1]", "2"},
                    Selection{"$.a.zz", nullptr},        // no such member
                    Selection{"$.list[3]", nullptr},     // past the end
                    Selection{"$.str.len", nullptr},     // a name on a string
                    Selection{"$.list.id", nullptr},     // a name on an array
                    Selection{"$.a[0]", nullptr},        // an index on an object
                    Selection{"$.list[*].id", "[1,2]"},  // the element without "id" adds nothing
                    Selection{"$.list[*].nope", nullptr},
                    Selection{"$.a.*", R"([1,"x",true,null])"},
                    Selection{"$.grid[*][*]", "[1,2,3]"},  // flattened across wildcards
                    Selection{"$.empty[*]", nullptr},      // a wildcard that reaches nothing
                    Selection{"$.list[*]", R"([{"id":1},{"id":2},{"x":3}])"}));

TEST(JsonPathSelect, DollarSelectsTheWholeEvent) {
  auto path = JsonPath::parse("$");
  ASSERT_TRUE(path.ok());
  const json::value event = parse_json(kSelectEvent);
  auto found = path->select(event);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, event);
}

// ---- Rendering ----

constexpr const char* kEvent = R"json({"version": "0", "id": "e-1", "detail-type": "Disk Full",
  "source": "host.monitor", "account": "000000000000", "time": "2026-12-03T16:32:35Z",
  "region": "local", "resources": ["host/web-1"],
  "detail": {"host": "web-1", "used": 0.97, "count": 3, "ok": false, "none": null,
    "tags": ["a", "b"], "meta": {"k": "v"}, "quote": "say \"hi\"", "path": "C:\\tmp",
    "lines": "one\ntwo", "unicode": "café ☕", "ctrl": "\u0001x",
    "items": [{"id": 1}, {"id": 2}]}})json";

const Vars kVars = {
    {"host", "$.detail.host"},    {"used", "$.detail.used"},       {"count", "$.detail.count"},
    {"ok", "$.detail.ok"},        {"none", "$.detail.none"},       {"tags", "$.detail.tags"},
    {"meta", "$.detail.meta"},    {"quote", "$.detail.quote"},     {"path", "$.detail.path"},
    {"lines", "$.detail.lines"},  {"unicode", "$.detail.unicode"}, {"ctrl", "$.detail.ctrl"},
    {"missing", "$.detail.nope"}, {"ids", "$.detail.items[*].id"},
};

InputContext test_context() {
  return InputContext{"disk-full", "homeostat:rule/default/disk-full", "2026-12-03T16:32:36Z"};
}

struct Rendering {
  const char* name;
  const char* input_template;
  const char* expected;
  bool is_json = true;
};

void PrintTo(const Rendering& r, std::ostream* os) {
  *os << r.input_template;
}

std::string rendering_name(const testing::TestParamInfo<Rendering>& info) {
  return info.param.name;
}

// Renders `r` with `vars` against `event` and checks the text and the kind of template.
void expect_rendering(const Vars& vars, const char* event, const Rendering& r) {
  auto transformer = InputTransformer::create(vars, r.input_template);
  ASSERT_TRUE(transformer.ok()) << r.input_template << ": " << transformer.error().message();
  EXPECT_EQ(transformer->is_json(), r.is_json) << r.input_template;
  const std::string out = transformer->render(parse_json(event), test_context());
  EXPECT_EQ(out, r.expected) << r.input_template;
  if (r.is_json) {
    boost::system::error_code ec;
    json::parse(out, ec);
    EXPECT_FALSE(ec) << "a JSON template rendered invalid JSON: " << out;
  }
}

class RendersTemplates : public testing::TestWithParam<Rendering> {};

TEST_P(RendersTemplates, WritingEachValueAsItsPlaceAsks) {
  expect_rendering(kVars, kEvent, GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Templates, RendersTemplates,
    testing::Values(
        // Strings: quoted outside quotes, bare inside them.
        Rendering{"StringOutsideQuotes", R"({"h": <host>})", R"({"h": "web-1"})"},
        Rendering{"StringInsideQuotes", R"({"h": "<host>"})", R"({"h": "web-1"})"},
        Rendering{"StringWithinText", R"({"m": "host <host> is full"})",
                  R"({"m": "host web-1 is full"})"},
        Rendering{"StringTwice", R"({"a": <host>, "b": "<host>/<host>"})",
                  R"({"a": "web-1", "b": "web-1/web-1"})"},
        // Numbers, booleans and null: their JSON text in both places.
        Rendering{"NumbersOutsideQuotes", R"({"u": <used>, "c": <count>})",
                  R"({"u": 0.97, "c": 3})"},
        Rendering{"NumbersInsideQuotes", R"({"m": "<used> used on <count> disks"})",
                  R"({"m": "0.97 used on 3 disks"})"},
        Rendering{"BoolOutsideQuotes", R"({"ok": <ok>})", R"({"ok": false})"},
        Rendering{"BoolInsideQuotes", R"({"m": "ok=<ok>"})", R"({"m": "ok=false"})"},
        Rendering{"NullOutsideQuotes", R"({"n": <none>})", R"({"n": null})"},
        Rendering{"NullInsideQuotes", R"({"m": "<none>"})", R"({"m": "null"})"},
        // Objects and arrays: JSON outside quotes, escaped JSON text inside.
        Rendering{"ObjectOutsideQuotes", R"({"meta": <meta>})", R"({"meta": {"k":"v"}})"},
        Rendering{"ObjectInsideQuotes", R"({"m": "meta <meta>"})",
                  R"({"m": "meta {\"k\":\"v\"}"})"},
        Rendering{"ArrayOutsideQuotes", R"({"t": <tags>})", R"({"t": ["a","b"]})"},
        Rendering{"ArrayInsideQuotes", R"({"m": "tags <tags>"})", R"({"m": "tags [\"a\",\"b\"]"})"},
        Rendering{"WildcardVariableIsAnArray", R"({"ids": <ids>})", R"({"ids": [1,2]})"},
        Rendering{"BarePlaceholderIsAJsonTemplate", "<meta>", R"({"k":"v"})"},
        // Escaping for JSON strings.
        Rendering{"QuotesEscapedOutsideQuotes", R"({"q": <quote>})", R"({"q": "say \"hi\""})"},
        Rendering{"QuotesEscapedInsideQuotes", R"({"q": "she said: <quote>"})",
                  R"({"q": "she said: say \"hi\""})"},
        Rendering{"BackslashEscaped", R"({"p": "<path>"})", R"({"p": "C:\\tmp"})"},
        Rendering{"NewlineEscaped", R"({"l": <lines>})", R"({"l": "one\ntwo"})"},
        Rendering{"UnicodeKeptAsItIs", R"({"u": "<unicode>"})", R"({"u": "café ☕"})"},
        Rendering{"ControlCharacterEscaped", R"({"c": <ctrl>})", R"({"c": "\u0001x"})"},
        Rendering{"TemplateEscapesKept", R"({"m": "host \"<host>\" is full"})",
                  R"({"m": "host \"web-1\" is full"})"},
        // A JSON string is a JSON template.
        Rendering{"JsonStringTemplate", R"("host <host> is full")", R"("host web-1 is full")"},
        // Plain text: nothing quoted, nothing escaped.
        Rendering{"PlainText", "<host> is <used> full", "web-1 is 0.97 full", false},
        Rendering{"PlainTextObject", "meta: <meta>", R"(meta: {"k":"v"})", false},
        Rendering{"PlainTextNotEscaped", "said <quote> at <path>", R"(said say "hi" at C:\tmp)",
                  false},
        Rendering{"PlainTextNewline", "lines: <lines>", "lines: one\ntwo", false},
        Rendering{"AnglesThatAreNotPlaceholders", "a < b, </b> and <host>", "a < b, </b> and web-1",
                  false},
        // A path that finds nothing gives the empty string.
        Rendering{"MissingOutsideQuotes", R"({"x": <missing>})", R"({"x": ""})"},
        Rendering{"MissingInsideQuotes", R"({"x": "[<missing>]"})", R"({"x": "[]"})"},
        Rendering{"MissingInPlainText", "a<missing>b", "ab", false},
        // Predefined variables.
        Rendering{"PredefinedInsideQuotes",
                  R"("<aws.events.rule-name> fired at <aws.events.event.ingestion-time>")",
                  R"("disk-full fired at 2026-12-03T16:32:36Z")"},
        Rendering{"PredefinedOutsideQuotes", R"({"arn": <aws.events.rule-arn>})",
                  R"({"arn": "homeostat:rule/default/disk-full"})"},
        Rendering{"PredefinedInPlainText", "rule <aws.events.rule-name>", "rule disk-full", false},
        Rendering{"EventWithoutDetail", R"({"e": <aws.events.event>})",
                  R"({"e": {"version":"0","id":"e-1","detail-type":"Disk Full",)"
                  R"("source":"host.monitor","account":"000000000000",)"
                  R"("time":"2026-12-03T16:32:35Z","region":"local","resources":["host/web-1"]}})"},
        // The template's own text is kept as it is.
        Rendering{"NoPlaceholders", R"({"static": [1, 2.50, true]})",
                  R"({"static": [1, 2.50, true]})"},
        Rendering{"WhitespaceAndTrailingNewlineKept", "{\n  \"h\": <host>\n}\n",
                  "{\n  \"h\": \"web-1\"\n}\n"}),
    rendering_name);

TEST(InputTransformerRender, FullEventVariableIsTheWholeEvent) {
  auto t = InputTransformer::create({}, R"({"original": <aws.events.event.json>})");
  ASSERT_TRUE(t.ok()) << t.error().message();
  const json::value event = parse_json(kEvent);
  const json::value out = parse_json(t->render(event, test_context()));
  EXPECT_EQ(out.at("original"), event);
}

TEST(InputTransformerRender, UnusedVariablesAreAllowed) {
  auto t = InputTransformer::create({{"host", "$.detail.host"}, {"spare", "$.x"}}, "<host>");
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->render(parse_json(kEvent), test_context()), R"("web-1")");
}

// The examples of EventBridge's guide and API reference, on an instance state-change event of
// our own.
constexpr const char* kInstanceEvent = R"({"version": "0", "id": "0d1e2f3a",
  "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
  "account": "123412341234", "time": "2026-01-05T08:00:00Z", "region": "eu-west-3",
  "resources": ["arn:aws:ec2:eu-west-3:123412341234:instance/i-0f00ba4"],
  "detail": {"instance-id": "i-0f00ba4", "state": "stopping"}})";

const Vars kInstanceVars = {{"timestamp", "$.time"},
                            {"instance", "$.detail.instance-id"},
                            {"state", "$.detail.state"},
                            {"status", "$.detail.state"},
                            {"resource", "$.resources[0]"}};

class RendersTheDocumentedExamples : public testing::TestWithParam<Rendering> {};

TEST_P(RendersTheDocumentedExamples, AsEventBridgeDescribesThem) {
  expect_rendering(kInstanceVars, kInstanceEvent, GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Guide, RendersTheDocumentedExamples,
    testing::Values(
        Rendering{"SentenceAsAJsonString", R"("instance <instance> is in <state>")",
                  R"("instance i-0f00ba4 is in stopping")"},
        Rendering{"SentenceWithEscapedQuotes", R"("instance \"<instance>\" is in <state>")",
                  R"("instance \"i-0f00ba4\" is in stopping")"},
        Rendering{"ObjectOfVariables", R"({"instance": <instance>, "state": <state>})",
                  R"({"instance": "i-0f00ba4", "state": "stopping"})"},
        Rendering{"ObjectOfVariablesAndStrings",
                  R"({"instance": <instance>, "state": "<state>", )"
                  R"("status": "instance \"<instance>\" is in <state>"})",
                  R"({"instance": "i-0f00ba4", "state": "stopping", )"
                  R"("status": "instance \"i-0f00ba4\" is in stopping"})"},
        Rendering{"VariablesAmongConstants",
                  R"({"instance": <instance>, "state": [9, <state>, true], "done": "yes"})",
                  R"({"instance": "i-0f00ba4", "state": [9, "stopping", true], "done": "yes"})"},
        Rendering{"RuleVariablesInAnObject",
                  R"({"arn": <aws.events.rule-arn>, "name": <aws.events.rule-name>})",
                  R"({"arn": "homeostat:rule/default/disk-full", "name": "disk-full"})"},
        Rendering{"RuleNameInAString", R"("<aws.events.rule-name> triggered")",
                  R"("disk-full triggered")"},
        Rendering{"LogGroupMessage",
                  R"({"timestamp": <timestamp>, "message": "instance \"<instance>\" is <state>"})",
                  R"({"timestamp": "2026-01-05T08:00:00Z", )"
                  R"("message": "instance \"i-0f00ba4\" is stopping"})"},
        Rendering{"ApiReferencePlainText", "<instance> is in state <status>",
                  "i-0f00ba4 is in state stopping", false},
        Rendering{"ApiReferenceMixed",
                  R"({"myInstance": <instance>,"myStatus": "<instance> is in state \"<status>\""})",
                  R"({"myInstance": "i-0f00ba4",)"
                  R"("myStatus": "i-0f00ba4 is in state \"stopping\""})"},
        Rendering{"ArrayIndexPath", R"({"resource": <resource>})",
                  R"({"resource": "arn:aws:ec2:eu-west-3:123412341234:instance/i-0f00ba4"})"}),
    rendering_name);

// ---- Refusals ----

Vars many_vars(size_t n) {
  Vars vars;
  for (size_t i = 0; i < n; ++i) {
    vars.emplace_back("v" + std::to_string(i), "$.detail.x");
  }
  return vars;
}

struct TransformerRefusal {
  const char* name;
  Vars vars;
  std::string input_template;
  const char* message;  // a part of the expected message
};

void PrintTo(const TransformerRefusal& r, std::ostream* os) {
  *os << r.input_template;
}

std::string refusal_name(const testing::TestParamInfo<TransformerRefusal>& info) {
  return info.param.name;
}

class RefusesInvalidTransformers : public testing::TestWithParam<TransformerRefusal> {};

TEST_P(RefusesInvalidTransformers, SayingWhatIsWrong) {
  const auto& p = GetParam();
  auto t = InputTransformer::create(p.vars, p.input_template);
  ASSERT_FALSE(t.ok()) << p.input_template;
  EXPECT_EQ(t.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_NE(t.error().message().find(p.message), std::string::npos) << t.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Transformers, RefusesInvalidTransformers,
    testing::Values(
        TransformerRefusal{"TooManyVariables", many_vars(101), "\"x\"",
                           "at most 100 variables, not 101"},
        TransformerRefusal{"EmptyName", {{"", "$.a"}}, "\"x\"", "a variable name is empty"},
        TransformerRefusal{"NameWithADot",
                           {{"my.var", "$.a"}},
                           "\"x\"",
                           "variable \"my.var\": \".\" at character 3 is not allowed"},
        TransformerRefusal{
            "NameWithASpace", {{"my var", "$.a"}}, "\"x\"", "\" \" at character 3 is not allowed"},
        TransformerRefusal{"NameTooLong",
                           {{std::string(257, 'n'), "$.a"}},
                           "\"x\"",
                           "a name is at most 256 bytes, not 257"},
        TransformerRefusal{"ReservedPrefix",
                           {{"aws.events.rule-name", "$.a"}},
                           "\"x\"",
                           "names starting with \"aws.\" are reserved"},
        TransformerRefusal{"ReservedPrefixInCapitals",
                           {{"AWS.mine", "$.a"}},
                           "\"x\"",
                           "variable \"AWS.mine\": names starting with \"aws.\" are reserved"},
        TransformerRefusal{"NameGivenTwice",
                           {{"a", "$.a"}, {"a", "$.b"}},
                           "\"x\"",
                           "variable \"a\" is defined twice"},
        TransformerRefusal{"BadPath",
                           {{"a", "$.a..b"}},
                           "\"x\"",
                           "variable \"a\": path \"$.a..b\" at character 4: recursive descent"},
        TransformerRefusal{"EmptyTemplate", {}, "", "a template is 1 to 8192 bytes, not 0"},
        TransformerRefusal{"TemplateTooLong",
                           {},
                           std::string(8193, 'x'),
                           "a template is 1 to 8192 bytes, not 8193"},
        TransformerRefusal{"UnknownPlaceholder",
                           {{"a", "$.a"}},
                           "\"Event <a> and <nope>\"",
                           "<nope> at character 16 names no variable and no predefined one"},
        TransformerRefusal{"UnknownPlaceholderInPlainText",
                           {},
                           "hello <there>",
                           "<there> at character 7 names no variable"},
        TransformerRefusal{"UnknownPredefinedName",
                           {},
                           "\"<aws.events.rule>\"",
                           "<aws.events.rule> at character 2 names no variable"},
        TransformerRefusal{"BarePlaceholderAsKey",
                           {{"k", "$.k"}},
                           "{<k>: 1}",
                           "<k> at character 2: a placeholder cannot be used as an object key"},
        TransformerRefusal{"QuotedPlaceholderAsKey",
                           {{"k", "$.k"}},
                           R"({"a": 1, "<k>": 2})",
                           "<k> at character 11: a placeholder cannot be used as an object key"},
        TransformerRefusal{"KeyInANestedObject",
                           {{"k", "$.k"}},
                           R"([{"a": {"x<k>": 1}}])",
                           "cannot be used as an object key"},
        TransformerRefusal{"EventInsideQuotes",
                           {},
                           R"({"e": "<aws.events.event>"})",
                           "can only be a value outside quotes in a JSON template"},
        TransformerRefusal{"FullEventInPlainText",
                           {},
                           "event: <aws.events.event.json>",
                           "<aws.events.event.json> at character 8: can only be a value"}),
    refusal_name);

TEST(InputTransformerCreate, AcceptsEachLimitExactly) {
  EXPECT_TRUE(InputTransformer::create(many_vars(100), "\"x\"").ok());
  EXPECT_TRUE(InputTransformer::create({{std::string(256, 'n'), "$.a"}}, "\"x\"").ok());
  EXPECT_TRUE(InputTransformer::create({}, std::string(8192, 'x')).ok());
}

TEST(InputTransformerCreate, AcceptsVariableNamesThatOnlyBeginLikeTheReservedOnes) {
  auto t = InputTransformer::create({{"awsome", "$.a"}, {"aws-region", "$.b"}}, "<awsome>");
  EXPECT_TRUE(t.ok()) << t.error().message();
}

TEST(InputTransformerCreate, KeepsTheVariablesAndTemplateAsGiven) {
  auto t = InputTransformer::create({{"b", "$.b"}, {"a", "$.a[0]"}}, "<a><b>");
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->input_template(), "<a><b>");
  ASSERT_EQ(t->variables().size(), 2u);
  EXPECT_EQ(t->variables()[0].first, "b");
  EXPECT_EQ(t->variables()[1].second.text(), "$.a[0]");
}

// ---- What a target receives ----

TEST(TargetInput, WithoutOptionsIsTheWholeEvent) {
  const json::value event = parse_json(kEvent);
  auto out = target_input(event, std::nullopt, std::nullopt, test_context());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(parse_json(*out), event);
}

TEST(TargetInput, InputPathGivesTheValueAsJson) {
  const json::value event = parse_json(kEvent);
  auto host = target_input(event, *JsonPath::parse("$.detail.host"), std::nullopt, {});
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(*host, R"("web-1")");  // a string keeps its quotes
  auto meta = target_input(event, *JsonPath::parse("$.detail.meta"), std::nullopt, {});
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(*meta, R"({"k":"v"})");
}

TEST(TargetInput, InputPathThatFindsNothingGivesNull) {
  auto out = target_input(parse_json(kEvent), *JsonPath::parse("$.detail.nope"), std::nullopt, {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "null");
}

TEST(TargetInput, TransformerGivesItsRendering) {
  auto t = InputTransformer::create({{"host", "$.detail.host"}}, "<host> is full");
  ASSERT_TRUE(t.ok());
  auto out = target_input(parse_json(kEvent), std::nullopt, *t, test_context());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "web-1 is full");
}

TEST(TargetInput, RefusesBothAnInputPathAndATransformer) {
  auto t = InputTransformer::create({}, "\"x\"");
  ASSERT_TRUE(t.ok());
  auto out = target_input(parse_json(kEvent), *JsonPath::parse("$"), *t, test_context());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code(), core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace homeostat::patterns
