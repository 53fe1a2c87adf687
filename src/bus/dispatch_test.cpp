// The Dispatcher and the Deliverer against a real SqliteStore in a temp directory, with a
// manual clock and a fake sender: what the log turns into, how attempts end, redrives and
// replays.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "bus/deliverer.hpp"
#include "bus/dispatcher.hpp"
#include "bus/rule_set.hpp"
#include "bus/senders.hpp"
#include "core/clock.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/temp_dir.hpp"

namespace homeostat::bus {
namespace {

namespace json = boost::json;
using homeostat::testing::TempDir;
using store::DeliveryRecord;
using store::DeliveryState;
using namespace std::chrono_literals;

constexpr int64_t kNowMs = 1796315555000;  // 2026-12-03T16:32:35Z
constexpr int64_t kHourMs = 3'600'000;

// Polls `done` for up to `patience` of real time; true as soon as it holds.
template <typename Pred>
bool eventually(Pred done, std::chrono::milliseconds patience = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(2ms);
  }
  return done();
}

// A TargetSender that records every call and fails as it is told to, per target id.
class FakeSender final : public TargetSender {
 public:
  struct Call {
    int64_t delivery_id = 0;
    std::string rule;
    std::string target;
    std::string input;
  };

  // The next `n` sends to target `target` fail with `detail`, retryable or final.
  void fail(const std::string& target, int n, bool retryable, const std::string& detail) {
    std::lock_guard lock(mu_);
    failures_[target] = {n, retryable, detail};
  }

  // Makes the next send of delivery `id` wait inside send() until release().
  void hold(int64_t id) {
    std::lock_guard lock(mu_);
    held_ = id;
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      held_ = 0;
    }
    cv_.notify_all();
  }
  // Waits until send() has been called `n` times; false after 5 s.
  bool wait_for_calls(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return calls_.size() >= n; });
  }

  SendResult send(const DeliveryRecord& d, const Target& target) override {
    std::unique_lock lock(mu_);
    calls_.push_back({d.id, d.rule, target.id, d.input});
    cv_.notify_all();
    cv_.wait(lock, [&] { return held_ != d.id; });
    auto it = failures_.find(target.id);
    if (it != failures_.end() && it->second.remaining > 0) {
      --it->second.remaining;
      return {false, it->second.retryable, it->second.detail};
    }
    return {true, false, "HTTP 200"};
  }

  std::vector<Call> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  struct Failure {
    int remaining = 0;
    bool retryable = true;
    std::string detail;
  };

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Call> calls_;
  std::map<std::string, Failure> failures_;
  int64_t held_ = 0;  // a delivery id; 0 for none
};

// A DispatchStore that passes every call on to another; the decorators below override what
// they need to hold or to order.
class ForwardingStore : public store::DispatchStore {
 public:
  explicit ForwardingStore(store::DispatchStore& inner) : inner_(inner) {}

  core::Result<std::vector<DeliveryRecord>> due_deliveries(int64_t now_ms, size_t limit) override {
    return inner_.due_deliveries(now_ms, limit);
  }
  core::Result<std::optional<int64_t>> next_due_ms() override { return inner_.next_due_ms(); }
  core::Status record_attempt(const store::AttemptRecord& attempt, DeliveryState state,
                              int64_t due_ms) override {
    return inner_.record_attempt(attempt, state, due_ms);
  }
  core::Result<int64_t> dispatch_position(const std::string& consumer) override {
    return inner_.dispatch_position(consumer);
  }
  core::Result<std::vector<store::StoredEvent>> events_after(int64_t after, size_t limit) override {
    return inner_.events_after(after, limit);
  }
  core::Status record_matches(const std::string& consumer, int64_t position,
                              std::span<const DeliveryRecord> deliveries,
                              const store::ReplayRecord* replay) override {
    return inner_.record_matches(consumer, position, deliveries, replay);
  }
  core::Result<std::optional<DeliveryRecord>> get_delivery(int64_t id) override {
    return inner_.get_delivery(id);
  }
  core::Result<std::vector<DeliveryRecord>> list_deliveries(
      const store::DeliveryQuery& q) override {
    return inner_.list_deliveries(q);
  }
  core::Result<std::vector<store::AttemptRecord>> list_attempts(int64_t delivery_id) override {
    return inner_.list_attempts(delivery_id);
  }
  core::Result<int64_t> redrive(const store::RedriveFilter& filter, int64_t now_ms) override {
    return inner_.redrive(filter, now_ms);
  }
  core::Status publish(const std::string& topic, int64_t delivery_id, const std::string& message,
                       int64_t now_ms) override {
    return inner_.publish(topic, delivery_id, message, now_ms);
  }
  core::Result<std::vector<store::TopicMessage>> topic_messages(const std::string& topic,
                                                                int64_t after_seq,
                                                                size_t limit) override {
    return inner_.topic_messages(topic, after_seq, limit);
  }
  core::Status put_rule(const std::string& name, const std::string& definition,
                        int64_t now_ms) override {
    return inner_.put_rule(name, definition, now_ms);
  }
  core::Status delete_rule(const std::string& name) override { return inner_.delete_rule(name); }
  core::Result<std::vector<std::pair<std::string, std::string>>> list_rules() override {
    return inner_.list_rules();
  }
  core::Status create_replay(const store::ReplayRecord& replay) override {
    return inner_.create_replay(replay);
  }
  core::Result<std::optional<store::ReplayRecord>> get_replay(const std::string& name) override {
    return inner_.get_replay(name);
  }
  core::Result<std::vector<store::ReplayRecord>> list_replays() override {
    return inner_.list_replays();
  }
  core::Result<int64_t> last_seq() override { return inner_.last_seq(); }

