#include "store/sqlite/connection.hpp"

#include <utility>

namespace homeostat::store::sqlite {

core::Error sqlite_error(sqlite3* db, std::string_view doing) {
  const int code = db != nullptr ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : "no connection";
  const core::ErrorCode our =
      (code & 0xff) == SQLITE_CONSTRAINT ? core::ErrorCode::kAlreadyExists : core::ErrorCode::kIo;
  return {our, "sqlite: " + std::string(doing) + ": " + msg};
}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

void Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
}

void Statement::bind(int index, std::string_view value, bool stable) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                    stable ? SQLITE_STATIC : SQLITE_TRANSIENT);
}

void Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
}

core::Result<bool> Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return sqlite_error(db_, "step");
}

core::Status Statement::run() {
  for (;;) {
    auto row = step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return {};
    }
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::column_int(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

std::string Statement::column_text(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
  const int size = sqlite3_column_bytes(stmt_, index);
  return text == nullptr ? std::string() : std::string(text, static_cast<size_t>(size));
}

bool Statement::column_is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

core::Result<Connection> Connection::open(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    core::Error error = sqlite_error(db, "open " + path);
    sqlite3_close(db);
    return error;
  }
  sqlite3_extended_result_codes(db, 1);
  return Connection(db);
}

Connection::Connection(Connection&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Connection::~Connection() {
  sqlite3_close_v2(db_);
}

core::Result<Statement> Connection::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK) {
    return sqlite_error(db_, "prepare");
  }
  return Statement(db_, stmt);
}

core::Status Connection::exec(const std::string& sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string text = msg != nullptr ? msg : "unknown error";
    sqlite3_free(msg);
    return core::Error(core::ErrorCode::kIo, "sqlite: " + text);
  }
  return {};
}

int64_t Connection::changes() const {
  return sqlite3_changes64(db_);
}

int64_t Connection::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

std::string sqlite_uri(const std::string& path, bool read_only) {
  // Every byte that could end the path or start a query or escape is percent-encoded; so is
  // the quote, since the URI goes into SQL text.
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string uri = "file:";
  for (const char c : path) {
    const auto b = static_cast<unsigned char>(c);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '/' || c == '.' || c == '-' || c == '_' || c == '~';
    if (plain) {
      uri.push_back(c);
    } else {
      uri.push_back('%');
      uri.push_back(kHex[b >> 4]);
      uri.push_back(kHex[b & 15]);
    }
  }
  if (read_only) {
    uri += "?mode=ro";
  }
  return uri;
}

}  // namespace homeostat::store::sqlite
