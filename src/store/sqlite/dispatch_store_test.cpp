// SqliteStore as a DispatchStore: positions, deliveries, attempts, redrives, topics, API rules,
// replays, and the migration that added them.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/sqlite/connection.hpp"
#include "store/sqlite/schema.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/temp_dir.hpp"

namespace homeostat::store::sqlite {
namespace {

using homeostat::testing::TempDir;

constexpr int64_t kNowMs = 1796315555000;  // 2026-12-03T16:32:35Z

DeliveryRecord delivery(const std::string& rule, const std::string& event_id, int64_t due_ms = 0,
                        DeliveryState state = DeliveryState::kPending) {
  DeliveryRecord d;
  d.rule = rule;
  d.target = "t";
  d.bus = "default";
  d.event_id = event_id;
  d.event_seq = 1;
  d.event_received_ms = kNowMs - 10;
  d.input = R"({"id":")" + event_id + R"("})";
  d.state = state;
  d.due_ms = due_ms;
  d.created_ms = kNowMs;
  return d;
}

std::vector<int64_t> ids_of(const std::vector<DeliveryRecord>& deliveries) {
  std::vector<int64_t> ids;
  ids.reserve(deliveries.size());
  for (const auto& d : deliveries) {
    ids.push_back(d.id);
  }
  return ids;
}

using Ids = std::vector<int64_t>;

class DispatchStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteOptions options;
    options.path = path();
    options.read_connections = 2;
    auto store = SqliteStore::open(options, kNowMs);
    ASSERT_TRUE(store.ok()) << store.error().message();
    store_ = std::move(*store);
  }

  std::string path() const { return dir_.file("homeostat.db"); }

  // Stores `deliveries` for the consumer "test" and returns the ids they were given, in order.
  Ids add(std::vector<DeliveryRecord> deliveries, int64_t position = 0) {
    auto s = store_->record_matches("test", position, deliveries, nullptr);
    EXPECT_TRUE(s.ok()) << s.error().message();
    auto all = list({});
    Ids ids = ids_of(all);  // newest first
    Ids added(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(deliveries.size()));
    std::reverse(added.begin(), added.end());
    return added;
  }

  std::vector<DeliveryRecord> list(const DeliveryQuery& q) {
    auto r = store_->list_deliveries(q);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? *r : std::vector<DeliveryRecord>{};
  }

  DeliveryRecord get(int64_t id) {
    auto d = store_->get_delivery(id);
    EXPECT_TRUE(d.ok() && d->has_value()) << "delivery " << id;
    return d.ok() && d->has_value() ? **d : DeliveryRecord{};
  }

