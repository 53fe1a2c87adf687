// Parsing and validation of state machine definitions. The rules, and every decision taken where
// the AWS documentation is silent, are listed in docs/states-language.md ("State machines and
// validation").
//
// A definition is read machine by machine; a Parallel branch or a Map item processor is a
// machine of its own, parsed depth-first while its parent state is parsed, so an error deep in
// a branch carries its full place ("States.Fan.Branches[0].States.Check.Next: ..."). Each
// machine is read in two steps: first every state on its own, field by field; then the
// transitions are resolved against that machine's states only, the states reachable from
// StartAt are walked, and one of them must be terminal. The first error found is returned.
//
// Nothing here keeps state between calls; parse_state_machine() is safe to call from any thread.
#include "states/machine.hpp"

#include <algorithm>
#include <array>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <cmath>
#include <deque>
#include <set>
#include <span>
#include <utility>

#include "core/clock.hpp"
#include "states/intrinsics.hpp"

namespace homeostat::states {
namespace {

namespace json = boost::json;
using core::Error;
using core::ErrorCode;
using core::Result;
using core::Status;

// Limits. The name length and definition size are Step Functions' own; the others guard the
// daemon against a hostile definition and are far above what a real runbook needs.
constexpr std::size_t kMaxStateNameLength = 80;  // Unicode code points, as the specification says
constexpr std::size_t kMaxLabelLength = 40;
constexpr std::size_t kMaxDefinitionBytes = 1024 * 1024;
constexpr int kMaxNesting = 16;            // Parallel branches and Map item processors
constexpr std::size_t kMaxStates = 10000;  // in the whole definition, nested machines included
constexpr std::size_t kMaxJsonDepth = 256;
constexpr int64_t kMaxInteger = 99999999;  // seconds, counts and concurrency

// The kind of machine being parsed decides which top-level fields it may hold.
enum class MachineKind { kTop, kBranch, kItemProcessor };

Error invalid(const std::string& place, std::string_view message) {
  return {ErrorCode::kInvalidArgument, place + ": " + std::string(message)};
}

std::string indexed(const std::string& place, std::size_t index) {
  return place + "[" + std::to_string(index) + "]";
}

const char* kind_name(json::kind kind) {
  switch (kind) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

// Boost.JSON refuses invalid UTF-8, so counting the bytes that do not continue a sequence
// counts code points.
std::size_t code_points(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// ---------------------------------------------------------------------------------------------
// The JSON text.

// "line 3, column 7" for a byte offset; columns count bytes from 1.
std::string position(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  const std::string_view before = text.substr(0, offset);
  const auto line = std::count(before.begin(), before.end(), '\n') + 1;
  const auto last_newline = before.rfind('\n');
  const std::size_t column =
      last_newline == std::string_view::npos ? offset + 1 : offset - last_newline;
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// A handler for Boost.JSON's basic_parser that builds nothing and refuses an object holding the
// same key twice. Boost.JSON would keep only the last of two equal keys, so two states written
// with the same name would silently become one.
class DuplicateKeyCheck {
 public:
  static constexpr std::size_t max_array_size = -1;   // NOLINT(readability-identifier-naming)
  static constexpr std::size_t max_object_size = -1;  // NOLINT(readability-identifier-naming)
  static constexpr std::size_t max_string_size = -1;  // NOLINT(readability-identifier-naming)
  static constexpr std::size_t max_key_size = -1;     // NOLINT(readability-identifier-naming)

  bool on_document_begin(json::error_code& /*ec*/) { return true; }
  bool on_document_end(json::error_code& /*ec*/) { return true; }
  bool on_array_begin(json::error_code& /*ec*/) { return true; }
  bool on_array_end(std::size_t /*n*/, json::error_code& /*ec*/) { return true; }
  bool on_object_begin(json::error_code& /*ec*/) {
    keys_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t /*n*/, json::error_code& /*ec*/) {
    keys_.pop_back();
    return true;
  }
  bool on_string_part(json::string_view /*s*/, std::size_t /*n*/, json::error_code& /*ec*/) {
    return true;
  }
  bool on_string(json::string_view /*s*/, std::size_t /*n*/, json::error_code& /*ec*/) {
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t /*n*/, json::error_code& /*ec*/) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t /*n*/, json::error_code& ec) {
    key_.append(s.data(), s.size());
    const bool fresh = keys_.back().insert(key_).second;
    if (!fresh) {
      duplicate_ = key_;
      ec = json::error::syntax;
    }
    key_.clear();
    return fresh;
  }
  bool on_number_part(json::string_view /*s*/, json::error_code& /*ec*/) { return true; }
  bool on_int64(int64_t /*i*/, json::string_view /*s*/, json::error_code& /*ec*/) { return true; }
  bool on_uint64(uint64_t /*u*/, json::string_view /*s*/, json::error_code& /*ec*/) { return true; }
  bool on_double(double /*d*/, json::string_view /*s*/, json::error_code& /*ec*/) { return true; }
  bool on_bool(bool /*b*/, json::error_code& /*ec*/) { return true; }
  bool on_null(json::error_code& /*ec*/) { return true; }
  bool on_comment_part(json::string_view /*s*/, json::error_code& /*ec*/) { return true; }
  bool on_comment(json::string_view /*s*/, json::error_code& /*ec*/) { return true; }

  const std::optional<std::string>& duplicate() const { return duplicate_; }

 private:
  std::vector<std::set<std::string, std::less<>>> keys_;  // one set per open object
  std::string key_;
  std::optional<std::string> duplicate_;
};

// Checks the text in one pass before it is parsed into a value: JSON syntax, nesting depth and
// duplicate keys, each reported with its line and column.
Status check_text(std::string_view text) {
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  json::basic_parser<DuplicateKeyCheck> parser(options);
  json::error_code ec;
  const std::size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec) {
    // The parser stops at the end of the first document; whitespace may follow, nothing else.
    const std::size_t extra = text.find_first_not_of(" \t\r\n", consumed);
    if (extra == std::string_view::npos) return {};
    return invalid("definition",
                   "not valid JSON at " + position(text, extra) + ": text after the document");
  }

  const std::string where = position(text, consumed);
  if (const auto& key = parser.handler().duplicate()) {
    return invalid("definition", "the key '" + *key + "' appears twice in one object, at " + where);
  }
  return invalid("definition", "not valid JSON at " + where + ": " + ec.message());
}

// The deepest nesting of objects and arrays in `value`, walked without recursion so that a
// hostile value built in memory cannot exhaust the stack here.
std::size_t json_depth(const json::value& value) {
  std::size_t deepest = 0;
  std::vector<std::pair<const json::value*, std::size_t>> pending = {{&value, 1}};
  while (!pending.empty()) {
    auto [node, depth] = pending.back();
    pending.pop_back();
    deepest = std::max(deepest, depth);
    if (depth > kMaxJsonDepth) break;
    if (const auto* object = node->if_object()) {
      for (const auto& entry : *object)
        pending.emplace_back(&entry.value(), depth + 1);
    } else if (const auto* array = node->if_array()) {
      for (const auto& element : *array)
        pending.emplace_back(&element, depth + 1);
    }
  }
  return deepest;
}

// ---------------------------------------------------------------------------------------------
// Fields of each state type.

// Each type with its name and the fields it allows besides Type, Comment and QueryLanguage,
// as the specification's table of state types and fields lists them for JSONPath.
struct TypeInfo {
  StateType type;
  std::string_view name;
  std::string_view fields;  // space-separated
};

constexpr std::array<TypeInfo, 8> kTypes = {{
    {StateType::kPass, "Pass", "Next End InputPath OutputPath ResultPath Parameters Result"},
    {StateType::kTask, "Task",
     "Next End InputPath OutputPath ResultPath Parameters ResultSelector Resource TimeoutSeconds "
     "TimeoutSecondsPath HeartbeatSeconds HeartbeatSecondsPath Retry Catch Credentials"},
    {StateType::kChoice, "Choice", "InputPath OutputPath Choices Default"},
    {StateType::kWait, "Wait",
     "Next End InputPath OutputPath Seconds Timestamp SecondsPath TimestampPath"},
    {StateType::kSucceed, "Succeed", "InputPath OutputPath"},
    {StateType::kFail, "Fail", "Error ErrorPath Cause CausePath"},
    {StateType::kParallel, "Parallel",
     "Next End InputPath OutputPath ResultPath Parameters ResultSelector Branches Retry Catch"},
    {StateType::kMap, "Map",
     "Next End InputPath OutputPath ResultPath ResultSelector Parameters ItemSelector "
     "ItemProcessor Iterator ItemsPath MaxConcurrency MaxConcurrencyPath ToleratedFailureCount "
     "ToleratedFailureCountPath ToleratedFailurePercentage ToleratedFailurePercentagePath "
     "ItemBatcher Label Retry Catch"},
}};

static_assert(
    [] {
      for (std::size_t i = 0; i < kTypes.size(); ++i) {
        if (static_cast<std::size_t>(kTypes[i].type) != i) return false;
      }
      return true;
    }(),
    "kTypes lists the StateType enumerators in order");

const TypeInfo& info(StateType type) {
  return kTypes[static_cast<std::size_t>(type)];
}

// True when the space-separated `fields` holds `field`.
bool lists(std::string_view fields, std::string_view field) {
  for (std::size_t start = 0; start < fields.size();) {
    std::size_t end = fields.find(' ', start);
    if (end == std::string_view::npos) end = fields.size();
    if (fields.substr(start, end - start) == field) return true;
    start = end + 1;
  }
  return false;
}

bool allows(StateType type, std::string_view field) {
  return field == "Type" || field == "Comment" || field == "QueryLanguage" ||
         lists(info(type).fields, field);
}

std::optional<StateType> type_named(std::string_view name) {
  for (const TypeInfo& type : kTypes) {
    if (type.name == name) return type.type;
  }
  return std::nullopt;
}

// Why `field` may not appear in a state of `type`. Fields a user may well have meant get a
// message that says what to do instead of "unknown field".
std::string refusal(StateType type, std::string_view field) {
  if (type == StateType::kMap && field == "ItemReader") {
    return "reading items from cloud storage is not supported; pass the items in the state input";
  }
  if (type == StateType::kMap && field == "ResultWriter") {
    return "writing results to cloud storage is not supported; the results are the state's "
           "result";
  }
  if (field == "Assign") return "state machine variables (Assign) are not supported";
  if (field == "Arguments" || field == "Output" || field == "Items") {
    return "is a JSONata field; only JSONPath state machines are supported";
  }
  for (const TypeInfo& other : kTypes) {
    if (lists(other.fields, field)) {
      return "is not a field of a " + std::string(info(type).name) + " state";
    }
  }
  return "unknown field";
}

// ---------------------------------------------------------------------------------------------
// Field readers. Each takes the place of the field for its messages.

Path root_path() {
  // "$" always parses.
  return Path::parse("$").value();
}

Status read_string(const json::value& value, const std::string& place, std::string& out) {
  const auto* text = value.if_string();
  if (text == nullptr)
    return invalid(place, std::string("must be a string, not ") + kind_name(value.kind()));
  out.assign(text->data(), text->size());
  return {};
}

Status read_non_empty_string(const json::value& value, const std::string& place, std::string& out) {
  if (auto status = read_string(value, place, out); !status.ok()) return status;
  if (out.empty()) return invalid(place, "must not be empty");
  return {};
}

// An integer within [min, max]. JSON has one number type, so 2.0 counts as 2, as for Retry;
// 2.5 is refused rather than rounded.
Result<int64_t> read_integer(const json::value& value, const std::string& place, int64_t min,
                             int64_t max) {
  double number = 0;
  if (value.is_int64()) {
    number = static_cast<double>(value.get_int64());
  } else if (value.is_uint64()) {
    number = static_cast<double>(value.get_uint64());
  } else if (value.is_double() && std::isfinite(value.get_double()) &&
             std::floor(value.get_double()) == value.get_double()) {
    number = value.get_double();
  } else {
    return invalid(place, std::string("must be an integer, not ") +
                              (value.is_double() ? "a fraction" : kind_name(value.kind())));
  }

  if (number < static_cast<double>(min) || number > static_cast<double>(max)) {
    return invalid(place, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return static_cast<int64_t>(number);
}

Result<double> read_number(const json::value& value, const std::string& place, double min,
                           double max) {
  if (!value.is_number()) {
    return invalid(place, std::string("must be a number, not ") + kind_name(value.kind()));
  }
  const double number = value.to_number<double>();
  if (number < min || number > max) {
    return invalid(place, "must be between " + std::to_string(static_cast<int64_t>(min)) + " and " +
                              std::to_string(static_cast<int64_t>(max)));
  }
  return number;
}

enum class PathKind {
  kPath,       // a Path: InputPath, OutputPath
  kReference,  // a Reference Path that reads: ItemsPath, SecondsPath, ...
  kResult,     // a Reference Path that writes: ResultPath, so never "$$"
};

Result<Path> read_path(const json::value& value, const std::string& place, PathKind kind) {
  const auto* text = value.if_string();
  if (text == nullptr) {
    return invalid(place, std::string("must be a path string, not ") + kind_name(value.kind()));
  }
  auto path = kind == PathKind::kPath ? Path::parse(*text) : Path::parse_reference(*text);
  if (!path.ok()) return invalid(place, path.error().message());
  if (kind == PathKind::kResult && path->is_context()) {
    return invalid(place, "cannot write into the context object ($$)");
  }
  return path;
}

// InputPath, OutputPath and ResultPath: a path, or null. An absent field leaves `out` as it is.
Status read_io_path(const json::object& object, std::string_view field, const std::string& place,
                    PathKind kind, std::optional<Path>& out) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr) return {};
  if (value->is_null()) {
    out.reset();
    return {};
  }
  auto path = read_path(*value, place + "." + std::string(field), kind);
  if (!path.ok()) return path.error();
  out = std::move(path).value();
  return {};
}

struct NumberRule {
  double min = 0;
  double max = static_cast<double>(kMaxInteger);
  bool integer = true;
};

// A field given literally ("TimeoutSeconds") or by a reference path ("TimeoutSecondsPath"),
// never both.
Status read_number_or_path(const json::object& object, std::string_view field,
                           const std::string& place, NumberRule rule, NumberOrPath& out) {
  const std::string path_field = std::string(field) + "Path";
  const json::value* literal = object.if_contains(field);
  const json::value* path = object.if_contains(path_field);
  if (literal != nullptr && path != nullptr) {
    return invalid(place + "." + path_field, "cannot be combined with " + std::string(field));
  }

  if (literal != nullptr) {
    const std::string field_place = place + "." + std::string(field);
    if (rule.integer) {
      auto number = read_integer(*literal, field_place, static_cast<int64_t>(rule.min),
                                 static_cast<int64_t>(rule.max));
      if (!number.ok()) return number.error();
      out.value = static_cast<double>(*number);
    } else {
      auto number = read_number(*literal, field_place, rule.min, rule.max);
      if (!number.ok()) return number.error();
      out.value = *number;
    }
  }
  if (path != nullptr) {
    auto parsed = read_path(*path, place + "." + path_field, PathKind::kReference);
    if (!parsed.ok()) return parsed.error();
    out.path = std::move(parsed).value();
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Payload templates (Parameters, ResultSelector, ItemSelector, ItemBatcher.BatchInput).

// Refuses an intrinsic function that cannot parse or names an unknown function. The only way
// to ask is to evaluate it; evaluate_intrinsic parses the whole expression before it runs
// anything, and here every path resolves to nothing and random bytes are zero, so the dry run
// reads nothing from outside. Other failures depend on the input and are left to run time.
Status check_intrinsic(std::string_view expression, const std::string& place) {
  IntrinsicOptions options;
  options.random = [](uint8_t* out, std::size_t n) { std::fill_n(out, n, uint8_t{0}); };
  const auto result = evaluate_intrinsic(
      expression, [](std::string_view) { return std::optional<json::value>(); }, options);
  const auto* error = std::get_if<StatesError>(&result);
  if (error != nullptr &&
      (error->cause.starts_with("syntax error") || error->cause.starts_with("unknown function"))) {
    return invalid(place, error->cause);
  }
  return {};
}

// The value of a "<name>.$" field: a path, or an intrinsic function.
Status check_expression(const json::value& value, const std::string& place) {
  const auto* text = value.if_string();
  if (text == nullptr) {
    return invalid(place, std::string("must be a string holding a path or an intrinsic function, "
                                      "not ") +
                              kind_name(value.kind()));
  }
  const std::string_view expression(*text);
  if (expression.starts_with('$')) {
    auto path = Path::parse(expression);
    if (!path.ok()) return invalid(place, path.error().message());
    return {};
  }
  if (!is_intrinsic(expression)) {
    return invalid(place, "is neither a path (starting with '$') nor an intrinsic function");
  }
  return check_intrinsic(expression, place);
}

Status check_template_value(const json::value& value, const std::string& place);

// The rules apply_parameters() enforces at run time, checked once at load time: a "<name>.$"
// field (a key longer than ".$" itself, as the executor reads it) holds a path or an intrinsic,
// and no name appears twice once ".$" is stripped.
Status check_template_object(const json::object& object, const std::string& place) {
  std::set<std::string_view, std::less<>> names;
  for (const auto& entry : object) {
    const std::string_view key = entry.key();
    const bool dynamic = key.size() > 2 && key.ends_with(".$");
    const std::string_view name = dynamic ? key.substr(0, key.size() - 2) : key;
    const std::string field_place = place + "." + std::string(key);
    if (!names.insert(name).second) {
      return invalid(field_place,
                     "names the field '" + std::string(name) + "' twice once '.$' is stripped");
    }

    auto status = dynamic ? check_expression(entry.value(), field_place)
                          : check_template_value(entry.value(), field_place);
    if (!status.ok()) return status;
  }
  return {};
}

Status check_template_value(const json::value& value, const std::string& place) {
  if (const auto* object = value.if_object()) return check_template_object(*object, place);
  if (const auto* array = value.if_array()) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      auto status = check_template_value((*array)[i], indexed(place, i));
      if (!status.ok()) return status;
    }
  }
  return {};
}

Status read_template(const json::object& object, std::string_view field, const std::string& place,
                     std::optional<json::value>& out) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr) return {};
  const std::string field_place = place + "." + std::string(field);
  if (!value->is_object()) {
    return invalid(field_place,
                   std::string("must be a JSON object, not ") + kind_name(value->kind()));
  }
  if (auto status = check_template_object(value->get_object(), field_place); !status.ok()) {
    return status;
  }
  out = *value;
  return {};
}

// ---------------------------------------------------------------------------------------------
// The parser.

class MachineParser {
 public:
  Result<std::shared_ptr<StateMachine>> parse_machine(const json::value& value,
                                                      const std::string& where, int depth,
                                                      MachineKind kind);

