#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/schema.hpp"
#include "support/temp_dir.hpp"

namespace homeostat::store::sqlite {
namespace {

using homeostat::testing::TempDir;

namespace fs = std::filesystem;

constexpr int64_t kNowMs = 1796315555000;  // 2026-12-03T16:32:35Z

EventRecord record(const std::string& id, int64_t time_ms, const std::string& source = "app",
                   const std::string& detail_type = "Thing") {
  return {id, source, detail_type, time_ms,
          R"({"id":")" + id + R"(","source":")" + source + R"(","detail":{}})"};
}

std::vector<std::string> ids_of(const EventPage& page) {
  std::vector<std::string> ids;
  for (const StoredEvent& e : page.events) {
    ids.push_back(e.record.id);
  }
  return ids;
}

int64_t pragma_user_version(const std::string& path) {
  auto db = Connection::open(path, true);
  if (!db) {
    ADD_FAILURE() << db.error().message();
    return -1;
  }
  auto stmt = db->prepare("PRAGMA user_version");
  if (!stmt || !stmt->step().ok()) {
    ADD_FAILURE() << "cannot read user_version";
    return -1;
  }
  return stmt->column_int(0);
}

// A store in a temp directory, opened before each test.
class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = open_store(); }

  std::unique_ptr<SqliteStore> open_store() {
    SqliteOptions options;
    options.path = path();
    options.read_connections = 2;
    auto store = SqliteStore::open(options, kNowMs);
    if (!store) {
      ADD_FAILURE() << store.error().message();
      return nullptr;
    }
    return std::move(*store);
  }

  std::string path() const { return dir_.file("homeostat.db"); }

  // Appends one batch in its own transaction, failing the test when the store refuses it.
  void append(const std::vector<EventRecord>& records, int64_t received_ms = kNowMs) {
    const std::span<const EventRecord> batch(records);
    const core::Status s = store_->append_events({&batch, 1}, received_ms);
    ASSERT_TRUE(s.ok()) << s.error().message();
  }

  EventPage list(const EventQuery& query) {
    auto page = store_->list_events(query);
    if (!page) {
      ADD_FAILURE() << page.error().message();
      return {};
    }
    return std::move(*page);
  }

  EventStats stats() {
    auto s = store_->event_stats();
    if (!s) {
      ADD_FAILURE() << s.error().message();
      return {};
    }
    return *s;
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, GetsBackAnAppendedEventWithItsSeqAndReceivedTime) {
  ASSERT_NE(store_, nullptr);
  append({record("a", 100, "my.app", "Thing Happened"), record("b", 50)}, kNowMs + 7);

  auto a = store_->get_event("a");
  ASSERT_TRUE(a.ok()) << a.error().message();
  ASSERT_TRUE(a->has_value());
  const StoredEvent& got = **a;
  EXPECT_EQ(got.record.id, "a");
  EXPECT_EQ(got.record.source, "my.app");
  EXPECT_EQ(got.record.detail_type, "Thing Happened");
  EXPECT_EQ(got.record.time_ms, 100);
  EXPECT_EQ(got.record.json, record("a", 100, "my.app").json);
  EXPECT_EQ(got.received_ms, kNowMs + 7);

  auto b = store_->get_event("b");
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_GT((*b)->seq, got.seq) << "seq follows the order of appending, not of event time";
}

TEST_F(SqliteStoreTest, ReturnsNothingForAnUnknownId) {
  ASSERT_NE(store_, nullptr);
  append({record("a", 100)});
  auto missing = store_->get_event("b");
  ASSERT_TRUE(missing.ok()) << missing.error().message();
  EXPECT_FALSE(missing->has_value());
}

TEST_F(SqliteStoreTest, StoresEveryBatchOfOneCallWithOneReceivedTime) {
  ASSERT_NE(store_, nullptr);
  const std::vector<EventRecord> first = {record("a", 1), record("b", 2)};
  const std::vector<EventRecord> second = {record("c", 3)};
  const std::span<const EventRecord> batches[] = {first, second};
  ASSERT_TRUE(store_->append_events(batches, 4242).ok());

  const EventPage page = list({});
  EXPECT_EQ(ids_of(page), (std::vector<std::string>{"a", "b", "c"}));
  for (const StoredEvent& e : page.events) {
    EXPECT_EQ(e.received_ms, 4242) << e.record.id;
  }
  EXPECT_EQ(stats().count, 3);
}

TEST_F(SqliteStoreTest, SkipsDuplicateIdsKeepingTheFirstAndNotCountingThem) {
  ASSERT_NE(store_, nullptr);
  const EventRecord a = record("a", 100);
  append({a});

  EventRecord a_again = record("a", 999, "other");
  a_again.json = R"({"rewritten":true})";
  const EventRecord b = record("b", 200);
  // A repeat in a later request, and a repeat inside one request.
  append({a_again, b, b});

  auto got = store_->get_event("a");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->record.json, a.json) << "first write wins";
  EXPECT_EQ((*got)->record.time_ms, 100);
  EXPECT_EQ(list({}).events.size(), 2u);