 protected:
  store::DispatchStore& inner_;
};

// Makes one call of due_deliveries wait, after it has read the store, until the test opens
// the gate.
class GatedStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  // Holds call number `n` (from 1) of due_deliveries.
  void hold_due_call(int n) {
    std::lock_guard lock(mu_);
    hold_at_ = n;
  }
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  // Waits until the held call is waiting at the gate; false after 5 s.
  bool wait_held() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return waiting_; });
  }

  core::Result<std::vector<DeliveryRecord>> due_deliveries(int64_t now_ms, size_t limit) override {
    auto due = inner_.due_deliveries(now_ms, limit);
    std::unique_lock lock(mu_);
    if (++due_calls_ == hold_at_) {
      waiting_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
    }
    return due;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int due_calls_ = 0;
  int hold_at_ = 0;
  bool waiting_ = false;
  bool open_ = false;
};

std::string event_json(const std::string& id, const std::string& source) {
  return R"({"id":")" + id + R"(","source":")" + source +
         R"(","detail-type":"Thing","detail":{"host":"web-1","level":3}})";
}

class DispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::sqlite::SqliteOptions options;
    options.path = dir_.file("homeostat.db");
    options.read_connections = 4;
    auto store = store::sqlite::SqliteStore::open(options, kNowMs);
    ASSERT_TRUE(store.ok()) << store.error().message();
    store_ = std::move(*store);
  }

  // Stops the threads before anything they use goes away, letting go of any held call first.
  void TearDown() override {
    sender_.release();
    if (gated_) {
      gated_->open();
    }
    dispatcher_.reset();
    deliverer_.reset();
  }

  void add_rule(const std::string& definition) {
    auto rule = parse_rule(json::parse(definition), "api");
    ASSERT_TRUE(rule.ok()) << rule.error().message();
    ASSERT_TRUE(rules_.put(std::move(*rule)).ok());
  }

  // A rule on the default bus for events of source "app" with one target of id "t".
  void add_simple_rule(const std::string& name, const std::string& target_extra = "") {
    add_rule(R"({"name": ")" + name + R"(", "pattern": {"source": ["app"]},
                 "targets": [{"id": "t", "webhook": {"url": "https://x/"})" +
             target_extra + "}]}");
  }

  // Stores one event and returns its seq.
  int64_t append(const std::string& id, const std::string& source = "app",
                 const std::string& bus = "default", int64_t time_ms = kNowMs,
                 std::optional<int64_t> received_ms = std::nullopt) {
    std::vector<store::EventRecord> records = {
        {id, source, "Thing", time_ms, event_json(id, source), bus}};
    const std::span<const store::EventRecord> batch(records);
    auto s = store_->append_events({&batch, 1}, received_ms.value_or(clock_.now_ms()));
    EXPECT_TRUE(s.ok()) << s.error().message();
    auto e = store_->get_event(id);
    EXPECT_TRUE(e.ok() && e->has_value()) << id;
    return e.ok() && e->has_value() ? (*e)->seq : -1;
  }

  void start_dispatcher(size_t batch = 500) {
    dispatcher_ = std::make_unique<Dispatcher>(*store_, rules_, clock_,
                                               DispatcherOptions{.batch = batch, .poll_ms = 10},
                                               [this] { ++notified_; });
    dispatcher_->start();
  }

  void start_deliverer(int64_t retry_max_ms = 300'000) {
    deliverer_ = std::make_unique<Deliverer>(
        *store_, rules_, sender_, clock_,
        DelivererOptions{
            .workers = 2, .retry_base_ms = 1000, .retry_max_ms = retry_max_ms, .poll_ms = 10});
    deliverer_->start();
  }

  // Waits until the live dispatcher has matched the log up to `seq`.
  void wait_position(int64_t seq, const std::string& consumer = "live") {
    ASSERT_TRUE(eventually([&] {
      auto p = store_->dispatch_position(consumer);
      return p.ok() && *p >= seq;
    })) << consumer
        << " did not reach " << seq;
  }

  std::vector<DeliveryRecord> deliveries(store::DeliveryQuery q = {}) {
    q.limit = 1000;
    auto r = store_->list_deliveries(q);
    EXPECT_TRUE(r.ok()) << r.error().message();
    if (!r.ok()) {
      return {};
    }
    std::reverse(r->begin(), r->end());  // oldest first
    return *r;
  }

  // Waits for the one delivery of the store and returns it.
  DeliveryRecord only_delivery() {
    EXPECT_TRUE(eventually([&] { return !deliveries().empty(); })) << "no delivery was made";
    auto all = deliveries();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? DeliveryRecord{} : all.front();
  }

  DeliveryRecord get(int64_t id) {
    auto d = store_->get_delivery(id);
    EXPECT_TRUE(d.ok() && d->has_value()) << "delivery " << id;
    return d.ok() && d->has_value() ? **d : DeliveryRecord{};
  }

  // Waits until delivery `id` has had `n` attempts (or more) and returns it.
  DeliveryRecord wait_attempts(int64_t id, int n) {
    EXPECT_TRUE(eventually([&] { return get(id).attempts >= n; }))
        << "delivery " << id << " had " << get(id).attempts << " attempts, not " << n;
    return get(id);
  }

  DeliveryRecord wait_state(int64_t id, DeliveryState state) {
    EXPECT_TRUE(eventually([&] { return get(id).state == state; }))
        << "delivery " << id << " is " << store::delivery_state_name(get(id).state) << ", not "
        << store::delivery_state_name(state);
    return get(id);
  }

  std::vector<store::AttemptRecord> attempts(int64_t id) {
    auto a = store_->list_attempts(id);
    EXPECT_TRUE(a.ok()) << a.error().message();
    return a.ok() ? *a : std::vector<store::AttemptRecord>{};
  }

  std::vector<std::string> outcomes(int64_t id) {
    std::vector<std::string> out;
    for (const auto& a : attempts(id)) {
      out.push_back(a.outcome);
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  core::ManualClock clock_{kNowMs};
  RuleSet rules_;
  FakeSender sender_;
  std::atomic<int> notified_{0};
  std::unique_ptr<GatedStore> gated_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<Deliverer> deliverer_;
};

using Strings = std::vector<std::string>;

// --- The Dispatcher ------------------------------------------------------------------------

TEST_F(DispatchTest, MakesOneDeliveryPerTargetWithTheInputEachTargetAsksFor) {
  add_rule(R"({"name": "r", "pattern": {"source": ["app"]}, "targets": [
      {"id": "a-whole", "webhook": {"url": "https://x/"}},
      {"id": "b-path", "topic": "alerts", "input_path": "$.detail"},
      {"id": "c-shaped", "topic": "alerts", "input_transformer": {
        "input_paths_map": {"host": "$.detail.host"},
        "input_template": "{\"host\": <host>, \"rule\": \"<aws.events.rule-name>\"}"}},
      {"id": "d-forward", "bus": "audit"}]})");
  const int64_t received = kNowMs - 5000;
  const int64_t seq = append("e1", "app", "default", kNowMs - 6000, received);
  clock_.advance_ms(7);

  start_dispatcher();
  wait_position(seq);

  auto all = deliveries();
  ASSERT_EQ(all.size(), 4u);
  std::sort(all.begin(), all.end(),
            [](const auto& x, const auto& y) { return x.target < y.target; });
  EXPECT_EQ(all[0].input, event_json("e1", "app")) << "the whole event, as stored";
  EXPECT_EQ(all[1].input, R"({"host":"web-1","level":3})");
  EXPECT_EQ(all[2].input, R"({"host": "web-1", "rule": "r"})");
  EXPECT_EQ(all[3].input, event_json("e1", "app"));
  for (const auto& d : all) {
    EXPECT_EQ(d.rule, "r");
    EXPECT_EQ(d.bus, "default");
    EXPECT_EQ(d.event_id, "e1");
    EXPECT_EQ(d.event_seq, seq);
    EXPECT_EQ(d.event_received_ms, received);
    EXPECT_EQ(d.replay, "");
    EXPECT_EQ(d.state, DeliveryState::kPending);
    EXPECT_EQ(d.attempts, 0);
    EXPECT_EQ(d.due_ms, kNowMs + 7) << "due at once";
    EXPECT_EQ(d.created_ms, kNowMs + 7);
  }
  EXPECT_TRUE(eventually([&] { return notified_ > 0; })) << "the deliverer is told";
}

