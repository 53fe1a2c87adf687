#include "states/paths.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <charconv>
#include <utility>

namespace homeostat::states {
namespace {

namespace json = boost::json;
using core::Error;
using core::ErrorCode;

// Characters that end a name written in dot notation. A backslash lets any of them appear in
// the name itself, as in the specification's examples ("$.foo\.bar", "$.foo\@bar").
bool ends_dot_name(char c) {
  return c == '.' || c == '[';
}

// Inside a filter a name also ends where the expression goes on: "@.price<10" compares "price".
bool ends_dot_name_in_filter(char c) {
  switch (c) {
    case ' ':
    case ')':
    case '=':
    case '!':
    case '<':
    case '>':
    case '&':
    case '|':
      return true;
    default:
      return ends_dot_name(c);
  }
}

bool is_number_char(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Parentheses in one filter may nest this deep; the parser recurses once per level, and no
// sensible filter comes near it.
constexpr int kMaxFilterDepth = 32;

// Characters that need bracket notation or a backslash: they mean something in JsonPath, so
// accepting them bare would make a typo look like a key.
bool reserved_in_dot_name(char c) {
  switch (c) {
    case ' ':
    case '\t':
    case ']':
    case '(':
    case ')':
    case ',':
    case ':':
    case '?':
    case '@':
    case '*':
    case '\'':
    case '"':
    case '$':
      return true;
    default:
      return false;
  }
}

const char* kind_name(json::kind kind) {
  switch (kind) {
    case json::kind::object:
      return "an object";
    case json::kind::array:
      return "an array";
    case json::kind::string:
      return "a string";
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    default:
      return "a number";
  }
}

// A hand-written recursive-descent parser over the path text; `pos_` is the next character.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  core::Result<std::vector<PathSegment>> parse(bool& context) {
    if (text_.empty() || text_[0] != '$') return fail("a path must begin with '$'", 0);
    pos_ = 1;
    context = pos_ < text_.size() && text_[pos_] == '$';
    if (context) ++pos_;

    std::vector<PathSegment> segments;
    while (pos_ < text_.size()) {
      auto segment = parse_segment();
      if (!segment.ok()) return segment.error();
      segments.push_back(std::move(segment).value());
    }
    return segments;
  }

 private:
  Error fail(std::string_view what, std::size_t at) const {
    return Error(ErrorCode::kInvalidArgument, "path '" + std::string(text_) +
                                                  "': " + std::string(what) + " at offset " +
                                                  std::to_string(at));
  }

  bool at(char c) const { return pos_ < text_.size() && text_[pos_] == c; }

  core::Result<PathSegment> parse_segment() {
    const std::size_t start = pos_;
    if (at('[')) return parse_bracket(start, false);
    if (!at('.')) return fail("expected '.' or '['", pos_);
    ++pos_;

    // ".." selects among the node and all its descendants.
    const bool descendants = at('.');
    if (descendants) ++pos_;
    if (at('[')) return parse_bracket(start, descendants);
    if (at('*')) {
      ++pos_;
      return make_segment(PathSegment::Kind::kWildcard, descendants, start);
    }
    return parse_dot_name(start, descendants);
  }

  core::Result<PathSegment> parse_dot_name(std::size_t start, bool descendants) {
    std::string name;
    while (pos_ < text_.size() &&
           !(filter_open_ ? ends_dot_name_in_filter(text_[pos_]) : ends_dot_name(text_[pos_]))) {
      char c = text_[pos_];
      if (c == '\\') {
        if (pos_ + 1 >= text_.size()) return fail("a backslash ends the path", pos_);
        c = text_[++pos_];
      } else if (reserved_in_dot_name(c)) {
        return fail(std::string("character '") + c + "' needs bracket notation", pos_);
      }
      name.push_back(c);
      ++pos_;
    }
    if (name.empty()) return fail("expected a name", pos_);

    PathSegment segment = make_segment(PathSegment::Kind::kName, descendants, start);
    segment.name = std::move(name);
    return segment;
  }

