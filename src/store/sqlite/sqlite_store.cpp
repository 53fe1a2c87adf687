#include "store/sqlite/sqlite_store.hpp"
#include "store/sqlite/rows.hpp"

#include <functional>

#include "store/sqlite/schema.hpp"

namespace homeostat::store::sqlite {

// A read connection borrowed from the pool and given back when the lease ends.

namespace {

core::Status configure(Connection& db, const SqliteOptions& options, bool writer) {
  std::string sql = "PRAGMA busy_timeout = 10000; PRAGMA cache_size = -" +
                    std::to_string(options.cache_mib * 1024) + ";";
  if (writer) {
    // Checkpoints every 10,000 WAL pages (about 40 MiB) rather than SQLite's 1,000: a page
    // changed by many commits is copied into the database once per checkpoint, not once per
    // thousand pages. Measured: +20-25% events/s, single-event p99 at 8 clients 7.7 -> 1.8 ms,
    // at the cost of a longer pause (~30 ms) on the commit that runs the checkpoint.
    sql += "PRAGMA wal_autocheckpoint = 10000;";
    sql += "PRAGMA journal_mode = WAL; PRAGMA synchronous = ";
    sql += options.synchronous == Synchronous::kFull ? "FULL;" : "NORMAL;";
    sql += "PRAGMA foreign_keys = ON;";
  }
  return db.exec(sql);
}

}  // namespace

std::string default_index_path(const std::string& log_path) {
  constexpr std::string_view kSuffix = ".db";
  if (log_path.size() > kSuffix.size() && log_path.ends_with(kSuffix)) {
    return log_path.substr(0, log_path.size() - kSuffix.size()) + ".index.db";
  }
  return log_path + ".index";
}

namespace {

struct LogIdentity {
  std::string token;
  int64_t max_seq = 0;  // the highest seq the log has ever used
};

core::Result<LogIdentity> log_identity(Connection& db) {
  auto stmt = db.prepare(
      "SELECT (SELECT token FROM store_identity), MAX(COALESCE((SELECT seq FROM sqlite_sequence "
      "WHERE name = 'events'), 0), COALESCE((SELECT MAX(seq) FROM events), 0))");
  if (!stmt) {
    return stmt.error();
  }
  auto row = stmt->step();
  if (!row) {
    return row.error();
  }
  return LogIdentity{stmt->column_text(0), stmt->column_int(1)};
}

}  // namespace

core::Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const SqliteOptions& options,
                                                             int64_t now_ms) {
  // The writer first: it creates the file, turns on WAL and migrates the schema.
  auto writer = Connection::open(options.path, false);
  if (!writer) {
    return writer.error();
  }
  if (auto s = configure(*writer, options, true); !s.ok()) {
    return s.error();
  }
  if (auto s = migrate(*writer, now_ms); !s.ok()) {
    return s.error();
  }

  // The index file next: every other connection attaches it, so it must exist first.
  auto identity = log_identity(*writer);
  if (!identity) {
    return identity.error();
  }
  EventIndexOptions index_options;
  index_options.index_path =
      options.index_path.empty() ? default_index_path(options.path) : options.index_path;
  index_options.log_path = options.path;
  index_options.cache_mib = options.cache_mib;
  index_options.delay_ms = options.index_delay_ms;
  auto indexer = EventIndexer::open(index_options, identity->token, identity->max_seq);
  if (!indexer) {
    return indexer.error();
  }
  const std::string index_uri = sqlite_uri(index_options.index_path, true);
  const std::string attach = "ATTACH DATABASE '" + index_uri + "' AS idx";

  // Attached read-only, so that the writer's BEGIN IMMEDIATE locks the log and not the index.
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(*writer)));
  store->indexer_ = std::move(*indexer);
  if (auto s = store->writer_.exec(attach); !s.ok()) {
    return s.error();
  }
  if (auto s = store->prepare_writes(); !s.ok()) {
    return s.error();
  }
  {
    std::lock_guard lock(store->write_mu_);
    if (auto s = store->load_ids(); !s.ok()) {
      return core::Error(s.error()).with_context("loading the ids of stored events");
    }
  }

  for (int i = 0; i < options.read_connections; ++i) {
    auto reader = Connection::open(options.path, true);
    if (!reader) {
      return reader.error();
    }
    if (auto s = configure(*reader, options, false); !s.ok()) {
      return s.error();
    }
    if (auto s = reader->exec(attach); !s.ok()) {
      return s.error();
    }
    store->readers_.push_back(std::move(*reader));
  }
  if (options.background_index) {
    store->indexer_->start();
  }
  return store;
}

