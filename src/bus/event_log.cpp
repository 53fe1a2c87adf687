#include "bus/event_log.hpp"

#include <algorithm>
#include <span>

#include "core/log.hpp"

namespace homeostat::bus {
namespace {

const core::Logger kLog("bus");

}  // namespace

EventLog::EventLog(store::EventStore& store, const core::Clock& clock, EventLogOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

EventLog::~EventLog() {
  stop();
}

void EventLog::start() {
  std::lock_guard lock(mu_);
  if (accepting_ || writer_.joinable()) {
    return;
  }
  accepting_ = true;
  next_retention_ms_ = clock_.now_ms();
  writer_ = std::thread([this] { run(); });
}

void EventLog::stop() {
  {
    std::lock_guard lock(mu_);
    accepting_ = false;
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) {
    writer_.join();
  }

  // Without a writer (never started), refuse whatever was queued rather than drop it silently.
  std::deque<Pending> left;
  {
    std::lock_guard lock(mu_);
    left.swap(queue_);
  }
  for (Pending& p : left) {
    p.done(core::Error(core::ErrorCode::kUnavailable, "the event log is stopped"));
  }
}

void EventLog::append(std::vector<store::EventRecord> records, Completion done) {
  {
    std::lock_guard lock(mu_);
    if (accepting_) {
      queue_.push_back({std::move(records), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(core::Error(core::ErrorCode::kUnavailable, "the event log is stopped"));
}

EventLogStats EventLog::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void EventLog::run() {
  std::vector<Pending> group;
  for (;;) {
    // Wait for work, waking for retention even when idle.
    {
      std::unique_lock lock(mu_);
      const int64_t wait_ms = std::max<int64_t>(1, next_retention_ms_ - clock_.now_ms());
      cv_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                   [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) {
        return;
      }

      // Take whole batches up to the size of one commit; what is left waits for the next one.
      size_t taken = 0;
      while (!queue_.empty() && (group.empty() || taken + queue_.front().records.size() <=
                                                      options_.max_records_per_commit)) {
        taken += queue_.front().records.size();
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }

    if (!group.empty()) {
      commit(group);
      group.clear();
    }
    maybe_apply_retention();
  }
}

void EventLog::commit(std::vector<Pending>& group) {
  std::vector<std::span<const store::EventRecord>> batches;
  batches.reserve(group.size());
  size_t records = 0;
  for (const Pending& p : group) {
    batches.emplace_back(p.records);
    records += p.records.size();
  }

  // Received times never go backwards, even if the wall clock does, so that the log's order is
  // also the order of arrival (retention relies on it).
  last_received_ms_ = std::max(last_received_ms_, clock_.now_ms());
  const core::Status status = store_.append_events(batches, last_received_ms_);
  if (!status.ok()) {
    kLog.error("commit failed", {{"records", records}, {"error", status.error().message()}});
  }
  {
    std::lock_guard lock(mu_);
    if (status.ok()) {
      ++stats_.commits;
      stats_.records += records;
    } else {
      ++stats_.failed_commits;
    }
  }

  // Only now, with the transaction durable (or failed), are the callers told.
  for (Pending& p : group) {
    p.done(status);
  }
  if (status.ok() && options_.on_commit) {
    options_.on_commit();
  }
}

void EventLog::maybe_apply_retention() {
  const int64_t now = clock_.now_ms();
  if (now < next_retention_ms_) {
    return;
  }
  // One chunk per turn of the writer loop, so that a long retention pass (a lowered size limit
  // over a large log) delays queued appends by one chunk at a time, never by the whole pass.
  store::RetentionPolicy policy = options_.retention;
  policy.max_chunks = 1;
  if (options_.retention_floor) {
    policy.keep_after_seq = options_.retention_floor();
  }
  auto result = store_.apply_retention(policy, now);
  if (!result) {
    next_retention_ms_ = now + options_.retention_interval_ms;
    kLog.error("retention failed", {{"error", result.error().message()}});
    return;
  }
  next_retention_ms_ = result->more ? now : now + options_.retention_interval_ms;
  if (result->removed > 0) {
    kLog.info("retention removed events",
              {{"removed", result->removed}, {"removed_bytes", result->removed_bytes}});
  }
}

}  // namespace homeostat::bus