 private:
  Status parse_state(const json::value& value, const std::string& place, int depth, State& state);
  Status parse_common(const json::object& object, const std::string& place, State& state);
  Status parse_transition(const json::object& object, const std::string& place, State& state);
  Status parse_task(const json::object& object, const std::string& place, State& state);
  Status parse_choice(const json::object& object, const std::string& place, State& state);
  Status parse_wait(const json::object& object, const std::string& place, State& state);
  Status parse_fail(const json::object& object, const std::string& place, State& state);
  Status parse_parallel(const json::object& object, const std::string& place, int depth,
                        State& state);
  Status parse_map(const json::object& object, const std::string& place, int depth, State& state);
  Status parse_processor(const json::object& object, const std::string& place, int depth,
                         State& state);
  Status parse_distributed(const json::object& object, const std::string& place, State& state);
  Status parse_retry_catch(const json::object& object, const std::string& place, State& state);

  std::size_t state_count_ = 0;
  // Every state name seen so far, with its place: names are unique in the whole definition.
  std::map<std::string, std::string, std::less<>> names_;
};

// The transitions a state may take, with the place each is written at.
std::vector<std::pair<std::string, std::string>> transitions(const State& state,
                                                             const std::string& place) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!state.next.empty()) out.emplace_back(state.next, place + ".Next");
  for (std::size_t i = 0; i < state.choices.size(); ++i) {
    out.emplace_back(state.choices[i].next, indexed(place + ".Choices", i) + ".Next");
  }
  if (!state.default_next.empty()) out.emplace_back(state.default_next, place + ".Default");
  for (std::size_t i = 0; i < state.catchers.size(); ++i) {
    out.emplace_back(state.catchers[i].next, indexed(place + ".Catch", i) + ".Next");
  }
  return out;
}