  void attempt(int64_t id, int n, const std::string& outcome, DeliveryState state, int64_t due,
               const std::string& detail = "") {
    AttemptRecord a{id, n, kNowMs + n, 5, outcome, detail};
    auto s = store_->record_attempt(a, state, due);
    ASSERT_TRUE(s.ok()) << s.error().message();
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(DispatchStoreTest, StartsEveryConsumerAtPositionZero) {
  auto p = store_->dispatch_position("live");

  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(*p, 0);
  auto seq = store_->last_seq();
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 0);
}

TEST_F(DispatchStoreTest, StoresDeliveriesAndMovesThePositionTogether) {
  std::vector<DeliveryRecord> ds = {delivery("a", "e1", 7), delivery("b", "e2", 8)};
  ds[1].replay = "rp";
  ds[1].bus = "ops";

  ASSERT_TRUE(store_->record_matches("live", 42, ds, nullptr).ok());

  EXPECT_EQ(*store_->dispatch_position("live"), 42);
  EXPECT_EQ(*store_->dispatch_position("replay:x"), 0) << "each consumer has its own position";
  auto all = list({});
  ASSERT_EQ(all.size(), 2u);
  const DeliveryRecord& b = all[0];  // newest first
  EXPECT_GT(b.id, all[1].id);
  EXPECT_EQ(b.rule, "b");
  EXPECT_EQ(b.target, "t");
  EXPECT_EQ(b.bus, "ops");
  EXPECT_EQ(b.event_id, "e2");
  EXPECT_EQ(b.event_seq, 1);
  EXPECT_EQ(b.event_received_ms, kNowMs - 10);
  EXPECT_EQ(b.input, R"({"id":"e2"})");
  EXPECT_EQ(b.replay, "rp");
  EXPECT_EQ(b.state, DeliveryState::kPending);
  EXPECT_EQ(b.attempts, 0);
  EXPECT_EQ(b.due_ms, 8);
  EXPECT_EQ(b.created_ms, kNowMs);
  EXPECT_EQ(b.updated_ms, kNowMs);
  EXPECT_EQ(b.last_error, "");

  // A later call moves the same consumer on.
  ASSERT_TRUE(store_->record_matches("live", 50, {}, nullptr).ok());
  EXPECT_EQ(*store_->dispatch_position("live"), 50);
}

TEST_F(DispatchStoreTest, KeepsNeitherDeliveriesNorPositionWhenTheTransactionFails) {
  ASSERT_TRUE(store_->record_matches("live", 10, {}, nullptr).ok());
  {
    // A trigger makes moving the position fail after the deliveries have been inserted.
    auto db = Connection::open(path(), false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->exec("CREATE TRIGGER fail_position BEFORE UPDATE ON dispatch_positions "
                         "WHEN NEW.seq = 99 BEGIN SELECT RAISE(ABORT, 'refused'); END")
                    .ok());
  }
  std::vector<DeliveryRecord> ds = {delivery("a", "e1"), delivery("a", "e2")};

  auto s = store_->record_matches("live", 99, ds, nullptr);

  ASSERT_FALSE(s.ok());
  EXPECT_EQ(*store_->dispatch_position("live"), 10);
  EXPECT_TRUE(list({}).empty()) << "the deliveries were rolled back with the position";
  // The store is still usable afterwards.
  ASSERT_TRUE(store_->record_matches("live", 11, ds, nullptr).ok());
  EXPECT_EQ(list({}).size(), 2u);
}

TEST_F(DispatchStoreTest, GivesDuePendingDeliveriesEarliestFirstThenById) {
  Ids ids = add({delivery("a", "e1", 300), delivery("a", "e2", 100), delivery("a", "e3", 200),
                 delivery("a", "e4", 100), delivery("a", "e5", 50, DeliveryState::kDelivered),
                 delivery("a", "e6", 60, DeliveryState::kDead), delivery("a", "e7", 201)});

  auto due = store_->due_deliveries(200, 10);

  ASSERT_TRUE(due.ok()) << due.error().message();
  EXPECT_EQ(ids_of(*due), (Ids{ids[1], ids[3], ids[2]}));
  auto first_two = store_->due_deliveries(200, 2);
  ASSERT_TRUE(first_two.ok());
  EXPECT_EQ(ids_of(*first_two), (Ids{ids[1], ids[3]}));
  auto none = store_->due_deliveries(99, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto next = store_->next_due_ms();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, std::optional<int64_t>(100)) << "pending only: not 50 or 60";
}

TEST_F(DispatchStoreTest, HasNoNextDueTimeWithoutPendingDeliveries) {
  add({delivery("a", "e1", 5, DeliveryState::kDead)});

  auto next = store_->next_due_ms();

  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, std::nullopt);
}

