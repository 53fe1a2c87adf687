#include "engine/engine.hpp"

#include <openssl/sha.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <queue>
#include <random>
#include <set>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/ids.hpp"
#include "core/log.hpp"
#include "engine/execution.hpp"
#include "states/step.hpp"

namespace homeostat::engine {
namespace json = boost::json;
using ExecutionPtr = std::shared_ptr<Execution>;

namespace {

std::string sha256_hex(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char byte : digest) {
    out += kHex[byte >> 4];
    out += kHex[byte & 15];
  }
  return out;
}

bool has_pending_writes(const Execution& execution) {
  return execution.create || !execution.events.empty() || !execution.timers_set.empty() ||
         !execution.timers_cleared.empty() || !execution.invocations.empty();
}

// A timer waiting in the timer thread's queue.
struct ArmedTimer {
  int64_t due_ms = 0;
  std::string execution_id;
  std::string timer;
  bool operator>(const ArmedTimer& other) const { return due_ms > other.due_ms; }
};

// Lets a task callback that arrives after shutdown find out that the engine is gone.
struct Gate {
  std::shared_mutex mutex;
  bool open = true;
};

}  // namespace

class Engine::Impl {
 public:
  explicit Impl(EngineOptions options)
      : options_(std::move(options)),
        clock_(options_.clock != nullptr ? *options_.clock : core::system_clock()),
        ids_(clock_),
        gate_(std::make_shared<Gate>()) {
    if (!options_.random) {
      options_.random = [this] {
        std::lock_guard lock(random_mutex_);
        return std::uniform_real_distribution<double>(0.0, 1.0)(prng_);
      };
    }
  }

  core::Status recover();
  void start_threads();
  void shutdown();

  core::Result<std::string> register_machine(const std::string& name,
                                             const std::string& definition);
  std::optional<std::pair<std::string, std::shared_ptr<const states::StateMachine>>> machine(
      const std::string& name) const;
  core::Result<store::ExecutionRecord> start(const StartRequest& request);
  core::Status stop(const std::string& id, const std::string& error, const std::string& cause);
  core::Result<store::ExecutionRecord> wait(const std::string& id,
                                            std::chrono::milliseconds timeout);
  EngineStats stats() const;

 private:
  core::Result<std::shared_ptr<const states::StateMachine>> machine_by_hash(
      const std::string& hash);
  void deliver(const std::string& execution_id, Input input);
  void enqueue_locked(const ExecutionPtr& execution);
  void release_locked(const ExecutionPtr& execution);
  void busy_add(int64_t delta);
  void worker_loop();
  void committer_loop();
  void timer_loop();
  void after_commit(const ExecutionPtr& execution);
  void invoke(const ExecutionPtr& execution, const TaskRequest& request);
  void arm(const store::TimerRecord& timer);
  bool commit_batch(std::vector<ExecutionPtr>& batch);

  EngineOptions options_;
  core::Logger log_{"engine"};
  const core::Clock& clock_;
  core::IdGenerator ids_;
  std::shared_ptr<Gate> gate_;

  std::mutex random_mutex_;
  std::mt19937_64 prng_{std::random_device{}()};

  mutable std::mutex machines_mutex_;
  std::map<std::string, std::pair<std::string, std::shared_ptr<const states::StateMachine>>>
      current_;  // name -> (hash, machine)
  std::map<std::string, std::shared_ptr<const states::StateMachine>> by_hash_;

  std::mutex executions_mutex_;
  std::unordered_map<std::string, ExecutionPtr> executions_;
  std::set<std::pair<std::string, std::string>> starting_names_;  // (machine, name)
  std::condition_variable ended_cv_;

  std::mutex ready_mutex_;
  std::condition_variable ready_cv_;
  std::deque<ExecutionPtr> ready_;
  bool closed_ = false;  // guarded by ready_mutex_: set once shutdown() has swept ready_

  std::mutex commit_mutex_;
  std::condition_variable commit_cv_;
  std::deque<ExecutionPtr> to_commit_;

  std::mutex timer_mutex_;
  std::condition_variable timer_cv_;
  std::priority_queue<ArmedTimer, std::vector<ArmedTimer>, std::greater<>> timers_;
  std::map<std::pair<std::string, std::string>, int64_t> armed_;  // live timers
  // Executions with work in hand; virtual time jumps only at 0.
  std::atomic<int64_t> busy_{0};

