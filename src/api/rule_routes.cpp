// Rules and what they do: /v1/rules, /v1/deliveries, /v1/dlq, /v1/topics and /v1/replays.
#include <charconv>

#include <boost/json.hpp>

#include "api/routes.hpp"
#include "bus/rule.hpp"
#include "core/clock.hpp"
#include "core/secret.hpp"

namespace homeostat::api {
namespace {

namespace json = boost::json;

Response json_response(unsigned status, const json::value& v) {
  return Response{status, "application/json", json::serialize(v), {}};
}

Response store_error(const core::Error& e) {
  return error_response(500, "Internal", e.message());
}

std::optional<int64_t> to_int(const std::string& text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return v;
}

json::object delivery_json(const store::DeliveryRecord& d) {
  json::object o{{"id", d.id},
                 {"rule", d.rule},
                 {"target", d.target},
                 {"bus", d.bus},
                 {"event_id", d.event_id},
                 {"state", store::delivery_state_name(d.state)},
                 {"attempts", d.attempts},
                 {"created", core::format_rfc3339(d.created_ms, true)},
                 {"updated", core::format_rfc3339(d.updated_ms, true)}};
  if (d.state == store::DeliveryState::kPending) {
    o["due"] = core::format_rfc3339(d.due_ms, true);
  }
  if (!d.replay.empty()) {
    o["replay"] = d.replay;
  }
  if (!d.last_error.empty()) {
    o["last_error"] = d.last_error;
  }
  return o;
}

json::object replay_json(const store::ReplayRecord& r) {
  boost::system::error_code ec;
  json::value def = json::parse(r.definition, ec);
  json::object o{{"name", r.name},
                 {"state", r.state},
                 {"deliveries", r.matched},
                 {"created", core::format_rfc3339(r.created_ms, true)}};
  if (!ec && def.is_object()) {
    const auto& d = def.get_object();
    o["bus"] = d.at("bus");
    o["since"] = core::format_rfc3339(d.at("since_ms").to_number<int64_t>(), true);
    o["until"] = core::format_rfc3339(d.at("until_ms").to_number<int64_t>(), true);
    if (const auto* rule = d.if_contains("rule")) {
      o["rule"] = *rule;
    }
  }
  if (r.state == "done") {
    o["finished"] = core::format_rfc3339(r.finished_ms, true);
  }
  return o;
}

// A rule as the caller may see it: webhook header values often hold credentials, so only an
// admin (who may change the rule anyway) sees them; others see "(hidden)".
json::value visible_rule(const bus::Rule& rule, const RouteRequest& req) {
  json::value out = bus::rule_to_json(rule);
  if (req.principal && req.principal->role == Role::kAdmin) {
    return out;
  }
  if (auto* targets = out.get_object().if_contains("targets"); targets && targets->is_array()) {
    for (auto& t : targets->get_array()) {
      auto* webhook = t.is_object() ? t.get_object().if_contains("webhook") : nullptr;
      auto* headers =
          webhook && webhook->is_object() ? webhook->get_object().if_contains("headers") : nullptr;
      if (headers && headers->is_object()) {
        for (auto& [name, value] : headers->get_object()) {
          value = "(hidden)";
        }
      }
    }
  }
  return out;
}

class RuleRoutes {
 public:
  explicit RuleRoutes(BusParts parts) : p_(std::move(parts)) {}

  void list_rules(RouteRequest& req, const Respond& respond) {
    json::array out;
    for (const auto& rule : p_.rules.snapshot()->all()) {
      out.push_back(visible_rule(*rule, req));
    }
    respond(json_response(200, json::object{{"rules", std::move(out)}}));
  }

  void get_rule(RouteRequest& req, const Respond& respond) {
    auto rule = p_.rules.snapshot()->find(req.params[0]);
    if (!rule) {
      respond(error_response(404, "NotFound", "no rule named " + req.params[0]));
      return;
    }
    respond(json_response(200, visible_rule(*rule, req)));
  }