  const EventStats s = stats();
  EXPECT_EQ(s.count, 2);
  EXPECT_EQ(s.bytes, static_cast<int64_t>(a.json.size() + b.json.size()));
}

TEST_F(SqliteStoreTest, ListsInTimeOrderThenSeqAscendingAndDescending) {
  ASSERT_NE(store_, nullptr);
  // Appended out of time order; c and d share a time and keep their append order.
  append({record("b", 200), record("c", 300), record("a", 100), record("d", 300)});

  EXPECT_EQ(ids_of(list({})), (std::vector<std::string>{"a", "b", "c", "d"}));
  EventQuery desc;
  desc.descending = true;
  EXPECT_EQ(ids_of(list(desc)), (std::vector<std::string>{"d", "c", "b", "a"}));
}

TEST_F(SqliteStoreTest, FiltersBySinceInclusiveAndUntilExclusive) {
  ASSERT_NE(store_, nullptr);
  append({record("a", 100), record("b", 200), record("c", 300), record("d", 400)});

  EventQuery q;
  q.since_ms = 200;
  EXPECT_EQ(ids_of(list(q)), (std::vector<std::string>{"b", "c", "d"}));
  q = {};
  q.until_ms = 300;
  EXPECT_EQ(ids_of(list(q)), (std::vector<std::string>{"a", "b"}));
  q.since_ms = 200;
  EXPECT_EQ(ids_of(list(q)), (std::vector<std::string>{"b"}));
  q.since_ms = 300;
  EXPECT_TRUE(list(q).events.empty());
}

TEST_F(SqliteStoreTest, FiltersBySourceAndDetailTypeAloneAndTogether) {
  ASSERT_NE(store_, nullptr);
  append({record("a", 100, "app", "Started"), record("b", 200, "db", "Started"),
          record("c", 300, "app", "Stopped"), record("d", 400, "db", "Stopped")});

  EventQuery q;
  q.source = "app";
  EXPECT_EQ(ids_of(list(q)), (std::vector<std::string>{"a", "c"}));
  q = {};
  q.detail_type = "Stopped";
  EXPECT_EQ(ids_of(list(q)), (std::vector<std::string>{"c", "d"}));
  q.source = "db";
  EXPECT_EQ(ids_of(list(q)), (std::vector<std::string>{"d"}));
  q.since_ms = 100;
  q.until_ms = 400;
  EXPECT_TRUE(list(q).events.empty());
  q.source = "nobody";
  q.since_ms.reset();
  q.until_ms.reset();
  EXPECT_TRUE(list(q).events.empty());
}

// Reads every page of a listing, checking that only the last one lacks a cursor.
std::vector<std::string> page_through(SqliteStore& store, EventQuery q, size_t* pages) {
  std::vector<std::string> seen;
  *pages = 0;
  for (;;) {
    auto page = store.list_events(q);
    if (!page) {
      ADD_FAILURE() << page.error().message();
      return seen;
    }
    ++*pages;
    EXPECT_LE(page->events.size(), q.limit);
    for (const StoredEvent& e : page->events) {
      seen.push_back(e.record.id);
    }
    if (!page->next) {
      return seen;
    }
    EXPECT_EQ(page->events.size(), q.limit) << "a page with a cursor is full";
    EXPECT_EQ(page->next->seq, page->events.back().seq);
    EXPECT_EQ(page->next->time_ms, page->events.back().record.time_ms);
    q.after = page->next;
    if (*pages > 100) {
      ADD_FAILURE() << "the cursor does not advance";
      return seen;
    }
  }
}

