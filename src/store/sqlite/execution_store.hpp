// The SQLite ExecutionStore. Executions live in their own database file (executions.db beside
// the event log's) so that the engine's commits and the event log's commits take different
// write locks and never queue behind each other; the layout is in docs/design/executions.md.
//
// History is stored in chunks: one row per execution per commit, holding all the events that
// commit wrote for it (docs/design/executions.md gives the format).
//
// One writer connection, guarded by a mutex, serves commit() and the other writes; reads use
// their own connection under a second mutex, and WAL lets them run beside a commit.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "store/execution_store.hpp"
#include "store/sqlite/connection.hpp"

namespace homeostat::store::sqlite {

struct ExecutionStoreOptions {
  std::string path;              // the database file; its directory must exist
  bool synchronous_full = true;  // false: NORMAL (a power cut may lose the last commits)
};

class SqliteExecutionStore final : public ExecutionStore {
 public:
  // Opens or creates the database and brings its schema up to date.
  static core::Result<std::unique_ptr<SqliteExecutionStore>> open(
      const ExecutionStoreOptions& options);

  core::Status put_machine_version(const std::string& name, const std::string& hash,
                                   const std::string& definition, int64_t now_ms) override;
  core::Result<std::optional<std::string>> get_machine_version(const std::string& hash) override;
  core::Status commit(std::span<const ExecutionWrite> writes) override;
  core::Result<std::vector<ExecutionRecord>> open_executions() override;
  core::Result<std::vector<TimerRecord>> timers() override;
  core::Result<std::optional<ExecutionRecord>> get_execution(const std::string& id) override;
  core::Result<std::optional<ExecutionRecord>> find_execution_by_name(
      const std::string& state_machine, const std::string& name) override;
  core::Result<std::vector<ExecutionRecord>> list_executions(const ExecutionQuery& query) override;
  core::Result<std::vector<HistoryRecord>> history(const std::string& execution_id,
                                                   int64_t after_event_id, size_t limit) override;

 private:
  SqliteExecutionStore(Connection writer, Connection reader)
      : writer_(std::move(writer)), reader_(std::move(reader)) {}

  core::Status commit_locked(std::span<const ExecutionWrite> writes);
  core::Result<std::vector<ExecutionRecord>> query_executions(const std::string& where_sql,
                                                              const std::vector<std::string>& args,
                                                              bool with_snapshot, size_t limit);

  std::mutex write_mutex_;
  Connection writer_;
  std::mutex read_mutex_;
  Connection reader_;
};

}  // namespace homeostat::store::sqlite