bool is_terminal(const State& state) {
  return state.end || state.type == StateType::kSucceed || state.type == StateType::kFail;
}

Result<std::shared_ptr<StateMachine>> MachineParser::parse_machine(const json::value& value,
                                                                   const std::string& where,
                                                                   int depth, MachineKind kind) {
  const std::string self = where.empty() ? "definition" : where;
  const std::string prefix = where.empty() ? "" : where + ".";
  if (depth > kMaxNesting) {
    return invalid(self, "nested more than " + std::to_string(kMaxNesting) +
                             " levels deep in Parallel and Map states");
  }
  const auto* object = value.if_object();
  if (object == nullptr) {
    return invalid(self, std::string("must be a JSON object, not ") + kind_name(value.kind()));
  }

  // Top-level fields. Branches and item processors hold only StartAt, States and Comment (and
  // an item processor its ProcessorConfig, read by the Map state).
  for (const auto& entry : *object) {
    const std::string_view key = entry.key();
    const bool allowed =
        key == "StartAt" || key == "States" || key == "Comment" ||
        (kind == MachineKind::kTop &&
         (key == "Version" || key == "TimeoutSeconds" || key == "QueryLanguage")) ||
        (kind == MachineKind::kItemProcessor && key == "ProcessorConfig");
    if (!allowed) {
      const char* why = "unknown field";
      if (kind == MachineKind::kBranch) {
        why = "not allowed in a branch, which holds StartAt, States and Comment";
      } else if (kind == MachineKind::kItemProcessor) {
        why =
            "not allowed in an item processor, which holds StartAt, States, Comment and "
            "ProcessorConfig";
      }
      return invalid(prefix + std::string(key), why);
    }
  }

  auto machine = std::make_shared<StateMachine>();
  machine->version = "1.0";
  if (const auto* comment = object->if_contains("Comment")) {
    if (auto status = read_string(*comment, prefix + "Comment", machine->comment); !status.ok()) {
      return status.error();
    }
  }
  if (const auto* version = object->if_contains("Version")) {
    if (auto status = read_string(*version, "Version", machine->version); !status.ok()) {
      return status.error();
    }
    if (machine->version != "1.0") return invalid("Version", "only \"1.0\" is supported");
  }
  if (const auto* timeout = object->if_contains("TimeoutSeconds")) {
    auto seconds = read_integer(*timeout, "TimeoutSeconds", 1, kMaxInteger);
    if (!seconds.ok()) return seconds.error();
    machine->timeout_seconds = static_cast<double>(*seconds);
  }
  if (const auto* language = object->if_contains("QueryLanguage")) {
    std::string name;
    if (auto status = read_string(*language, "QueryLanguage", name); !status.ok()) {
      return status.error();
    }
    if (name == "JSONata") {
      return invalid("QueryLanguage", "JSONata is not supported; only JSONPath is");
    }
    if (name != "JSONPath") return invalid("QueryLanguage", "must be \"JSONPath\"");
  }

  const json::value* start_at = object->if_contains("StartAt");
  if (start_at == nullptr) return invalid(prefix + "StartAt", "is required");
  if (auto status = read_non_empty_string(*start_at, prefix + "StartAt", machine->start_at);
      !status.ok()) {
    return status.error();
  }
  const json::value* states_value = object->if_contains("States");
  if (states_value == nullptr) return invalid(prefix + "States", "is required");
  const auto* states = states_value->if_object();
  if (states == nullptr || states->empty()) {
    return invalid(prefix + "States", "must be a non-empty object of states");
  }

  // Each state on its own. Names are registered before the state is parsed so that a branch
  // inside it cannot reuse its name.
  std::vector<std::string> order;
  for (const auto& entry : *states) {
    const std::string name(entry.key());
    const std::string place = prefix + "States." + name;
    if (name.empty()) return invalid(prefix + "States", "a state name must not be empty");
    if (code_points(name) > kMaxStateNameLength) {
      return invalid(place, "the state name is longer than " + std::to_string(kMaxStateNameLength) +
                                " characters");
    }
    if (++state_count_ > kMaxStates) {
      return invalid(place,
                     "the definition holds more than " + std::to_string(kMaxStates) + " states");
    }
    if (auto [it, fresh] = names_.emplace(name, place); !fresh) {
      return invalid(place, "the state name '" + name + "' is already used at " + it->second +
                                "; names must be unique in the whole state machine");
    }

    State state;
    state.name = name;
    if (auto status = parse_state(entry.value(), place, depth, state); !status.ok()) {
      return status.error();
    }
    machine->states.emplace(name, std::move(state));
    order.push_back(name);
  }

  // Transitions stay inside this machine: a branch or item processor cannot jump out, and no
  // state outside can jump in, because each machine only looks up its own states.
  if (machine->find(machine->start_at) == nullptr) {
    return invalid(prefix + "StartAt", "no state named '" + machine->start_at + "'");
  }
  for (const std::string& name : order) {
    const std::string place = prefix + "States." + name;
    for (const auto& [target, target_place] : transitions(*machine->find(name), place)) {
      if (machine->find(target) == nullptr) {
        return invalid(target_place, "no state named '" + target + "'");
      }
    }
  }

  // Reachability from StartAt, catchers included, as Step Functions refuses a state that
  // nothing transitions to; and a machine that can never end would run until its timeout.
  std::set<std::string, std::less<>> reached = {machine->start_at};
  std::deque<std::string> pending = {machine->start_at};
  bool terminal = false;
  while (!pending.empty()) {
    const State& state = *machine->find(pending.front());
    pending.pop_front();
    terminal = terminal || is_terminal(state);
    for (const auto& transition : transitions(state, "")) {
      if (reached.insert(transition.first).second) pending.push_back(transition.first);
    }
  }
  for (const std::string& name : order) {
    if (!reached.contains(name)) {
      return invalid(prefix + "States." + name,
                     "is not reachable from StartAt '" + machine->start_at + "'");
    }
  }
  if (!terminal) {
    return invalid(prefix + "States",
                   "no terminal state (End: true, Succeed or Fail) is reachable from StartAt");
  }
  return machine;
}

