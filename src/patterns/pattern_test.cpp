#include "patterns/pattern.hpp"

#include <string>

#include <gtest/gtest.h>

namespace homeostat::patterns {
namespace {

Pattern parse_ok(const std::string& text) {
  auto p = parse_pattern(text);
  EXPECT_TRUE(p.ok()) << text << ": " << (p.ok() ? "" : p.error().message());
  return p.ok() ? *p : Pattern{};
}

struct Refusal {
  const char* pattern;
  const char* message;  // a part of the expected message
};

class RefusesInvalidPatterns : public testing::TestWithParam<Refusal> {};

TEST_P(RefusesInvalidPatterns, WithAMessageThatSaysWhereAndWhat) {
  auto p = parse_pattern(GetParam().pattern);
  ASSERT_FALSE(p.ok()) << GetParam().pattern;
  EXPECT_EQ(p.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_NE(p.error().message().find(GetParam().message), std::string::npos) << p.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Patterns, RefusesInvalidPatterns,
    testing::Values(
        Refusal{"[1]", "pattern: a pattern must be a JSON object, not an array"},
        Refusal{"{\"a\": ", "pattern: not valid JSON"},
        Refusal{"{}", "an empty object matches nothing"},
        Refusal{R"({"detail": {}})", "detail: an empty object"},
        Refusal{R"({"source": "aws.ec2"})", "source: expected an array of values or an object"},
        Refusal{R"({"source": []})", "source: an empty array matches nothing"},
        Refusal{R"({"source": [["a"]]})", "source[0]: a value cannot be an array"},
        Refusal{R"({"a": [{"prefix": 1}]})", "a[0].prefix: expects a string or"},
        Refusal{R"({"a": [{"prefix": "x", "suffix": "y"}]})", "exactly one operator, not 2"},
        Refusal{R"({"a": [{}]})", "a[0]: an empty object is not an operator"},
        Refusal{R"({"a": [{"between": [1, 2]}]})", "a[0]: \"between\" is not an operator"},
        Refusal{R"({"a": [{"equals-ignore-case": 5}]})", "a[0].equals-ignore-case: expects a"},
        Refusal{R"({"a": [{"exists": "yes"}]})", "a[0].exists: expects true or false"},
        Refusal{R"({"d": {"s": [{"numeric": [">>", 1]}]}})",
                "d.s[0].numeric[0]: \">>\" is not a numeric operator"},
        Refusal{R"({"a": [{"numeric": [">", "1"]}]})", "a[0].numeric[1]: expects a finite"},
        Refusal{R"({"a": [{"numeric": ["<", 5, ">", 1]}]})", "a lower bound (> or >=) followed"},
        Refusal{R"({"a": [{"numeric": [">", 5, "<", 1]}]})", "a[0].numeric: the range is empty"},
        Refusal{R"({"a": [{"numeric": [">", 5, "<", 5]}]})", "the range is empty"},
        Refusal{R"({"a": [{"numeric": ["=", 5, "<", 6]}]})", "\"=\" cannot be combined"},
        Refusal{R"({"a": [{"numeric": [">", 1, "<"]}]})", "a[0].numeric: expects [operator"},
        Refusal{R"({"a": [{"cidr": "10.0.0.0"}]})", "is not an address/prefix-length block"},
        Refusal{R"({"a": [{"cidr": "10.0.0.0/33"}]})", "prefix length 33 is longer than 32"},
        Refusal{R"({"a": [{"cidr": "10.0.0/8"}]})", "\"10.0.0\" is not an IPv4 or IPv6"},
        Refusal{R"({"a": [{"cidr": "2001:db8::/129"}]})", "longer than 128 bits"},
        Refusal{R"({"a": [{"wildcard": "a**b"}]})", "two * in a row are not allowed"},
        Refusal{R"({"a": [{"wildcard": "a\\b"}]})", "a backslash must be followed by"},
        Refusal{R"({"a": [{"wildcard": 3}]})", "a[0].wildcard: expects a string"},
        Refusal{R"({"a": [{"anything-but": []}]})", "a[0].anything-but: expects at least one"},
        Refusal{R"({"a": [{"anything-but": [true]}]})", "anything-but[0]: expects strings or"},
        Refusal{R"({"a": [{"anything-but": {"numeric": [">", 1]}}]})",
                "anything-but.numeric: anything-but takes prefix, suffix"},
        Refusal{R"({"a": [{"anything-but": {"prefix": [""]}}]})",
                "anything-but.prefix: an empty prefix would exclude every string"},
        Refusal{R"({"$or": [{"a": ["x"]}]})", "$or: $or takes an array of at least two"},
        Refusal{R"({"d": {"$or": [{"a": ["x"]}, 5]}})", "d.$or[1]: a $or branch must be"}));

TEST(ParsePattern, RefusesNestingDeeperThanTheLimit) {
  auto nested = [](int levels) {
    std::string text;
    for (int i = 0; i < levels; ++i) {
      text += "{\"k" + std::to_string(i) + "\": ";
    }
    text += "[\"x\"]" + std::string(levels, '}');
    return text;
  };
  EXPECT_TRUE(parse_pattern(nested(16)).ok());
  auto p = parse_pattern(nested(17));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message().find("k0.k1.k2.k3.k4.k5.k6.k7.k8.k9.k10.k11.k12.k13.k14.k15: "
                                     "nested deeper than 16 levels"),
            std::string::npos)
      << p.error().message();
}

TEST(ParsePattern, TakesTheLastOfARepeatedKey) {
  auto p = parse_ok(R"({"source": ["a"], "source": ["b"]})");
  ASSERT_EQ(p.alternatives[0].fields.size(), 1u);
  EXPECT_EQ(p.alternatives[0].fields[0].conditions[0].scalar.text, "b");
}

TEST(ParsePattern, ExpandsOrIntoAlternativesThatKeepTheirSiblings) {
  auto p = parse_ok(R"({"source": ["a"], "$or": [{"x": [1]}, {"y": [2]}, {"z": [3]}]})");
  ASSERT_EQ(p.alternatives.size(), 3u);
  for (const auto& alt : p.alternatives) {
    ASSERT_EQ(alt.fields.size(), 2u);
    EXPECT_EQ(alt.fields[0].path, std::vector<std::string>{"source"});  // sorted before x/y/z
  }
}

TEST(ParsePattern, MultipliesNestedOrs) {
  auto p = parse_ok(R"({"$or": [{"a": [1]}, {"b": [2]}], "d": {"$or": [{"c": [3]}, {"e": [4]}]}})");
  EXPECT_EQ(p.alternatives.size(), 4u);
}

TEST(ParsePattern, RefusesMoreOrCombinationsThanTheLimit) {
  std::string text = "{";
  for (int i = 0; i < 4; ++i) {
    text += std::string(i ? "," : "") + "\"k" + std::to_string(i) + "\": {\"$or\": [";
    for (int j = 0; j < 10; ++j) {
      text += std::string(j ? "," : "") + "{\"v" + std::to_string(j) + "\": [1]}";
    }
    text += "]}";
  }
  text += "}";
  auto p = parse_pattern(text);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message().find("more than 1000 combinations"), std::string::npos);
}

TEST(ParsePattern, RefusesTextOverTheSizeLimit) {
  PatternLimits limits;
  limits.max_bytes = 10;
  auto p = parse_pattern(R"({"source": ["aws.ec2"]})", limits);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message().find("over the 10-byte limit"), std::string::npos);
}

