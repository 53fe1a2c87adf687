#include <unistd.h>

#include <simdjson.h>

#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"

namespace homeostat::cli {
namespace {

namespace json = boost::json;

// Requests stay well inside the daemon's default batch limits.
constexpr size_t kLinesPerRequest = 1000;
constexpr size_t kBytesPerRequest = 4 * 1024 * 1024;

struct PutArgs {
  ClientOptions client;
  std::string source, detail_type, detail = "{}", time, id, file, bus;
  std::vector<std::string> resources;
};

struct ListArgs {
  ClientOptions client;
  std::string since, until, source, detail_type, order = "asc", cursor, bus;
  int limit = 100;
  bool all = false;
};

// Sends one body and prints a line per entry: the id on stdout, or the error on stderr.
// `lines` gives the input line of each entry (empty when the body is one JSON value), so that
// an error points into the user's file. Returns false when the request failed as a whole.
bool send_batch(Client& c, const std::string& bus, const std::string& body, const std::string& type,
                const std::vector<size_t>& lines, size_t& accepted, size_t& failed, int& code) {
  auto r =
      c.send("POST", bus.empty() ? "/v1/events" : "/v1/events?bus=" + c.escape(bus), body, type);
  if (!r || (r->status != 200 && r->status != 400) ||
      (r->status == 400 && r->body.find("\"results\"") == std::string::npos)) {
    code = exit_code_for(r);
    return false;
  }
  const json::value v = json::parse(r->body);
  const auto& results = v.at("results").as_array();
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& o = results[i].as_object();
    if (o.contains("id")) {
      std::cout << std::string_view(o.at("id").as_string()) << "\n";
      ++accepted;
      continue;
    }
    // The daemon says "entry N: ..."; for NDJSON the line in the input says more.
    std::string_view message(o.at("message").as_string());
    std::string where;
    if (i < lines.size()) {
      if (message.rfind("entry ", 0) == 0 && message.find(": ") != std::string_view::npos) {
        message.remove_prefix(message.find(": ") + 2);
      }
      where = "line " + std::to_string(lines[i]) + ": ";
    }
    std::cerr << "homeostat: " << where << std::string_view(o.at("error").as_string()) << ": "
              << message << "\n";
    ++failed;
  }
  return true;
}

std::string event_from_args(const PutArgs& a, std::string& error) {
  boost::system::error_code ec;
  json::value detail = json::parse(a.detail, ec);
  if (ec) {
    error = "--detail is not JSON: " + ec.message();
    return "";
  }
  json::object event{{"source", a.source}, {"detail-type", a.detail_type}, {"detail", detail}};
  if (!a.time.empty()) event["time"] = a.time;
  if (!a.id.empty()) event["id"] = a.id;
  if (!a.resources.empty()) {
    json::array r;
    for (const auto& s : a.resources)
      r.emplace_back(s);
    event["resources"] = std::move(r);
  }
  return json::serialize(event);
}

int put(const PutArgs& a) {
  // The input: one event from the flags, or a file (or stdin) of JSON or NDJSON.
  std::string input;
  if (a.source.empty() != a.detail_type.empty()) {
    std::cerr << "homeostat: give both --source and --detail-type\n";
    return kExitUsage;
  }
  if (!a.source.empty()) {
    std::string error;
    input = event_from_args(a, error);
    if (!error.empty()) {
      std::cerr << "homeostat: " << error << "\n";
      return kExitUsage;
    }
  } else {
    const bool from_stdin = a.file.empty() || a.file == "-";
    if (from_stdin && a.file.empty() && ::isatty(STDIN_FILENO) != 0) {
      std::cerr << "homeostat: give --source and --detail-type, --file, or events on stdin\n";
      return kExitUsage;
    }
    std::ostringstream buf;
    if (from_stdin) {
      buf << std::cin.rdbuf();
    } else {
      std::ifstream in(a.file, std::ios::binary);
      if (!in) {
        std::cerr << "homeostat: cannot read " << a.file << "\n";
        return kExitUsage;
      }
      buf << in.rdbuf();
    }
    input = buf.str();
  }

  return with_client(a.client, [&](Client& c) -> int {
    size_t accepted = 0;
    size_t failed = 0;
    int code = kExitOk;

    // One JSON value (an event or an array) goes as it is; anything else is NDJSON, sent in
    // chunks of lines.
    boost::system::error_code ec;
    json::parse(input, ec);
    if (!ec) {
      if (!send_batch(c, a.bus, input, "application/json", {}, accepted, failed, code)) {
        return code;
      }
    } else {
      std::istringstream in(input);
      std::string line, chunk;
      std::vector<size_t> chunk_lines;
      size_t line_number = 0;
      auto flush = [&] {
        const bool ok = chunk_lines.empty() || send_batch(c, a.bus, chunk, "application/x-ndjson",
                                                          chunk_lines, accepted, failed, code);
        chunk.clear();
        chunk_lines.clear();
        return ok;
      };
      while (std::getline(in, line)) {
        ++line_number;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        chunk += line + "\n";
        chunk_lines.push_back(line_number);
        if (chunk_lines.size() == kLinesPerRequest || chunk.size() > kBytesPerRequest) {
          if (!flush()) return code;
        }
      }
      if (!flush()) return code;
    }
    std::cerr << "accepted " << accepted << ", failed " << failed << "\n";
    return failed > 0 ? kExitFailed : kExitOk;
  });
}

int list(const ListArgs& a) {
  return with_client(a.client, [&](Client& c) -> int {
    std::string cursor = a.cursor;
    for (;;) {
      std::string q = "/v1/events?limit=" + std::to_string(a.limit) + "&order=" + a.order;
      if (!a.since.empty()) q += "&since=" + c.escape(a.since);
      if (!a.until.empty()) q += "&until=" + c.escape(a.until);
      if (!a.source.empty()) q += "&source=" + c.escape(a.source);
      if (!a.detail_type.empty()) q += "&detail-type=" + c.escape(a.detail_type);
      if (!a.bus.empty()) q += "&bus=" + c.escape(a.bus);
      if (!cursor.empty()) q += "&cursor=" + c.escape(cursor);
      auto r = c.send("GET", q);
      if (const int code = exit_code_for(r); code != kExitOk) {
        return code;
      }
      // Each event is printed as the daemon stored it; re-serialising would change numbers.
      simdjson::ondemand::parser parser;
      const simdjson::padded_string body(r->body);
      simdjson::ondemand::document doc = parser.iterate(body);
      for (auto e : doc["events"].get_array()) {
        simdjson::ondemand::object event;
        std::string_view text;
        if (e.get_object().get(event) == simdjson::SUCCESS &&
            event.raw_json().get(text) == simdjson::SUCCESS) {
          std::cout << text << "\n";
        }
      }
      const json::value v = json::parse(r->body);
      const auto& next = v.at("next_cursor");
      if (next.is_null()) {
        return static_cast<int>(kExitOk);
      }
      cursor = std::string(next.as_string());
      if (!a.all) {
        std::cerr << "more events follow; continue with --cursor " << cursor << "\n";
        return static_cast<int>(kExitOk);
      }
    }
  });
}

}  // namespace