  std::atomic<bool> stopping_{false};
  bool workers_done_ = false;  // guarded by commit_mutex_
  std::vector<std::thread> workers_;
  std::thread committer_;
  std::thread timer_thread_;

  std::atomic<int64_t> started_{0};
  std::atomic<int64_t> ended_{0};
  std::atomic<int64_t> transitions_{0};
  std::atomic<int64_t> history_events_{0};
  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> tasks_in_flight_{0};
};

// Machines.

core::Result<std::string> Engine::Impl::register_machine(const std::string& name,
                                                         const std::string& definition) {
  if (name.empty() || name.size() > 80) {
    return core::Error(core::ErrorCode::kInvalidArgument,
                       "a state machine name must have 1 to 80 characters");
  }
  auto parsed = states::parse_state_machine(definition);
  if (!parsed) return parsed.error();

  const std::string hash = sha256_hex(definition);
  if (auto s = options_.store->put_machine_version(name, hash, definition, clock_.now_ms()); !s) {
    return s.error();
  }
  std::lock_guard lock(machines_mutex_);
  by_hash_[hash] = *parsed;
  current_[name] = {hash, *parsed};
  return hash;
}

std::optional<std::pair<std::string, std::shared_ptr<const states::StateMachine>>>
Engine::Impl::machine(const std::string& name) const {
  std::lock_guard lock(machines_mutex_);
  auto it = current_.find(name);
  if (it == current_.end()) return std::nullopt;
  return it->second;
}

core::Result<std::shared_ptr<const states::StateMachine>> Engine::Impl::machine_by_hash(
    const std::string& hash) {
  {
    std::lock_guard lock(machines_mutex_);
    auto it = by_hash_.find(hash);
    if (it != by_hash_.end()) return it->second;
  }
  auto definition = options_.store->get_machine_version(hash);
  if (!definition) return definition.error();
  if (!*definition) {
    return core::Error(core::ErrorCode::kNotFound, "no stored machine version " + hash);
  }
  auto parsed = states::parse_state_machine(**definition);
  if (!parsed) return parsed.error();
  std::lock_guard lock(machines_mutex_);
  by_hash_[hash] = *parsed;
  return *parsed;
}

// Starting, stopping, waiting.

core::Result<store::ExecutionRecord> Engine::Impl::start(const StartRequest& request) {
  if (stopping_) return core::Error(core::ErrorCode::kUnavailable, "the engine is stopping");
  auto found = machine(request.state_machine);
  if (!found) {
    return core::Error(core::ErrorCode::kNotFound,
                       "no state machine named '" + request.state_machine + "'");
  }
  std::string input = json::serialize(request.input);
  if (input.size() > states::kMaxPayloadBytes) {
    return core::Error(core::ErrorCode::kInvalidArgument,
                       "the input is " + std::to_string(input.size()) +
                           " bytes, more than the limit of " +
                           std::to_string(states::kMaxPayloadBytes));
  }

  auto execution = std::make_shared<Execution>();
  store::ExecutionRecord& record = execution->record;
  record.id = request.execution_id.empty() ? ids_.next() : request.execution_id;
  record.name = request.name.empty() ? record.id : request.name;
  if (record.name.size() > 80) {
    return core::Error(core::ErrorCode::kInvalidArgument,
                       "an execution name must have at most 80 characters");
  }
  record.state_machine = request.state_machine;
  record.machine_hash = found->first;
  record.input = std::move(input);
  record.start_ms = clock_.now_ms();
  execution->machine = found->second;
  execution->create = true;
  init_context(*execution);

  // The name must be free both in the store and among starts not yet committed.
  const auto key = std::make_pair(record.state_machine, record.name);
  {
    std::lock_guard lock(executions_mutex_);
    if (!starting_names_.insert(key).second) {
      return core::Error(core::ErrorCode::kAlreadyExists,
                         "an execution named '" + record.name + "' is starting");
    }
  }
  auto release_name = [&] {
    std::lock_guard lock(executions_mutex_);
    starting_names_.erase(key);
  };
  auto existing = options_.store->find_execution_by_name(record.state_machine, record.name);
  if (!existing || *existing) {
    release_name();
    if (!existing) return existing.error();
    return core::Error(
        core::ErrorCode::kAlreadyExists,
        "an execution named '" + record.name + "' of '" + record.state_machine + "' exists");
  }

  // The caller's thread takes the first steps itself (no worker hand-off on the way to the
  // first commit), then waits until ExecutionStarted is durable.
  std::promise<core::Result<store::ExecutionRecord>> started;
  auto future = started.get_future();
  execution->on_started = [&started](core::Result<store::ExecutionRecord> result) {
    started.set_value(std::move(result));
  };
  {
    std::lock_guard lock(execution->mutex);
    execution->phase = Execution::Phase::kRunning;
    busy_add(1);
  }
  {
    std::lock_guard lock(executions_mutex_);
    executions_[record.id] = execution;
  }
  std::vector<Input> inputs;
  inputs.emplace_back(Input::Kind::kStart);
  advance(*execution, std::move(inputs), AdvanceEnv{clock_.now_ms(), options_.random});

  bool accepted = false;
  {
    std::lock_guard lock(execution->mutex);
    std::lock_guard commit_lock(commit_mutex_);
    if (!workers_done_) {
      execution->phase = Execution::Phase::kCommitting;
      to_commit_.push_back(execution);
      commit_cv_.notify_one();
      accepted = true;
    }
  }
  if (!accepted) {
    // The engine stopped while the first steps were taken: nothing was written.
    {
      std::lock_guard lock(executions_mutex_);
      executions_.erase(record.id);
    }
    busy_add(-1);
    release_name();
    return core::Error(core::ErrorCode::kUnavailable, "the engine stopped");
  }
  ++started_;
  auto result = future.get();
  release_name();
  return result;
}

