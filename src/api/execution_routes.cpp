// State machines and their executions: /v1/state-machines and /v1/executions.
//
// Starting goes through the engine, which answers once ExecutionStarted is durable; reading
// goes to the execution store, so an execution that ended before a restart reads the same as
// one that ended a moment ago.
#include <charconv>
#include <chrono>

#include <boost/json.hpp>

#include "api/routes.hpp"
#include "core/clock.hpp"

namespace homeostat::api {
namespace {

namespace json = boost::json;

constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 1000;
// How long POST .../stop waits for the execution to end before it answers anyway.
constexpr std::chrono::milliseconds kStopWait{5000};

Response json_response(unsigned status, const json::value& v) {
  return Response{status, "application/json", json::serialize(v), {}};
}

Response store_error(const core::Error& e) {
  return error_response(500, "Internal", e.message());
}

// Maps an engine or catalog error to the answer a client can act on.
Response engine_error(const core::Error& e) {
  switch (e.code()) {
    case core::ErrorCode::kInvalidArgument:
    case core::ErrorCode::kTooLarge:
      return error_response(400, "BadRequest", e.message());
    case core::ErrorCode::kNotFound:
      return error_response(404, "NotFound", e.message());
    case core::ErrorCode::kAlreadyExists:
      return error_response(409, "Conflict", e.message());
    case core::ErrorCode::kUnavailable:
      return error_response(503, "Unavailable", e.message());
    default:
      return store_error(e);
  }
}

std::optional<size_t> parse_limit(const std::string& text) {
  size_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1 || v > kMaxLimit) {
    return std::nullopt;
  }
  return v;
}

// Stored JSON text as a value; text that does not parse (it always should) is kept as a string.
json::value stored_json(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return ec ? json::value(text) : v;
}

// An execution as the API shows it. Listings leave out the input and output.
// The error and cause of a stop from its optional body; nullopt when the body is not one.
std::optional<std::pair<std::string, std::string>> stop_reason(const std::string& text) {
  std::pair<std::string, std::string> reason{"Operator.Stop", ""};
  if (text.empty()) return reason;

  boost::system::error_code ec;
  json::value body = json::parse(text, ec);
  if (ec || !body.is_object()) return std::nullopt;
  for (const auto& [key, value] : body.get_object()) {
    if ((key != "error" && key != "cause") || !value.is_string()) return std::nullopt;
    (key == "error" ? reason.first : reason.second) = value.get_string();
  }
  return reason;
}

json::object execution_json(const store::ExecutionRecord& r, bool full) {
  json::object o{{"executionId", r.id},
                 {"name", r.name},
                 {"stateMachine", r.state_machine},
                 {"machineHash", r.machine_hash},
                 {"status", store::execution_status_name(r.status)},
                 {"startDate", core::format_rfc3339(r.start_ms, true)}};
  if (r.stop_ms != 0) o["stopDate"] = core::format_rfc3339(r.stop_ms, true);
  if (!r.error.empty()) o["error"] = r.error;
  if (!r.cause.empty()) o["cause"] = r.cause;
  if (full) {
    o["input"] = stored_json(r.input);
    if (r.status == store::ExecutionStatus::kSucceeded) o["output"] = stored_json(r.output);
  }
  return o;
}

class ExecutionRoutes {
 public:
  explicit ExecutionRoutes(ExecutionParts parts) : p_(parts) {}

  void put_machine(RouteRequest& req, const Respond& respond) {
    auto hash = p_.machines.put(req.params[0], req.http.body());
    if (!hash) {
      const auto& e = hash.error();
      if (e.code() == core::ErrorCode::kInvalidArgument) {
        respond(error_response(400, "InvalidDefinition", e.message()));
      } else {
        respond(engine_error(e));
      }
      return;
    }
    respond(json_response(200, json::object{{"name", req.params[0]}, {"hash", *hash}}));
  }

  void list_machines(RouteRequest&, const Respond& respond) {
    json::array out;
    for (const MachineEntry& m : p_.machines.list()) {
      out.push_back(json::object{{"name", m.name}, {"hash", m.hash}, {"origin", m.origin}});
    }
    respond(json_response(200, json::object{{"stateMachines", std::move(out)}}));
  }

