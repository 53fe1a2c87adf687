#include <algorithm>
#include <cctype>
#include <charconv>

#include "api/routes.hpp"
#include "bus/rule.hpp"
#include "core/json.hpp"

namespace homeostat::api {
namespace {

constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 1000;
constexpr size_t kMaxPageBytes = 4 * 1024 * 1024;

// The body format a Content-Type asks for; nullopt for one we do not take.
std::optional<events::BodyFormat> body_format(const Request& req) {
  const auto it = req.find(http::field::content_type);
  if (it == req.end()) {
    return events::BodyFormat::kAuto;
  }
  // Media types are case-insensitive; parameters such as charset do not matter here.
  std::string type(it->value().data(), it->value().size());
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') {
    type.pop_back();
  }
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (type == "application/json") {
    return events::BodyFormat::kAuto;
  }
  if (type == "application/x-ndjson" || type == "application/ndjson" ||
      type == "application/jsonl" || type == "application/x-jsonlines") {
    return events::BodyFormat::kNdjson;
  }
  // What curl -d, --data-binary and other simple clients send by default.
  if (type == "text/plain" || type == "application/octet-stream" ||
      type == "application/x-www-form-urlencoded") {
    return events::BodyFormat::kAuto;
  }
  return std::nullopt;
}

// Writes the answer to a batch: one result per entry, in order.
Response batch_response(const std::vector<events::Entry>& entries, size_t accepted) {
  Response r;
  r.status = accepted > 0 ? 200 : 400;
  std::string& out = r.body;
  out.reserve(64 + entries.size() * 50);
  out += "{\"accepted\":" + std::to_string(accepted) +
         ",\"failed\":" + std::to_string(entries.size() - accepted) + ",\"results\":[";
  for (size_t i = 0; i < entries.size(); ++i) {
    out += i == 0 ? "{" : ",{";
    if (const auto* e = std::get_if<events::Event>(&entries[i])) {
      out += "\"id\":";
      core::append_json_string(out, e->id);
    } else {
      const auto& err = std::get<events::EntryError>(entries[i]);
      out += "\"error\":";
      core::append_json_string(out, events::entry_error_name(err.code));
      out += ",\"message\":";
      core::append_json_string(out, "entry " + std::to_string(i) + ": " + err.message);
    }
    out += "}";
  }
  out += "]}";
  return r;
}

void put_events(const events::EnvelopeParser& parser, bus::EventLog& log, RouteRequest& req,
                const Respond& respond) {
  const auto format = body_format(req.http);
  if (!format) {
    respond(error_response(415, "UnsupportedMediaType",
                           "send events as application/json or application/x-ndjson"));
    return;
  }
  std::string bus = "default";
  if (auto it = req.query.find("bus"); it != req.query.end()) {
    if (!bus::valid_name(it->second)) {
      respond(error_response(400, "BadRequest", "bus: 1 to 64 of A-Z a-z 0-9 . _ -"));
      return;
    }
    bus = it->second;
  }
  auto parsed = parser.parse_batch(req.http.body(), *format);
  if (!parsed) {
    const bool too_large = parsed.error().code() == core::ErrorCode::kTooLarge;
    respond(error_response(too_large ? 413 : 400, too_large ? "PayloadTooLarge" : "BadRequest",
                           parsed.error().message()));
    return;
  }

  // The valid entries go to the log; the answer waits until they are committed.
  auto entries = std::make_shared<std::vector<events::Entry>>(std::move(*parsed));
  std::vector<store::EventRecord> records;
  records.reserve(entries->size());
  for (auto& entry : *entries) {
    if (auto* e = std::get_if<events::Event>(&entry)) {
      records.push_back({e->id, std::move(e->source), std::move(e->detail_type), e->time_ms,
                         std::move(e->json), bus});
    }
  }
  const size_t accepted = records.size();
  if (accepted == 0) {
    respond(batch_response(*entries, 0));
    return;
  }
  log.append(std::move(records), [entries, accepted, respond](const core::Status& status) {
    if (!status.ok()) {
      const bool stopping = status.error().code() == core::ErrorCode::kUnavailable;
      respond(error_response(stopping ? 503 : 500, stopping ? "Unavailable" : "Internal",
                             "no event was stored: " + status.error().message()));
      return;
    }
    respond(batch_response(*entries, accepted));
  });
}

void get_event(store::EventStore& store, RouteRequest& req, const Respond& respond) {
  auto found = store.get_event(req.params[0]);
  if (!found) {
    respond(error_response(500, "Internal", found.error().message()));
    return;
  }
  if (!*found) {
    respond(error_response(404, "NotFound", "no event with id \"" + req.params[0] + "\""));
    return;
  }
  respond(Response{200, "application/json", std::move((*found)->record.json), {}});
}

// Reads the listing's query parameters; returns an error message for the first bad one.
std::optional<std::string> parse_event_query(const std::map<std::string, std::string>& q,
                                             store::EventQuery& out) {
  for (const auto& [key, value] : q) {
    if (key == "since" || key == "until") {
      auto ms = core::parse_rfc3339(value);
      if (!ms) {
        return "\"" + key + "\": " + ms.error().message();
      }
      (key == "since" ? out.since_ms : out.until_ms) = *ms;
    } else if (key == "source") {
      out.source = value;
    } else if (key == "detail-type") {
      out.detail_type = value;
    } else if (key == "bus") {
      out.bus = value;
    } else if (key == "limit") {
      size_t limit = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
      if (ec != std::errc() || end != value.data() + value.size() || limit < 1 ||
          limit > kMaxLimit) {
        return "\"limit\" must be a whole number from 1 to " + std::to_string(kMaxLimit);
      }
      out.limit = limit;
    } else if (key == "cursor") {
      out.after = decode_cursor(value);
      if (!out.after) {
        return "\"cursor\" is not a cursor this server gave out";
      }
    } else if (key == "order") {
      if (value != "asc" && value != "desc") {
        return "\"order\" must be asc or desc";
      }
      out.descending = value == "desc";
    } else {
      return "unknown parameter \"" + key +
             "\"; known: since, until, source, detail-type, bus, limit, cursor, order";
    }
  }
  return std::nullopt;
}

void list_events(store::EventStore& store, RouteRequest& req, const Respond& respond) {
  store::EventQuery query;
  query.limit = kDefaultLimit;
  if (auto bad = parse_event_query(req.query, query)) {
    respond(error_response(400, "BadRequest", *bad));
    return;
  }
  auto page = store.list_events(query);
  if (!page) {
    respond(error_response(500, "Internal", page.error().message()));
    return;
  }

  // The stored texts are already JSON, so the page is written without re-parsing them.
  Response r;
  std::string& out = r.body;
  out += "{\"events\":[";
  // A page also ends early once it passes kMaxPageBytes, so that a thousand large events do
  // not make one huge answer; the cursor then continues after the last event sent.
  std::optional<store::EventCursor> next = page->next;
  for (size_t i = 0; i < page->events.size(); ++i) {
    const store::StoredEvent& e = page->events[i];
    out += i == 0 ? "" : ",";
    out += e.record.json;
    if (out.size() > kMaxPageBytes && i + 1 < page->events.size()) {
      next = store::EventCursor{e.record.time_ms, e.seq};
      break;
    }
  }
  out += "],\"next_cursor\":";
  out += next ? core::json_quote(encode_cursor(*next)) : "null";
  out += "}";
  respond(std::move(r));
}

}  // namespace

std::string encode_cursor(const store::EventCursor& cursor) {
  return std::to_string(cursor.time_ms) + "." + std::to_string(cursor.seq);
}

std::optional<store::EventCursor> decode_cursor(std::string_view text) {
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) {
    return std::nullopt;
  }
  store::EventCursor c;
  const auto parse = [](std::string_view s, int64_t& v) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
  };
  if (!parse(text.substr(0, dot), c.time_ms) || !parse(text.substr(dot + 1), c.seq) || c.seq < 0) {
    return std::nullopt;
  }
  return c;
}

void add_event_routes(Router& router, const events::EnvelopeParser& parser, bus::EventLog& log,
                      store::EventStore& events) {
  router.add(http::verb::post, "/v1/events", Role::kOperator,
             [&parser, &log](RouteRequest& req, const Respond& respond) {
               put_events(parser, log, req, respond);
             });
  router.add(
      http::verb::get, "/v1/events", Role::kViewer,
      [&events](RouteRequest& req, const Respond& respond) { list_events(events, req, respond); });
  router.add(
      http::verb::get, "/v1/events/{id}", Role::kViewer,
      [&events](RouteRequest& req, const Respond& respond) { get_event(events, req, respond); });
}

}  // namespace homeostat::api
