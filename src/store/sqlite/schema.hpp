// The on-disk schema of the SQLite store and its migrations. docs/design/storage.md describes
// every table; a change to the schema is a new migration appended here, never an edit of an
// old one, so that a database made by any earlier release opens and upgrades.
#pragma once

#include "core/result.hpp"
#include "store/sqlite/connection.hpp"

namespace homeostat::store::sqlite {

// The schema version this build writes.
int current_schema_version();

// Brings the database to current_schema_version(), one migration per transaction. Refuses a
// database written by a newer release, which may hold what this one cannot read.
core::Status migrate(Connection& db, int64_t now_ms);

}  // namespace homeostat::store::sqlite
