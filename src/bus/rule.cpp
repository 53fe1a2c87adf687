#include "bus/rule.hpp"

#include <set>

#include <boost/json.hpp>

#include "core/units.hpp"

namespace homeostat::bus {
namespace json = boost::json;

namespace {

core::Error bad(const std::string& where, const std::string& what) {
  return core::Error(core::ErrorCode::kInvalidArgument, where + ": " + what);
}

// Checks that `obj` has only the `known` keys; names the first other one.
core::Status only_keys(const json::object& obj, std::initializer_list<std::string_view> known,
                       const std::string& where) {
  for (const auto& [key, value] : obj) {
    bool found = false;
    for (auto k : known) {
      found |= key == k;
    }
    if (!found) {
      std::string list;
      for (auto k : known) {
        list += (list.empty() ? "" : ", ") + std::string(k);
      }
      return bad(where.empty() ? std::string(key) : where + "." + std::string(key),
                 "unknown field; the fields here are " + list);
    }
  }
  return {};
}

core::Result<std::string> string_field(const json::object& obj, std::string_view key,
                                       const std::string& where, bool required) {
  const json::value* v = obj.if_contains(key);
  std::string at = where.empty() ? std::string(key) : where + "." + std::string(key);
  if (v == nullptr) {
    if (required) {
      return bad(at, "is required");
    }
    return std::string();
  }
  if (!v->is_string()) {
    return bad(at, "must be a string");
  }
  return std::string(v->get_string());
}

// A duration as "30s", "1h" or a number of seconds.
core::Result<int64_t> duration_field(const json::value& v, const std::string& at) {
  if (v.is_string()) {
    auto ms = core::parse_duration_ms(std::string(v.get_string()));
    if (!ms) {
      return bad(at, ms.error().message());
    }
    return *ms;
  }
  // A bare number is seconds; anything past a few centuries cannot be meant (nor multiplied).
  if (v.is_int64() && v.get_int64() >= 0 && v.get_int64() <= 9'000'000'000LL) {
    return v.get_int64() * 1000;
  }
  if (v.is_int64() || v.is_uint64()) {
    return bad(at, "must be a number of seconds from 0 to 9000000000");
  }
  return bad(at, "must be a duration such as \"30s\" or \"1h\", or a number of seconds");
}

core::Result<RetryPolicy> parse_retry(const json::value& v, const std::string& at) {
  RetryPolicy r;
  if (!v.is_object()) {
    return bad(at, "must be an object");
  }
  const auto& obj = v.get_object();
  if (auto s = only_keys(obj, {"maximum_retry_attempts", "maximum_event_age"}, at); !s.ok()) {
    return s.error();
  }
  if (const auto* n = obj.if_contains("maximum_retry_attempts")) {
    if (!n->is_int64() || n->get_int64() < 0 || n->get_int64() > 185) {
      return bad(at + ".maximum_retry_attempts", "must be a whole number from 0 to 185");
    }
    r.maximum_retry_attempts = static_cast<int>(n->get_int64());
  }
  if (const auto* age = obj.if_contains("maximum_event_age")) {
    auto ms = duration_field(*age, at + ".maximum_event_age");
    if (!ms) {
      return ms.error();
    }
    if (*ms < 60'000 || *ms > 24 * 3'600'000LL) {
      return bad(at + ".maximum_event_age", "must be from 60s to 24h");
    }
    r.maximum_event_age_ms = *ms;
  }
  return r;
}

core::Result<WebhookTarget> parse_webhook(const json::value& v, const std::string& at) {
  if (!v.is_object()) {
    return bad(at, "must be an object with a url");
  }
  const auto& obj = v.get_object();
  if (auto s = only_keys(obj, {"url", "headers", "timeout"}, at); !s.ok()) {
    return s.error();
  }
  WebhookTarget w;
  auto url = string_field(obj, "url", at, true);
  if (!url) {
    return url.error();
  }
  if (!url->starts_with("http://") && !url->starts_with("https://")) {
    return bad(at + ".url", "must start with http:// or https://");
  }
  w.url = *url;
  if (const auto* headers = obj.if_contains("headers")) {
    if (!headers->is_object()) {
      return bad(at + ".headers", "must be an object of header names and string values");
    }
    for (const auto& [name, value] : headers->get_object()) {
      std::string hat = at + ".headers." + std::string(name);
      bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      });
      if (!token) {
        return bad(hat, "is not a valid header name");
      }
      if (!value.is_string() || value.get_string().find_first_of("\r\n") != json::string::npos) {
        return bad(hat, "must be a string on one line");
      }
      w.headers.emplace_back(std::string(name), std::string(value.get_string()));
    }
  }
  if (const auto* timeout = obj.if_contains("timeout")) {
    auto ms = duration_field(*timeout, at + ".timeout");
    if (!ms) {
      return ms.error();
    }
    if (*ms < 100 || *ms > 300'000) {
      return bad(at + ".timeout", "must be from 100ms to 5m");
    }
    w.timeout_ms = *ms;
  }
  return w;
}

