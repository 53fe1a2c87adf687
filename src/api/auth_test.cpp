#include "api/auth.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "core/secret.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/temp_dir.hpp"

namespace homeostat::api {
namespace {

using homeostat::testing::TempDir;

namespace fs = std::filesystem;

constexpr int64_t kNowMs = 1796315555000;  // 2026-12-03T16:32:35Z

// Returns the bytes of every file in `dir`: the database, its WAL and anything else SQLite made.
std::string all_bytes_under(const fs::path& dir) {
  std::string bytes;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    bytes.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return bytes;
}

// An Authenticator over a real SqliteStore in a temp directory.
class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::sqlite::SqliteOptions options;
    options.path = dir_.file("homeostat.db");
    auto store = store::sqlite::SqliteStore::open(options, kNowMs);
    ASSERT_TRUE(store.ok()) << store.error().message();
    store_ = std::move(*store);
    auth_ = std::make_unique<Authenticator>(*store_, clock_);
    ASSERT_TRUE(auth_->load().ok());
  }

  std::vector<store::TokenRecord> stored_tokens() {
    auto tokens = store_->list_tokens();
    if (!tokens) {
      ADD_FAILURE() << tokens.error().message();
      return {};
    }
    return *tokens;
  }

  TempDir dir_;
  core::ManualClock clock_{kNowMs};
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  std::unique_ptr<Authenticator> auth_;
};

TEST_F(AuthTest, CreateGivesAPrefixedRandomTokenAndStoresOnlyItsHash) {
  auto made = auth_->create("ci", Role::kOperator);
  ASSERT_TRUE(made.ok()) << made.error().message();
  EXPECT_EQ(made->name, "ci");
  EXPECT_EQ(made->role, Role::kOperator);
  EXPECT_EQ(made->token.substr(0, 4), "hst_");
  EXPECT_EQ(made->token.size(), 4u + 43u) << "32 random bytes in base64url";

  const auto tokens = stored_tokens();
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].name, "ci");
  EXPECT_EQ(tokens[0].role, "operator");
  EXPECT_EQ(tokens[0].hash, core::sha256_hex(made->token));
  EXPECT_EQ(tokens[0].created_ms, kNowMs);

  // Neither the token nor its random part reaches the database files.
  const std::string on_disk = all_bytes_under(dir_.path());
  ASSERT_NE(on_disk.find(tokens[0].hash), std::string::npos) << "the scan reads the data";
  EXPECT_EQ(on_disk.find(made->token.substr(4)), std::string::npos);
}

TEST_F(AuthTest, CreateGivesADifferentTokenEachTime) {
  auto a = auth_->create("a", Role::kViewer);
  auto b = auth_->create("b", Role::kViewer);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->token, b->token);
}

TEST_F(AuthTest, AuthenticatesACreatedTokenAsItsNameAndRole) {
  auto made = auth_->create("deployer", Role::kAdmin);
  ASSERT_TRUE(made.ok()) << made.error().message();
  auto principal = auth_->authenticate("Bearer " + made->token);
  ASSERT_TRUE(principal.ok()) << principal.error().message();
  EXPECT_EQ(principal->name, "deployer");
  EXPECT_EQ(principal->role, Role::kAdmin);
  EXPECT_TRUE(auth_->has("deployer"));
  EXPECT_FALSE(auth_->has("someone-else"));
}

TEST_F(AuthTest, AcceptsTheSchemeInAnyCaseAndSpacesBeforeTheToken) {
  auto made = auth_->create("ci", Role::kOperator);
  ASSERT_TRUE(made.ok());
  for (const std::string& header :
       {"bearer " + made->token, "BEARER " + made->token, "Bearer   " + made->token}) {
    auto principal = auth_->authenticate(header);
    ASSERT_TRUE(principal.ok()) << header << ": " << principal.error().message();
    EXPECT_EQ(principal->name, "ci");
  }
  // The token itself is compared exactly.
  std::string upper = made->token;
  for (char& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  EXPECT_FALSE(auth_->authenticate("Bearer " + upper).ok());
}

struct BadCredentials {
  std::string header;
  std::string why;
};

TEST_F(AuthTest, RefusesMissingMalformedAndUnknownCredentials) {
  auto made = auth_->create("ci", Role::kOperator);
  ASSERT_TRUE(made.ok());
  const std::vector<BadCredentials> cases = {
      {"", "missing Authorization header"},
      {made->token, "must use the Bearer scheme"},
      {"Basic " + made->token, "must use the Bearer scheme"},
      {"Bearer", "must use the Bearer scheme"},
      {"Bearer ", "must use the Bearer scheme"},
      {"Bearer hst_not-a-token", "unknown or revoked token"},
      {"Bearer " + made->token + " ", "unknown or revoked token"},
      {"Bearer " + core::sha256_hex(made->token), "unknown or revoked token"},
  };
  for (const BadCredentials& c : cases) {
    SCOPED_TRACE("header: " + c.header);
    auto principal = auth_->authenticate(c.header);
    ASSERT_FALSE(principal.ok()) << "accepted as " << principal->name;
    EXPECT_EQ(principal.error().code(), core::ErrorCode::kUnauthenticated);
    EXPECT_NE(principal.error().message().find(c.why), std::string::npos)
        << principal.error().message();
  }
}

TEST_F(AuthTest, CreateRefusesATakenNameAndKeepsTheFirstToken) {
  auto first = auth_->create("ci", Role::kViewer);
  ASSERT_TRUE(first.ok());
  auto again = auth_->create("ci", Role::kAdmin);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), core::ErrorCode::kAlreadyExists);
  EXPECT_NE(again.error().message().find("\"ci\""), std::string::npos) << again.error().message();

  auto principal = auth_->authenticate("Bearer " + first->token);
  ASSERT_TRUE(principal.ok());
  EXPECT_EQ(principal->role, Role::kViewer);
  EXPECT_EQ(stored_tokens().size(), 1u);
}

