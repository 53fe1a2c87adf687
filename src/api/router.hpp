// Routes requests by method and path, authenticates them, checks the caller's role, and writes
// one access-log line per request.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/auth.hpp"
#include "api/http_types.hpp"

namespace homeostat::api {

// A request as a route sees it: the HTTP message plus what the router worked out.
struct RouteRequest {
  Request http;
  std::string request_id;
  std::vector<std::string> params;           // the path's {captures}, in order, decoded
  std::map<std::string, std::string> query;  // decoded; a repeated key keeps its last value
  std::optional<Principal> principal;        // set on every route that needs a role
};

using Route = std::function<void(RouteRequest&, Respond)>;

class Router final : public Handler {
 public:
  explicit Router(const Authenticator& auth) : auth_(auth) {}

  // Adds a route. `pattern` is a path whose segments may be "{name}" captures, e.g.
  // "/v1/events/{id}". `min_role` of std::nullopt serves the route without a token.
  // Not thread-safe: add every route before the server starts.
  void add(http::verb method, const std::string& pattern, std::optional<Role> min_role,
           Route route);

  void handle(Request request, std::string request_id, Respond respond) override;

 private:
  struct Entry {
    http::verb method;
    std::vector<std::string> segments;
    std::optional<Role> min_role;
    Route route;
  };

  const Authenticator& auth_;
  std::vector<Entry> entries_;
};

// Decodes %XX escapes (and '+' as a space when `plus_is_space`); nullopt when malformed.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

}  // namespace homeostat::api