TEST_F(DispatchStoreTest, RecordsAttemptsAndTheDeliverysNewState) {
  Ids ids = add({delivery("a", "e1", 0), delivery("a", "e2", 0)});

  attempt(ids[0], 1, "failed", DeliveryState::kPending, kNowMs + 1000, "HTTP 503");

  DeliveryRecord d = get(ids[0]);
  EXPECT_EQ(d.state, DeliveryState::kPending);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.due_ms, kNowMs + 1000);
  EXPECT_EQ(d.updated_ms, kNowMs + 1 + 5) << "the end of the attempt";
  EXPECT_EQ(d.last_error, "HTTP 503");
  EXPECT_EQ(get(ids[1]).attempts, 0) << "only the attempted delivery changes";

  attempt(ids[0], 2, "delivered", DeliveryState::kDelivered, kNowMs + 2, "HTTP 200");

  d = get(ids[0]);
  EXPECT_EQ(d.state, DeliveryState::kDelivered);
  EXPECT_EQ(d.attempts, 2);
  EXPECT_EQ(d.last_error, "") << "a delivery keeps no error";
  auto attempts = store_->list_attempts(ids[0]);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].attempt, 1);
  EXPECT_EQ((*attempts)[0].outcome, "failed");
  EXPECT_EQ((*attempts)[0].detail, "HTTP 503");
  EXPECT_EQ((*attempts)[0].at_ms, kNowMs + 1);
  EXPECT_EQ((*attempts)[0].duration_ms, 5);
  EXPECT_EQ((*attempts)[1].attempt, 2);
  EXPECT_EQ((*attempts)[1].outcome, "delivered");
  EXPECT_TRUE(store_->due_deliveries(kNowMs + 10'000, 10)->size() == 1u);
  auto other = store_->list_attempts(ids[1]);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
}

TEST_F(DispatchStoreTest, RecordsADeadDeliveryWithItsReason) {
  Ids ids = add({delivery("a", "e1", 0)});

  attempt(ids[0], 1, "dead", DeliveryState::kDead, kNowMs, "HTTP 400 (not retried)");

  DeliveryRecord d = get(ids[0]);
  EXPECT_EQ(d.state, DeliveryState::kDead);
  EXPECT_EQ(d.last_error, "HTTP 400 (not retried)");
  EXPECT_TRUE(store_->due_deliveries(kNowMs + 10'000, 10)->empty());
}

TEST_F(DispatchStoreTest, ReturnsNothingForAnUnknownDelivery) {
  auto d = store_->get_delivery(12345);

  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->has_value());
}

TEST_F(DispatchStoreTest, ListsDeliveriesNewestFirstFilteredByRuleEventAndState) {
  Ids ids = add({delivery("a", "e1"), delivery("b", "e1"), delivery("a", "e2"),
                 delivery("a", "e3", 0, DeliveryState::kDead), delivery("b", "e2")});

  EXPECT_EQ(ids_of(list({})), (Ids{ids[4], ids[3], ids[2], ids[1], ids[0]}));
  EXPECT_EQ(ids_of(list({.rule = "a"})), (Ids{ids[3], ids[2], ids[0]}));
  EXPECT_EQ(ids_of(list({.event_id = "e1"})), (Ids{ids[1], ids[0]}));
  EXPECT_EQ(ids_of(list({.state = DeliveryState::kDead})), (Ids{ids[3]}));
  EXPECT_EQ(ids_of(list({.rule = "a", .event_id = "e2"})), (Ids{ids[2]}));
  EXPECT_EQ(ids_of(list({.rule = "b", .state = DeliveryState::kPending})), (Ids{ids[4], ids[1]}));
  EXPECT_EQ(ids_of(list({.rule = "c"})), Ids{});
}

TEST_F(DispatchStoreTest, PagesThroughDeliveriesBelowAnId) {
  Ids ids = add({delivery("a", "e1"), delivery("b", "e2"), delivery("a", "e3"), delivery("a", "e4"),
                 delivery("a", "e5")});

  // Every delivery of rule a, two at a time, each page continuing below the last id seen.
  Ids seen;
  std::optional<int64_t> before;
  for (int page = 0; page < 10; ++page) {
    auto got = list({.rule = "a", .before_id = before, .limit = 2});
    if (got.empty()) {
      break;
    }
    EXPECT_LE(got.size(), 2u);
    for (const auto& d : got) {
      seen.push_back(d.id);
    }
    before = got.back().id;
  }

  EXPECT_EQ(seen, (Ids{ids[4], ids[3], ids[2], ids[0]}));
}

TEST_F(DispatchStoreTest, RedrivesDeadDeliveriesByIdAsPendingDueNowWithAttemptsFromZero) {
  Ids ids = add({delivery("a", "e1"), delivery("a", "e2"), delivery("a", "e3")});
  for (int64_t id : ids) {
    attempt(id, 1, "dead", DeliveryState::kDead, kNowMs, "HTTP 400");
  }
  attempt(ids[2], 2, "delivered", DeliveryState::kDelivered, kNowMs);  // not dead any more

  auto n = store_->redrive({.ids = {ids[0], ids[2]}}, kNowMs + 500);

  ASSERT_TRUE(n.ok()) << n.error().message();
  EXPECT_EQ(*n, 1) << "only dead deliveries are redriven";
  DeliveryRecord d = get(ids[0]);
  EXPECT_EQ(d.state, DeliveryState::kPending);
  EXPECT_EQ(d.attempts, 0);
  EXPECT_EQ(d.due_ms, kNowMs + 500);
  EXPECT_EQ(d.updated_ms, kNowMs + 500);
  EXPECT_EQ(get(ids[1]).state, DeliveryState::kDead);
  EXPECT_EQ(get(ids[2]).state, DeliveryState::kDelivered);
  EXPECT_EQ(ids_of(*store_->due_deliveries(kNowMs + 500, 10)), Ids{ids[0]});
  auto attempts = store_->list_attempts(ids[0]);
  ASSERT_TRUE(attempts.ok());
  EXPECT_EQ(attempts->size(), 1u) << "the past attempt stays recorded";
}

TEST_F(DispatchStoreTest, RedrivesDeadDeliveriesByRuleOrAll) {
  Ids ids =
      add({delivery("a", "e1"), delivery("b", "e2"), delivery("a", "e3"), delivery("a", "e4")});
  for (int64_t id : {ids[0], ids[1], ids[2]}) {
    attempt(id, 1, "dead", DeliveryState::kDead, kNowMs);
  }

  auto by_rule = store_->redrive({.rule = "a"}, kNowMs);
  ASSERT_TRUE(by_rule.ok()) << by_rule.error().message();
  EXPECT_EQ(*by_rule, 2);
  EXPECT_EQ(get(ids[1]).state, DeliveryState::kDead);

  // Both conditions at once: an id of another rule is left alone.
  auto both = store_->redrive({.ids = {ids[1]}, .rule = "a"}, kNowMs);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(*both, 0);

  auto all = store_->redrive({}, kNowMs);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, 1);
  EXPECT_TRUE(list({.state = DeliveryState::kDead}).empty());
}

TEST_F(DispatchStoreTest, PublishesOneMessagePerDeliveryHoweverOftenItIsCalled) {
  ASSERT_TRUE(store_->publish("alerts", 7, "first", kNowMs).ok());
  ASSERT_TRUE(store_->publish("alerts", 7, "again", kNowMs + 1).ok());
  ASSERT_TRUE(store_->publish("alerts", 8, "second", kNowMs + 2).ok());

  auto messages = store_->topic_messages("alerts", 0, 10);

  ASSERT_TRUE(messages.ok()) << messages.error().message();
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ((*messages)[0].message, "first");
  EXPECT_EQ((*messages)[0].delivery_id, 7);
  EXPECT_EQ((*messages)[0].published_ms, kNowMs);
  EXPECT_EQ((*messages)[0].topic, "alerts");
  EXPECT_EQ((*messages)[1].message, "second");
  EXPECT_LT((*messages)[0].seq, (*messages)[1].seq);
}

TEST_F(DispatchStoreTest, PagesThroughOneTopicsMessagesAfterASeq) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->publish("a", 100 + i, "a" + std::to_string(i), kNowMs).ok());
    ASSERT_TRUE(store_->publish("b", 200 + i, "b" + std::to_string(i), kNowMs).ok());
  }

  std::vector<std::string> seen;
  int64_t after = 0;
  for (int page = 0; page < 10; ++page) {
    auto got = store_->topic_messages("a", after, 2);
    ASSERT_TRUE(got.ok());
    if (got->empty()) {
      break;
    }
    EXPECT_LE(got->size(), 2u);
    for (const auto& m : *got) {
      seen.push_back(m.message);
      EXPECT_EQ(m.topic, "a");
    }
    after = got->back().seq;
  }

  EXPECT_EQ(seen, (std::vector<std::string>{"a0", "a1", "a2", "a3", "a4"}));
  auto none = store_->topic_messages("c", 0, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(DispatchStoreTest, PutsListsReplacesAndDeletesApiRules) {
  using Rules = std::vector<std::pair<std::string, std::string>>;
  ASSERT_TRUE(store_->put_rule("b", R"({"name":"b"})", kNowMs).ok());
  ASSERT_TRUE(store_->put_rule("a", R"({"name":"a"})", kNowMs).ok());
  ASSERT_TRUE(store_->put_rule("b", R"({"name":"b","enabled":false})", kNowMs + 1).ok());

  auto rules = store_->list_rules();
  ASSERT_TRUE(rules.ok()) << rules.error().message();
  EXPECT_EQ(*rules, (Rules{{"a", R"({"name":"a"})"}, {"b", R"({"name":"b","enabled":false})"}}));

  ASSERT_TRUE(store_->delete_rule("a").ok());
  auto missing = store_->delete_rule("a");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), core::ErrorCode::kNotFound);
  EXPECT_EQ(*store_->list_rules(), (Rules{{"b", R"({"name":"b","enabled":false})"}}));
}

