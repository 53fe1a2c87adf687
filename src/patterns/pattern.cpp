#include "patterns/pattern.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/json.hpp"

namespace homeostat::patterns {
namespace json = boost::json;

namespace {

constexpr double kNumericLimit = 5.0e9;

core::Error invalid(const std::string& where, const std::string& what) {
  return core::Error(core::ErrorCode::kInvalidArgument,
                     (where.empty() ? std::string("pattern") : where) + ": " + what);
}

std::string describe(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return core::json_quote(v.get_string());
    case json::kind::object:
      return "an object";
    case json::kind::array:
      return "an array";
    default:
      return json::serialize(v);
  }
}

bool to_number(const json::value& v, double& out) {
  switch (v.kind()) {
    case json::kind::int64:
      out = static_cast<double>(v.get_int64());
      return true;
    case json::kind::uint64:
      out = static_cast<double>(v.get_uint64());
      return true;
    case json::kind::double_:
      out = v.get_double();
      return std::isfinite(out);
    default:
      return false;
  }
}

// numeric bounds and the numbers of anything-but: within EventBridge's range, at most six
// decimal places. Returns what is wrong, or "" when x is fine.
std::string numeric_bound_problem(double x) {
  if (std::abs(x) > kNumericLimit) {
    return "is outside the numeric range -5.0e9 to 5.0e9";
  }
  double scaled = x * 1e6;
  if (std::abs(scaled - std::round(scaled)) > std::max(1e-3, std::abs(scaled) * 1e-15)) {
    return "has more than six decimal places";
  }
  return "";
}

Scalar scalar_of(const json::value& v) {
  Scalar s;
  if (v.is_string()) {
    s.kind = Scalar::Kind::kString;
    s.text = std::string(v.get_string());
  } else if (v.is_bool()) {
    s.kind = Scalar::Kind::kBool;
    s.boolean = v.get_bool();
  } else if (v.is_null()) {
    s.kind = Scalar::Kind::kNull;
  } else {
    s.kind = Scalar::Kind::kNumber;
    to_number(v, s.number);
    s.number = s.number == 0.0 ? 0.0 : s.number;  // one zero, so -0 equals 0
  }
  return s;
}

// Turns one parsed JSON value of a pattern into Alternatives, checking as it goes.
class Parser {
 public:
  explicit Parser(const PatternLimits& limits) : limits_(limits) {}

  core::Result<std::vector<Alternative>> object(const json::object& obj,
                                                const std::vector<std::string>& path,
                                                const std::string& where, int depth);

 private:
  core::Status product(std::vector<Alternative>& alts, const std::vector<Alternative>& more,
                       const std::string& where) const;
  core::Result<std::vector<Condition>> leaf(const json::array& values, const std::string& where);
  core::Result<Condition> operator_condition(const json::object& op, const std::string& where);
  core::Result<Condition> string_operator(Condition::Op op, Condition::Op folded_op,
                                          const json::value& arg, const std::string& where);
  core::Result<Condition> anything_but(const json::value& arg, const std::string& where);
  core::Result<Condition> numeric(const json::value& arg, const std::string& where);
  core::Result<Condition> cidr(const json::value& arg, const std::string& where);
  core::Result<Wildcard> wildcard(const json::value& arg, const std::string& where);