void add_events_command(CLI::App& app, int* exit_code) {
  auto* events = app.add_subcommand("events", "Send, read and list events");
  events->require_subcommand(1);

  auto pa = std::make_shared<PutArgs>();
  auto* put_cmd = events->add_subcommand(
      "put", "Send events: from flags, from --file (JSON, array or NDJSON), or NDJSON on stdin");
  add_client_options(*put_cmd, pa->client);
  put_cmd->add_option("--source", pa->source, "Event source, e.g. com.example.app");
  put_cmd->add_option("--detail-type", pa->detail_type, "Event detail-type");
  put_cmd->add_option("--detail", pa->detail, "Event detail as a JSON object")
      ->capture_default_str();
  put_cmd->add_option("--resource", pa->resources, "A resource ARN or name; repeatable");
  put_cmd->add_option("--time", pa->time, "RFC 3339 time (default: now)");
  put_cmd->add_option("--id", pa->id, "Event id (default: a new time-ordered id)");
  put_cmd->add_option("--file", pa->file, "File of events; '-' for stdin");
  put_cmd->add_option("--bus", pa->bus, "The bus to put them on (default: default)");
  put_cmd->callback([pa, exit_code] { *exit_code = put(*pa); });

  auto id = std::make_shared<std::pair<ClientOptions, std::string>>();
  auto* get_cmd = events->add_subcommand("get", "Print one event by id");
  add_client_options(*get_cmd, id->first);
  get_cmd->add_option("id", id->second, "Event id")->required();
  get_cmd->callback([id, exit_code] {
    *exit_code = with_client(id->first, [&](Client& c) {
      auto r = c.send("GET", "/v1/events/" + c.escape(id->second));
      const int code = exit_code_for(r);
      if (code == kExitOk) {
        std::cout << r->body << "\n";
      }
      return code;
    });
  });

  auto la = std::make_shared<ListArgs>();
  auto* list_cmd = events->add_subcommand("list", "List events as NDJSON, oldest first");
  add_client_options(*list_cmd, la->client);
  list_cmd->add_option("--since", la->since, "Events at or after this RFC 3339 time");
  list_cmd->add_option("--until", la->until, "Events before this RFC 3339 time");
  list_cmd->add_option("--source", la->source, "Only this source");
  list_cmd->add_option("--detail-type", la->detail_type, "Only this detail-type");
  list_cmd->add_option("--bus", la->bus, "Only events on this bus");
  list_cmd->add_option("--limit", la->limit, "Events per page (1-1000)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  list_cmd->add_option("--order", la->order, "asc or desc")
      ->check(CLI::IsMember({"asc", "desc"}))
      ->capture_default_str();
  list_cmd->add_option("--cursor", la->cursor, "Continue from a cursor a previous page gave");
  list_cmd->add_flag("--all", la->all, "Follow cursors to the end");
  list_cmd->callback([la, exit_code] { *exit_code = list(*la); });
}

}  // namespace homeostat::cli
