#include "api/router.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/temp_dir.hpp"

namespace homeostat::api {
namespace {

using homeostat::testing::TempDir;

namespace fs = std::filesystem;

constexpr int64_t kNowMs = 1796315555000;  // 2026-12-03T16:32:35Z

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::optional<std::string> header(const Response& r, const std::string& name) {
  for (const auto& [key, value] : r.headers) {
    if (key == name) {
      return value;
    }
  }
  return std::nullopt;
}

// A router with a few routes that record what they were handed, and a token for each role,
// authenticated against a real SqliteStore in a temp directory.
class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The router writes an access-log line per request; the tests do not need them.
    core::configure_logging(core::LogFormat::kLogfmt, core::LogLevel::kWarn);

    store::sqlite::SqliteOptions options;
    options.path = dir_.file("homeostat.db");
    auto store = store::sqlite::SqliteStore::open(options, kNowMs);
    ASSERT_TRUE(store.ok()) << store.error().message();
    store_ = std::move(*store);
    auth_ = std::make_unique<Authenticator>(*store_, clock_);
    for (const Role role : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
      auto made = auth_->create(role_name(role), role);
      ASSERT_TRUE(made.ok()) << made.error().message();
      tokens_[role] = made->token;
    }

    router_ = std::make_unique<Router>(*auth_);
    router_->add(http::verb::get, "/v1/ping", std::nullopt, record("ping"));
    router_->add(http::verb::get, "/v1/search", std::nullopt, record("search"));
    router_->add(http::verb::get, "/v1/events/{id}", Role::kViewer, record("get event"));
    router_->add(http::verb::delete_, "/v1/events/{id}", Role::kAdmin, record("delete event"));
    router_->add(http::verb::post, "/v1/events", Role::kOperator, record("post events"));
    router_->add(http::verb::get, "/v1/things/{thing}/parts/{part}", std::nullopt,
                 record("get part"));
  }

  void TearDown() override {
    core::configure_logging(core::LogFormat::kLogfmt, core::LogLevel::kInfo);
  }

  // A route that keeps what it was handed and answers 200 with its own name.
  Route record(const std::string& name) {
    return [this, name](RouteRequest& req, const Respond& respond) {
      ran_.push_back(name);
      params_ = req.params;
      query_ = req.query;
      principal_ = req.principal;
      request_id_ = req.request_id;
      body_ = req.http.body();
      respond(Response{200, "text/plain", name, {}});
    };
  }

  // Sends one request and returns the one response the router gave.
  Response send(http::verb method, const std::string& target,
                const std::optional<std::string>& authorization = std::nullopt,
                const std::string& body = "") {
    Request request{method, target, 11};
    if (authorization) {
      request.set(http::field::authorization, *authorization);
    }
    request.body() = body;
    int answers = 0;
    Response response;
    router_->handle(std::move(request), "req-1", [&](Response r) {
      ++answers;
      response = std::move(r);
    });
    EXPECT_EQ(answers, 1) << "the router must answer exactly once";
    return response;
  }

  std::string bearer(Role role) { return "Bearer " + tokens_[role]; }

  TempDir dir_;
  core::ManualClock clock_{kNowMs};
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<Router> router_;
  std::map<Role, std::string> tokens_;

  // What the last route that ran was handed.
  std::vector<std::string> ran_;
  std::vector<std::string> params_;
  std::map<std::string, std::string> query_;
  std::optional<Principal> principal_;
  std::string request_id_;
  std::string body_;
};

TEST_F(RouterTest, AnswersNotFoundForAPathNoRouteHas) {
  for (const char* target : {"/v1/nothing", "/v1/events/a/b", "/", "/v1/things/t/parts"}) {
    const Response r = send(http::verb::get, target, bearer(Role::kAdmin));
    EXPECT_EQ(r.status, 404u) << target;
    EXPECT_TRUE(contains(r.body, R"("error":"NotFound")")) << r.body;
  }
  EXPECT_TRUE(ran_.empty());
}

TEST_F(RouterTest, AnswersMethodNotAllowedListingTheMethodsThePathHas) {
  const Response r = send(http::verb::put, "/v1/events/abc");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(header(r, "Allow"), "GET, DELETE");
  EXPECT_TRUE(contains(r.body, R"("error":"MethodNotAllowed")")) << r.body;
  EXPECT_TRUE(contains(r.body, "PUT is not allowed on /v1/events/abc")) << r.body;

  const Response one = send(http::verb::get, "/v1/events");
  EXPECT_EQ(one.status, 405u);
  EXPECT_EQ(header(one, "Allow"), "POST");
  EXPECT_TRUE(ran_.empty());
}

TEST_F(RouterTest, PassesPercentDecodedCapturesInOrder) {
  Response r = send(http::verb::get, "/v1/events/a%20b%2Fc%3f", bearer(Role::kViewer));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(params_, (std::vector<std::string>{"a b/c?"}));

  // In a path '+' is a plus, not a space.
  r = send(http::verb::get, "/v1/events/a+b", bearer(Role::kViewer));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(params_, (std::vector<std::string>{"a+b"}));

  r = send(http::verb::get, "/v1/things/pump%231/parts/valve");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, "get part");
  EXPECT_EQ(params_, (std::vector<std::string>{"pump#1", "valve"}));
}

TEST_F(RouterTest, MatchesNoRouteWhenACaptureHasABrokenEscape) {
  for (const char* target : {"/v1/events/%zz", "/v1/events/abc%2", "/v1/events/%"}) {
    const Response r = send(http::verb::get, target, bearer(Role::kViewer));
    EXPECT_EQ(r.status, 404u) << target;
  }
  EXPECT_TRUE(ran_.empty());
}

