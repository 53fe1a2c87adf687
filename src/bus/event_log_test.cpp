#include "bus/event_log.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_store.hpp"

namespace homeostat::bus {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kNowMs = 1796315555000;  // 2026-12-03T16:32:35Z
// How long a test waits for the writer thread before it gives up and fails.
constexpr auto kPatience = 10s;

store::EventRecord record(const std::string& id) {
  return {id, "app", "Thing", kNowMs, R"({"id":")" + id + R"("})"};
}

// An EventStore that keeps commits in memory for inspection. It can hold a commit until the
// test releases it, which lets a test queue work behind a commit in flight, and it can fail.
class FakeEventStore final : public store::EventStore {
 public:
  struct Commit {
    int64_t received_ms = 0;
    std::vector<size_t> batch_sizes;
    std::vector<std::string> ids;
  };
  struct RetentionCall {
    store::RetentionPolicy policy;
    int64_t now_ms = 0;
  };

  core::Status append_events(std::span<const std::span<const store::EventRecord>> batches,
                             int64_t received_ms) override {
    std::unique_lock lock(mu_);
    ++commits_started_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !held_; });
    if (failure_) {
      return *failure_;
    }
    Commit c;
    c.received_ms = received_ms;
    for (const auto& batch : batches) {
      c.batch_sizes.push_back(batch.size());
      for (const store::EventRecord& r : batch) {
        c.ids.push_back(r.id);
      }
    }
    commits_.push_back(std::move(c));
    return {};
  }

  core::Result<std::optional<store::StoredEvent>> get_event(const std::string&) override {
    return std::optional<store::StoredEvent>();
  }
  core::Result<store::EventPage> list_events(const store::EventQuery&) override {
    return store::EventPage{};
  }
  core::Result<store::EventStats> event_stats() override { return store::EventStats{}; }
  core::Status check_writable() override { return {}; }

  core::Result<store::RetentionResult> apply_retention(const store::RetentionPolicy& policy,
                                                       int64_t now_ms) override {
    std::lock_guard lock(mu_);
    retention_calls_.push_back({policy, now_ms});
    cv_.notify_all();
    if (retention_failure_) {
      return *retention_failure_;
    }
    store::RetentionResult result;
    result.more = retention_calls_.size() <= retention_more_calls_;
    return result;
  }

  // Makes the next commits wait inside append_events until release().
  void hold() {
    std::lock_guard lock(mu_);
    held_ = true;
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }
  // Makes the first `n` retention calls say that more is left to remove.
  void say_more_for_retention_calls(size_t n) {
    std::lock_guard lock(mu_);
    retention_more_calls_ = n;
  }
  void fail_retention_with(std::optional<core::Error> error) {
    std::lock_guard lock(mu_);
    retention_failure_ = std::move(error);
  }
  void fail_with(std::optional<core::Error> error) {
    std::lock_guard lock(mu_);
    failure_ = std::move(error);
  }

  // Waits until `n` commits have begun; false when that takes too long.
  bool wait_for_commits_started(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return commits_started_ >= n; });
  }
  bool wait_for_retention_calls(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return retention_calls_.size() >= n; });
  }

  std::vector<Commit> commits() const {
    std::lock_guard lock(mu_);
    return commits_;
  }
  std::vector<RetentionCall> retention_calls() const {
    std::lock_guard lock(mu_);
    return retention_calls_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  int commits_started_ = 0;
  std::optional<core::Error> failure_;
  std::vector<Commit> commits_;
  std::vector<RetentionCall> retention_calls_;
  size_t retention_more_calls_ = 0;
  std::optional<core::Error> retention_failure_;
};

// Records what each append's completion was given, by the append's index, and how often and
// on which thread it ran.
class Completions {
 public:
  explicit Completions(size_t n) : runs_(n, 0), statuses_(n) {}

  EventLog::Completion at(size_t i) {
    return [this, i](const core::Status& status) {
      std::lock_guard lock(mu_);
      ++runs_[i];
      statuses_[i] = status;
      order_.push_back(i);
      threads_.insert(std::this_thread::get_id());
      cv_.notify_all();
    };
  }

  bool wait_for(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return order_.size() >= n; });
  }
  bool wait_all() { return wait_for(runs_.size()); }

  size_t ran() const {
    std::lock_guard lock(mu_);
    return order_.size();
  }
  int runs(size_t i) const {
    std::lock_guard lock(mu_);
    return runs_[i];
  }
  std::optional<core::Status> status(size_t i) const {
    std::lock_guard lock(mu_);
    return statuses_[i];
  }
  std::vector<size_t> order() const {
    std::lock_guard lock(mu_);
    return order_;
  }
  std::set<std::thread::id> threads() const {
    std::lock_guard lock(mu_);
    return threads_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> runs_;
  std::vector<std::optional<core::Status>> statuses_;
  std::vector<size_t> order_;
  std::set<std::thread::id> threads_;
};

