// Rules: a pattern on a bus and the targets an event that matches it is delivered to. A rule
// comes from a file in the config directory (rules/*.yaml, *.yml, *.json) or from the API;
// both give the same JSON shape, documented in docs/rules.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "core/result.hpp"
#include "patterns/input.hpp"
#include "patterns/pattern.hpp"

namespace homeostat::bus {

// How often and for how long a delivery is tried before it goes to the dead-letter store.
struct RetryPolicy {
  int maximum_retry_attempts = 185;                 // attempts after the first, 0..185
  int64_t maximum_event_age_ms = 24 * 3'600'000LL;  // from the event's arrival, 60 s..24 h
};

struct WebhookTarget {
  std::string url;  // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t timeout_ms = 10'000;
};

// Where a target sends its input, and how that input is made from the event.
struct Target {
  enum class Kind { kWebhook, kTopic, kBus };
  std::string id;  // unique within the rule
  Kind kind = Kind::kWebhook;
  WebhookTarget webhook;
  std::string topic;  // kTopic: the topic's name
  std::string bus;    // kBus: the bus the event is put on
  std::optional<patterns::JsonPath> input_path;
  std::optional<patterns::InputTransformer> input_transformer;
  RetryPolicy retry;
};

struct Rule {
  std::string name;
  std::string description;
  std::string bus = "default";
  bool enabled = true;
  patterns::Pattern pattern;
  std::vector<Target> targets;
  std::string origin;              // "file:<path>" or "api"
  boost::json::object definition;  // the rule as given, for listing and storing
};

// Parses and checks a rule from its JSON form. `origin` is recorded as given. The error names
// the field at fault, e.g. `targets[1].retry.maximum_retry_attempts: must be from 0 to 185`.
core::Result<Rule> parse_rule(const boost::json::value& json, const std::string& origin);

// The rule as JSON: its definition plus "origin".
boost::json::value rule_to_json(const Rule& rule);

// Checks a name for rules, targets, buses and topics: 1 to 64 of [A-Za-z0-9._-].
bool valid_name(std::string_view name);

}  // namespace homeostat::bus
