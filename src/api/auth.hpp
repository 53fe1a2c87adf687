// Authentication and roles for the HTTP API.
//
// A token is a random string shown once when it is made; the store keeps only its SHA-256
// hash. A request proves itself with "Authorization: Bearer <token>". Roles are ordered:
// viewer (read), operator (read and write events), admin (everything, tokens included).
//
// Thread-safe: the known tokens are held in memory behind a mutex and reloaded from the store
// whenever this process changes them.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/token_store.hpp"

namespace homeostat::api {

enum class Role { kViewer = 0, kOperator = 1, kAdmin = 2 };

const char* role_name(Role role);
std::optional<Role> parse_role(std::string_view text);

// Who made a request.
struct Principal {
  std::string name;  // the token's name; never the token itself
  Role role = Role::kViewer;
};

// A token made just now: the only time its text exists outside its holder's hands.
struct NewToken {
  std::string name;
  Role role;
  std::string token;
};

class Authenticator {
 public:
  Authenticator(store::TokenStore& store, const core::Clock& clock);

  // Loads the known tokens from the store.
  core::Status load();

  // Checks an Authorization header value. kUnauthenticated when it is absent, not a bearer
  // token, or not a known token. Every known hash is compared, in constant time each, so the
  // time taken does not tell how close a guess came.
  core::Result<Principal> authenticate(std::string_view authorization) const;

  // Makes a token with a fresh random value; kAlreadyExists when the name is taken.
  core::Result<NewToken> create(const std::string& name, Role role);

  // Makes sure the named admin token has exactly this value (HOMEOSTAT_ADMIN_TOKEN).
  core::Status ensure(const std::string& name, Role role, const std::string& token);

  core::Result<std::vector<store::TokenRecord>> list() const;
  core::Status revoke(const std::string& name);

  // True when a token by this name is known.
  bool has(const std::string& name) const;

 private:
  store::TokenStore& store_;
  const core::Clock& clock_;
  mutable std::mutex mu_;
  std::vector<store::TokenRecord> tokens_;  // GUARDED_BY(mu_)
};

// Returns true when `name` is acceptable for a token: 1 to 64 of [A-Za-z0-9._-].
bool is_valid_token_name(std::string_view name);

}  // namespace homeostat::api