  core::Result<PathSegment> parse_bracket(std::size_t start, bool descendants) {
    const std::size_t open = pos_;
    ++pos_;  // '['
    skip_spaces();
    if (pos_ >= text_.size()) return fail("unterminated '['", open);
    PathSegment segment = make_segment(PathSegment::Kind::kName, descendants, start);
    if (at('?')) return parse_filter(std::move(segment), open);
    if (at('*')) {
      ++pos_;
      segment.kind = PathSegment::Kind::kWildcard;
      return close_bracket(std::move(segment), open);
    }
    if (at(':') || (pos_ < text_.size() && is_number_start(text_[pos_]) && is_slice())) {
      return parse_slice(std::move(segment), open);
    }

    // A single name or index, or a comma-separated union of them.
    while (true) {
      auto member = parse_member();
      if (!member.ok()) return member.error();
      segment.members.push_back(std::move(member).value());
      skip_spaces();
      if (!at(',')) break;
      ++pos_;
      skip_spaces();
    }
    if (segment.members.size() > 1) {
      segment.kind = PathSegment::Kind::kUnion;
    } else if (auto* name = std::get_if<std::string>(&segment.members[0])) {
      segment.kind = PathSegment::Kind::kName;
      segment.name = std::move(*name);
      segment.members.clear();
    } else {
      segment.kind = PathSegment::Kind::kIndex;
      segment.index = std::get<std::int64_t>(segment.members[0]);
      segment.members.clear();
    }
    return close_bracket(std::move(segment), open);
  }

  core::Result<PathSegment> close_bracket(PathSegment segment, std::size_t open) {
    skip_spaces();
    if (pos_ >= text_.size()) return fail("unterminated '['", open);
    if (!at(']')) return fail("expected ']'", pos_);
    ++pos_;
    return segment;
  }

  core::Result<PathSegment::Member> parse_member() {
    if (at('\'') || at('"')) {
      auto name = parse_quoted();
      if (!name.ok()) return name.error();
      return PathSegment::Member(std::move(name).value());
    }
    if (pos_ < text_.size() && is_number_start(text_[pos_])) {
      auto number = parse_integer();
      if (!number.ok()) return number.error();
      return PathSegment::Member(*number);
    }
    if (pos_ >= text_.size()) return fail("unterminated '['", pos_);
    return fail("expected a quoted name or an index", pos_);
  }

  core::Result<std::string> parse_quoted() {
    const char quote = text_[pos_];
    const std::size_t open = pos_;
    ++pos_;
    std::string name;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      name.push_back(text_[pos_++]);
    }
    if (pos_ >= text_.size()) return fail("unterminated quoted name", open);
    ++pos_;
    return name;
  }

  core::Result<std::int64_t> parse_integer() {
    const std::size_t begin = pos_;
    if (at('-')) ++pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9')
      ++pos_;
    std::int64_t value = 0;
    const char* first = text_.data() + begin;
    const char* last = text_.data() + pos_;
    auto [ptr, ec] = std::from_chars(first, last, value);
    if (ec != std::errc() || ptr != last) return fail("expected an integer", begin);
    return value;
  }

  // "[1:3]", "[:2]", "[-3:]", "[::2]": every bound is optional.
  core::Result<PathSegment> parse_slice(PathSegment segment, std::size_t open) {
    segment.kind = PathSegment::Kind::kSlice;
    std::optional<std::int64_t>* bounds[] = {&segment.start, &segment.end};
    for (auto* bound : bounds) {
      skip_spaces();
      if (pos_ < text_.size() && is_number_start(text_[pos_])) {
        auto number = parse_integer();
        if (!number.ok()) return number.error();
        *bound = *number;
      }
      skip_spaces();
      if (bound == &segment.end) break;
      if (!at(':')) return fail("expected ':'", pos_);
      ++pos_;
    }
    if (at(':')) {
      ++pos_;
      skip_spaces();
      if (pos_ < text_.size() && is_number_start(text_[pos_])) {
        auto number = parse_integer();
        if (!number.ok()) return number.error();
        if (*number == 0) return fail("a slice step must not be 0", pos_ - 1);
        segment.step = *number;
      }
    }
    return close_bracket(std::move(segment), open);
  }

