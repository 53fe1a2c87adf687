#include "store/sqlite/execution_store.hpp"

#include <utility>

namespace homeostat::store::sqlite {
namespace {

// The executions database has its own, short migration list; PRAGMA user_version holds the
// version reached.
constexpr int kSchemaVersion = 1;

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE machine_versions (
  hash       TEXT    PRIMARY KEY,
  name       TEXT    NOT NULL,
  definition TEXT    NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE executions (
  id            TEXT    PRIMARY KEY,
  name          TEXT    NOT NULL,
  state_machine TEXT    NOT NULL,
  machine_hash  TEXT    NOT NULL,
  status        TEXT    NOT NULL,
  input         TEXT    NOT NULL,
  output        TEXT    NOT NULL,
  error         TEXT    NOT NULL,
  cause         TEXT    NOT NULL,
  start_ms      INTEGER NOT NULL,
  stop_ms       INTEGER NOT NULL,
  next_event_id INTEGER NOT NULL,
  snapshot      TEXT    NOT NULL,
  UNIQUE (state_machine, name)
) WITHOUT ROWID;
CREATE INDEX executions_running ON executions (status) WHERE status = 'RUNNING';
CREATE TABLE history_chunks (
  execution_id   TEXT    NOT NULL,
  first_event_id INTEGER NOT NULL,
  last_event_id  INTEGER NOT NULL,
  events         TEXT    NOT NULL,
  PRIMARY KEY (execution_id, first_event_id)
) WITHOUT ROWID;
CREATE TABLE timers (
  execution_id TEXT    NOT NULL,
  timer        TEXT    NOT NULL,
  due_ms       INTEGER NOT NULL,
  PRIMARY KEY (execution_id, timer)
) WITHOUT ROWID;
)sql";

constexpr const char* kColumns =
    "id, name, state_machine, machine_hash, status, input, output, error, cause, start_ms, "
    "stop_ms, next_event_id";

core::Status configure(Connection& conn, bool synchronous_full) {
  // A checkpoint every 10,000 pages instead of SQLite's 1,000 keeps checkpoint stalls away from
  // most commits, as for the event log.
  std::string sql =
      "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 10000; ";
  sql += synchronous_full ? "PRAGMA synchronous = FULL;" : "PRAGMA synchronous = NORMAL;";
  return conn.exec(sql);
}

core::Status migrate(Connection& conn) {
  auto stmt = conn.prepare("PRAGMA user_version");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  const int64_t version = *row ? stmt->column_int(0) : 0;
  if (version == kSchemaVersion) return {};
  if (version > kSchemaVersion) {
    return core::Error(core::ErrorCode::kInvalidArgument,
                       "the executions database has schema version " + std::to_string(version) +
                           ", newer than this build knows (" + std::to_string(kSchemaVersion) +
                           ")");
  }
  return conn.exec(std::string("BEGIN IMMEDIATE;") + kSchemaV1 +
                   "PRAGMA user_version = " + std::to_string(kSchemaVersion) + "; COMMIT;");
}

ExecutionRecord read_execution(const Statement& stmt, bool with_snapshot) {
  ExecutionRecord record;
  record.id = stmt.column_text(0);
  record.name = stmt.column_text(1);
  record.state_machine = stmt.column_text(2);
  record.machine_hash = stmt.column_text(3);
  record.status = parse_execution_status(stmt.column_text(4)).value_or(ExecutionStatus::kFailed);
  record.input = stmt.column_text(5);
  record.output = stmt.column_text(6);
  record.error = stmt.column_text(7);
  record.cause = stmt.column_text(8);
  record.start_ms = stmt.column_int(9);
  record.stop_ms = stmt.column_int(10);
  record.next_event_id = stmt.column_int(11);
  if (with_snapshot) record.snapshot = stmt.column_text(12);
  return record;
}

void bind_execution(Statement& stmt, const ExecutionRecord& r) {
  stmt.bind(1, r.id, true);
  stmt.bind(2, r.name, true);
  stmt.bind(3, r.state_machine, true);
  stmt.bind(4, r.machine_hash, true);
  stmt.bind(5, std::string_view(execution_status_name(r.status)), true);
  stmt.bind(6, r.input, true);
  stmt.bind(7, r.output, true);
  stmt.bind(8, r.error, true);
  stmt.bind(9, r.cause, true);
  stmt.bind(10, r.start_ms);
  stmt.bind(11, r.stop_ms);
  stmt.bind(12, r.next_event_id);
  stmt.bind(13, r.snapshot, true);
}

// A chunk holds one line per event: "<event id>\t<type>\t<time ms>\t<details>\n". Details are
// serialised JSON, which never holds a raw tab or newline.
std::string encode_chunk(const std::vector<HistoryRecord>& events) {
  std::string out;
  for (const HistoryRecord& event : events) {
    out += std::to_string(event.event_id);
    out += '\t';
    out += event.type;
    out += '\t';
    out += std::to_string(event.time_ms);
    out += '\t';
    out += event.details;
    out += '\n';
  }
  return out;
}

core::Status decode_chunk(const std::string& execution_id, std::string_view chunk,
                          int64_t after_event_id, size_t limit, std::vector<HistoryRecord>& out) {
  while (!chunk.empty() && out.size() < limit) {
    const size_t end = chunk.find('\n');
    std::string_view line = chunk.substr(0, end);
    chunk.remove_prefix(end == std::string_view::npos ? chunk.size() : end + 1);

    std::string_view fields[4];
    for (int i = 0; i < 3; ++i) {
      const size_t tab = line.find('\t');
      if (tab == std::string_view::npos) {
        return core::Error(core::ErrorCode::kIo,
                           "a history chunk of execution '" + execution_id + "' is damaged");
      }
      fields[i] = line.substr(0, tab);
      line.remove_prefix(tab + 1);
    }
    fields[3] = line;
    HistoryRecord event;
    event.execution_id = execution_id;
    event.event_id = std::stoll(std::string(fields[0]));
    if (event.event_id <= after_event_id) continue;
    event.type = std::string(fields[1]);
    event.time_ms = std::stoll(std::string(fields[2]));
    event.details = std::string(fields[3]);
    out.push_back(std::move(event));
  }
  return {};
}

}  // namespace

core::Result<std::unique_ptr<SqliteExecutionStore>> SqliteExecutionStore::open(
    const ExecutionStoreOptions& options) {
  auto writer = Connection::open(options.path, false);
  if (!writer) return writer.error().with_context("executions store");
  if (auto s = configure(*writer, options.synchronous_full); !s) return s.error();
  if (auto s = migrate(*writer); !s) {
    core::Error error = s.error();
    return error.with_context("executions store");
  }

  auto reader = Connection::open(options.path, true);
  if (!reader) return reader.error().with_context("executions store");
  if (auto s = reader->exec("PRAGMA busy_timeout = 10000;"); !s) return s.error();
  return std::unique_ptr<SqliteExecutionStore>(
      new SqliteExecutionStore(std::move(*writer), std::move(*reader)));
}

core::Status SqliteExecutionStore::put_machine_version(const std::string& name,
                                                       const std::string& hash,
                                                       const std::string& definition,
                                                       int64_t now_ms) {
  std::lock_guard lock(write_mutex_);
  auto stmt = writer_.prepare(
      "INSERT INTO machine_versions (hash, name, definition, created_ms) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (hash) DO NOTHING");
  if (!stmt) return stmt.error();
  stmt->bind(1, hash, true);
  stmt->bind(2, name, true);
  stmt->bind(3, definition, true);
  stmt->bind(4, now_ms);
  return stmt->run();
}

core::Result<std::optional<std::string>> SqliteExecutionStore::get_machine_version(
    const std::string& hash) {
  std::lock_guard lock(read_mutex_);
  auto stmt = reader_.prepare("SELECT definition FROM machine_versions WHERE hash = ?");
  if (!stmt) return stmt.error();
  stmt->bind(1, hash, true);
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->column_text(0));
}