TEST_F(DispatchTest, MakesNoDeliveryForAnEventNoRuleMatchesButMovesPastIt) {
  add_simple_rule("r");
  append("other-source", "other");
  const int64_t seq = append("other-bus", "app", "b");

  start_dispatcher();
  wait_position(seq);

  EXPECT_TRUE(deliveries().empty());
  EXPECT_EQ(notified_, 0);
}

TEST_F(DispatchTest, SavesThePositionItHoldsWhenItStops) {
  // Batches of one: the first is saved, the next two (no delivery, within the second the
  // frozen clock never leaves) are held in memory until the stop.
  add_simple_rule("r");
  const int64_t first = append("a", "other");
  append("b", "other");
  const int64_t last = append("c", "other");
  start_dispatcher(1);
  wait_position(first);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // ~20 polls to reach the end

  dispatcher_->stop();
  EXPECT_EQ(*store_->dispatch_position("live"), last);
}

TEST_F(DispatchTest, MatchesEachEventOnlyAgainstTheRulesOfItsBus) {
  add_rule(R"({"name": "on-b", "bus": "b", "pattern": {"source": ["app"]},
               "targets": [{"id": "t", "topic": "alerts"}]})");
  add_rule(R"({"name": "off", "enabled": false, "pattern": {"source": ["app"]},
               "targets": [{"id": "t", "topic": "alerts"}]})");
  append("on-default");
  const int64_t seq = append("on-b", "app", "b");

  start_dispatcher();
  wait_position(seq);

  auto all = deliveries();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].rule, "on-b");
  EXPECT_EQ(all[0].event_id, "on-b");
  EXPECT_EQ(all[0].bus, "b");
}