  // "[?(expression)]", with `pos_` on the '?'. The expression is parsed into a tree here, once,
  // so selecting never meets a syntax error.
  core::Result<PathSegment> parse_filter(PathSegment segment, std::size_t open) {
    if (filter_open_) return fail("a filter cannot hold another filter", pos_);
    filter_open_ = open;
    ++pos_;  // '?'
    skip_spaces();
    if (!at('(')) return fail("expected '(' after '?'", pos_);
    ++pos_;

    auto expression = parse_junction(FilterExpression::Kind::kOr);
    if (!expression.ok()) return expression.error();
    skip_spaces();
    if (pos_ >= text_.size()) return fail("unterminated filter", open);
    if (!at(')')) return fail("expected ')', '&&' or '||'", pos_);
    ++pos_;
    filter_open_.reset();

    segment.kind = PathSegment::Kind::kFilter;
    segment.filter = std::make_shared<const FilterExpression>(std::move(expression).value());
    return close_bracket(std::move(segment), open);
  }

  // A chain joined by "||" (whose links are "&&" chains) or by "&&" (whose links are primaries),
  // so that && binds tighter. A chain of one is returned as that one expression.
  core::Result<FilterExpression> parse_junction(FilterExpression::Kind kind) {
    const bool is_or = kind == FilterExpression::Kind::kOr;
    const std::string_view token = is_or ? "||" : "&&";
    skip_spaces();
    FilterExpression junction;
    junction.kind = kind;
    junction.offset = pos_;
    while (true) {
      auto link = is_or ? parse_junction(FilterExpression::Kind::kAnd) : parse_primary();
      if (!link.ok()) return link;
      junction.children.push_back(std::move(link).value());
      skip_spaces();
      if (!text_.substr(pos_).starts_with(token)) break;
      pos_ += token.size();
    }
    if (junction.children.size() == 1) return std::move(junction.children.front());
    return junction;
  }

  // A parenthesised expression, a comparison, or an existence test.
  core::Result<FilterExpression> parse_primary() {
    skip_spaces();
    if (at('(')) return parse_group();

    FilterExpression leaf;
    leaf.offset = pos_;
    auto left = parse_operand();
    if (!left.ok()) return left.error();
    skip_spaces();
    auto op = parse_operator();
    if (!op.ok()) return op.error();
    if (!*op) {
      if (!left->relative) return fail("a literal alone is not a test", leaf.offset);
      leaf.kind = FilterExpression::Kind::kExists;
      leaf.left = std::move(left).value();
      return leaf;
    }

    skip_spaces();
    auto right = parse_operand();
    if (!right.ok()) return right.error();
    leaf.kind = FilterExpression::Kind::kCompare;
    leaf.op = **op;
    leaf.left = std::move(left).value();
    leaf.right = std::move(right).value();
    return leaf;
  }

  core::Result<FilterExpression> parse_group() {
    const std::size_t open = pos_;
    if (++depth_ > kMaxFilterDepth) return fail("parentheses nested too deeply", open);
    ++pos_;  // '('
    auto inner = parse_junction(FilterExpression::Kind::kOr);
    if (!inner.ok()) return inner;
    skip_spaces();
    if (pos_ >= text_.size()) return fail("unterminated '('", open);
    if (!at(')')) return fail("expected ')', '&&' or '||'", pos_);
    ++pos_;
    --depth_;
    return inner;
  }

  // A comparison operator, or std::nullopt when none follows (an existence test).
  core::Result<std::optional<FilterExpression::Op>> parse_operator() {
    using Op = FilterExpression::Op;
    struct Spelling {
      std::string_view text;
      Op op;
    };
    // Two-character spellings first, so "<=" is not read as "<".
    static constexpr Spelling kSpellings[] = {{"==", Op::kEq}, {"!=", Op::kNe}, {"<=", Op::kLe},
                                              {">=", Op::kGe}, {"<", Op::kLt},  {">", Op::kGt}};
    const std::string_view rest = text_.substr(pos_);
    if (rest.starts_with("=~")) return fail("regular expressions are not supported", pos_);
    for (const auto& spelling : kSpellings) {
      if (rest.starts_with(spelling.text)) {
        pos_ += spelling.text.size();
        return std::optional<Op>(spelling.op);
      }
    }
    if (at('=')) return fail("'=' is not an operator; use '=='", pos_);
    return std::optional<Op>();
  }

