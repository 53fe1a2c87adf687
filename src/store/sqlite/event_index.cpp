#include "store/sqlite/event_index.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/log.hpp"
#include "store/sqlite/id_hash.hpp"

namespace homeostat::store::sqlite {
namespace {

const core::Logger kLog("store");

// The index tables, each WITHOUT ROWID so that the key is the whole entry: one B-tree per index
// and no second copy of the key. Every key ends with the event's seq, which makes it unique and
// gives the listing order (time_ms, seq) straight from the tree.
constexpr const char* kIndexTables = R"sql(
CREATE TABLE by_id (
  id_hash INTEGER NOT NULL,
  seq     INTEGER NOT NULL,
  PRIMARY KEY (id_hash, seq)
) WITHOUT ROWID;
CREATE TABLE by_time (
  time_ms INTEGER NOT NULL,
  seq     INTEGER NOT NULL,
  PRIMARY KEY (time_ms, seq)
) WITHOUT ROWID;
CREATE TABLE by_source (
  source  TEXT    NOT NULL,
  time_ms INTEGER NOT NULL,
  seq     INTEGER NOT NULL,
  PRIMARY KEY (source, time_ms, seq)
) WITHOUT ROWID;
CREATE TABLE by_detail_type (
  detail_type TEXT    NOT NULL,
  time_ms     INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  PRIMARY KEY (detail_type, time_ms, seq)
) WITHOUT ROWID;
)sql";

constexpr const char* kDropIndexTables =
    "DROP TABLE IF EXISTS by_id; DROP TABLE IF EXISTS by_time; DROP TABLE IF EXISTS by_source; "
    "DROP TABLE IF EXISTS by_detail_type;";

// One row of the log, as far as the indexes need it.
struct Row {
  int64_t seq;
  int64_t id_hash;
  int64_t time_ms;
  std::string source;
  std::string detail_type;
};

// A sort key of one index entry, and the row it comes from.
struct Key {
  int64_t a;
  int64_t b;
  int64_t c;
  uint32_t row;

  bool operator<(const Key& o) const { return std::tie(a, b, c) < std::tie(o.a, o.b, o.c); }
};

// Returns, for each row, the rank of its text among the chunk's distinct texts in byte order.
// A chunk holds few distinct sources and detail-types, so sorting by rank compares integers
// where sorting by text would compare strings.
std::vector<int64_t> text_ranks(const std::vector<Row>& rows, std::string Row::*field) {
  std::unordered_map<std::string_view, int64_t> rank;
  for (const Row& r : rows) {
    rank.try_emplace(r.*field, 0);
  }
  std::vector<std::string_view> distinct;
  distinct.reserve(rank.size());
  for (const auto& entry : rank) {
    distinct.push_back(entry.first);
  }
  std::sort(distinct.begin(), distinct.end());
  for (size_t i = 0; i < distinct.size(); ++i) {
    rank[distinct[i]] = static_cast<int64_t>(i);
  }
  std::vector<int64_t> out;
  out.reserve(rows.size());
  for (const Row& r : rows) {
    out.push_back(rank[r.*field]);
  }
  return out;
}

// Sorts `keys`, then binds and runs `stmt` once per key, in that order.
template <typename Bind>
core::Status insert_sorted(Statement& stmt, std::vector<Key>& keys, Bind bind) {
  std::sort(keys.begin(), keys.end());
  for (const Key& k : keys) {
    bind(stmt, k.row);
    core::Status s = stmt.run();
    stmt.reset();
    if (!s.ok()) {
      return s;
    }
  }
  return {};
}

core::Result<int64_t> single_int(Connection& db, const std::string& sql) {
  auto stmt = db.prepare(sql);
  if (!stmt) {
    return stmt.error();
  }
  auto row = stmt->step();
  if (!row) {
    return row.error();
  }
  return *row ? stmt->column_int(0) : 0;
}

}  // namespace

