#include "daemon/daemon.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <boost/json.hpp>

#include "api/auth.hpp"
#include "api/router.hpp"
#include "api/routes.hpp"
#include "api/server.hpp"
#include "bus/deliverer.hpp"
#include "bus/dispatcher.hpp"
#include "bus/event_log.hpp"
#include "bus/rule_files.hpp"
#include "bus/rule_set.hpp"
#include "bus/senders.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "daemon/state_machines.hpp"
#include "engine/engine.hpp"
#include "engine/test_resources.hpp"
#include "events/envelope.hpp"
#include "store/sqlite/execution_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace homeostat::daemon {
namespace {

const core::Logger kLog("daemon");
namespace fs = std::filesystem;

// Holds an exclusive lock on <data>/homeostat.lock for the daemon's life, so that two daemons
// never write one store.
class DataDirLock {
 public:
  static core::Result<std::unique_ptr<DataDirLock>> acquire(const std::string& dir) {
    const std::string path = (fs::path(dir) / "homeostat.lock").string();
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      return core::Error(core::ErrorCode::kIo, "cannot open " + path + ": " + std::strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return core::Error(core::ErrorCode::kUnavailable,
                         "another homeostat is already using the data directory " + dir);
    }
    return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
  }
  ~DataDirLock() { ::close(fd_); }
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

// Writes `text` to `path` readable by the owner only, replacing it atomically.
core::Status write_private_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return core::Error(core::ErrorCode::kIo, "cannot write " + tmp + ": " + std::strerror(errno));
  }
  const bool ok = ::fchmod(fd, 0600) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return core::Error(core::ErrorCode::kIo, "cannot write " + path + ": " + std::strerror(errno));
  }
  return {};
}

// Makes sure an admin can reach the API: from HOMEOSTAT_ADMIN_TOKEN when set, otherwise a token
// made on first start and left in the data directory for the local CLI.
core::Status bootstrap_admin(api::Authenticator& auth, const std::string& data_dir,
                             const EnvLookup& env) {
  if (auto given = env("HOMEOSTAT_ADMIN_TOKEN"); given && !given->empty()) {
    if (given->size() < 16) {
      return core::Error(core::ErrorCode::kInvalidArgument,
                         "HOMEOSTAT_ADMIN_TOKEN must be at least 16 characters");
    }
    kLog.info("admin token taken from the environment", {{"variable", "HOMEOSTAT_ADMIN_TOKEN"}});
    return auth.ensure("admin", api::Role::kAdmin, *given);
  }
  const std::string file = admin_token_file(data_dir);
  if (auth.has("admin")) {
    std::error_code ec;
    if (fs::exists(file, ec)) {
      kLog.info("admin token", {{"file", file}});
    } else {
      kLog.warn(
          "the admin token exists but its file does not; set HOMEOSTAT_ADMIN_TOKEN to "
          "replace it",
          {{"file", file}});
    }
    return {};
  }
  auto made = auth.create("admin", api::Role::kAdmin);
  if (!made) {
    return made.error();
  }
  if (auto s = write_private_file(file, made->token + "\n"); !s.ok()) {
    return s;
  }
  kLog.info("created the admin token", {{"file", file}});
  return {};
}

// The HTTP server's options from the configuration.
core::Result<api::ServerOptions> server_options(const Config& config) {
  auto listen = split_listen(config.listen);
  if (!listen) {
    return listen.error();
  }
  api::ServerOptions server;
  server.host = listen->first;
  server.port = listen->second;
  server.threads = config.http_threads;
  server.max_header_bytes = config.max_header_bytes;
  // Room for the largest batch plus a little framing, so the envelope's own limit, with its
  // clearer message, is the one a client meets first.
  server.max_body_bytes = config.limits.max_batch_bytes + 64 * 1024;
  server.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  server.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  server.allow_insecure = config.allow_insecure_listen;
  if (!config.tls_cert.empty()) {
    server.tls = api::TlsOptions{config.tls_cert, config.tls_key};
  }
  if (auto s = api::check_listen_address(server); !s.ok()) {
    return s.error();
  }
  return server;
}

}  // namespace

