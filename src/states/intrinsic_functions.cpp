// The States.* functions. Each takes its evaluated arguments, checks their number and types
// against the AWS documentation, and returns a value or a States.IntrinsicFailure naming the
// function and the argument at fault.
#include "states/intrinsic_functions.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <unordered_set>
#include <utility>

#include "core/secret.hpp"

namespace homeostat::states::detail {
namespace {

namespace json = boost::json;

// Limits stated by the AWS documentation of the intrinsic functions.
constexpr uint64_t kMaxRangeItems = 1000;  // States.ArrayRange
constexpr size_t kMaxCodecChars = 10000;   // States.Base64Encode / Base64Decode input
constexpr size_t kMaxHashChars = 10000;    // States.Hash data
constexpr int64_t kMinMathAdd = std::numeric_limits<int32_t>::min();
constexpr int64_t kMaxMathAdd = std::numeric_limits<int32_t>::max();

const char* kind_name(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "number";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
  }
  return "value";
}

}  // namespace

StatesError failure(std::string cause) {
  return StatesError{std::string(kIntrinsicFailure), std::move(cause)};
}

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

StatesError Call::bad(size_t index, std::string_view expected) const {
  return failure(name() + ": argument " + std::to_string(index + 1) + " must be " +
                 std::string(expected) + ", got " + kind_name(args[index]));
}

std::optional<StatesError> Call::want_count(size_t min, size_t max) const {
  if (args.size() >= min && args.size() <= max) {
    return std::nullopt;
  }
  std::string expected = std::to_string(min);
  if (max == std::numeric_limits<size_t>::max()) {
    expected = "at least " + expected;
  } else if (max != min) {
    expected += " to " + std::to_string(max);
  }
  bool one = (max == std::numeric_limits<size_t>::max() ? min : max) == 1;
  return failure(name() + " takes " + expected + " argument" + (one ? "" : "s") + ", got " +
                 std::to_string(args.size()));
}

namespace {

// Integers may arrive as int64, uint64, or a double without a fraction (JSON has one number
// type; 3.0 from a path is the integer 3).
std::optional<int64_t> as_integer(const json::value& value) {
  if (value.is_int64()) {
    return value.get_int64();
  }
  if (value.is_uint64() && value.get_uint64() <= uint64_t{std::numeric_limits<int64_t>::max()}) {
    return static_cast<int64_t>(value.get_uint64());
  }
  if (value.is_double()) {
    double d = value.get_double();
    constexpr double kExact = 9007199254740992.0;  // 2^53: every integer below is exact
    if (std::trunc(d) == d && std::fabs(d) <= kExact) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

// Counts Unicode code points in UTF-8 text (the documented limits are in characters).
size_t count_chars(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
  }));
}

bool valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t extra = 0;
    if (c < 0x80) {
      extra = 0;
    } else if ((c & 0xE0U) == 0xC0U && c >= 0xC2) {
      extra = 1;
    } else if ((c & 0xF0U) == 0xE0U) {
      extra = 2;
    } else if ((c & 0xF8U) == 0xF0U && c <= 0xF4) {
      extra = 3;
    } else {
      return false;
    }
    if (i + extra >= text.size()) {
      return false;
    }
    for (size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0U) != 0x80U) {
        return false;
      }
    }
    i += extra + 1;
  }
  return true;
}

// Splits UTF-8 text into code points, each as its bytes.
std::vector<std::string_view> code_points(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t len = 1;
    while (i + len < text.size() && (static_cast<unsigned char>(text[i + len]) & 0xC0U) == 0x80U) {
      ++len;
    }
    out.push_back(text.substr(i, len));
    i += len;
  }
  return out;
}

// A text form under which two values are equal exactly when json::value's operator== says so;
// object keys are sorted because object equality ignores order.
void canonical(const json::value& value, std::string& out) {
  if (value.is_array()) {
    out += '[';
    for (const auto& item : value.get_array()) {
      canonical(item, out);
      out += ',';
    }
    out += ']';
    return;
  }
  if (value.is_object()) {
    std::vector<const json::key_value_pair*> members;
    for (const auto& member : value.get_object()) {
      members.push_back(&member);
    }
    std::sort(members.begin(), members.end(),
              [](const auto* a, const auto* b) { return a->key() < b->key(); });
    out += '{';
    for (const auto* member : members) {
      out += json::serialize(json::value(member->key()));
      out += ':';
      canonical(member->value(), out);
      out += ',';
    }
    out += '}';
    return;
  }
  out += json::serialize(value);
}

