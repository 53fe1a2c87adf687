#include "cli/client.hpp"

#include <curl/curl.h>

namespace homeostat::cli {
namespace {

size_t append_body(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

}  // namespace

Client::Client(Endpoint endpoint) : endpoint_(std::move(endpoint)), curl_(curl_easy_init()) {}

Client::~Client() {
  curl_easy_cleanup(static_cast<CURL*>(curl_));
}

std::string Client::escape(const std::string& value) {
  char* e =
      curl_easy_escape(static_cast<CURL*>(curl_), value.c_str(), static_cast<int>(value.size()));
  std::string out = e != nullptr ? e : "";
  curl_free(e);
  return out;
}

core::Result<HttpResult> Client::send(const std::string& method, const std::string& path_and_query,
                                      const std::string& body, const std::string& content_type) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);
  const std::string url = endpoint_.url + path_and_query;
  HttpResult result;

  curl_slist* headers = nullptr;
  const std::string auth = "Authorization: Bearer " + endpoint_.token;
  const std::string type = "Content-Type: " + content_type;
  if (!endpoint_.token.empty()) {
    headers = curl_slist_append(headers, auth.c_str());
  }
  headers = curl_slist_append(headers, type.c_str());
  headers = curl_slist_append(headers, "Expect:");

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (!endpoint_.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, endpoint_.ca_file.c_str());
  }
  if (method == "POST" || method == "PUT" || method == "PATCH" || !body.empty()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }

  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    return core::Error(
        core::ErrorCode::kUnavailable,
        "cannot reach the daemon at " + endpoint_.url + ": " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.status);
  return result;
}

}  // namespace homeostat::cli