SqliteStore::~SqliteStore() {
  indexer_->stop();
}

core::Status SqliteStore::prepare_writes() {
  auto insert = writer_.prepare(
      "INSERT INTO events (id, time_ms, received_ms, source, detail_type, body, bus) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  auto stats = writer_.prepare(
      "UPDATE event_stats SET count = count + ?1, bytes = bytes + ?2 WHERE singleton = 1");
  auto id_at_seq = writer_.prepare("SELECT id FROM events WHERE seq = ?1");
  // The id among the indexed events with its hash, or among the events past the watermark.
  auto find_id = writer_.prepare(
      "SELECT 1 FROM idx.by_id AS k CROSS JOIN events AS e ON e.seq = k.seq "
      "WHERE k.id_hash = ?1 AND e.id = ?2 "
      "UNION ALL SELECT 1 FROM events "
      "WHERE seq > (SELECT indexed_seq FROM idx.index_state) AND id = ?2 LIMIT 1");
  for (auto* r : {&insert, &stats, &id_at_seq, &find_id}) {
    if (!*r) {
      return r->error();
    }
  }
  insert_event_ = std::move(*insert);
  add_stats_ = std::move(*stats);
  id_at_seq_ = std::move(*id_at_seq);
  find_id_ = std::move(*find_id);
  return {};
}

core::Status SqliteStore::load_ids() {
  // One read transaction, so that the indexed part and the tail past the watermark meet
  // exactly. Index entries of removed events are left out.
  if (auto s = writer_.exec("BEGIN"); !s.ok()) {
    return s;
  }
  auto body = [&]() -> core::Status {
    auto indexed = writer_.prepare(
        "SELECT id_hash, seq FROM idx.by_id "
        "WHERE seq >= (SELECT COALESCE(MIN(seq), 0) FROM events)");
    if (!indexed) {
      return indexed.error();
    }
    for (;;) {
      auto row = indexed->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        break;
      }
      ids_.put(static_cast<uint64_t>(indexed->column_int(0)), indexed->column_int(1));
    }
    auto tail = writer_.prepare(
        "SELECT seq, id FROM events WHERE seq > (SELECT indexed_seq FROM idx.index_state)");
    if (!tail) {
      return tail.error();
    }
    for (;;) {
      auto row = tail->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        return {};
      }
      ids_.put(id_hash(tail->column_text(1)), tail->column_int(0));
    }
  };
  core::Status s = body();
  (void)writer_.exec(s.ok() ? "COMMIT" : "ROLLBACK");
  return s;
}

core::Result<int64_t> SqliteStore::index_now() {
  int64_t total = 0;
  for (;;) {
    auto indexed = indexer_->index_chunk(EventIndexer::kMaxChunk);
    if (!indexed) {
      return indexed.error();
    }
    total += *indexed;
    if (*indexed < EventIndexer::kMaxChunk) {
      return total;
    }
  }
}

SqliteStore::ReadLease SqliteStore::lease_reader() {
  std::unique_lock lock(read_mu_);
  read_cv_.wait(lock, [&] { return !readers_.empty(); });
  Connection c = std::move(readers_.back());
  readers_.pop_back();
  return {*this, std::move(c)};
}

void SqliteStore::return_reader(Connection c) {
  {
    std::lock_guard lock(read_mu_);
    readers_.push_back(std::move(c));
  }
  read_cv_.notify_one();
}

// Runs `body` inside BEGIN IMMEDIATE ... COMMIT on the writer, rolling back on failure.
// REQUIRES: write_mu_ held.
core::Status SqliteStore::write_transaction(const std::function<core::Status()>& body) {
  if (auto s = writer_.exec("BEGIN IMMEDIATE"); !s.ok()) {
    return s;
  }
  core::Status s = body();
  if (s.ok()) {
    s = writer_.exec("COMMIT");
  }
  if (!s.ok()) {
    (void)writer_.exec("ROLLBACK");
  }
  return s;
}

