#include "api/http_types.hpp"

#include "core/json.hpp"
#include "core/secret.hpp"

namespace homeostat::api {

Response error_response(unsigned status, std::string_view code, std::string_view message) {
  Response r;
  r.status = status;
  r.body = "{\"error\":";
  core::append_json_string(r.body, code);
  r.body += ",\"message\":";
  core::append_json_string(r.body, message);
  r.body += "}";
  return r;
}

std::string new_request_id() {
  return core::random_token(12);
}

}  // namespace homeostat::api
