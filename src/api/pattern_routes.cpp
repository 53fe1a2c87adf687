// POST /v1/test-event-pattern: does this event match this pattern? The same compiled matcher
// the bus uses, on one pattern, so an answer here is the answer a rule would give.
#include <boost/json.hpp>

#include "api/routes.hpp"
#include "patterns/matcher.hpp"
#include "patterns/pattern.hpp"

namespace homeostat::api {
namespace {

namespace json = boost::json;

// A member given as a JSON value or as a string holding JSON text (the form of the AWS API).
std::optional<std::string> text_of(const json::value& v) {
  if (v.is_string()) {
    return std::string(v.get_string());
  }
  if (v.is_object()) {
    return json::serialize(v);
  }
  return std::nullopt;
}

void test_event_pattern(RouteRequest& req, const Respond& respond) {
  boost::system::error_code ec;
  const json::value body = json::parse(req.http.body(), ec);
  const json::object* o = ec ? nullptr : body.if_object();
  if (o == nullptr) {
    respond(error_response(400, "BadRequest",
                           R"(expected a JSON object: {"pattern": {...}, "event": {...}})"));
    return;
  }
  const json::value* pattern_member = o->if_contains("pattern");
  const json::value* event_member = o->if_contains("event");
  auto pattern_text = pattern_member ? text_of(*pattern_member) : std::nullopt;
  auto event_text = event_member ? text_of(*event_member) : std::nullopt;
  if (!pattern_text || !event_text) {
    respond(error_response(400, "BadRequest",
                           "\"pattern\" and \"event\" must each be an object or a string of "
                           "JSON text"));
    return;
  }

  auto pattern = patterns::parse_pattern(*pattern_text);
  if (!pattern) {
    respond(error_response(400, "InvalidEventPattern", pattern.error().message()));
    return;
  }
  auto matcher = patterns::Matcher::compile(std::span(&*pattern, 1));
  patterns::MatchScratch scratch;
  std::vector<uint32_t> out;
  if (auto status = matcher->match(*event_text, scratch, out); !status.ok()) {
    respond(error_response(400, "InvalidEvent", "event: " + status.error().message()));
    return;
  }
  respond(Response{
      200, "application/json", out.empty() ? R"({"result":false})" : R"({"result":true})", {}});
}

}  // namespace

void add_pattern_routes(Router& router) {
  router.add(http::verb::post, "/v1/test-event-pattern", Role::kViewer,
             [](RouteRequest& req, const Respond& respond) { test_event_pattern(req, respond); });
}

}  // namespace homeostat::api