core::Result<bool> SqliteStore::is_stored(const std::string& id, uint64_t hash) {
  const int64_t hinted = ids_.find(hash);
  if (hinted == 0) {
    return false;
  }

  // Most hits are the same id sent again: compare with the row the table names.
  id_at_seq_.bind(1, hinted);
  auto row = id_at_seq_.step();
  const bool same = row && *row && id_at_seq_.column_text(0) == id;
  id_at_seq_.reset();
  if (!row) {
    return row.error();
  }
  if (same) {
    return true;
  }

  // The table names another event: one that retention removed, or another id with the same
  // hash. The index and the rows past its watermark settle it.
  find_id_.bind(1, static_cast<int64_t>(hash));
  find_id_.bind(2, id, true);
  auto found = find_id_.step();
  find_id_.reset();
  if (!found) {
    return found.error();
  }
  return *found;
}

core::Status SqliteStore::append_events(std::span<const std::span<const EventRecord>> batches,
                                        int64_t received_ms) {
  std::lock_guard lock(write_mu_);
  int64_t last_seq = 0;
  core::Status status = write_transaction([&]() -> core::Status {
    int64_t added = 0;
    int64_t added_bytes = 0;
    for (const auto batch : batches) {
      for (const EventRecord& r : batch) {
        // A repeated id is skipped and not counted: the first write wins.
        const uint64_t hash = id_hash(r.id);
        auto stored = is_stored(r.id, hash);
        if (!stored) {
          return stored.error();
        }
        if (*stored) {
          continue;
        }

        // The texts live in the caller's records until the commit, so SQLite need not copy them.
        insert_event_.bind(1, r.id, true);
        insert_event_.bind(2, r.time_ms);
        insert_event_.bind(3, received_ms);
        insert_event_.bind(4, r.source, true);
        insert_event_.bind(5, r.detail_type, true);
        insert_event_.bind(6, r.json, true);
        insert_event_.bind(7, r.bus, true);
        core::Status s = insert_event_.run();
        insert_event_.reset();
        if (!s.ok()) {
          return s;
        }
        // Recorded before the commit, so that a repeat later in this group is caught. After a
        // rollback the entry names a row that is not there, which is_stored checks.
        last_seq = writer_.last_insert_rowid();
        ids_.put(hash, last_seq);
        ++added;
        added_bytes += static_cast<int64_t>(r.json.size());
      }
    }
    add_stats_.bind(1, added);
    add_stats_.bind(2, added_bytes);
    core::Status s = add_stats_.run();
    add_stats_.reset();
    return s;
  });
  if (status.ok() && last_seq > 0) {
    indexer_->notify_committed(last_seq);
  }
  return status;
}

core::Result<std::optional<StoredEvent>> SqliteStore::get_event(const std::string& id) {
  // The index finds indexed events by the hash of their id; past the watermark, the few rows
  // not indexed yet are compared one by one. One statement, so one snapshot of each file.
  ReadLease db = lease_reader();
  auto stmt = db->prepare(std::string("SELECT ") + kEventColumnsOfE +
                          " FROM idx.by_id AS k CROSS JOIN events AS e ON e.seq = k.seq"
                          " WHERE k.id_hash = ?1 AND e.id = ?2 UNION ALL SELECT " +
                          kEventColumns +
                          " FROM events WHERE seq > (SELECT indexed_seq FROM idx.index_state)"
                          " AND id = ?2 LIMIT 1");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, id_hash_sql(id));
  stmt->bind(2, id);
  auto row = stmt->step();
  if (!row) {
    return row.error();
  }
  if (!*row) {
    return std::optional<StoredEvent>();
  }
  return std::optional<StoredEvent>(read_event(*stmt));
}

