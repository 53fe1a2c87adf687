// The deliverer: attempts the pending deliveries, retries the failures with back-off, and
// moves those that run out of attempts or age to the dead-letter store.
//
// Design. A scheduler thread reads the due deliveries from the store and hands them to a few
// worker threads, keeping the ids in hand so that no delivery is attempted twice at once. A
// worker looks up the delivery's rule and target in the current rules, sends, and records the
// attempt and the delivery's next state in one transaction. A crash during a send loses only
// that attempt's record: the delivery is still pending and is attempted again on restart, so
// delivery is at-least-once (webhooks get an Idempotency-Key to tell repeats apart).
//
// Retry: attempt n+1 waits retry_base_ms * 2^(n-1), at most retry_max_ms, with up to 20%
// jitter. A delivery is dead when it failed with a final error, when its target's
// maximum_retry_attempts are spent, or when its event is older than maximum_event_age.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "bus/rule_set.hpp"
#include "bus/senders.hpp"
#include "core/clock.hpp"
#include "store/dispatch_store.hpp"

namespace homeostat::bus {

struct DelivererOptions {
  int workers = 4;
  int64_t retry_base_ms = 1000;
  int64_t retry_max_ms = 300'000;
  int64_t poll_ms = 1000;  // the longest the scheduler sleeps without being woken
};

class Deliverer {
 public:
  Deliverer(store::DispatchStore& store, const RuleSet& rules, TargetSender& sender,
            const core::Clock& clock, DelivererOptions options);
  ~Deliverer();
  Deliverer(const Deliverer&) = delete;
  Deliverer& operator=(const Deliverer&) = delete;

  void start();
  // Lets the sends in progress finish, then stops; what is left stays pending. Idempotent.
  void stop();
  // Asks the scheduler to look for due deliveries now. Any thread.
  void wake();

 private:
  void schedule();
  void work();
  void attempt(const store::DeliveryRecord& d);
  int64_t backoff_ms(int attempts) const;

  store::DispatchStore& store_;
  const RuleSet& rules_;
  TargetSender& sender_;
  const core::Clock& clock_;
  const DelivererOptions options_;

  std::mutex mu_;
  std::condition_variable scheduler_cv_;
  std::condition_variable workers_cv_;
  std::deque<store::DeliveryRecord> queue_;  // GUARDED_BY(mu_)
  std::set<int64_t> in_hand_;                // GUARDED_BY(mu_): queued or being sent
  bool woken_ = false;                       // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::thread scheduler_;
  std::vector<std::thread> workers_;
};

}  // namespace homeostat::bus