core::Status Engine::Impl::stop(const std::string& id, const std::string& error,
                                const std::string& cause) {
  {
    std::lock_guard lock(executions_mutex_);
    if (!executions_.contains(id)) {
      return core::Error(core::ErrorCode::kNotFound, "no running execution '" + id + "'");
    }
  }
  Input input(Input::Kind::kStop);
  input.error = error;
  input.cause = cause;
  deliver(id, std::move(input));
  return {};
}

core::Result<store::ExecutionRecord> Engine::Impl::wait(const std::string& id,
                                                        std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  {
    std::unique_lock lock(executions_mutex_);
    ended_cv_.wait_until(lock, deadline, [&] { return !executions_.contains(id); });
  }
  auto record = options_.store->get_execution(id);
  if (!record) return record.error();
  if (!*record) return core::Error(core::ErrorCode::kNotFound, "no execution '" + id + "'");
  return std::move(**record);
}

EngineStats Engine::Impl::stats() const {
  EngineStats stats;
  stats.started = started_;
  stats.ended = ended_;
  stats.running = stats.started - stats.ended;
  stats.transitions = transitions_;
  stats.history_events = history_events_;
  stats.commits = commits_;
  stats.tasks_in_flight = tasks_in_flight_;
  return stats;
}

// Moving executions between threads.

void Engine::Impl::busy_add(int64_t delta) {
  if (busy_.fetch_add(delta) + delta == 0) {
    std::lock_guard lock(timer_mutex_);
    timer_cv_.notify_all();
  }
}

// Needs execution->mutex held.
void Engine::Impl::enqueue_locked(const ExecutionPtr& execution) {
  if (execution->phase != Execution::Phase::kIdle) return;
  std::lock_guard lock(ready_mutex_);

  // After shutdown no worker will take it: a start that got this far is told so here, since
  // the sweep at the end of shutdown() has already run.
  if (closed_) {
    if (execution->on_started) {
      execution->on_started(core::Error(core::ErrorCode::kUnavailable, "the engine stopped"));
      execution->on_started = nullptr;
    }
    return;
  }
  execution->phase = Execution::Phase::kQueued;
  busy_add(1);
  ready_.push_back(execution);
  ready_cv_.notify_one();
}

// Needs execution->mutex held. A thread is done with the execution: it goes back to the ready
// queue when input arrived meanwhile, and rests otherwise. Going straight back keeps it counted
// as busy throughout, so virtual time cannot jump past input that is already waiting.
void Engine::Impl::release_locked(const ExecutionPtr& execution) {
  if (execution->inbox.empty()) {
    execution->phase = Execution::Phase::kIdle;
    busy_add(-1);
    return;
  }
  execution->phase = Execution::Phase::kQueued;
  std::lock_guard lock(ready_mutex_);
  ready_.push_back(execution);
  ready_cv_.notify_one();
}

