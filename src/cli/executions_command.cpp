// `homeostat state-machines` and `homeostat executions`: state machines and their executions,
// through a running daemon's API.
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <boost/json.hpp>

#include "cli/commands.hpp"

namespace homeostat::cli {
namespace {

namespace json = boost::json;

// How often `executions start --wait` asks whether the execution has ended.
constexpr std::chrono::milliseconds kPollInterval{200};

std::string field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return "-";
  return v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
}

// Sends a request and, when it succeeded, hands the parsed body to `print`.
int send_and_print(Client& c, const std::string& method, const std::string& path,
                   const std::string& body, const std::function<void(const json::value&)>& print) {
  auto r = c.send(method, path, body);
  const int code = exit_code_for(r);
  if (code == kExitOk) print(json::parse(r->body));
  return code;
}

void print_json(const json::value& v) {
  std::cout << v << "\n";
}

struct Args {
  ClientOptions client;
  std::string name;
  std::string file;
  std::string input;
  std::string execution_name;
  bool wait = false;
  std::string machine;
  std::string status;
  int limit = 100;
  std::string error;
  std::string cause;
};

int put_machine(Client& c, const Args& a) {
  auto definition = read_file(a.file);
  if (!definition) {
    std::cerr << "homeostat: " << definition.error().message() << "\n";
    return kExitUsage;
  }
  return send_and_print(c, "PUT", "/v1/state-machines/" + c.escape(a.name), *definition,
                        [](const json::value& body) {
                          const auto& o = body.as_object();
                          std::cout << field(o, "name") << "\t" << field(o, "hash") << "\n";
                        });
}

// Polls until the execution has ended; prints its record and exits 0 only when it succeeded.
int wait_for_end(Client& c, json::value record) {
  const std::string path = "/v1/executions/" + c.escape(field(record.as_object(), "executionId"));
  while (record.at("status") == "RUNNING") {
    std::this_thread::sleep_for(kPollInterval);
    auto r = c.send("GET", path);
    if (const int code = exit_code_for(r); code != kExitOk) return code;
    record = json::parse(r->body);
  }
  print_json(record);
  return record.at("status") == "SUCCEEDED" ? kExitOk : kExitFailed;
}

int start_execution(Client& c, const Args& a) {
  json::object body{{"stateMachine", a.machine}};
  if (!a.execution_name.empty()) body["name"] = a.execution_name;
  if (!a.input.empty()) {
    auto text = inline_or_file(a.input);
    if (!text) {
      std::cerr << "homeostat: " << text.error().message() << "\n";
      return kExitUsage;
    }
    boost::system::error_code ec;
    body["input"] = json::parse(*text, ec);
    if (ec) {
      std::cerr << "homeostat: --input: not valid JSON: " << ec.message() << "\n";
      return kExitUsage;
    }
  }
  auto r = c.send("POST", "/v1/executions", json::serialize(body));
  if (const int code = exit_code_for(r); code != kExitOk) return code;
  json::value record = json::parse(r->body);
  if (!a.wait) {
    print_json(record);
    return kExitOk;
  }
  return wait_for_end(c, std::move(record));
}

int list_executions(Client& c, const Args& a) {
  std::string q = "?limit=" + std::to_string(a.limit);
  if (!a.machine.empty()) q += "&stateMachine=" + c.escape(a.machine);
  if (!a.status.empty()) q += "&status=" + c.escape(a.status);
  return send_and_print(c, "GET", "/v1/executions" + q, "", [](const json::value& body) {
    for (const auto& e : body.at("executions").as_array()) {
      const auto& o = e.as_object();
      std::cout << field(o, "executionId") << "\t" << field(o, "name") << "\t"
                << field(o, "stateMachine") << "\t" << field(o, "status") << "\t"
                << field(o, "startDate") << "\t" << field(o, "stopDate") << "\n";
    }
  });
}

// Prints every history event as one JSON line, following the pages to the end.
int print_history(Client& c, const std::string& id) {
  std::string after = "0";
  for (;;) {
    auto r = c.send("GET", "/v1/executions/" + c.escape(id) + "/history?after=" + after);
    if (const int code = exit_code_for(r); code != kExitOk) return code;
    const json::value page = json::parse(r->body);
    for (const auto& e : page.at("events").as_array()) {
      print_json(e);
    }
    const auto* next = page.as_object().if_contains("next");
    if (next == nullptr) return kExitOk;
    after = std::string(next->as_string());
  }
}

}  // namespace

