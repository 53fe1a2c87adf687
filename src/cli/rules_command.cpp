// `homeostat rules`, `deliveries`, `dlq`, `topics` and `events replay`: the rules and what they
// did, through a running daemon's API.
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <boost/json.hpp>

#include "bus/rule_files.hpp"
#include "cli/commands.hpp"

namespace homeostat::cli {
namespace {

namespace json = boost::json;

std::string text_of(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

std::string field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v == nullptr ? "-" : text_of(*v);
}

// Runs `path` as a GET and hands the parsed body to `print` when it succeeded.
int get_and_print(Client& c, const std::string& path,
                  const std::function<void(const json::value&)>& print) {
  auto r = c.send("GET", path);
  const int code = exit_code_for(r);
  if (code == kExitOk) {
    print(json::parse(r->body));
  }
  return code;
}

void print_deliveries(const json::value& body) {
  for (const auto& d : body.at("deliveries").as_array()) {
    const auto& o = d.as_object();
    std::cout << field(o, "id") << "\t" << field(o, "state") << "\t" << field(o, "rule") << "\t"
              << field(o, "target") << "\t" << field(o, "event_id") << "\t" << field(o, "attempts")
              << "\t" << field(o, "last_error") << "\n";
  }
}

struct RulesArgs {
  ClientOptions client;
  std::string name;
  std::string file;
  std::string rule;
  std::string state;
  std::string event_id;
  int limit = 100;
  std::vector<int64_t> ids;
  bool all = false;
  std::string topic;
  int64_t after = 0;
};

struct ReplayArgs {
  ClientOptions client;
  std::string since, until, rule, bus, name;
  bool no_wait = false;
};

int put_rules(Client& c, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "homeostat: " << path << ": cannot be read\n";
    return kExitUsage;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto doc = bus::yaml_to_json(text.str());
  if (!doc) {
    std::cerr << "homeostat: " << path << ": " << doc.error().message() << "\n";
    return kExitUsage;
  }
  std::vector<json::value> rules;
  if (doc->is_array()) {
    rules.assign(doc->get_array().begin(), doc->get_array().end());
  } else {
    rules.push_back(*doc);
  }
  int result = kExitOk;
  for (const auto& rule : rules) {
    const auto* name = rule.is_object() ? rule.get_object().if_contains("name") : nullptr;
    if (name == nullptr || !name->is_string()) {
      std::cerr << "homeostat: " << path << ": every rule needs a name\n";
      return kExitUsage;
    }
    std::string n(name->get_string());
    auto r = c.send("PUT", "/v1/rules/" + c.escape(n), json::serialize(rule));
    const int code = exit_code_for(r);
    if (code == kExitOk) {
      std::cout << n << (r->status == 201 ? " created\n" : " replaced\n");
    } else {
      result = code;
    }
  }
  return result;
}

}  // namespace

void add_rules_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<RulesArgs>();

