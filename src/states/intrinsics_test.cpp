#include "states/intrinsics.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>
#include <string>
#include <vector>

namespace homeostat::states {
namespace {

namespace json = boost::json;

// The state input and context object every case reads its paths from.
const json::value& input() {
  static const json::value kInput = json::parse(R"({
    "name": "Arnav",
    "template": "Hello, my name is {}.",
    "escaped": "{\"foo\": \"bar\"}",
    "broken": "{\"foo\": ",
    "obj": {"foo": "bar"},
    "a": [1, 2, 3],
    "nums": [1, 2, 3, 4, 5, 6, 7, 8, 9],
    "dup": [1, 2, 2, "x", "x", {"k": 1, "j": 2}, {"j": 2, "k": 1}, 1.0],
    "id": 123456,
    "arn": "arn:aws:imagebuilder:us-east-1:123:image/my-image/1.0.0",
    "v1": 111,
    "step": -1,
    "whole": 2.0,
    "pi": 3.5,
    "flag": true,
    "nothing": null,
    "big": 3000000000,
    "left": {"a": {"x": 1}, "b": 2},
    "right": {"a": {"y": 2}, "c": 3},
    "long": ")" + std::string(10001, 'x') + R"("
  })");
  return kInput;
}

const json::value& context() {
  static const json::value kContext = json::parse(R"({"Execution": {"Id": "exec-1"}})");
  return kContext;
}

// A small resolver for the tests: "$" or "$$" followed by ".key" and "[index]" steps.
std::optional<json::value> resolve(std::string_view path) {
  const json::value* current = &input();
  if (path.starts_with("$$")) {
    current = &context();
    path.remove_prefix(2);
  } else {
    path.remove_prefix(1);
  }
  while (!path.empty()) {
    if (path.front() == '.') {
      path.remove_prefix(1);
      size_t end = path.find_first_of(".[");
      std::string key(path.substr(0, end));
      path.remove_prefix(end == std::string_view::npos ? path.size() : end);
      if (!current->is_object() || !current->as_object().contains(key)) {
        return std::nullopt;
      }
      current = &current->as_object().at(key);
    } else if (path.front() == '[') {
      size_t close = path.find(']');
      size_t index = std::stoul(std::string(path.substr(1, close - 1)));
      path.remove_prefix(close + 1);
      if (!current->is_array() || index >= current->as_array().size()) {
        return std::nullopt;
      }
      current = &current->as_array()[index];
    } else {
      return std::nullopt;
    }
  }
  return *current;
}

// Fills every requested byte with the same value, so random results are known in advance.
RandomSource fixed_bytes(uint8_t byte) {
  return [byte](uint8_t* out, size_t n) { std::memset(out, byte, n); };
}

struct ValueCase {
  std::string name;
  std::string expression;
  std::string expected;  // JSON text of the expected value
};

// GoogleTest finds this function by its name to print a case.
void PrintTo(const ValueCase& c, std::ostream* os) {  // NOLINT(readability-identifier-naming)
  *os << c.expression;
}

class IntrinsicValueTest : public testing::TestWithParam<ValueCase> {};

TEST_P(IntrinsicValueTest, EvaluatesToTheDocumentedValue) {
  IntrinsicOptions options{.random = fixed_bytes(0xAB)};
  auto result = evaluate_intrinsic(GetParam().expression, resolve, options);
  ASSERT_TRUE(std::holds_alternative<json::value>(result)) << std::get<StatesError>(result).cause;
  EXPECT_EQ(std::get<json::value>(result), json::parse(GetParam().expected))
      << json::serialize(std::get<json::value>(result));
}

// 10,000 characters, the longest input States.Base64Encode accepts, and its encoding:
// "yyy" encodes as "eXl5" and the one 'y' left over as "eQ==".
const std::string kLongString(10000, 'y');

std::string long_encoded() {
  std::string out;
  for (int i = 0; i < 3333; ++i) {
    out += "eXl5";
  }
  return out + "eQ==";
}

INSTANTIATE_TEST_SUITE_P(
    Intrinsics, IntrinsicValueTest,
    testing::Values(
        // States.Format
        ValueCase{"FormatLiteralTemplate", "States.Format('Hello, my name is {}.', $.name)",
                  R"("Hello, my name is Arnav.")"},
        ValueCase{"FormatTemplateFromPath", "States.Format($.template, $.name)",
                  R"("Hello, my name is Arnav.")"},
        ValueCase{"FormatWithoutPlaceholders", "States.Format('plain')", R"("plain")"},
        ValueCase{"FormatNumbersBooleansNull",
                  "States.Format('{} {} {} {} {}', 42, 1.5, $.whole, true, null)",
                  R"("42 1.5 2 true null")"},
        ValueCase{"FormatEscapedBracesAreNotPlaceholders",
                  R"(States.Format('\{\} is {}', 'empty'))", R"("{} is empty")"},
        ValueCase{"FormatEscapedQuoteAndBackslash", R"(States.Format('it\'s a \\ {}', 'x'))",
                  R"("it's a \\ x")"},
        ValueCase{"FormatContextPath", "States.Format('run {}', $$.Execution.Id)",
                  R"("run exec-1")"},
        ValueCase{"FormatNestedLength", "States.Format('{}', States.ArrayLength($.a))", R"("3")"},
        ValueCase{"FormatToleratesWhitespace", "  States.Format( '{}-{}' ,  1 , 2 )  ", R"("1-2")"},
        // States.StringToJson / States.JsonToString
        ValueCase{"StringToJsonParsesEscapedJson", "States.StringToJson($.escaped)",
                  R"({"foo": "bar"})"},
        ValueCase{"StringToJsonParsesScalar", "States.StringToJson('42')", "42"},
        ValueCase{"JsonToStringSerializesPath", "States.JsonToString($.obj)",
                  R"("{\"foo\":\"bar\"}")"},
        // States.Array
        ValueCase{"ArrayOfPath", "States.Array($.id)", "[123456]"},
        ValueCase{"ArrayOfNothing", "States.Array()", "[]"},
        ValueCase{"ArrayOfMixedArguments", "States.Array('a', 1, true, null, $.a)",
                  R"(["a", 1, true, null, [1, 2, 3]])"},
        // States.ArrayPartition
        ValueCase{"ArrayPartitionLastChunkShorter", "States.ArrayPartition($.nums, 4)",
                  "[[1,2,3,4],[5,6,7,8],[9]]"},
        ValueCase{"ArrayPartitionChunkLargerThanArray", "States.ArrayPartition($.a, 10)",
                  "[[1,2,3]]"},
        ValueCase{"ArrayPartitionEmptyArray", "States.ArrayPartition(States.Array(), 2)", "[]"},
        // States.ArrayContains
        ValueCase{"ArrayContainsFindsValue", "States.ArrayContains($.nums, 5)", "true"},
        ValueCase{"ArrayContainsMissesValue", "States.ArrayContains($.nums, 10)", "false"},
        ValueCase{"ArrayContainsComparesObjects",
                  "States.ArrayContains(States.Array($.obj), $.obj)", "true"},
        // States.ArrayRange
        ValueCase{"ArrayRangeStepsByTwo", "States.ArrayRange(1, 9, 2)", "[1,3,5,7,9]"},
        ValueCase{"ArrayRangeCountsDown", "States.ArrayRange(3, -3, -3)", "[3,0,-3]"},
        ValueCase{"ArrayRangeStopsBeforeOvershoot", "States.ArrayRange(0, 5, 2)", "[0,2,4]"},
        ValueCase{"ArrayRangeWrongDirectionIsEmpty", "States.ArrayRange(5, 1, 1)", "[]"},
        ValueCase{"ArrayRangeSingleItem", "States.ArrayRange(7, 7, 1)", "[7]"},
        // States.ArrayGetItem / ArrayLength / ArrayUnique
        ValueCase{"ArrayGetItemByIndex", "States.ArrayGetItem($.nums, 5)", "6"},
        ValueCase{"ArrayGetItemIntegralDoubleIndex", "States.ArrayGetItem($.a, $.whole)", "3"},
        ValueCase{"ArrayLengthCountsItems", "States.ArrayLength($.nums)", "9"},
        ValueCase{"ArrayUniqueKeepsFirstOfEach", "States.ArrayUnique($.dup)",
                  R"([1, 2, "x", {"k": 1, "j": 2}, 1.0])"},
        // Encoding and hashing
        ValueCase{"Base64EncodeText", "States.Base64Encode('Data to encode')",
                  R"("RGF0YSB0byBlbmNvZGU=")"},
        ValueCase{"Base64EncodeEmpty", "States.Base64Encode('')", R"("")"},
        ValueCase{"Base64EncodeAtLimit", "States.Base64Encode('" + kLongString + "')",
                  "\"" + long_encoded() + "\""},
        ValueCase{"Base64DecodeText", "States.Base64Decode('RGF0YSB0byBlbmNvZGU=')",
                  R"("Data to encode")"},
        ValueCase{"Base64DecodeTwoPaddingChars", "States.Base64Decode('aGk=')", R"("hi")"},
        ValueCase{"Base64RoundTrip", "States.Base64Decode(States.Base64Encode('héllo'))",
                  R"("héllo")"},
        ValueCase{"HashMd5", "States.Hash('hello', 'MD5')",
                  R"("5d41402abc4b2a76b9719d911017c592")"},
        ValueCase{"HashSha1", "States.Hash('hello', 'SHA-1')",
                  R"("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d")"},
        ValueCase{"HashSha256", "States.Hash('hello', 'SHA-256')",
                  R"("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")"},
        ValueCase{
            "HashSha384", "States.Hash('hello', 'SHA-384')",
            R"("59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90125a3c79f90397bdf5f6a13de828684f")"},
        ValueCase{
            "HashSha512", "States.Hash('hello', 'SHA-512')",
            R"("9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043")"},
        ValueCase{"HashUtf8Bytes", "States.Hash('héllo', 'SHA-256')",
                  R"("3c48591d8d098a4538f5e013dfcf406e948eac4d3277b10bf614e295d6068179")"},
        // States.JsonMerge
        ValueCase{"JsonMergeIsShallow", "States.JsonMerge($.left, $.right, false)",
                  R"({"a": {"y": 2}, "b": 2, "c": 3})"},
        // Math
        ValueCase{"MathRandomSingleValueRange", "States.MathRandom(5, 5)", "5"},
        ValueCase{"MathAddPathValues", "States.MathAdd($.v1, $.step)", "110"},
        ValueCase{"MathAddInt32Extremes", "States.MathAdd(2147483647, 2147483647)", "4294967294"},
        ValueCase{"MathAddNegativeLiteral", "States.MathAdd(-5, 3)", "-2"},
        // States.StringSplit
        ValueCase{"StringSplitOnEachDelimiterCharacter",
                  "States.StringSplit('This.is+a,test=string', '.+,=')",
                  R"(["This", "is", "a", "test", "string"])"},
        ValueCase{"StringSplitDropsEmptyPieces", "States.StringSplit(',a,,b,', ',')",
                  R"(["a", "b"])"},
        ValueCase{"StringSplitMultibyteDelimiter", "States.StringSplit('a→b→c', '→')",
                  R"(["a", "b", "c"])"},
        // Nesting as in the AWS example: the two middle parts of an ARN's version.
        ValueCase{"TenNestedCallsAreAllowed",
                  "States.Array(States.Array(States.Array(States.Array(States.Array("
                  "States.Array(States.Array(States.Array(States.Array(States.Array()"
                  ")))))))))",
                  "[[[[[[[[[[]]]]]]]]]]"},
        ValueCase{"NestedCallsAsInTheAwsExample",
                  "States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit("
                  "States.ArrayGetItem(States.StringSplit($.arn, '/'), 2), '.'), 0), "
                  "States.ArrayGetItem(States.StringSplit(States.ArrayGetItem("
                  "States.StringSplit($.arn, '/'), 2), '.'), 1), "
                  "States.ArrayGetItem($.a, 0))",
                  R"("1.0.1")"},
        // States.UUID with every random byte 0xAB.
        ValueCase{"UuidIsVersion4", "States.UUID()", R"("abababab-abab-4bab-abab-abababababab")"}),
    [](const testing::TestParamInfo<ValueCase>& param_info) { return param_info.param.name; });

struct ErrorCase {
  std::string name;
  std::string expression;
  std::string cause;  // a part of the expected cause
};

// GoogleTest finds this function by its name to print a case.
void PrintTo(const ErrorCase& c, std::ostream* os) {  // NOLINT(readability-identifier-naming)
  *os << c.expression;
}

class IntrinsicErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(IntrinsicErrorTest, FailsWithIntrinsicFailure) {
  auto result = evaluate_intrinsic(GetParam().expression, resolve);
  ASSERT_TRUE(std::holds_alternative<StatesError>(result))
      << json::serialize(std::get<json::value>(result));
  const auto& error = std::get<StatesError>(result);
  EXPECT_EQ(error.error, "States.IntrinsicFailure");
  EXPECT_NE(error.cause.find(GetParam().cause), std::string::npos) << error.cause;
}

INSTANTIATE_TEST_SUITE_P(
    Intrinsics, IntrinsicErrorTest,
    testing::Values(
        // Syntax
        ErrorCase{"UnknownFunction", "States.Nope(1)", "unknown function States.Nope"},
        ErrorCase{"MissingCloseParen", "States.Array(1, 2", "missing ')'"},
        ErrorCase{"ExtraCloseParen", "States.Array(1))", "after the closing ')'"},
        ErrorCase{"NestedMissingCloseParen", "States.Format('{}', States.ArrayLength($.a)",
                  "missing ')'"},
        ErrorCase{"NoParenthesis", "States.UUID", "expected '('"},
        ErrorCase{"NotAnIntrinsic", "$.name", "expected 'States.'"},
        ErrorCase{"EmptyArgument", "States.Array(1, )", "unexpected character ')'"},
        ErrorCase{"UnterminatedString", "States.Format('abc)", "unterminated string literal"},
        ErrorCase{"InvalidEscape", R"(States.Format('a\nb'))", "invalid escape '\\n'"},
        ErrorCase{"OpenEscapeAtEnd", "States.Format('a\\", "backslash at the end"},
        ErrorCase{"DoubleQuotedString", R"(States.Format("hi"))", "unexpected character '\"'"},
        ErrorCase{"BadNumber", "States.MathAdd(1.2.3, 1)", "invalid number '1.2.3'"},
        ErrorCase{"BadKeyword", "States.Array(yes)", "unexpected word 'yes'"},
        ErrorCase{"BadPath", "States.Array($name)", "invalid path '$name'"},
        ErrorCase{"MissingPath", "States.Array($.missing)", "path $.missing selects nothing"},
        ErrorCase{"NestedTooDeep",
                  "States.Array(States.Array(States.Array(States.Array(States.Array("
                  "States.Array(States.Array(States.Array(States.Array(States.Array("
                  "States.Array())))))))))))",
                  "more than 10 nested"},
        // States.Format
        ErrorCase{"FormatTooFewValues", "States.Format('{} {}', 1)", "2 placeholders but 1 values"},
        ErrorCase{"FormatTooManyValues", "States.Format('{}', 1, 2)",
                  "1 placeholders but 2 values"},
        ErrorCase{"FormatTemplateNotString", "States.Format(1)", "must be a string, got number"},
        ErrorCase{"FormatArrayValue", "States.Format('{}', $.a)",
                  "argument 2 must be a string, number, boolean or null, got array"},
        ErrorCase{"FormatNoArguments", "States.Format()", "takes at least 1 argument, got 0"},
        // JSON
        ErrorCase{"StringToJsonInvalid", "States.StringToJson($.broken)", "not valid JSON"},
        ErrorCase{"StringToJsonNotString", "States.StringToJson($.obj)",
                  "must be a string, got object"},
        ErrorCase{"JsonToStringLiteral", "States.JsonToString('x')", "must be a path"},
        ErrorCase{"JsonToStringTwoArguments", "States.JsonToString($.obj, $.obj)",
                  "takes 1 argument, got 2"},
        // Arrays
        ErrorCase{"ArrayPartitionZeroChunk", "States.ArrayPartition($.a, 0)",
                  "must be a positive integer"},
        ErrorCase{"ArrayPartitionNotArray", "States.ArrayPartition($.obj, 2)",
                  "must be an array, got object"},
        ErrorCase{"ArrayContainsOneArgument", "States.ArrayContains($.a)",
                  "takes 2 arguments, got 1"},
        ErrorCase{"ArrayRangeZeroStep", "States.ArrayRange(1, 9, 0)", "must not be zero"},
        ErrorCase{"ArrayRangeTooMany", "States.ArrayRange(1, 1001, 1)", "more than 1000 items"},
        ErrorCase{"ArrayRangeFraction", "States.ArrayRange(1, 9.5, 1)",
                  "argument 2 must be an integer"},
        ErrorCase{"ArrayGetItemOutOfRange", "States.ArrayGetItem($.a, 3)", "out of range"},
        ErrorCase{"ArrayGetItemNegative", "States.ArrayGetItem($.a, -1)", "out of range"},
        ErrorCase{"ArrayGetItemStringIndex", "States.ArrayGetItem($.a, '1')",
                  "must be an integer, got string"},
        ErrorCase{"ArrayLengthOfString", "States.ArrayLength($.name)",
                  "must be an array, got string"},
        ErrorCase{"ArrayUniqueNoArguments", "States.ArrayUnique()", "takes 1 argument, got 0"},
        // Encoding and hashing
        ErrorCase{"Base64EncodeTooLong", "States.Base64Encode($.long)",
                  "longer than 10000 characters"},
        ErrorCase{"Base64EncodeNumber", "States.Base64Encode(5)", "must be a string, got number"},
        ErrorCase{"Base64DecodeBadAlphabet", "States.Base64Decode('ab$d')", "not valid Base64"},
        ErrorCase{"Base64DecodeBadLength", "States.Base64Decode('abc')", "not valid Base64"},
        ErrorCase{"Base64DecodeBinary", "States.Base64Decode('/w==')", "not UTF-8"},
        ErrorCase{"HashUnknownAlgorithm", "States.Hash('x', 'SHA-224')", "unsupported algorithm"},
        ErrorCase{"HashLowercaseAlgorithm", "States.Hash('x', 'sha-256')", "unsupported algorithm"},
        ErrorCase{"HashObjectData", "States.Hash($.obj, 'MD5')", "must be a string, got object"},
        ErrorCase{"HashTooLong", "States.Hash($.long, 'MD5')", "longer than 10000"},
        // States.JsonMerge
        ErrorCase{"JsonMergeDeep", "States.JsonMerge($.left, $.right, true)",
                  "deep merge is not supported"},
        ErrorCase{"JsonMergeArray", "States.JsonMerge($.a, $.right, false)",
                  "argument 1 must be an object, got array"},
        ErrorCase{"JsonMergeMissingFlag", "States.JsonMerge($.left, $.right)",
                  "takes 3 arguments, got 2"},
        // Math
        ErrorCase{"MathRandomStartAfterEnd", "States.MathRandom(10, 1)", "greater than the end"},
        ErrorCase{"MathRandomStringSeed", "States.MathRandom(1, 10, 'seed')",
                  "argument 3 must be an integer"},
        ErrorCase{"MathRandomOneArgument", "States.MathRandom(1)", "takes 2 to 3 arguments"},
        ErrorCase{"MathAddOutOfInt32", "States.MathAdd($.big, 1)",
                  "argument 1 must be an integer from -2147483648"},
        ErrorCase{"MathAddFraction", "States.MathAdd($.pi, 1)", "must be an integer"},
        ErrorCase{"MathAddBoolean", "States.MathAdd(1, $.flag)", "got boolean"},
        // Strings and UUID
        ErrorCase{"StringSplitNumber", "States.StringSplit(123, ',')",
                  "must be a string, got number"},
        ErrorCase{"StringSplitNullDelimiter", "States.StringSplit('a', $.nothing)",
                  "argument 2 must be a string, got null"},
        ErrorCase{"UuidWithArgument", "States.UUID(1)", "takes 0 arguments, got 1"}),
    [](const testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

TEST(MathRandom, ReturnsTheSameNumberForTheSameSeed) {
  // The random source would give a different answer, so equality shows the seed was used.
  IntrinsicOptions zeros{.random = fixed_bytes(0x00)};
  IntrinsicOptions ones{.random = fixed_bytes(0xFF)};
  auto first = evaluate_intrinsic("States.MathRandom(1, 999, 7)", resolve, zeros);
  auto second = evaluate_intrinsic("States.MathRandom(1, 999, 7)", resolve, ones);
  auto other_seed = evaluate_intrinsic("States.MathRandom(1, 999, 8)", resolve, zeros);
  ASSERT_TRUE(std::holds_alternative<json::value>(first));
  ASSERT_TRUE(std::holds_alternative<json::value>(second));
  ASSERT_TRUE(std::holds_alternative<json::value>(other_seed));
  EXPECT_EQ(std::get<json::value>(first), std::get<json::value>(second));
  EXPECT_NE(std::get<json::value>(first), std::get<json::value>(other_seed));
}

struct RandomCase {
  uint8_t byte;
  std::string expression;
  int64_t expected;
};

TEST(MathRandom, MapsTheRandomSourceOntoTheInclusiveRange) {
  const std::vector<RandomCase> cases = {
      {0x00, "States.MathRandom(1, 10)", 1},    // lowest draw gives the start
      {0xFF, "States.MathRandom(0, 9)", 5},     // 2^64-1 mod 10 = 5
      {0xFF, "States.MathRandom(-3, -3)", -3},  // a one-value range
      {0x01, "States.MathRandom(0, 1)", 1},     // 0x0101...01 is odd
  };
  for (const auto& c : cases) {
    IntrinsicOptions options{.random = fixed_bytes(c.byte)};
    auto result = evaluate_intrinsic(c.expression, resolve, options);
    ASSERT_TRUE(std::holds_alternative<json::value>(result)) << c.expression;
    EXPECT_EQ(std::get<json::value>(result), json::value(c.expected)) << c.expression;
  }
}

TEST(MathRandom, StaysWithinTheRangeWithTheSystemSource) {
  for (int i = 0; i < 200; ++i) {
    auto result = evaluate_intrinsic("States.MathRandom(-2, 2)", resolve);
    ASSERT_TRUE(std::holds_alternative<json::value>(result));
    int64_t n = std::get<json::value>(result).as_int64();
    EXPECT_GE(n, -2);
    EXPECT_LE(n, 2);
  }
}

TEST(Uuid, DiffersBetweenCallsWithTheSystemSource) {
  auto first = evaluate_intrinsic("States.UUID()", resolve);
  auto second = evaluate_intrinsic("States.UUID()", resolve);
  ASSERT_TRUE(std::holds_alternative<json::value>(first));
  ASSERT_TRUE(std::holds_alternative<json::value>(second));
  std::string text(std::get<json::value>(first).as_string());
  EXPECT_EQ(text.size(), 36U);
  EXPECT_EQ(text[14], '4');
  EXPECT_NE(std::get<json::value>(first), std::get<json::value>(second));
}

TEST(Evaluate, ReportsSyntaxErrorsBeforeCallingTheResolver) {
  int calls = 0;
  PathResolver counting = [&](std::string_view path) {
    ++calls;
    return resolve(path);
  };
  auto result = evaluate_intrinsic("States.Array($.a, ", counting);
  ASSERT_TRUE(std::holds_alternative<StatesError>(result));
  EXPECT_EQ(calls, 0);
}

struct DetectCase {
  std::string text;
  bool expected;
};

TEST(IsIntrinsic, RecognisesACallPrefixOnly) {
  const std::vector<DetectCase> cases = {
      {"States.Format('{}', $.a)", true},
      {"States.UUID()", true},
      {"States.Nope(", true},  // looks like a call; evaluation reports the unknown name
      {"States.(", false},
      {"States.Format", false},
      {"States.Format ('x')", false},
      {" States.UUID()", false},
      {"$.States.UUID()", false},
      {"", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(is_intrinsic(c.text), c.expected) << c.text;
  }
}

}  // namespace
}  // namespace homeostat::states