TEST_F(DispatchStoreTest, CreatesAReplayOnceAndRecordsItsProgressWithItsMatches) {
  ReplayRecord r{"rp", R"({"name":"rp"})", "running", 0, 9, 0, kNowMs, 0};
  ASSERT_TRUE(store_->create_replay(r).ok());

  ReplayRecord again = r;
  again.definition = "{}";
  auto dup = store_->create_replay(again);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), core::ErrorCode::kAlreadyExists);
  auto got = store_->get_replay("rp");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->definition, R"({"name":"rp"})") << "the first replay is kept";

  ReplayRecord progress = r;
  progress.position = 9;
  progress.matched = 1;
  progress.state = "done";
  progress.finished_ms = kNowMs + 3;
  std::vector<DeliveryRecord> ds = {delivery("a", "e1")};
  ds[0].replay = "rp";
  ASSERT_TRUE(store_->record_matches("replay:rp", 9, ds, &progress).ok());

  got = store_->get_replay("rp");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->state, "done");
  EXPECT_EQ((*got)->position, 9);
  EXPECT_EQ((*got)->end_seq, 9);
  EXPECT_EQ((*got)->matched, 1);
  EXPECT_EQ((*got)->created_ms, kNowMs);
  EXPECT_EQ((*got)->finished_ms, kNowMs + 3);
  EXPECT_EQ(*store_->dispatch_position("replay:rp"), 9);
  EXPECT_EQ(list({}).size(), 1u);
  auto unknown = store_->get_replay("nope");
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
}