  // Rules.
  auto* rules = app.add_subcommand("rules", "List, show, create and remove rules");
  rules->require_subcommand(1);
  auto* list = rules->add_subcommand("list", "List rules: name, bus, enabled, origin, targets");
  add_client_options(*list, args->client);
  list->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) {
      return get_and_print(c, "/v1/rules", [](const json::value& body) {
        for (const auto& r : body.at("rules").as_array()) {
          const auto& o = r.as_object();
          std::string targets;
          for (const auto& t : o.at("targets").as_array()) {
            if (!targets.empty()) {
              targets.push_back(',');
            }
            targets += field(t.as_object(), "id");
          }
          std::cout << field(o, "name") << "\t" << (o.contains("bus") ? field(o, "bus") : "default")
                    << "\t" << (o.contains("enabled") ? field(o, "enabled") : "true") << "\t"
                    << field(o, "origin") << "\t" << targets << "\n";
        }
      });
    });
  });
  auto* get = rules->add_subcommand("get", "Print one rule as JSON");
  add_client_options(*get, args->client);
  get->add_option("name", args->name, "The rule's name")->required();
  get->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) {
      return get_and_print(c, "/v1/rules/" + c.escape(args->name),
                           [](const json::value& body) { std::cout << body << "\n"; });
    });
  });
  auto* put = rules->add_subcommand(
      "put", "Create or replace the rules in a YAML or JSON file (one rule or a list)");
  add_client_options(*put, args->client);
  put->add_option("file", args->file, "The rule file")->required();
  put->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) { return put_rules(c, args->file); });
  });
  auto* reload =
      rules->add_subcommand("reload", "Read the rule files again (the daemon also does on SIGHUP)");
  add_client_options(*reload, args->client);
  reload->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) {
      auto r = c.send("POST", "/v1/rules/reload");
      const int code = exit_code_for(r);
      if (code == kExitOk) {
        std::cout << json::parse(r->body).at("rules").as_int64() << " rules in force\n";
      }
      return code;
    });
  });
  auto* remove = rules->add_subcommand("delete", "Remove a rule made through the API");
  add_client_options(*remove, args->client);
  remove->add_option("name", args->name, "The rule's name")->required();
  remove->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) {
      return exit_code_for(c.send("DELETE", "/v1/rules/" + c.escape(args->name)));
    });
  });

  // Deliveries and the dead-letter store.
  auto add_filters = [&](CLI::App* cmd) {
    add_client_options(*cmd, args->client);
    cmd->add_option("--rule", args->rule, "Only this rule's deliveries");
    cmd->add_option("--event-id", args->event_id, "Only this event's deliveries");
    cmd->add_option("--limit", args->limit, "At most this many, newest first (1 to 1000)")
        ->check(CLI::Range(1, 1000));
  };
  auto query = [args](Client& c) {
    std::string q = "?limit=" + std::to_string(args->limit);
    if (!args->rule.empty()) q += "&rule=" + c.escape(args->rule);
    if (!args->event_id.empty()) q += "&event_id=" + c.escape(args->event_id);
    if (!args->state.empty()) q += "&state=" + c.escape(args->state);
    return q;
  };
  auto* deliveries = app.add_subcommand("deliveries", "What the rules' targets were sent");
  deliveries->require_subcommand(1);
  auto* dlist = deliveries->add_subcommand(
      "list", "List deliveries: id, state, rule, target, event id, attempts, last error");
  add_filters(dlist);
  dlist->add_option("--state", args->state, "pending, delivered or dead")
      ->check(CLI::IsMember({"pending", "delivered", "dead"}));
  dlist->callback([args, exit_code, query] {
    *exit_code = with_client(args->client, [&](Client& c) {
      return get_and_print(c, "/v1/deliveries" + query(c), print_deliveries);
    });
  });
  auto* dget = deliveries->add_subcommand("get", "Print one delivery with its input and attempts");
  add_client_options(*dget, args->client);
  dget->add_option("id", args->name, "The delivery's id")->required();
  dget->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) {
      return get_and_print(c, "/v1/deliveries/" + c.escape(args->name),
                           [](const json::value& body) { std::cout << body << "\n"; });
    });
  });

  auto* dlq = app.add_subcommand("dlq", "The dead-letter store: deliveries that gave up");
  dlq->require_subcommand(1);
  auto* qlist = dlq->add_subcommand("list", "List dead deliveries, newest first");
  add_filters(qlist);
  qlist->callback([args, exit_code, query] {
    *exit_code = with_client(args->client, [&](Client& c) {
      return get_and_print(c, "/v1/dlq" + query(c), print_deliveries);
    });
  });
  auto* redrive =
      dlq->add_subcommand("redrive", "Send dead deliveries again: by --id, by --rule, or --all");
  add_client_options(*redrive, args->client);
  auto* ids = redrive->add_option("--id", args->ids, "A delivery id (repeatable)");
  auto* rule = redrive->add_option("--rule", args->rule, "Every dead delivery of this rule");
  auto* all = redrive->add_flag("--all", args->all, "Every dead delivery");
  all->excludes(ids)->excludes(rule);
  redrive->callback([args, exit_code] {
    if (args->ids.empty() && args->rule.empty() && !args->all) {
      std::cerr << "homeostat: dlq redrive: give --id, --rule or --all\n";
      *exit_code = kExitUsage;
      return;
    }
    *exit_code = with_client(args->client, [&](Client& c) {
      json::object body;
      if (!args->ids.empty()) {
        body["ids"] = json::value_from(args->ids);
      }
      if (!args->rule.empty()) {
        body["rule"] = args->rule;
      }
      if (args->all) {
        body["all"] = true;
      }
      auto r = c.send("POST", "/v1/dlq/redrive", json::serialize(body));
      const int code = exit_code_for(r);
      if (code == kExitOk) {
        std::cout << json::parse(r->body).at("redriven").as_int64() << " redriven\n";
      }
      return code;
    });
  });

  // Topics.
  auto* topics = app.add_subcommand("topics", "Messages that rules published to topics");
  topics->require_subcommand(1);
  auto* read = topics->add_subcommand("read", "Print a topic's messages as NDJSON, oldest first");
  add_client_options(*read, args->client);
  read->add_option("topic", args->topic, "The topic")->required();
  read->add_option("--after", args->after, "Only messages after this sequence number");
  read->add_option("--limit", args->limit, "At most this many (1 to 1000)")
      ->check(CLI::Range(1, 1000));
  read->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) {
      std::string path = "/v1/topics/" + c.escape(args->topic) +
                         "/messages?after=" + std::to_string(args->after) +
                         "&limit=" + std::to_string(args->limit);
      return get_and_print(c, path, [](const json::value& body) {
        for (const auto& m : body.at("messages").as_array()) {
          std::cout << m << "\n";
        }
      });
    });
  });

  // events replay: under the events command, which main adds first.
  auto replay_args = std::make_shared<ReplayArgs>();
  auto* events = app.get_subcommand("events");
  auto* replay = events->add_subcommand(
      "replay", "Send archived events through the rules again, marked as replayed");
  add_client_options(*replay, replay_args->client);
  replay->add_option("--since", replay_args->since, "Events at or after this RFC 3339 time")
      ->required();
  replay->add_option("--until", replay_args->until, "Events before this RFC 3339 time")->required();
  replay->add_option("--rule", replay_args->rule, "Only this rule (default: every rule)");
  replay->add_option("--bus", replay_args->bus, "The bus (default: default)");
  replay->add_option("--name", replay_args->name, "The replay's name (default: generated)");
  replay->add_flag("--no-wait", replay_args->no_wait, "Return once the replay has started");
  replay->callback([replay_args, exit_code] {
    const auto& a = *replay_args;
    *exit_code = with_client(a.client, [&](Client& c) -> int {
      json::object body{{"since", a.since}, {"until", a.until}};
      for (const auto& [key, value] :
           {std::pair{"rule", a.rule}, std::pair{"bus", a.bus}, std::pair{"name", a.name}}) {
        if (!value.empty()) {
          body[key] = value;
        }
      }
      auto r = c.send("POST", "/v1/replays", json::serialize(body));
      int code = exit_code_for(r);
      if (code != kExitOk) {
        return code;
      }
      json::value state = json::parse(r->body);
      std::string name(state.at("name").as_string());

      // Wait for the replay to pass the end of the log it began with.
      while (!a.no_wait && state.at("state") != "done") {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        r = c.send("GET", "/v1/replays/" + c.escape(name));
        code = exit_code_for(r);
        if (code != kExitOk) {
          return code;
        }
        state = json::parse(r->body);
      }
      std::cout << "replay " << name << ": " << text_of(state.at("state")) << ", "
                << text_of(state.at("deliveries")) << " deliveries\n";
      return kExitOk;
    });
  });
}

}  // namespace homeostat::cli
