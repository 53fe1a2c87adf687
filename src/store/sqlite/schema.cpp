#include "store/sqlite/schema.hpp"

#include <string>
#include <vector>

namespace homeostat::store::sqlite {
namespace {

struct Migration {
  int version;
  const char* description;
  const char* sql;
};

// Append only. Each entry moves the schema from version - 1 to version.
const std::vector<Migration>& migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "event log, event statistics and API tokens", R"sql(
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
)sql"},
  };
  return kMigrations;
}

core::Result<int64_t> user_version(Connection& db) {
  auto stmt = db.prepare("PRAGMA user_version");
  if (!stmt) {
    return stmt.error();
  }
  auto row = stmt->step();
  if (!row) {
    return row.error();
  }
  return stmt->column_int(0);
}

}  // namespace

int current_schema_version() {
  return migrations().back().version;
}

core::Status migrate(Connection& db, int64_t now_ms) {
  auto status = db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
      "description TEXT NOT NULL, applied_ms INTEGER NOT NULL)");
  if (!status.ok()) {
    return status;
  }
  auto version = user_version(db);
  if (!version) {
    return version.error();
  }
  if (*version > current_schema_version()) {
    return core::Error(core::ErrorCode::kInvalidArgument,
                       "the database has schema version " + std::to_string(*version) +
                           ", newer than this release's " +
                           std::to_string(current_schema_version()) + "; use a newer homeostat");
  }

  for (const Migration& m : migrations()) {
    if (m.version <= *version) {
      continue;
    }
    // The migration, its record and the version bump commit together or not at all.
    const std::string sql = std::string("BEGIN IMMEDIATE;\n") + m.sql +
                            "INSERT INTO schema_migrations (version, description, applied_ms) "
                            "VALUES (" +
                            std::to_string(m.version) + ", '" + m.description + "', " +
                            std::to_string(now_ms) +
                            ");\nPRAGMA user_version = " + std::to_string(m.version) + ";\nCOMMIT;";
    status = db.exec(sql);
    if (!status.ok()) {
      (void)db.exec("ROLLBACK");
      core::Error error = status.error();
      return error.with_context("migration " + std::to_string(m.version));
    }
  }
  return {};
}

}  // namespace homeostat::store::sqlite
