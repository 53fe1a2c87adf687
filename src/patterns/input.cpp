#include "patterns/input.hpp"

#include <algorithm>
#include <charconv>
#include <system_error>

#include <boost/json/parse.hpp>

#include "core/json.hpp"

namespace homeostat::patterns {
namespace json = boost::json;

namespace {

constexpr size_t kMaxIndexDigits = 9;  // indexes stay far below any size_t overflow

core::Error invalid(std::string message) {
  return core::Error(core::ErrorCode::kInvalidArgument, std::move(message));
}

core::Error path_error(std::string_view path, size_t position, std::string_view what) {
  return invalid("path " + core::json_quote(path) + " at character " +
                 std::to_string(position + 1) + ": " + std::string(what));
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '/';
}

bool is_variable_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Characters a placeholder may hold: a variable's, plus '.' for the predefined names.
bool is_placeholder_char(char c) {
  return is_variable_char(c) || c == '.';
}

bool starts_with_ignoring_case(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) {
    return false;
  }

  return std::equal(prefix.begin(), prefix.end(), s.begin(), [](char a, char b) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    return lower(a) == lower(b);
  });
}

std::string describe_char(char c) {
  if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
    return "byte " + std::to_string(static_cast<unsigned char>(c));
  }
  return core::json_quote(std::string_view(&c, 1));
}

void append_double(std::string& out, double d) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), d);
  // 32 bytes hold the shortest form of any finite double, and JSON holds no others.
  if (ec != std::errc()) {
    out += "null";
    return;
  }
  out.append(buffer, end);
}

// Appends `s` escaped for the inside of a JSON string, without the quotes.
void append_escaped(std::string& out, std::string_view s) {
  const size_t start = out.size();
  core::append_json_string(out, s);
  out.pop_back();
  out.erase(start, 1);
}

// The event's members other than "detail", as JSON text.
void append_event_without_detail(std::string& out, const json::value& event) {
  if (!event.is_object()) {
    append_json_text(out, event);
    return;
  }

  out.push_back('{');
  bool first = true;
  for (const auto& member : event.get_object()) {
    if (member.key() == "detail") {
      continue;
    }
    if (!first) {
      out.push_back(',');
    }
    first = false;
    core::append_json_string(out, member.key());
    out.push_back(':');
    append_json_text(out, member.value());
  }
  out.push_back('}');
}

}  // namespace

void append_json_text(std::string& out, const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      out += "null";
      break;
    case json::kind::bool_:
      out += value.get_bool() ? "true" : "false";
      break;
    case json::kind::int64:
      out += std::to_string(value.get_int64());
      break;
    case json::kind::uint64:
      out += std::to_string(value.get_uint64());
      break;
    case json::kind::double_:
      append_double(out, value.get_double());
      break;
    case json::kind::string:
      core::append_json_string(out, value.get_string());
      break;
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& element : value.get_array()) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        append_json_text(out, element);
      }
      out.push_back(']');
      break;
    }
    case json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& member : value.get_object()) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        core::append_json_string(out, member.key());
        out.push_back(':');
        append_json_text(out, member.value());
      }
      out.push_back('}');
      break;
    }
  }
}

// ---- JsonPath ----