core::Result<std::unique_ptr<EventIndexer>> EventIndexer::open(const EventIndexOptions& options,
                                                               const std::string& log_token,
                                                               int64_t log_max_seq) {
  auto db = Connection::open(options.index_path, false);
  if (!db) {
    return db.error();
  }
  // The index is derived data: a power loss that takes its last commits takes its watermark
  // with them (same transaction), and the rows are indexed again. So it need not sync at every
  // commit. Large chunks make large commits; checkpointing per 10,000 pages copies a page once
  // for several of them, and the WAL is cut back to 64 MiB after a checkpoint that empties it.
  auto status =
      db->exec("PRAGMA busy_timeout = 10000; PRAGMA cache_size = -" +
               std::to_string(options.cache_mib * 1024) +
               "; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
               "PRAGMA wal_autocheckpoint = 10000; PRAGMA journal_size_limit = 67108864;");
  if (status.ok()) {
    status = db->exec("ATTACH DATABASE '" + sqlite_uri(options.log_path, true) + "' AS log");
  }
  if (!status.ok()) {
    return core::Error(status.error()).with_context("index " + options.index_path);
  }

  std::unique_ptr<EventIndexer> indexer(new EventIndexer(std::move(*db), options));
  if (auto s = indexer->reset_if_foreign(log_token, log_max_seq); !s.ok()) {
    return core::Error(s.error()).with_context("index " + options.index_path);
  }
  if (auto s = indexer->prepare_statements(); !s.ok()) {
    return core::Error(s.error()).with_context("index " + options.index_path);
  }
  indexer->committed_seq_ = log_max_seq;
  return indexer;
}

EventIndexer::~EventIndexer() {
  stop();
}

core::Status EventIndexer::reset_if_foreign(const std::string& log_token, int64_t log_max_seq) {
  auto s = db_.exec(
      "CREATE TABLE IF NOT EXISTS index_state (singleton INTEGER PRIMARY KEY CHECK (singleton = "
      "1), format INTEGER NOT NULL, log_token TEXT NOT NULL, indexed_seq INTEGER NOT NULL, "
      "purged_seq INTEGER NOT NULL)");
  if (!s.ok()) {
    return s;
  }
  auto state = db_.prepare("SELECT format, log_token, indexed_seq, purged_seq FROM index_state");
  if (!state) {
    return state.error();
  }
  auto row = state->step();
  if (!row) {
    return row.error();
  }

  // An index made for this log, in this format, and not past what the log has ever stored
  // (a log that lost its last commits to a power loss, or was restored from a copy, may reuse
  // seqs the index already holds): keep it.
  if (*row && state->column_int(0) == kFormat && state->column_text(1) == log_token &&
      state->column_int(2) <= log_max_seq) {
    indexed_seq_ = state->column_int(2);
    purged_seq_ = state->column_int(3);
    return {};
  }
  if (*row) {
    kLog.warn("rebuilding the event index",
              {{"format", state->column_int(0)}, {"indexed_seq", state->column_int(2)}});
  }
  state->reset();

  // Otherwise start from empty; the thread indexes the whole log again.
  s = db_.exec(std::string("BEGIN IMMEDIATE; DELETE FROM index_state; ") + kDropIndexTables +
               kIndexTables + "INSERT INTO index_state VALUES (1, " + std::to_string(kFormat) +
               ", '" + log_token + "', 0, 0); COMMIT;");
  if (!s.ok()) {
    (void)db_.exec("ROLLBACK");
    return s;
  }
  indexed_seq_ = 0;
  purged_seq_ = 0;
  return {};
}

core::Status EventIndexer::prepare_statements() {
  auto read = db_.prepare(
      "SELECT seq, id, time_ms, source, detail_type FROM log.events WHERE seq > ?1 ORDER BY seq "
      "LIMIT ?2");
  auto by_id = db_.prepare("INSERT INTO by_id (id_hash, seq) VALUES (?1, ?2)");
  auto by_time = db_.prepare("INSERT INTO by_time (time_ms, seq) VALUES (?1, ?2)");
  auto by_source = db_.prepare("INSERT INTO by_source (source, time_ms, seq) VALUES (?1, ?2, ?3)");
  auto by_detail_type =
      db_.prepare("INSERT INTO by_detail_type (detail_type, time_ms, seq) VALUES (?1, ?2, ?3)");
  auto set_indexed = db_.prepare("UPDATE index_state SET indexed_seq = ?1");
  for (auto* r : {&read, &by_id, &by_time, &by_source, &by_detail_type, &set_indexed}) {
    if (!*r) {
      return r->error();
    }
  }
  read_rows_ = std::move(*read);
  put_by_id_ = std::move(*by_id);
  put_by_time_ = std::move(*by_time);
  put_by_source_ = std::move(*by_source);
  put_by_detail_type_ = std::move(*by_detail_type);
  set_indexed_ = std::move(*set_indexed);
  return {};
}

