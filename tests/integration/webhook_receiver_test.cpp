// The webhook receiver that integration tests point rule targets at, tested on its own with a
// real client (libcurl) and with raw sockets for what no well-behaved client sends.

#include "support/webhook_receiver.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "support/raw_http.hpp"

namespace homeostat::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

struct CurlAnswer {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::string content_type;
  long new_connections = 0;  // connections opened for this request; 0 when one was reused
};

// One libcurl easy handle; requests made through it share curl's connection cache, so a kept-alive
// connection is reused.
class Curl {
 public:
  Curl() : curl_(curl_easy_init()) {}
  ~Curl() { curl_easy_cleanup(curl_); }
  Curl(const Curl&) = delete;
  Curl& operator=(const Curl&) = delete;

  CurlAnswer post(const std::string& url, const std::string& body,
                  const std::vector<std::string>& headers = {}, long timeout_ms = 5000) {
    CurlAnswer answer;
    curl_slist* list = nullptr;
    for (const auto& h : headers) {
      list = curl_slist_append(list, h.c_str());
    }
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Curl::append);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &answer.body);

    answer.code = curl_easy_perform(curl_);
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &answer.status);
    curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &answer.new_connections);
    const char* type = nullptr;
    curl_easy_getinfo(curl_, CURLINFO_CONTENT_TYPE, &type);
    answer.content_type = type != nullptr ? type : "";
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(list);
    return answer;
  }

 private:
  static size_t append(char* data, size_t size, size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
  }

  CURL* curl_;
};

TEST(WebhookReceiver, RecordsMethodTargetHeadersAndBody) {
  WebhookReceiver receiver;
  Curl curl;
  const int64_t before = core::system_clock().now_ms();

  const CurlAnswer answer = curl.post(receiver.url("/hook?x=1"), R"({"rule":"disk-full"})",
                                      {"Content-Type: application/json", "X-Homeostat-Rule: r1"});

  ASSERT_EQ(answer.code, CURLE_OK) << curl_easy_strerror(answer.code);
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.body, R"({"ok":true})");
  EXPECT_EQ(answer.content_type, "application/json");
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/hook?x=1");
  EXPECT_EQ(requests[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(requests[0].headers.at("x-homeostat-rule"), "r1");
  EXPECT_EQ(requests[0].headers.at("host"), "127.0.0.1:" + std::to_string(receiver.port()));
  EXPECT_EQ(requests[0].body, R"({"rule":"disk-full"})");
  EXPECT_GE(requests[0].received_ms, before);
  EXPECT_LE(requests[0].received_ms, core::system_clock().now_ms());
}

TEST(WebhookReceiver, LowercasesHeaderNamesAndJoinsRepeatedHeaders) {
  WebhookReceiver receiver;

  const std::string answer = raw_exchange(receiver.port(),
                                          "PUT /other HTTP/1.1\r\nHost: x\r\nX-Trace: a\r\n"
                                          "x-trace: b\r\nContent-Length: 2\r\n\r\nhi");

  EXPECT_EQ(status_of(answer), 200);
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].target, "/other");
  EXPECT_EQ(requests[0].headers.at("x-trace"), "a, b");
  EXPECT_EQ(requests[0].headers.count("X-Trace"), 0u);
  EXPECT_EQ(requests[0].body, "hi");
}

TEST(WebhookReceiver, FailNextAnswersTheGivenStatusThenRecovers) {
  WebhookReceiver receiver;
  Curl curl;
  receiver.fail_next(2, 429);

  const CurlAnswer first = curl.post(receiver.url(), "{}");
  const CurlAnswer second = curl.post(receiver.url(), "{}");
  const CurlAnswer third = curl.post(receiver.url(), "{}");

  EXPECT_EQ(first.status, 429);
  EXPECT_EQ(first.body, R"({"error":"Too Many Requests"})");
  EXPECT_EQ(first.content_type, "application/json");
  EXPECT_EQ(second.status, 429);
  EXPECT_EQ(third.status, 200);
  EXPECT_EQ(third.body, R"({"ok":true})");
  EXPECT_EQ(receiver.count(), 3u);
}

