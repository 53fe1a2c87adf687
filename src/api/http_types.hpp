// The request and response types that pass between the HTTP server and the routes. Routes see
// no sockets and no Asio: they take a Request and answer through a Respond callback, which may
// be called from any thread (for example once the event log has committed).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace homeostat::api {

namespace http = boost::beast::http;

using Request = http::request<http::string_body>;

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Answers a request. Call exactly once, from any thread; the server writes the response on the
// connection's own executor.
using Respond = std::function<void(Response)>;

// Handles every request the server reads. `request_id` identifies the request in logs and in the
// X-Request-Id response header. Implementations must be thread-safe.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual void handle(Request request, std::string request_id, Respond respond) = 0;
};

// Builds the JSON error body used by every route: {"error": CODE, "message": ...}.
Response error_response(unsigned status, std::string_view code, std::string_view message);

// Returns a short random request id.
std::string new_request_id();

}  // namespace homeostat::api
