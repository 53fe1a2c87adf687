#include "patterns/matcher.hpp"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "patterns/reference.hpp"

namespace homeostat::patterns {
namespace {

std::vector<Pattern> parse_all(const std::vector<std::string>& texts) {
  std::vector<Pattern> out;
  for (const auto& t : texts) {
    auto p = parse_pattern(t);
    EXPECT_TRUE(p.ok()) << t;
    out.push_back(p.ok() ? *p : Pattern{});
  }
  return out;
}

std::vector<uint32_t> match(const Matcher& m, const std::string& event) {
  MatchScratch scratch;
  std::vector<uint32_t> out;
  auto status = m.match(event, scratch, out);
  EXPECT_TRUE(status.ok()) << event;
  return out;
}

TEST(Matcher, ReportsEveryMatchingRuleInAscendingOrder) {
  auto patterns =
      parse_all({R"({"source": ["aws.ec2"]})", R"({"source": ["aws.s3"]})",
                 R"({"source": [{"prefix": "aws."}]})", R"({"detail": {"state": ["running"]}})"});
  auto m = Matcher::compile(patterns);
  EXPECT_EQ(match(*m, R"({"source": "aws.ec2", "detail": {"state": "running"}})"),
            (std::vector<uint32_t>{0, 2, 3}));
  EXPECT_EQ(match(*m, R"({"source": "custom"})"), std::vector<uint32_t>{});
}

TEST(Matcher, SharesStatesBetweenRulesWithTheSameLeadingFields) {
  std::vector<std::string> texts;
  for (int i = 0; i < 1000; ++i) {
    texts.push_back(R"({"source": ["aws.cloudwatch"], "detail": {"alarmName": ["alarm-)" +
                    std::to_string(i) + R"("], "state": {"value": ["ALARM"]}}})");
  }
  auto m = Matcher::compile(parse_all(texts));
  // The alarm-name group fans out to one state per rule; the rest is shared per rule chain.
  EXPECT_EQ(m->stats().rules, 1000u);
  EXPECT_EQ(m->stats().paths, 3u);
  EXPECT_LE(m->stats().states, 1u + 3 * 1000);
  EXPECT_EQ(match(*m, R"({"source": "aws.cloudwatch", "detail": {"alarmName": "alarm-417",
                          "state": {"value": "ALARM"}}})"),
            std::vector<uint32_t>{417});
  EXPECT_EQ(match(*m, R"({"source": "aws.cloudwatch", "detail": {"alarmName": "alarm-417",
                          "state": {"value": "OK"}}})"),
            std::vector<uint32_t>{});
}

TEST(Matcher, KeepsValuesFromDifferentArrayElementsApart) {
  auto m = Matcher::compile(parse_all({R"({"items": {"name": ["a"], "size": [1]}})"}));
  EXPECT_EQ(match(*m, R"({"items": [{"name": "a", "size": 2}, {"name": "b", "size": 1}]})"),
            std::vector<uint32_t>{});
  EXPECT_EQ(match(*m, R"({"items": [{"name": "b", "size": 2}, {"name": "a", "size": 1}]})"),
            std::vector<uint32_t>{0});
}

TEST(Matcher, TreatsAnArrayAtThePathAsAListOfValues) {
  auto m = Matcher::compile(parse_all({R"({"resources": [{"prefix": "arn:aws:ec2:"}],
                                         "tags": ["prod"]})"}));
  EXPECT_EQ(match(*m, R"({"resources": ["x", "arn:aws:ec2:eu-west-1:1:instance/i-1"],
                          "tags": ["dev", "prod"]})"),
            std::vector<uint32_t>{0});
}

TEST(Matcher, TakesExistsFalseWhenThePathHasNoValue) {
  auto m = Matcher::compile(parse_all({R"({"detail": {"error": [{"exists": false}]}})",
                                       R"({"detail": {"error": [{"exists": true}]}})"}));
  EXPECT_EQ(match(*m, R"({"detail": {}})"), std::vector<uint32_t>{0});
  EXPECT_EQ(match(*m, R"({"detail": {"error": null}})"), std::vector<uint32_t>{1});
  EXPECT_EQ(match(*m, R"({"detail": {"error": {"code": 1}}})"), std::vector<uint32_t>{0});
}