void EventIndexer::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) {
    return;
  }
  thread_ = std::thread([this] { run(); });
}

void EventIndexer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void EventIndexer::notify_committed(int64_t seq) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    // The thread waits either for the first pending row or for a chunk's worth.
    if (seq > committed_seq_) {
      wake = committed_seq_ <= indexed_seq_ || seq - indexed_seq_ >= kMinChunk;
      committed_seq_ = seq;
    }
  }
  if (wake) {
    cv_.notify_one();
  }
}

core::Result<int64_t> EventIndexer::index_chunk(int64_t max_rows) {
  auto indexed = index_rows(max_rows);
  if (!indexed) {
    return indexed.error();
  }
  if (auto s = purge_if_due(); !s.ok()) {
    return s.error();
  }
  return *indexed;
}

core::Result<int64_t> EventIndexer::index_rows(int64_t max_rows) {
  const int64_t from = indexed_seq_;
  int64_t to = from;
  std::vector<Row> rows;

  // A deferred transaction: it reads the log (a snapshot, no lock that could delay the log's
  // commits) and takes the write lock of the index file only, at its first insert.
  auto body = [&]() -> core::Status {
    read_rows_.bind(1, from);
    read_rows_.bind(2, max_rows);
    for (;;) {
      auto row = read_rows_.step();
      if (!row) {
        read_rows_.reset();
        return row.error();
      }
      if (!*row) {
        break;
      }
      rows.push_back({read_rows_.column_int(0), id_hash_sql(read_rows_.column_text(1)),
                      read_rows_.column_int(2), read_rows_.column_text(3),
                      read_rows_.column_text(4)});
    }
    read_rows_.reset();
    if (!rows.empty()) {
      to = rows.back().seq;
    }

    // A chunk that is not full holds every row of this snapshot; the seqs the log has used
    // past it belong to removed events (or none), and no later row can take them.
    if (static_cast<int64_t>(rows.size()) < max_rows) {
      auto used = single_int(db_, "SELECT seq FROM log.sqlite_sequence WHERE name = 'events'");
      if (!used) {
        return used.error();
      }
      to = std::max(to, *used);
    }
    if (to == from) {
      return {};
    }

    // Each index takes the chunk in its own key order, so that consecutive inserts land on the
    // same leaf page and each page is changed once per chunk rather than once per row.
    std::vector<Key> keys(rows.size());
    auto fill = [&](auto key_of) {
      for (uint32_t i = 0; i < rows.size(); ++i) {
        keys[i] = key_of(i);
      }
    };
    fill([&](uint32_t i) { return Key{rows[i].id_hash, rows[i].seq, 0, i}; });
    auto s = insert_sorted(put_by_id_, keys, [&](Statement& st, uint32_t i) {
      st.bind(1, rows[i].id_hash);
      st.bind(2, rows[i].seq);
    });
    if (!s.ok()) {
      return s;
    }

    fill([&](uint32_t i) { return Key{rows[i].time_ms, rows[i].seq, 0, i}; });
    s = insert_sorted(put_by_time_, keys, [&](Statement& st, uint32_t i) {
      st.bind(1, rows[i].time_ms);
      st.bind(2, rows[i].seq);
    });
    if (!s.ok()) {
      return s;
    }

    const std::vector<int64_t> source_rank = text_ranks(rows, &Row::source);
    fill([&](uint32_t i) { return Key{source_rank[i], rows[i].time_ms, rows[i].seq, i}; });
    s = insert_sorted(put_by_source_, keys, [&](Statement& st, uint32_t i) {
      st.bind(1, rows[i].source, true);
      st.bind(2, rows[i].time_ms);
      st.bind(3, rows[i].seq);
    });
    if (!s.ok()) {
      return s;
    }

    const std::vector<int64_t> type_rank = text_ranks(rows, &Row::detail_type);
    fill([&](uint32_t i) { return Key{type_rank[i], rows[i].time_ms, rows[i].seq, i}; });
    s = insert_sorted(put_by_detail_type_, keys, [&](Statement& st, uint32_t i) {
      st.bind(1, rows[i].detail_type, true);
      st.bind(2, rows[i].time_ms);
      st.bind(3, rows[i].seq);
    });
    if (!s.ok()) {
      return s;
    }

    // The watermark moves with the entries, so that a crash keeps both or neither.
    set_indexed_.bind(1, to);
    s = set_indexed_.run();
    set_indexed_.reset();
    return s;
  };

  if (auto s = db_.exec("BEGIN"); !s.ok()) {
    return s.error();
  }
  core::Status s = body();
  if (s.ok()) {
    s = db_.exec("COMMIT");
  }
  if (!s.ok()) {
    (void)db_.exec("ROLLBACK");
    return core::Error(s.error()).with_context("indexing events after seq " + std::to_string(from));
  }
  indexed_seq_ = to;
  return static_cast<int64_t>(rows.size());
}