void Engine::Impl::deliver(const std::string& execution_id, Input input) {
  ExecutionPtr execution;
  {
    std::lock_guard lock(executions_mutex_);
    auto it = executions_.find(execution_id);
    if (it == executions_.end()) return;  // it has ended; the input is no longer wanted
    execution = it->second;
  }
  std::lock_guard lock(execution->mutex);
  execution->inbox.push_back(std::move(input));
  enqueue_locked(execution);
}

void Engine::Impl::worker_loop() {
  while (true) {
    ExecutionPtr execution;
    {
      std::unique_lock lock(ready_mutex_);
      ready_cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
      if (ready_.empty()) return;
      execution = std::move(ready_.front());
      ready_.pop_front();
    }

    std::vector<Input> inputs;
    {
      std::lock_guard lock(execution->mutex);
      execution->phase = Execution::Phase::kRunning;
      inputs.swap(execution->inbox);
    }
    AdvanceEnv env{clock_.now_ms(), options_.random};
    advance(*execution, std::move(inputs), env);

    // Anything to write goes to the committer; otherwise the execution rests or runs again.
    if (has_pending_writes(*execution)) {
      std::lock_guard lock(execution->mutex);
      execution->phase = Execution::Phase::kCommitting;
      std::lock_guard commit_lock(commit_mutex_);
      to_commit_.push_back(execution);
      commit_cv_.notify_one();
      continue;
    }
    std::lock_guard lock(execution->mutex);
    release_locked(execution);
  }
}

// Committing.

