// The embedded store: one SQLite database file in WAL mode.
//
// Design: one write connection, guarded by write_mu_, serves every write; the bus's group
// commit means it is used by one thread at a time in practice. A small pool of read-only
// connections serves reads, which in WAL mode run alongside a writer without waiting for it.
// With synchronous=FULL (the default) a committed transaction survives power loss; with NORMAL
// it survives a process crash but may lose the last commits on power loss.
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
#include "store/token_store.hpp"

namespace homeostat::store::sqlite {

enum class Synchronous { kFull, kNormal };

struct SqliteOptions {
  std::string path;  // the database file; its directory must exist
  Synchronous synchronous = Synchronous::kFull;
  int read_connections = 4;
  int64_t cache_mib = 64;
};

class SqliteStore final : public EventStore, public TokenStore, public DispatchStore {
 public:
  // Opens or creates the database and migrates it to the current schema.
  static core::Result<std::unique_ptr<SqliteStore>> open(const SqliteOptions& options,
                                                         int64_t now_ms);

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
  // Runs an INSERT of a token with its four fields bound as ?1..?4.
  core::Status write_token(const char* sql, const TokenRecord& t);

  std::mutex write_mu_;
  Connection writer_;       // GUARDED_BY(write_mu_)
  Statement insert_event_;  // GUARDED_BY(write_mu_)
  Statement add_stats_;     // GUARDED_BY(write_mu_)

  std::mutex read_mu_;
  std::condition_variable read_cv_;
  std::vector<Connection> readers_;  // GUARDED_BY(read_mu_); idle read connections
};

}  // namespace homeostat::store::sqlite