std::string address_file(const std::string& data_dir) {
  return (fs::path(data_dir) / "homeostat.addr").string();
}

std::string admin_token_file(const std::string& data_dir) {
  return (fs::path(data_dir) / "admin.token").string();
}

struct Daemon::Parts {
  Config config;
  std::unique_ptr<DataDirLock> lock;
  std::unique_ptr<store::sqlite::SqliteStore> store;
  std::unique_ptr<api::Authenticator> auth;
  std::unique_ptr<core::IdGenerator> ids;
  std::unique_ptr<events::EnvelopeParser> parser;
  std::unique_ptr<bus::EventLog> log;
  std::unique_ptr<bus::RuleSet> rules;
  std::unique_ptr<bus::Senders> senders;
  std::unique_ptr<bus::Deliverer> deliverer;
  std::unique_ptr<bus::Dispatcher> dispatcher;
  std::unique_ptr<store::sqlite::SqliteExecutionStore> executions;
  std::unique_ptr<engine::ResourceRegistry> resources;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<StateMachineCatalog> machines;
  std::unique_ptr<api::Router> router;
  std::unique_ptr<api::Server> server;
  std::string url;
  bool stopped = false;
};

// Reads <config>/rules again; the rules in force change only if every file is valid.
core::Result<size_t> Daemon::reload_files(Parts& p) {
  auto file_rules = bus::load_rule_files(p.config.config_dir);
  if (!file_rules) {
    kLog.error("rule files not reloaded", {{"error", file_rules.error().message()}});
    return file_rules.error();
  }
  if (auto s = p.rules->reload_files(std::move(*file_rules)); !s.ok()) {
    kLog.error("rule files not reloaded", {{"error", s.error().message()}});
    return s.error();
  }
  size_t count = p.rules->snapshot()->all().size();
  kLog.info("rule files reloaded", {{"rules", static_cast<int64_t>(count)}});
  return count;
}

// Opens <data>/executions.db, the task resources, the engine and the state machines.
core::Status Daemon::start_engine(Parts& p) {
  store::sqlite::ExecutionStoreOptions so;
  so.path = (fs::path(p.config.data_dir) / "executions.db").string();
  so.synchronous_full = p.config.synchronous_full;
  auto opened = store::sqlite::SqliteExecutionStore::open(so);
  if (!opened) {
    core::Error e = opened.error();
    return e.with_context("store " + so.path);
  }
  p.executions = std::move(*opened);

  // Only the test resources exist so far; test:record only when the operator names its file.
  p.resources = std::make_unique<engine::ResourceRegistry>();
  engine::add_test_resources(*p.resources,
                             engine::TestResourceOptions{p.config.engine_test_record_file});

  engine::EngineOptions eo;
  eo.store = p.executions.get();
  eo.tasks = p.resources.get();
  eo.workers = p.config.engine_workers;
  auto engine = engine::Engine::open(eo);
  if (!engine) {
    core::Error e = engine.error();
    return e.with_context("engine");
  }
  p.engine = std::move(*engine);
  const auto stats = p.engine->stats();
  kLog.info("engine started", {{"workers", static_cast<int64_t>(p.config.engine_workers)},
                               {"running", stats.running}});

  // A bad state machine file is logged and skipped; the daemon starts with the others.
  p.machines =
      std::make_unique<StateMachineCatalog>(*p.engine, p.config.config_dir, p.config.data_dir);
  if (auto loaded = p.machines->load(); !loaded) {
    core::Error e = loaded.error();
    return e.with_context("state machines");
  }
  return {};
}