core::Result<JsonPath> JsonPath::parse(std::string_view text) {
  if (text.size() > kMaxBytes) {
    return invalid("path " + core::json_quote(text.substr(0, 32)) + "... is " +
                   std::to_string(text.size()) + " bytes, more than the 256 allowed");
  }
  if (text.empty() || text[0] != '$') {
    return path_error(text, 0, "a path starts with $");
  }

  JsonPath path;
  path.text_ = std::string(text);
  size_t i = 1;
  while (i < text.size()) {
    // A member step: ".name" or ".*".
    if (text[i] == '.') {
      const size_t start = i + 1;
      if (start < text.size() && text[start] == '.') {
        return path_error(text, i, "recursive descent (..) is not supported");
      }
      if (start < text.size() && text[start] == '*') {
        if (start + 1 < text.size() && text[start + 1] != '.' && text[start + 1] != '[') {
          return path_error(text, start + 1, "* must be a whole step");
        }
        path.steps_.push_back(Step{Step::Kind::kWildcard, {}, 0});
        path.has_wildcard_ = true;
        i = start + 1;
        continue;
      }
      size_t end = start;
      while (end < text.size() && is_name_char(text[end])) {
        ++end;
      }
      if (end == start) {
        if (start == text.size()) {
          return path_error(text, start, "expected a name after the .");
        }
        return path_error(text, start, describe_char(text[start]) + " cannot start a name");
      }
      if (end < text.size() && text[end] != '.' && text[end] != '[') {
        return path_error(text, end, describe_char(text[end]) + " cannot appear in a name");
      }
      path.steps_.push_back(
          Step{Step::Kind::kName, std::string(text.substr(start, end - start)), 0});
      i = end;
      continue;
    }

    // An element step: "[n]" or "[*]".
    if (text[i] == '[') {
      const size_t start = i + 1;
      if (start >= text.size()) {
        return path_error(text, i, "[ is not closed");
      }
      if (text[start] == '\'' || text[start] == '"') {
        return path_error(text, start, "bracket-quoted names are not supported; use dot notation");
      }
      if (text[start] == '*') {
        if (start + 1 >= text.size() || text[start + 1] != ']') {
          return path_error(text, start + 1, "expected ] after *");
        }
        path.steps_.push_back(Step{Step::Kind::kWildcard, {}, 0});
        path.has_wildcard_ = true;
        i = start + 2;
        continue;
      }
      if (text[start] == '-') {
        return path_error(text, start, "negative indexes are not supported");
      }
      size_t end = start;
      while (end < text.size() && text[end] >= '0' && text[end] <= '9') {
        ++end;
      }
      if (end == start) {
        return path_error(text, start, "expected an index or * inside [ ]");
      }
      if (end - start > kMaxIndexDigits) {
        return path_error(text, start, "the index is too large");
      }
      if (end >= text.size()) {
        return path_error(text, i, "[ is not closed");
      }
      if (text[end] != ']') {
        return path_error(text, end, "expected ] after the index");
      }
      size_t index = 0;
      std::from_chars(text.data() + start, text.data() + end, index);
      path.steps_.push_back(Step{Step::Kind::kIndex, {}, index});
      i = end + 1;
      continue;
    }

    return path_error(text, i, "expected . or [ before " + describe_char(text[i]));
  }
  return path;
}

void JsonPath::collect(const json::value& node, size_t step,
                       std::vector<const json::value*>& found) const {
  if (step == steps_.size()) {
    found.push_back(&node);
    return;
  }

  const Step& s = steps_[step];
  switch (s.kind) {
    case Step::Kind::kName:
      if (const json::object* object = node.if_object()) {
        if (const json::value* child = object->if_contains(s.name)) {
          collect(*child, step + 1, found);
        }
      }
      break;
    case Step::Kind::kIndex:
      if (const json::array* array = node.if_array()) {
        if (s.index < array->size()) {
          collect((*array)[s.index], step + 1, found);
        }
      }
      break;
    case Step::Kind::kWildcard:
      if (const json::object* object = node.if_object()) {
        for (const auto& member : *object) {
          collect(member.value(), step + 1, found);
        }
      } else if (const json::array* array = node.if_array()) {
        for (const auto& element : *array) {
          collect(element, step + 1, found);
        }
      }
      break;
  }
}

std::optional<json::value> JsonPath::select(const json::value& root) const {
  std::vector<const json::value*> found;
  collect(root, 0, found);
  if (found.empty()) {
    return std::nullopt;
  }

  // Without a wildcard each step finds at most one value, so found has exactly one.
  if (!has_wildcard_) {
    return *found.front();
  }
  json::array values;
  values.reserve(found.size());
  for (const json::value* v : found) {
    values.push_back(*v);
  }
  return json::value(std::move(values));
}

// ---- InputTransformer ----

namespace {

struct Predefined {
  std::string_view name;
  bool is_json;  // an event, usable only as a value outside quotes in a JSON template
};

// The predefined variables, in the order of the Source enumerators from kRuleName on.
constexpr Predefined kPredefined[] = {
    {"aws.events.rule-name", false},
    {"aws.events.rule-arn", false},
    {"aws.events.event.ingestion-time", false},
    {"aws.events.event", true},
    {"aws.events.event.json", true},
};

core::Status check_variable_name(std::string_view name) {
  if (name.empty()) {
    return invalid("a variable name is empty");
  }
  const std::string quoted = core::json_quote(name.substr(0, 64));
  if (starts_with_ignoring_case(name, InputTransformer::kReservedPrefix)) {
    return invalid("variable " + quoted +
                   ": names starting with \"aws.\" are reserved for the predefined variables");
  }
  if (name.size() > InputTransformer::kMaxNameBytes) {
    return invalid("variable " + quoted + "...: a name is at most 256 bytes, not " +
                   std::to_string(name.size()));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    if (!is_variable_char(name[i])) {
      return invalid("variable " + quoted + ": " + describe_char(name[i]) + " at character " +
                     std::to_string(i + 1) + " is not allowed; a name is [A-Za-z0-9_-]");
    }
  }
  return core::Status::ok_status();
}

// Where the template scan stands in the JSON structure, so that keys can be told from values.
// It is only trusted once the template has been found to be JSON.
struct Structure {
  std::vector<char> open;      // '{' or '[' for each container entered
  bool expect_key = false;     // the next token in the current object is a key
  bool string_is_key = false;  // the string being read is a key
  bool in_string = false;
  bool escaped = false;