core::Result<Target> parse_target(const json::value& v, const std::string& at,
                                  const std::string& rule_bus) {
  if (!v.is_object()) {
    return bad(at, "must be an object");
  }
  const auto& obj = v.get_object();
  if (auto s = only_keys(
          obj,
          {"id", "webhook", "topic", "bus", "runbook", "input_path", "input_transformer", "retry"},
          at);
      !s.ok()) {
    return s.error();
  }
  Target t;
  auto id = string_field(obj, "id", at, true);
  if (!id) {
    return id.error();
  }
  if (!valid_name(*id)) {
    return bad(at + ".id", "must be 1 to 64 of A-Z a-z 0-9 . _ -");
  }
  t.id = *id;

  // Exactly one kind of destination.
  int kinds = 0;
  for (auto k : {"webhook", "topic", "bus", "runbook"}) {
    kinds += obj.contains(k) ? 1 : 0;
  }
  if (kinds != 1) {
    return bad(at, "needs exactly one of webhook, topic or bus");
  }
  if (obj.contains("runbook")) {
    return bad(at + ".runbook",
               "runbook targets need the runbook engine, which this release "
               "does not have yet");
  }
  if (const auto* w = obj.if_contains("webhook")) {
    auto webhook = parse_webhook(*w, at + ".webhook");
    if (!webhook) {
      return webhook.error();
    }
    t.kind = Target::Kind::kWebhook;
    t.webhook = std::move(*webhook);
  } else if (obj.contains("topic")) {
    auto topic = string_field(obj, "topic", at, true);
    if (!topic) {
      return topic.error();
    }
    if (!valid_name(*topic)) {
      return bad(at + ".topic", "must be 1 to 64 of A-Z a-z 0-9 . _ -");
    }
    t.kind = Target::Kind::kTopic;
    t.topic = *topic;
  } else {
    auto bus = string_field(obj, "bus", at, true);
    if (!bus) {
      return bus.error();
    }
    if (!valid_name(*bus)) {
      return bad(at + ".bus", "must be 1 to 64 of A-Z a-z 0-9 . _ -");
    }
    if (*bus == rule_bus) {
      return bad(at + ".bus", "is the rule's own bus; the event would come straight back");
    }
    t.kind = Target::Kind::kBus;
    t.bus = *bus;
  }

  // What the target receives: the event, the value at input_path, or the transformer's output.
  if (obj.contains("input_path") && obj.contains("input_transformer")) {
    return bad(at, "input_path and input_transformer cannot both be given");
  }
  if (obj.contains("input_path")) {
    auto text = string_field(obj, "input_path", at, true);
    if (!text) {
      return text.error();
    }
    auto path = patterns::JsonPath::parse(*text);
    if (!path) {
      return bad(at + ".input_path", path.error().message());
    }
    t.input_path = std::move(*path);
  }
  if (const auto* tr = obj.if_contains("input_transformer")) {
    std::string tat = at + ".input_transformer";
    if (!tr->is_object()) {
      return bad(tat, "must be an object with input_paths_map and input_template");
    }
    const auto& tobj = tr->get_object();
    if (auto s = only_keys(tobj, {"input_paths_map", "input_template"}, tat); !s.ok()) {
      return s.error();
    }
    std::vector<std::pair<std::string, std::string>> paths;
    if (const auto* map = tobj.if_contains("input_paths_map")) {
      if (!map->is_object()) {
        return bad(tat + ".input_paths_map", "must be an object of names and JSON paths");
      }
      for (const auto& [name, path] : map->get_object()) {
        if (!path.is_string()) {
          return bad(tat + ".input_paths_map." + std::string(name), "must be a string");
        }
        paths.emplace_back(std::string(name), std::string(path.get_string()));
      }
    }
    auto input_template = string_field(tobj, "input_template", tat, true);
    if (!input_template) {
      return input_template.error();
    }
    auto transformer = patterns::InputTransformer::create(paths, std::move(*input_template));
    if (!transformer) {
      return bad(tat, transformer.error().message());
    }
    if (t.kind == Target::Kind::kBus) {
      return bad(at, "a bus target receives the event itself; it takes no input_transformer");
    }
    t.input_transformer = std::move(*transformer);
  }
  if (t.kind == Target::Kind::kBus && t.input_path) {
    return bad(at, "a bus target receives the event itself; it takes no input_path");
  }
  if (const auto* retry = obj.if_contains("retry")) {
    auto policy = parse_retry(*retry, at + ".retry");
    if (!policy) {
      return policy.error();
    }
    t.retry = *policy;
  }
  return t;
}

}  // namespace

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