// Appends one batch and waits for its completion; returns what the completion was given.
core::Status append_and_wait(EventLog& log, std::vector<store::EventRecord> records) {
  Completions done(1);
  log.append(std::move(records), done.at(0));
  if (!done.wait_all()) {
    return core::Error(core::ErrorCode::kInternal, "the completion never ran");
  }
  return *done.status(0);
}

// Appends empty batches until the log refuses one, which shows that stop() has begun.
bool wait_until_refusing(EventLog& log) {
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (std::chrono::steady_clock::now() < deadline) {
    auto refused = std::make_shared<std::atomic<bool>>(false);
    log.append({}, [refused](const core::Status& s) {
      *refused = !s.ok() && s.error().code() == core::ErrorCode::kUnavailable;
    });
    if (*refused) {
      return true;
    }
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

TEST(EventLog, CommitsManyConcurrentAppendsInFewerTransactions) {
  FakeEventStore store;
  core::ManualClock clock(kNowMs);
  EventLog log(store, clock, {});
  log.start();

  // A first commit is held in flight while eight threads append behind it.
  constexpr size_t kThreads = 8;
  constexpr size_t kPerThread = 25;
  constexpr size_t kAppends = 1 + kThreads * kPerThread;
  Completions done(kAppends);
  store.hold();
  log.append({record("first")}, done.at(0));
  ASSERT_TRUE(store.wait_for_commits_started(1));
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < kPerThread; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        log.append({record(id + "-a"), record(id + "-b")}, done.at(1 + t * kPerThread + i));
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  store.release();
  ASSERT_TRUE(done.wait_all()) << done.ran() << " of " << kAppends << " completions ran";

  for (size_t i = 0; i < kAppends; ++i) {
    EXPECT_EQ(done.runs(i), 1) << "append " << i;
    ASSERT_TRUE(done.status(i).has_value());
    EXPECT_TRUE(done.status(i)->ok()) << "append " << i;
  }
  const auto commits = store.commits();
  EXPECT_LT(commits.size(), kAppends);
  EXPECT_EQ(commits.size(), 2u) << "everything queued behind the first commit goes in one";
  std::set<std::string> ids;
  for (const auto& c : commits) {
    ids.insert(c.ids.begin(), c.ids.end());
  }
  EXPECT_EQ(ids.size(), 1 + 2 * kThreads * kPerThread);
  const EventLogStats stats = log.stats();
  EXPECT_EQ(stats.commits, commits.size());
  EXPECT_EQ(stats.records, 1 + 2 * kThreads * kPerThread);
  EXPECT_EQ(stats.failed_commits, 0u);
}

TEST(EventLog, RunsCompletionsOnTheWriterThreadInQueueOrder) {
  FakeEventStore store;
  core::ManualClock clock(kNowMs);
  EventLog log(store, clock, {});
  log.start();

  constexpr size_t kAppends = 10;
  Completions done(kAppends);
  store.hold();
  for (size_t i = 0; i < kAppends; ++i) {
    log.append({record("e" + std::to_string(i))}, done.at(i));
  }
  EXPECT_EQ(done.ran(), 0u) << "nothing is told before its commit";
  store.release();
  ASSERT_TRUE(done.wait_all());

  std::vector<size_t> in_order(kAppends);
  for (size_t i = 0; i < kAppends; ++i) {
    in_order[i] = i;
  }
  EXPECT_EQ(done.order(), in_order);
  const auto threads = done.threads();
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_NE(*threads.begin(), std::this_thread::get_id());
}

TEST(EventLog, TakesWholeBatchesUpToTheCommitSizeLimit) {
  FakeEventStore store;
  core::ManualClock clock(kNowMs);
  EventLogOptions options;
  options.max_records_per_commit = 10;
  EventLog log(store, clock, options);
  log.start();

  // Queued behind a held commit: 4 + 4 fit in one commit, 15 exceeds the limit alone and goes
  // whole, and the last 4 waits for a commit of its own.
  const std::vector<size_t> sizes = {4, 4, 15, 4};
  Completions done(1 + sizes.size());
  store.hold();
  log.append({record("first")}, done.at(0));
  ASSERT_TRUE(store.wait_for_commits_started(1));
  for (size_t b = 0; b < sizes.size(); ++b) {
    std::vector<store::EventRecord> batch;
    for (size_t i = 0; i < sizes[b]; ++i) {
      batch.push_back(record("b" + std::to_string(b) + "-" + std::to_string(i)));
    }
    log.append(std::move(batch), done.at(1 + b));
  }
  store.release();
  ASSERT_TRUE(done.wait_all());

  std::vector<std::vector<size_t>> committed;
  for (const auto& c : store.commits()) {
    committed.push_back(c.batch_sizes);
  }
  EXPECT_EQ(committed, (std::vector<std::vector<size_t>>{{1}, {4, 4}, {15}, {4}}));
}

TEST(EventLog, StopCommitsWhatIsQueuedBeforeItReturns) {
  FakeEventStore store;
  core::ManualClock clock(kNowMs);
  EventLog log(store, clock, {});
  log.start();

  Completions done(3);
  store.hold();
  log.append({record("a")}, done.at(0));
  ASSERT_TRUE(store.wait_for_commits_started(1));
  log.append({record("b")}, done.at(1));
  log.append({record("c")}, done.at(2));

  // Stop while b and c are still queued behind the held commit.
  std::thread stopper([&] { log.stop(); });
  const bool refusing = wait_until_refusing(log);
  store.release();
  stopper.join();
  ASSERT_TRUE(refusing) << "stop() never began refusing appends";

  EXPECT_EQ(done.ran(), 3u) << "stop() returned before every completion ran";
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(done.runs(i), 1);
    ASSERT_TRUE(done.status(i).has_value());
    EXPECT_TRUE(done.status(i)->ok()) << "append " << i;
  }
  std::set<std::string> ids;
  for (const auto& c : store.commits()) {
    ids.insert(c.ids.begin(), c.ids.end());
  }
  EXPECT_EQ(ids, (std::set<std::string>{"a", "b", "c"}));
}

TEST(EventLog, RefusesAppendsBeforeStartAndAfterStopWithUnavailable) {
  FakeEventStore store;
  core::ManualClock clock(kNowMs);
  EventLog log(store, clock, {});

  Completions done(2);
  log.append({record("early")}, done.at(0));
  EXPECT_EQ(done.ran(), 1u) << "a refusal is given at once, on the caller's thread";

  log.start();
  log.stop();
  log.stop();  // a second stop is harmless
  log.append({record("late")}, done.at(1));
  EXPECT_EQ(done.ran(), 2u);

  for (size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(done.status(i).has_value());
    ASSERT_FALSE(done.status(i)->ok());
    EXPECT_EQ(done.status(i)->error().code(), core::ErrorCode::kUnavailable);
    EXPECT_EQ(done.runs(i), 1);
  }
  EXPECT_TRUE(store.commits().empty());
}

TEST(EventLog, GivesEveryCompletionTheStoreErrorWhenACommitFails) {
  FakeEventStore store;
  core::ManualClock clock(kNowMs);
  EventLog log(store, clock, {});
  log.start();

  store.fail_with(core::Error(core::ErrorCode::kIo, "disk full"));
  Completions done(3);
  store.hold();
  log.append({record("a")}, done.at(0));
  ASSERT_TRUE(store.wait_for_commits_started(1));
  log.append({record("b")}, done.at(1));
  log.append({record("c")}, done.at(2));
  store.release();
  ASSERT_TRUE(done.wait_all());

  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(done.runs(i), 1);
    ASSERT_TRUE(done.status(i).has_value());
    ASSERT_FALSE(done.status(i)->ok()) << "append " << i;
    EXPECT_EQ(done.status(i)->error().code(), core::ErrorCode::kIo);
    EXPECT_EQ(done.status(i)->error().message(), "disk full");
  }
  EventLogStats stats = log.stats();
  EXPECT_EQ(stats.failed_commits, 2u);
  EXPECT_EQ(stats.commits, 0u);
  EXPECT_EQ(stats.records, 0u);

  // The log keeps going once the store recovers.
  store.fail_with(std::nullopt);
  const core::Status s = append_and_wait(log, {record("d")});
  EXPECT_TRUE(s.ok()) << s.error().message();
  stats = log.stats();
  EXPECT_EQ(stats.commits, 1u);
  EXPECT_EQ(stats.records, 1u);
}

