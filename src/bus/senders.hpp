// Target senders: how a delivery's input reaches a webhook, a topic or another bus.
#pragma once

#include <string>

#include "bus/event_log.hpp"
#include "bus/rule.hpp"
#include "core/clock.hpp"
#include "events/envelope.hpp"
#include "store/dispatch_store.hpp"

namespace homeostat::bus {

// How one attempt ended. A failure says whether another attempt can help.
struct SendResult {
  bool ok = false;
  bool retryable = true;
  std::string detail;  // e.g. "HTTP 503", "connection refused"; never a header value
};

// Sends one delivery to one target. Implementations are thread-safe.
class TargetSender {
 public:
  virtual ~TargetSender() = default;
  virtual SendResult send(const store::DeliveryRecord& delivery, const Target& target) = 0;
};

// The senders of a running daemon:
// - webhook: POST of the input with libcurl; 2xx is delivered; 408, 429, 5xx and transport
//   errors are retried; any other status is final. Redirects are not followed. The request
//   carries Idempotency-Key, X-Homeostat-Rule and X-Homeostat-Event-Id headers.
// - topic: appends the input to the topic (DispatchStore::publish), once per delivery.
// - bus: puts the event on the target bus with an id derived from the delivery's event, rule
//   and target, so a repeated attempt is stored once.
class Senders final : public TargetSender {
 public:
  Senders(store::DispatchStore& store, EventLog& log, const events::EnvelopeParser& parser,
          const core::Clock& clock);
  SendResult send(const store::DeliveryRecord& delivery, const Target& target) override;

 private:
  SendResult webhook(const store::DeliveryRecord& d, const WebhookTarget& w);
  SendResult topic(const store::DeliveryRecord& d, const std::string& topic);
  SendResult put_on_bus(const store::DeliveryRecord& d, const std::string& bus);

  store::DispatchStore& store_;
  EventLog& log_;
  const events::EnvelopeParser& parser_;
  const core::Clock& clock_;
};

// The id an event forwarded by (rule, target) to another bus gets: a UUID-shaped hex digest.
std::string forwarded_event_id(const std::string& event_id, const std::string& rule,
                               const std::string& target);

}  // namespace homeostat::bus
