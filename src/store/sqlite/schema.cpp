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
      {2, "buses, rules, deliveries with their attempts, topic messages, replays", R"sql(
ALTER TABLE events ADD COLUMN bus TEXT NOT NULL DEFAULT 'default';
CREATE TABLE dispatch_positions (
  consumer TEXT    PRIMARY KEY,
  seq      INTEGER NOT NULL
);
-- Rules apply from now on: the events already in the log are not matched when this runs.
INSERT INTO dispatch_positions (consumer, seq) SELECT 'live', COALESCE(MAX(seq), 0) FROM events;
CREATE TABLE rules (
  name       TEXT    PRIMARY KEY,
  definition TEXT    NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE TABLE deliveries (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  rule              TEXT    NOT NULL,
  target            TEXT    NOT NULL,
  bus               TEXT    NOT NULL,
  event_id          TEXT    NOT NULL,
  event_seq         INTEGER NOT NULL,
  event_received_ms INTEGER NOT NULL,
  input             TEXT    NOT NULL,
  replay            TEXT    NOT NULL,
  state             TEXT    NOT NULL,
  attempts          INTEGER NOT NULL,
  due_ms            INTEGER NOT NULL,
  created_ms        INTEGER NOT NULL,
  updated_ms        INTEGER NOT NULL,
  last_error        TEXT    NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, due_ms);
CREATE INDEX deliveries_by_event ON deliveries (event_id);
CREATE INDEX deliveries_by_rule ON deliveries (rule, id);
CREATE TABLE delivery_attempts (
  delivery_id INTEGER NOT NULL,
  attempt     INTEGER NOT NULL,
  at_ms       INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  outcome     TEXT    NOT NULL,
  detail      TEXT    NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
) WITHOUT ROWID;
CREATE TABLE topic_messages (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  topic        TEXT    NOT NULL,
  delivery_id  INTEGER NOT NULL UNIQUE,
  message      TEXT    NOT NULL,
  published_ms INTEGER NOT NULL
);
CREATE INDEX topic_messages_by_topic ON topic_messages (topic, seq);
CREATE TABLE replays (
  name        TEXT    PRIMARY KEY,
  definition  TEXT    NOT NULL,
  state       TEXT    NOT NULL,
  position    INTEGER NOT NULL,
  end_seq     INTEGER NOT NULL,
  matched     INTEGER NOT NULL,
  created_ms  INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL
);
)sql"},
      // The events table again, without its UNIQUE id and its three secondary indexes: a commit
      // now appends rows only, and the lookup indexes live in the index file
      // (event_index.hpp). SQLite cannot drop a UNIQUE constraint, so the rows are copied into
      // a new table; the AUTOINCREMENT counter is carried over so that no seq is ever reused.
      {3, "events without per-commit indexes, and the log identity the index file names", R"sql(
CREATE TABLE events_v3 (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  id           TEXT    NOT NULL,
  time_ms      INTEGER NOT NULL,
  received_ms  INTEGER NOT NULL,
  source       TEXT    NOT NULL,
  detail_type  TEXT    NOT NULL,
  body         TEXT    NOT NULL,
  bus          TEXT    NOT NULL DEFAULT 'default'
);
INSERT INTO events_v3 (seq, id, time_ms, received_ms, source, detail_type, body, bus)
  SELECT seq, id, time_ms, received_ms, source, detail_type, body, bus FROM events ORDER BY seq;
DELETE FROM sqlite_sequence WHERE name = 'events_v3';
INSERT INTO sqlite_sequence (name, seq)
  SELECT 'events_v3', seq FROM sqlite_sequence WHERE name = 'events';
DROP TABLE events;
ALTER TABLE events_v3 RENAME TO events;
CREATE TABLE store_identity (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  token     TEXT    NOT NULL
);
INSERT INTO store_identity (singleton, token) VALUES (1, lower(hex(randomblob(16))));
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