core::Result<Rule> parse_rule(const json::value& v, const std::string& origin) {
  if (!v.is_object()) {
    return bad("rule", "must be an object");
  }
  const auto& obj = v.get_object();
  // "origin" is what rule_to_json adds; it is ignored, so a listed rule can be sent back.
  if (auto s = only_keys(
          obj, {"name", "description", "bus", "enabled", "pattern", "targets", "origin"}, "");
      !s.ok()) {
    return s.error();
  }
  Rule r;
  r.origin = origin;
  r.definition = obj;
  r.definition.erase("origin");

  auto name = string_field(obj, "name", "", true);
  if (!name) {
    return name.error();
  }
  if (!valid_name(*name)) {
    return bad("name", "must be 1 to 64 of A-Z a-z 0-9 . _ -");
  }
  r.name = *name;
  auto description = string_field(obj, "description", "", false);
  if (!description) {
    return description.error();
  }
  r.description = *description;
  if (obj.contains("bus")) {
    auto bus = string_field(obj, "bus", "", true);
    if (!bus) {
      return bus.error();
    }
    if (!valid_name(*bus)) {
      return bad("bus", "must be 1 to 64 of A-Z a-z 0-9 . _ -");
    }
    r.bus = *bus;
  }
  if (const auto* enabled = obj.if_contains("enabled")) {
    if (!enabled->is_bool()) {
      return bad("enabled", "must be true or false");
    }
    r.enabled = enabled->get_bool();
  }

  const auto* pattern = obj.if_contains("pattern");
  if (pattern == nullptr) {
    return bad("pattern", "is required");
  }
  auto parsed = patterns::parse_pattern_value(*pattern);
  if (!parsed) {
    // Errors about the pattern as a whole already begin with "pattern: ".
    const std::string& message = parsed.error().message();
    return message.starts_with("pattern: ") ? parsed.error() : bad("pattern", message);
  }
  r.pattern = std::move(*parsed);

  const auto* targets = obj.if_contains("targets");
  if (targets == nullptr || !targets->is_array()) {
    return bad("targets", "is required: a list of up to 5 targets");
  }
  if (targets->get_array().size() > 5) {
    return bad("targets", "a rule has at most 5 targets");
  }
  std::set<std::string> ids;
  for (size_t i = 0; i < targets->get_array().size(); ++i) {
    std::string at = "targets[" + std::to_string(i) + "]";
    auto t = parse_target(targets->get_array()[i], at, r.bus);
    if (!t) {
      return t.error();
    }
    if (!ids.insert(t->id).second) {
      return bad(at + ".id", "\"" + t->id + "\" is used by another target of this rule");
    }
    r.targets.push_back(std::move(*t));
  }
  return r;
}

json::value rule_to_json(const Rule& rule) {
  json::object out = rule.definition;
  out["origin"] = rule.origin;
  return out;
}

}  // namespace homeostat::bus
