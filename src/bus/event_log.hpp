// The durable event log: where accepted events are committed before anyone is told so.
//
// Design: callers on any thread hand batches to append(); one writer thread takes everything
// queued, commits it in a single store transaction (one fsync for many requests: group commit)
// and only then runs each caller's completion. The writer also applies the retention policy
// between commits. Completions run on the writer thread, in the order the batches were
// queued, and must not block. stop() refuses new batches, commits those already queued, and
// returns once every completion has run.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/event_store.hpp"

namespace homeostat::bus {

struct EventLogOptions {
  size_t max_records_per_commit = 20000;  // a commit takes whole batches up to about this many
  store::RetentionPolicy retention;
  int64_t retention_interval_ms = 60'000;
  // Called on the writer thread after each successful commit (e.g. to wake the dispatcher).
  // Must be quick and must not call back into the log.
  std::function<void()> on_commit;
  // The last seq retention may remove (e.g. how far rules have been matched); unset: any.
  std::function<std::optional<int64_t>()> retention_floor;
};

struct EventLogStats {
  uint64_t commits = 0;
  uint64_t records = 0;
  uint64_t failed_commits = 0;
};

class EventLog {
 public:
  using Completion = std::function<void(const core::Status&)>;

  EventLog(store::EventStore& store, const core::Clock& clock, EventLogOptions options);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  void start();
  // Commits what is queued, runs every completion, and joins the writer. Idempotent.
  void stop();

  // Queues `records` for the next commit. `done` runs exactly once, on the writer thread: with
  // ok once the records are durable, with an error if the commit failed or the log is stopped.
  void append(std::vector<store::EventRecord> records, Completion done);

  EventLogStats stats() const;

 private:
  struct Pending {
    std::vector<store::EventRecord> records;
    Completion done;
  };

  void run();
  void commit(std::vector<Pending>& group);
  void maybe_apply_retention();

  store::EventStore& store_;
  const core::Clock& clock_;
  const EventLogOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // GUARDED_BY(mu_)
  bool accepting_ = false;     // GUARDED_BY(mu_)
  bool stopping_ = false;      // GUARDED_BY(mu_)
  EventLogStats stats_;        // GUARDED_BY(mu_)
  std::thread writer_;

  int64_t last_received_ms_ = 0;   // writer thread only
  int64_t next_retention_ms_ = 0;  // writer thread only
};

}  // namespace homeostat::bus
