// Starting and stopping the real daemon: graceful stop under load, restarts, the data
// directory lock, the loopback rule, TLS, log formats, retention and configuration errors.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "support/daemon_process.hpp"

namespace homeostat::testing {
namespace {

namespace json = boost::json;

std::string event_with_id(const std::string& id) {
  return R"({"id":")" + id + R"(","source":"life","detail-type":"t","detail":{}})";
}

TEST(Lifecycle, StopsGracefullyUnderLoadAndKeepsEveryAcknowledgedEvent) {
  TempDir dir;
  DaemonOptions options{.data_dir = dir.path() + "/data"};
  auto daemon = std::make_unique<DaemonProcess>(options);
  ASSERT_TRUE(daemon->start()) << daemon->log();

  // Four clients send until the daemon goes away, remembering what was acknowledged.
  std::atomic<bool> done{false};
  std::vector<std::vector<std::string>> acked(4);
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      auto c = daemon->client();
      for (int n = 0; !done; ++n) {
        const std::string id = "g" + std::to_string(t) + "-" + std::to_string(n);
        auto r = c.send("POST", "/v1/events", event_with_id(id));
        if (!r.ok() || r->status != 200) break;
        acked[t].push_back(id);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(daemon->terminate(), 0) << daemon->log();
  done = true;
  for (auto& c : clients)
    c.join();
  EXPECT_NE(daemon->log().find("msg=stopped"), std::string::npos);

  DaemonProcess again(options);
  ASSERT_TRUE(again.start()) << again.log();
  auto c = again.client();
  size_t total = 0;
  for (const auto& ids : acked) {
    for (const auto& id : ids) {
      EXPECT_EQ(c.send("GET", "/v1/events/" + id)->status, 200) << id;
    }
    total += ids.size();
  }
  EXPECT_GT(total, 0u);
}

TEST(Lifecycle, RefusesASecondDaemonOnTheSameDataDirectory) {
  TempDir dir;
  DaemonProcess first(DaemonOptions{.data_dir = dir.path() + "/data"});
  ASSERT_TRUE(first.start());
  DaemonProcess second(DaemonOptions{.data_dir = dir.path() + "/data", .wait_ready = false});
  ASSERT_TRUE(second.start());
  EXPECT_EQ(second.wait_exit(10'000), 1);
  EXPECT_NE(second.log().find("already using the data directory"), std::string::npos);
}

TEST(Lifecycle, RefusesPlainHttpOnANonLoopbackAddressUnlessAllowed) {
  TempDir dir;
  DaemonProcess refused(
      DaemonOptions{.data_dir = dir.path() + "/a", .listen = "0.0.0.0:0", .wait_ready = false});
  ASSERT_TRUE(refused.start());
  EXPECT_EQ(refused.wait_exit(10'000), 1);
  EXPECT_NE(refused.log().find("refusing to serve plain HTTP"), std::string::npos);
  // Refused before anything was opened or written.
  EXPECT_TRUE(read_file(dir.path() + "/a/admin.token").empty());

  DaemonProcess allowed(DaemonOptions{.data_dir = dir.path() + "/b",
                                      .listen = "0.0.0.0:0",
                                      .extra_args = {"--allow-insecure-listen"}});
  EXPECT_TRUE(allowed.start()) << allowed.log();
}

TEST(Lifecycle, ServesHttpsWithTheConfiguredCertificate) {
  TempDir dir;
  const std::string cert = dir.path() + "/cert.pem";
  const std::string key = dir.path() + "/key.pem";
  const std::string make_cert =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " 2>/dev/null";
  ASSERT_EQ(std::system(make_cert.c_str()), 0);

  DaemonProcess d(DaemonOptions{.data_dir = dir.path() + "/data",
                                .extra_args = {"--tls-cert", cert, "--tls-key", key}});
  ASSERT_TRUE(d.start()) << d.log();
  ASSERT_EQ(d.url().rfind("https://", 0), 0u) << d.url();

  cli::Client trusted(cli::Endpoint{d.url(), d.admin_token(), cert});
  auto r = trusted.send("POST", "/v1/events", event_with_id("over-tls"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 200) << r->body;

  cli::Client untrusted(cli::Endpoint{d.url(), d.admin_token(), ""});
  EXPECT_FALSE(untrusted.send("GET", "/healthz").ok());
}

TEST(Lifecycle, WritesJsonLogLinesWithRequestIds) {
  TempDir dir;
  DaemonProcess d(
      DaemonOptions{.data_dir = dir.path() + "/data", .extra_args = {"--log-format", "json"}});
  ASSERT_TRUE(d.start());
  ASSERT_EQ(d.client().send("GET", "/v1/events")->status, 200);
  EXPECT_EQ(d.terminate(), 0);

  std::istringstream lines(d.log());
  std::string line;
  int requests = 0;
  while (std::getline(lines, line)) {
    boost::system::error_code ec;
    const json::value v = json::parse(line, ec);
    ASSERT_FALSE(ec) << "not a JSON line: " << line;
    if (v.at("msg").as_string() == "request") {
      ++requests;
      EXPECT_FALSE(v.at("request_id").as_string().empty());
      EXPECT_EQ(v.at("status").as_int64(), 200);
    }
  }
  EXPECT_EQ(requests, 1);
}

TEST(Lifecycle, KeepsEventsAcrossARestart) {
  TempDir dir;
  DaemonOptions options{.data_dir = dir.path() + "/data"};
  {
    DaemonProcess d(options);
    ASSERT_TRUE(d.start());
    EXPECT_EQ(d.client().send("POST", "/v1/events", event_with_id("kept"))->status, 200);
    EXPECT_EQ(d.terminate(), 0);
  }
  DaemonProcess d(options);
  ASSERT_TRUE(d.start());
  EXPECT_EQ(d.client().send("GET", "/v1/events/kept")->status, 200);
}

TEST(Lifecycle, RemovesTheOldestEventsWhenTheLogPassesItsSizeLimit) {
  TempDir dir;
  std::ofstream(dir.path() + "/homeostat.yaml")
      << "retention:\n  max_bytes: 20KiB\n  interval: 100ms\n";
  DaemonProcess d(DaemonOptions{.data_dir = dir.path() + "/data", .config_dir = dir.path()});
  ASSERT_TRUE(d.start()) << d.log();
  auto c = d.client();
  std::string body = "[";
  for (int i = 0; i < 200; ++i) {
    body += std::string(i ? "," : "") + R"({"id":"r)" + std::to_string(1000 + i) +
            R"(","source":"ret","detail-type":"t","detail":{"pad":")" + std::string(400, 'x') +
            "\"}}";
  }
  body += "]";
  ASSERT_EQ(c.send("POST", "/v1/events", body)->status, 200);

  // Within a few retention passes only the newest ~20 KiB remain.
  long oldest = 200;
  for (int i = 0; i < 50 && oldest == 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    oldest = c.send("GET", "/v1/events/r1000")->status;
  }
  EXPECT_EQ(oldest, 404);
  EXPECT_EQ(c.send("GET", "/v1/events/r1199")->status, 200);
  const auto page = json::parse(c.send("GET", "/v1/events?limit=1000")->body);
  const size_t left = page.at("events").as_array().size();
  EXPECT_GT(left, 10u);
  EXPECT_LT(left, 60u);
}

TEST(Lifecycle, RefusesABadConfigurationFileNamingTheSetting) {
  TempDir dir;
  std::ofstream(dir.path() + "/homeostat.yaml") << "http:\n  thread: 4\n";
  DaemonProcess d(DaemonOptions{
      .data_dir = dir.path() + "/data", .config_dir = dir.path(), .wait_ready = false});
  ASSERT_TRUE(d.start());
  EXPECT_EQ(d.wait_exit(10'000), 2);
  EXPECT_NE(d.log().find("unknown setting \"http.thread\""), std::string::npos) << d.log();
}

}  // namespace
}  // namespace homeostat::testing
