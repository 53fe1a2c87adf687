// Authentication and roles against a real daemon: every way a request can fail to prove
// itself, and what each role may and may not do.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>

#include "support/daemon_process.hpp"
#include "support/raw_http.hpp"

namespace homeostat::testing {
namespace {

namespace json = boost::json;

constexpr const char* kEvent = R"({"source":"a","detail-type":"t","detail":{}})";

class AuthApi : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(DaemonOptions{.data_dir = dir_.path() + "/data"});
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
  }

  // Creates a token with `role` through the API and returns its text.
  std::string make_token(const std::string& name, const std::string& role) {
    auto c = daemon_->client();
    auto r = c.send("POST", "/v1/tokens", R"({"name":")" + name + R"(","role":")" + role + R"("})");
    EXPECT_EQ(r->status, 201) << r->body;
    return std::string(json::parse(r->body).at("token").as_string());
  }

  long status(const std::string& token, const std::string& method, const std::string& path,
              const std::string& body = "") {
    auto c = daemon_->client(token);
    auto r = c.send(method, path, body);
    EXPECT_TRUE(r.ok());
    return r->status;
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(AuthApi, WritesTheFirstAdminTokenReadableByTheOwnerOnly) {
  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() + "/data/admin.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(daemon_->admin_token().rfind("hst_", 0), 0u);
  EXPECT_EQ(status(daemon_->admin_token(), "GET", "/v1/tokens"), 200);
}

TEST_F(AuthApi, RefusesARequestWithoutAToken) {
  const std::string answer =
      raw_exchange(port_of(daemon_->url()), "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(answer), 401);
  EXPECT_NE(answer.find("WWW-Authenticate: Bearer"), std::string::npos);
  EXPECT_NE(answer.find("\"Unauthorized\""), std::string::npos);
}

TEST_F(AuthApi, RefusesASchemeOtherThanBearer) {
  const std::string answer = raw_exchange(
      port_of(daemon_->url()),
      "GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWRtaW46YWRtaW4=\r\n\r\n");
  EXPECT_EQ(status_of(answer), 401);
  EXPECT_NE(answer.find("Bearer scheme"), std::string::npos);
}

TEST_F(AuthApi, TakesTheBearerSchemeInAnyCase) {
  const std::string answer = raw_exchange(
      port_of(daemon_->url()), "GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: bEaReR " +
                                   daemon_->admin_token() + "\r\n\r\n");
  EXPECT_EQ(status_of(answer), 200) << answer;
}

TEST_F(AuthApi, RefusesAnUnknownToken) {
  EXPECT_EQ(status("hst_not-a-real-token", "GET", "/v1/events"), 401);
  EXPECT_EQ(status("hst_not-a-real-token", "POST", "/v1/events", kEvent), 401);
}

TEST_F(AuthApi, LetsAViewerReadButNotWrite) {
  const std::string viewer = make_token("ci-viewer", "viewer");
  EXPECT_EQ(status(viewer, "GET", "/v1/events"), 200);
  EXPECT_EQ(status(viewer, "POST", "/v1/events", kEvent), 403);
  EXPECT_EQ(status(viewer, "GET", "/v1/tokens"), 403);
}

TEST_F(AuthApi, LetsAnOperatorWriteEventsButNotManageTokens) {
  const std::string op = make_token("ci-operator", "operator");
  EXPECT_EQ(status(op, "POST", "/v1/events", kEvent), 200);
  EXPECT_EQ(status(op, "GET", "/v1/events"), 200);
  EXPECT_EQ(status(op, "POST", "/v1/tokens", R"({"name":"x","role":"admin"})"), 403);
  EXPECT_EQ(status(op, "DELETE", "/v1/tokens/ci-operator"), 403);
}

TEST_F(AuthApi, ARevokedTokenStopsWorkingAtOnce) {
  const std::string op = make_token("short-lived", "operator");
  EXPECT_EQ(status(op, "GET", "/v1/events"), 200);
  const std::string revoked = raw_exchange(port_of(daemon_->url()),
                                           "DELETE /v1/tokens/short-lived HTTP/1.1\r\nHost: x\r\n"
                                           "Authorization: Bearer " +
                                               daemon_->admin_token() + "\r\n\r\n");
  EXPECT_EQ(status_of(revoked), 204);
  EXPECT_EQ(revoked.find("Content-Length"), std::string::npos) << revoked;
  EXPECT_EQ(status(op, "GET", "/v1/events"), 401);
  EXPECT_EQ(status(daemon_->admin_token(), "DELETE", "/v1/tokens/short-lived"), 404);
}

TEST_F(AuthApi, RefusesDuplicateAndMalformedTokenRequests) {
  make_token("twice", "viewer");
  auto c = daemon_->client();
  EXPECT_EQ(c.send("POST", "/v1/tokens", R"({"name":"twice","role":"viewer"})")->status, 409);
  EXPECT_EQ(c.send("POST", "/v1/tokens", R"({"name":"x","role":"root"})")->status, 400);
  EXPECT_EQ(c.send("POST", "/v1/tokens", R"({"name":"bad name!","role":"viewer"})")->status, 400);
  EXPECT_EQ(c.send("POST", "/v1/tokens", "not json")->status, 400);
}

TEST_F(AuthApi, ListsTokensWithoutTheirSecrets) {
  const std::string viewer = make_token("listed", "viewer");
  auto r = daemon_->client().send("GET", "/v1/tokens");
  EXPECT_NE(r->body.find("\"listed\""), std::string::npos);
  EXPECT_EQ(r->body.find(viewer), std::string::npos);
  EXPECT_EQ(r->body.find("hash"), std::string::npos);
}

TEST_F(AuthApi, NeverWritesATokenToTheLog) {
  const std::string viewer = make_token("quiet", "viewer");
  status(viewer, "GET", "/v1/events");
  status("hst_wrong", "GET", "/v1/events");
  const std::string log = daemon_->log();
  EXPECT_NE(log.find("token_name=quiet"), std::string::npos) << log;
  EXPECT_EQ(log.find(viewer), std::string::npos);
  EXPECT_EQ(log.find(daemon_->admin_token()), std::string::npos);
  EXPECT_EQ(log.find("hst_wrong"), std::string::npos);
}

TEST_F(AuthApi, ServesHealthAndReadinessWithoutAToken) {
  const int port = port_of(daemon_->url());
  EXPECT_EQ(status_of(raw_exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")), 200);
  EXPECT_EQ(status_of(raw_exchange(port, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")), 200);
}

TEST(AdminTokenFromEnvironment, IsAcceptedAndNoTokenFileIsWritten) {
  TempDir dir;
  const std::string token = "env-admin-token-0123456789";
  DaemonProcess d(
      DaemonOptions{.data_dir = dir.path() + "/data", .env = {{"HOMEOSTAT_ADMIN_TOKEN", token}}});
  ASSERT_TRUE(d.start()) << d.log();
  auto r = d.client(token).send("GET", "/v1/tokens");
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(read_file(dir.path() + "/data/admin.token").empty());
  EXPECT_EQ(d.log().find(token), std::string::npos);
}

}  // namespace
}  // namespace homeostat::testing