TEST(WebhookReceiver, FailNextDefaultsTo500) {
  WebhookReceiver receiver;
  Curl curl;
  receiver.fail_next(1);

  const CurlAnswer failed = curl.post(receiver.url(), "{}");
  const CurlAnswer recovered = curl.post(receiver.url(), "{}");

  EXPECT_EQ(failed.status, 500);
  EXPECT_EQ(failed.body, R"({"error":"Internal Server Error"})");
  EXPECT_EQ(recovered.status, 200);
}

TEST(WebhookReceiver, SetStatusHoldsUntilChanged) {
  WebhookReceiver receiver;
  Curl curl;

  receiver.set_status(503);
  EXPECT_EQ(curl.post(receiver.url(), "{}").status, 503);
  EXPECT_EQ(curl.post(receiver.url(), "{}").status, 503);

  receiver.set_status(202);
  const CurlAnswer accepted = curl.post(receiver.url(), "{}");
  EXPECT_EQ(accepted.status, 202);
  EXPECT_EQ(accepted.body, R"({"ok":true})");

  receiver.set_status(200);
  EXPECT_EQ(curl.post(receiver.url(), "{}").status, 200);
}

TEST(WebhookReceiver, FailNextTakesPrecedenceOverTheStandingStatus) {
  WebhookReceiver receiver;
  Curl curl;
  receiver.set_status(201);
  receiver.fail_next(1, 502);

  EXPECT_EQ(curl.post(receiver.url(), "{}").status, 502);
  EXPECT_EQ(curl.post(receiver.url(), "{}").status, 201);
}

TEST(WebhookReceiver, WaitForTimesOutWhenTooFewRequestsArrive) {
  WebhookReceiver receiver;
  Curl curl;
  ASSERT_EQ(curl.post(receiver.url(), "{}").status, 200);

  const auto start = steady_clock::now();
  EXPECT_FALSE(receiver.wait_for(2, milliseconds(300)));
  const auto waited = steady_clock::now() - start;

  EXPECT_GE(waited, milliseconds(300));
  EXPECT_LT(waited, milliseconds(3000));
  EXPECT_TRUE(receiver.wait_for(1, milliseconds(0)));
}

TEST(WebhookReceiver, WaitForReturnsAsSoonAsTheRequestsArrive) {
  WebhookReceiver receiver;
  Curl curl;
  std::thread client([&] {
    std::this_thread::sleep_for(milliseconds(200));
    curl.post(receiver.url(), "{}");
  });

  const auto start = steady_clock::now();
  const bool arrived = receiver.wait_for(1, milliseconds(10'000));
  const auto waited = steady_clock::now() - start;
  client.join();

  EXPECT_TRUE(arrived);
  EXPECT_LT(waited, milliseconds(5000));
}

TEST(WebhookReceiver, DelaysTheAnswerPastAClientTimeoutAndKeepsServing) {
  WebhookReceiver receiver;
  Curl impatient;
  receiver.set_delay(milliseconds(500));

  // The request is recorded on arrival even though its client gives up before the answer.
  const CurlAnswer timed_out = impatient.post(receiver.url(), "{}", {}, 100);
  EXPECT_EQ(timed_out.code, CURLE_OPERATION_TIMEDOUT);
  EXPECT_EQ(receiver.count(), 1u);

  // The delayed write to the closed connection fails without harm.
  std::this_thread::sleep_for(milliseconds(600));
  receiver.set_delay(milliseconds(0));
  Curl next;
  EXPECT_EQ(next.post(receiver.url(), "{}").status, 200);
  EXPECT_EQ(receiver.count(), 2u);
}

TEST(WebhookReceiver, ServesTwoClientsAtOnce) {
  WebhookReceiver receiver;
  receiver.set_delay(milliseconds(1000));
  Curl first;
  Curl second;
  CurlAnswer first_answer;
  CurlAnswer second_answer;

  // Served one after the other, the two delays would add up to two seconds.
  const auto start = steady_clock::now();
  std::thread a([&] { first_answer = first.post(receiver.url("/a"), "1"); });
  std::thread b([&] { second_answer = second.post(receiver.url("/b"), "2"); });
  a.join();
  b.join();
  const auto took = steady_clock::now() - start;

  EXPECT_EQ(first_answer.status, 200);
  EXPECT_EQ(second_answer.status, 200);
  EXPECT_GE(took, milliseconds(1000));
  EXPECT_LT(took, milliseconds(1900));
  EXPECT_EQ(receiver.count(), 2u);
}

TEST(WebhookReceiver, KeepsAConnectionAliveForASecondRequest) {
  WebhookReceiver receiver;
  Curl curl;

  const CurlAnswer first = curl.post(receiver.url(), "1");
  const CurlAnswer second = curl.post(receiver.url(), "2");

  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.new_connections, 1);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.new_connections, 0);  // curl reused the first connection
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].body, "1");
  EXPECT_EQ(requests[1].body, "2");
}