TEST_F(DispatchStoreTest, ListsReplaysNewestFirst) {
  ASSERT_TRUE(store_->create_replay({"old", "{}", "done", 0, 0, 0, kNowMs, kNowMs}).ok());
  ASSERT_TRUE(store_->create_replay({"new", "{}", "running", 0, 0, 0, kNowMs + 5, 0}).ok());

  auto replays = store_->list_replays();

  ASSERT_TRUE(replays.ok());
  ASSERT_EQ(replays->size(), 2u);
  EXPECT_EQ((*replays)[0].name, "new");
  EXPECT_EQ((*replays)[1].name, "old");
}

TEST_F(DispatchStoreTest, ReadsEventsAfterASeqWithTheirBus) {
  std::vector<EventRecord> records = {{"e1", "app", "Thing", 1, R"({"id":"e1"})"},
                                      {"e2", "app", "Thing", 2, R"({"id":"e2"})", "ops"},
                                      {"e3", "app", "Thing", 3, R"({"id":"e3"})"}};
  const std::span<const EventRecord> batch(records);
  ASSERT_TRUE(store_->append_events({&batch, 1}, kNowMs).ok());

  auto events = store_->events_after(1, 10);

  ASSERT_TRUE(events.ok()) << events.error().message();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].record.id, "e2");
  EXPECT_EQ((*events)[0].record.bus, "ops");
  EXPECT_EQ((*events)[0].received_ms, kNowMs);
  EXPECT_EQ((*events)[1].record.bus, "default");
  EXPECT_EQ(store_->events_after(0, 1)->size(), 1u);
  EXPECT_EQ(*store_->last_seq(), (*events)[1].seq);
}

