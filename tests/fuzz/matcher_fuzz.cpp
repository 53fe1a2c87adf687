// libFuzzer target: a pattern on the first line, an event after it. The compiled matcher must
// not crash on any event, and on every event it can read it must agree with the reference
// evaluator (patterns/reference.hpp).
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <vector>

#include "patterns/matcher.hpp"
#include "patterns/pattern.hpp"
#include "patterns/reference.hpp"

namespace {

// The reference evaluator is exponential in arrays; only small events are compared.
size_t array_elements(const boost::json::value& v) {
  size_t n = 0;
  if (v.is_array()) {
    n += v.get_array().size();
    for (const auto& e : v.get_array()) {
      n += array_elements(e);
    }
  } else if (v.is_object()) {
    for (const auto& [k, e] : v.get_object()) {
      n += array_elements(e);
    }
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace homeostat::patterns;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  if (newline == std::string_view::npos) {
    return 0;
  }
  auto pattern = parse_pattern(input.substr(0, newline));
  if (!pattern.ok()) {
    return 0;
  }
  std::string_view event = input.substr(newline + 1);
  auto matcher = Matcher::compile(std::span(&*pattern, 1));
  static MatchScratch scratch;
  std::vector<uint32_t> out;
  auto status = matcher->match(event, scratch, out);

  boost::system::error_code ec;
  auto parsed = boost::json::parse(event, ec);
  if (!status.ok() || ec || !parsed.is_object() || array_elements(parsed) > 32) {
    return 0;
  }
  if (reference_match(*pattern, parsed) != !out.empty()) {
    std::fprintf(stderr, "compiled matcher and reference disagree\n");
    __builtin_trap();
  }
  return 0;
}