TEST(EventLog, AppliesRetentionAtStartAndOncePerInterval) {
  FakeEventStore store;
  core::ManualClock clock(kNowMs);
  EventLogOptions options;
  options.retention.max_age_ms = 5000;
  options.retention.max_bytes = 1 << 20;
  options.retention_interval_ms = 1000;
  EventLog log(store, clock, options);
  log.start();

  ASSERT_TRUE(store.wait_for_retention_calls(1));
  auto calls = store.retention_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].now_ms, kNowMs);
  EXPECT_EQ(calls[0].policy.max_age_ms, 5000);
  EXPECT_EQ(calls[0].policy.max_bytes, 1 << 20);

  // The writer checks retention after every commit. Once a second append has completed, the
  // check that followed the first has run, so these counts are exact.
  clock.advance_ms(999);
  ASSERT_TRUE(append_and_wait(log, {record("a")}).ok());
  ASSERT_TRUE(append_and_wait(log, {record("b")}).ok());
  EXPECT_EQ(store.retention_calls().size(), 1u) << "not due before the interval has passed";

  clock.advance_ms(1);
  ASSERT_TRUE(append_and_wait(log, {record("c")}).ok());
  ASSERT_TRUE(append_and_wait(log, {record("d")}).ok());
  calls = store.retention_calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].now_ms, kNowMs + 1000);
}

