// The store's reads give the same answers whether the events they find are indexed or not, and
// duplicates are caught on both sides of the index's watermark and across restarts.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "store/sqlite/event_index.hpp"
#include "store/sqlite/schema.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/temp_dir.hpp"

namespace homeostat::store::sqlite {
namespace {

using homeostat::testing::TempDir;

constexpr int64_t kNowMs = 1796315555000;  // 2026-12-03T16:32:35Z

EventRecord record(const std::string& id, int64_t time_ms, const std::string& source,
                   const std::string& detail_type, const std::string& bus = "default") {
  return {id, source, detail_type, time_ms, R"({"id":")" + id + R"("})", bus};
}

// Events whose times, sources, detail-types and buses are spread so that every filter selects
// some and leaves others; several share a time, so that seq decides their order.
std::vector<EventRecord> mixed_events(const std::string& prefix, int count) {
  static const char* const kSources[] = {"app", "db", "web"};
  static const char* const kTypes[] = {"Start", "Stop"};
  std::vector<EventRecord> out;
  for (int i = 0; i < count; ++i) {
    const int64_t time_ms = 1000 + (i * 7919) % 50;
    out.push_back(record(prefix + std::to_string(i), time_ms, kSources[i % 3], kTypes[i % 2],
                         i % 5 == 0 ? "audit" : "default"));
  }
  return out;
}

// What a listing must return, worked out from every stored event rather than from the store's
// indexes: the events that pass the filters, in (time, seq) order, all pages joined.
std::vector<std::string> expected_ids(std::vector<StoredEvent> all, const EventQuery& q) {
  std::erase_if(all, [&](const StoredEvent& e) {
    const EventRecord& r = e.record;
    return (q.since_ms && r.time_ms < *q.since_ms) || (q.until_ms && r.time_ms >= *q.until_ms) ||
           (q.source && r.source != *q.source) ||
           (q.detail_type && r.detail_type != *q.detail_type) || (q.bus && r.bus != *q.bus);
  });
  std::sort(all.begin(), all.end(), [&](const StoredEvent& a, const StoredEvent& b) {
    const auto ka = std::tie(a.record.time_ms, a.seq);
    const auto kb = std::tie(b.record.time_ms, b.seq);
    return q.descending ? kb < ka : ka < kb;
  });
  std::vector<std::string> ids;
  for (const StoredEvent& e : all) {
    ids.push_back(e.record.id);
  }
  return ids;
}

// Every query shape a listing has: each filter alone and together, both directions.
std::vector<EventQuery> query_shapes() {
  std::vector<EventQuery> out;
  for (const bool descending : {false, true}) {
    EventQuery q;
    q.descending = descending;
    q.limit = 7;
    out.push_back(q);
    EventQuery timed = q;
    timed.since_ms = 1010;
    timed.until_ms = 1040;
    out.push_back(timed);
    EventQuery by_source = timed;
    by_source.source = "db";
    out.push_back(by_source);
    EventQuery by_type = q;
    by_type.detail_type = "Stop";
    out.push_back(by_type);
    EventQuery both = q;
    both.source = "web";
    both.detail_type = "Start";
    out.push_back(both);
    EventQuery on_bus = timed;
    on_bus.bus = "audit";
    out.push_back(on_bus);
  }
  return out;
}

class EventIndexTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = open_store(); }

  // A store whose indexes move only when the test calls index_now().
  std::unique_ptr<SqliteStore> open_store() {
    SqliteOptions options;
    options.path = dir_.file("homeostat.db");
    options.read_connections = 2;
    options.background_index = false;
    auto store = SqliteStore::open(options, kNowMs);
    if (!store) {
      ADD_FAILURE() << store.error().message();
      return nullptr;
    }
    return std::move(*store);
  }

  void append(const std::vector<EventRecord>& records) {
    const std::span<const EventRecord> batch(records);
    const core::Status s = store_->append_events({&batch, 1}, kNowMs);
    ASSERT_TRUE(s.ok()) << s.error().message();
  }

  int64_t index_now() {
    auto n = store_->index_now();
    if (!n) {
      ADD_FAILURE() << n.error().message();
      return -1;
    }
    return *n;
  }