core::Status SqliteExecutionStore::commit(std::span<const ExecutionWrite> writes) {
  std::lock_guard lock(write_mutex_);
  if (auto s = writer_.exec("BEGIN IMMEDIATE"); !s) return s;
  core::Status status = commit_locked(writes);
  if (!status) {
    (void)writer_.exec("ROLLBACK");
    return status;
  }
  if (auto s = writer_.exec("COMMIT"); !s) {
    (void)writer_.exec("ROLLBACK");
    return s;
  }
  return {};
}

core::Status SqliteExecutionStore::commit_locked(std::span<const ExecutionWrite> writes) {
  auto insert = writer_.prepare(std::string("INSERT INTO executions (") + kColumns +
                                ", snapshot) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
  auto update = writer_.prepare(std::string("REPLACE INTO executions (") + kColumns +
                                ", snapshot) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
  auto add_events = writer_.prepare(
      "INSERT INTO history_chunks (execution_id, first_event_id, last_event_id, events) "
      "VALUES (?,?,?,?)");
  auto set_timer =
      writer_.prepare("REPLACE INTO timers (execution_id, timer, due_ms) VALUES (?, ?, ?)");
  auto clear_timer = writer_.prepare("DELETE FROM timers WHERE execution_id = ? AND timer = ?");
  if (!insert || !update || !add_events || !set_timer || !clear_timer) {
    return sqlite_error(writer_.raw(), "prepare the execution commit");
  }

  for (const ExecutionWrite& write : writes) {
    // The execution record itself.
    Statement& upsert = write.create ? *insert : *update;
    bind_execution(upsert, write.execution);
    if (auto s = upsert.run(); !s) {
      if (write.create && sqlite3_extended_errcode(writer_.raw()) == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return core::Error(core::ErrorCode::kAlreadyExists,
                           "execution '" + write.execution.id + "' exists");
      }
      if (write.create && sqlite3_extended_errcode(writer_.raw()) == SQLITE_CONSTRAINT_UNIQUE) {
        return core::Error(core::ErrorCode::kAlreadyExists,
                           "an execution named '" + write.execution.name + "' of '" +
                               write.execution.state_machine + "' exists");
      }
      return s;
    }
    upsert.reset();

    // Its new history, then its timers.
    // The events of one execution in one commit go into one row, a chunk (see the file
    // comment): a row per event cost more in B-tree upkeep than the engine spent on the events.
    if (!write.events.empty()) {
      const std::string chunk = encode_chunk(write.events);
      add_events->bind(1, write.execution.id, true);
      add_events->bind(2, write.events.front().event_id);
      add_events->bind(3, write.events.back().event_id);
      add_events->bind(4, chunk, true);
      if (auto s = add_events->run(); !s) return s;
      add_events->reset();
    }
    for (const TimerRecord& timer : write.timers_set) {
      set_timer->bind(1, write.execution.id, true);
      set_timer->bind(2, timer.timer, true);
      set_timer->bind(3, timer.due_ms);
      if (auto s = set_timer->run(); !s) return s;
      set_timer->reset();
    }
    for (const std::string& timer : write.timers_cleared) {
      clear_timer->bind(1, write.execution.id, true);
      clear_timer->bind(2, timer, true);
      if (auto s = clear_timer->run(); !s) return s;
      clear_timer->reset();
    }
  }
  return {};
}

core::Result<std::vector<ExecutionRecord>> SqliteExecutionStore::query_executions(
    const std::string& where_sql, const std::vector<std::string>& args, bool with_snapshot,
    size_t limit) {
  std::lock_guard lock(read_mutex_);
  std::string sql = std::string("SELECT ") + kColumns + ", snapshot FROM executions " + where_sql +
                    " LIMIT " + std::to_string(limit);
  auto stmt = reader_.prepare(sql);
  if (!stmt) return stmt.error();
  for (size_t i = 0; i < args.size(); ++i)
    stmt->bind(static_cast<int>(i + 1), args[i]);

  std::vector<ExecutionRecord> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(read_execution(*stmt, with_snapshot));
  }
  return out;
}

core::Result<std::vector<ExecutionRecord>> SqliteExecutionStore::open_executions() {
  return query_executions("WHERE status = 'RUNNING' ORDER BY id", {}, true, SIZE_MAX >> 2);
}

core::Result<std::vector<TimerRecord>> SqliteExecutionStore::timers() {
  std::lock_guard lock(read_mutex_);
  auto stmt = reader_.prepare("SELECT execution_id, timer, due_ms FROM timers");
  if (!stmt) return stmt.error();
  std::vector<TimerRecord> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(TimerRecord{stmt->column_text(0), stmt->column_text(1), stmt->column_int(2)});
  }
  return out;
}