  const PatternLimits& limits_;
};

core::Status Parser::product(std::vector<Alternative>& alts, const std::vector<Alternative>& more,
                             const std::string& where) const {
  if (alts.size() * more.size() > limits_.max_alternatives) {
    return invalid(where, "the pattern has more than " + std::to_string(limits_.max_alternatives) +
                              " combinations of $or alternatives");
  }
  std::vector<Alternative> out;
  out.reserve(alts.size() * more.size());
  for (const auto& a : alts) {
    for (const auto& b : more) {
      Alternative c = a;
      c.fields.insert(c.fields.end(), b.fields.begin(), b.fields.end());
      out.push_back(std::move(c));
    }
  }
  alts = std::move(out);
  return {};
}

core::Result<std::vector<Alternative>> Parser::object(const json::object& obj,
                                                      const std::vector<std::string>& path,
                                                      const std::string& where, int depth) {
  if (depth > limits_.max_depth) {
    return invalid(where, "nested deeper than " + std::to_string(limits_.max_depth) + " levels");
  }
  if (obj.empty()) {
    return invalid(where, "an empty object matches nothing; give at least one field");
  }

  std::vector<Alternative> alts(1);
  for (const auto& [key_view, value] : obj) {
    std::string key(key_view);

    // `$or`: the object holds when any of the listed objects holds along with its siblings.
    if (key == "$or") {
      std::string here = where.empty() ? "$or" : where + ".$or";
      if (!value.is_array() || value.get_array().size() < 2) {
        return invalid(here, "$or takes an array of at least two objects");
      }
      std::vector<Alternative> any;
      const auto& branches = value.get_array();
      for (size_t i = 0; i < branches.size(); ++i) {
        std::string at = here + "[" + std::to_string(i) + "]";
        if (!branches[i].is_object()) {
          return invalid(at, "a $or branch must be an object, not " + describe(branches[i]));
        }
        auto sub = object(branches[i].get_object(), path, at, depth + 1);
        if (!sub) {
          return sub.error();
        }
        any.insert(any.end(), sub->begin(), sub->end());
      }
      if (auto s = product(alts, any, here); !s.ok()) {
        return s.error();
      }
      continue;
    }

    std::vector<std::string> sub_path = path;
    sub_path.push_back(key);
    std::string at = where.empty() ? key : where + "." + key;
    if (value.is_object()) {
      auto sub = object(value.get_object(), sub_path, at, depth + 1);
      if (!sub) {
        return sub.error();
      }
      if (auto s = product(alts, *sub, at); !s.ok()) {
        return s.error();
      }
    } else if (value.is_array()) {
      auto conditions = leaf(value.get_array(), at);
      if (!conditions) {
        return conditions.error();
      }
      for (auto& alt : alts) {
        alt.fields.push_back(Field{sub_path, *conditions});
      }
    } else {
      return invalid(at, "expected an array of values or an object, not " + describe(value));
    }
  }
  return alts;
}

core::Result<std::vector<Condition>> Parser::leaf(const json::array& values,
                                                  const std::string& where) {
  if (values.empty()) {
    return invalid(where, "an empty array matches nothing; give at least one value");
  }
  std::vector<Condition> out;
  for (size_t i = 0; i < values.size(); ++i) {
    const auto& v = values[i];
    std::string at = where + "[" + std::to_string(i) + "]";
    if (v.is_object()) {
      auto c = operator_condition(v.get_object(), at);
      if (!c) {
        return c.error();
      }
      out.push_back(std::move(*c));
    } else if (v.is_array()) {
      return invalid(at, "a value cannot be an array");
    } else {
      double unused = 0;
      if (v.is_double() && !to_number(v, unused)) {
        return invalid(at, "numbers must be finite");
      }
      Condition c;
      c.op = Condition::Op::kExact;
      c.scalar = scalar_of(v);
      out.push_back(std::move(c));
    }
  }
  return out;
}

core::Result<Condition> Parser::operator_condition(const json::object& op,
                                                   const std::string& where) {
  if (op.size() != 1) {
    return invalid(where, op.empty() ? "an empty object is not an operator"
                                     : "an operator object takes exactly one operator, not " +
                                           std::to_string(op.size()));
  }
  const auto& [name_view, arg] = *op.begin();
  std::string name(name_view);
  std::string at = where + "." + name;
  using Op = Condition::Op;

  if (name == "prefix") {
    return string_operator(Op::kPrefix, Op::kPrefixIgnoreCase, arg, at);
  }
  if (name == "suffix") {
    return string_operator(Op::kSuffix, Op::kSuffixIgnoreCase, arg, at);
  }
  if (name == "equals-ignore-case") {
    if (!arg.is_string()) {
      return invalid(at, "expects a string, not " + describe(arg));
    }
    Condition c;
    c.op = Op::kEqualsIgnoreCase;
    c.text = fold_case(arg.get_string());
    return c;
  }
  if (name == "wildcard") {
    auto w = wildcard(arg, at);
    if (!w) {
      return w.error();
    }
    Condition c;
    c.op = Op::kWildcard;
    c.wildcards.push_back(std::move(*w));
    return c;
  }
  if (name == "anything-but") {
    return anything_but(arg, at);
  }
  if (name == "numeric") {
    return numeric(arg, at);
  }
  if (name == "cidr") {
    return cidr(arg, at);
  }
  if (name == "exists") {
    if (!arg.is_bool()) {
      return invalid(at, "expects true or false, not " + describe(arg));
    }
    Condition c;
    c.op = Op::kExists;
    c.exists = arg.get_bool();
    return c;
  }
  return invalid(where, core::json_quote(name) +
                            " is not an operator (prefix, suffix, equals-ignore-case, wildcard, "
                            "anything-but, numeric, cidr, exists)");
}

// prefix and suffix: a string, or {"equals-ignore-case": string}.
core::Result<Condition> Parser::string_operator(Condition::Op op, Condition::Op folded_op,
                                                const json::value& arg, const std::string& where) {
  Condition c;
  if (arg.is_string()) {
    c.op = op;
    c.text = std::string(arg.get_string());
    return c;
  }
  if (arg.is_object() && arg.get_object().size() == 1 &&
      arg.get_object().contains("equals-ignore-case")) {
    const auto& inner = arg.get_object().at("equals-ignore-case");
    if (!inner.is_string()) {
      return invalid(where + ".equals-ignore-case", "expects a string, not " + describe(inner));
    }
    c.op = folded_op;
    c.text = fold_case(inner.get_string());
    return c;
  }
  return invalid(where,
                 "expects a string or {\"equals-ignore-case\": string}, not " + describe(arg));
}

core::Result<Condition> Parser::anything_but(const json::value& arg, const std::string& where) {
  using Op = Condition::Op;
  Condition c;
  c.op = Op::kAnythingBut;

  // A single value or a list of values: strings and numbers.
  auto add_scalar = [&](const json::value& v, const std::string& at) -> core::Status {
    double x = 0;
    if (!v.is_string() && !to_number(v, x)) {
      return invalid(at, "expects strings or numbers, not " + describe(v));
    }
    if (!v.is_string()) {
      if (auto problem = numeric_bound_problem(x); !problem.empty()) {
        return invalid(at, json::serialize(v) + " " + problem);
      }
    }
    if (!c.scalars.empty() && (c.scalars.front().kind == Scalar::Kind::kString) != v.is_string()) {
      return invalid(at, "a list of anything-but values holds strings or numbers, not both");
    }
    c.scalars.push_back(scalar_of(v));
    return {};
  };
  if (arg.is_string() || arg.is_number()) {
    if (auto s = add_scalar(arg, where); !s.ok()) {
      return s.error();
    }
    return c;
  }
  if (arg.is_array()) {
    const auto& list = arg.get_array();
    if (list.empty()) {
      return invalid(where, "expects at least one value");
    }
    for (size_t i = 0; i < list.size(); ++i) {
      if (auto s = add_scalar(list[i], where + "[" + std::to_string(i) + "]"); !s.ok()) {
        return s.error();
      }
    }
    return c;
  }
  if (!arg.is_object() || arg.get_object().size() != 1) {
    return invalid(where,
                   "expects a value, a list of values, or one of prefix, suffix, wildcard, "
                   "equals-ignore-case; not " +
                       describe(arg));
  }

  // The operator forms: prefix, suffix, wildcard and equals-ignore-case.
  const auto& [name_view, inner] = *arg.get_object().begin();
  std::string name(name_view);
  std::string at = where + "." + name;
  auto strings = [&](const json::value& v) -> core::Result<std::vector<std::string>> {
    std::vector<std::string> out;
    if (v.is_string()) {
      out.emplace_back(v.get_string());
      return out;
    }
    if (!v.is_array() || v.get_array().empty()) {
      return invalid(at, "expects a string or a non-empty list of strings, not " + describe(v));
    }
    for (size_t i = 0; i < v.get_array().size(); ++i) {
      const auto& e = v.get_array()[i];
      if (!e.is_string()) {
        return invalid(at + "[" + std::to_string(i) + "]", "expects a string, not " + describe(e));
      }
      out.emplace_back(e.get_string());
    }
    return out;
  };
  if (name == "prefix" || name == "suffix") {
    auto list = strings(inner);
    if (!list) {
      return list.error();
    }
    for (const auto& s : *list) {
      if (s.empty()) {
        return invalid(at, "an empty " + name + " would exclude every string");
      }
    }
    c.op = name == "prefix" ? Op::kAnythingButPrefix : Op::kAnythingButSuffix;
    c.texts = std::move(*list);
    return c;
  }
  if (name == "equals-ignore-case") {
    auto list = strings(inner);
    if (!list) {
      return list.error();
    }
    c.op = Op::kAnythingButIgnoreCase;
    for (const auto& s : *list) {
      c.texts.push_back(fold_case(s));
    }
    return c;
  }
  if (name == "wildcard") {
    auto list = strings(inner);
    if (!list) {
      return list.error();
    }
    c.op = Op::kAnythingButWildcard;
    for (const auto& s : *list) {
      auto w = wildcard(json::value(s), at);
      if (!w) {
        return w.error();
      }
      c.wildcards.push_back(std::move(*w));
    }
    return c;
  }
  return invalid(at,
                 "anything-but takes prefix, suffix, wildcard or equals-ignore-case here, not " +
                     core::json_quote(name));
}

core::Result<Condition> Parser::numeric(const json::value& arg, const std::string& where) {
  if (!arg.is_array() || (arg.get_array().size() != 2 && arg.get_array().size() != 4)) {
    return invalid(where,
                   "expects [operator, number] or [lower operator, number, upper operator, "
                   "number], e.g. [\">\", 0, \"<=\", 5]");
  }
  const auto& list = arg.get_array();
  Condition c;
  c.op = Condition::Op::kNumeric;
  NumericRange& r = c.range;
  for (size_t i = 0; i < list.size(); i += 2) {
    std::string at = where + "[" + std::to_string(i) + "]";
    if (!list[i].is_string()) {
      return invalid(at, "expects an operator (=, <, <=, >, >=), not " + describe(list[i]));
    }
    std::string op(list[i].get_string());
    double x = 0;
    if (!to_number(list[i + 1], x)) {
      return invalid(where + "[" + std::to_string(i + 1) + "]",
                     "expects a finite number after " + core::json_quote(op) + ", not " +
                         describe(list[i + 1]));
    }
    x = x == 0.0 ? 0.0 : x;
    if (auto problem = numeric_bound_problem(x); !problem.empty()) {
      return invalid(where + "[" + std::to_string(i + 1) + "]",
                     json::serialize(list[i + 1]) + " " + problem);
    }
    bool lower = op == ">" || op == ">=";
    bool upper = op == "<" || op == "<=";
    if (op == "=") {
      if (list.size() != 2) {
        return invalid(at, "\"=\" cannot be combined with another comparison");
      }
      r.has_low = r.has_high = r.low_inclusive = r.high_inclusive = true;
      r.low = r.high = x;
    } else if (lower && !r.has_low && !r.has_high) {
      r.has_low = true;
      r.low = x;
      r.low_inclusive = op == ">=";
    } else if (upper && !r.has_high) {
      r.has_high = true;
      r.high = x;
      r.high_inclusive = op == "<=";
    } else if (lower || upper) {
      return invalid(at,
                     "a range is a lower bound (> or >=) followed by an upper bound "
                     "(< or <=)");
    } else {
      return invalid(at, core::json_quote(op) + " is not a numeric operator (=, <, <=, >, >=)");
    }
  }
  if (list.size() == 4 && !(r.low < r.high)) {
    return invalid(where, "the range is empty: its lower bound must be below its upper bound");
  }
  return c;
}

core::Result<Condition> Parser::cidr(const json::value& arg, const std::string& where) {
  if (!arg.is_string()) {
    return invalid(where, "expects a string such as \"10.0.0.0/24\", not " + describe(arg));
  }
  std::string_view text = arg.get_string();
  auto slash = text.find('/');
  std::string_view bits_text = slash == std::string_view::npos ? "" : text.substr(slash + 1);
  Condition c;
  c.op = Condition::Op::kCidr;
  CidrRange& r = c.cidr;

  // The address part decides the family; the prefix length must fit it.
  std::string address(text.substr(0, slash));
  if (slash == std::string_view::npos || bits_text.empty() || bits_text.size() > 3 ||
      !std::all_of(bits_text.begin(), bits_text.end(),
                   [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return invalid(where, core::json_quote(text) + " is not an address/prefix-length block");
  }
  int bits = std::stoi(std::string(bits_text));
  auto parsed = parse_ip(address);
  if (!parsed) {
    return invalid(where, core::json_quote(address) + " is not an IPv4 or IPv6 address");
  }
  r.ipv6 = parsed->ipv6;
  r.network = parsed->bytes;
  int max_bits = r.ipv6 ? 128 : 32;
  if (bits > max_bits) {
    return invalid(where, "prefix length " + std::to_string(bits) + " is longer than " +
                              std::to_string(max_bits) + " bits");
  }
  r.prefix_bits = bits;
  return c;
}

core::Result<Wildcard> Parser::wildcard(const json::value& arg, const std::string& where) {
  if (!arg.is_string()) {
    return invalid(where, "expects a string, not " + describe(arg));
  }
  std::string_view text = arg.get_string();
  Wildcard w;
  w.parts.emplace_back();
  bool after_star = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    bool star = ch == '*';
    if (ch == '\\') {
      if (i + 1 == text.size() || (text[i + 1] != '*' && text[i + 1] != '\\')) {
        return invalid(where, "in " + core::json_quote(text) +
                                  ", a backslash must be followed by * or \\ (at character " +
                                  std::to_string(i + 1) + ")");
      }
      w.parts.back().push_back(text[++i]);
    } else if (star) {
      if (after_star) {
        return invalid(where, "in " + core::json_quote(text) +
                                  ", two * in a row are not allowed (at character " +
                                  std::to_string(i + 1) + ")");
      }
      w.parts.emplace_back();
    } else {
      w.parts.back().push_back(ch);
    }
    after_star = star;
  }
  if (w.parts.size() - 1 > limits_.max_wildcard_stars) {
    return invalid(
        where, "more than " + std::to_string(limits_.max_wildcard_stars) + " * in one wildcard");
  }
  return w;
}

}  // namespace

core::Result<Pattern> parse_pattern_value(const boost::json::value& json,
                                          const PatternLimits& limits) {
  if (size_t bytes = json::serialize(json).size(); bytes > limits.max_bytes) {
    return invalid("", "the pattern is " + std::to_string(bytes) + " bytes, over the " +
                           std::to_string(limits.max_bytes) + "-byte limit");
  }
  if (!json.is_object()) {
    return invalid("", "a pattern must be a JSON object, not " + describe(json));
  }
  Parser parser(limits);
  auto alts = parser.object(json.get_object(), {}, "", 1);
  if (!alts) {
    return alts.error();
  }

  // Sorting by path lets alternatives share a prefix of fields once compiled.
  Pattern pattern;
  for (auto& alt : *alts) {
    size_t values = 0;
    for (const auto& f : alt.fields) {
      values += f.conditions.size();
    }
    if (values > limits.max_values) {
      return invalid("", "more than " + std::to_string(limits.max_values) +
                             " values in one combination of fields");
    }
    std::stable_sort(alt.fields.begin(), alt.fields.end(),
                     [](const Field& a, const Field& b) { return a.path < b.path; });
    pattern.alternatives.push_back(std::move(alt));
  }
  return pattern;
}

core::Result<Pattern> parse_pattern(std::string_view text, const PatternLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return invalid("", "the pattern is " + std::to_string(text.size()) + " bytes, over the " +
                           std::to_string(limits.max_bytes) + "-byte limit");
  }
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  auto value = json::parse(text, ec, {}, options);
  if (ec) {
    return invalid("", "not valid JSON: " + ec.message());
  }
  return parse_pattern_value(value, limits);
}

std::string dotted(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& key : path) {
    if (!out.empty()) {
      out.push_back('.');
    }
    out += key;
  }
  return out;
}

std::string fold_case(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    if (ch >= 'A' && ch <= 'Z') {
      ch = static_cast<char>(ch - 'A' + 'a');
    }
  }
  return out;
}

}  // namespace homeostat::patterns