// The first migration of schema.cpp, as a version-1 release wrote it.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE events (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  id           TEXT    NOT NULL UNIQUE,
  time_ms      INTEGER NOT NULL,
  received_ms  INTEGER NOT NULL,
  source       TEXT    NOT NULL,
  detail_type  TEXT    NOT NULL,
  body         TEXT    NOT NULL
);
CREATE INDEX events_by_time ON events (time_ms);
CREATE INDEX events_by_source ON events (source, time_ms);
CREATE INDEX events_by_detail_type ON events (detail_type, time_ms);
CREATE TABLE event_stats (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  count     INTEGER NOT NULL,
  bytes     INTEGER NOT NULL
);
INSERT INTO event_stats (singleton, count, bytes) VALUES (1, 0, 0);
CREATE TABLE tokens (
  name       TEXT    PRIMARY KEY,
  role       TEXT    NOT NULL,
  hash       TEXT    NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL
);
)sql";

TEST(DispatchStoreMigration, MovesAVersionOneDatabaseToTheCurrentSchemaKeepingItsEvents) {
  TempDir dir;
  const std::string path = dir.file("homeostat.db");
  {
    auto db = Connection::open(path, false);
    ASSERT_TRUE(db.ok()) << db.error().message();
    ASSERT_TRUE(db->exec(std::string("BEGIN;") + kSchemaV1 +
                         "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                         "description TEXT NOT NULL, applied_ms INTEGER NOT NULL);"
                         "INSERT INTO schema_migrations VALUES (1, 'v1', 1);"
                         "INSERT INTO events (id, time_ms, received_ms, source, detail_type, body) "
                         "VALUES ('old-1', 100, 200, 'app', 'Thing', '{\"id\":\"old-1\"}');"
                         "UPDATE event_stats SET count = 1, bytes = 15;"
                         "PRAGMA user_version = 1; COMMIT;")
                    .ok());
  }

  SqliteOptions options;
  options.path = path;
  auto store = SqliteStore::open(options, kNowMs);
  ASSERT_TRUE(store.ok()) << store.error().message();

  auto event = (*store)->get_event("old-1");
  ASSERT_TRUE(event.ok()) << event.error().message();
  ASSERT_TRUE(event->has_value());
  EXPECT_EQ((*event)->record.bus, "default");
  EXPECT_EQ((*event)->record.json, R"({"id":"old-1"})");
  EXPECT_EQ((*event)->received_ms, 200);
  EXPECT_EQ((*store)->event_stats()->count, 1);

  // The tables of version 2 are there and work.
  auto events = (*store)->events_after(0, 10);
  ASSERT_TRUE(events.ok()) << events.error().message();
  ASSERT_EQ(events->size(), 1u);
  std::vector<DeliveryRecord> ds = {delivery("a", "old-1")};
  ASSERT_TRUE((*store)->record_matches("live", (*events)[0].seq, ds, nullptr).ok());
  EXPECT_EQ(*(*store)->dispatch_position("live"), (*events)[0].seq);
  ASSERT_TRUE((*store)->put_rule("r", "{}", kNowMs).ok());

  auto db = Connection::open(path, true);
  ASSERT_TRUE(db.ok());
  auto stmt = db->prepare(
      "SELECT (SELECT user_version FROM pragma_user_version), "
      "(SELECT applied_ms FROM schema_migrations WHERE version = 2)");
  ASSERT_TRUE(stmt.ok()) << stmt.error().message();
  auto row = stmt->step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(stmt->column_int(0), current_schema_version());
  EXPECT_EQ(stmt->column_int(1), kNowMs);
}

}  // namespace
}  // namespace homeostat::store::sqlite