// Formats a number as people write it: integers without a fraction, doubles in the shortest
// form that reads back to the same value ("1.5", not Boost.JSON's "1.5E0").
std::string format_number(const json::value& value) {
  if (value.is_int64()) {
    return std::to_string(value.get_int64());
  }
  if (value.is_uint64()) {
    return std::to_string(value.get_uint64());
  }
  std::array<char, 64> buffer{};
  auto [end, error] =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), value.get_double());
  // 64 bytes hold any shortest double form, so to_chars cannot run out of room.
  (void)error;
  return {buffer.data(), end};
}

uint64_t random_u64(const IntrinsicOptions& options) {
  std::array<uint8_t, 8> bytes{};
  if (options.random) {
    options.random(bytes.data(), bytes.size());
  } else {
    core::random_bytes(bytes.data(), bytes.size());
  }
  uint64_t out = 0;
  for (uint8_t b : bytes) {
    out = (out << 8U) | b;
  }
  return out;
}

// SplitMix64: a fixed, documented mixing function, so a seed gives the same number on every
// build and platform (std::uniform_int_distribution does not promise that).
uint64_t split_mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27U)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31U);
}

// ---- The functions ----

Outcome format_value(const Call& call) {
  if (auto error = call.want_count(1, std::numeric_limits<size_t>::max())) {
    return *error;
  }
  if (!call.args[0].is_string()) {
    return call.bad(0, "a string");
  }

  // A template written as a literal keeps its escapes: \{ and \} are braces, not a
  // placeholder. A template from a path has no escapes.
  const Node& template_node = call.node.args[0];
  bool literal = template_node.kind == Node::Kind::kLiteral && template_node.string_literal;
  std::string_view text =
      literal ? std::string_view(template_node.raw) : std::string_view(call.args[0].get_string());
  std::string out;
  size_t next = 1;
  size_t placeholders = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (literal && text[i] == '\\' && i + 1 < text.size()) {
      out += text[++i];
      continue;
    }
    if (text[i] != '{' || i + 1 >= text.size() || text[i + 1] != '}') {
      out += text[i];
      continue;
    }
    ++i;
    ++placeholders;
    if (next >= call.args.size()) {
      continue;  // reported below with the full count
    }
    const json::value& value = call.args[next];
    if (value.is_string()) {
      out += value.get_string();
    } else if (value.is_number()) {
      out += format_number(value);
    } else if (value.is_bool()) {
      out += value.get_bool() ? "true" : "false";
    } else if (value.is_null()) {
      out += "null";
    } else {
      return call.bad(next, "a string, number, boolean or null");
    }
    ++next;
  }
  if (placeholders != call.args.size() - 1) {
    return failure(call.name() + ": the template has " + std::to_string(placeholders) +
                   " placeholders but " + std::to_string(call.args.size() - 1) +
                   " values were given");
  }
  return json::value(out);
}

Outcome string_to_json(const Call& call) {
  if (auto error = call.want_count(1, 1)) {
    return *error;
  }
  if (!call.args[0].is_string()) {
    return call.bad(0, "a string");
  }
  boost::system::error_code ec;
  json::value parsed = json::parse(call.args[0].get_string(), ec);
  if (ec) {
    return failure(call.name() + ": argument 1 is not valid JSON (" + ec.message() + ")");
  }
  return parsed;
}

Outcome json_to_string(const Call& call) {
  if (auto error = call.want_count(1, 1)) {
    return *error;
  }
  if (call.node.args[0].kind != Node::Kind::kPath) {
    return failure(call.name() + ": argument 1 must be a path");
  }
  return json::value(json::serialize(call.args[0]));
}

Outcome array(const Call& call) {
  json::array out;
  for (const auto& arg : call.args) {
    out.push_back(arg);
  }
  return json::value(std::move(out));
}

