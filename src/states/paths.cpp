#include "states/paths.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
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
    while (pos_ < text_.size() && !ends_dot_name(text_[pos_])) {
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
    if (at('?')) return fail("filter expressions are not supported", pos_);
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
};

// Resolves an index against an array of `size` elements; negative counts from the end.
std::optional<std::size_t> resolve_index(std::int64_t index, std::size_t size) {
  const auto signed_size = static_cast<std::int64_t>(size);
  const std::int64_t resolved = index < 0 ? signed_size + index : index;
  if (resolved < 0 || resolved >= signed_size) return std::nullopt;
  return static_cast<std::size_t>(resolved);
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