  // "@" and a relative path, or a literal.
  core::Result<FilterExpression::Operand> parse_operand() {
    FilterExpression::Operand operand;
    if (pos_ >= text_.size()) return fail("unterminated filter", *filter_open_);
    const char c = text_[pos_];
    if (c == '@') return parse_relative();
    if (c == '$') return fail("a filter can refer only to '@', not to '$'", pos_);
    if (c == '\'' || c == '"') {
      auto text = parse_quoted();
      if (!text.ok()) return text.error();
      operand.literal = json::string(*text);
      return operand;
    }
    if (is_number_start(c)) {
      auto number = parse_number();
      if (!number.ok()) return number.error();
      operand.literal = std::move(number).value();
      return operand;
    }
    for (std::string_view word : {"true", "false", "null"}) {
      const std::size_t end = pos_ + word.size();
      const bool whole_word = end >= text_.size() || !is_word_char(text_[end]);
      if (text_.substr(pos_).starts_with(word) && whole_word) {
        pos_ = end;
        operand.literal = word == "null" ? json::value(nullptr) : json::value(word == "true");
        return operand;
      }
    }
    return fail("expected '@' or a literal", pos_);
  }

  // "@" followed by names and indices: the only steps that lead to one value, so an operand is
  // never a set and a comparison always has one answer.
  core::Result<FilterExpression::Operand> parse_relative() {
    const std::size_t at_sign = pos_;
    ++pos_;  // '@'
    FilterExpression::Operand operand;
    operand.relative = true;
    while (at('.') || at('[')) {
      auto segment = parse_segment();
      if (!segment.ok()) return segment.error();
      const bool single =
          segment->kind == PathSegment::Kind::kName || segment->kind == PathSegment::Kind::kIndex;
      if (segment->descendants || !single) {
        return fail("only names and indices may follow '@'", segment->offset);
      }
      operand.path.push_back(std::move(segment).value());
    }
    if (operand.path.empty()) return fail("'@' must be followed by a name or an index", at_sign);
    return operand;
  }

  // A JSON number: the token runs to the first character that cannot be part of one.
  core::Result<json::value> parse_number() {
    const std::size_t begin = pos_;
    while (pos_ < text_.size() && is_number_char(text_[pos_]))
      ++pos_;
    boost::system::error_code ec;
    json::value number = json::parse(text_.substr(begin, pos_ - begin), ec);
    if (ec || !number.is_number()) return fail("expected a number", begin);
    return number;
  }

  // Looks ahead from a number to see whether a ':' follows it inside this bracket.
  bool is_slice() const {
    for (std::size_t i = pos_; i < text_.size() && text_[i] != ']'; ++i) {
      if (text_[i] == ':') return true;
      if (text_[i] == ',' || text_[i] == '\'' || text_[i] == '"') return false;
    }
    return false;
  }

  static PathSegment make_segment(PathSegment::Kind kind, bool descendants, std::size_t offset) {
    PathSegment segment;
    segment.kind = kind;
    segment.descendants = descendants;
    segment.offset = offset;
    return segment;
  }

  static bool is_number_start(char c) { return c == '-' || (c >= '0' && c <= '9'); }