namespace {

// The WHERE conditions of a listing on the columns named with `prefix`, the ORDER BY and the
// LIMIT. The parameters: ?1 since, ?2 until, ?3 source, ?4 detail-type, ?5 ?6 the cursor, ?7 the
// limit, ?8 bus.
std::string listing_conditions(const EventQuery& q, const std::string& key,
                               const std::string& row) {
  std::string sql;
  if (q.since_ms) sql += " AND " + key + "time_ms >= ?1";
  if (q.until_ms) sql += " AND " + key + "time_ms < ?2";
  if (q.source) sql += " AND " + key + "source = ?3";
  if (q.detail_type) sql += " AND " + (q.source ? row : key) + "detail_type = ?4";
  if (q.bus) sql += " AND " + row + "bus = ?8";
  if (q.after) {
    sql +=
        " AND (" + key + "time_ms, " + key + "seq)" + (q.descending ? " < " : " > ") + "(?5, ?6)";
  }
  const std::string dir = q.descending ? " DESC" : " ASC";
  return sql + " ORDER BY " + key + "time_ms" + dir + ", " + key + "seq" + dir + " LIMIT ?7";
}

}  // namespace

core::Result<EventPage> SqliteStore::list_events(const EventQuery& q) {
  if (q.limit == 0) {
    return EventPage{};
  }

  // Two parts, merged: the events up to the index's watermark, found through the index that
  // matches the filters (source first, then detail-type, else time), which gives them in order
  // without sorting; and the few events past the watermark, read from the log and sorted. One
  // statement, so both parts see one snapshot of each file and meet at the same watermark.
  // Index entries whose event retention has removed find no row in the join and drop out.
  const char* index = q.source ? "by_source" : q.detail_type ? "by_detail_type" : "by_time";
  const std::string indexed = std::string("SELECT ") + kEventColumnsOfE + " FROM idx." + index +
                              " AS k CROSS JOIN events AS e ON e.seq = k.seq WHERE 1 = 1" +
                              listing_conditions(q, "k.", "e.");
  const std::string tail = std::string("SELECT ") + kEventColumns +
                           " FROM events WHERE seq > (SELECT indexed_seq FROM idx.index_state)" +
                           listing_conditions(q, "", "");
  const std::string dir = q.descending ? " DESC" : " ASC";
  const std::string sql = "SELECT * FROM (" + indexed + ") UNION ALL SELECT * FROM (" + tail +
                          ") ORDER BY time_ms" + dir + ", seq" + dir + " LIMIT ?7";

  ReadLease db = lease_reader();
  auto stmt = db->prepare(sql);
  if (!stmt) {
    return stmt.error();
  }
  if (q.since_ms) stmt->bind(1, *q.since_ms);
  if (q.until_ms) stmt->bind(2, *q.until_ms);
  if (q.source) stmt->bind(3, *q.source);
  if (q.detail_type) stmt->bind(4, *q.detail_type);
  if (q.bus) stmt->bind(8, *q.bus);
  if (q.after) {
    stmt->bind(5, q.after->time_ms);
    stmt->bind(6, q.after->seq);
  }
  // One row more than asked says whether another page follows.
  stmt->bind(7, static_cast<int64_t>(q.limit) + 1);

  EventPage page;
  for (;;) {
    auto row = stmt->step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      break;
    }
    if (page.events.size() == q.limit) {
      const StoredEvent& last = page.events.back();
      page.next = EventCursor{last.record.time_ms, last.seq};
      break;
    }
    page.events.push_back(read_event(*stmt));
  }
  return page;
}

core::Result<EventStats> SqliteStore::event_stats() {
  ReadLease db = lease_reader();
  auto stmt = db->prepare("SELECT count, bytes FROM event_stats WHERE singleton = 1");
  if (!stmt) {
    return stmt.error();
  }
  auto row = stmt->step();
  if (!row) {
    return row.error();
  }
  return EventStats{stmt->column_int(0), stmt->column_int(1)};
}

