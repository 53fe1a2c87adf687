#include "events/envelope.hpp"

#include <simdjson.h>

#include <charconv>
#include <optional>

#include "core/json.hpp"

namespace homeostat::events {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

const char* type_name(element_type t) {
  switch (t) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

EntryError entry_error(EntryErrorCode code, std::string message) {
  return EntryError{code, std::move(message)};
}

EntryError wrong_type(std::string_view field, std::string_view want, element got) {
  return entry_error(EntryErrorCode::kWrongType, "\"" + std::string(field) + "\" must be " +
                                                     std::string(want) + ", got " +
                                                     type_name(got.type()));
}

// The top-level fields of one entry, as found; each is set at most once.
struct Fields {
  std::optional<element> version, id, detail_type, source, account, time, region, resources, detail;
};

// Returns the slot for a top-level field name, or nullptr when the envelope has no such field.
std::optional<element>* slot_for(Fields& f, std::string_view key) {
  if (key == "version") return &f.version;
  if (key == "id") return &f.id;
  if (key == "detail-type") return &f.detail_type;
  if (key == "source") return &f.source;
  if (key == "account") return &f.account;
  if (key == "time") return &f.time;
  if (key == "region") return &f.region;
  if (key == "resources") return &f.resources;
  if (key == "detail") return &f.detail;
  return nullptr;
}

// Reads an optional string field; sets *error and returns false when it is not a string.
bool optional_string(const std::optional<element>& e, std::string_view field, std::string_view* out,
                     std::optional<EntryError>* error) {
  if (!e) {
    return true;
  }
  if (!e->is_string()) {
    *error = wrong_type(field, "a string", *e);
    return false;
  }
  return e->get(*out) == simdjson::SUCCESS;
}

// Reads a required, non-empty string field.
bool required_string(const std::optional<element>& e, std::string_view field, std::string_view* out,
                     std::optional<EntryError>* error) {
  if (!e) {
    *error = entry_error(EntryErrorCode::kMissingField,
                         "missing required field \"" + std::string(field) + "\"");
    return false;
  }
  if (!optional_string(e, field, out, error)) {
    return false;
  }
  if (out->empty()) {
    *error = entry_error(EntryErrorCode::kEmptyField,
                         "\"" + std::string(field) + "\" must not be empty");
    return false;
  }
  return true;
}

// Writes a parsed value as minified JSON. Numbers take their shortest form that reads back as
// the same value (8.0 -> 8, 1e2 -> 100, 1e-7 -> 1e-07). Recursion is bounded by the parser's
// depth limit.
void append_json(std::string& out, element e) {
  switch (e.type()) {
    case element_type::OBJECT: {
      out.push_back('{');
      bool first = true;
      for (const auto field : simdjson::dom::object(e)) {
        out += first ? "" : ",";
        first = false;
        core::append_json_string(out, field.key);
        out.push_back(':');
        append_json(out, field.value);
      }
      out.push_back('}');
      return;
    }
    case element_type::ARRAY: {
      out.push_back('[');
      bool first = true;
      for (const element item : simdjson::dom::array(e)) {
        out += first ? "" : ",";
        first = false;
        append_json(out, item);
      }
      out.push_back(']');
      return;
    }
    case element_type::STRING:
      core::append_json_string(out, std::string_view(e));
      return;
    case element_type::INT64:
      out += std::to_string(int64_t(e));
      return;
    case element_type::UINT64:
      out += std::to_string(uint64_t(e));
      return;
    case element_type::DOUBLE: {
      char buf[32];
      const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, double(e));
      out.append(buf, ec == std::errc() ? end : buf);
      return;
    }
    case element_type::BOOL:
      out += bool(e) ? "true" : "false";
      return;
    case element_type::NULL_VALUE:
      out += "null";
      return;
  }
}

bool is_blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

const char* entry_error_name(EntryErrorCode code) {
  switch (code) {
    case EntryErrorCode::kInvalidJson:
      return "InvalidJson";
    case EntryErrorCode::kNotAnObject:
      return "NotAnObject";
    case EntryErrorCode::kMissingField:
      return "MissingField";
    case EntryErrorCode::kEmptyField:
      return "EmptyField";
    case EntryErrorCode::kWrongType:
      return "WrongType";
    case EntryErrorCode::kInvalidTime:
      return "InvalidTime";
    case EntryErrorCode::kInvalidId:
      return "InvalidId";
    case EntryErrorCode::kUnknownField:
      return "UnknownField";
    case EntryErrorCode::kEntryTooLarge:
      return "EntryTooLarge";
  }
  return "InvalidJson";
}

bool is_valid_event_id(std::string_view id) {
  if (id.empty() || id.size() > 128) {
    return false;
  }
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

EnvelopeParser::EnvelopeParser(Limits limits, Defaults defaults, core::IdGenerator& ids,
                               const core::Clock& clock)
    : limits_(limits), defaults_(std::move(defaults)), ids_(ids), clock_(clock) {}

namespace {

// Validates one parsed entry and writes its canonical text. Kept apart from the parser class so
// that the array and line paths share it without exposing simdjson in the header.
Entry validate(element root, const Limits& limits, const Defaults& defaults, core::IdGenerator& ids,
               const core::Clock& clock) {
  if (!root.is_object()) {
    return entry_error(
        EntryErrorCode::kNotAnObject,
        std::string("an event must be a JSON object, got ") + type_name(root.type()));
  }

  // Collect the fields, refusing unknown and repeated ones.
  Fields f;
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) {
    return entry_error(EntryErrorCode::kNotAnObject, "an event must be a JSON object");
  }
  for (const auto field : object) {
    std::optional<element>* slot = slot_for(f, field.key);
    if (slot == nullptr) {
      return entry_error(EntryErrorCode::kUnknownField,
                         "unknown field \"" + std::string(field.key) + "\"");
    }
    if (slot->has_value()) {
      return entry_error(EntryErrorCode::kUnknownField,
                         "field \"" + std::string(field.key) + "\" appears twice");
    }
    *slot = field.value;
  }

  // The required fields, then the optional ones.
  std::optional<EntryError> error;
  std::string_view source, detail_type, version = "0", id, account = defaults.account,
                                        region = defaults.region, time;
  if (!required_string(f.source, "source", &source, &error) ||
      !required_string(f.detail_type, "detail-type", &detail_type, &error)) {
    return *error;
  }
  if (!f.detail) {
    return entry_error(EntryErrorCode::kMissingField, "missing required field \"detail\"");
  }
  if (!f.detail->is_object()) {
    return wrong_type("detail", "an object", *f.detail);
  }
  if (!optional_string(f.version, "version", &version, &error) ||
      !optional_string(f.id, "id", &id, &error) ||
      !optional_string(f.account, "account", &account, &error) ||
      !optional_string(f.region, "region", &region, &error) ||
      !optional_string(f.time, "time", &time, &error)) {
    return *error;
  }
  if (f.resources && !f.resources->is_array()) {
    return wrong_type("resources", "an array of strings", *f.resources);
  }

  // Fill in what is absent: a time-ordered id and the time of arrival.
  Event event;
  if (f.id) {
    if (!is_valid_event_id(id)) {
      return entry_error(EntryErrorCode::kInvalidId,
                         "\"id\" must be 1 to 128 characters of A-Z a-z 0-9 . _ : -");
    }
    event.id = id;
  } else {
    event.id = ids.next();
  }
  std::string filled_time;
  if (f.time) {
    auto parsed = core::parse_rfc3339(time);
    if (!parsed) {
      return entry_error(EntryErrorCode::kInvalidTime, "\"time\": " + parsed.error().message());
    }
    event.time_ms = *parsed;
  } else {
    // The text says whole seconds, as EventBridge writes them; time_ms is cut to the same second
    // so that a lookup by time never returns an event whose text reads earlier than the bound.
    const int64_t now = clock.now_ms();
    event.time_ms = now - ((now % 1000) + 1000) % 1000;
    filled_time = core::format_rfc3339(event.time_ms);
    time = filled_time;
  }
  event.source = source;
  event.detail_type = detail_type;

  // Write the canonical text.
  std::string& out = event.json;
  out.reserve(256);
  out += "{\"version\":";
  core::append_json_string(out, version);
  out += ",\"id\":";
  core::append_json_string(out, event.id);
  out += ",\"detail-type\":";
  core::append_json_string(out, detail_type);
  out += ",\"source\":";
  core::append_json_string(out, source);
  out += ",\"account\":";
  core::append_json_string(out, account);
  out += ",\"time\":";
  core::append_json_string(out, time);
  out += ",\"region\":";
  core::append_json_string(out, region);
  out += ",\"resources\":[";
  if (f.resources) {
    size_t index = 0;
    simdjson::dom::array resources;
    if (f.resources->get(resources) != simdjson::SUCCESS) {
      return wrong_type("resources", "an array of strings", *f.resources);
    }
    for (const element r : resources) {
      std::string_view text;
      if (r.get(text) != simdjson::SUCCESS) {
        return wrong_type("resources[" + std::to_string(index) + "]", "a string", r);
      }
      if (index++ > 0) {
        out.push_back(',');
      }
      core::append_json_string(out, text);
    }
  }
  out += "],\"detail\":";
  append_json(out, *f.detail);
  out.push_back('}');

  if (out.size() > limits.max_entry_bytes) {
    return entry_error(EntryErrorCode::kEntryTooLarge,
                       "the event is " + std::to_string(out.size()) + " bytes, over the limit of " +
                           std::to_string(limits.max_entry_bytes));
  }
  return event;
}

simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

core::Error batch_error(core::ErrorCode code, std::string message) {
  return {code, std::move(message)};
}

}  // namespace

Entry EnvelopeParser::parse_entry(std::string_view json) const {
  if (json.size() > limits_.max_batch_bytes) {
    return entry_error(EntryErrorCode::kEntryTooLarge, "the entry is over the batch size limit");
  }
  auto doc = thread_parser().parse(json.data(), json.size());
  if (doc.error()) {
    return entry_error(EntryErrorCode::kInvalidJson,
                       std::string("not JSON: ") + simdjson::error_message(doc.error()));
  }
  return validate(doc.value_unsafe(), limits_, defaults_, ids_, clock_);
}

core::Result<std::vector<Entry>> EnvelopeParser::parse_batch(std::string_view body,
                                                             BodyFormat format) const {
  if (body.size() > limits_.max_batch_bytes) {
    return batch_error(core::ErrorCode::kTooLarge, "the body is " + std::to_string(body.size()) +
                                                       " bytes, over the limit of " +
                                                       std::to_string(limits_.max_batch_bytes));
  }
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return batch_error(core::ErrorCode::kInvalidArgument, "the body holds no event");
  }
  const auto too_many = [&] {
    return batch_error(
        core::ErrorCode::kInvalidArgument,
        "the body holds more than " + std::to_string(limits_.max_batch_entries) + " entries");
  };