TEST_F(DispatchTest, ResumesAfterARestartFromItsPositionWithoutDuplicates) {
  add_simple_rule("r");
  int64_t seq = 0;
  for (int i = 1; i <= 5; ++i) {
    seq = append("e" + std::to_string(i));
  }
  start_dispatcher(2);  // several batches
  wait_position(seq);
  ASSERT_EQ(deliveries().size(), 5u);
  dispatcher_.reset();

  const int64_t last = append("e6");
  start_dispatcher(2);
  wait_position(last);

  Strings ids;
  for (const auto& d : deliveries()) {
    ids.push_back(d.event_id);
  }
  EXPECT_EQ(ids, (Strings{"e1", "e2", "e3", "e4", "e5", "e6"}));
}

// --- The Deliverer -------------------------------------------------------------------------

TEST_F(DispatchTest, DeliversAPendingDeliveryOnce) {
  add_simple_rule("r");
  append("e1");
  start_dispatcher();
  start_deliverer();

  const DeliveryRecord d = wait_state(only_delivery().id, DeliveryState::kDelivered);

  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.last_error, "");
  auto a = attempts(d.id);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].attempt, 1);
  EXPECT_EQ(a[0].outcome, "delivered");
  EXPECT_EQ(a[0].detail, "HTTP 200");
  EXPECT_EQ(a[0].at_ms, kNowMs);
  auto calls = sender_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].delivery_id, d.id);
  EXPECT_EQ(calls[0].rule, "r");
  EXPECT_EQ(calls[0].target, "t");
  EXPECT_EQ(calls[0].input, event_json("e1", "app"));
}