  // POST /v1/rules creates; PUT /v1/rules/{name} creates or replaces.
  void put_rule(RouteRequest& req, const Respond& respond, bool create_only) {
    boost::system::error_code ec;
    json::value body = json::parse(req.http.body(), ec);
    if (ec || !body.is_object()) {
      respond(error_response(400, "BadRequest", "expected a rule: a JSON object"));
      return;
    }
    if (!create_only) {
      auto& obj = body.get_object();
      if (const auto* name = obj.if_contains("name");
          name != nullptr && (!name->is_string() || name->get_string() != req.params[0])) {
        respond(error_response(400, "BadRequest", "name: differs from the name in the path"));
        return;
      }
      obj["name"] = req.params[0];
    }
    auto rule = bus::parse_rule(body, "api");
    if (!rule) {
      respond(error_response(400, "InvalidRule", rule.error().message()));
      return;
    }

    auto existing = p_.rules.snapshot()->find(rule->name);
    if (existing && (create_only || existing->origin != "api")) {
      respond(error_response(409, "Conflict",
                             existing->origin == "api"
                                 ? "a rule named " + rule->name + " exists"
                                 : "the rule " + rule->name + " comes from " +
                                       existing->origin.substr(5) + "; change it there"));
      return;
    }

    // In force first, where the whole rule set is checked (loops between buses); then durable,
    // undoing the change if it cannot be stored.
    std::string name = rule->name;
    std::string definition = json::serialize(rule->definition);
    json::value answer = bus::rule_to_json(*rule);
    if (auto s = p_.rules.put(std::move(*rule)); !s.ok()) {
      bool conflict = s.error().code() == core::ErrorCode::kAlreadyExists;
      respond(error_response(conflict ? 409 : 400, conflict ? "Conflict" : "InvalidRule",
                             s.error().message()));
      return;
    }
    if (auto s = p_.store.put_rule(name, definition, p_.clock.now_ms()); !s.ok()) {
      (void)(existing ? p_.rules.put(*existing) : p_.rules.remove(name));
      respond(store_error(s.error()));
      return;
    }
    respond(json_response(existing ? 200 : 201, answer));
  }

  void reload(RouteRequest&, const Respond& respond) {
    auto count = p_.reload_files();
    if (!count) {
      respond(error_response(400, "InvalidRule", count.error().message()));
      return;
    }
    respond(json_response(200, json::object{{"rules", *count}}));
  }

  void delete_rule(RouteRequest& req, const Respond& respond) {
    const std::string& name = req.params[0];
    auto existing = p_.rules.snapshot()->find(name);
    if (!existing) {
      respond(error_response(404, "NotFound", "no rule named " + name));
      return;
    }
    if (existing->origin != "api") {
      respond(error_response(
          409, "Conflict",
          "the rule " + name + " comes from " + existing->origin.substr(5) + "; remove it there"));
      return;
    }
    if (auto s = p_.store.delete_rule(name); !s.ok()) {
      respond(store_error(s.error()));
      return;
    }
    (void)p_.rules.remove(name);
    respond(Response{204, "application/json", "", {}});
  }

  void list_deliveries(RouteRequest& req, const Respond& respond,
                       std::optional<store::DeliveryState> forced) {
    store::DeliveryQuery q;
    q.state = forced;
    for (const auto& [key, value] : req.query) {
      if (key == "rule") {
        q.rule = value;
      } else if (key == "event_id") {
        q.event_id = value;
      } else if (key == "state" && !forced) {
        q.state = store::parse_delivery_state(value);
        if (!q.state) {
          respond(error_response(400, "BadRequest", "state: pending, delivered or dead"));
          return;
        }
      } else if (key == "before") {
        q.before_id = to_int(value);
        if (!q.before_id) {
          respond(error_response(400, "BadRequest", "before: a delivery id"));
          return;
        }
      } else if (key == "limit") {
        auto limit = to_int(value);
        if (!limit || *limit < 1 || *limit > 1000) {
          respond(error_response(400, "BadRequest", "limit: from 1 to 1000"));
          return;
        }
        q.limit = static_cast<size_t>(*limit);
      } else {
        respond(error_response(400, "BadRequest", "unknown query parameter " + key));
        return;
      }
    }
    auto found = p_.store.list_deliveries(q);
    if (!found) {
      respond(store_error(found.error()));
      return;
    }
    json::array out;
    for (const auto& d : *found) {
      out.push_back(delivery_json(d));
    }
    json::object body{{"deliveries", std::move(out)}};
    if (found->size() == q.limit) {
      body["next"] = std::to_string(found->back().id);
    }
    respond(json_response(200, body));
  }

