#include "states/intrinsics.hpp"

#include <charconv>
#include <cmath>
#include <utility>
#include <vector>

#include "states/intrinsic_functions.hpp"

namespace homeostat::states {
namespace {

namespace json = boost::json;

using detail::Call;
using detail::failure;
using detail::is_name_char;
using detail::Node;
using detail::Outcome;

// The AWS documentation allows at most this many intrinsic calls nested within one field.
constexpr int kMaxNesting = 10;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  // Parses the whole text as one call; returns std::nullopt and sets error() on failure.
  std::optional<Node> parse() {
    skip_space();
    auto call = parse_call(1);
    if (!call) {
      return std::nullopt;
    }

    skip_space();
    if (pos_ != text_.size()) {
      return fail("unexpected text after the closing ')'");
    }
    return call;
  }

  const StatesError& error() const { return error_; }

 private:
  std::nullopt_t fail(std::string_view what) {
    error_ = failure("syntax error at position " + std::to_string(pos_) + ": " + std::string(what));
    return std::nullopt;
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool at(std::string_view prefix) const { return text_.substr(pos_).starts_with(prefix); }

  std::optional<Node> parse_call(int depth) {
    if (depth > kMaxNesting) {
      return fail("more than " + std::to_string(kMaxNesting) + " nested intrinsic calls");
    }
    if (!at("States.")) {
      return fail("expected 'States.'");
    }
    size_t start = pos_;
    pos_ += 7;
    while (pos_ < text_.size() && is_name_char(text_[pos_])) {
      ++pos_;
    }
    Node call;
    call.kind = Node::Kind::kCall;
    call.text = std::string(text_.substr(start, pos_ - start));
    if (call.text.size() == 7) {
      return fail("expected a function name after 'States.'");
    }
    if (detail::find_function(call.text) == nullptr) {
      error_ = failure("unknown function " + call.text);
      return std::nullopt;
    }

    // The argument list: '(' [argument {',' argument}] ')'.
    skip_space();
    if (!at("(")) {
      return fail("expected '(' after " + call.text);
    }
    ++pos_;
    skip_space();
    if (at(")")) {
      ++pos_;
      return call;
    }
    while (true) {
      auto arg = parse_argument(depth);
      if (!arg) {
        return std::nullopt;
      }
      call.args.push_back(std::move(*arg));
      skip_space();
      if (at(",")) {
        ++pos_;
        continue;
      }
      if (at(")")) {
        ++pos_;
        return call;
      }
      return pos_ == text_.size() ? fail("missing ')'") : fail("expected ',' or ')'");
    }
  }

  std::optional<Node> parse_argument(int depth) {
    skip_space();
    if (pos_ == text_.size()) {
      return fail("missing argument");
    }
    char c = text_[pos_];
    if (c == '\'') {
      return parse_string();
    }
    if (c == '$') {
      return parse_path();
    }
    if (at("States.")) {
      return parse_call(depth + 1);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      return parse_number();
    }
    if (c >= 'a' && c <= 'z') {
      return parse_keyword();
    }
    return fail(std::string("unexpected character '") + c + "'");
  }

  // A string in single quotes. Only \' \{ \} and \\ are escapes; any other backslash is an
  // error, as the AWS documentation says an open escape fails the call.
  std::optional<Node> parse_string() {
    ++pos_;
    size_t start = pos_;
    std::string value;
    while (true) {
      if (pos_ >= text_.size()) {
        return fail("unterminated string literal");
      }
      char c = text_[pos_];
      if (c == '\'') {
        break;
      }
      if (c == '\\') {
        if (pos_ + 1 >= text_.size()) {
          return fail("backslash at the end of the expression");
        }
        char next = text_[pos_ + 1];
        if (next != '\'' && next != '{' && next != '}' && next != '\\') {
          return fail(std::string("invalid escape '\\") + next + "' in string literal");
        }
        value += next;
        pos_ += 2;
        continue;
      }
      value += c;
      ++pos_;
    }
    Node node;
    node.string_literal = true;
    node.raw = std::string(text_.substr(start, pos_ - start));
    node.literal = json::string(value);
    ++pos_;
    return node;
  }

  // A path runs to the next ',' or ')' or space outside brackets and quotes; the resolver
  // interprets it.
  std::optional<Node> parse_path() {
    size_t start = pos_;
    int brackets = 0;
    char quote = 0;
    for (; pos_ < text_.size(); ++pos_) {
      char c = text_[pos_];
      if (quote != 0) {
        quote = c == quote ? 0 : quote;
        continue;
      }
      if (c == '\'' || c == '"') {
        if (brackets == 0) {
          return fail("quote outside brackets in path");
        }
        quote = c;
      } else if (c == '[') {
        ++brackets;
      } else if (c == ']') {
        --brackets;
      } else if (brackets == 0 && (c == ',' || c == ')' || c == ' ' || c == '\t')) {
        break;
      }
    }
    if (quote != 0 || brackets != 0) {
      return fail("unbalanced brackets or quotes in path");
    }
    Node node;
    node.kind = Node::Kind::kPath;
    node.text = std::string(text_.substr(start, pos_ - start));
    std::string_view rest = node.text;
    rest.remove_prefix(rest.starts_with("$$") ? 2 : 1);
    if (!rest.empty() && rest.front() != '.' && rest.front() != '[') {
      return fail("invalid path '" + node.text + "'");
    }
    return node;
  }

  // A JSON number: an integer when it has no fraction or exponent and fits in int64.
  std::optional<Node> parse_number() {
    size_t start = pos_;
    while (pos_ < text_.size() &&
           (text_[pos_] == '-' || text_[pos_] == '+' || text_[pos_] == '.' || text_[pos_] == 'e' ||
            text_[pos_] == 'E' || (text_[pos_] >= '0' && text_[pos_] <= '9'))) {
      ++pos_;
    }
    std::string_view token = text_.substr(start, pos_ - start);
    const char* first = token.data();
    const char* last = token.data() + token.size();
    Node node;
    int64_t integer = 0;
    auto [int_end, int_error] = std::from_chars(first, last, integer);
    if (int_error == std::errc() && int_end == last) {
      node.literal = integer;
      return node;
    }
    double real = 0;
    auto [real_end, real_error] = std::from_chars(first, last, real);
    if (real_error != std::errc() || real_end != last || !std::isfinite(real)) {
      pos_ = start;
      return fail("invalid number '" + std::string(token) + "'");
    }
    node.literal = real;
    return node;
  }

  std::optional<Node> parse_keyword() {
    size_t start = pos_;
    while (pos_ < text_.size() && is_name_char(text_[pos_])) {
      ++pos_;
    }
    std::string_view word = text_.substr(start, pos_ - start);
    Node node;
    if (word == "true") {
      node.literal = true;
    } else if (word == "false") {
      node.literal = false;
    } else if (word == "null") {
      node.literal = nullptr;
    } else {
      pos_ = start;
      return fail("unexpected word '" + std::string(word) + "'");
    }
    return node;
  }

  std::string_view text_;
  size_t pos_ = 0;
  StatesError error_;
};

Outcome evaluate(const Node& node, const PathResolver& resolve, const IntrinsicOptions& options) {
  switch (node.kind) {
    case Node::Kind::kLiteral:
      return node.literal;
    case Node::Kind::kPath: {
      if (!resolve) {
        return failure("no path resolver was given for " + node.text);
      }
      auto value = resolve(node.text);
      if (!value) {
        return failure("path " + node.text + " selects nothing");
      }
      return std::move(*value);
    }
    case Node::Kind::kCall:
      break;
  }
  Call call{node, {}, options};
  call.args.reserve(node.args.size());
  for (const auto& arg : node.args) {
    Outcome value = evaluate(arg, resolve, options);
    if (auto* error = std::get_if<StatesError>(&value)) {
      return std::move(*error);
    }
    call.args.push_back(std::move(std::get<json::value>(value)));
  }
  // The parser accepts only names found in kFunctions, so the lookup cannot fail here.
  return detail::find_function(node.text)(call);
}

}  // namespace

std::variant<boost::json::value, StatesError> evaluate_intrinsic(std::string_view expression,
                                                                 const PathResolver& resolve) {
  return evaluate_intrinsic(expression, resolve, IntrinsicOptions{});
}

std::variant<boost::json::value, StatesError> evaluate_intrinsic(std::string_view expression,
                                                                 const PathResolver& resolve,
                                                                 const IntrinsicOptions& options) {
  Parser parser(expression);
  auto tree = parser.parse();
  if (!tree) {
    return parser.error();
  }
  return evaluate(*tree, resolve, options);
}

bool is_intrinsic(std::string_view text) {
  if (!text.starts_with("States.")) {
    return false;
  }
  size_t i = 7;
  while (i < text.size() && is_name_char(text[i])) {
    ++i;
  }
  return i > 7 && i < text.size() && text[i] == '(';
}

}  // namespace homeostat::states