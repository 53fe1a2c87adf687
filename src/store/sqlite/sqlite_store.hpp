// The embedded store: the log database file in WAL mode, and beside it the index file that
// holds the event log's lookup indexes.
//
// Design: one write connection, guarded by write_mu_, serves every write to the log; the bus's
// group commit means it is used by one thread at a time in practice. A commit of events
// appends their rows and nothing else: duplicates are caught with an in-memory table of id
// hashes (checked against the rows on a hit), and the indexes by id, time, source and
// detail-type are brought up to date afterwards by the EventIndexer's thread, in the index
// file. A small pool of read-only connections, each with the index file attached, serves
// reads, which in WAL mode run alongside the writers without waiting for them; a read of
// events combines the indexes with the rows the indexer has not reached yet, so it sees every
// committed event. With synchronous=FULL (the default) a committed transaction survives power
// loss; with NORMAL it survives a process crash but may lose the last commits on power loss.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/dispatch_store.hpp"
#include "store/event_store.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/event_index.hpp"
#include "store/sqlite/id_hash.hpp"
#include "store/token_store.hpp"

namespace homeostat::store::sqlite {

enum class Synchronous { kFull, kNormal };

struct SqliteOptions {
  std::string path;  // the database file; its directory must exist
  Synchronous synchronous = Synchronous::kFull;
  int read_connections = 4;
  int64_t cache_mib = 64;
  // The index file; empty: beside `path`, its ".db" replaced by ".index.db".
  std::string index_path;
  // How long a few unindexed events wait for more before the indexer takes them.
  int64_t index_delay_ms = 100;
  // Whether a thread keeps the indexes up to date; without it only index_now() does (tests).
  bool background_index = true;
};

// Where the index file of the log at `log_path` lives by default.
std::string default_index_path(const std::string& log_path);

class SqliteStore final : public EventStore, public TokenStore, public DispatchStore {
 public:
  // Opens or creates the database and migrates it to the current schema.
  static core::Result<std::unique_ptr<SqliteStore>> open(const SqliteOptions& options,
                                                         int64_t now_ms);
  // Stops the indexer thread first; what it had not indexed is indexed at the next open.
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Indexes every event not yet indexed, on the caller's thread, and returns how many. Only for
  // a store opened without background_index (tests); not thread-safe against other calls of it.
  core::Result<int64_t> index_now();
  // Every event with a seq up to this one is in the indexes. Thread-safe.
  int64_t indexed_seq() const { return indexer_->indexed_seq(); }

  core::Status append_events(std::span<const std::span<const EventRecord>> batches,
                             int64_t received_ms) override;
  core::Result<std::optional<StoredEvent>> get_event(const std::string& id) override;
  core::Result<EventPage> list_events(const EventQuery& query) override;
  core::Result<EventStats> event_stats() override;
  core::Result<RetentionResult> apply_retention(const RetentionPolicy& policy,
                                                int64_t now_ms) override;
  core::Status check_writable() override;

  core::Status put_token(const TokenRecord& token) override;
  core::Status upsert_token(const TokenRecord& token) override;
  core::Result<std::vector<TokenRecord>> list_tokens() override;
  core::Status delete_token(const std::string& name) override;

  core::Result<int64_t> dispatch_position(const std::string& consumer) override;
  core::Result<std::vector<StoredEvent>> events_after(int64_t after, size_t limit) override;
  core::Status record_matches(const std::string& consumer, int64_t position,
                              std::span<const DeliveryRecord> deliveries,
                              const ReplayRecord* replay) override;
  core::Result<std::vector<DeliveryRecord>> due_deliveries(int64_t now_ms, size_t limit) override;
  core::Result<std::optional<int64_t>> next_due_ms() override;
  core::Status record_attempt(const AttemptRecord& attempt, DeliveryState state,
                              int64_t due_ms) override;
  core::Result<std::optional<DeliveryRecord>> get_delivery(int64_t id) override;
  core::Result<std::vector<DeliveryRecord>> list_deliveries(const DeliveryQuery& q) override;
  core::Result<std::vector<AttemptRecord>> list_attempts(int64_t delivery_id) override;
  core::Result<int64_t> redrive(const RedriveFilter& filter, int64_t now_ms) override;
  core::Status publish(const std::string& topic, int64_t delivery_id, const std::string& message,
                       int64_t now_ms) override;
  core::Result<std::vector<TopicMessage>> topic_messages(const std::string& topic,
                                                         int64_t after_seq, size_t limit) override;
  core::Status put_rule(const std::string& name, const std::string& definition,
                        int64_t now_ms) override;
  core::Status delete_rule(const std::string& name) override;
  core::Result<std::vector<std::pair<std::string, std::string>>> list_rules() override;
  core::Status create_replay(const ReplayRecord& replay) override;
  core::Result<std::optional<ReplayRecord>> get_replay(const std::string& name) override;
  core::Result<std::vector<ReplayRecord>> list_replays() override;
  core::Result<int64_t> last_seq() override;

 private:
  // A read connection borrowed from the pool for one scope.
  class ReadLease {
   public:
    ReadLease(SqliteStore& store, Connection c) : store_(store), conn_(std::move(c)) {}
    ReadLease(const ReadLease&) = delete;
    ReadLease& operator=(const ReadLease&) = delete;
    ~ReadLease() { store_.return_reader(std::move(conn_)); }

    Connection& operator*() { return conn_; }
    Connection* operator->() { return &conn_; }

   private:
    SqliteStore& store_;
    Connection conn_;
  };

  explicit SqliteStore(Connection writer) : writer_(std::move(writer)) {}

  ReadLease lease_reader();
  void return_reader(Connection c);
  core::Status write_transaction(const std::function<core::Status()>& body);
  // Prepares the statements of append_events.
  core::Status prepare_writes();
  // Fills ids_ with the hash of every stored event. REQUIRES: write_mu_ held.
  core::Status load_ids();
  // Whether an event with this id is stored (or inserted by the open transaction).
  // REQUIRES: write_mu_ held, inside a write transaction.
  core::Result<bool> is_stored(const std::string& id, uint64_t hash);
  // Runs an INSERT of a token with its four fields bound as ?1..?4.
  core::Status write_token(const char* sql, const TokenRecord& t);

  std::mutex write_mu_;
  Connection writer_;       // GUARDED_BY(write_mu_)
  Statement insert_event_;  // GUARDED_BY(write_mu_)
  Statement add_stats_;     // GUARDED_BY(write_mu_)
  Statement id_at_seq_;     // GUARDED_BY(write_mu_)
  Statement find_id_;       // GUARDED_BY(write_mu_)
  IdSeqTable ids_;          // GUARDED_BY(write_mu_); the hash of every stored event's id

  std::mutex read_mu_;
  std::condition_variable read_cv_;
  std::vector<Connection> readers_;  // GUARDED_BY(read_mu_); idle read connections

  // Last, so that it is destroyed (and its thread stopped) before the connections above.
  std::unique_ptr<EventIndexer> indexer_;
};

}  // namespace homeostat::store::sqlite
