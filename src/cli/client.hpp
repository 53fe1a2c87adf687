// The HTTP client the command line uses to talk to a daemon, on libcurl.
#pragma once

#include <map>
#include <string>

#include "core/result.hpp"

namespace homeostat::cli {

struct HttpResult {
  long status = 0;
  std::string body;
};

// Where the daemon is and how to prove who we are; found from flags, the environment, and the
// files a local daemon leaves in its data directory (see find_endpoint).
struct Endpoint {
  std::string url;      // "http://127.0.0.1:9470"
  std::string token;    // may be empty: the request then goes without one
  std::string ca_file;  // a CA bundle for https, when not the system's
};

class Client {
 public:
  explicit Client(Endpoint endpoint);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request and returns the status and body. kUnavailable when the daemon cannot be
  // reached. The connection is kept for the next request.
  core::Result<HttpResult> send(const std::string& method, const std::string& path_and_query,
                                const std::string& body = "",
                                const std::string& content_type = "application/json");

  // Percent-encodes a query parameter value.
  std::string escape(const std::string& value);

 private:
  Endpoint endpoint_;
  void* curl_;
};

}  // namespace homeostat::cli