  void get_machine(RouteRequest& req, const Respond& respond) {
    auto entry = p_.machines.find(req.params[0]);
    if (!entry) {
      respond(error_response(404, "NotFound", "no state machine named " + req.params[0]));
      return;
    }
    auto definition = p_.store.get_machine_version(entry->hash);
    if (!definition) {
      respond(store_error(definition.error()));
      return;
    }
    if (!*definition) {
      respond(store_error(core::Error(
          core::ErrorCode::kInternal,
          "the definition of " + entry->name + " (" + entry->hash + ") is not stored")));
      return;
    }
    respond(json_response(200, json::object{{"name", entry->name},
                                            {"hash", entry->hash},
                                            {"origin", entry->origin},
                                            {"definition", stored_json(**definition)}}));
  }

  void start(RouteRequest& req, const Respond& respond) {
    boost::system::error_code ec;
    json::value body = json::parse(req.http.body(), ec);
    if (ec || !body.is_object()) {
      respond(error_response(400, "BadRequest",
                             R"(expected {"stateMachine": name, "name"?: text, "input"?: JSON})"));
      return;
    }
    engine::StartRequest request;
    for (const auto& [key, value] : body.get_object()) {
      if (key == "stateMachine" && value.is_string()) {
        request.state_machine = value.get_string();
      } else if (key == "name" && value.is_string() && !value.get_string().empty()) {
        request.name = value.get_string();
      } else if (key == "input") {
        request.input = value;
      } else {
        respond(error_response(400, "BadRequest",
                               std::string(key) + ": not a start field, or not a valid value"));
        return;
      }
    }
    if (request.state_machine.empty()) {
      respond(error_response(400, "BadRequest", "stateMachine: required"));
      return;
    }
    // The catalog decides what is in force: a machine whose file was removed stays known to
    // the engine (it cannot forget one) but starts no more executions.
    if (!p_.machines.find(request.state_machine)) {
      respond(error_response(404, "NotFound", "no state machine named " + request.state_machine));
      return;
    }
    auto started = p_.engine.start(request);
    if (!started) {
      respond(engine_error(started.error()));
      return;
    }
    respond(json_response(201, execution_json(*started, true)));
  }

  void list(RouteRequest& req, const Respond& respond) {
    store::ExecutionQuery q;
    q.limit = kDefaultLimit;
    for (const auto& [key, value] : req.query) {
      if (key == "stateMachine") {
        q.state_machine = value;
      } else if (key == "status") {
        q.status = store::parse_execution_status(value);
        if (!q.status) {
          respond(error_response(400, "BadRequest",
                                 "status: RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED"));
          return;
        }
      } else if (key == "before") {
        q.before_id = value;
      } else if (key == "limit") {
        auto limit = parse_limit(value);
        if (!limit) {
          respond(error_response(400, "BadRequest", "limit: from 1 to 1000"));
          return;
        }
        q.limit = *limit;
      } else {
        respond(error_response(400, "BadRequest", "unknown query parameter " + key));
        return;
      }
    }
    auto found = p_.store.list_executions(q);
    if (!found) {
      respond(store_error(found.error()));
      return;
    }
    json::array out;
    for (const auto& r : *found) {
      out.push_back(execution_json(r, false));
    }
    json::object body{{"executions", std::move(out)}};
    if (found->size() == q.limit) body["next"] = found->back().id;
    respond(json_response(200, body));
  }

  void describe(RouteRequest& req, const Respond& respond) {
    auto found = find(req.params[0], respond);
    if (found) respond(json_response(200, execution_json(*found, true)));
  }

