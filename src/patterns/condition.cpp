// How one condition judges one value. The compiled matcher indexes the common conditions
// (exact values, prefixes, suffixes) but falls back to Condition::matches for the rest, and
// the reference evaluator uses it for all of them, so both agree by construction.
#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "patterns/pattern.hpp"

namespace homeostat::patterns {

bool NumericRange::contains(double x) const {
  if (has_low && (x < low || (x == low && !low_inclusive))) {
    return false;
  }
  return !(has_high && (x > high || (x == high && !high_inclusive)));
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  // inet_pton needs a terminated string; 45 characters is the longest IPv6 text form.
  if (text.empty() || text.size() > 45) {
    return std::nullopt;
  }
  char buffer[46];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  IpAddress ip;
  if (inet_pton(AF_INET, buffer, ip.bytes.data()) == 1) {
    return ip;
  }
  if (inet_pton(AF_INET6, buffer, ip.bytes.data()) == 1) {
    ip.ipv6 = true;
    return ip;
  }
  return std::nullopt;
}

bool CidrRange::contains(std::string_view address) const {
  auto ip = parse_ip(address);
  if (!ip || ip->ipv6 != ipv6) {
    return false;
  }
  int full = prefix_bits / 8;
  if (std::memcmp(ip->bytes.data(), network.data(), full) != 0) {
    return false;
  }
  int rest = prefix_bits % 8;
  if (rest == 0) {
    return true;
  }
  auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (ip->bytes[full] & mask) == (network[full] & mask);
}

bool Wildcard::matches(std::string_view s) const {
  const std::string& first = parts.front();
  if (parts.size() == 1) {
    return s == first;
  }
  const std::string& last = parts.back();
  if (s.size() < first.size() + last.size() || !s.starts_with(first) || !s.ends_with(last)) {
    return false;
  }

  // Between the first and last part, taking each middle part at its leftmost place leaves
  // the most room for the ones after it, so no backtracking is needed.
  std::string_view middle = s.substr(first.size(), s.size() - first.size() - last.size());
  for (size_t i = 1; i + 1 < parts.size(); ++i) {
    auto at = middle.find(parts[i]);
    if (at == std::string_view::npos) {
      return false;
    }
    middle.remove_prefix(at + parts[i].size());
  }
  return true;
}

namespace {

bool same_scalar(const Scalar& a, const ScalarView& b) {
  if (a.kind != b.kind) {
    return false;
  }
  switch (a.kind) {
    case Scalar::Kind::kString:
      return a.text == b.text;
    case Scalar::Kind::kNumber:
      return a.number == b.number;
    case Scalar::Kind::kBool:
      return a.boolean == b.boolean;
    case Scalar::Kind::kNull:
      return true;
  }
  return false;
}

}  // namespace

bool Condition::matches(const ScalarView& value) const {
  bool is_string = value.kind == Scalar::Kind::kString;
  std::string_view s = value.text;
  switch (op) {
    case Op::kExact:
      return same_scalar(scalar, value);
    case Op::kPrefix:
      return is_string && s.starts_with(text);
    case Op::kSuffix:
      return is_string && s.ends_with(text);
    case Op::kEqualsIgnoreCase:
      return is_string && fold_case(s) == text;
    case Op::kPrefixIgnoreCase:
      return is_string && fold_case(s).starts_with(text);
    case Op::kSuffixIgnoreCase:
      return is_string && fold_case(s).ends_with(text);
    case Op::kWildcard:
      return is_string && wildcards.front().matches(s);
    case Op::kAnythingBut:
      return std::none_of(scalars.begin(), scalars.end(),
                          [&](const Scalar& x) { return same_scalar(x, value); });
    // The string forms of anything-but exclude strings only: a number, a boolean or null is
    // never one of the excluded strings, so it matches.
    case Op::kAnythingButPrefix:
      return !is_string || std::none_of(texts.begin(), texts.end(),
                                        [&](const std::string& t) { return s.starts_with(t); });
    case Op::kAnythingButSuffix:
      return !is_string || std::none_of(texts.begin(), texts.end(),
                                        [&](const std::string& t) { return s.ends_with(t); });
    case Op::kAnythingButWildcard:
      return !is_string || std::none_of(wildcards.begin(), wildcards.end(),
                                        [&](const Wildcard& w) { return w.matches(s); });
    case Op::kAnythingButIgnoreCase: {
      if (!is_string) {
        return true;
      }
      std::string folded = fold_case(s);
      return std::find(texts.begin(), texts.end(), folded) == texts.end();
    }
    case Op::kNumeric:
      // Numeric matching covers EventBridge's range only; numbers beyond it never match.
      return value.kind == Scalar::Kind::kNumber && std::abs(value.number) <= 5.0e9 &&
             range.contains(value.number);
    case Op::kCidr:
      return is_string && cidr.contains(s);
    case Op::kExists:
      return exists;
  }
  return false;
}

}  // namespace homeostat::patterns
