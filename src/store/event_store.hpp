// The storage interface for the durable event log. The bus owns when things are written (group
// commit); an engine owns how (one transaction per call, durable when the call returns).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace homeostat::store {

// An event as it is written: its id, the fields it is looked up by, and its JSON text.
struct EventRecord {
  std::string id;
  std::string source;
  std::string detail_type;
  int64_t time_ms = 0;
  std::string json;
  std::string bus = "default";  // the bus the event was put on
};

// An event as it is read back, with where and when it was stored.
struct StoredEvent {
  int64_t seq = 0;          // position in the log; increases with every stored event
  int64_t received_ms = 0;  // when the transaction that stored it began
  EventRecord record;
};

// A position in a listing: the (time, seq) of the last event returned.
struct EventCursor {
  int64_t time_ms = 0;
  int64_t seq = 0;
};

struct EventQuery {
  std::optional<int64_t> since_ms;  // event time >= since
  std::optional<int64_t> until_ms;  // event time < until
  std::optional<std::string> source;
  std::optional<std::string> detail_type;
  std::optional<std::string> bus;
  std::optional<EventCursor> after;  // continue past this position
  bool descending = false;           // newest first
  size_t limit = 100;
};

struct EventPage {
  std::vector<StoredEvent> events;
  std::optional<EventCursor> next;  // set when more events may follow
};

struct EventStats {
  int64_t count = 0;
  int64_t bytes = 0;  // the summed size of the stored JSON texts
};

struct RetentionPolicy {
  std::optional<int64_t> max_age_ms;      // events received longer ago are removed
  std::optional<int64_t> max_bytes;       // the oldest events go until the log fits
  int max_chunks = 0;                     // chunks of up to 1000 events per call; 0 = no bound
  std::optional<int64_t> keep_after_seq;  // events past this seq are kept whatever their age
};

struct RetentionResult {
  int64_t removed = 0;
  int64_t removed_bytes = 0;
  bool more = false;  // stopped at max_chunks with more to remove
};

// Thread-safe. Writes are serialised inside the engine; reads may run alongside them.
class EventStore {
 public:
  virtual ~EventStore() = default;

  // Stores every record of every batch in one transaction, durable when this returns ok.
  // A record whose id is already stored is skipped (first write wins), which makes a retried
  // request harmless. received_ms is stamped on every record stored.
  virtual core::Status append_events(std::span<const std::span<const EventRecord>> batches,
                                     int64_t received_ms) = 0;

  // Returns the event with this id, or std::nullopt.
  virtual core::Result<std::optional<StoredEvent>> get_event(const std::string& id) = 0;

  // Returns events in (time, seq) order, ascending or descending, up to query.limit (an empty
  // page for a limit of 0).
  virtual core::Result<EventPage> list_events(const EventQuery& query) = 0;

  virtual core::Result<EventStats> event_stats() = 0;

  // Removes events by age and by size, oldest first, one transaction per chunk of up to 1000
  // events, and at most policy.max_chunks chunks (result.more says whether work is left).
  virtual core::Result<RetentionResult> apply_retention(const RetentionPolicy& policy,
                                                        int64_t now_ms) = 0;

  // Proves that a write can be committed now; what /readyz asks.
  virtual core::Status check_writable() = 0;
};

}  // namespace homeostat::store