TEST(Matcher, SkipsSubtreesNoPatternReadsEvenWhenTheyAreLarge) {
  auto m = Matcher::compile(parse_all({R"({"source": ["s"]})"}));
  std::string big = R"({"detail": {"blob": [)";
  for (int i = 0; i < 10000; ++i) {
    big += (i ? "," : "") + std::string(R"({"k": [1, 2, 3]})");
  }
  big += R"(]}, "source": "s"})";
  EXPECT_EQ(match(*m, big), std::vector<uint32_t>{0});
}

TEST(Matcher, CountsEveryValueOfAKeyAnEventRepeats) {
  auto m = Matcher::compile(parse_all({R"({"source": ["a"]})", R"({"source": ["b"]})"}));
  EXPECT_EQ(match(*m, R"({"source": "a", "source": "b"})"), (std::vector<uint32_t>{0, 1}));
}

TEST(Matcher, RefusesTextThatIsNotAJsonObject) {
  auto m = Matcher::compile(parse_all({R"({"source": ["s"]})"}));
  MatchScratch scratch;
  std::vector<uint32_t> out;
  EXPECT_FALSE(m->match("[1, 2]", scratch, out).ok());
  EXPECT_FALSE(m->match("not json", scratch, out).ok());
  EXPECT_FALSE(m->match(R"({"source": "s)", scratch, out).ok());
  EXPECT_FALSE(m->match(R"({"source": nhll})", scratch, out).ok());
  EXPECT_FALSE(m->match(R"({"source": tru})", scratch, out).ok());
}

TEST(Matcher, OneScratchServesMatchersOfDifferentSizes) {
  auto small = Matcher::compile(parse_all({R"({"a": ["x"]})"}));
  auto large =
      Matcher::compile(parse_all({R"({"a": ["y"]})", R"({"b": ["y"]})", R"({"c": {"d": [1]}})"}));
  MatchScratch scratch;
  std::vector<uint32_t> out;
  ASSERT_TRUE(large->match(R"({"b": "y", "c": {"d": 1}})", scratch, out).ok());
  EXPECT_EQ(out, (std::vector<uint32_t>{1, 2}));
  ASSERT_TRUE(small->match(R"({"a": "x", "b": "y"})", scratch, out).ok());
  EXPECT_EQ(out, std::vector<uint32_t>{0});
}

TEST(Matcher, BoundsTheWorkOnIndependentArrays) {
  // Two unrelated arrays of 300 objects: 90,000 combinations, none of which matter.
  auto m = Matcher::compile(parse_all({R"({"a": {"x": [1]}, "b": {"y": [2]}, "c": ["z"]})"}));
  std::string event = R"({"a": [)";
  for (int i = 0; i < 300; ++i) {
    event += (i ? "," : "") + std::string(R"({"x": 1})");
  }
  event += R"(], "b": [)";
  for (int i = 0; i < 300; ++i) {
    event += (i ? "," : "") + std::string(R"({"y": 2})");
  }
  event += R"(], "c": "z"})";
  EXPECT_EQ(match(*m, event), std::vector<uint32_t>{0});
}

// Patterns that interleave fields of two arrays of objects (a.x, b.y, then a.z, b.w) make
// every pair of elements a distinct place to continue from: the work grows with the cube of
// the arrays' length. The matcher stops at its budget with an error instead of taking seconds.
TEST(Matcher, RefusesAnEventWhoseArraysCombineBeyondTheStepBudget) {
  auto patterns = parse_all({R"({"a": {"x": [1], "z": [2]}, "b": {"y": [1], "w": [2]}})",
                             R"({"a": {"x": [1]}})", R"({"b": {"y": [1]}})"});
  auto m = Matcher::compile(patterns);
  auto event = [](int n) {
    std::string a;
    std::string b;
    for (int i = 0; i < n; ++i) {
      a += std::string(i ? "," : "") + R"({"x": 1, "z": 3})";
      b += std::string(i ? "," : "") + R"({"y": 1, "w": 3})";
    }
    return R"({"a": [)" + a + R"(], "b": [)" + b + "]}";
  };

  EXPECT_EQ(match(*m, event(20)), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(match(*m, event(100)), (std::vector<uint32_t>{1, 2}));
  MatchScratch scratch;
  std::vector<uint32_t> out;
  auto status = m->match(event(300), scratch, out);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), core::ErrorCode::kTooLarge);
  EXPECT_TRUE(out.empty());
}