TEST(ParsePattern, NormalisesNumbersSoThatEqualValuesCompareEqual) {
  auto p = parse_ok(R"({"a": [300, 3.0e2, -0.0]})");
  const auto& c = p.alternatives[0].fields[0].conditions;
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].scalar.number, c[1].scalar.number);
  EXPECT_FALSE(std::signbit(c[2].scalar.number));
}

TEST(ParsePattern, FoldsIgnoreCaseTextsOnce) {
  auto p = parse_ok(
      R"({"a": [{"equals-ignore-case": "AbC"}, {"prefix": {"equals-ignore-case": "XY"}}]})");
  const auto& c = p.alternatives[0].fields[0].conditions;
  EXPECT_EQ(c[0].op, Condition::Op::kEqualsIgnoreCase);
  EXPECT_EQ(c[0].text, "abc");
  EXPECT_EQ(c[1].op, Condition::Op::kPrefixIgnoreCase);
  EXPECT_EQ(c[1].text, "xy");
}

TEST(Wildcard, MatchesWithStarsAnywhereAndEscapes) {
  auto w = [](const char* pattern) {
    return parse_ok(std::string(R"({"a": [{"wildcard": )") + pattern + "}]}")
        .alternatives[0]
        .fields[0]
        .conditions[0]
        .wildcards[0];
  };
  EXPECT_TRUE(w(R"("*")").matches(""));
  EXPECT_TRUE(w(R"("a*b*c")").matches("abc"));
  EXPECT_TRUE(w(R"("a*b*c")").matches("aXXbYYc"));
  EXPECT_FALSE(w(R"("a*b*c")").matches("aXXcYYb"));
  EXPECT_FALSE(w(R"("ab*ba")").matches("aba"));  // the ends may not overlap
  EXPECT_TRUE(w(R"("a\\*")").matches("a*"));
  EXPECT_FALSE(w(R"("a\\*")").matches("ab"));
  EXPECT_TRUE(w(R"("a\\\\*")").matches("a\\zz"));
}

TEST(CidrRange, MatchesAddressesInsideTheBlockOfTheSameFamily) {
  auto block = [](const char* cidr) {
    return parse_ok(std::string(R"({"a": [{"cidr": ")") + cidr + "\"}]}")
        .alternatives[0]
        .fields[0]
        .conditions[0]
        .cidr;
  };
  EXPECT_TRUE(block("10.0.0.0/12").contains("10.15.255.255"));
  EXPECT_FALSE(block("10.0.0.0/12").contains("10.16.0.0"));
  EXPECT_TRUE(block("0.0.0.0/0").contains("192.168.1.1"));
  EXPECT_FALSE(block("0.0.0.0/0").contains("::1"));
  EXPECT_TRUE(block("2001:db8::/32").contains("2001:db8:ffff::1"));
  EXPECT_FALSE(block("2001:db8::/32").contains("2001:db9::1"));
  EXPECT_FALSE(block("10.0.0.0/8").contains("10.0.0.1/32"));
  EXPECT_FALSE(block("10.0.0.0/8").contains("not an address"));
}

}  // namespace
}  // namespace homeostat::patterns