bool Engine::Impl::commit_batch(std::vector<ExecutionPtr>& batch) {
  std::vector<store::ExecutionWrite> writes;
  writes.reserve(batch.size());
  for (const ExecutionPtr& execution : batch) {
    store::ExecutionWrite write;
    write.execution = execution->record;
    write.execution.snapshot = execution->ended ? std::string() : save_snapshot(*execution);
    write.create = execution->create;
    // The pending lists move into the write; a commit that fails is retried with the same
    // writes, so nothing is lost with them.
    write.events = std::move(execution->events);
    execution->events.clear();
    write.timers_set = execution->timers_set;
    write.timers_cleared = std::move(execution->timers_cleared);
    execution->timers_cleared.clear();
    writes.push_back(std::move(write));
  }

  // A failing store is retried until it works or the engine stops: the executions keep what
  // they have recorded, and nothing happens outside until it is durable.
  while (true) {
    auto status = options_.store->commit(writes);
    if (status) break;
    log_.error("commit failed",
               {{"error", status.error().message()}, {"executions", writes.size()}});
    if (stopping_) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ++commits_;
  for (const store::ExecutionWrite& write : writes) {
    history_events_ += static_cast<int64_t>(write.events.size());
  }
  return true;
}

void Engine::Impl::committer_loop() {
  while (true) {
    std::vector<ExecutionPtr> batch;
    {
      std::unique_lock lock(commit_mutex_);
      commit_cv_.wait(lock, [&] { return workers_done_ || !to_commit_.empty(); });
      if (to_commit_.empty()) return;
      while (!to_commit_.empty() && batch.size() < options_.max_commit_batch) {
        batch.push_back(std::move(to_commit_.front()));
        to_commit_.pop_front();
      }
    }
    if (!commit_batch(batch)) {
      for (const ExecutionPtr& execution : batch) {
        if (!execution->on_started) continue;
        execution->on_started(core::Error(core::ErrorCode::kUnavailable, "the engine stopped"));
        execution->on_started = nullptr;
      }
      return;
    }
    for (const ExecutionPtr& execution : batch)
      after_commit(execution);
  }
}

void Engine::Impl::after_commit(const ExecutionPtr& execution) {
  transitions_ += execution->transitions;
  execution->transitions = 0;
  std::vector<store::TimerRecord> timers = std::move(execution->timers_set);
  execution->timers_set.clear();
  std::vector<TaskRequest> invocations = std::move(execution->invocations);
  execution->invocations.clear();

  if (execution->create) {
    execution->create = false;
    if (execution->on_started) {
      store::ExecutionRecord record = execution->record;
      record.snapshot.clear();
      execution->on_started(std::move(record));
      execution->on_started = nullptr;
    }
  }

  // Only now may the world see what was recorded.
  for (const store::TimerRecord& timer : timers)
    arm(timer);
  for (const TaskRequest& request : invocations)
    invoke(execution, request);

  if (execution->ended) {
    {
      std::lock_guard lock(executions_mutex_);
      executions_.erase(execution->record.id);
      ++ended_;
    }
    ended_cv_.notify_all();
    std::lock_guard lock(execution->mutex);
    execution->phase = Execution::Phase::kIdle;
    execution->inbox.clear();
    busy_add(-1);
    return;
  }
  std::lock_guard lock(execution->mutex);
  release_locked(execution);
}

void Engine::Impl::invoke(const ExecutionPtr& execution, const TaskRequest& request) {
  ++tasks_in_flight_;
  std::weak_ptr<Gate> gate = gate_;
  const std::string id = execution->record.id;
  const std::string key = request.idempotency_key;
  options_.tasks->invoke(request, [this, gate, id, key](TaskOutcome outcome) {
    auto alive = gate.lock();
    if (!alive) return;
    std::shared_lock lock(alive->mutex);
    if (!alive->open) return;
    Input input(Input::Kind::kTaskDone);
    input.key = key;
    input.outcome = std::move(outcome);
    deliver(id, std::move(input));
    if (--tasks_in_flight_ == 0) {
      std::lock_guard timer_lock(timer_mutex_);
      timer_cv_.notify_all();
    }
  });
}

// Timers.

void Engine::Impl::arm(const store::TimerRecord& timer) {
  std::lock_guard lock(timer_mutex_);
  armed_[{timer.execution_id, timer.timer}] = timer.due_ms;
  timers_.push(ArmedTimer{timer.due_ms, timer.execution_id, timer.timer});
  timer_cv_.notify_all();
}

void Engine::Impl::timer_loop() {
  std::unique_lock lock(timer_mutex_);
  while (!stopping_) {
    if (timers_.empty()) {
      timer_cv_.wait(lock);
      continue;
    }
    const ArmedTimer& top = timers_.top();
    auto live = armed_.find({top.execution_id, top.timer});
    if (live == armed_.end() || live->second != top.due_ms) {
      timers_.pop();  // re-armed or fired already
      continue;
    }

    // Virtual time jumps to the timer once nothing else can happen; real time waits for it.
    // While task attempts run (and nothing else), virtual time runs at the real pace, so a
    // task's timeout still races with the task itself.
    if (options_.virtual_time) {
      if (busy_.load() != 0) {
        timer_cv_.wait_for(lock, std::chrono::milliseconds(50));
        continue;
      }
      const int64_t wait_ms = top.due_ms - clock_.now_ms();
      if (tasks_in_flight_.load() != 0 && wait_ms > 0) {
        const auto before = std::chrono::steady_clock::now();
        timer_cv_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(wait_ms, 5)));
        const auto slept = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - before);
        options_.manual_clock->advance_ms(slept.count());
        continue;
      }
      if (wait_ms > 0) options_.manual_clock->set_ms(top.due_ms);
    } else {
      const int64_t wait_ms = top.due_ms - clock_.now_ms();
      if (wait_ms > 0) {
        timer_cv_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(wait_ms, 1000)));
        continue;
      }
    }

    ArmedTimer due = top;
    timers_.pop();
    armed_.erase({due.execution_id, due.timer});
    lock.unlock();
    Input input(Input::Kind::kTimer);
    input.key = due.timer;
    deliver(due.execution_id, std::move(input));
    lock.lock();
  }
}

// Opening and closing.