TEST_F(AuthTest, CreateRefusesNamesOutsideTheAllowedCharactersAndLength) {
  for (const std::string& name : {std::string(""), std::string("has space"), std::string("a/b"),
                                  std::string("caf\xc3\xa9"), std::string(65, 'n')}) {
    auto made = auth_->create(name, Role::kViewer);
    ASSERT_FALSE(made.ok()) << name;
    EXPECT_EQ(made.error().code(), core::ErrorCode::kInvalidArgument) << name;
  }
  EXPECT_TRUE(stored_tokens().empty());
  EXPECT_TRUE(auth_->create(std::string(64, 'n'), Role::kViewer).ok());
  EXPECT_TRUE(auth_->create("A.b_c-9", Role::kViewer).ok());
}

TEST_F(AuthTest, RevokeMakesATokenUnknownAndReportsAnUnknownName) {
  auto made = auth_->create("ci", Role::kOperator);
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE(auth_->revoke("ci").ok());

  auto principal = auth_->authenticate("Bearer " + made->token);
  ASSERT_FALSE(principal.ok());
  EXPECT_EQ(principal.error().code(), core::ErrorCode::kUnauthenticated);
  EXPECT_FALSE(auth_->has("ci"));
  EXPECT_TRUE(stored_tokens().empty());

  const core::Status again = auth_->revoke("ci");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), core::ErrorCode::kNotFound);
}

TEST_F(AuthTest, EnsureSetsExactlyTheGivenTokenAndReplacesTheOldOne) {
  const std::string first = "first-admin-token-0123456789";
  const std::string second = "second-admin-token-0123456789";
  ASSERT_TRUE(auth_->ensure("admin", Role::kAdmin, first).ok());
  auto principal = auth_->authenticate("Bearer " + first);
  ASSERT_TRUE(principal.ok()) << principal.error().message();
  EXPECT_EQ(principal->name, "admin");
  EXPECT_EQ(principal->role, Role::kAdmin);

  ASSERT_TRUE(auth_->ensure("admin", Role::kAdmin, second).ok());
  EXPECT_FALSE(auth_->authenticate("Bearer " + first).ok()) << "the old value must stop working";
  EXPECT_TRUE(auth_->authenticate("Bearer " + second).ok());

  const auto tokens = stored_tokens();
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].hash, core::sha256_hex(second));
  EXPECT_EQ(all_bytes_under(dir_.path()).find(second), std::string::npos);
}

TEST_F(AuthTest, EnsureChangesTheRoleOfAnExistingName) {
  ASSERT_TRUE(auth_->ensure("bot", Role::kViewer, "bot-token-0123456789").ok());
  ASSERT_TRUE(auth_->ensure("bot", Role::kOperator, "bot-token-0123456789").ok());
  auto principal = auth_->authenticate("Bearer bot-token-0123456789");
  ASSERT_TRUE(principal.ok());
  EXPECT_EQ(principal->role, Role::kOperator);
}

TEST_F(AuthTest, RefusesATokenWhoseStoredRoleIsUnknown) {
  ASSERT_TRUE(store_->put_token({"odd", "root", core::sha256_hex("odd-token"), kNowMs}).ok());
  ASSERT_TRUE(auth_->load().ok());
  auto principal = auth_->authenticate("Bearer odd-token");
  ASSERT_FALSE(principal.ok()) << "accepted with role " << role_name(principal->role);
  EXPECT_EQ(principal.error().code(), core::ErrorCode::kUnauthenticated);
  EXPECT_NE(principal.error().message().find("unknown role"), std::string::npos)
      << principal.error().message();
}

TEST_F(AuthTest, SeesTokensMadeByAnotherProcessOnlyAfterLoad) {
  Authenticator other(*store_, clock_);
  auto made = other.create("elsewhere", Role::kViewer);
  ASSERT_TRUE(made.ok());

  EXPECT_FALSE(auth_->authenticate("Bearer " + made->token).ok());
  ASSERT_TRUE(auth_->load().ok());
  EXPECT_TRUE(auth_->authenticate("Bearer " + made->token).ok());
}

TEST_F(AuthTest, ListsTheKnownTokensWithHashesOnly) {
  auto a = auth_->create("a", Role::kAdmin);
  auto b = auth_->create("b", Role::kViewer);
  ASSERT_TRUE(a.ok() && b.ok());
  auto listed = auth_->list();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].name, "a");
  EXPECT_EQ((*listed)[0].role, "admin");
  EXPECT_EQ((*listed)[0].hash, core::sha256_hex(a->token));
  EXPECT_EQ((*listed)[1].name, "b");
  EXPECT_EQ((*listed)[1].hash, core::sha256_hex(b->token));
}

TEST(Role, NamesRoundTripAndUnknownNamesAreRefused) {
  for (const Role r : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
    EXPECT_EQ(parse_role(role_name(r)), r);
  }
  EXPECT_STREQ(role_name(Role::kOperator), "operator");
  for (const char* bad : {"", "root", "Admin", "viewer "}) {
    EXPECT_FALSE(parse_role(bad).has_value()) << bad;
  }
}

TEST(Role, OrdersViewerBelowOperatorBelowAdmin) {
  EXPECT_LT(Role::kViewer, Role::kOperator);
  EXPECT_LT(Role::kOperator, Role::kAdmin);
}

}  // namespace
}  // namespace homeostat::api