  bool at_key() const { return !open.empty() && open.back() == '{' && expect_key; }

  // Advances past one character of the template outside a placeholder.
  void step(char c) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
        if (string_is_key) {
          expect_key = false;
        }
      }
      return;
    }

    switch (c) {
      case '"':
        in_string = true;
        string_is_key = at_key();
        break;
      case '{':
        open.push_back('{');
        expect_key = true;
        break;
      case '[':
        open.push_back('[');
        expect_key = false;
        break;
      case '}':
      case ']':
        if (!open.empty()) {
          open.pop_back();
        }
        expect_key = false;
        break;
      case ',':
        expect_key = !open.empty() && open.back() == '{';
        break;
      default:
        break;
    }
  }
};

// A placeholder found by the scan, before the template is known to be JSON or plain text.
struct Found {
  size_t begin = 0;  // the '<'
  size_t size = 0;   // up to and including the '>'
  size_t slot = 0;   // < variables: a variable; else kPredefined[slot - variables]
  bool in_string = false;
  bool is_key = false;
};

// The length of the placeholder starting at `t[i]` (a '<'), or 0 when there is none there.
size_t placeholder_length(std::string_view t, size_t i) {
  size_t end = i + 1;
  while (end < t.size() && is_placeholder_char(t[end])) {
    ++end;
  }
  if (end == i + 1 || end >= t.size() || t[end] != '>') {
    return 0;
  }
  return end + 1 - i;
}

}  // namespace

core::Result<InputTransformer> InputTransformer::create(
    const std::vector<std::pair<std::string, std::string>>& paths_map, std::string input_template) {
  InputTransformer t;

  // The variables: names EventBridge would accept, each once, and paths that parse.
  if (paths_map.size() > kMaxVariables) {
    return invalid("an input transformer has at most 100 variables, not " +
                   std::to_string(paths_map.size()));
  }
  for (const auto& [name, path_text] : paths_map) {
    if (auto status = check_variable_name(name); !status.ok()) {
      return status.error();
    }
    const std::string& this_name = name;  // a structured binding cannot be captured (C++17)
    const bool duplicate = std::any_of(t.variables_.begin(), t.variables_.end(),
                                       [&](const auto& v) { return v.first == this_name; });
    if (duplicate) {
      return invalid("variable " + core::json_quote(name) + " is defined twice");
    }
    auto path = JsonPath::parse(path_text);
    if (!path.ok()) {
      return std::move(path.error().with_context("variable " + core::json_quote(name)));
    }
    t.variables_.emplace_back(name, std::move(*path));
  }
  t.used_.assign(t.variables_.size(), false);

  if (input_template.empty() || input_template.size() > kMaxTemplateBytes) {
    return invalid("template: a template is 1 to 8192 bytes, not " +
                   std::to_string(input_template.size()));
  }
  t.template_ = std::move(input_template);
  const std::string_view text = t.template_;

  // Find the placeholders, noting for each whether it stands inside quotes or as a key.
  std::vector<Found> found;
  Structure structure;
  for (size_t i = 0; i < text.size();) {
    const size_t length = text[i] == '<' ? placeholder_length(text, i) : 0;
    if (length == 0) {
      structure.step(text[i]);
      ++i;
      continue;
    }
    const std::string_view name = text.substr(i + 1, length - 2);
    Found f{i, length, 0, structure.in_string,
            structure.in_string ? structure.string_is_key : structure.at_key()};
    auto variable = std::find_if(t.variables_.begin(), t.variables_.end(),
                                 [&](const auto& v) { return v.first == name; });
    auto predefined = std::find_if(std::begin(kPredefined), std::end(kPredefined),
                                   [&](const Predefined& p) { return p.name == name; });
    if (variable != t.variables_.end()) {
      f.slot = static_cast<size_t>(variable - t.variables_.begin());
      t.used_[f.slot] = true;
    } else if (predefined != std::end(kPredefined)) {
      f.slot = t.variables_.size() + static_cast<size_t>(predefined - std::begin(kPredefined));
    } else {
      return invalid("template: <" + std::string(name) + "> at character " + std::to_string(i + 1) +
                     " names no variable and no predefined one");
    }
    found.push_back(f);
    // A bare key placeholder stands where the key's string would have: a value comes next. A
    // backslash just before a placeholder escapes nothing, since < cannot be escaped.
    if (!structure.in_string && f.is_key) {
      structure.expect_key = false;
    }
    structure.escaped = false;
    i += length;
  }

  // JSON or plain text: read the template with null for each placeholder outside quotes, and
  // nothing for those inside. A key placeholder becomes "" so that it is caught below.
  std::string probe;
  probe.reserve(text.size());
  size_t copied = 0;
  for (const Found& f : found) {
    probe.append(text.substr(copied, f.begin - copied));
    if (!f.in_string) {
      probe += f.is_key ? "\"\"" : "null";
    }
    copied = f.begin + f.size;
  }
  probe.append(text.substr(copied));
  boost::system::error_code ec;
  json::parse(probe, ec);
  t.is_json_ = !ec;

  // Check each placeholder against where it stands, and compile the pieces.
  size_t at = 0;
  for (const Found& f : found) {
    const bool is_variable = f.slot < t.variables_.size();
    const Predefined* predefined =
        is_variable ? nullptr : &kPredefined[f.slot - t.variables_.size()];
    const std::string where = "template: <" + std::string(text.substr(f.begin + 1, f.size - 2)) +
                              "> at character " + std::to_string(f.begin + 1);
    if (t.is_json_ && f.is_key) {
      return invalid(where + ": a placeholder cannot be used as an object key");
    }
    if (predefined != nullptr && predefined->is_json && (!t.is_json_ || f.in_string)) {
      return invalid(where + ": can only be a value outside quotes in a JSON template");
    }

    if (f.begin > at) {
      t.pieces_.push_back(Piece{Source::kText, Place::kText, at, f.begin - at, 0});
    }
    Piece piece;
    piece.place = !t.is_json_ ? Place::kText : (f.in_string ? Place::kInString : Place::kValue);
    if (is_variable) {
      piece.source = Source::kVariable;
      piece.variable = f.slot;
    } else {
      piece.source = static_cast<Source>(static_cast<size_t>(Source::kRuleName) + f.slot -
                                         t.variables_.size());
    }
    t.pieces_.push_back(piece);
    at = f.begin + f.size;
  }
  if (at < text.size()) {
    t.pieces_.push_back(Piece{Source::kText, Place::kText, at, text.size() - at, 0});
  }
  return t;
}

