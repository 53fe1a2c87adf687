// The HTTP server's limits and manners against a real daemon: malformed requests, oversized
// headers and bodies, slow clients, unknown routes, keep-alive.

#include <gtest/gtest.h>

#include <fstream>

#include "support/daemon_process.hpp"
#include "support/raw_http.hpp"

namespace homeostat::testing {
namespace {

class HttpLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    // Small limits so that the tests can pass them cheaply.
    std::ofstream(dir_.path() + "/homeostat.yaml") << "http:\n"
                                                      "  read_timeout: 1s\n"
                                                      "  idle_timeout: 2s\n"
                                                      "  max_header_bytes: 4KiB\n"
                                                      "events:\n"
                                                      "  max_batch_bytes: 64KiB\n"
                                                      "  max_entry_bytes: 1KiB\n"
                                                      "  max_batch_entries: 5\n";
    daemon_ = std::make_unique<DaemonProcess>(
        DaemonOptions{.data_dir = dir_.path() + "/data", .config_dir = dir_.path()});
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    port_ = port_of(daemon_->url());
    auth_ = "Authorization: Bearer " + daemon_->admin_token() + "\r\n";
  }

  std::string post_events(const std::string& body) {
    return raw_exchange(port_, "POST /v1/events HTTP/1.1\r\nHost: x\r\n" + auth_ +
                                   "Content-Type: application/json\r\nContent-Length: " +
                                   std::to_string(body.size()) + "\r\n\r\n" + body);
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
  int port_ = 0;
  std::string auth_;
};

TEST_F(HttpLimits, AnswersGarbageWithBadRequest) {
  const std::string answer = raw_exchange(port_, "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(status_of(answer), 400);
  EXPECT_NE(answer.find("malformed HTTP request"), std::string::npos);
}

TEST_F(HttpLimits, AnswersAnOversizedHeaderWith431) {
  const std::string answer = raw_exchange(port_, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " +
                                                     std::string(8000, 'a') + "\r\n\r\n");
  EXPECT_EQ(status_of(answer), 431);
}

TEST_F(HttpLimits, AnswersAnOversizedBodyWith413BeforeReadingIt) {
  const std::string answer = raw_exchange(
      port_, "POST /v1/events HTTP/1.1\r\nHost: x\r\n" + auth_ +
                 "Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{");
  EXPECT_EQ(status_of(answer), 413);
  EXPECT_NE(answer.find("PayloadTooLarge"), std::string::npos);
}

TEST_F(HttpLimits, AppliesTheConfiguredEntryAndBatchLimits) {
  const std::string big =
      R"({"source":"a","detail-type":"t","detail":{"pad":")" + std::string(2000, 'x') + "\"}}";
  const std::string one = post_events(big);
  EXPECT_EQ(status_of(one), 400);
  EXPECT_NE(one.find("EntryTooLarge"), std::string::npos);

  std::string six = "[";
  for (int i = 0; i < 6; ++i)
    six += (i ? "," : "") + std::string(R"({"source":"a","detail-type":"t","detail":{}})");
  six += "]";
  const std::string many = post_events(six);
  EXPECT_EQ(status_of(many), 400);
  EXPECT_NE(many.find("more than 5 entries"), std::string::npos);
}

TEST_F(HttpLimits, ClosesAConnectionThatSendsTooSlowly) {
  // A header that never ends: the read timeout (1 s) closes the connection without an answer.
  const auto started = std::chrono::steady_clock::now();
  const std::string answer =
      raw_exchange(port_, "POST /v1/events HTTP/1.1\r\nHost: x\r\n", 5000, true);
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(answer.empty()) << answer;
  EXPECT_LT(waited, std::chrono::milliseconds(4500));
}

TEST_F(HttpLimits, TellsAClientThatExpectsContinueToSendItsBody) {
  const std::string answer = raw_exchange(port_,
                                          "POST /v1/events HTTP/1.1\r\nHost: x\r\n" + auth_ +
                                              "Expect: 100-continue\r\nContent-Length: 45\r\n\r\n",
                                          3000, true);
  EXPECT_EQ(answer.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << answer;
}

TEST_F(HttpLimits, AnswersUnknownPathsAndWrongMethods) {
  const std::string missing = raw_exchange(port_, "GET /v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(missing), 404);
  const std::string wrong = raw_exchange(port_, "DELETE /v1/events HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(wrong), 405);
  EXPECT_NE(wrong.find("Allow: POST, GET"), std::string::npos) << wrong;
}

TEST_F(HttpLimits, ServesSeveralRequestsOnOneKeptAliveConnection) {
  const std::string two =
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const std::string answer = raw_exchange(port_, two, 5000, true);
  EXPECT_NE(answer.find("\"ok\""), std::string::npos) << answer;
  EXPECT_NE(answer.find("\"ready\""), std::string::npos) << answer;
}

TEST_F(HttpLimits, EchoesAPlainRequestIdAndMakesOneOtherwise) {
  const std::string given =
      raw_exchange(port_, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: trace-42\r\n\r\n");
  EXPECT_NE(given.find("X-Request-Id: trace-42"), std::string::npos);
  const std::string made =
      raw_exchange(port_, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: bad id\"\r\n\r\n");
  EXPECT_NE(made.find("X-Request-Id: "), std::string::npos);
  EXPECT_EQ(made.find("bad id"), std::string::npos);
}

}  // namespace
}  // namespace homeostat::testing