core::Result<std::unique_ptr<Daemon>> Daemon::start(const Config& config, const EnvLookup& env) {
  auto p = std::make_unique<Parts>();
  p->config = config;
  const core::Clock& clock = core::system_clock();

  // A listen address that would be refused is refused before anything is opened or written.
  auto server = server_options(config);
  if (!server) {
    return server.error();
  }

  // The data directory, private to the daemon's user, and locked.
  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  if (ec) {
    return core::Error(core::ErrorCode::kIo,
                       "cannot create the data directory " + config.data_dir + ": " + ec.message());
  }
  ::chmod(config.data_dir.c_str(), 0700);
  auto lock = DataDirLock::acquire(config.data_dir);
  if (!lock) {
    return lock.error();
  }
  p->lock = std::move(*lock);

  // The store.
  store::sqlite::SqliteOptions so;
  so.path = (fs::path(config.data_dir) / "homeostat.db").string();
  so.synchronous = config.synchronous_full ? store::sqlite::Synchronous::kFull
                                           : store::sqlite::Synchronous::kNormal;
  so.index_delay_ms = config.index_delay_ms;
  auto opened = store::sqlite::SqliteStore::open(so, clock.now_ms());
  if (!opened) {
    return opened.error().with_context("store " + so.path);
  }
  p->store = std::move(*opened);

  // Tokens.
  p->auth = std::make_unique<api::Authenticator>(*p->store, clock);
  if (auto s = p->auth->load(); !s.ok()) {
    return s.error();
  }
  if (auto s = bootstrap_admin(*p->auth, config.data_dir, env); !s.ok()) {
    return s.error();
  }

  // The event log and the envelope parser in front of it.
  p->ids = std::make_unique<core::IdGenerator>(clock);
  p->parser =
      std::make_unique<events::EnvelopeParser>(config.limits, config.defaults, *p->ids, clock);
  // The rules: from files in the config directory, and those made through the API.
  auto file_rules = bus::load_rule_files(config.config_dir);
  if (!file_rules) {
    return file_rules.error().with_context("rules");
  }
  std::vector<bus::Rule> api_rules;
  auto stored = p->store->list_rules();
  if (!stored) {
    return stored.error();
  }
  for (const auto& [name, definition] : *stored) {
    boost::system::error_code jec;
    auto rule = bus::parse_rule(boost::json::parse(definition, jec), "api");
    if (jec || !rule) {
      kLog.error("a stored rule no longer parses; it is left out",
                 {{"rule", name}, {"error", jec ? jec.message() : rule.error().message()}});
      continue;
    }
    api_rules.push_back(std::move(*rule));
  }
  size_t rule_count = file_rules->size() + api_rules.size();
  p->rules = std::make_unique<bus::RuleSet>();
  if (auto s = p->rules->reset(std::move(*file_rules), std::move(api_rules)); !s.ok()) {
    core::Error e = s.error();
    return e.with_context("rules");
  }

  // The event log; every commit wakes the dispatcher, which wakes the deliverer.
  Parts* parts = p.get();
  bus::EventLogOptions lo;
  lo.retention.max_age_ms = config.retention_max_age_ms;
  lo.retention.max_bytes = config.retention_max_bytes;
  lo.retention_interval_ms = config.retention_interval_ms;
  lo.on_commit = [parts] { parts->dispatcher->wake(); };
  // Retention never removes an event before the rules have seen it.
  lo.retention_floor = [parts]() -> std::optional<int64_t> {
    auto position = parts->store->dispatch_position("live");
    return position ? *position : 0;
  };
  p->log = std::make_unique<bus::EventLog>(*p->store, clock, lo);

  bus::DelivererOptions dlo;
  dlo.workers = config.delivery_workers;
  dlo.retry_base_ms = config.retry_base_ms;
  dlo.retry_max_ms = config.retry_max_ms;
  dlo.poll_ms = config.dispatch_poll_ms;
  p->senders = std::make_unique<bus::Senders>(*p->store, *p->log, *p->parser, clock);
  p->deliverer = std::make_unique<bus::Deliverer>(*p->store, *p->rules, *p->senders, clock, dlo);
  bus::DispatcherOptions dio;
  dio.poll_ms = config.dispatch_poll_ms;
  p->dispatcher = std::make_unique<bus::Dispatcher>(*p->store, *p->rules, clock, dio,
                                                    [parts] { parts->deliverer->wake(); });
  p->log->start();
  p->dispatcher->start();
  p->deliverer->start();
  kLog.info("rules loaded", {{"rules", static_cast<int64_t>(rule_count)}});

  // The execution engine, on its own database so that its commits never wait for the event
  // log's. Opening it continues every execution that was running when the daemon stopped.
  if (auto s = start_engine(*p); !s.ok()) {
    p->dispatcher->stop();
    p->deliverer->stop();
    p->log->stop();
    return s.error();
  }

  // Routes and the server.
  p->router = std::make_unique<api::Router>(*p->auth);
  api::add_health_routes(*p->router, *p->store);
  api::add_event_routes(*p->router, *p->parser, *p->log, *p->store);
  api::add_token_routes(*p->router, *p->auth);
  api::add_pattern_routes(*p->router);
  api::add_rule_routes(*p->router, api::BusParts{*p->store, *p->rules, *p->dispatcher,
                                                 [parts] { parts->deliverer->wake(); },
                                                 [parts] { return reload_files(*parts); }, clock});
  api::add_execution_routes(*p->router,
                            api::ExecutionParts{*p->machines, *p->engine, *p->executions});

  p->server = std::make_unique<api::Server>(*server, *p->router);
  if (auto s = p->server->start(); !s.ok()) {
    p->engine->shutdown();
    p->dispatcher->stop();
    p->deliverer->stop();
    p->log->stop();
    return s.error();
  }
  p->url = p->server->url();
  if (auto s = write_private_file(address_file(config.data_dir), p->url + "\n"); !s.ok()) {
    kLog.warn("cannot write the address file", {{"error", s.error().message()}});
  }
  kLog.info("serving", {{"url", p->url},
                        {"data", config.data_dir},
                        {"config", config.config_dir},
                        {"pid", static_cast<int64_t>(::getpid())}});
  return std::unique_ptr<Daemon>(new Daemon(std::move(p)));
}