TEST(WebhookReceiver, AnswersPipelinedRequestsOnOneConnectionInOrder) {
  WebhookReceiver receiver;
  receiver.fail_next(1, 500);

  const std::string answer =
      raw_exchange(receiver.port(),
                   "POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1"
                   "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n2");

  EXPECT_EQ(status_of(answer), 500);
  EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target, "/one");
  EXPECT_EQ(requests[1].target, "/two");
}

TEST(WebhookReceiver, SurvivesAClientThatDisconnectsMidRequest) {
  WebhookReceiver receiver;

  // The header promises 100 bytes; the client sends 10 and hangs up.
  const std::string answer = raw_exchange(
      receiver.port(), "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");

  EXPECT_EQ(answer, "");
  EXPECT_EQ(receiver.count(), 0u);
  Curl curl;
  EXPECT_EQ(curl.post(receiver.url(), "{}").status, 200);
  EXPECT_EQ(receiver.count(), 1u);
}

TEST(WebhookReceiver, AnswersMalformedRequestsWith400WithoutRecordingThem) {
  WebhookReceiver receiver;

  const std::string answer = raw_exchange(receiver.port(), "THIS IS NOT HTTP\r\n\r\n");

  EXPECT_EQ(status_of(answer), 400);
  EXPECT_NE(answer.find(R"({"error":"Bad Request"})"), std::string::npos) << answer;
  EXPECT_EQ(receiver.count(), 0u);
}

TEST(WebhookReceiver, AcceptsABodyOfOneMebibyte) {
  WebhookReceiver receiver;
  Curl curl;
  const std::string body(WebhookReceiver::kMaxBodyBytes, 'x');

  const CurlAnswer answer = curl.post(receiver.url(), body);

  ASSERT_EQ(answer.code, CURLE_OK) << curl_easy_strerror(answer.code);
  EXPECT_EQ(answer.status, 200);
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body, body);
}

TEST(WebhookReceiver, RefusesALargerBodyWith413WithoutRecordingIt) {
  WebhookReceiver receiver;
  Curl curl;

  // Asking first lets the receiver refuse before curl sends the body.
  const CurlAnswer answer =
      curl.post(receiver.url(), std::string(WebhookReceiver::kMaxBodyBytes + 1, 'x'),
                {"Expect: 100-continue"});

  EXPECT_EQ(answer.status, 413);
  EXPECT_EQ(receiver.count(), 0u);
}

TEST(WebhookReceiver, ClearForgetsTheRequestsButKeepsTheSettings) {
  WebhookReceiver receiver;
  Curl curl;
  receiver.set_status(503);
  curl.post(receiver.url(), "{}");
  ASSERT_EQ(receiver.count(), 1u);

  receiver.clear();

  EXPECT_EQ(receiver.count(), 0u);
  EXPECT_TRUE(receiver.requests().empty());
  EXPECT_EQ(curl.post(receiver.url(), "{}").status, 503);
  EXPECT_EQ(receiver.count(), 1u);
}

TEST(WebhookReceiver, StopsWithConnectionsStillOpen) {
  auto receiver = std::make_unique<WebhookReceiver>();
  receiver->set_delay(milliseconds(10'000));
  const std::string url = receiver->url();
  Curl curl;
  CurlAnswer answer;
  std::thread client([&] { answer = curl.post(url, "{}", {}, 5000); });
  ASSERT_TRUE(receiver->wait_for(1, milliseconds(5000)));

  // Destroying the receiver drops the held request's connection instead of waiting 10 s.
  const auto start = steady_clock::now();
  receiver.reset();
  client.join();

  EXPECT_LT(steady_clock::now() - start, milliseconds(3000));
  EXPECT_NE(answer.code, CURLE_OK);
}

}  // namespace
}  // namespace homeostat::testing