TEST_F(SqliteStoreTest, PagesThroughEveryEventOnceAscendingAndDescending) {
  ASSERT_NE(store_, nullptr);
  // Seven events, several sharing a time, so that page boundaries fall between equal times.
  append({record("e1", 100), record("e2", 200), record("e3", 200), record("e4", 200),
          record("e5", 300), record("e6", 300), record("e7", 400)});

  EventQuery q;
  q.limit = 2;
  size_t pages = 0;
  EXPECT_EQ(page_through(*store_, q, &pages),
            (std::vector<std::string>{"e1", "e2", "e3", "e4", "e5", "e6", "e7"}));
  EXPECT_EQ(pages, 4u);

  q.descending = true;
  EXPECT_EQ(page_through(*store_, q, &pages),
            (std::vector<std::string>{"e7", "e6", "e5", "e4", "e3", "e2", "e1"}));
  EXPECT_EQ(pages, 4u);
}

TEST_F(SqliteStoreTest, GivesNoCursorWhenTheLastPageIsExactlyFull) {
  ASSERT_NE(store_, nullptr);
  append({record("a", 100), record("b", 200), record("c", 300), record("d", 400)});
  EventQuery q;
  q.limit = 2;
  size_t pages = 0;
  EXPECT_EQ(page_through(*store_, q, &pages), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(pages, 2u);

  q.limit = 4;
  const EventPage all = list(q);
  EXPECT_EQ(all.events.size(), 4u);
  EXPECT_FALSE(all.next.has_value());
}

TEST_F(SqliteStoreTest, PagesThroughAFilteredListing) {
  ASSERT_NE(store_, nullptr);
  std::vector<EventRecord> records;
  records.reserve(10);
  for (int i = 0; i < 10; ++i) {
    records.push_back(record("e" + std::to_string(i), 100 + i, i % 2 == 0 ? "even" : "odd"));
  }
  append(records);

  EventQuery q;
  q.source = "odd";
  q.since_ms = 103;
  q.limit = 2;
  q.descending = true;
  size_t pages = 0;
  EXPECT_EQ(page_through(*store_, q, &pages), (std::vector<std::string>{"e9", "e7", "e5", "e3"}));
  EXPECT_EQ(pages, 2u);
}

TEST_F(SqliteStoreTest, RemovesEventsReceivedLongerAgoThanTheMaximumAge) {
  ASSERT_NE(store_, nullptr);
  append({record("a", 1)}, 1000);
  append({record("b", 2)}, 2000);
  append({record("c", 3)}, 2500);
  append({record("d", 4)}, 3000);

  RetentionPolicy policy;
  policy.max_age_ms = 1500;
  // At 4000, anything received before 2500 is too old; 2500 itself is kept.
  auto result = store_->apply_retention(policy, 4000);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->removed, 2);
  EXPECT_EQ(result->removed_bytes,
            static_cast<int64_t>(record("a", 1).json.size() + record("b", 2).json.size()));
  EXPECT_EQ(ids_of(list({})), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(stats().count, 2);
  EXPECT_EQ(stats().bytes,
            static_cast<int64_t>(record("c", 3).json.size() + record("d", 4).json.size()));
}

TEST_F(SqliteStoreTest, KeepsEventsPastTheRetentionFloorHoweverOld) {
  ASSERT_NE(store_, nullptr);
  append({record("a", 1)}, 1000);
  append({record("b", 2)}, 1000);
  append({record("c", 3)}, 1000);

  // All three are too old, but only the first has been matched by the rules (seq 1).
  RetentionPolicy policy;
  policy.max_age_ms = 1;
  policy.keep_after_seq = 1;
  auto result = store_->apply_retention(policy, 5000);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->removed, 1);
  EXPECT_EQ(ids_of(list({})), (std::vector<std::string>{"b", "c"}));
}

TEST_F(SqliteStoreTest, RemovesTheOldestEventsUntilTheLogFitsTheMaximumSize) {
  ASSERT_NE(store_, nullptr);
  // Four records of one size each; a limit of two and a half records keeps the newest two.
  append({record("a", 400)}, 1000);
  append({record("b", 300)}, 2000);
  append({record("c", 200)}, 3000);
  append({record("d", 100)}, 4000);
  const int64_t one = static_cast<int64_t>(record("a", 0).json.size());
  ASSERT_EQ(stats().bytes, 4 * one);

  RetentionPolicy policy;
  policy.max_bytes = 2 * one + one / 2;
  auto result = store_->apply_retention(policy, kNowMs);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->removed, 2);
  EXPECT_EQ(result->removed_bytes, 2 * one);
  EXPECT_EQ(ids_of(list({})), (std::vector<std::string>{"d", "c"})) << "received order decides";
  EXPECT_EQ(stats().bytes, 2 * one);

  // Exactly at the limit nothing more goes.
  policy.max_bytes = 2 * one;
  result = store_->apply_retention(policy, kNowMs);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->removed, 0);
}