Daemon::Daemon(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

core::Result<size_t> Daemon::reload_rules() {
  return reload_files(*parts_);
}

core::Result<size_t> Daemon::reload_state_machines() {
  return parts_->machines->reload_files();
}

Daemon::~Daemon() {
  stop();
}

const std::string& Daemon::url() const {
  return parts_->url;
}

void Daemon::stop() {
  if (parts_->stopped) {
    return;
  }
  parts_->stopped = true;
  kLog.info("stopping");

  // Requests in flight finish first: their commits complete and their answers are written.
  parts_->server->stop();
  parts_->server->wait();
  // Executions stop where they stand: what is committed continues at the next start, and an
  // attempt in flight is issued again then.
  parts_->engine->shutdown();
  // Matching stops at a batch boundary and deliveries in flight finish; what is left is
  // durable and resumes at the next start. The deliverer goes before the log, since a bus
  // target appends to it.
  parts_->dispatcher->stop();
  parts_->deliverer->stop();
  // Then whatever is still queued is committed.
  parts_->log->stop();
  std::error_code ec;
  fs::remove(address_file(parts_->config.data_dir), ec);
  const auto stats = parts_->log->stats();
  kLog.info("stopped", {{"commits", stats.commits}, {"events", stats.records}});
}

int serve_until_signalled(const Config& config, const EnvLookup& env) {
  // Block the signals before any thread starts, so that every thread inherits the mask and only
  // the sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto daemon = Daemon::start(config, env);
  if (!daemon) {
    kLog.error("cannot start", {{"error", daemon.error().message()}});
    return 1;
  }
  // SIGHUP reloads the rule and state machine files; SIGINT and SIGTERM stop.
  int received = 0;
  while (sigwait(&signals, &received) == 0 && received == SIGHUP) {
    (void)(*daemon)->reload_rules();
    (void)(*daemon)->reload_state_machines();
  }
  kLog.info("signal received, stopping; a second signal ends the process at once",
            {{"signal", received == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // A second signal takes its default action, so a stop that hangs can still be interrupted;
  // a reload no longer matters.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGHUP, SIG_IGN);
  pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
  (*daemon)->stop();
  return 0;
}

}  // namespace homeostat::daemon