core::Result<std::optional<ExecutionRecord>> SqliteExecutionStore::get_execution(
    const std::string& id) {
  auto found = query_executions("WHERE id = ?", {id}, true, 1);
  if (!found) return found.error();
  if (found->empty()) return std::optional<ExecutionRecord>();
  return std::optional<ExecutionRecord>(std::move(found->front()));
}

core::Result<std::optional<ExecutionRecord>> SqliteExecutionStore::find_execution_by_name(
    const std::string& state_machine, const std::string& name) {
  auto found =
      query_executions("WHERE state_machine = ? AND name = ?", {state_machine, name}, false, 1);
  if (!found) return found.error();
  if (found->empty()) return std::optional<ExecutionRecord>();
  return std::optional<ExecutionRecord>(std::move(found->front()));
}

core::Result<std::vector<ExecutionRecord>> SqliteExecutionStore::list_executions(
    const ExecutionQuery& query) {
  std::string where = "WHERE 1";
  std::vector<std::string> args;
  if (query.state_machine) {
    where += " AND state_machine = ?";
    args.push_back(*query.state_machine);
  }
  if (query.status) {
    where += " AND status = ?";
    args.emplace_back(execution_status_name(*query.status));
  }
  if (query.before_id) {
    where += " AND id < ?";
    args.push_back(*query.before_id);
  }
  return query_executions(where + " ORDER BY id DESC", args, false, query.limit);
}

core::Result<std::vector<HistoryRecord>> SqliteExecutionStore::history(
    const std::string& execution_id, int64_t after_event_id, size_t limit) {
  std::lock_guard lock(read_mutex_);
  auto stmt = reader_.prepare(
      "SELECT events FROM history_chunks WHERE execution_id = ? AND last_event_id > ? "
      "ORDER BY first_event_id");
  if (!stmt) return stmt.error();
  stmt->bind(1, execution_id);
  stmt->bind(2, after_event_id);
  std::vector<HistoryRecord> out;
  while (out.size() < limit) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    if (auto s = decode_chunk(execution_id, stmt->column_text(0), after_event_id, limit, out); !s) {
      return s.error();
    }
  }
  return out;
}

}  // namespace homeostat::store::sqlite
