// libFuzzer target: a pattern on the first line, an event after it. The compiled matcher must
// not crash on any event, and on every event it can read it must agree with the reference
// evaluator (patterns/reference.hpp).
#include <simdjson.h>

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string_view>
#include <vector>

#include "patterns/matcher.hpp"
#include "patterns/pattern.hpp"
#include "patterns/reference.hpp"

namespace {

// True when some object of the event repeats a key. The compiled matcher counts every value
// of a repeated key (docs/patterns.md); Boost.JSON, which the reference reads with, keeps
// only the last, so such events cannot be compared.
bool repeats_a_key(simdjson::dom::element e) {
  if (e.is_array()) {
    simdjson::dom::array array = e.get_array().value_unsafe();
    for (auto item : array) {
      if (repeats_a_key(item)) {
        return true;
      }
    }
  } else if (e.is_object()) {
    std::set<std::string_view> keys;
    simdjson::dom::object object = e.get_object().value_unsafe();
    for (auto field : object) {
      if (!keys.insert(field.key).second || repeats_a_key(field.value)) {
        return true;
      }
    }
  }
  return false;
}

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
  static simdjson::dom::parser dom;
  simdjson::dom::element root;
  if (dom.parse(event.data(), event.size()).get(root) != simdjson::SUCCESS || repeats_a_key(root)) {
    return 0;
  }
  if (reference_match(*pattern, parsed) != !out.empty()) {
    std::fprintf(stderr, "compiled matcher and reference disagree\n");
    __builtin_trap();
  }
  return 0;
}