Outcome array_partition(const Call& call) {
  if (auto error = call.want_count(2, 2)) {
    return *error;
  }
  if (!call.args[0].is_array()) {
    return call.bad(0, "an array");
  }
  auto size = as_integer(call.args[1]);
  if (!size || *size <= 0) {
    return failure(call.name() + ": argument 2 must be a positive integer");
  }
  const json::array& input = call.args[0].get_array();
  auto chunk = static_cast<uint64_t>(*size);
  json::array out;
  for (size_t i = 0; i < input.size(); i += std::min<uint64_t>(chunk, input.size() - i)) {
    size_t end = i + std::min<uint64_t>(chunk, input.size() - i);
    out.push_back(json::array(input.begin() + static_cast<std::ptrdiff_t>(i),
                              input.begin() + static_cast<std::ptrdiff_t>(end)));
  }
  return json::value(std::move(out));
}

Outcome array_contains(const Call& call) {
  if (auto error = call.want_count(2, 2)) {
    return *error;
  }
  if (!call.args[0].is_array()) {
    return call.bad(0, "an array");
  }
  const json::array& input = call.args[0].get_array();
  return json::value(std::find(input.begin(), input.end(), call.args[1]) != input.end());
}

Outcome array_range(const Call& call) {
  if (auto error = call.want_count(3, 3)) {
    return *error;
  }
  std::array<int64_t, 3> n{};
  for (size_t i = 0; i < 3; ++i) {
    auto value = as_integer(call.args[i]);
    if (!value) {
      return call.bad(i, "an integer");
    }
    n[i] = *value;
  }
  auto [start, end, step] = n;
  if (step == 0) {
    return failure(call.name() + ": the step (argument 3) must not be zero");
  }

  // Count the items in unsigned arithmetic, which cannot overflow for any int64 inputs.
  json::array out;
  if ((step > 0 && start > end) || (step < 0 && start < end)) {
    return json::value(std::move(out));
  }
  uint64_t distance = step > 0 ? static_cast<uint64_t>(end) - static_cast<uint64_t>(start)
                               : static_cast<uint64_t>(start) - static_cast<uint64_t>(end);
  uint64_t stride = step > 0 ? static_cast<uint64_t>(step) : 0 - static_cast<uint64_t>(step);
  if (distance / stride >= kMaxRangeItems) {
    return failure(call.name() + ": the range would have more than " +
                   std::to_string(kMaxRangeItems) + " items");
  }
  uint64_t count = distance / stride + 1;
  for (uint64_t i = 0; i < count; ++i) {
    out.push_back(
        static_cast<int64_t>(static_cast<uint64_t>(start) + i * static_cast<uint64_t>(step)));
  }
  return json::value(std::move(out));
}

Outcome array_get_item(const Call& call) {
  if (auto error = call.want_count(2, 2)) {
    return *error;
  }
  if (!call.args[0].is_array()) {
    return call.bad(0, "an array");
  }
  auto index = as_integer(call.args[1]);
  if (!index) {
    return call.bad(1, "an integer");
  }
  const json::array& input = call.args[0].get_array();
  if (*index < 0 || static_cast<uint64_t>(*index) >= input.size()) {
    return failure(call.name() + ": index " + std::to_string(*index) +
                   " is out of range for an array of " + std::to_string(input.size()) + " items");
  }
  return input[static_cast<size_t>(*index)];
}

Outcome array_length(const Call& call) {
  if (auto error = call.want_count(1, 1)) {
    return *error;
  }
  if (!call.args[0].is_array()) {
    return call.bad(0, "an array");
  }
  return json::value(static_cast<int64_t>(call.args[0].get_array().size()));
}

Outcome array_unique(const Call& call) {
  if (auto error = call.want_count(1, 1)) {
    return *error;
  }
  if (!call.args[0].is_array()) {
    return call.bad(0, "an array");
  }
  // Hash a canonical text of each item so long arrays stay linear; the first copy is kept.
  std::unordered_set<std::string> seen;
  json::array out;
  for (const auto& item : call.args[0].get_array()) {
    std::string key;
    canonical(item, key);
    if (seen.insert(std::move(key)).second) {
      out.push_back(item);
    }
  }
  return json::value(std::move(out));
}