TEST_F(RouterTest, ParsesTheQueryStringKeepingTheLastOfARepeatedKey) {
  const Response r =
      send(http::verb::get, "/v1/search?source=my%20app&detail-type=a+b&&flag&limit=5&limit=7");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, "search");
  const std::map<std::string, std::string> want = {
      {"source", "my app"}, {"detail-type", "a b"}, {"flag", ""}, {"limit", "7"}};
  EXPECT_EQ(query_, want);
}

TEST_F(RouterTest, MatchesThePathWithoutItsQueryAndLeavesAnEmptyQueryEmpty) {
  const Response r = send(http::verb::get, "/v1/ping?");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, "ping");
  EXPECT_TRUE(query_.empty());
}

TEST_F(RouterTest, AnswersBadRequestForAMalformedQueryWithoutRunningTheRoute) {
  const Response r = send(http::verb::get, "/v1/search?q=%G1");
  EXPECT_EQ(r.status, 400u);
  EXPECT_TRUE(contains(r.body, R"("error":"BadRequest")")) << r.body;
  EXPECT_TRUE(ran_.empty());
}

TEST_F(RouterTest, AnswersUnauthorizedWithoutAToken) {
  const Response r = send(http::verb::get, "/v1/events/abc");
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(header(r, "WWW-Authenticate"), R"(Bearer realm="homeostat")");
  EXPECT_TRUE(contains(r.body, R"("error":"Unauthorized")")) << r.body;
  EXPECT_TRUE(contains(r.body, "missing Authorization header")) << r.body;
  EXPECT_TRUE(ran_.empty());
}

TEST_F(RouterTest, AnswersUnauthorizedForAnUnknownOrMalformedToken) {
  for (const std::string& authorization :
       {std::string("Bearer hst_unknown"), "Basic " + tokens_[Role::kAdmin], tokens_[Role::kAdmin],
        std::string("Bearer ")}) {
    const Response r = send(http::verb::post, "/v1/events", authorization);
    EXPECT_EQ(r.status, 401u) << authorization;
    EXPECT_TRUE(header(r, "WWW-Authenticate").has_value());
  }
  EXPECT_TRUE(ran_.empty());
}

TEST_F(RouterTest, AnswersUnauthorizedForARevokedToken) {
  ASSERT_EQ(send(http::verb::post, "/v1/events", bearer(Role::kOperator)).status, 200u);
  ASSERT_TRUE(auth_->revoke("operator").ok());
  EXPECT_EQ(send(http::verb::post, "/v1/events", bearer(Role::kOperator)).status, 401u);
}

TEST_F(RouterTest, AnswersForbiddenWhenTheRoleIsTooLow) {
  Response r = send(http::verb::post, "/v1/events", bearer(Role::kViewer));
  EXPECT_EQ(r.status, 403u);
  EXPECT_TRUE(contains(r.body, R"("error":"Forbidden")")) << r.body;
  EXPECT_TRUE(contains(r.body, R"(this needs the operator role; the token \"viewer\" has viewer)"))
      << r.body;

  r = send(http::verb::delete_, "/v1/events/abc", bearer(Role::kOperator));
  EXPECT_EQ(r.status, 403u);
  EXPECT_TRUE(contains(r.body, "needs the admin role")) << r.body;
  EXPECT_TRUE(ran_.empty());
}

TEST_F(RouterTest, ServesARouteToItsRoleAndEveryHigherRole) {
  for (const Role role : {Role::kOperator, Role::kAdmin}) {
    const Response r = send(http::verb::post, "/v1/events", bearer(role), R"({"k":1})");
    ASSERT_EQ(r.status, 200u) << role_name(role) << ": " << r.body;
    ASSERT_TRUE(principal_.has_value());
    EXPECT_EQ(principal_->name, role_name(role));
    EXPECT_EQ(principal_->role, role);
    EXPECT_EQ(body_, R"({"k":1})");
    EXPECT_EQ(request_id_, "req-1");
  }
  for (const Role role : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
    EXPECT_EQ(send(http::verb::get, "/v1/events/abc", bearer(role)).status, 200u);
  }
  EXPECT_EQ(send(http::verb::delete_, "/v1/events/abc", bearer(Role::kAdmin)).status, 200u);
  EXPECT_EQ(ran_.back(), "delete event");
}

TEST_F(RouterTest, ServesAnOpenRouteWithoutCheckingAnyToken) {
  Response r = send(http::verb::get, "/v1/ping");
  EXPECT_EQ(r.status, 200u);
  EXPECT_FALSE(principal_.has_value());

  r = send(http::verb::get, "/v1/ping", std::string("Bearer not-a-token"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_FALSE(principal_.has_value());
}

struct Decoded {
  std::string text;
  bool plus_is_space;
  std::optional<std::string> want;
};

TEST(PercentDecode, DecodesEscapesAndRefusesBrokenOnes) {
  const std::vector<Decoded> cases = {
      {"", false, ""},
      {"plain", false, "plain"},
      {"%41%42", false, "AB"},
      {"%2f%2F", false, "//"},
      {"a%20b", true, "a b"},
      {"a+b", true, "a b"},
      {"a+b", false, "a+b"},
      {"%2B", true, "+"},
      {"%00", false, std::string(1, '\0')},
      {"%C3%A9", false, "\xc3\xa9"},
      {"%", false, std::nullopt},
      {"%4", false, std::nullopt},
      {"abc%", false, std::nullopt},
      {"%G1", false, std::nullopt},
      {"%1G", false, std::nullopt},
      {"%%41", false, std::nullopt},
  };
  for (const Decoded& c : cases) {
    EXPECT_EQ(percent_decode(c.text, c.plus_is_space), c.want)
        << c.text << (c.plus_is_space ? " (plus is space)" : "");
  }
}

}  // namespace
}  // namespace homeostat::api
