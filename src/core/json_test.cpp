#include "core/json.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

namespace homeostat::core {
namespace {

struct Quoted {
  std::string raw;
  std::string json;
};

TEST(JsonQuote, EscapesQuotesBackslashesAndControlCharacters) {
  const std::vector<Quoted> cases = {
      {"", R"("")"},
      {"plain text", R"("plain text")"},
      {"say \"hi\"", R"("say \"hi\"")"},
      {"C:\\path", R"("C:\\path")"},
      {"a\nb\rc\td", R"("a\nb\rc\td")"},
      {std::string("nul\0here", 8), R"("nul\u0000here")"},
      {"\x01\x1f", R"("\u0001\u001f")"},
      {"\b\f", R"("\u0008\u000c")"},
      {"/ and \x7f stay", "\"/ and \x7f stay\""},
      {"caf\xc3\xa9 \xe2\x9c\x93", "\"caf\xc3\xa9 \xe2\x9c\x93\""},
  };
  for (const Quoted& c : cases) {
    EXPECT_EQ(json_quote(c.raw), c.json) << c.json;
  }
}

TEST(JsonQuote, EveryAsciiCharacterRoundTripsThroughAJsonParser) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) {
    all.push_back(static_cast<char>(c));
  }
  const std::string quoted = json_quote(all);
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(quoted, ec);
  ASSERT_FALSE(ec) << ec.message() << ": " << quoted;
  ASSERT_TRUE(parsed.is_string());
  EXPECT_EQ(std::string(parsed.as_string()), all);
}

TEST(AppendJsonString, AppendsToWhatIsAlreadyThere) {
  std::string out = "{\"k\":";
  append_json_string(out, "v\"");
  out += "}";
  EXPECT_EQ(out, R"({"k":"v\""})");
}

}  // namespace
}  // namespace homeostat::core