Status MachineParser::parse_state(const json::value& value, const std::string& place, int depth,
                                  State& state) {
  const auto* object = value.if_object();
  if (object == nullptr) {
    return invalid(place, std::string("must be a JSON object, not ") + kind_name(value.kind()));
  }

  // The type decides every other field.
  const json::value* type_value = object->if_contains("Type");
  if (type_value == nullptr) return invalid(place + ".Type", "is required");
  std::string type_name;
  if (auto status = read_string(*type_value, place + ".Type", type_name); !status.ok()) {
    return status;
  }
  const auto type = type_named(type_name);
  if (!type) {
    return invalid(place + ".Type", "unknown state type '" + type_name +
                                        "'; expected Pass, Task, Choice, Wait, Succeed, Fail, "
                                        "Parallel or Map");
  }
  state.type = *type;

  for (const auto& entry : *object) {
    const std::string_view key = entry.key();
    if (!allows(state.type, key)) {
      return invalid(place + "." + std::string(key), refusal(state.type, key));
    }
  }

  if (auto status = parse_common(*object, place, state); !status.ok()) return status;
  if (auto status = parse_transition(*object, place, state); !status.ok()) return status;

  switch (state.type) {
    case StateType::kPass:
      if (const auto* result = object->if_contains("Result")) state.result = *result;
      return {};
    case StateType::kTask:
      return parse_task(*object, place, state);
    case StateType::kChoice:
      return parse_choice(*object, place, state);
    case StateType::kWait:
      return parse_wait(*object, place, state);
    case StateType::kSucceed:
      return {};
    case StateType::kFail:
      return parse_fail(*object, place, state);
    case StateType::kParallel:
      return parse_parallel(*object, place, depth, state);
    case StateType::kMap:
      return parse_map(*object, place, depth, state);
  }
  return {};
}

