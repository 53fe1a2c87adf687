#include <boost/json.hpp>

#include "api/routes.hpp"
#include "core/json.hpp"

namespace homeostat::api {
namespace {

namespace json = boost::json;

Response from_error(const core::Error& e) {
  switch (e.code()) {
    case core::ErrorCode::kInvalidArgument:
      return error_response(400, "BadRequest", e.message());
    case core::ErrorCode::kNotFound:
      return error_response(404, "NotFound", e.message());
    case core::ErrorCode::kAlreadyExists:
      return error_response(409, "Conflict", e.message());
    default:
      return error_response(500, "Internal", e.message());
  }
}

void create_token(Authenticator& auth, RouteRequest& req, const Respond& respond) {
  boost::system::error_code ec;
  const json::value body = json::parse(req.http.body(), ec);
  if (ec || !body.is_object()) {
    respond(error_response(
        400, "BadRequest",
        R"(expected a JSON object: {"name": "...", "role": "viewer|operator|admin"})"));
    return;
  }
  const json::object& o = body.get_object();
  const json::value* name = o.if_contains("name");
  const json::value* role = o.if_contains("role");
  if (name == nullptr || !name->is_string()) {
    respond(error_response(400, "BadRequest", "\"name\" must be a string"));
    return;
  }
  const std::optional<Role> parsed = role != nullptr && role->is_string()
                                         ? parse_role(std::string_view(role->get_string()))
                                         : std::nullopt;
  if (!parsed) {
    respond(error_response(400, "BadRequest", "\"role\" must be viewer, operator or admin"));
    return;
  }
  auto made = auth.create(std::string(name->get_string()), *parsed);
  if (!made) {
    respond(from_error(made.error()));
    return;
  }
  const json::object out{
      {"name", made->name}, {"role", role_name(made->role)}, {"token", made->token}};
  respond(Response{201, "application/json", json::serialize(out), {}});
}

}  // namespace

void add_token_routes(Router& router, Authenticator& auth) {
  router.add(
      http::verb::post, "/v1/tokens", Role::kAdmin,
      [&auth](RouteRequest& req, const Respond& respond) { create_token(auth, req, respond); });

  router.add(
      http::verb::get, "/v1/tokens", Role::kAdmin, [&auth](RouteRequest&, const Respond& respond) {
        auto tokens = auth.list();
        if (!tokens) {
          respond(from_error(tokens.error()));
          return;
        }
        json::array list;
        for (const auto& t : *tokens) {
          list.push_back(json::object{
              {"name", t.name}, {"role", t.role}, {"created", core::format_rfc3339(t.created_ms)}});
        }
        respond(Response{200,
                         "application/json",
                         json::serialize(json::object{{"tokens", std::move(list)}}),
                         {}});
      });

  router.add(http::verb::delete_, "/v1/tokens/{name}", Role::kAdmin,
             [&auth](RouteRequest& req, const Respond& respond) {
               if (req.principal && req.principal->name == req.params[0]) {
                 respond(error_response(409, "Conflict", "a token cannot revoke itself"));
                 return;
               }
               const core::Status s = auth.revoke(req.params[0]);
               if (!s.ok()) {
                 respond(from_error(s.error()));
                 return;
               }
               respond(Response{204, "application/json", "", {}});
             });
}

}  // namespace homeostat::api