TEST_F(DispatchTest, RetriesARetryableFailureAfterItsBackOffAndThenDelivers) {
  add_simple_rule("r");
  sender_.fail("t", 1, true, "HTTP 503");
  append("e1");
  start_dispatcher();
  start_deliverer();

  DeliveryRecord d = wait_attempts(only_delivery().id, 1);
  EXPECT_EQ(d.state, DeliveryState::kPending);
  EXPECT_EQ(d.last_error, "HTTP 503");
  // The first retry waits retry_base_ms plus up to 20% jitter, in the injected clock's time.
  EXPECT_GE(d.due_ms, kNowMs + 1000);
  EXPECT_LE(d.due_ms, kNowMs + 1200);
  const int64_t due = d.due_ms;
  clock_.set_ms(due);

  d = wait_state(d.id, DeliveryState::kDelivered);

  EXPECT_EQ(d.attempts, 2);
  EXPECT_EQ(d.last_error, "");
  EXPECT_EQ(outcomes(d.id), (Strings{"failed", "delivered"}));
  auto a = attempts(d.id);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].detail, "HTTP 503");
  EXPECT_EQ(a[1].at_ms, due) << "not attempted again before it was due";
  EXPECT_EQ(sender_.calls().size(), 2u);
}

TEST_F(DispatchTest, DoublesTheWaitAfterEachFailureUpToRetryMax) {
  add_simple_rule("r");
  sender_.fail("t", 4, true, "HTTP 503");
  append("e1");
  start_dispatcher();
  start_deliverer(3000);
  const int64_t id = only_delivery().id;

  // Waits of 1 s, 2 s, then 3 s twice (4 s capped), each with up to 20% more.
  const std::vector<int64_t> waits = {1000, 2000, 3000, 3000};
  for (int n = 1; n <= 4; ++n) {
    DeliveryRecord d = wait_attempts(id, n);
    ASSERT_EQ(d.state, DeliveryState::kPending) << "after attempt " << n;
    const int64_t wait = d.due_ms - attempts(id).back().at_ms;
    EXPECT_GE(wait, waits[n - 1]) << "after attempt " << n;
    EXPECT_LE(wait, waits[n - 1] * 6 / 5) << "after attempt " << n;
    clock_.set_ms(d.due_ms);
  }

  EXPECT_EQ(wait_state(id, DeliveryState::kDelivered).attempts, 5);
}

TEST_F(DispatchTest, MovesAFinalFailureToTheDeadLettersAtOnce) {
  add_simple_rule("r");
  sender_.fail("t", 1, false, "HTTP 400");
  append("e1");
  start_dispatcher();
  start_deliverer();

  const DeliveryRecord d = wait_state(only_delivery().id, DeliveryState::kDead);

  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.last_error, "HTTP 400 (not retried)");
  auto a = attempts(d.id);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].outcome, "dead");
  EXPECT_EQ(a[0].detail, "HTTP 400 (not retried)");
  EXPECT_EQ(sender_.calls().size(), 1u);
  auto dead = deliveries({.state = DeliveryState::kDead});
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, d.id);
}

class GivesUpAfterTheRetriesRun : public DispatchTest, public ::testing::WithParamInterface<int> {};

TEST_P(GivesUpAfterTheRetriesRun, OutAfterMaximumRetryAttemptsPlusOneAttempts) {
  const int retries = GetParam();
  add_simple_rule("r", R"(, "retry": {"maximum_retry_attempts": )" + std::to_string(retries) + "}");
  sender_.fail("t", 1000, true, "HTTP 503");
  append("e1");
  start_dispatcher();
  start_deliverer();
  const int64_t id = only_delivery().id;

  for (int n = 1; n <= retries; ++n) {
    DeliveryRecord d = wait_attempts(id, n);
    ASSERT_EQ(d.state, DeliveryState::kPending) << "after attempt " << n;
    clock_.set_ms(d.due_ms);
  }
  const DeliveryRecord d = wait_state(id, DeliveryState::kDead);

  EXPECT_EQ(d.attempts, retries + 1);
  EXPECT_EQ(d.last_error, "HTTP 503 (out of attempts)");
  Strings expected(static_cast<size_t>(retries), "failed");
  expected.push_back("dead");
  EXPECT_EQ(outcomes(id), expected);
  EXPECT_EQ(sender_.calls().size(), static_cast<size_t>(retries + 1));
}