core::Result<RetentionResult> SqliteStore::apply_retention(const RetentionPolicy& policy,
                                                           int64_t now_ms) {
  constexpr int kChunk = 1000;
  RetentionResult result;
  if (!policy.max_age_ms && !policy.max_bytes) {
    return result;
  }
  auto stats = event_stats();
  if (!stats) {
    return stats.error();
  }
  int64_t bytes = stats->bytes;
  int chunks = 0;

  // Oldest first, one chunk per transaction. Events are stored in received order, so the first
  // event young enough ends the age pass.
  for (;;) {
    std::lock_guard lock(write_mu_);
    int64_t last_seq = -1;
    int64_t removed = 0;
    int64_t removed_bytes = 0;
    auto status = write_transaction([&]() -> core::Status {
      auto scan = writer_.prepare(
          "SELECT seq, received_ms, length(CAST(body AS BLOB)) FROM events ORDER BY seq LIMIT ?1");
      if (!scan) {
        return scan.error();
      }
      scan->bind(1, kChunk);
      for (;;) {
        auto row = scan->step();
        if (!row) {
          return row.error();
        }
        if (!*row) {
          break;
        }
        if (policy.keep_after_seq && scan->column_int(0) > *policy.keep_after_seq) {
          break;
        }
        const bool too_old = policy.max_age_ms && scan->column_int(1) < now_ms - *policy.max_age_ms;
        const bool too_big = policy.max_bytes && bytes - removed_bytes > *policy.max_bytes;
        if (!too_old && !too_big) {
          break;
        }
        last_seq = scan->column_int(0);
        ++removed;
        removed_bytes += scan->column_int(2);
      }
      if (last_seq < 0) {
        return {};
      }
      auto del = writer_.prepare("DELETE FROM events WHERE seq <= ?1");
      if (!del) {
        return del.error();
      }
      del->bind(1, last_seq);
      if (auto s = del->run(); !s.ok()) {
        return s;
      }
      add_stats_.bind(1, -removed);
      add_stats_.bind(2, -removed_bytes);
      core::Status s = add_stats_.run();
      add_stats_.reset();
      return s;
    });
    if (!status.ok()) {
      return status.error();
    }
    if (last_seq < 0) {
      break;
    }
    result.removed += removed;
    result.removed_bytes += removed_bytes;
    bytes -= removed_bytes;
    if (removed < kChunk) {
      break;
    }
    if (++chunks == policy.max_chunks) {
      result.more = true;
      break;
    }
  }
  return result;
}

core::Status SqliteStore::check_writable() {
  std::lock_guard lock(write_mu_);
  return write_transaction([&]() -> core::Status {
    return writer_.exec("UPDATE event_stats SET count = count WHERE singleton = 1");
  });
}

core::Status SqliteStore::write_token(const char* sql, const TokenRecord& t) {
  std::lock_guard lock(write_mu_);
  auto stmt = writer_.prepare(sql);
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, t.name);
  stmt->bind(2, t.role);
  stmt->bind(3, t.hash);
  stmt->bind(4, t.created_ms);
  return stmt->run();
}

core::Status SqliteStore::put_token(const TokenRecord& t) {
  return write_token("INSERT INTO tokens (name, role, hash, created_ms) VALUES (?1, ?2, ?3, ?4)",
                     t);
}

core::Status SqliteStore::upsert_token(const TokenRecord& t) {
  return write_token(
      "INSERT INTO tokens (name, role, hash, created_ms) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (name) DO UPDATE SET role = excluded.role, hash = excluded.hash",
      t);
}

core::Result<std::vector<TokenRecord>> SqliteStore::list_tokens() {
  ReadLease db = lease_reader();
  auto stmt = db->prepare("SELECT name, role, hash, created_ms FROM tokens ORDER BY name");
  if (!stmt) {
    return stmt.error();
  }
  std::vector<TokenRecord> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return out;
    }
    out.push_back(
        {stmt->column_text(0), stmt->column_text(1), stmt->column_text(2), stmt->column_int(3)});
  }
}

core::Status SqliteStore::delete_token(const std::string& name) {
  std::lock_guard lock(write_mu_);
  auto stmt = writer_.prepare("DELETE FROM tokens WHERE name = ?1");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, name);
  if (auto s = stmt->run(); !s.ok()) {
    return s;
  }
  if (writer_.changes() == 0) {
    return core::Error(core::ErrorCode::kNotFound, "no token named \"" + name + "\"");
  }
  return {};
}

}  // namespace homeostat::store::sqlite