// Comment, QueryLanguage and the input and output processing fields. The field check before
// has already refused the fields a type does not have, so each is read where present.
Status MachineParser::parse_common(const json::object& object, const std::string& place,
                                   State& state) {
  if (const auto* comment = object.if_contains("Comment")) {
    if (auto status = read_string(*comment, place + ".Comment", state.comment); !status.ok()) {
      return status;
    }
  }
  if (const auto* language = object.if_contains("QueryLanguage")) {
    std::string name;
    if (auto status = read_string(*language, place + ".QueryLanguage", name); !status.ok()) {
      return status;
    }
    if (name != "JSONPath") {
      return invalid(place + ".QueryLanguage",
                     "only \"JSONPath\" is supported, not '" + name + "'");
    }
  }

  state.input_path = root_path();
  state.output_path = root_path();
  state.result_path = root_path();
  if (auto status = read_io_path(object, "InputPath", place, PathKind::kPath, state.input_path);
      !status.ok()) {
    return status;
  }
  if (auto status = read_io_path(object, "OutputPath", place, PathKind::kPath, state.output_path);
      !status.ok()) {
    return status;
  }
  if (auto status = read_io_path(object, "ResultPath", place, PathKind::kResult, state.result_path);
      !status.ok()) {
    return status;
  }
  // A Map state's Parameters is the older name of ItemSelector, read with it.
  if (state.type != StateType::kMap) {
    if (auto status = read_template(object, "Parameters", place, state.parameters); !status.ok()) {
      return status;
    }
  }
  return read_template(object, "ResultSelector", place, state.result_selector);
}