TEST(Matcher, IndexesManyNumericRangesOnOneFieldAndAgreesWithTheReference) {
  // Thresholds, two-sided ranges, open and closed ends and "=", all on one field.
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> pick(-50, 50);
  std::vector<std::string> texts;
  const char* lower[] = {">", ">="};
  const char* upper[] = {"<", "<="};
  for (int i = 0; i < 600; ++i) {
    int a = pick(rng);
    int b = a + 1 + static_cast<int>(rng() % 20);
    std::string cond;
    switch (i % 4) {
      case 0:
        cond = std::string(R"([")") + lower[rng() % 2] + R"(", )" + std::to_string(a) + "]";
        break;
      case 1:
        cond = std::string(R"([")") + upper[rng() % 2] + R"(", )" + std::to_string(a) + "]";
        break;
      case 2:
        cond = std::string(R"([")") + lower[rng() % 2] + R"(", )" + std::to_string(a) + R"(, ")" +
               upper[rng() % 2] + R"(", )" + std::to_string(b) + "]";
        break;
      default:
        cond = R"(["=", )" + std::to_string(a) + "]";
        break;
    }
    texts.push_back(R"({"detail": {"v": [{"numeric": )" + cond + "}]}}");
  }
  auto patterns = parse_all(texts);
  auto m = Matcher::compile(patterns);
  for (double x : {-60.0, -50.0, -10.5, -1.0, 0.0, 0.5, 1.0, 7.0, 25.0, 49.99, 50.0, 70.0, 6e9}) {
    std::string e = R"({"detail": {"v": )" + std::to_string(x) + "}}";
    auto parsed = boost::json::parse(e);
    std::vector<uint32_t> expected;
    for (uint32_t i = 0; i < patterns.size(); ++i) {
      if (reference_match(patterns[i], parsed)) {
        expected.push_back(i);
      }
    }
    EXPECT_EQ(match(*m, e), expected) << e;
  }
}

TEST(Matcher, AgreesWithTheReferenceOnNestedArraysOfObjects) {
  auto patterns =
      parse_all({R"({"a": {"b": {"c": [1], "d": [2]}}})", R"({"a": {"b": {"c": [1]}, "e": ["x"]}})",
                 R"({"a": {"b": {"d": [{"exists": false}]}, "e": ["y"]}})"});
  auto m = Matcher::compile(patterns);
  const char* events[] = {
      R"({"a": [{"b": [{"c": 1}, {"d": 2}], "e": "x"}]})",
      R"({"a": [{"b": [{"c": 1, "d": 2}]}, {"e": "y"}]})",
      R"({"a": [{"b": [{"c": 1}], "e": "y"}, {"b": {"c": 2}, "e": "x"}]})",
      R"({"a": [[{"b": {"c": 1, "d": 2}}], [{"e": "x"}]]})",
  };
  for (const char* e : events) {
    std::vector<uint32_t> expected;
    auto parsed = boost::json::parse(e);
    for (uint32_t i = 0; i < patterns.size(); ++i) {
      if (reference_match(patterns[i], parsed)) {
        expected.push_back(i);
      }
    }
    EXPECT_EQ(match(*m, e), expected) << e;
  }
}

}  // namespace
}  // namespace homeostat::patterns
