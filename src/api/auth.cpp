#include "api/auth.hpp"

#include <algorithm>
#include <cctype>

#include "core/secret.hpp"

namespace homeostat::api {
namespace {

// Token text: a recognisable prefix, so that leaked tokens are easy to find by scanners, then
// 32 random bytes.
constexpr std::string_view kTokenPrefix = "hst_";

core::Error unauthenticated(std::string message) {
  return {core::ErrorCode::kUnauthenticated, std::move(message)};
}

}  // namespace

const char* role_name(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

std::optional<Role> parse_role(std::string_view text) {
  for (const Role r : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
    if (text == role_name(r)) {
      return r;
    }
  }
  return std::nullopt;
}

bool is_valid_token_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 &&
         name.find_first_not_of(
             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
             std::string_view::npos;
}

Authenticator::Authenticator(store::TokenStore& store, const core::Clock& clock)
    : store_(store), clock_(clock) {}

core::Status Authenticator::load() {
  auto tokens = store_.list_tokens();
  if (!tokens) {
    return tokens.error();
  }
  std::lock_guard lock(mu_);
  tokens_ = std::move(*tokens);
  return {};
}

core::Result<Principal> Authenticator::authenticate(std::string_view authorization) const {
  if (authorization.empty()) {
    return unauthenticated("missing Authorization header; send \"Authorization: Bearer <token>\"");
  }
  // The scheme's name is case-insensitive (RFC 9110); the token is not.
  constexpr std::string_view kScheme = "bearer ";
  const bool bearer =
      authorization.size() > kScheme.size() &&
      std::equal(kScheme.begin(), kScheme.end(), authorization.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
  if (!bearer) {
    return unauthenticated("the Authorization header must use the Bearer scheme");
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') {
    token.remove_prefix(1);
  }
  const std::string hash = core::sha256_hex(token);

  // Compare against every token without stopping at a match.
  std::lock_guard lock(mu_);
  const store::TokenRecord* found = nullptr;
  for (const store::TokenRecord& t : tokens_) {
    if (core::constant_time_equal(hash, t.hash)) {
      found = &t;
    }
  }
  if (found == nullptr) {
    return unauthenticated("unknown or revoked token");
  }
  const auto role = parse_role(found->role);
  if (!role) {
    return unauthenticated("the token has an unknown role");
  }
  return Principal{found->name, *role};
}

core::Result<NewToken> Authenticator::create(const std::string& name, Role role) {
  if (!is_valid_token_name(name)) {
    return core::Error(core::ErrorCode::kInvalidArgument,
                       "a token name must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
  }
  NewToken made{name, role, std::string(kTokenPrefix) + core::random_token(32)};
  auto status =
      store_.put_token({name, role_name(role), core::sha256_hex(made.token), clock_.now_ms()});
  if (!status.ok()) {
    if (status.error().code() == core::ErrorCode::kAlreadyExists) {
      return core::Error(core::ErrorCode::kAlreadyExists,
                         "a token named \"" + name + "\" already exists");
    }
    return status.error();
  }
  if (auto s = load(); !s.ok()) {
    return s.error();
  }
  return made;
}

core::Status Authenticator::ensure(const std::string& name, Role role, const std::string& token) {
  auto status =
      store_.upsert_token({name, role_name(role), core::sha256_hex(token), clock_.now_ms()});
  if (!status.ok()) {
    return status;
  }
  return load();
}

core::Result<std::vector<store::TokenRecord>> Authenticator::list() const {
  std::lock_guard lock(mu_);
  return tokens_;
}

core::Status Authenticator::revoke(const std::string& name) {
  auto status = store_.delete_token(name);
  if (!status.ok()) {
    return status;
  }
  return load();
}

bool Authenticator::has(const std::string& name) const {
  std::lock_guard lock(mu_);
  for (const auto& t : tokens_) {
    if (t.name == name) {
      return true;
    }
  }
  return false;
}

}  // namespace homeostat::api