  void stop(RouteRequest& req, const Respond& respond) {
    auto reason = stop_reason(req.http.body());
    if (!reason) {
      respond(error_response(400, "BadRequest", R"(expected {"error"?: text, "cause"?: text})"));
      return;
    }
    const auto& [error, cause] = *reason;
    const std::string& id = req.params[0];
    auto found = find(id, respond);
    if (!found) return;

    // Running: the engine ends it, and the answer waits (a little) until that is recorded.
    if (found->status == store::ExecutionStatus::kRunning) {
      auto stopped = p_.engine.stop(id, error, cause);
      if (stopped.ok()) {
        auto ended = p_.engine.wait(id, kStopWait);
        respond(ended ? json_response(200, execution_json(*ended, true))
                      : store_error(ended.error()));
        return;
      }
      if (stopped.error().code() != core::ErrorCode::kNotFound) {
        respond(engine_error(stopped.error()));
        return;
      }

      // The engine does not hold it: it ended since the read above, or it could not be
      // continued at start-up (the engine logged why) and no stop can reach it.
      found = find(id, respond);
      if (!found) return;
      if (found->status == store::ExecutionStatus::kRunning) {
        respond(error_response(500, "Internal",
                               "execution " + id +
                                   " is recorded as running but the engine does not hold it; "
                                   "the daemon's log says why it was not continued"));
        return;
      }
    }
    respond(error_response(
        409, "Conflict",
        "execution " + id + " has already ended: " + store::execution_status_name(found->status)));
  }

  void history(RouteRequest& req, const Respond& respond) {
    int64_t after = 0;
    size_t limit = kMaxLimit;
    for (const auto& [key, value] : req.query) {
      if (key == "after") {
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), after);
        if (ec != std::errc() || end != value.data() + value.size() || after < 0) {
          respond(error_response(400, "BadRequest", "after: a history event id"));
          return;
        }
      } else if (key == "limit") {
        auto v = parse_limit(value);
        if (!v) {
          respond(error_response(400, "BadRequest", "limit: from 1 to 1000"));
          return;
        }
        limit = *v;
      } else {
        respond(error_response(400, "BadRequest", "unknown query parameter " + key));
        return;
      }
    }
    if (!find(req.params[0], respond)) return;

    auto events = p_.store.history(req.params[0], after, limit);
    if (!events) {
      respond(store_error(events.error()));
      return;
    }
    json::array out;
    for (const auto& e : *events) {
      out.push_back(json::object{{"id", e.event_id},
                                 {"type", e.type},
                                 {"timestamp", core::format_rfc3339(e.time_ms, true)},
                                 {"details", stored_json(e.details)}});
    }
    json::object body{{"events", std::move(out)}};
    if (events->size() == limit) body["next"] = std::to_string(events->back().event_id);
    respond(json_response(200, body));
  }

 private:
  // The stored execution `id`; answers 404 or 500 itself and returns nullopt when there is
  // none to work with.
  std::optional<store::ExecutionRecord> find(const std::string& id, const Respond& respond) {
    auto found = p_.store.get_execution(id);
    if (!found) {
      respond(store_error(found.error()));
      return std::nullopt;
    }
    if (!*found) {
      respond(error_response(404, "NotFound", "no execution " + id));
      return std::nullopt;
    }
    return std::move(**found);
  }

  ExecutionParts p_;
};

}  // namespace

void add_execution_routes(Router& router, const ExecutionParts& parts) {
  auto r = std::make_shared<ExecutionRoutes>(parts);
  using V = http::verb;
  auto route = [r](auto method) {
    return [r, method](RouteRequest& req, const Respond& respond) { ((*r).*method)(req, respond); };
  };
  router.add(V::get, "/v1/state-machines", Role::kViewer, route(&ExecutionRoutes::list_machines));
  router.add(V::get, "/v1/state-machines/{name}", Role::kViewer,
             route(&ExecutionRoutes::get_machine));
  router.add(V::put, "/v1/state-machines/{name}", Role::kOperator,
             route(&ExecutionRoutes::put_machine));
  router.add(V::post, "/v1/executions", Role::kOperator, route(&ExecutionRoutes::start));
  router.add(V::get, "/v1/executions", Role::kViewer, route(&ExecutionRoutes::list));
  router.add(V::get, "/v1/executions/{id}", Role::kViewer, route(&ExecutionRoutes::describe));
  router.add(V::post, "/v1/executions/{id}/stop", Role::kOperator, route(&ExecutionRoutes::stop));
  router.add(V::get, "/v1/executions/{id}/history", Role::kViewer,
             route(&ExecutionRoutes::history));
}

}  // namespace homeostat::api