std::optional<StatesError> want_short_string(const Call& call, size_t index, size_t limit) {
  if (!call.args[index].is_string()) {
    return call.bad(index, "a string");
  }
  if (count_chars(call.args[index].get_string()) > limit) {
    return failure(call.name() + ": argument " + std::to_string(index + 1) + " is longer than " +
                   std::to_string(limit) + " characters");
  }
  return std::nullopt;
}

Outcome base64_encode(const Call& call) {
  if (auto error = call.want_count(1, 1)) {
    return *error;
  }
  if (auto error = want_short_string(call, 0, kMaxCodecChars)) {
    return *error;
  }
  const json::string& input = call.args[0].get_string();
  std::string out(4 * ((input.size() + 2) / 3) + 1, '\0');
  int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(input.data()),
                                static_cast<int>(input.size()));
  out.resize(static_cast<size_t>(written));
  return json::value(out);
}

Outcome base64_decode(const Call& call) {
  if (auto error = call.want_count(1, 1)) {
    return *error;
  }
  if (auto error = want_short_string(call, 0, kMaxCodecChars)) {
    return *error;
  }

  // EVP_DecodeBlock accepts some malformed input (spaces, padding in the middle), so the
  // alphabet and padding are checked here first.
  std::string_view input = call.args[0].get_string();
  auto is_alphabet = [](char c) { return is_name_char(c) || c == '+' || c == '/'; };
  size_t padding = input.ends_with("==") ? 2 : input.ends_with("=") ? 1 : 0;
  bool well_formed =
      input.size() % 4 == 0 &&
      std::all_of(input.begin(), input.end() - static_cast<std::ptrdiff_t>(padding), is_alphabet);
  if (!well_formed) {
    return failure(call.name() + ": argument 1 is not valid Base64");
  }
  std::string out(input.size() / 4 * 3, '\0');
  int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(input.data()),
                                static_cast<int>(input.size()));
  if (written < 0) {
    return failure(call.name() + ": argument 1 is not valid Base64");
  }
  out.resize(static_cast<size_t>(written) - padding);
  if (!valid_utf8(out)) {
    return failure(call.name() + ": the decoded bytes are not UTF-8 text");
  }
  return json::value(out);
}

Outcome hash(const Call& call) {
  if (auto error = call.want_count(2, 2)) {
    return *error;
  }
  if (auto error = want_short_string(call, 0, kMaxHashChars)) {
    return *error;
  }
  if (!call.args[1].is_string()) {
    return call.bad(1, "a string");
  }
  struct Algorithm {
    std::string_view name;
    const EVP_MD* (*md)();
  };
  static const std::array<Algorithm, 5> kAlgorithms = {{
      {"MD5", EVP_md5},
      {"SHA-1", EVP_sha1},
      {"SHA-256", EVP_sha256},
      {"SHA-384", EVP_sha384},
      {"SHA-512", EVP_sha512},
  }};
  std::string_view wanted = call.args[1].get_string();
  const auto* algorithm = std::find_if(kAlgorithms.begin(), kAlgorithms.end(),
                                       [&](const Algorithm& a) { return a.name == wanted; });
  if (algorithm == kAlgorithms.end()) {
    return failure(call.name() + ": unsupported algorithm '" + std::string(wanted) +
                   "'; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512");
  }
  const json::string& data = call.args[0].get_string();
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, algorithm->md(), nullptr) != 1) {
    return failure(call.name() + ": the digest could not be computed");
  }
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4U];
    out += kHex[digest[i] & 0x0FU];
  }
  return json::value(out);
}

Outcome json_merge(const Call& call) {
  if (auto error = call.want_count(3, 3)) {
    return *error;
  }
  for (size_t i = 0; i < 2; ++i) {
    if (!call.args[i].is_object()) {
      return call.bad(i, "an object");
    }
  }
  if (!call.args[2].is_bool()) {
    return call.bad(2, "a boolean");
  }
  if (call.args[2].get_bool()) {
    return failure(call.name() + ": deep merge is not supported; argument 3 must be false");
  }
  json::object out = call.args[0].get_object();
  for (const auto& member : call.args[1].get_object()) {
    out[member.key()] = member.value();
  }
  return json::value(std::move(out));
}

