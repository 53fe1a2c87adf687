// A thin RAII layer over the SQLite C API: a connection, and prepared statements that bind and
// step. Not thread-safe; each thread that touches the database holds its own Connection, or
// holds a lock around a shared one.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace homeostat::store::sqlite {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds by 1-based index. Text is copied by SQLite (SQLITE_TRANSIENT) unless `stable` says the
  // caller keeps it alive until the next reset.
  void bind(int index, int64_t value);
  void bind(int index, std::string_view value, bool stable = false);
  void bind_null(int index);

  // Steps once: true with a row, false when done. An error comes back as a Result error.
  core::Result<bool> step();
  // Steps to completion; for statements that return no rows.
  core::Status run();
  // Clears bindings and rewinds, ready to be bound again.
  void reset();

  int64_t column_int(int index) const;
  std::string column_text(int index) const;
  bool column_is_null(int index) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Connection {
 public:
  // Opens (creating if needed) the database at `path`.
  static core::Result<Connection> open(const std::string& path, bool read_only);

  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  core::Result<Statement> prepare(std::string_view sql);
  // Runs one or more statements that return no rows.
  core::Status exec(const std::string& sql);
  // Number of rows the last statement changed.
  int64_t changes() const;
  // The rowid of the last row inserted on this connection.
  int64_t last_insert_rowid() const;

  sqlite3* raw() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_ = nullptr;
};

// The `file:` URI naming `path`, for ATTACH; with read_only, the database is attached read-only
// (a transaction on the connection then never takes its write lock).
std::string sqlite_uri(const std::string& path, bool read_only);

// Turns the connection's last error into an Error carrying what was being done.
core::Error sqlite_error(sqlite3* db, std::string_view doing);

}  // namespace homeostat::store::sqlite