namespace {

// Where a value lands; InputTransformer::Place, which is private, maps onto it.
enum class Where { kValue, kInString, kText };

// Writes a string value where a placeholder stood.
void append_string_at(std::string& out, std::string_view s, Where where) {
  switch (where) {
    case Where::kValue:
      core::append_json_string(out, s);
      break;
    case Where::kInString:
      append_escaped(out, s);
      break;
    case Where::kText:
      out.append(s);
      break;
  }
}

// Writes a variable's value where its placeholder stood. `value` is nullptr when the variable's
// path found nothing: it then reads as the empty string.
void append_value_at(std::string& out, const json::value* value, Where where) {
  if (value == nullptr) {
    append_string_at(out, "", where);
    return;
  }
  if (const json::string* s = value->if_string()) {
    append_string_at(out, *s, where);
    return;
  }

  // Any other value is written as its JSON text, escaped when it lands inside quotes.
  if (where != Where::kInString) {
    append_json_text(out, *value);
    return;
  }
  std::string text;
  append_json_text(text, *value);
  append_escaped(out, text);
}

}  // namespace

std::string InputTransformer::render(const json::value& event, const InputContext& context) const {
  // Resolve each variable the template uses, once.
  std::vector<std::optional<json::value>> values(variables_.size());
  for (size_t i = 0; i < variables_.size(); ++i) {
    if (used_[i]) {
      values[i] = variables_[i].second.select(event);
    }
  }

  std::string out;
  out.reserve(template_.size() + 64);
  for (const Piece& piece : pieces_) {
    const Where where = piece.place == Place::kValue      ? Where::kValue
                        : piece.place == Place::kInString ? Where::kInString
                                                          : Where::kText;
    switch (piece.source) {
      case Source::kText:
        out.append(template_, piece.begin, piece.size);
        break;
      case Source::kVariable: {
        const auto& v = values[piece.variable];
        append_value_at(out, v ? &*v : nullptr, where);
        break;
      }
      case Source::kRuleName:
        append_string_at(out, context.rule_name, where);
        break;
      case Source::kRuleArn:
        append_string_at(out, context.rule_arn, where);
        break;
      case Source::kIngestionTime:
        append_string_at(out, context.ingestion_time, where);
        break;
      case Source::kEvent:
        append_event_without_detail(out, event);
        break;
      case Source::kEventJson:
        append_json_text(out, event);
        break;
    }
  }
  return out;
}

core::Result<std::string> target_input(const json::value& event,
                                       const std::optional<JsonPath>& input_path,
                                       const std::optional<InputTransformer>& transformer,
                                       const InputContext& context) {
  if (input_path && transformer) {
    return invalid("a target takes an input path or an input transformer, not both");
  }

  if (transformer) {
    return transformer->render(event, context);
  }
  std::string out;
  if (!input_path) {
    append_json_text(out, event);
    return out;
  }
  auto value = input_path->select(event);
  if (!value) {
    return std::string("null");
  }
  append_json_text(out, *value);
  return out;
}

}  // namespace homeostat::patterns