  void skip_spaces() {
    while (at(' '))
      ++pos_;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::optional<std::size_t> filter_open_;  // the '[' of the filter being parsed, if any
  int depth_ = 0;                           // parentheses open in that filter
};

// Resolves an index against an array of `size` elements; negative counts from the end.
std::optional<std::size_t> resolve_index(std::int64_t index, std::size_t size) {
  const auto signed_size = static_cast<std::int64_t>(size);
  const std::int64_t resolved = index < 0 ? signed_size + index : index;
  if (resolved < 0 || resolved >= signed_size) return std::nullopt;
  return static_cast<std::size_t>(resolved);
}

// Follows a filter operand's relative path from the element; nullptr when a step is missing.
const json::value* follow(const std::vector<PathSegment>& path, const json::value& element) {
  const json::value* node = &element;
  for (const auto& segment : path) {
    if (segment.kind == PathSegment::Kind::kName) {
      const auto* object = node->if_object();
      node = object == nullptr ? nullptr : object->if_contains(segment.name);
    } else {
      const auto* array = node->if_array();
      auto at = array == nullptr ? std::nullopt : resolve_index(segment.index, array->size());
      node = at ? &(*array)[*at] : nullptr;
    }
    if (node == nullptr) return nullptr;
  }
  return node;
}

double as_double(const json::value& number) {
  switch (number.kind()) {
    case json::kind::int64:
      return static_cast<double>(number.get_int64());
    case json::kind::uint64:
      return static_cast<double>(number.get_uint64());
    default:
      return number.get_double();
  }
}

// -1, 0 or 1. Integers are compared exactly, since a double cannot hold every int64.
int numeric_order(const json::value& a, const json::value& b) {
  if (a.is_int64() && b.is_int64()) {
    return a.get_int64() < b.get_int64() ? -1 : (a.get_int64() > b.get_int64() ? 1 : 0);
  }
  const double x = as_double(a);
  const double y = as_double(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

bool order_satisfies(FilterExpression::Op op, int order) {
  switch (op) {
    case FilterExpression::Op::kEq:
      return order == 0;
    case FilterExpression::Op::kNe:
      return order != 0;
    case FilterExpression::Op::kLt:
      return order < 0;
    case FilterExpression::Op::kLe:
      return order <= 0;
    case FilterExpression::Op::kGt:
      return order > 0;
    case FilterExpression::Op::kGe:
      return order >= 0;
  }
  return false;
}

// Numbers compare by value and strings by their bytes (code point order for UTF-8); booleans,
// null, arrays and objects only by == and !=. Values of different types never compare, not even
// by !=: a filter written for numbers should not pick up the elements where a field is a string.
bool compare(const json::value& a, const json::value& b, FilterExpression::Op op) {
  if (a.is_number() && b.is_number()) return order_satisfies(op, numeric_order(a, b));
  if (a.kind() != b.kind()) return false;
  if (a.is_string()) {
    const int order = std::string_view(a.get_string()).compare(std::string_view(b.get_string()));
    return order_satisfies(op, order < 0 ? -1 : (order > 0 ? 1 : 0));
  }
  if (op == FilterExpression::Op::kEq) return a == b;
  if (op == FilterExpression::Op::kNe) return a != b;
  return false;
}

bool filter_matches(const FilterExpression& expression, const json::value& element) {
  auto operand = [&](const FilterExpression::Operand& side) {
    return side.relative ? follow(side.path, element) : &side.literal;
  };
  switch (expression.kind) {
    case FilterExpression::Kind::kOr:
      for (const auto& child : expression.children) {
        if (filter_matches(child, element)) return true;
      }
      return false;
    case FilterExpression::Kind::kAnd:
      for (const auto& child : expression.children) {
        if (!filter_matches(child, element)) return false;
      }
      return true;
    case FilterExpression::Kind::kExists:
      return operand(expression.left) != nullptr;
    case FilterExpression::Kind::kCompare: {
      // A missing member makes every comparison false, != included, like a type mismatch.
      const json::value* left = operand(expression.left);
      const json::value* right = operand(expression.right);
      return left != nullptr && right != nullptr && compare(*left, *right, expression.op);
    }
  }
  return false;
}

// Applies one segment's selector (not its "..") to one node.
void select_children(const PathSegment& segment, const json::value& node,
                     std::vector<const json::value*>& out) {
  const auto* object = node.if_object();
  const auto* array = node.if_array();
  auto add_name = [&](const std::string& name) {
    if (object == nullptr) return;
    if (const auto* child = object->if_contains(name)) out.push_back(child);
  };
  auto add_index = [&](std::int64_t index) {
    if (array == nullptr) return;
    if (auto at = resolve_index(index, array->size())) out.push_back(&(*array)[*at]);
  };

  switch (segment.kind) {
    case PathSegment::Kind::kName:
      add_name(segment.name);
      break;
    case PathSegment::Kind::kIndex:
      add_index(segment.index);
      break;
    case PathSegment::Kind::kWildcard:
      if (object != nullptr) {
        for (const auto& entry : *object)
          out.push_back(&entry.value());
      } else if (array != nullptr) {
        for (const auto& element : *array)
          out.push_back(&element);
      }
      break;
    case PathSegment::Kind::kUnion:
      for (const auto& member : segment.members) {
        if (const auto* name = std::get_if<std::string>(&member)) {
          add_name(*name);
        } else {
          add_index(std::get<std::int64_t>(member));
        }
      }
      break;
    case PathSegment::Kind::kFilter: {
      // AWS documents that '@' matches only objects, never scalar values, so only elements (or
      // member values) that are objects are tested; the rest are never selected.
      auto test = [&](const json::value& element) {
        if (element.is_object() && filter_matches(*segment.filter, element)) {
          out.push_back(&element);
        }
      };
      if (object != nullptr) {
        for (const auto& entry : *object)
          test(entry.value());
      } else if (array != nullptr) {
        for (const auto& element : *array)
          test(element);
      }
      break;
    }
    case PathSegment::Kind::kSlice: {
      if (array == nullptr) break;
      // Python's slice rules: bounds are clamped, never an error.
      const auto size = static_cast<std::int64_t>(array->size());
      auto clamp = [&](std::optional<std::int64_t> bound, std::int64_t fallback) {
        if (!bound) return fallback;
        std::int64_t b = *bound < 0 ? *bound + size : *bound;
        const std::int64_t low = segment.step > 0 ? 0 : -1;
        const std::int64_t high = segment.step > 0 ? size : size - 1;
        return b < low ? low : (b > high ? high : b);
      };
      if (segment.step > 0) {
        for (auto i = clamp(segment.start, 0); i < clamp(segment.end, size); i += segment.step) {
          out.push_back(&(*array)[static_cast<std::size_t>(i)]);
        }
      } else {
        for (auto i = clamp(segment.start, size - 1); i > clamp(segment.end, -1);
             i += segment.step) {
          out.push_back(&(*array)[static_cast<std::size_t>(i)]);
        }
      }
      break;
    }
  }
}

// The node and everything below it, in document order.
void self_and_descendants(const json::value& node, std::vector<const json::value*>& out) {
  out.push_back(&node);
  if (const auto* object = node.if_object()) {
    for (const auto& entry : *object)
      self_and_descendants(entry.value(), out);
  } else if (const auto* array = node.if_array()) {
    for (const auto& element : *array)
      self_and_descendants(element, out);
  }
}

StatesError states_error(std::string_view name, std::string cause) {
  return StatesError{std::string(name), std::move(cause)};
}

// InputPath and OutputPath share everything but the field name in their messages.
StepResult apply_selecting_path(std::string_view field, const json::value& document,
                                const std::optional<Path>& path, const Context& context) {
  if (!path) return json::value(json::object());

  auto selected = path->select(path->is_context() ? context.value : document);
  if (!selected) {
    return states_error(kRuntime, std::string(field) + " '" + path->text() +
                                      "' selects nothing in the " +
                                      (path->is_context() ? "context object" : "state's data"));
  }
  return std::move(*selected);
}

// Expands one payload template; `field` names the template in messages ("Parameters").
class TemplateExpander {
 public:
  TemplateExpander(std::string_view field, const json::value& input, const Context& context)
      : field_(field), input_(input), context_(context) {}

  StepResult expand(const json::value& node) {
    if (const auto* object = node.if_object()) return expand_object(*object);
    if (const auto* array = node.if_array()) {
      json::array out;
      out.reserve(array->size());
      for (const auto& element : *array) {
        auto expanded = expand(element);
        if (auto* error = std::get_if<StatesError>(&expanded)) return std::move(*error);
        out.push_back(std::move(std::get<json::value>(expanded)));
      }
      return json::value(std::move(out));
    }
    return node;
  }

 private:
  StepResult expand_object(const json::object& object) {
    json::object out;
    for (const auto& entry : object) {
      const std::string_view key = entry.key();
      const bool dynamic = key.size() > 2 && key.ends_with(".$");
      const std::string name(dynamic ? key.substr(0, key.size() - 2) : key);

      auto value = dynamic ? extract(key, entry.value()) : expand(entry.value());
      if (auto* error = std::get_if<StatesError>(&value)) return std::move(*error);

      // The specification forbids a name appearing twice once ".$" is stripped; "a" and "a.$"
      // together would otherwise silently let one win.
      if (out.contains(name)) {
        return states_error(kRuntime,
                            field_ + " has the field '" + name + "' twice once '.$' is stripped");
      }
      out.emplace(name, std::move(std::get<json::value>(value)));
    }
    return json::value(std::move(out));
  }

  // The value of a "<name>.$" field: a path into the input or context, or an intrinsic.
  StepResult extract(std::string_view key, const json::value& value) {
    const auto* text = value.if_string();
    if (text == nullptr) {
      return states_error(kRuntime, field_ + " field '" + std::string(key) +
                                        "' must hold a path or an intrinsic function, not " +
                                        kind_name(value.kind()));
    }
    const std::string_view expression(*text);
    if (!expression.starts_with('$')) {
      if (!is_intrinsic(expression)) {
        return states_error(kRuntime, field_ + " field '" + std::string(key) +
                                          "' holds neither a path nor an intrinsic function");
      }
      return evaluate_intrinsic(expression,
                                [this](std::string_view path) { return resolve(path); });
    }

    auto path = Path::parse(expression);
    if (!path.ok()) {
      return states_error(kRuntime,
                          field_ + " field '" + std::string(key) + "': " + path.error().message());
    }
    auto selected = path->select(path->is_context() ? context_.value : input_);
    if (!selected) {
      return states_error(kParameterPathFailure,
                          field_ + " field '" + std::string(key) + "': the path '" + path->text() +
                              "' selects nothing in the " +
                              (path->is_context() ? "context object" : "input"));
    }
    return std::move(*selected);
  }

  // Path arguments of intrinsic functions; a missing value is the intrinsic's error to report.
  std::optional<json::value> resolve(std::string_view text) const {
    auto path = Path::parse(text);
    if (!path.ok()) return std::nullopt;
    return path->select(path->is_context() ? context_.value : input_);
  }

  std::string field_;
  const json::value& input_;
  const Context& context_;
};

StepResult expand_template(std::string_view field, const json::value& templ,
                           const json::value& input, const Context& context) {
  if (!templ.is_object()) {
    return states_error(
        kRuntime, std::string(field) + " must be a JSON object, not " + kind_name(templ.kind()));
  }
  return TemplateExpander(field, input, context).expand(templ);
}

}  // namespace

core::Result<Path> Path::parse(std::string_view text) {
  Path path;
  auto segments = Parser(text).parse(path.context_);
  if (!segments.ok()) return segments.error();
  path.text_ = std::string(text);
  path.segments_ = std::move(segments).value();
  return path;
}

core::Result<Path> Path::parse_reference(std::string_view text) {
  auto path = parse(text);
  if (!path.ok()) return path;

  for (const auto& segment : path->segments()) {
    const char* problem = nullptr;
    if (segment.descendants) {
      problem = "'..'";
    } else if (segment.kind == PathSegment::Kind::kWildcard) {
      problem = "a wildcard";
    } else if (segment.kind == PathSegment::Kind::kSlice) {
      problem = "a slice";
    } else if (segment.kind == PathSegment::Kind::kUnion) {
      problem = "a union";
    } else if (segment.kind == PathSegment::Kind::kFilter) {
      problem = "a filter";
    }
    if (problem != nullptr) {
      return Error(ErrorCode::kInvalidArgument, "reference path '" + std::string(text) +
                                                    "': " + problem +
                                                    " can select more than one node, at offset " +
                                                    std::to_string(segment.offset));
    }
  }
  return path;
}

bool Path::is_definite() const {
  for (const auto& segment : segments_) {
    if (segment.descendants) return false;
    if (segment.kind != PathSegment::Kind::kName && segment.kind != PathSegment::Kind::kIndex) {
      return false;
    }
  }
  return true;
}

std::optional<json::value> Path::select(const json::value& root) const {
  // Walk the segments breadth-first, keeping every node matched so far.
  std::vector<const json::value*> current{&root};
  for (const auto& segment : segments_) {
    std::vector<const json::value*> candidates;
    if (segment.descendants) {
      for (const auto* node : current)
        self_and_descendants(*node, candidates);
    } else {
      candidates = std::move(current);
    }
    std::vector<const json::value*> next;
    for (const auto* node : candidates)
      select_children(segment, *node, next);
    current = std::move(next);
  }

  if (is_definite()) {
    if (current.empty()) return std::nullopt;
    return *current.front();
  }
  json::array gathered;
  gathered.reserve(current.size());
  for (const auto* node : current)
    gathered.push_back(*node);
  return json::value(std::move(gathered));
}

StepResult apply_input_path(const json::value& raw_input, const std::optional<Path>& path,
                            const Context& context) {
  return apply_selecting_path("InputPath", raw_input, path, context);
}

StepResult apply_parameters(const json::value& templ, const json::value& input,
                            const Context& context) {
  return expand_template("Parameters", templ, input, context);
}

StepResult apply_result_selector(const json::value& templ, const json::value& result,
                                 const Context& context) {
  return expand_template("ResultSelector", templ, result, context);
}

StepResult apply_result_path(const json::value& raw_input, const json::value& result,
                             const std::optional<Path>& path) {
  if (!path) return raw_input;
  if (path->is_context()) {
    return states_error(kRuntime,
                        "ResultPath '" + path->text() + "' may not write into the context object");
  }
  if (!path->is_definite()) {
    return states_error(kRuntime, "ResultPath '" + path->text() + "' is not a reference path");
  }
  if (path->segments().empty()) return result;

  auto mismatch = [&](const std::string& where, const json::value& found, const char* wanted) {
    return states_error(kResultPathMatchFailure, "ResultPath '" + path->text() +
                                                     "' cannot be applied: " + where + " is " +
                                                     kind_name(found.kind()) + ", not " + wanted);
  };

  // Walk a copy of the input; every step but the last must lead to an existing container or
  // to a missing field, which becomes a new object.
  json::value output = raw_input;
  json::value* node = &output;
  std::string where = "$";
  const auto& segments = path->segments();
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const PathSegment& segment = segments[i];
    const bool last = i + 1 == segments.size();
    if (segment.kind == PathSegment::Kind::kName) {
      auto* object = node->if_object();
      if (object == nullptr) return mismatch(where, *node, "an object");
      if (last) {
        (*object)[segment.name] = result;
        break;
      }
      auto it = object->find(segment.name);
      if (it == object->end()) it = object->emplace(segment.name, json::object()).first;
      node = &it->value();
      where += "." + segment.name;
      continue;
    }

    // An index can only name an element that exists: there is no sensible way to pad an array.
    auto* array = node->if_array();
    if (array == nullptr) return mismatch(where, *node, "an array");
    auto at = resolve_index(segment.index, array->size());
    if (!at) {
      return states_error(kResultPathMatchFailure,
                          "ResultPath '" + path->text() + "' cannot be applied: " + where +
                              " has no element " + std::to_string(segment.index));
    }
    if (last) {
      (*array)[*at] = result;
      break;
    }
    node = &(*array)[*at];
    where += "[" + std::to_string(segment.index) + "]";
  }
  return output;
}

StepResult apply_output_path(const json::value& output, const std::optional<Path>& path,
                             const Context& context) {
  return apply_selecting_path("OutputPath", output, path, context);
}

}  // namespace homeostat::states
