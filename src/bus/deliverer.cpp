#include "bus/deliverer.hpp"

#include <random>

#include "core/log.hpp"

namespace homeostat::bus {
namespace {

const core::Logger kLog("deliver");

}  // namespace

Deliverer::Deliverer(store::DispatchStore& store, const RuleSet& rules, TargetSender& sender,
                     const core::Clock& clock, DelivererOptions options)
    : store_(store), rules_(rules), sender_(sender), clock_(clock), options_(options) {}

Deliverer::~Deliverer() {
  stop();
}

void Deliverer::start() {
  scheduler_ = std::thread([this] { schedule(); });
  for (int i = 0; i < options_.workers; ++i) {
    workers_.emplace_back([this] { work(); });
  }
}

void Deliverer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  scheduler_cv_.notify_all();
  workers_cv_.notify_all();
  if (scheduler_.joinable()) {
    scheduler_.join();
  }
  for (auto& w : workers_) {
    if (w.joinable()) {
      w.join();
    }
  }
  workers_.clear();
}

void Deliverer::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  scheduler_cv_.notify_one();
}

void Deliverer::schedule() {
  while (true) {
    // Hand out what is due and not already in hand.
    auto due = store_.due_deliveries(clock_.now_ms(), 256);
    if (!due) {
      kLog.error("cannot read due deliveries", {{"error", due.error().message()}});
    }
    size_t handed = 0;
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        return;
      }
      for (auto& d : due ? *due : std::vector<store::DeliveryRecord>{}) {
        if (in_hand_.insert(d.id).second) {
          queue_.push_back(std::move(d));
          ++handed;
        }
      }
    }
    if (handed > 0) {
      workers_cv_.notify_all();
    }

    // Sleep until the next delivery falls due, a wake-up, or the poll interval.
    int64_t wait_ms = options_.poll_ms;
    if (auto next = store_.next_due_ms(); next && *next) {
      wait_ms = std::clamp<int64_t>(**next - clock_.now_ms(), 0, options_.poll_ms);
    }
    std::unique_lock lock(mu_);
    if (handed == 0 || wait_ms > 0) {
      scheduler_cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(wait_ms, 5)),
                             [&] { return woken_ || stopping_; });
    }
    woken_ = false;
    if (stopping_) {
      return;
    }
  }
}

void Deliverer::work() {
  while (true) {
    store::DeliveryRecord d;
    {
      std::unique_lock lock(mu_);
      workers_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) {
        return;
      }
      d = std::move(queue_.front());
      queue_.pop_front();
    }
    attempt(d);
    {
      std::lock_guard lock(mu_);
      in_hand_.erase(d.id);
      woken_ = true;
    }
    scheduler_cv_.notify_one();
  }
}

int64_t Deliverer::backoff_ms(int attempts) const {
  int64_t wait = options_.retry_base_ms;
  for (int i = 1; i < attempts && wait < options_.retry_max_ms; ++i) {
    wait *= 2;
  }
  wait = std::min(wait, options_.retry_max_ms);
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<int64_t> jitter(0, wait / 5);
  return wait + jitter(rng);
}

void Deliverer::attempt(const store::DeliveryRecord& queued) {
  // The scheduler read `queued` before taking it in hand; a worker may have finished it since.
  // Only a delivery that is still pending, due, and at the same attempt is sent.
  auto current = store_.get_delivery(queued.id);
  if (!current || !*current || (*current)->state != store::DeliveryState::kPending ||
      (*current)->attempts != queued.attempts || (*current)->due_ms > clock_.now_ms()) {
    return;
  }
  const store::DeliveryRecord& d = **current;
  store::AttemptRecord a;
  a.delivery_id = d.id;
  a.attempt = d.attempts + 1;
  a.at_ms = clock_.now_ms();
  store::DeliveryState state = store::DeliveryState::kDead;
  int64_t due = a.at_ms;

  // The rule and target as they are now; a delivery outlives neither.
  auto rule = rules_.snapshot()->find(d.rule);
  const Target* target = nullptr;
  if (rule) {
    for (const auto& t : rule->targets) {
      target = t.id == d.target ? &t : target;
    }
  }
  if (target == nullptr) {
    a.outcome = "dead";
    a.detail = "the rule or its target no longer exists";
  } else if (a.at_ms - d.event_received_ms > target->retry.maximum_event_age_ms) {
    a.outcome = "dead";
    a.detail = "the event is older than the target's maximum_event_age";
  } else {
    SendResult r = sender_.send(d, *target);
    a.duration_ms = clock_.now_ms() - a.at_ms;
    a.detail = r.detail;
    if (r.ok) {
      state = store::DeliveryState::kDelivered;
      a.outcome = "delivered";
    } else if (!r.retryable) {
      a.outcome = "dead";
      a.detail += " (not retried)";
    } else if (a.attempt > target->retry.maximum_retry_attempts) {
      a.outcome = "dead";
      a.detail += " (out of attempts)";
    } else {
      state = store::DeliveryState::kPending;
      a.outcome = "failed";
      due = a.at_ms + a.duration_ms + backoff_ms(a.attempt);
    }
  }

  if (auto s = store_.record_attempt(a, state, due); !s.ok()) {
    kLog.error("cannot record an attempt",
               {{"delivery", d.id}, {"rule", d.rule}, {"error", s.error().message()}});
    return;
  }
  kLog.debug("attempt", {{"delivery", d.id},
                         {"rule", d.rule},
                         {"target", d.target},
                         {"event_id", d.event_id},
                         {"attempt", a.attempt},
                         {"outcome", a.outcome},
                         {"detail", a.detail}});
  if (state == store::DeliveryState::kDead) {
    kLog.warn("delivery dead", {{"delivery", d.id},
                                {"rule", d.rule},
                                {"target", d.target},
                                {"event_id", d.event_id},
                                {"reason", a.detail}});
  }
}

}  // namespace homeostat::bus