INSTANTIATE_TEST_SUITE_P(DispatchTest, GivesUpAfterTheRetriesRun, ::testing::Values(0, 1, 3));

TEST_F(DispatchTest, TreatsAnEventOlderThanItsMaximumAgeAsDeadWithoutSendingIt) {
  add_simple_rule("r", R"(, "retry": {"maximum_event_age": "60s"})");
  append("too-old", "app", "default", kNowMs, kNowMs - 60'001);
  append("just-in-time", "app", "default", kNowMs, kNowMs - 60'000);
  start_dispatcher();
  start_deliverer();
  ASSERT_TRUE(eventually([&] { return deliveries().size() == 2u; }));
  const auto all = deliveries();

  const DeliveryRecord old = wait_state(all[0].id, DeliveryState::kDead);
  const DeliveryRecord in_time = wait_state(all[1].id, DeliveryState::kDelivered);

  EXPECT_EQ(old.event_id, "too-old");
  EXPECT_EQ(old.last_error, "the event is older than the target's maximum_event_age");
  EXPECT_EQ(outcomes(old.id), Strings{"dead"});
  EXPECT_EQ(in_time.event_id, "just-in-time");
  auto calls = sender_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].delivery_id, in_time.id);
}

TEST_F(DispatchTest, StopsRetryingOnceTheEventIsOlderThanItsMaximumAge) {
  add_simple_rule("r", R"(, "retry": {"maximum_event_age": "60s"})");
  sender_.fail("t", 1000, true, "HTTP 503");
  append("e1");
  start_dispatcher();
  start_deliverer();
  const DeliveryRecord first = wait_attempts(only_delivery().id, 1);
  ASSERT_EQ(first.state, DeliveryState::kPending);

  clock_.set_ms(kNowMs + 60'001);
  const DeliveryRecord d = wait_state(first.id, DeliveryState::kDead);

  EXPECT_EQ(outcomes(d.id), (Strings{"failed", "dead"}));
  EXPECT_EQ(d.last_error, "the event is older than the target's maximum_event_age");
  EXPECT_EQ(sender_.calls().size(), 1u);
}

TEST_F(DispatchTest, MarksADeliveryDeadWhenItsRuleOrTargetIsGone) {
  add_simple_rule("removed");
  add_simple_rule("changed");
  const int64_t seq = append("e1");
  start_dispatcher();
  wait_position(seq);
  ASSERT_EQ(deliveries().size(), 2u);
  ASSERT_TRUE(rules_.remove("removed").ok());
  add_rule(R"({"name": "changed", "pattern": {"source": ["app"]},
               "targets": [{"id": "another", "topic": "alerts"}]})");

  start_deliverer();

  for (const auto& d : deliveries()) {
    const DeliveryRecord dead = wait_state(d.id, DeliveryState::kDead);
    EXPECT_EQ(dead.last_error, "the rule or its target no longer exists") << d.rule;
    EXPECT_EQ(outcomes(d.id), Strings{"dead"}) << d.rule;
  }
  EXPECT_TRUE(sender_.calls().empty());
}

TEST_F(DispatchTest, DeliversARedrivenDeadDelivery) {
  add_simple_rule("r");
  sender_.fail("t", 1, false, "HTTP 400");
  append("e1");
  start_dispatcher();
  start_deliverer();
  const int64_t id = wait_state(only_delivery().id, DeliveryState::kDead).id;
  clock_.advance_ms(1000);

  auto n = store_->redrive({.rule = "r"}, clock_.now_ms());
  ASSERT_TRUE(n.ok()) << n.error().message();
  EXPECT_EQ(*n, 1);
  deliverer_->wake();
  const DeliveryRecord d = wait_state(id, DeliveryState::kDelivered);

  EXPECT_EQ(d.attempts, 1) << "attempts count from zero after a redrive";
  EXPECT_EQ(d.last_error, "");
  EXPECT_EQ(sender_.calls().size(), 2u);
  EXPECT_TRUE(deliveries({.state = DeliveryState::kDead}).empty());
}

