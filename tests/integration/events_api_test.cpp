// The events API against a real daemon: sending one event, batches and NDJSON with bad entries
// among good ones, reading back by id, and listing with filters and cursors.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "support/daemon_process.hpp"

namespace homeostat::testing {
namespace {

namespace json = boost::json;

class EventsApi : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(DaemonOptions{.data_dir = dir_.path() + "/data"});
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
  }

  json::value post(const std::string& body, long expect_status = 200,
                   const std::string& type = "application/json") {
    auto c = daemon_->client();
    auto r = c.send("POST", "/v1/events", body, type);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->status, expect_status) << r->body;
    return json::parse(r->body);
  }

  json::value get(const std::string& path, long expect_status = 200) {
    auto c = daemon_->client();
    auto r = c.send("GET", path);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->status, expect_status) << r->body;
    return json::parse(r->body);
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(EventsApi, StoresOneEventAndReadsItBackById) {
  const auto answer = post(
      R"({"source":"com.example.app","detail-type":"Disk Full","detail":{"host":"db-1","pct":97}})");
  ASSERT_EQ(answer.at("accepted").as_int64(), 1);
  ASSERT_EQ(answer.at("failed").as_int64(), 0);
  const std::string id(answer.at("results").at(0).at("id").as_string());

  const auto event = get("/v1/events/" + id);
  EXPECT_EQ(event.at("id").as_string(), id);
  EXPECT_EQ(event.at("source").as_string(), "com.example.app");
  EXPECT_EQ(event.at("detail-type").as_string(), "Disk Full");
  EXPECT_EQ(event.at("version").as_string(), "0");
  EXPECT_EQ(event.at("detail").at("pct").as_int64(), 97);
  EXPECT_FALSE(event.at("time").as_string().empty());
}

TEST_F(EventsApi, AnswersEveryEntryOfAnArrayInOrderAndKeepsTheGoodOnes) {
  const auto answer = post(R"([
    {"source":"a","detail-type":"t","detail":{}},
    {"detail-type":"t","detail":{}},
    42,
    {"source":"a","detail-type":"t","detail":[]},
    {"source":"a","detail-type":"t","detail":{},"time":"yesterday"},
    {"source":"a","detail-type":"t","detail":{},"id":"given-1"}
  ])");
  EXPECT_EQ(answer.at("accepted").as_int64(), 2);
  EXPECT_EQ(answer.at("failed").as_int64(), 4);
  const auto& results = answer.at("results").as_array();
  ASSERT_EQ(results.size(), 6u);
  EXPECT_TRUE(results[0].as_object().contains("id"));
  EXPECT_EQ(results[1].at("error").as_string(), "MissingField");
  EXPECT_EQ(results[2].at("error").as_string(), "NotAnObject");
  EXPECT_EQ(results[3].at("error").as_string(), "WrongType");
  EXPECT_EQ(results[4].at("error").as_string(), "InvalidTime");
  EXPECT_EQ(results[5].at("id").as_string(), "given-1");
  EXPECT_NE(std::string(results[1].at("message").as_string()).find("source"), std::string::npos);

  get("/v1/events/given-1");
  get("/v1/events/" + std::string(results[0].at("id").as_string()));
}

TEST_F(EventsApi, TakesNdjsonWithABrokenLineBetweenGoodOnes) {
  const auto answer = post(
      "{\"source\":\"a\",\"detail-type\":\"t\",\"detail\":{\"n\":1}}\n"
      "{not json\n"
      "\n"
      "{\"source\":\"a\",\"detail-type\":\"t\",\"detail\":{\"n\":2}}\n",
      200, "application/x-ndjson");
  EXPECT_EQ(answer.at("accepted").as_int64(), 2);
  const auto& results = answer.at("results").as_array();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[1].at("error").as_string(), "InvalidJson");
}

TEST_F(EventsApi, AnswersBadRequestWhenNoEntryIsValid) {
  const auto answer = post(R"({"source":"a"})", 400);
  EXPECT_EQ(answer.at("failed").as_int64(), 1);
  EXPECT_EQ(answer.at("results").at(0).at("error").as_string(), "MissingField");
}

TEST_F(EventsApi, RefusesAMalformedArrayAsAWhole) {
  const auto answer = post(R"([{"source":"a","detail-type":"t","detail":{}},)", 400);
  EXPECT_EQ(answer.at("error").as_string(), "BadRequest");
}