// Next or End: exactly one for every type but Choice, Succeed and Fail, which may have neither
// (the field check has refused them there).
Status MachineParser::parse_transition(const json::object& object, const std::string& place,
                                       State& state) {
  if (state.type == StateType::kChoice || state.type == StateType::kSucceed ||
      state.type == StateType::kFail) {
    return {};
  }

  const json::value* next = object.if_contains("Next");
  const json::value* end = object.if_contains("End");
  if (end != nullptr) {
    if (!end->is_bool()) {
      return invalid(place + ".End",
                     std::string("must be a boolean, not ") + kind_name(end->kind()));
    }
    state.end = end->get_bool();
  }
  if (next != nullptr) {
    if (auto status = read_non_empty_string(*next, place + ".Next", state.next); !status.ok()) {
      return status;
    }
  }
  if (state.end && next != nullptr) {
    return invalid(place + ".End", "cannot be combined with Next");
  }
  if (!state.end && next == nullptr) {
    return invalid(place + ".Next", "is required (or \"End\": true)");
  }
  return {};
}

Status MachineParser::parse_retry_catch(const json::object& object, const std::string& place,
                                        State& state) {
  if (const auto* retry = object.if_contains("Retry")) {
    auto retriers = parse_retry(*retry, place);
    if (!retriers.ok()) return retriers.error();
    state.retry = std::move(retriers).value();
  }
  if (const auto* catch_value = object.if_contains("Catch")) {
    auto catchers = parse_catch(*catch_value, place);
    if (!catchers.ok()) return catchers.error();
    state.catchers = std::move(catchers).value();
  }
  return {};
}

Status MachineParser::parse_task(const json::object& object, const std::string& place,
                                 State& state) {
  const json::value* resource = object.if_contains("Resource");
  if (resource == nullptr) return invalid(place + ".Resource", "is required");
  if (auto status = read_non_empty_string(*resource, place + ".Resource", state.resource);
      !status.ok()) {
    return status;
  }

  // Timeouts: positive integers, given literally or by path.
  const NumberRule seconds{1, static_cast<double>(kMaxInteger), true};
  if (auto status =
          read_number_or_path(object, "TimeoutSeconds", place, seconds, state.timeout_seconds);
      !status.ok()) {
    return status;
  }
  if (auto status =
          read_number_or_path(object, "HeartbeatSeconds", place, seconds, state.heartbeat_seconds);
      !status.ok()) {
    return status;
  }
  if (state.heartbeat_seconds.value && state.timeout_seconds.value &&
      *state.heartbeat_seconds.value >= *state.timeout_seconds.value) {
    return invalid(place + ".HeartbeatSeconds",
                   "must be smaller than TimeoutSeconds (" +
                       std::to_string(static_cast<int64_t>(*state.timeout_seconds.value)) + ")");
  }

  if (const auto* credentials = object.if_contains("Credentials")) {
    if (!credentials->is_object()) {
      return invalid(place + ".Credentials",
                     std::string("must be a JSON object, not ") + kind_name(credentials->kind()));
    }
    state.credentials = *credentials;
  }
  return parse_retry_catch(object, place, state);
}

Status MachineParser::parse_choice(const json::object& object, const std::string& place,
                                   State& state) {
  const json::value* choices = object.if_contains("Choices");
  if (choices == nullptr) return invalid(place + ".Choices", "is required");
  const auto* rules = choices->if_array();
  if (rules == nullptr || rules->empty()) {
    return invalid(place + ".Choices", "must be a non-empty array of rules");
  }
  for (std::size_t i = 0; i < rules->size(); ++i) {
    auto rule = parse_choice_rule((*rules)[i], indexed(place + ".Choices", i));
    if (!rule.ok()) return rule.error();
    state.choices.push_back(std::move(rule).value());
  }

  if (const auto* fallback = object.if_contains("Default")) {
    return read_non_empty_string(*fallback, place + ".Default", state.default_next);
  }
  return {};
}

Status MachineParser::parse_wait(const json::object& object, const std::string& place,
                                 State& state) {
  constexpr std::array<std::string_view, 4> kWaitBy = {"Seconds", "Timestamp", "SecondsPath",
                                                       "TimestampPath"};
  std::optional<std::string_view> chosen;
  for (std::string_view field : kWaitBy) {
    if (!object.contains(field)) continue;
    if (chosen) {
      return invalid(place + "." + std::string(field),
                     "cannot be combined with " + std::string(*chosen));
    }
    chosen = field;
  }
  if (!chosen) {
    return invalid(place, "needs exactly one of Seconds, Timestamp, SecondsPath and TimestampPath");
  }

  const std::string field_place = place + "." + std::string(*chosen);
  const json::value& value = object.at(*chosen);
  if (*chosen == "Seconds") {
    auto seconds = read_integer(value, field_place, 0, kMaxInteger);
    if (!seconds.ok()) return seconds.error();
    state.wait_seconds = static_cast<double>(*seconds);
  } else if (*chosen == "Timestamp") {
    std::string text;
    if (auto status = read_string(value, field_place, text); !status.ok()) return status;
    // The specification's profile wants an upper-case T and Z, which parse_rfc3339 does not.
    auto instant = core::parse_rfc3339(text);
    if (!instant.ok()) return invalid(field_place, instant.error().message());
    if (text.find_first_of("tz") != std::string::npos) {
      return invalid(field_place, "'T' and 'Z' must be upper case");
    }
    state.wait_timestamp = std::move(text);
  } else {
    auto path = read_path(value, field_place, PathKind::kReference);
    if (!path.ok()) return path.error();
    (*chosen == "SecondsPath" ? state.wait_seconds_path : state.wait_timestamp_path) =
        std::move(path).value();
  }
  return {};
}

