// The event log's lookup indexes (by id hash, time, source and detail-type), kept in a database
// file of their own and brought up to date after the events are committed, not during.
//
// Design: the log's commit writes the event rows only, appended by seq. The indexer owns the
// index file and one connection to it, with the log attached read-only, and one thread. It
// reads the rows past its watermark (`index_state.indexed_seq`) in chunks, sorts each chunk's
// keys, inserts them, and moves the watermark in the same transaction: a crash loses at most
// the chunk in hand, which is indexed again at the next start. Readers combine the indexes up
// to the watermark with a scan of the unindexed rows past it, so what they return does not
// depend on how far the indexer has got. Because the file is separate, the indexer's
// transactions never wait for the log's write lock, nor the log's commits for the indexer.
//
// Everything in the file can be rebuilt from the log; when the file is missing, was made for
// another log or by another index format, or is ahead of the log, it is emptied and rebuilt.
// Entries of events that retention has removed stay until a purge (below); readers skip them
// because the event row is gone.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.hpp"
#include "store/sqlite/connection.hpp"

namespace homeostat::store::sqlite {

struct EventIndexOptions {
  std::string index_path;  // the index file; created when missing
  std::string log_path;    // the log database, already migrated
  int64_t cache_mib = 64;
  // How long rows wait to be indexed when fewer than a chunk's worth are pending: a larger
  // chunk touches each index page once for more rows.
  int64_t delay_ms = 100;
};

class EventIndexer {
 public:
  // The index format. A file with another one is rebuilt.
  static constexpr int kFormat = 1;
  // The fewest and the most rows one indexing transaction takes.
  static constexpr int64_t kMinChunk = 5000;
  static constexpr int64_t kMaxChunk = 200000;
  // The nice value of the indexer's thread: it runs when the threads that ingest leave CPU.
  static constexpr int kNice = 10;

  // Opens or creates the index file and makes sure it belongs to the log named by `log_token`
  // and is not ahead of `log_max_seq` (the highest seq the log has ever used), emptying it
  // otherwise. Does not start the thread.
  static core::Result<std::unique_ptr<EventIndexer>> open(const EventIndexOptions& options,
                                                          const std::string& log_token,
                                                          int64_t log_max_seq);
  ~EventIndexer();
  EventIndexer(const EventIndexer&) = delete;
  EventIndexer& operator=(const EventIndexer&) = delete;

  // Starts the thread that indexes in the background. Idempotent.
  void start();
  // Stops the thread after the chunk in hand. Idempotent; the destructor calls it.
  // Limitation: a chunk is not interrupted, so a stop during a large catch-up waits for it
  // (measured at 10-15 us per event: up to about 3 s for a full chunk of 200,000).
  void stop();

  // Says that the log has committed rows up to `seq`. Thread-safe and cheap.
  void notify_committed(int64_t seq);

  // Indexes up to `max_rows` pending rows in one transaction, and purges the entries of removed
  // events when enough of them have gathered. Returns the number of rows indexed. Not to be
  // called while the thread runs (tests call it on a store opened without one).
  core::Result<int64_t> index_chunk(int64_t max_rows);

  // The watermark: every event with a seq up to it is in the indexes. Thread-safe.
  int64_t indexed_seq() const { return indexed_seq_.load(); }

 private:
  explicit EventIndexer(Connection db, const EventIndexOptions& options)
      : db_(std::move(db)), delay_ms_(options.delay_ms) {}

  core::Status reset_if_foreign(const std::string& log_token, int64_t log_max_seq);
  core::Status prepare_statements();
  core::Result<int64_t> index_rows(int64_t max_rows);
  core::Status purge_if_due();
  void run();

  Connection db_;  // used by the thread, or by index_chunk's caller when there is none
  Statement read_rows_;
  Statement put_by_id_;
  Statement put_by_time_;
  Statement put_by_source_;
  Statement put_by_detail_type_;
  Statement set_indexed_;
  const int64_t delay_ms_;

  std::atomic<int64_t> indexed_seq_{0};
  int64_t purged_seq_ = 0;  // entries up to here of removed events are gone; db_'s owner only

  std::mutex mu_;
  std::condition_variable cv_;
  int64_t committed_seq_ = 0;  // GUARDED_BY(mu_)
  bool stopping_ = false;      // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace homeostat::store::sqlite