TEST_F(EventsApi, RetriedRequestWithTheSameIdsStoresEachEventOnce) {
  const std::string body = R"([{"id":"retry-1","source":"a","detail-type":"t","detail":{"v":1}},
                               {"id":"retry-2","source":"a","detail-type":"t","detail":{"v":2}}])";
  post(body);
  post(body);
  const auto page = get("/v1/events?source=a&limit=1000");
  EXPECT_EQ(page.at("events").as_array().size(), 2u);
}

TEST_F(EventsApi, ListsByTimeRangeSourceAndDetailType) {
  post(R"([
    {"id":"e1","source":"s1","detail-type":"A","detail":{},"time":"2026-01-01T00:00:00Z"},
    {"id":"e2","source":"s1","detail-type":"B","detail":{},"time":"2026-01-02T00:00:00Z"},
    {"id":"e3","source":"s2","detail-type":"A","detail":{},"time":"2026-01-03T00:00:00Z"},
    {"id":"e4","source":"s2","detail-type":"B","detail":{},"time":"2026-01-04T00:00:00+01:00"}
  ])");
  auto ids = [&](const std::string& query) {
    std::vector<std::string> out;
    const json::value page = get("/v1/events?" + query);
    for (const auto& e : page.at("events").as_array()) {
      out.emplace_back(e.at("id").as_string());
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids(""), (V{"e1", "e2", "e3", "e4"}));
  EXPECT_EQ(ids("order=desc"), (V{"e4", "e3", "e2", "e1"}));
  EXPECT_EQ(ids("source=s1"), (V{"e1", "e2"}));
  EXPECT_EQ(ids("detail-type=A"), (V{"e1", "e3"}));
  EXPECT_EQ(ids("source=s2&detail-type=B"), (V{"e4"}));
  EXPECT_EQ(ids("since=2026-01-02T00:00:00Z&until=2026-01-03T00:00:00Z"), (V{"e2"}));
  EXPECT_EQ(ids("since=2026-01-03T23:30:00Z"), (V{}));
  EXPECT_EQ(ids("since=2026-01-03T22:30:00Z"), (V{"e4"}));
}

TEST_F(EventsApi, PagesThroughEveryEventExactlyOnceWithCursors) {
  std::string body = "[";
  for (int i = 0; i < 250; ++i) {
    body += (i ? "," : "") + std::string(R"({"source":"p","detail-type":"t","detail":{"i":)") +
            std::to_string(i) + R"(},"time":"2026-02-01T00:00:)" + (i % 60 < 10 ? "0" : "") +
            std::to_string(i % 60) + "Z\"}";
  }
  body += "]";
  ASSERT_EQ(post(body).at("accepted").as_int64(), 250);

  for (const std::string order : {"asc", "desc"}) {
    std::set<std::string> seen;
    std::string cursor;
    std::string last_time;
    int pages = 0;
    for (;;) {
      const auto page =
          get("/v1/events?limit=100&order=" + order + (cursor.empty() ? "" : "&cursor=" + cursor));
      ++pages;
      for (const auto& e : page.at("events").as_array()) {
        EXPECT_TRUE(seen.insert(std::string(e.at("id").as_string())).second);
        const std::string t(e.at("time").as_string());
        if (!last_time.empty()) {
          EXPECT_TRUE(order == "asc" ? last_time <= t : last_time >= t);
        }
        last_time = t;
      }
      if (page.at("next_cursor").is_null()) break;
      cursor = std::string(page.at("next_cursor").as_string());
    }
    EXPECT_EQ(seen.size(), 250u);
    EXPECT_EQ(pages, 3);
    last_time.clear();
  }
}

TEST_F(EventsApi, RefusesBadListParametersWithTheirNames) {
  for (const std::string q : {"limit=0", "limit=1001", "limit=x", "since=2026-13-01T00:00:00Z",
                              "cursor=nonsense", "order=up", "colour=red"}) {
    const auto answer = get("/v1/events?" + q, 400);
    const std::string message(answer.at("message").as_string());
    EXPECT_NE(message.find(q.substr(0, q.find('='))), std::string::npos) << message;
  }
}

TEST_F(EventsApi, AnswersNotFoundForAnUnknownId) {
  const auto answer = get("/v1/events/no-such-id", 404);
  EXPECT_EQ(answer.at("error").as_string(), "NotFound");
}

TEST_F(EventsApi, RefusesAnUnsupportedContentType) {
  const auto answer = post(R"({"source":"a","detail-type":"t","detail":{}})", 415, "text/xml");
  EXPECT_EQ(answer.at("error").as_string(), "UnsupportedMediaType");
}

}  // namespace
}  // namespace homeostat::testing