  void get_delivery(RouteRequest& req, const Respond& respond) {
    auto id = to_int(req.params[0]);
    if (!id) {
      respond(error_response(404, "NotFound", "no delivery " + req.params[0]));
      return;
    }
    auto found = p_.store.get_delivery(*id);
    if (!found) {
      respond(store_error(found.error()));
      return;
    }
    if (!*found) {
      respond(error_response(404, "NotFound", "no delivery " + req.params[0]));
      return;
    }
    auto attempts = p_.store.list_attempts((*found)->id);
    if (!attempts) {
      respond(store_error(attempts.error()));
      return;
    }
    json::object body = delivery_json(**found);
    boost::system::error_code ec;
    json::value input = json::parse((*found)->input, ec);
    body["input"] = ec ? json::value((*found)->input) : input;
    json::array list;
    for (const auto& a : *attempts) {
      list.push_back(json::object{{"attempt", a.attempt},
                                  {"at", core::format_rfc3339(a.at_ms, true)},
                                  {"duration_ms", a.duration_ms},
                                  {"outcome", a.outcome},
                                  {"detail", a.detail}});
    }
    body["attempts_made"] = std::move(list);
    respond(json_response(200, body));
  }

  void redrive(RouteRequest& req, const Respond& respond) {
    boost::system::error_code ec;
    json::value body = json::parse(req.http.body().empty() ? "{}" : req.http.body(), ec);
    const json::object* o = ec ? nullptr : body.if_object();
    store::RedriveFilter filter;
    bool all = false;
    if (o != nullptr) {
      for (const auto& [key, value] : *o) {
        bool known = (key == "ids" && value.is_array()) || (key == "rule" && value.is_string()) ||
                     (key == "all" && value.is_bool());
        o = known ? o : nullptr;
      }
    }
    if (o != nullptr) {
      if (const auto* ids = o->if_contains("ids")) {
        for (const auto& id : ids->get_array()) {
          if (!id.is_int64()) {
            o = nullptr;
            break;
          }
          filter.ids.push_back(id.get_int64());
        }
      }
      if (const auto* rule = o ? o->if_contains("rule") : nullptr) {
        if (!rule->is_string()) {
          o = nullptr;
        } else {
          filter.rule = std::string(rule->get_string());
        }
      }
      if (const auto* a = o ? o->if_contains("all") : nullptr) {
        all = a->is_bool() && a->get_bool();
      }
    }
    if (o == nullptr || (filter.ids.empty() && !filter.rule && !all)) {
      respond(
          error_response(400, "BadRequest",
                         R"(expected {"ids": [delivery ids]}, {"rule": "name"} or {"all": true})"));
      return;
    }
    auto n = p_.store.redrive(filter, p_.clock.now_ms());
    if (!n) {
      respond(store_error(n.error()));
      return;
    }
    p_.wake_deliverer();
    respond(json_response(200, json::object{{"redriven", *n}}));
  }

  void topic_messages(RouteRequest& req, const Respond& respond) {
    int64_t after = 0;
    size_t limit = 100;
    if (auto it = req.query.find("after"); it != req.query.end()) {
      auto v = to_int(it->second);
      if (!v) {
        respond(error_response(400, "BadRequest", "after: a message sequence number"));
        return;
      }
      after = *v;
    }
    if (auto it = req.query.find("limit"); it != req.query.end()) {
      auto v = to_int(it->second);
      if (!v || *v < 1 || *v > 1000) {
        respond(error_response(400, "BadRequest", "limit: from 1 to 1000"));
        return;
      }
      limit = static_cast<size_t>(*v);
    }
    auto found = p_.store.topic_messages(req.params[0], after, limit);
    if (!found) {
      respond(store_error(found.error()));
      return;
    }
    json::array out;
    for (const auto& m : *found) {
      boost::system::error_code ec;
      json::value message = json::parse(m.message, ec);
      out.push_back(json::object{{"seq", m.seq},
                                 {"delivery", m.delivery_id},
                                 {"published", core::format_rfc3339(m.published_ms, true)},
                                 {"message", ec ? json::value(m.message) : message}});
    }
    respond(json_response(200, json::object{{"messages", std::move(out)}}));
  }

