#include "bus/senders.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>
#include <future>

#include "core/secret.hpp"

namespace homeostat::bus {
namespace json = boost::json;

namespace {

size_t discard(char* /*data*/, size_t size, size_t n, void* /*user*/) {
  return size * n;
}

// One curl handle per sender thread keeps connections to a webhook alive between deliveries.
CURL* thread_handle() {
  struct Handle {
    CURL* curl = curl_easy_init();
    ~Handle() { curl_easy_cleanup(curl); }
  };
  thread_local Handle handle;
  curl_easy_reset(handle.curl);
  return handle.curl;
}

bool looks_like_json(const std::string& text) {
  boost::system::error_code ec;
  json::parse(text, ec);
  return !ec;
}

}  // namespace

std::string forwarded_event_id(const std::string& event_id, const std::string& rule,
                               const std::string& target) {
  std::string h = core::sha256_hex(event_id + "\n" + rule + "\n" + target);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

Senders::Senders(store::DispatchStore& store, EventLog& log, const events::EnvelopeParser& parser,
                 const core::Clock& clock)
    : store_(store), log_(log), parser_(parser), clock_(clock) {}

SendResult Senders::send(const store::DeliveryRecord& d, const Target& target) {
  switch (target.kind) {
    case Target::Kind::kWebhook:
      return webhook(d, target.webhook);
    case Target::Kind::kTopic:
      return topic(d, target.topic);
    case Target::Kind::kBus:
      return put_on_bus(d, target.bus);
  }
  return {false, false, "unknown target kind"};
}

SendResult Senders::webhook(const store::DeliveryRecord& d, const WebhookTarget& w) {
  CURL* c = thread_handle();
  if (c == nullptr) {
    return {false, true, "cannot create an HTTP client"};
  }

  // Event data goes in the body only; the URL and the headers come from the rule.
  // The rule's own headers come last and replace any of ours they name (curl sends one each).
  auto rule_sets = [&](std::string_view name) {
    return std::any_of(w.headers.begin(), w.headers.end(), [&](const auto& h) {
      return std::equal(h.first.begin(), h.first.end(), name.begin(), name.end(),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); });
    });
  };
  curl_slist* headers = nullptr;
  if (!rule_sets("Content-Type")) {
    headers = curl_slist_append(headers, looks_like_json(d.input)
                                             ? "Content-Type: application/json"
                                             : "Content-Type: text/plain; charset=utf-8");
  }
  std::string key = "Idempotency-Key: homeostat-delivery-" + std::to_string(d.id);
  std::string rule = "X-Homeostat-Rule: " + d.rule;
  std::string event = "X-Homeostat-Event-Id: " + d.event_id;
  headers = curl_slist_append(headers, key.c_str());
  headers = curl_slist_append(headers, rule.c_str());
  headers = curl_slist_append(headers, event.c_str());
  headers = curl_slist_append(headers, "Expect:");
  std::vector<std::string> lines;
  for (const auto& [name, value] : w.headers) {
    lines.push_back(name + ": " + value);
  }
  for (const auto& line : lines) {
    headers = curl_slist_append(headers, line.c_str());
  }
  curl_easy_setopt(c, CURLOPT_URL, w.url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, d.input.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(d.input.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(w.timeout_ms));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "homeostat");

  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    return {false, true, curl_easy_strerror(rc)};
  }
  std::string detail = "HTTP " + std::to_string(status);
  if (status >= 200 && status < 300) {
    return {true, false, detail};
  }
  bool retryable = status == 408 || status == 429 || status >= 500;
  return {false, retryable, detail};
}

SendResult Senders::topic(const store::DeliveryRecord& d, const std::string& topic) {
  auto s = store_.publish(topic, d.id, d.input, clock_.now_ms());
  if (!s.ok()) {
    return {false, true, "cannot store the message: " + s.error().message()};
  }
  return {true, false, "published to " + topic};
}

SendResult Senders::put_on_bus(const store::DeliveryRecord& d, const std::string& bus) {
  // The forwarded event keeps everything but its id; a derived id makes a retry a duplicate.
  boost::system::error_code ec;
  json::value event = json::parse(d.input, ec);
  if (ec || !event.is_object()) {
    return {false, false, "the input is not an event"};
  }
  // A replay forwards a copy of its own, beside the one the live event made.
  event.get_object()["id"] = forwarded_event_id(
      d.event_id, d.rule, d.replay.empty() ? d.target : d.target + "\n" + d.replay);
  event.get_object().erase("replay-name");  // not an envelope field
  auto entry = parser_.parse_entry(json::serialize(event));
  if (const auto* err = std::get_if<events::EntryError>(&entry)) {
    return {false, false, "the event cannot be put on " + bus + ": " + err->message};
  }
  auto& e = std::get<events::Event>(entry);
  std::vector<store::EventRecord> records;
  records.push_back({e.id, e.source, e.detail_type, e.time_ms, e.json, bus});

  std::promise<core::Status> committed;
  auto done = committed.get_future();
  log_.append(std::move(records), [&committed](const core::Status& s) { committed.set_value(s); });
  auto status = done.get();
  if (!status.ok()) {
    return {false, true, "cannot store the event: " + status.error().message()};
  }
  return {true, false, "put on " + bus + " as " + e.id};
}

}  // namespace homeostat::bus