TEST(EventLog, AppliesRetentionOneChunkAtATimeUntilTheStoreSaysNothingIsLeft) {
  FakeEventStore store;
  store.say_more_for_retention_calls(3);
  core::ManualClock clock(kNowMs);
  EventLogOptions options;
  options.retention.max_bytes = 1 << 20;
  options.retention_interval_ms = 60'000;
  EventLog log(store, clock, options);
  log.start();

  // The clock stands still: only the store's "more" brings the writer back before the interval.
  ASSERT_TRUE(store.wait_for_retention_calls(4));
  ASSERT_TRUE(append_and_wait(log, {record("a")}).ok());
  ASSERT_TRUE(append_and_wait(log, {record("b")}).ok());
  const auto calls = store.retention_calls();
  EXPECT_EQ(calls.size(), 4u) << "the fourth call said nothing is left";
  for (const auto& call : calls) {
    EXPECT_EQ(call.policy.max_chunks, 1) << "one chunk per turn keeps appends moving";
    EXPECT_EQ(call.policy.max_bytes, 1 << 20);
  }
}

TEST(EventLog, WaitsAFullIntervalAfterRetentionFails) {
  FakeEventStore store;
  store.fail_retention_with(core::Error(core::ErrorCode::kIo, "disk gone"));
  core::ManualClock clock(kNowMs);
  EventLogOptions options;
  options.retention.max_age_ms = 1000;
  options.retention_interval_ms = 1000;
  EventLog log(store, clock, options);
  log.start();

  ASSERT_TRUE(store.wait_for_retention_calls(1));
  ASSERT_TRUE(append_and_wait(log, {record("a")}).ok()) << "appends go on regardless";
  ASSERT_TRUE(append_and_wait(log, {record("b")}).ok());
  EXPECT_EQ(store.retention_calls().size(), 1u);

  clock.advance_ms(1000);
  ASSERT_TRUE(append_and_wait(log, {record("c")}).ok());
  ASSERT_TRUE(append_and_wait(log, {record("d")}).ok());
  EXPECT_EQ(store.retention_calls().size(), 2u);
}

TEST(EventLog, StampsReceivedTimesThatNeverGoBackwards) {
  FakeEventStore store;
  core::ManualClock clock(5000);
  EventLog log(store, clock, {});
  log.start();

  ASSERT_TRUE(append_and_wait(log, {record("a")}).ok());
  clock.set_ms(3000);  // the wall clock steps back
  ASSERT_TRUE(append_and_wait(log, {record("b")}).ok());
  clock.set_ms(7000);
  ASSERT_TRUE(append_and_wait(log, {record("c")}).ok());

  std::vector<int64_t> received;
  for (const auto& c : store.commits()) {
    received.push_back(c.received_ms);
  }
  EXPECT_EQ(received, (std::vector<int64_t>{5000, 5000, 7000}));
}

TEST(EventLog, StoresEveryEventFromConcurrentAppendersInTheSqliteStore) {
  std::string dir = (std::filesystem::temp_directory_path() / "homeostat-bus-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  } cleanup{dir};
  store::sqlite::SqliteOptions store_options;
  store_options.path = dir + "/homeostat.db";
  auto opened = store::sqlite::SqliteStore::open(store_options, kNowMs);
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  store::sqlite::SqliteStore& sqlite = **opened;

  core::ManualClock clock(kNowMs);
  constexpr size_t kThreads = 4;
  constexpr size_t kPerThread = 50;
  Completions done(kThreads * kPerThread);
  {
    EventLog log(sqlite, clock, {});
    log.start();
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (size_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (size_t i = 0; i < kPerThread; ++i) {
          const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
          log.append({record(id + "-a"), record(id + "-b")}, done.at(t * kPerThread + i));
        }
      });
    }
    for (std::thread& t : threads) {
      t.join();
    }
    ASSERT_TRUE(done.wait_all());
    EXPECT_LE(log.stats().commits, kThreads * kPerThread);
    EXPECT_EQ(log.stats().records, 2 * kThreads * kPerThread);
  }

  for (size_t i = 0; i < kThreads * kPerThread; ++i) {
    ASSERT_TRUE(done.status(i).has_value());
    EXPECT_TRUE(done.status(i)->ok()) << "append " << i;
  }
  auto stats = sqlite.event_stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->count, static_cast<int64_t>(2 * kThreads * kPerThread));
  auto last = sqlite.get_event("t3-49-b");
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->received_ms, kNowMs);
}

}  // namespace
}  // namespace homeostat::bus