core::Status EventIndexer::purge_if_due() {
  // Every event before the log's first one has been removed by retention.
  auto first = single_int(db_, "SELECT COALESCE(MIN(seq), 0) FROM log.events");
  if (!first) {
    return first.error();
  }
  const int64_t indexed = indexed_seq_;
  const int64_t removed_upto = *first == 0 ? indexed : std::min(*first - 1, indexed);
  const int64_t stale = removed_upto - purged_seq_;
  const int64_t covered = indexed - purged_seq_;

  // A purge scans every index whole (they are not ordered by seq), so it waits until a quarter
  // of the entries are stale: the cost per removed event then stays bounded however large the
  // index is. Until then readers skip the stale entries.
  if (stale <= 0 || stale * 4 < covered) {
    return {};
  }
  const std::string upto = std::to_string(removed_upto);
  auto s = db_.exec("BEGIN IMMEDIATE; DELETE FROM by_id WHERE seq <= " + upto +
                    "; DELETE FROM by_time WHERE seq <= " + upto +
                    "; DELETE FROM by_source WHERE seq <= " + upto +
                    "; DELETE FROM by_detail_type WHERE seq <= " + upto +
                    "; UPDATE index_state SET purged_seq = " + upto + "; COMMIT;");
  if (!s.ok()) {
    (void)db_.exec("ROLLBACK");
    return core::Error(s.error()).with_context("purging removed events from the index");
  }
  purged_seq_ = removed_upto;
  return {};
}

void EventIndexer::run() {
  // The indexer yields the CPU to the threads that take and commit events (Linux applies a
  // nice value per thread). While they keep the CPUs busy it falls behind, and it catches up
  // when the load eases: readers then scan a longer unindexed tail, but no answer waits for
  // indexing. Measured on two cores, 64 clients x 100 events: about twice the events/s of the
  // indexer at the same priority. If the call fails, the indexer runs at normal priority.
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kNice);
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // Wait for rows to index; wake once a second anyway, to purge what retention removed.
    cv_.wait_for(lock, std::chrono::seconds(1),
                 [&] { return stopping_ || committed_seq_ > indexed_seq_; });
    if (stopping_) {
      break;
    }
    // A few pending rows wait up to delay_ms for more to join them.
    if (committed_seq_ > indexed_seq_ && committed_seq_ - indexed_seq_ < kMinChunk) {
      cv_.wait_for(lock, std::chrono::milliseconds(delay_ms_),
                   [&] { return stopping_ || committed_seq_ - indexed_seq_ >= kMinChunk; });
      if (stopping_) {
        break;
      }
    }

    lock.unlock();
    auto indexed = index_chunk(kMaxChunk);
    lock.lock();
    if (!indexed) {
      kLog.error("indexing failed", {{"error", indexed.error().message()}});
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
    }
  }
}

}  // namespace homeostat::store::sqlite