TEST_F(SqliteStoreTest, RemovesNothingWithoutARetentionPolicy) {
  ASSERT_NE(store_, nullptr);
  append({record("a", 1)}, 0);
  auto result = store_->apply_retention({}, kNowMs);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->removed, 0);
  EXPECT_EQ(stats().count, 1);
}

TEST_F(SqliteStoreTest, RemovesMoreEventsThanOneChunkAndCountsMultibyteTextInBytes) {
  ASSERT_NE(store_, nullptr);
  // More than one deletion chunk (1,000 rows), with text whose bytes outnumber its characters,
  // so that the sizes counted on append and on removal must agree for the stats to reach zero.
  std::vector<EventRecord> records;
  records.reserve(2500);
  for (int i = 0; i < 2500; ++i) {
    EventRecord r = record("e" + std::to_string(i), i);
    r.json = R"({"msg":"caf)"
             "\xc3\xa9"
             R"( )" +
             std::to_string(i) + R"("})";
    records.push_back(std::move(r));
  }
  append(records, 1000);
  append({record("young", 1)}, 5000);

  RetentionPolicy policy;
  policy.max_age_ms = 1000;
  auto result = store_->apply_retention(policy, 5000);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->removed, 2500);
  EXPECT_EQ(ids_of(list({})), (std::vector<std::string>{"young"}));
  EXPECT_EQ(stats().count, 1);
  EXPECT_EQ(stats().bytes, static_cast<int64_t>(record("young", 1).json.size()));
}

TEST_F(SqliteStoreTest, StopsAfterMaxChunksAndSaysMoreIsLeft) {
  ASSERT_NE(store_, nullptr);
  std::vector<EventRecord> records;
  records.reserve(2500);
  for (int i = 0; i < 2500; ++i) {
    records.push_back(record("e" + std::to_string(i), i));
  }
  append(records, 1000);

  RetentionPolicy policy;
  policy.max_age_ms = 1000;
  policy.max_chunks = 1;
  auto result = store_->apply_retention(policy, 5000);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->removed, 1000);
  EXPECT_TRUE(result->more);
  EXPECT_EQ(stats().count, 1500);

  // Without a bound, the rest goes in one call, which says nothing is left.
  policy.max_chunks = 0;
  result = store_->apply_retention(policy, 5000);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->removed, 1500);
  EXPECT_FALSE(result->more);
  EXPECT_EQ(stats().count, 0);
  EXPECT_EQ(stats().bytes, 0);
}

TEST_F(SqliteStoreTest, ReportsAWritableDatabase) {
  ASSERT_NE(store_, nullptr);
  const core::Status s = store_->check_writable();
  EXPECT_TRUE(s.ok()) << s.error().message();
}

TEST_F(SqliteStoreTest, ServesMoreConcurrentReadersThanItHasConnections) {
  ASSERT_NE(store_, nullptr);
  append({record("a", 1), record("b", 2)});
  // Two read connections, eight readers: the others wait for a connection instead of failing.
  std::atomic<int> found{0};
  std::vector<std::thread> readers;
  readers.reserve(8);
  for (int t = 0; t < 8; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto got = store_->get_event(i % 2 == 0 ? "a" : "b");
        if (got.ok() && got->has_value()) {
          ++found;
        }
      }
    });
  }
  for (std::thread& t : readers) {
    t.join();
  }
  EXPECT_EQ(found.load(), 8 * 50);
}