  void start_replay(RouteRequest& req, const Respond& respond) {
    boost::system::error_code ec;
    json::value body = json::parse(req.http.body(), ec);
    const json::object* o = ec ? nullptr : body.if_object();
    if (o == nullptr) {
      respond(
          error_response(400, "BadRequest",
                         R"(expected {"since": time, "until": time, "rule"?, "bus"?, "name"?})"));
      return;
    }
    bus::ReplayRequest r;
    for (const auto& [key, value] : *o) {
      if ((key == "since" || key == "until") && value.is_string()) {
        auto ms = core::parse_rfc3339(value.get_string());
        if (!ms) {
          respond(
              error_response(400, "BadRequest", std::string(key) + ": " + ms.error().message()));
          return;
        }
        (key == "since" ? r.since_ms : r.until_ms) = *ms;
      } else if ((key == "rule" || key == "bus" || key == "name") && value.is_string() &&
                 bus::valid_name(value.get_string())) {
        std::string v(value.get_string());
        if (key == "rule") {
          r.rule = v;
        } else {
          (key == "bus" ? r.bus : r.name) = v;
        }
      } else {
        respond(error_response(400, "BadRequest",
                               std::string(key) + ": not a replay field, or not a valid value"));
        return;
      }
    }
    if (!o->contains("since") || !o->contains("until") || r.since_ms >= r.until_ms) {
      respond(error_response(400, "BadRequest", "since and until are required, since < until"));
      return;
    }
    if (r.rule && !p_.rules.snapshot()->find(*r.rule)) {
      respond(error_response(400, "BadRequest", "rule: no rule named " + *r.rule));
      return;
    }
    if (r.name.empty()) {
      r.name = "replay-" + core::random_token(6);
    }
    auto started = p_.dispatcher.start_replay(r);
    if (!started) {
      bool exists = started.error().code() == core::ErrorCode::kAlreadyExists;
      respond(exists ? error_response(409, "Conflict", started.error().message())
                     : store_error(started.error()));
      return;
    }
    respond(json_response(201, replay_json(*started)));
  }

  void get_replay(RouteRequest& req, const Respond& respond) {
    auto found = p_.store.get_replay(req.params[0]);
    if (!found) {
      respond(store_error(found.error()));
      return;
    }
    if (!*found) {
      respond(error_response(404, "NotFound", "no replay named " + req.params[0]));
      return;
    }
    respond(json_response(200, replay_json(**found)));
  }

  void list_replays(RouteRequest&, const Respond& respond) {
    auto found = p_.store.list_replays();
    if (!found) {
      respond(store_error(found.error()));
      return;
    }
    json::array out;
    for (const auto& r : *found) {
      out.push_back(replay_json(r));
    }
    respond(json_response(200, json::object{{"replays", std::move(out)}}));
  }

 private:
  BusParts p_;
};

}  // namespace

void add_rule_routes(Router& router, const BusParts& parts) {
  auto r = std::make_shared<RuleRoutes>(parts);
  using V = http::verb;
  auto route = [r](auto method) {
    return [r, method](RouteRequest& req, const Respond& respond) { ((*r).*method)(req, respond); };
  };
  router.add(V::get, "/v1/rules", Role::kViewer, route(&RuleRoutes::list_rules));
  router.add(V::get, "/v1/rules/{name}", Role::kViewer, route(&RuleRoutes::get_rule));
  router.add(V::post, "/v1/rules", Role::kAdmin,
             [r](RouteRequest& req, const Respond& respond) { r->put_rule(req, respond, true); });
  router.add(V::put, "/v1/rules/{name}", Role::kAdmin,
             [r](RouteRequest& req, const Respond& respond) { r->put_rule(req, respond, false); });
  router.add(V::delete_, "/v1/rules/{name}", Role::kAdmin, route(&RuleRoutes::delete_rule));
  router.add(V::post, "/v1/rules/reload", Role::kAdmin, route(&RuleRoutes::reload));
  router.add(V::get, "/v1/deliveries", Role::kViewer,
             [r](RouteRequest& req, const Respond& respond) {
               r->list_deliveries(req, respond, std::nullopt);
             });
  router.add(V::get, "/v1/deliveries/{id}", Role::kViewer, route(&RuleRoutes::get_delivery));
  router.add(V::get, "/v1/dlq", Role::kViewer, [r](RouteRequest& req, const Respond& respond) {
    r->list_deliveries(req, respond, store::DeliveryState::kDead);
  });
  router.add(V::post, "/v1/dlq/redrive", Role::kOperator, route(&RuleRoutes::redrive));
  router.add(V::get, "/v1/topics/{topic}/messages", Role::kViewer,
             route(&RuleRoutes::topic_messages));
  router.add(V::post, "/v1/replays", Role::kOperator, route(&RuleRoutes::start_replay));
  router.add(V::get, "/v1/replays", Role::kViewer, route(&RuleRoutes::list_replays));
  router.add(V::get, "/v1/replays/{name}", Role::kViewer, route(&RuleRoutes::get_replay));
}

}  // namespace homeostat::api