Outcome math_random(const Call& call) {
  if (auto error = call.want_count(2, 3)) {
    return *error;
  }
  std::array<int64_t, 3> n{};
  for (size_t i = 0; i < call.args.size(); ++i) {
    auto value = as_integer(call.args[i]);
    if (!value) {
      return call.bad(i, "an integer");
    }
    n[i] = *value;
  }
  int64_t start = n[0];
  int64_t end = n[1];
  if (start > end) {
    return failure(call.name() + ": the start (argument 1) is greater than the end");
  }

  // Both ends are included. A span of 2^64 wraps to 0, and then every draw is in range.
  uint64_t draw =
      call.args.size() == 3 ? split_mix(static_cast<uint64_t>(n[2])) : random_u64(call.options);
  uint64_t span = static_cast<uint64_t>(end) - static_cast<uint64_t>(start) + 1;
  uint64_t offset = span == 0 ? draw : draw % span;
  return json::value(static_cast<int64_t>(static_cast<uint64_t>(start) + offset));
}

Outcome math_add(const Call& call) {
  if (auto error = call.want_count(2, 2)) {
    return *error;
  }
  int64_t sum = 0;
  for (size_t i = 0; i < 2; ++i) {
    auto value = as_integer(call.args[i]);
    if (!value || *value < kMinMathAdd || *value > kMaxMathAdd) {
      return call.bad(i, "an integer from -2147483648 to 2147483647");
    }
    sum += *value;
  }
  return json::value(sum);
}

Outcome string_split(const Call& call) {
  if (auto error = call.want_count(2, 2)) {
    return *error;
  }
  for (size_t i = 0; i < 2; ++i) {
    if (!call.args[i].is_string()) {
      return call.bad(i, "a string");
    }
  }
  // Every character of the second argument is a delimiter on its own; empty pieces between
  // adjacent delimiters are dropped.
  std::vector<std::string_view> delimiters = code_points(call.args[1].get_string());
  json::array out;
  std::string piece;
  for (std::string_view c : code_points(call.args[0].get_string())) {
    if (std::find(delimiters.begin(), delimiters.end(), c) == delimiters.end()) {
      piece += c;
      continue;
    }
    if (!piece.empty()) {
      out.emplace_back(json::string(piece));
      piece.clear();
    }
  }
  if (!piece.empty()) {
    out.emplace_back(json::string(piece));
  }
  return json::value(std::move(out));
}

Outcome uuid(const Call& call) {
  if (auto error = call.want_count(0, 0)) {
    return *error;
  }
  std::array<uint8_t, 16> bytes{};
  if (call.options.random) {
    call.options.random(bytes.data(), bytes.size());
  } else {
    core::random_bytes(bytes.data(), bytes.size());
  }
  // RFC 4122 version 4: the version nibble is 4 and the variant bits are 10.
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0FU) | 0x40U);
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3FU) | 0x80U);
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out += '-';
    }
    out += kHex[bytes[i] >> 4U];
    out += kHex[bytes[i] & 0x0FU];
  }
  return json::value(out);
}

struct Entry {
  std::string_view name;
  Function function;
};

constexpr std::array<Entry, 18> kFunctions = {{
    {"States.Format", format_value},
    {"States.StringToJson", string_to_json},
    {"States.JsonToString", json_to_string},
    {"States.Array", array},
    {"States.ArrayPartition", array_partition},
    {"States.ArrayContains", array_contains},
    {"States.ArrayRange", array_range},
    {"States.ArrayGetItem", array_get_item},
    {"States.ArrayLength", array_length},
    {"States.ArrayUnique", array_unique},
    {"States.Base64Encode", base64_encode},
    {"States.Base64Decode", base64_decode},
    {"States.Hash", hash},
    {"States.JsonMerge", json_merge},
    {"States.MathRandom", math_random},
    {"States.MathAdd", math_add},
    {"States.StringSplit", string_split},
    {"States.UUID", uuid},
}};

}  // namespace

Function find_function(std::string_view name) {
  for (const auto& entry : kFunctions) {
    if (entry.name == name) {
      return entry.function;
    }
  }
  return nullptr;
}

}  // namespace homeostat::states::detail
