// Nothing acknowledged is ever lost: clients send events while the daemon is killed with
// SIGKILL at a random moment, twenty times over one data directory; after each restart every
// acknowledged id is there exactly once, with the content that was sent.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <random>
#include <thread>

#include "support/daemon_process.hpp"

namespace homeostat::testing {
namespace {

namespace json = boost::json;

constexpr int kRounds = 20;
constexpr int kClients = 6;

// Reads every stored event through the API, following cursors; returns id -> count and
// id -> the "n" of its detail.
void read_all(DaemonProcess& d, std::map<std::string, int>& count,
              std::map<std::string, int64_t>& payload) {
  auto c = d.client();
  std::string cursor;
  for (;;) {
    auto r = c.send("GET", "/v1/events?limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200) << r->body;
    const json::value page = json::parse(r->body);
    for (const auto& e : page.at("events").as_array()) {
      const std::string id(e.at("id").as_string());
      ++count[id];
      payload[id] = e.at("detail").at("n").as_int64();
    }
    if (page.at("next_cursor").is_null()) return;
    cursor = std::string(page.at("next_cursor").as_string());
  }
}

TEST(Crash, EveryAcknowledgedEventSurvivesRepeatedKillNine) {
  TempDir dir;
  const DaemonOptions options{.data_dir = dir.path() + "/data"};
  std::mt19937 rng(20261203);
  std::map<std::string, int64_t> acked;  // every id ever acknowledged -> its payload
  std::mutex acked_mu;
  int64_t next_n = 0;

  for (int round = 0; round < kRounds; ++round) {
    DaemonProcess d(options);
    ASSERT_TRUE(d.start()) << "round " << round << ": " << d.log();

    // Clients send batches of 1 to 40 events; half the events carry their own id, half get
    // one from the daemon, and the answer tells us which ids were acknowledged.
    std::atomic<bool> stop{false};
    std::atomic<int64_t> n_counter{next_n};
    std::vector<std::thread> clients;
    for (int t = 0; t < kClients; ++t) {
      clients.emplace_back([&, t] {
        std::mt19937 local(static_cast<unsigned>(round * 100 + t));
        auto c = d.client();
        for (int req = 0; !stop; ++req) {
          const int size = 1 + static_cast<int>(local() % 40);
          std::vector<int64_t> ns;
          std::string body = "[";
          for (int i = 0; i < size; ++i) {
            const int64_t n = n_counter++;
            ns.push_back(n);
            body += i ? "," : "";
            body += "{";
            if (n % 2 == 0) body += R"("id":"own-)" + std::to_string(n) + R"(",)";
            body +=
                R"("source":"crash","detail-type":"t","detail":{"n":)" + std::to_string(n) + "}}";
          }
          body += "]";
          auto r = c.send("POST", "/v1/events", body);
          if (!r.ok() || r->status != 200) return;
          const json::value answer = json::parse(r->body);
          const auto& results = answer.at("results").as_array();
          std::lock_guard lock(acked_mu);
          for (size_t i = 0; i < results.size(); ++i) {
            acked[std::string(results[i].at("id").as_string())] = ns[i];
          }
        }
      });
    }

    // Kill at a random moment while the clients are busy.
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 500));
    d.kill9();
    stop = true;
    for (auto& c : clients)
      c.join();
    next_n = n_counter;

    // Restart and compare.
    DaemonProcess check(options);
    ASSERT_TRUE(check.start()) << "round " << round << ": " << check.log();
    std::map<std::string, int> count;
    std::map<std::string, int64_t> payload;
    read_all(check, count, payload);
    size_t missing = 0;
    for (const auto& [id, n] : acked) {
      if (count[id] == 0) {
        ++missing;
        ADD_FAILURE() << "round " << round << ": acknowledged id " << id << " is missing";
        continue;
      }
      EXPECT_EQ(payload[id], n) << id;
    }
    for (const auto& [id, times] : count) {
      EXPECT_EQ(times, 1) << "id " << id << " stored " << times << " times";
    }
    ASSERT_EQ(missing, 0u) << "round " << round;
    check.terminate();
  }
  EXPECT_GT(acked.size(), static_cast<size_t>(kRounds * 10));
  std::printf("crash test: %zu acknowledged events survived %d SIGKILLs\n", acked.size(), kRounds);
}

}  // namespace
}  // namespace homeostat::testing