// A redrive starts the retry budget again but keeps every earlier attempt on record.
TEST_F(DispatchTest, KeepsTheAttemptsBeforeARedriveRecorded) {
  add_simple_rule("r");
  sender_.fail("t", 1, false, "HTTP 400");
  append("e1");
  start_dispatcher();
  start_deliverer();
  const int64_t id = wait_state(only_delivery().id, DeliveryState::kDead).id;

  ASSERT_EQ(*store_->redrive({.ids = {id}}, clock_.now_ms()), 1);
  deliverer_->wake();
  wait_state(id, DeliveryState::kDelivered);

  EXPECT_EQ(outcomes(id), (Strings{"dead", "delivered"}));
}

// The scheduler reads the due deliveries before it takes them in hand, so a worker may finish
// one in between; the worker that gets the stale copy must see that and not send it again.
TEST_F(DispatchTest, NeverSendsAFinishedDeliveryAgainFromAStaleRead) {
  add_simple_rule("r");
  append("x");
  const int64_t seq = append("y");
  start_dispatcher();
  wait_position(seq);
  const auto all = deliveries();
  ASSERT_EQ(all.size(), 2u);
  const int64_t x = all[0].id;
  const int64_t y = all[1].id;
  gated_ = std::make_unique<GatedStore>(*store_);
  gated_->hold_due_call(2);
  sender_.hold(x);
  deliverer_ = std::make_unique<Deliverer>(
      *gated_, rules_, sender_, clock_,
      DelivererOptions{.workers = 1, .retry_base_ms = 1000, .poll_ms = 10});
  deliverer_->start();

  // The scheduler's second read finds x pending while x is being sent.
  ASSERT_TRUE(sender_.wait_for_calls(1));
  ASSERT_TRUE(gated_->wait_held());
  // x is delivered and let go: the only worker has moved on to y.
  sender_.release();
  ASSERT_TRUE(sender_.wait_for_calls(2));
  wait_state(y, DeliveryState::kDelivered);
  // The scheduler goes on with what it read before x was delivered.
  gated_->open();

  auto sends_of_x = [&] {
    auto calls = sender_.calls();
    return std::count_if(calls.begin(), calls.end(),
                         [&](const FakeSender::Call& c) { return c.delivery_id == x; });
  };
  // Nothing is due any more, so there is no event to wait for: a second send of x, if there is
  // one, comes within milliseconds.
  EXPECT_FALSE(eventually([&] { return sends_of_x() > 1; }, 1s)) << "x was sent twice";
  EXPECT_EQ(outcomes(x), Strings{"delivered"});
}

// --- Replays -------------------------------------------------------------------------------

TEST_F(DispatchTest, ReplaysOnlyTheEventsInItsTimeRangeForTheChosenRule) {
  add_simple_rule("a");
  add_simple_rule("b");
  const int64_t since = kNowMs - 2 * kHourMs;
  const int64_t until = kNowMs - kHourMs;
  append("before", "app", "default", since - 1);
  append("at-since", "app", "default", since);
  append("other-source", "app-x", "default", since + 10);
  append("inside", "app", "default", until - 1);
  append("at-until", "app", "default", until);
  append("after", "app", "default", kNowMs);
  start_dispatcher(2);  // the replay takes several batches

  auto replay = dispatcher_->start_replay(
      {.name = "rp", .bus = "default", .since_ms = since, .until_ms = until, .rule = "a"});
  ASSERT_TRUE(replay.ok()) << replay.error().message();
  EXPECT_EQ(replay->state, "running");
  EXPECT_EQ(replay->end_seq, *store_->last_seq());
  ASSERT_TRUE(eventually([&] {
    auto r = store_->get_replay("rp");
    return r.ok() && r->has_value() && (*r)->state == "done";
  })) << "the replay did not finish";

  std::vector<DeliveryRecord> replayed;
  for (const auto& d : deliveries()) {
    if (!d.replay.empty()) {
      replayed.push_back(d);
    }
  }
  ASSERT_EQ(replayed.size(), 2u);
  Strings events;
  for (const auto& d : replayed) {
    events.push_back(d.event_id);
    EXPECT_EQ(d.rule, "a");
    EXPECT_EQ(d.replay, "rp");
    json::value input = json::parse(d.input);
    EXPECT_EQ(input.at("replay-name"), "rp") << d.input;
    EXPECT_EQ(input.at("id"), json::value(d.event_id)) << d.input;
  }
  EXPECT_EQ(events, (Strings{"at-since", "inside"}));
  auto done = store_->get_replay("rp");
  ASSERT_TRUE(done.ok() && done->has_value());
  EXPECT_EQ((*done)->matched, 2);
  EXPECT_EQ((*done)->position, (*done)->end_seq);
  EXPECT_EQ((*done)->finished_ms, kNowMs);
}