void add_executions_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<Args>();

  // State machines.
  auto* machines = app.add_subcommand("state-machines", "Put, list and show state machines");
  machines->require_subcommand(1);
  auto* put = machines->add_subcommand(
      "put", "Create or replace a state machine from an Amazon States Language file");
  add_client_options(*put, args->client);
  put->add_option("name", args->name, "The state machine's name")->required();
  put->add_option("file", args->file, "The definition (JSON)")->required();
  put->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) { return put_machine(c, *args); });
  });
  auto* list = machines->add_subcommand("list", "List state machines: name, hash, origin");
  add_client_options(*list, args->client);
  list->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) {
      return send_and_print(c, "GET", "/v1/state-machines", "", [](const json::value& body) {
        for (const auto& m : body.at("stateMachines").as_array()) {
          const auto& o = m.as_object();
          std::cout << field(o, "name") << "\t" << field(o, "hash") << "\t" << field(o, "origin")
                    << "\n";
        }
      });
    });
  });
  auto* get = machines->add_subcommand("get", "Print a state machine and its definition as JSON");
  add_client_options(*get, args->client);
  get->add_option("name", args->name, "The state machine's name")->required();
  get->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) {
      return send_and_print(c, "GET", "/v1/state-machines/" + c.escape(args->name), "", print_json);
    });
  });

  // Executions.
  auto* executions = app.add_subcommand("executions", "Start, list, show and stop executions");
  executions->require_subcommand(1);
  auto* start = executions->add_subcommand("start", "Start an execution of a state machine");
  add_client_options(*start, args->client);
  start->add_option("machine", args->machine, "The state machine's name")->required();
  start->add_option("--input", args->input, "The input: JSON, or @FILE to read it from a file");
  start->add_option("--name", args->execution_name,
                    "The execution's name, unique per state machine (default: its id)");
  start->add_flag("--wait", args->wait,
                  "Wait until it ends and print the final record; exit 0 only if it succeeded");
  start->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) { return start_execution(c, *args); });
  });
  auto* elist = executions->add_subcommand(
      "list", "List executions, newest first: id, name, machine, status, start, stop");
  add_client_options(*elist, args->client);
  elist->add_option("--machine", args->machine, "Only this state machine's executions");
  elist->add_option("--status", args->status, "Only executions with this status")
      ->check(CLI::IsMember({"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}));
  elist->add_option("--limit", args->limit, "At most this many (1 to 1000)")
      ->check(CLI::Range(1, 1000));
  elist->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) { return list_executions(c, *args); });
  });
  auto* describe = executions->add_subcommand(
      "describe", "Print an execution: status, input, output, error, cause, times");
  add_client_options(*describe, args->client);
  describe->add_option("id", args->name, "The execution's id")->required();
  describe->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) {
      return send_and_print(c, "GET", "/v1/executions/" + c.escape(args->name), "", print_json);
    });
  });
  auto* stop = executions->add_subcommand("stop", "Stop a running execution: it ends ABORTED");
  add_client_options(*stop, args->client);
  stop->add_option("id", args->name, "The execution's id")->required();
  stop->add_option("--error", args->error, "The error it ends with (default: Operator.Stop)");
  stop->add_option("--cause", args->cause, "Why it was stopped");
  stop->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) {
      json::object body;
      if (!args->error.empty()) body["error"] = args->error;
      if (!args->cause.empty()) body["cause"] = args->cause;
      return send_and_print(c, "POST", "/v1/executions/" + c.escape(args->name) + "/stop",
                            json::serialize(body), print_json);
    });
  });
  auto* history = executions->add_subcommand(
      "history", "Print an execution's history, one JSON event per line, oldest first");
  add_client_options(*history, args->client);
  history->add_option("id", args->name, "The execution's id")->required();
  history->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) { return print_history(c, args->name); });
  });
}

}  // namespace homeostat::cli