  // Every stored event, read by seq (not through the indexes).
  std::vector<StoredEvent> all_events() {
    auto all = store_->events_after(0, 1'000'000);
    if (!all) {
      ADD_FAILURE() << all.error().message();
      return {};
    }
    return std::move(*all);
  }

  // Follows the cursors of one query to its end and returns the ids in the order given.
  std::vector<std::string> list_all(EventQuery q) {
    std::vector<std::string> ids;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = store_->list_events(q);
      if (!page) {
        ADD_FAILURE() << page.error().message();
        return ids;
      }
      for (const StoredEvent& e : page->events) {
        ids.push_back(e.record.id);
      }
      if (!page->next) {
        return ids;
      }
      q.after = page->next;
    }
    ADD_FAILURE() << "the listing did not end";
    return ids;
  }

  // Checks every query shape against the events the log holds.
  void expect_listings_match_the_log(const std::string& when) {
    const std::vector<StoredEvent> all = all_events();
    ASSERT_FALSE(all.empty()) << when;
    int shape = 0;
    for (const EventQuery& q : query_shapes()) {
      const std::vector<std::string> want = expected_ids(all, q);
      EXPECT_FALSE(want.empty()) << when << ", query " << shape;
      EXPECT_EQ(list_all(q), want) << when << ", query " << shape;
      ++shape;
    }
  }

  int64_t stored_count() {
    auto stats = store_->event_stats();
    return stats ? stats->count : -1;
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(EventIndexTest, ListsTheSameEventsBeforeDuringAndAfterIndexing) {
  ASSERT_NE(store_, nullptr);
  append(mixed_events("a", 60));
  expect_listings_match_the_log("nothing indexed");

  EXPECT_EQ(index_now(), 60);
  EXPECT_EQ(store_->indexed_seq(), 60);
  expect_listings_match_the_log("everything indexed");

  // Events on both sides of the watermark, with times interleaving those already indexed.
  append(mixed_events("b", 45));
  expect_listings_match_the_log("the first part indexed");

  EXPECT_EQ(index_now(), 45);
  expect_listings_match_the_log("everything indexed again");
}

TEST_F(EventIndexTest, GetsEventsByIdOnBothSidesOfTheWatermark) {
  ASSERT_NE(store_, nullptr);
  append(mixed_events("a", 10));
  index_now();
  append(mixed_events("b", 10));

  for (const char* id : {"a3", "b7"}) {
    auto e = store_->get_event(id);
    ASSERT_TRUE(e.ok()) << e.error().message();
    ASSERT_TRUE(e->has_value()) << id;
    EXPECT_EQ((*e)->record.id, id);
  }
  auto missing = store_->get_event("c1");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(EventIndexTest, SkipsDuplicatesOfIndexedAndUnindexedEventsAcrossARestart) {
  ASSERT_NE(store_, nullptr);
  append(mixed_events("a", 20));
  index_now();
  append(mixed_events("b", 20));
  EXPECT_EQ(stored_count(), 40);

  // A restart must find both kinds again: the indexed ids through the index, the others in the
  // rows past the watermark.
  store_.reset();
  store_ = open_store();
  ASSERT_NE(store_, nullptr);
  append(mixed_events("a", 20));
  append(mixed_events("b", 20));
  EXPECT_EQ(stored_count(), 40);
  EXPECT_EQ(all_events().size(), 40u);

  // Within one commit, the second of two equal ids is skipped too.
  append({record("c1", 5, "app", "Start"), record("c1", 6, "app", "Stop")});
  auto c1 = store_->get_event("c1");
  ASSERT_TRUE(c1.ok() && c1->has_value());
  EXPECT_EQ((*c1)->record.time_ms, 5);
  EXPECT_EQ(stored_count(), 41);
}

TEST_F(EventIndexTest, StoresAnIdAgainOnceRetentionHasRemovedIt) {
  ASSERT_NE(store_, nullptr);
  append(mixed_events("a", 30));
  index_now();

  RetentionPolicy policy;
  policy.max_age_ms = 1000;
  auto removed = store_->apply_retention(policy, kNowMs + 5000);
  ASSERT_TRUE(removed.ok()) << removed.error().message();
  EXPECT_EQ(removed->removed, 30);

  // The index still holds the removed events until it is purged: listings must not show them.
  EXPECT_TRUE(list_all(EventQuery{}).empty());
  auto gone = store_->get_event("a4");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());

  append(mixed_events("a", 30));
  EXPECT_EQ(stored_count(), 30);
  expect_listings_match_the_log("stored again before the purge");
  index_now();
  expect_listings_match_the_log("stored again after the purge");
}

TEST_F(EventIndexTest, RebuildsAMissingIndexFileFromTheLog) {
  ASSERT_NE(store_, nullptr);
  append(mixed_events("a", 25));
  index_now();
  store_.reset();
  std::filesystem::remove(dir_.file("homeostat.index.db"));
  std::filesystem::remove(dir_.file("homeostat.index.db-wal"));
  std::filesystem::remove(dir_.file("homeostat.index.db-shm"));

  store_ = open_store();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->indexed_seq(), 0);
  expect_listings_match_the_log("index file gone");
  append(mixed_events("a", 25));
  EXPECT_EQ(stored_count(), 25);
  EXPECT_EQ(index_now(), 25);
  expect_listings_match_the_log("index rebuilt");
}