Status MachineParser::parse_fail(const json::object& object, const std::string& place,
                                 State& state) {
  // Error and Cause, each literal or by ErrorPath / CausePath: a reference path or an
  // intrinsic function.
  struct Pair {
    std::string_view literal;
    std::optional<std::string>* text;
    std::optional<Path>* path;
    std::optional<std::string>* expression;
  };
  const std::array<Pair, 2> pairs = {{
      {"Error", &state.error, &state.error_path, &state.error_expression},
      {"Cause", &state.cause, &state.cause_path, &state.cause_expression},
  }};
  for (const Pair& pair : pairs) {
    const std::string literal_field(pair.literal);
    const std::string path_field = literal_field + "Path";
    const json::value* literal = object.if_contains(literal_field);
    const json::value* path = object.if_contains(path_field);
    if (literal != nullptr && path != nullptr) {
      return invalid(place + "." + path_field, "cannot be combined with " + literal_field);
    }

    if (literal != nullptr) {
      std::string text;
      if (auto status = read_string(*literal, place + "." + literal_field, text); !status.ok()) {
        return status;
      }
      *pair.text = std::move(text);
    }
    if (path != nullptr) {
      const std::string field_place = place + "." + path_field;
      const auto* text = path->if_string();
      if (text != nullptr && !text->starts_with("$")) {
        if (!is_intrinsic(*text)) {
          return invalid(field_place, "is neither a reference path nor an intrinsic function");
        }
        if (auto status = check_intrinsic(*text, field_place); !status.ok()) return status;
        *pair.expression = std::string(*text);
        continue;
      }
      auto parsed = read_path(*path, field_place, PathKind::kReference);
      if (!parsed.ok()) return parsed.error();
      *pair.path = std::move(parsed).value();
    }
  }
  return {};
}

Status MachineParser::parse_parallel(const json::object& object, const std::string& place,
                                     int depth, State& state) {
  const json::value* branches = object.if_contains("Branches");
  if (branches == nullptr) return invalid(place + ".Branches", "is required");
  const auto* array = branches->if_array();
  if (array == nullptr || array->empty()) {
    return invalid(place + ".Branches", "must be a non-empty array of state machines");
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    auto branch = parse_machine((*array)[i], indexed(place + ".Branches", i), depth + 1,
                                MachineKind::kBranch);
    if (!branch.ok()) return branch.error();
    state.branches.push_back(std::move(branch).value());
  }
  return parse_retry_catch(object, place, state);
}

// ItemProcessor, or the older Iterator: a machine with an optional ProcessorConfig.
Status MachineParser::parse_processor(const json::object& object, const std::string& place,
                                      int depth, State& state) {
  const json::value* processor = object.if_contains("ItemProcessor");
  std::string field = "ItemProcessor";
  if (const json::value* iterator = object.if_contains("Iterator")) {
    if (processor != nullptr) {
      return invalid(place + ".Iterator", "cannot be combined with ItemProcessor");
    }
    processor = iterator;
    field = "Iterator";
  }
  if (processor == nullptr) {
    return invalid(place + ".ItemProcessor", "is required (or the older Iterator)");
  }
  const std::string processor_place = place + "." + field;

  if (const auto* processor_object = processor->if_object()) {
    if (const auto* config = processor_object->if_contains("ProcessorConfig")) {
      const std::string config_place = processor_place + ".ProcessorConfig";
      const auto* config_object = config->if_object();
      if (config_object == nullptr) {
        return invalid(config_place,
                       std::string("must be a JSON object, not ") + kind_name(config->kind()));
      }
      for (const auto& entry : *config_object) {
        if (entry.key() != "Mode" && entry.key() != "ExecutionType") {
          return invalid(config_place + "." + std::string(entry.key()), "unknown field");
        }
      }

      std::string mode = "INLINE";
      if (const auto* mode_value = config_object->if_contains("Mode")) {
        if (auto status = read_string(*mode_value, config_place + ".Mode", mode); !status.ok()) {
          return status;
        }
      }
      if (mode != "INLINE" && mode != "DISTRIBUTED") {
        return invalid(config_place + ".Mode",
                       "must be \"INLINE\" or \"DISTRIBUTED\", not '" + mode + "'");
      }
      state.map_mode =
          mode == "DISTRIBUTED" ? State::MapMode::kDistributed : State::MapMode::kInline;

      // Step Functions wants ExecutionType exactly when the mode is DISTRIBUTED. Homeostat
      // runs both kinds the same way, but holds the definition to the same shape.
      const json::value* execution = config_object->if_contains("ExecutionType");
      const std::string execution_place = config_place + ".ExecutionType";
      if (mode == "INLINE" && execution != nullptr) {
        return invalid(execution_place, "is only allowed with \"Mode\": \"DISTRIBUTED\"");
      }
      if (mode == "DISTRIBUTED") {
        if (execution == nullptr) {
          return invalid(execution_place, "is required with \"Mode\": \"DISTRIBUTED\"");
        }
        std::string execution_type;
        if (auto status = read_string(*execution, execution_place, execution_type); !status.ok()) {
          return status;
        }
        if (execution_type != "STANDARD" && execution_type != "EXPRESS") {
          return invalid(execution_place,
                         "must be \"STANDARD\" or \"EXPRESS\", not '" + execution_type + "'");
        }
      }
    }
  }

  auto machine = parse_machine(*processor, processor_place, depth + 1, MachineKind::kItemProcessor);
  if (!machine.ok()) return machine.error();
  state.item_processor = std::move(machine).value();
  return {};
}