TEST_F(DispatchTest, ReplaysEveryRuleOfItsBusButNoEventStoredAfterItBegan) {
  add_simple_rule("a");
  add_rule(R"({"name": "b", "pattern": {"source": ["app"]},
               "targets": [{"id": "t1", "topic": "x"}, {"id": "t2", "topic": "y"}]})");
  add_rule(R"({"name": "on-ops", "bus": "ops", "pattern": {"source": ["app"]},
               "targets": [{"id": "t", "topic": "x"}]})");
  const int64_t since = kNowMs - kHourMs;
  append("on-default", "app", "default", since);
  append("on-ops", "app", "ops", since);
  start_dispatcher();

  auto replay = dispatcher_->start_replay(
      {.name = "rp", .bus = "default", .since_ms = since, .until_ms = kNowMs});
  ASSERT_TRUE(replay.ok()) << replay.error().message();
  append("late", "app", "default", since);
  ASSERT_TRUE(eventually([&] {
    auto r = store_->get_replay("rp");
    return r.ok() && r->has_value() && (*r)->state == "done";
  })) << "the replay did not finish";

  Strings replayed;
  for (const auto& d : deliveries()) {
    if (d.replay == "rp") {
      replayed.push_back(d.rule + "/" + d.target + "/" + d.event_id);
    }
  }
  std::sort(replayed.begin(), replayed.end());
  EXPECT_EQ(replayed, (Strings{"a/t/on-default", "b/t1/on-default", "b/t2/on-default"}));
  EXPECT_EQ((*store_->get_replay("rp"))->matched, 3);
}

TEST_F(DispatchTest, DeliversAReplayOfEventsThatArrivedLongerAgoThanTheMaximumAge) {
  add_simple_rule("r", R"(, "retry": {"maximum_event_age": "60s"})");
  append("old", "app", "default", kNowMs);
  start_dispatcher();
  start_deliverer();
  wait_state(only_delivery().id, DeliveryState::kDelivered);

  // An hour later the event itself is too old for the target, but its replay is a new arrival.
  clock_.set_ms(kNowMs + kHourMs);
  ASSERT_TRUE(
      dispatcher_
          ->start_replay(
              {.name = "rp", .bus = "default", .since_ms = kNowMs - 1, .until_ms = kNowMs + 1})
          .ok());
  ASSERT_TRUE(eventually([&] {
    for (const auto& d : deliveries()) {
      if (!d.replay.empty() && d.state != DeliveryState::kPending) {
        return true;
      }
    }
    return false;
  }));
  for (const auto& d : deliveries()) {
    if (!d.replay.empty()) {
      EXPECT_EQ(d.state, DeliveryState::kDelivered) << d.last_error;
    }
  }
}

TEST_F(DispatchTest, RefusesASecondReplayOfTheSameName) {
  add_simple_rule("a");
  start_dispatcher();
  ASSERT_TRUE(dispatcher_->start_replay({.name = "rp", .since_ms = 0, .until_ms = kNowMs}).ok());

  auto again = dispatcher_->start_replay({.name = "rp", .since_ms = 0, .until_ms = kNowMs});

  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), core::ErrorCode::kAlreadyExists);
}

TEST_F(DispatchTest, ReadsBackTheReplayRequestItStored) {
  start_dispatcher();
  auto replay = dispatcher_->start_replay(
      {.name = "rp", .bus = "ops", .since_ms = 5, .until_ms = 9, .rule = "a"});
  ASSERT_TRUE(replay.ok()) << replay.error().message();

  auto request = Dispatcher::parse_replay_definition(replay->definition);

  ASSERT_TRUE(request.ok()) << request.error().message();
  EXPECT_EQ(request->name, "rp");
  EXPECT_EQ(request->bus, "ops");
  EXPECT_EQ(request->since_ms, 5);
  EXPECT_EQ(request->until_ms, 9);
  EXPECT_EQ(request->rule, std::optional<std::string>("a"));
  EXPECT_FALSE(Dispatcher::parse_replay_definition(R"({"name": "x"})").ok());
  EXPECT_FALSE(Dispatcher::parse_replay_definition("not json").ok());
}

}  // namespace
}  // namespace homeostat::bus