TEST_F(EventIndexTest, RebuildsAnIndexFileMadeForAnotherLog) {
  ASSERT_NE(store_, nullptr);
  append(mixed_events("a", 25));
  index_now();
  store_.reset();

  // Another log takes this one's place; the index file stays.
  std::filesystem::remove(dir_.file("homeostat.db"));
  std::filesystem::remove(dir_.file("homeostat.db-wal"));
  std::filesystem::remove(dir_.file("homeostat.db-shm"));
  store_ = open_store();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->indexed_seq(), 0);
  append(mixed_events("z", 30));
  index_now();
  expect_listings_match_the_log("a new log");
  EXPECT_EQ(all_events().size(), 30u);
}

// A database written by schema version 2: the events table with its UNIQUE id and its three
// indexes, as migrations 1 and 2 made it.
constexpr const char* kVersion2Events = R"sql(
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL,
  applied_ms INTEGER NOT NULL);
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
CREATE TABLE event_stats (singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  count INTEGER NOT NULL, bytes INTEGER NOT NULL);
CREATE TABLE tokens (name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL);
ALTER TABLE events ADD COLUMN bus TEXT NOT NULL DEFAULT 'default';
INSERT INTO events (id, time_ms, received_ms, source, detail_type, body)
  VALUES ('old-1', 30, 1, 'app', 'Start', '{}'), ('old-2', 10, 1, 'db', 'Stop', '{}'),
         ('old-3', 20, 1, 'app', 'Stop', '{}');
DELETE FROM events WHERE id = 'old-3';
INSERT INTO event_stats VALUES (1, 2, 4);
PRAGMA user_version = 2;
)sql";

TEST(EventIndexMigration, KeepsTheEventsAndTheirSeqsOfAVersion2Database) {
  TempDir dir;
  const std::string path = dir.file("homeostat.db");
  {
    auto db = Connection::open(path, false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->exec(kVersion2Events).ok());
  }

  SqliteOptions options;
  options.path = path;
  options.background_index = false;
  auto store = SqliteStore::open(options, kNowMs);
  ASSERT_TRUE(store.ok()) << store.error().message();
  auto listed = (*store)->list_events(EventQuery{});
  ASSERT_TRUE(listed.ok()) << listed.error().message();
  ASSERT_EQ(listed->events.size(), 2u);
  EXPECT_EQ(listed->events[0].record.id, "old-2");
  EXPECT_EQ(listed->events[0].seq, 2);
  EXPECT_EQ(listed->events[1].record.id, "old-1");

  // The removed newest seq (3) is not used again, and the old ids are still known.
  const std::vector<EventRecord> batch = {record("old-1", 1, "app", "Start"),
                                          record("new-1", 40, "web", "Start")};
  const std::span<const EventRecord> span(batch);
  ASSERT_TRUE((*store)->append_events({&span, 1}, kNowMs).ok());
  auto next = (*store)->events_after(2, 10);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].record.id, "new-1");
  EXPECT_EQ((*next)[0].seq, 4);
}

}  // namespace
}  // namespace homeostat::store::sqlite
