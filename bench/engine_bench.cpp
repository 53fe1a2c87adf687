// engine_bench: throughput and start latency of the durable execution engine, in-process.
//
//   engine_bench throughput --store sqlite|memory [--executions N] [--in-flight N]
//                [--workers N] [--items N] [--dir DIR]
//     Runs N executions of a 10-state machine whose Map runs `--items` items (3 states each),
//     keeping `--in-flight` executions running at once, and prints state transitions/s,
//     history events/s, executions/s and commits.
//   engine_bench latency --store sqlite|memory [--starts N] [--dir DIR]
//     Starts N executions of a machine that waits 60 s, one after another, and prints the
//     latency of start() (until ExecutionStarted is durable): p50, p99, max.
//   engine_bench machine
//     Prints the throughput machine, e.g. for `homeostat asl run`.
//
// Tasks use test:echo, which answers at once: the figures are the engine's own cost.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.hpp"
#include "engine/test_resources.hpp"
#include "store/memory/execution_store.hpp"
#include "store/sqlite/execution_store.hpp"

namespace {
namespace json = boost::json;
using namespace homeostat;
using Clock = std::chrono::steady_clock;

// Ten top-level states; the Map's item processor has three more.
constexpr const char* kMachine = R"json({
  "StartAt": "Init",
  "States": {
    "Init": {"Type": "Pass", "Parameters": {"items.$": "$.items", "host.$": "$.host"},
             "Next": "Lookup"},
    "Lookup": {"Type": "Task", "Resource": "test:echo", "ResultPath": "$.lookup",
               "Next": "Route"},
    "Route": {"Type": "Choice", "Choices": [
                {"Variable": "$.host", "StringMatches": "db-*", "Next": "Fan"}],
              "Default": "Fan"},
    "Fan": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0, "ResultPath": "$.fixed",
            "ItemSelector": {"i.$": "$$.Map.Item.Index", "host.$": "$.host"},
            "ItemProcessor": {"StartAt": "Prep", "States": {
              "Prep": {"Type": "Pass", "ResultPath": "$.prepared", "Result": true,
                       "Next": "Fix"},
              "Fix": {"Type": "Task", "Resource": "test:echo", "Next": "Check"},
              "Check": {"Type": "Pass", "Parameters": {"i.$": "$.i"}, "End": true}}},
            "Next": "Count"},
    "Count": {"Type": "Pass", "Parameters": {"n.$": "States.ArrayLength($.fixed)",
                                             "host.$": "$.host"}, "Next": "Verify"},
    "Verify": {"Type": "Task", "Resource": "test:echo", "Next": "Decide"},
    "Decide": {"Type": "Choice", "Choices": [
                 {"Variable": "$.n", "NumericGreaterThanEquals": 0, "Next": "Report"}],
               "Default": "Failed"},
    "Report": {"Type": "Pass", "Next": "Pause"},
    "Pause": {"Type": "Wait", "Seconds": 0, "Next": "Done"},
    "Done": {"Type": "Succeed"},
    "Failed": {"Type": "Fail", "Error": "Bench.Failed"}
  }
})json";

constexpr const char* kWaiting = R"json({"StartAt": "W", "States": {
  "W": {"Type": "Wait", "Seconds": 60, "End": true}}})json";

struct Options {
  std::string store = "sqlite";
  std::string dir;
  int executions = 200;
  int in_flight = 32;
  int workers = 2;
  int items = 100;
  int starts = 2000;
};

struct Harness {
  std::filesystem::path dir;
  std::unique_ptr<store::ExecutionStore> store;
  engine::ResourceRegistry registry;
  std::unique_ptr<engine::Engine> engine;
};

std::unique_ptr<Harness> open_harness(const Options& options) {
  auto h = std::make_unique<Harness>();
  if (options.store == "sqlite") {
    h->dir = options.dir.empty() ? std::filesystem::temp_directory_path() / "homeostat-bench"
                                 : std::filesystem::path(options.dir);
    std::filesystem::remove_all(h->dir);
    std::filesystem::create_directories(h->dir);
    auto store = store::sqlite::SqliteExecutionStore::open({(h->dir / "executions.db").string()});
    if (!store) {
      std::fprintf(stderr, "engine_bench: %s\n", store.error().message().c_str());
      return nullptr;
    }
    h->store = std::move(*store);
  } else {
    h->store = std::make_unique<store::memory::MemoryExecutionStore>();
  }
  engine::add_test_resources(h->registry, {});
  engine::EngineOptions engine_options;
  engine_options.store = h->store.get();
  engine_options.tasks = &h->registry;
  engine_options.workers = options.workers;
  auto engine = engine::Engine::open(engine_options);
  if (!engine) {
    std::fprintf(stderr, "engine_bench: %s\n", engine.error().message().c_str());
    return nullptr;
  }
  h->engine = std::move(*engine);
  return h;
}