  // An array: the whole body must be valid JSON, since a broken array has no entries to keep.
  if (format != BodyFormat::kNdjson && body[first] == '[') {
    auto doc = thread_parser().parse(body.data(), body.size());
    if (doc.error()) {
      return batch_error(core::ErrorCode::kInvalidArgument,
                         std::string("the body is not a valid JSON array: ") +
                             simdjson::error_message(doc.error()));
    }
    simdjson::dom::array array;
    if (doc.get(array) != simdjson::SUCCESS) {
      return batch_error(core::ErrorCode::kInvalidArgument, "the body is not a JSON array");
    }
    if (array.size() > limits_.max_batch_entries) {
      return too_many();
    }
    if (array.size() == 0) {
      return batch_error(core::ErrorCode::kInvalidArgument, "the array holds no event");
    }
    std::vector<Entry> entries;
    entries.reserve(array.size());
    for (const element e : array) {
      entries.push_back(validate(e, limits_, defaults_, ids_, clock_));
    }
    return entries;
  }

  // One JSON value, which may span several lines.
  if (format == BodyFormat::kJson || format == BodyFormat::kAuto) {
    auto doc = thread_parser().parse(body.data(), body.size());
    if (!doc.error() || format == BodyFormat::kJson) {
      std::vector<Entry> entries;
      entries.push_back(
          doc.error()
              ? Entry(entry_error(EntryErrorCode::kInvalidJson,
                                  std::string("not JSON: ") + simdjson::error_message(doc.error())))
              : validate(doc.value_unsafe(), limits_, defaults_, ids_, clock_));
      return entries;
    }
  }

  // NDJSON: every non-blank line is an entry of its own.
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < body.size();) {
    size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) {
      end = body.size();
    }
    const std::string_view line = body.substr(pos, end - pos);
    if (!is_blank(line)) {
      if (lines.size() == limits_.max_batch_entries) {
        return too_many();
      }
      lines.push_back(line);
    }
    pos = end + 1;
  }
  std::vector<Entry> entries;
  entries.reserve(lines.size());
  for (const std::string_view line : lines) {
    entries.push_back(parse_entry(line));
  }
  return entries;
}

}  // namespace homeostat::events