TEST_F(SqliteStoreTest, StoresTokensByNameAndRefusesATakenName) {
  ASSERT_NE(store_, nullptr);
  ASSERT_TRUE(store_->put_token({"ci", "operator", "hash-ci", 10}).ok());
  ASSERT_TRUE(store_->put_token({"alice", "admin", "hash-alice", 20}).ok());

  const core::Status again = store_->put_token({"ci", "viewer", "hash-other", 30});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), core::ErrorCode::kAlreadyExists);

  auto tokens = store_->list_tokens();
  ASSERT_TRUE(tokens.ok()) << tokens.error().message();
  ASSERT_EQ(tokens->size(), 2u);
  EXPECT_EQ((*tokens)[0].name, "alice");
  EXPECT_EQ((*tokens)[1].name, "ci");
  EXPECT_EQ((*tokens)[1].role, "operator");
  EXPECT_EQ((*tokens)[1].hash, "hash-ci");
  EXPECT_EQ((*tokens)[1].created_ms, 10);
}

TEST_F(SqliteStoreTest, UpsertReplacesTheHashAndRoleButKeepsTheCreationTime) {
  ASSERT_NE(store_, nullptr);
  ASSERT_TRUE(store_->upsert_token({"admin", "viewer", "old", 10}).ok());
  ASSERT_TRUE(store_->upsert_token({"admin", "admin", "new", 20}).ok());
  auto tokens = store_->list_tokens();
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ((*tokens)[0].role, "admin");
  EXPECT_EQ((*tokens)[0].hash, "new");
  EXPECT_EQ((*tokens)[0].created_ms, 10);
}

TEST_F(SqliteStoreTest, DeletesATokenAndReportsAnUnknownName) {
  ASSERT_NE(store_, nullptr);
  ASSERT_TRUE(store_->put_token({"ci", "operator", "hash-ci", 10}).ok());
  EXPECT_TRUE(store_->delete_token("ci").ok());
  const core::Status again = store_->delete_token("ci");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), core::ErrorCode::kNotFound);
  auto tokens = store_->list_tokens();
  ASSERT_TRUE(tokens.ok());
  EXPECT_TRUE(tokens->empty());
}

TEST_F(SqliteStoreTest, GivesAFreshDatabaseTheCurrentSchemaVersion) {
  ASSERT_NE(store_, nullptr);
  EXPECT_GE(current_schema_version(), 1);
  EXPECT_EQ(pragma_user_version(path()), current_schema_version());

  // Every migration leaves a record of itself.
  auto db = Connection::open(path(), true);
  ASSERT_TRUE(db.ok());
  auto stmt = db->prepare("SELECT count(*), max(version), min(applied_ms) FROM schema_migrations");
  ASSERT_TRUE(stmt.ok());
  ASSERT_TRUE(stmt->step().ok());
  EXPECT_EQ(stmt->column_int(0), current_schema_version());
  EXPECT_EQ(stmt->column_int(1), current_schema_version());
  EXPECT_EQ(stmt->column_int(2), kNowMs);
}

TEST_F(SqliteStoreTest, KeepsEventsTokensAndStatsWhenReopened) {
  ASSERT_NE(store_, nullptr);
  append({record("a", 100), record("b", 200)});
  ASSERT_TRUE(store_->put_token({"ci", "operator", "hash-ci", 10}).ok());
  store_.reset();

  store_ = open_store();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(ids_of(list({})), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(stats().count, 2);
  auto tokens = store_->list_tokens();
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(tokens->size(), 1u);
  EXPECT_EQ(pragma_user_version(path()), current_schema_version());

  // New events continue the sequence rather than reuse it.
  const int64_t last_seq = list({}).events.back().seq;
  append({record("c", 300)});
  auto c = store_->get_event("c");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_GT((*c)->seq, last_seq);
}

TEST_F(SqliteStoreTest, RefusesADatabaseWrittenByANewerRelease) {
  ASSERT_NE(store_, nullptr);
  store_.reset();
  {
    auto db = Connection::open(path(), false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(
        db->exec("PRAGMA user_version = " + std::to_string(current_schema_version() + 1)).ok());
  }

  SqliteOptions options;
  options.path = path();
  auto reopened = SqliteStore::open(options, kNowMs);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_NE(reopened.error().message().find("newer"), std::string::npos)
      << reopened.error().message();
  EXPECT_EQ(pragma_user_version(path()), current_schema_version() + 1) << "left untouched";
}

TEST(SqliteStoreOpen, FailsWithAnIoErrorWhenTheDirectoryDoesNotExist) {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.file("missing/homeostat.db");
  auto store = SqliteStore::open(options, kNowMs);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), core::ErrorCode::kIo);
}

}  // namespace
}  // namespace homeostat::store::sqlite