// The fields only a DISTRIBUTED Map state has, as the Step Functions guide lists them: failure
// tolerance, ItemBatcher and Label.
Status MachineParser::parse_distributed(const json::object& object, const std::string& place,
                                        State& state) {
  constexpr std::array<std::string_view, 6> kDistributedOnly = {"ToleratedFailureCount",
                                                                "ToleratedFailureCountPath",
                                                                "ToleratedFailurePercentage",
                                                                "ToleratedFailurePercentagePath",
                                                                "ItemBatcher",
                                                                "Label"};
  if (state.map_mode == State::MapMode::kInline) {
    for (std::string_view field : kDistributedOnly) {
      if (object.contains(field)) {
        return invalid(place + "." + std::string(field),
                       "is only allowed in a DISTRIBUTED Map state (ItemProcessor.ProcessorConfig."
                       "Mode)");
      }
    }
    return {};
  }

  if (auto status = read_number_or_path(object, "ToleratedFailureCount", place, NumberRule{},
                                        state.tolerated_failure_count);
      !status.ok()) {
    return status;
  }
  if (auto status =
          read_number_or_path(object, "ToleratedFailurePercentage", place,
                              NumberRule{0, 100, false}, state.tolerated_failure_percentage);
      !status.ok()) {
    return status;
  }

  if (const auto* label = object.if_contains("Label")) {
    if (auto status = read_non_empty_string(*label, place + ".Label", state.label); !status.ok()) {
      return status;
    }
    if (code_points(state.label) > kMaxLabelLength) {
      return invalid(place + ".Label",
                     "must be at most " + std::to_string(kMaxLabelLength) + " characters");
    }
  }

  const json::value* batcher = object.if_contains("ItemBatcher");
  if (batcher == nullptr) return {};
  const std::string batcher_place = place + ".ItemBatcher";
  const auto* batcher_object = batcher->if_object();
  if (batcher_object == nullptr) {
    return invalid(batcher_place,
                   std::string("must be a JSON object, not ") + kind_name(batcher->kind()));
  }
  for (const auto& entry : *batcher_object) {
    const std::string_view key = entry.key();
    if (key != "MaxItemsPerBatch" && key != "MaxItemsPerBatchPath" &&
        key != "MaxInputBytesPerBatch" && key != "MaxInputBytesPerBatchPath" &&
        key != "BatchInput") {
      return invalid(batcher_place + "." + std::string(key), "unknown field");
    }
  }
  // A batch is one item processor input, so its bytes are bounded like any payload.
  NumberOrPath items;
  NumberOrPath bytes;
  if (auto status =
          read_number_or_path(*batcher_object, "MaxItemsPerBatch", batcher_place,
                              NumberRule{1, static_cast<double>(kMaxInteger), true}, items);
      !status.ok()) {
    return status;
  }
  if (auto status =
          read_number_or_path(*batcher_object, "MaxInputBytesPerBatch", batcher_place,
                              NumberRule{1, static_cast<double>(kMaxPayloadBytes), true}, bytes);
      !status.ok()) {
    return status;
  }
  if (!items.present() && !bytes.present()) {
    return invalid(batcher_place,
                   "needs MaxItemsPerBatch or MaxInputBytesPerBatch (or their Path forms)");
  }
  std::optional<json::value> batch_input;
  if (auto status = read_template(*batcher_object, "BatchInput", batcher_place, batch_input);
      !status.ok()) {
    return status;
  }
  state.item_batcher = *batcher;
  return {};
}

Status MachineParser::parse_map(const json::object& object, const std::string& place, int depth,
                                State& state) {
  // The processor first: its mode decides which fields the state may have.
  if (auto status = parse_processor(object, place, depth, state); !status.ok()) return status;

  const bool has_selector = object.contains("ItemSelector");
  if (has_selector && object.contains("Parameters")) {
    return invalid(place + ".Parameters", "cannot be combined with ItemSelector");
  }
  if (auto status = read_template(object, has_selector ? "ItemSelector" : "Parameters", place,
                                  state.parameters);
      !status.ok()) {
    return status;
  }

  state.items_path = root_path();
  if (const auto* items = object.if_contains("ItemsPath")) {
    auto path = read_path(*items, place + ".ItemsPath", PathKind::kReference);
    if (!path.ok()) return path.error();
    state.items_path = std::move(path).value();
  }
  if (auto status =
          read_number_or_path(object, "MaxConcurrency", place, NumberRule{}, state.max_concurrency);
      !status.ok()) {
    return status;
  }
  if (auto status = parse_distributed(object, place, state); !status.ok()) return status;
  return parse_retry_catch(object, place, state);
}

}  // namespace

std::string_view state_type_name(StateType type) {
  return info(type).name;
}

const State* StateMachine::find(std::string_view name) const {
  const auto it = states.find(name);
  return it == states.end() ? nullptr : &it->second;
}

Result<std::shared_ptr<const StateMachine>> parse_state_machine(std::string_view text) {
  if (text.size() > kMaxDefinitionBytes) {
    return invalid("definition", "is larger than " + std::to_string(kMaxDefinitionBytes) +
                                     " bytes, the Step Functions limit");
  }
  if (auto status = check_text(text); !status.ok()) return status.error();

  // check_text accepted the same text with the same options, so this parse succeeds; the check
  // stays because a failure here would otherwise be an exception.
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  json::error_code ec;
  json::value definition = json::parse(text, ec, {}, options);
  if (ec) return invalid("definition", "not valid JSON: " + ec.message());
  return parse_state_machine(definition);
}

Result<std::shared_ptr<const StateMachine>> parse_state_machine(const json::value& definition) {
  if (json_depth(definition) > kMaxJsonDepth) {
    return invalid("definition",
                   "nested more than " + std::to_string(kMaxJsonDepth) + " levels deep");
  }
  MachineParser parser;
  auto machine = parser.parse_machine(definition, "", 0, MachineKind::kTop);
  if (!machine.ok()) return machine.error();
  return std::shared_ptr<const StateMachine>(std::move(machine).value());
}

}  // namespace homeostat::states
