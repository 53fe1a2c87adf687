// The API's routes, grouped by the noun they serve. Each function adds its routes to a Router;
// src/daemon/ calls them once at start-up with the subsystems they need.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/auth.hpp"
#include "api/router.hpp"
#include "bus/dispatcher.hpp"
#include "bus/event_log.hpp"
#include "bus/rule_set.hpp"
#include "core/clock.hpp"
#include "engine/engine.hpp"
#include "events/envelope.hpp"
#include "store/dispatch_store.hpp"
#include "store/event_store.hpp"
#include "store/execution_store.hpp"

namespace homeostat::api {

// GET /healthz (alive) and GET /readyz (the store takes writes); no token needed.
void add_health_routes(Router& router, store::EventStore& events);

// POST /v1/events, GET /v1/events, GET /v1/events/{id}.
void add_event_routes(Router& router, const events::EnvelopeParser& parser, bus::EventLog& log,
                      store::EventStore& events);

// POST /v1/tokens, GET /v1/tokens, DELETE /v1/tokens/{name}; admin only.
void add_token_routes(Router& router, Authenticator& auth);

// What the rule routes work with.
struct BusParts {
  store::DispatchStore& store;
  bus::RuleSet& rules;
  bus::Dispatcher& dispatcher;
  std::function<void()> wake_deliverer;
  std::function<core::Result<size_t>()> reload_files;  // reads the rule files again
  const core::Clock& clock;
};

// /v1/rules (GET viewer; POST, PUT, DELETE admin), /v1/deliveries and /v1/dlq (viewer),
// POST /v1/dlq/redrive (operator), /v1/topics/{topic}/messages (viewer), /v1/replays (GET
// viewer, POST operator).
void add_rule_routes(Router& router, const BusParts& parts);

// A state machine the daemon knows by name.
struct MachineEntry {
  std::string name;
  std::string hash;    // the current version's content hash
  std::string origin;  // "api", or "file:<path>" for one from the configuration directory
};

// The state machines in force: those from <config>/state-machines and those put through the
// API. The daemon implements it (daemon/state_machines.hpp). Thread-safe.
class MachineCatalog {
 public:
  virtual ~MachineCatalog() = default;
  // Validates `definition`, makes it the current version of `name` and keeps it across
  // restarts; returns its hash. kInvalidArgument with the validator's message (naming the state
  // and the field) for a bad name or definition; kAlreadyExists when a file owns the name.
  virtual core::Result<std::string> put(const std::string& name, const std::string& definition) = 0;
  // Every machine in force, by name.
  virtual std::vector<MachineEntry> list() const = 0;
  virtual std::optional<MachineEntry> find(const std::string& name) const = 0;
};

// What the execution routes work with; all outlive the router.
struct ExecutionParts {
  MachineCatalog& machines;
  engine::Engine& engine;
  store::ExecutionStore& store;  // for reading executions and their history
};

// /v1/state-machines (GET viewer, PUT operator) and /v1/executions (GET viewer; POST and
// POST .../stop operator).
void add_execution_routes(Router& router, const ExecutionParts& parts);

// POST /v1/test-event-pattern: {"pattern", "event"} -> {"result": true|false}; any role.
void add_pattern_routes(Router& router);

// Encodes and decodes the opaque cursor of a listing ("<time_ms>.<seq>").
std::string encode_cursor(const store::EventCursor& cursor);
std::optional<store::EventCursor> decode_cursor(std::string_view text);

}  // namespace homeostat::api