int throughput(const Options& options) {
  auto h = open_harness(options);
  if (!h) return 1;
  if (auto hash = h->engine->register_machine("bench", kMachine); !hash) {
    std::fprintf(stderr, "engine_bench: %s\n", hash.error().message().c_str());
    return 1;
  }
  json::array items;
  for (int i = 0; i < options.items; ++i)
    items.emplace_back(i);
  const json::value input = json::object{{"host", "db-1"}, {"items", items}};

  // Each client thread keeps its share of executions in flight: start, wait, start again.
  std::atomic<int> next{0};
  std::atomic<int> failed{0};
  const auto before_stats = h->engine->stats();
  const auto start = Clock::now();
  std::vector<std::thread> clients;
  clients.reserve(static_cast<size_t>(options.in_flight));
  for (int c = 0; c < options.in_flight; ++c) {
    clients.emplace_back([&] {
      while (next.fetch_add(1) < options.executions) {
        engine::StartRequest request;
        request.state_machine = "bench";
        request.input = input;
        auto started = h->engine->start(request);
        if (!started) {
          ++failed;
          continue;
        }
        auto ended = h->engine->wait(started->id, std::chrono::minutes(5));
        if (!ended || ended->status != store::ExecutionStatus::kSucceeded) ++failed;
      }
    });
  }
  for (auto& client : clients)
    client.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const auto stats = h->engine->stats();

  const double transitions = static_cast<double>(stats.transitions - before_stats.transitions);
  const double events = static_cast<double>(stats.history_events - before_stats.history_events);
  std::printf(
      "store=%s executions=%d items=%d in_flight=%d workers=%d seconds=%.2f failed=%d\n"
      "  transitions/s=%.0f history_events/s=%.0f executions/s=%.1f transitions/execution=%.0f "
      "commits=%lld events/commit=%.0f\n",
      options.store.c_str(), options.executions, options.items, options.in_flight, options.workers,
      seconds, failed.load(), transitions / seconds, events / seconds, options.executions / seconds,
      transitions / options.executions,
      static_cast<long long>(stats.commits - before_stats.commits),
      events / std::max<double>(1, static_cast<double>(stats.commits - before_stats.commits)));
  h->engine->shutdown();
  return failed.load() == 0 ? 0 : 1;
}

int latency(const Options& options) {
  auto h = open_harness(options);
  if (!h) return 1;
  if (auto hash = h->engine->register_machine("waiting", kWaiting); !hash) return 1;

  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(options.starts));
  for (int i = 0; i < options.starts; ++i) {
    engine::StartRequest request;
    request.state_machine = "waiting";
    request.input = json::object{{"i", i}};
    const auto before = Clock::now();
    auto started = h->engine->start(request);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - before).count());
    if (!started) {
      std::fprintf(stderr, "engine_bench: %s\n", started.error().message().c_str());
      return 1;
    }
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[static_cast<size_t>(q * static_cast<double>(ms.size() - 1))];
  };
  std::printf("store=%s starts=%d start latency p50=%.3f ms p99=%.3f ms max=%.3f ms\n",
              options.store.c_str(), options.starts, at(0.5), at(0.99), ms.back());
  h->engine->shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("engine_bench: the execution engine's throughput and start latency");
  app.require_subcommand(1);
  Options options;
  auto common = [&](CLI::App* cmd) {
    cmd->add_option("--store", options.store, "sqlite or memory")
        ->check(CLI::IsMember({"sqlite", "memory"}));
    cmd->add_option("--dir", options.dir, "Where the SQLite file goes (emptied first)");
    cmd->add_option("--workers", options.workers, "Engine worker threads");
  };
  CLI::App* tp = app.add_subcommand("throughput", "Transitions and executions per second");
  common(tp);
  tp->add_option("--executions", options.executions, "Executions to run");
  tp->add_option("--in-flight", options.in_flight, "Executions running at once");
  tp->add_option("--items", options.items, "Items in the Map");
  CLI::App* lat = app.add_subcommand("latency", "Start latency, one start at a time");
  common(lat);
  lat->add_option("--starts", options.starts, "Executions to start");
  CLI::App* print = app.add_subcommand("machine", "Print the throughput machine's definition");
  CLI11_PARSE(app, argc, argv);

  if (print->parsed()) {
    std::printf("%s\n", kMachine);
    return 0;
  }
  if (tp->parsed()) return throughput(options);
  return latency(options);
}
