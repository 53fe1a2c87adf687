// The storage interface for API tokens. Only a token's SHA-256 hash is ever stored.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace homeostat::store {

struct TokenRecord {
  std::string name;  // unique, chosen by the admin who made it
  std::string role;  // "viewer", "operator" or "admin"
  std::string hash;  // hex SHA-256 of the token text
  int64_t created_ms = 0;
};

// Thread-safe.
class TokenStore {
 public:
  virtual ~TokenStore() = default;

  // Stores a new token; kAlreadyExists when the name is taken.
  virtual core::Status put_token(const TokenRecord& token) = 0;

  // Replaces the hash and role of the token with this name, or creates it.
  virtual core::Status upsert_token(const TokenRecord& token) = 0;

  virtual core::Result<std::vector<TokenRecord>> list_tokens() = 0;

  // kNotFound when there is no token by that name.
  virtual core::Status delete_token(const std::string& name) = 0;
};

}  // namespace homeostat::store
