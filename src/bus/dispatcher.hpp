// The dispatcher: matches the durable log against the rules and turns every match into one
// delivery per target.
//
// Design. One thread reads the log in seq order from the position it last committed, matches
// each event against the rules of its bus (RuleSet snapshot), renders each target's input, and
// commits the deliveries together with the new position (DispatchStore::record_matches). A
// crash before that commit means the same events are matched again on restart; after it, the
// deliveries are durable and the Deliverer retries them. So no event that was committed is
// ever skipped, and an event may be matched twice only if its first deliveries were never
// committed. The thread wakes on every commit of the log (wake()), and polls otherwise.
//
// Replays run on the same thread, after the live log is caught up: each reads the log from
// its own position up to the end it had when it began, keeps the events in its time range,
// matches them against the current rules (or one rule), and marks what it produces with its
// name ("replay-name" in the event a target receives).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "bus/rule_set.hpp"
#include "core/clock.hpp"
#include "patterns/matcher.hpp"
#include "store/dispatch_store.hpp"

namespace homeostat::bus {

struct DispatcherOptions {
  size_t batch = 500;      // events read and committed per transaction
  int64_t poll_ms = 1000;  // how long to sleep when nothing wakes the thread
};

// What a replay covers: events of `bus` with a time in [since_ms, until_ms), matched against
// every rule of the bus, or only `rule`.
struct ReplayRequest {
  std::string name;
  std::string bus = "default";
  int64_t since_ms = 0;
  int64_t until_ms = 0;
  std::optional<std::string> rule;
};

class Dispatcher {
 public:
  // `on_deliveries` is called after deliveries were committed (to wake the Deliverer).
  Dispatcher(store::DispatchStore& store, const RuleSet& rules, const core::Clock& clock,
             DispatcherOptions options, std::function<void()> on_deliveries);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void start();
  // Finishes the batch in hand and stops. Idempotent.
  void stop();
  // Asks the thread to look at the log now. Cheap; any thread.
  void wake();

  // Records a replay and lets the thread run it. kAlreadyExists when the name is taken.
  core::Result<store::ReplayRecord> start_replay(const ReplayRequest& request);

  // The replay request a ReplayRecord's definition holds.
  static core::Result<ReplayRequest> parse_replay_definition(const std::string& json);

 private:
  void run();
  // Each returns true when it did work (and may have more).
  bool match_live();
  bool match_replays();
  bool match_replay(store::ReplayRecord replay);
  void save_live_position();

  store::DispatchStore& store_;
  const RuleSet& rules_;
  const core::Clock& clock_;
  const DispatcherOptions options_;
  std::function<void()> on_deliveries_;
  patterns::MatchScratch scratch_;  // used by the dispatch thread only
  // The live position in hand, and when it was last made durable (dispatch thread only).
  // A stretch of events that made no delivery is saved at most once a second: matching it
  // again after a crash makes nothing new, and saving it per batch would cost a commit each.
  std::optional<int64_t> live_position_;
  int64_t live_saved_position_ = -1;
  int64_t live_saved_ms_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;     // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace homeostat::bus