core::Status Engine::Impl::recover() {
  auto open = options_.store->open_executions();
  if (!open) return open.error().with_context("engine recovery");
  auto timers = options_.store->timers();
  if (!timers) return timers.error().with_context("engine recovery");

  for (store::ExecutionRecord& record : *open) {
    auto execution = std::make_shared<Execution>();
    auto machine = machine_by_hash(record.machine_hash);
    if (!machine) {
      log_.error("cannot continue execution",
                 {{"execution_id", record.id}, {"error", machine.error().message()}});
      continue;
    }
    execution->machine = *machine;
    const std::string snapshot = std::move(record.snapshot);
    execution->record = std::move(record);
    init_context(*execution);
    if (auto s = load_snapshot(*execution, snapshot); !s) {
      log_.error("cannot continue execution",
                 {{"execution_id", execution->record.id}, {"error", s.error().message()}});
      continue;
    }

    // Every attempt that was in flight may or may not have run: issue it again, same key,
    // and say so in the history.
    const int64_t now = clock_.now_ms();
    for (auto& [id, frame] : execution->frames) {
      if (frame.waiting != Frame::Waiting::kTask) continue;
      record_event(*execution, "TaskReissued",
                   Details()
                       .field("frame", frame.id)
                       .field("state", frame.state)
                       .field("key", frame.task_key)
                       .field("attempt", frame.attempt)
                       .text(),
                   now);
      execution->invocations.push_back(task_request(*execution, frame, true));
    }
    std::lock_guard lock(executions_mutex_);
    executions_[execution->record.id] = execution;
  }

  for (const store::TimerRecord& timer : *timers) {
    std::lock_guard lock(executions_mutex_);
    if (executions_.contains(timer.execution_id)) arm(timer);
  }

  // Executions with reissued attempts commit that fact before the attempts go out.
  std::vector<ExecutionPtr> reissuing;
  {
    std::lock_guard lock(executions_mutex_);
    for (auto& [id, execution] : executions_) {
      if (!execution->invocations.empty()) reissuing.push_back(execution);
    }
  }
  for (const ExecutionPtr& execution : reissuing) {
    std::lock_guard lock(execution->mutex);
    execution->phase = Execution::Phase::kCommitting;
    busy_add(1);
    std::lock_guard commit_lock(commit_mutex_);
    to_commit_.push_back(execution);
  }
  return {};
}

void Engine::Impl::start_threads() {
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers_.emplace_back([this] { worker_loop(); });
  }
  committer_ = std::thread([this] { committer_loop(); });
  timer_thread_ = std::thread([this] { timer_loop(); });
  std::lock_guard lock(commit_mutex_);
  commit_cv_.notify_one();
}

void Engine::Impl::shutdown() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard lock(gate_->mutex);
    gate_->open = false;
  }
  {
    std::lock_guard lock(ready_mutex_);
    ready_cv_.notify_all();
  }
  for (std::thread& worker : workers_)
    worker.join();
  {
    std::lock_guard lock(commit_mutex_);
    workers_done_ = true;
    commit_cv_.notify_all();
  }
  if (committer_.joinable()) committer_.join();
  {
    std::lock_guard lock(timer_mutex_);
    timer_cv_.notify_all();
  }
  if (timer_thread_.joinable()) timer_thread_.join();

  // A start that raced with the stop never reached a worker: tell its caller.
  std::lock_guard lock(ready_mutex_);
  closed_ = true;
  for (const ExecutionPtr& execution : ready_) {
    if (execution->on_started) {
      execution->on_started(core::Error(core::ErrorCode::kUnavailable, "the engine stopped"));
      execution->on_started = nullptr;
    }
  }
  ready_.clear();
}

// The public face.

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() {
  shutdown();
}

core::Result<std::unique_ptr<Engine>> Engine::open(EngineOptions options) {
  if (options.store == nullptr || options.tasks == nullptr) {
    return core::Error(core::ErrorCode::kInvalidArgument, "the engine needs a store and tasks");
  }
  if (options.virtual_time && options.manual_clock == nullptr) {
    return core::Error(core::ErrorCode::kInvalidArgument, "virtual time needs a manual clock");
  }
  if (options.virtual_time) options.clock = options.manual_clock;
  auto impl = std::make_unique<Impl>(std::move(options));
  if (auto s = impl->recover(); !s) return s.error();
  impl->start_threads();
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

core::Result<std::string> Engine::register_machine(const std::string& name,
                                                   const std::string& definition) {
  return impl_->register_machine(name, definition);
}

std::optional<std::pair<std::string, std::shared_ptr<const states::StateMachine>>> Engine::machine(
    const std::string& name) const {
  return impl_->machine(name);
}

core::Result<store::ExecutionRecord> Engine::start(const StartRequest& request) {
  return impl_->start(request);
}

core::Status Engine::stop(const std::string& execution_id, const std::string& error,
                          const std::string& cause) {
  return impl_->stop(execution_id, error, cause);
}

core::Result<store::ExecutionRecord> Engine::wait(const std::string& execution_id,
                                                  std::chrono::milliseconds timeout) {
  return impl_->wait(execution_id, timeout);
}

EngineStats Engine::stats() const {
  return impl_->stats();
}

void Engine::shutdown() {
  impl_->shutdown();
}

}  // namespace homeostat::engine
