// Delivery is at-least-once from the durable log: events are sent while the webhook is slow
// and sometimes failing, and the daemon is killed with SIGKILL at a random moment, eight times
// over one data directory. After a last restart, every acknowledged event reaches the webhook
// at least once, and no delivery is left pending.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "support/daemon_process.hpp"
#include "support/webhook_receiver.hpp"

namespace homeostat::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

constexpr int kRounds = 8;

TEST(DeliveryCrash, EveryAcknowledgedEventIsDeliveredAcrossRepeatedKillNine) {
  TempDir dir;
  WebhookReceiver hook;
  hook.set_delay(milliseconds(5));  // deliveries are in flight when the kill comes

  const std::string config = dir.path() + "/config";
  std::filesystem::create_directories(config + "/rules");
  std::ofstream(config + "/homeostat.yaml")
      << "delivery:\n  retry_base: 20ms\n  retry_max: 100ms\n  poll: 20ms\nlog:\n  level: warn\n";
  std::ofstream(config + "/rules/all.yaml")
      << "name: all\npattern: {source: [crash]}\ntargets:\n  - id: hook\n    webhook: {url: "
      << hook.url() << "}\n";
  const DaemonOptions options{.data_dir = dir.path() + "/data", .config_dir = config};

  std::mt19937 rng(20261203);
  std::set<std::string> acked;
  std::mutex acked_mu;
  std::atomic<int64_t> next_n{0};
  for (int round = 0; round < kRounds; ++round) {
    DaemonProcess d(options);
    ASSERT_TRUE(d.start()) << "round " << round << ": " << d.log();
    hook.fail_next(static_cast<int>(rng() % 5), 503);

    // Two clients send batches of 1 to 20 events with their own ids.
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int t = 0; t < 2; ++t) {
      clients.emplace_back([&, t] {
        std::mt19937 local(static_cast<unsigned>(round * 10 + t));
        auto c = d.client();
        // A bounded number per round keeps the webhook's backlog (and the test) short.
        for (int sent = 0; !stop && sent < 500;) {
          const int size = 1 + static_cast<int>(local() % 20);
          std::vector<std::string> ids;
          std::string body = "[";
          for (int i = 0; i < size; ++i) {
            ids.push_back("ev-" + std::to_string(next_n++));
            body += std::string(i ? "," : "") + R"({"id":")" + ids.back() +
                    R"(","source":"crash","detail-type":"t","detail":{}})";
          }
          body += "]";
          auto r = c.send("POST", "/v1/events", body);
          if (!r.ok() || r->status != 200) {
            return;
          }
          sent += size;
          std::lock_guard lock(acked_mu);
          acked.insert(ids.begin(), ids.end());
        }
      });
    }
    std::this_thread::sleep_for(milliseconds(100 + rng() % 400));
    d.kill9();
    stop = true;
    for (auto& c : clients) {
      c.join();
    }
  }

  // A last start delivers whatever is left.
  DaemonProcess last(options);
  ASSERT_TRUE(last.start()) << last.log();
  // Waits while deliveries keep arriving; gives up after 30 s without one. The webhook also
  // sees events whose answer the kill cut off, so the check is for every acknowledged id, not
  // for a count.
  std::set<std::string> seen;
  auto all_seen = [&] {
    return std::includes(seen.begin(), seen.end(), acked.begin(), acked.end());
  };
  for (int idle = 0; idle < 1500 && !all_seen(); ++idle) {
    std::this_thread::sleep_for(milliseconds(20));
    size_t before = seen.size();
    for (const auto& r : hook.requests()) {
      seen.insert(r.headers.at("x-homeostat-event-id"));
    }
    if (seen.size() > before) {
      idle = 0;
    }
  }
  size_t missing = 0;
  for (const auto& id : acked) {
    if (!seen.contains(id)) {
      ++missing;
      ADD_FAILURE() << "acknowledged event " << id << " was never delivered";
    }
  }
  if (missing > 0) {
    // Say where the first missing event stands, to tell a matching gap from a delivery gap.
    for (const auto& id : acked) {
      if (!seen.contains(id)) {
        auto ev = last.client().send("GET", "/v1/events/" + id);
        auto del = last.client().send("GET", "/v1/deliveries?event_id=" + id);
        ADD_FAILURE() << "first missing " << id << ": event " << (ev.ok() ? ev->body : "?")
                      << " deliveries " << (del.ok() ? del->body : "?");
        auto list = json::parse(del->body).at("deliveries").as_array();
        if (!list.empty()) {
          auto one =
              last.client().send("GET", "/v1/deliveries/" + json::serialize(list[0].at("id")));
          ADD_FAILURE() << one->body;
        }
        break;
      }
    }
  }
  ASSERT_EQ(missing, 0u);

  // Nothing is left pending, and repeats are the exception that at-least-once allows.
  for (int i = 0; i < 500; ++i) {
    auto r = last.client().send("GET", "/v1/deliveries?state=pending&limit=1");
    ASSERT_TRUE(r.ok());
    if (json::parse(r->body).at("deliveries").as_array().empty()) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  auto pending = last.client().send("GET", "/v1/deliveries?state=pending&limit=1");
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(json::parse(pending->body).at("deliveries").as_array().empty()) << pending->body;
  EXPECT_GT(acked.size(), static_cast<size_t>(kRounds * 10));
  std::printf("delivery crash test: %zu acknowledged events, %zu webhook requests, %d SIGKILLs\n",
              acked.size(), hook.count(), kRounds);
  last.terminate();
}

}  // namespace
}  // namespace homeostat::testing
