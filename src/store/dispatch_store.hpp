// The storage interface for rule dispatch: how far the dispatcher has matched the log, the
// deliveries each match creates, every attempt at one, topic messages, the rules made through
// the API, and replays. The dead deliveries are the dead-letter store.
//
// Durability is what makes delivery at-least-once: the deliveries for a stretch of the log are
// committed in the same transaction that moves the dispatcher's position past it, so a crash
// either loses both (the stretch is matched again) or keeps both (the deliveries are retried).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "store/event_store.hpp"

namespace homeostat::store {

enum class DeliveryState {
  kPending,    // waiting for its first or next attempt
  kDelivered,  // an attempt succeeded
  kDead,       // out of attempts or too old, or refused for good: in the dead-letter store
};

// Returns "pending", "delivered" or "dead"; parse_delivery_state is the inverse.
const char* delivery_state_name(DeliveryState state);
std::optional<DeliveryState> parse_delivery_state(std::string_view name);

// One event on its way to one target of one rule.
struct DeliveryRecord {
  int64_t id = 0;  // assigned by the store
  std::string rule;
  std::string target;  // the target's id within the rule
  std::string bus;     // the bus the event was on
  std::string event_id;
  int64_t event_seq = 0;
  int64_t event_received_ms = 0;  // the maximum event age counts from here
  std::string input;              // what the target receives
  std::string replay;             // the replay that made it; "" for live events
  DeliveryState state = DeliveryState::kPending;
  int attempts = 0;
  int64_t due_ms = 0;  // when the next attempt may start
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::string last_error;
};

// One attempt at a delivery and how it ended.
struct AttemptRecord {
  int64_t delivery_id = 0;
  // Writing: the attempt's number since the delivery's last redrive (1 for the first), which
  // becomes the delivery's `attempts`. Reading: its number over the delivery's whole life.
  int attempt = 0;
  int64_t at_ms = 0;
  int64_t duration_ms = 0;
  std::string outcome;  // "delivered", "failed" (will retry) or "dead"
  std::string detail;   // e.g. "HTTP 503" or the transport error
};

struct DeliveryQuery {
  std::optional<std::string> rule;
  std::optional<std::string> event_id;
  std::optional<DeliveryState> state;
  std::optional<int64_t> before_id;  // newest first, continuing below this id
  size_t limit = 100;
};

// Which dead deliveries a redrive sends again; empty fields match everything.
struct RedriveFilter {
  std::vector<int64_t> ids;
  std::optional<std::string> rule;
};

struct TopicMessage {
  int64_t seq = 0;
  std::string topic;
  int64_t delivery_id = 0;
  std::string message;
  int64_t published_ms = 0;
};

// A replay: archived events sent through the rules again. `definition` is its JSON request.
struct ReplayRecord {
  std::string name;
  std::string definition;
  std::string state;     // "running", "done"
  int64_t position = 0;  // the last seq it has matched
  int64_t end_seq = 0;   // the last seq it will look at (the log's end when it began)
  int64_t matched = 0;   // deliveries it made
  int64_t created_ms = 0;
  int64_t finished_ms = 0;
};

// Thread-safe. Each call is one transaction, durable when it returns ok.
class DispatchStore {
 public:
  virtual ~DispatchStore() = default;

  // How far `consumer` ("live", or "replay:<name>") has matched the log; 0 at first.
  virtual core::Result<int64_t> dispatch_position(const std::string& consumer) = 0;
  // Up to `limit` events with seq > after, in seq order.
  virtual core::Result<std::vector<StoredEvent>> events_after(int64_t after, size_t limit) = 0;
  // Stores the deliveries (ids are assigned) and moves the consumer to `position`, together.
  // A replay's progress (`replay`, when given) is saved in the same transaction.
  virtual core::Status record_matches(const std::string& consumer, int64_t position,
                                      std::span<const DeliveryRecord> deliveries,
                                      const ReplayRecord* replay) = 0;

  // Pending deliveries due at now_ms, the earliest first.
  virtual core::Result<std::vector<DeliveryRecord>> due_deliveries(int64_t now_ms,
                                                                   size_t limit) = 0;
  // The earliest due time of any pending delivery, if there is one.
  virtual core::Result<std::optional<int64_t>> next_due_ms() = 0;
  // Records one attempt and the delivery's new state and due time, together.
  virtual core::Status record_attempt(const AttemptRecord& attempt, DeliveryState state,
                                      int64_t due_ms) = 0;
  virtual core::Result<std::optional<DeliveryRecord>> get_delivery(int64_t id) = 0;
  virtual core::Result<std::vector<DeliveryRecord>> list_deliveries(const DeliveryQuery& q) = 0;
  virtual core::Result<std::vector<AttemptRecord>> list_attempts(int64_t delivery_id) = 0;
  // Makes the matching dead deliveries pending again, due now, with their attempts counted
  // from zero (their past attempts stay recorded). Returns how many.
  virtual core::Result<int64_t> redrive(const RedriveFilter& filter, int64_t now_ms) = 0;

  // Appends a message to a topic; a second call for the same delivery changes nothing.
  virtual core::Status publish(const std::string& topic, int64_t delivery_id,
                               const std::string& message, int64_t now_ms) = 0;
  virtual core::Result<std::vector<TopicMessage>> topic_messages(const std::string& topic,
                                                                 int64_t after_seq,
                                                                 size_t limit) = 0;

  // Rules made through the API, as their JSON definitions.
  virtual core::Status put_rule(const std::string& name, const std::string& definition,
                                int64_t now_ms) = 0;
  virtual core::Status delete_rule(const std::string& name) = 0;  // kNotFound if absent
  virtual core::Result<std::vector<std::pair<std::string, std::string>>> list_rules() = 0;

  virtual core::Status create_replay(const ReplayRecord& replay) = 0;  // kAlreadyExists
  virtual core::Result<std::optional<ReplayRecord>> get_replay(const std::string& name) = 0;
  virtual core::Result<std::vector<ReplayRecord>> list_replays() = 0;
  // The log's last seq (0 when empty).
  virtual core::Result<int64_t> last_seq() = 0;
};

}  // namespace homeostat::store
