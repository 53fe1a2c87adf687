// Error values for everything that comes from outside the process: a code, a message, and the
// context each layer adds on the way up ("entry 3", "store", ...). Exceptions never cross a
// subsystem boundary; fallible functions return Result<T> or Status instead.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace homeostat::core {

enum class ErrorCode {
  kInvalidArgument,   // the caller sent something malformed
  kNotFound,          // the thing asked for does not exist
  kAlreadyExists,     // a create met an existing thing
  kUnauthenticated,   // no credentials, or credentials we do not know
  kPermissionDenied,  // known credentials without the needed role
  kTooLarge,          // a size limit was passed
  kUnavailable,       // shutting down or overloaded; a retry may help
  kIo,                // the file system or the database failed
  kInternal,          // a bug of ours
};

// Returns the stable lowercase name of a code, e.g. "invalid_argument".
const char* error_code_name(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with where the error happened: "store: disk full".
  Error& with_context(std::string_view context) {
    message_ = std::string(context) + ": " + message_;
    return *this;
  }

 private:
  ErrorCode code_;
  std::string message_;
};

// Either a value or an Error. Reading the wrong side is a bug, checked by assert.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(state_);
  }
  Error& error() {
    assert(!ok());
    return std::get<1>(state_);
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> state_;
};

// The outcome of an operation that returns nothing: success, or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  static Status ok_status() { return {}; }
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    assert(failed_);
    return error_;
  }

 private:
  Error error_{ErrorCode::kInternal, ""};
  bool failed_ = false;
};

}  // namespace homeostat::core
