#include "engine/execution.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <utility>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "states/errors.hpp"

namespace homeostat::engine {
namespace json = boost::json;
using states::Failure;
using states::Step;

namespace {

// One unit of work inside advance(): move frame `frame` on with `step`, or enter its current
// state when there is no step. advance() keeps a queue of these instead of recursing, so a Map
// over 10,000 items that finish at once does not nest 10,000 calls deep.
struct Work {
  int frame = 0;
  std::optional<Step> step;
};

struct Advancer {
  Execution& ex;
  const AdvanceEnv& env;
  std::deque<Work> work;

  const states::State& state_of(const Frame& frame) {
    // The parser guarantees that every transition names a state of the same machine, and
    // frames only ever stand in states reached by transitions.
    return *frame.machine->find(frame.state);
  }

  const states::Context& context_for(const Frame& frame) {
    int retry_count = 0;
    for (int n : frame.retries)
      retry_count += n;
    ex.context.value.as_object()["State"] =
        states::state_context(frame.state, frame.entered_ms, retry_count);
    return ex.context;
  }

  void event(const char* type, std::string details) {
    record_event(ex, type, std::move(details), env.now_ms);
  }

  void set_timer(Frame& frame, int64_t due_ms) {
    if (!frame.timer.empty()) ex.timers_cleared.push_back(frame.timer);
    frame.timer = "f" + std::to_string(frame.id) + ".e" + std::to_string(ex.record.next_event_id);
    ex.timers_set.push_back(store::TimerRecord{ex.record.id, frame.timer, due_ms});
  }

  void clear_timer(Frame& frame) {
    if (frame.timer.empty()) return;
    ex.timers_cleared.push_back(frame.timer);
    frame.timer.clear();
  }

  // Enters the frame's current state.
  Step enter(Frame& frame, bool first_in_frame) {
    frame.entered_ms = env.now_ms;
    frame.waiting = Frame::Waiting::kNothing;
    // The input is the output of the frame's previous StateExited, so only a frame's first
    // state records it: the history stays complete without holding every payload twice.
    Details details;
    details.field("frame", frame.id).field("state", frame.state);
    if (first_in_frame) details.field("input", frame.input);
    event("StateEntered", details.text());
    return states::enter_state(state_of(frame), frame.input, context_for(frame), env.now_ms);
  }

  void run(int frame_id, std::optional<Step> first) {
    auto it = ex.frames.find(frame_id);
    if (it == ex.frames.end()) return;  // cancelled while the work waited in the queue
    Frame& frame = it->second;
    Step step = first ? std::move(*first) : enter(frame, true);

    while (true) {
      const states::State& state = state_of(frame);
      if (auto* transition = std::get_if<states::Transition>(&step)) {
        event("StateExited", Details()
                                 .field("frame", frame.id)
                                 .field("state", frame.state)
                                 .field("output", transition->output)
                                 .text());
        ++ex.transitions;
        frame.state = std::move(transition->next);
        frame.input = std::move(transition->output);
        frame.retries.clear();
        frame.attempt = 0;
        step = enter(frame, false);
        continue;
      }
      if (auto* finish = std::get_if<states::Finish>(&step)) {
        event("StateExited", Details()
                                 .field("frame", frame.id)
                                 .field("state", frame.state)
                                 .field("output", finish->output)
                                 .text());
        ++ex.transitions;
        end_frame(frame_id, std::move(finish->output));
        return;
      }
      if (auto* failure = std::get_if<Failure>(&step)) {
        auto next = on_error(frame, state, failure->error);
        if (!next) return;
        step = std::move(*next);
        continue;
      }
      if (auto* task = std::get_if<states::RunTask>(&step)) {
        schedule_task(frame, std::move(*task));
        return;
      }
      if (auto* wait = std::get_if<states::StartWait>(&step)) {
        event("WaitStarted", Details()
                                 .field("frame", frame.id)
                                 .field("state", frame.state)
                                 .field("until", core::format_rfc3339(wait->until_ms, true))
                                 .text());
        frame.waiting = Frame::Waiting::kWait;
        frame.wait_output = std::move(wait->output);
        set_timer(frame, wait->until_ms);
        return;
      }
      auto& branches = std::get<states::RunBranches>(step);
      if (!start_branches(frame, state, std::move(branches), step)) return;
    }
  }

  // Retry, Catch, or the end of the frame. Returns the step to go on with, if any.
  std::optional<Step> on_error(Frame& frame, const states::State& state,
                               const states::StatesError& error) {
    auto decision = states::handle_error(state, frame.input, error, frame.retries, env.random());
    if (auto* retry = std::get_if<states::Retry>(&decision)) {
      int retry_count = 0;
      for (int n : frame.retries)
        retry_count += n;
      event("RetryScheduled", Details()
                                  .field("frame", frame.id)
                                  .field("state", frame.state)
                                  .field("error", error.error)
                                  .field("cause", error.cause)
                                  .field("retry", retry_count)
                                  .field("delayMs", retry->delay_ms)
                                  .text());
      frame.waiting = Frame::Waiting::kRetry;
      set_timer(frame, env.now_ms + retry->delay_ms);
      return std::nullopt;
    }
    if (auto* caught = std::get_if<states::Transition>(&decision)) {
      event("ErrorCaught", Details()
                               .field("frame", frame.id)
                               .field("state", frame.state)
                               .field("error", error.error)
                               .field("cause", error.cause)
                               .field("next", caught->next)
                               .text());
      return Step(std::move(*caught));
    }
    event("StateFailed", Details()
                             .field("frame", frame.id)
                             .field("state", frame.state)
                             .field("error", error.error)
                             .field("cause", error.cause)
                             .text());
    end_frame(frame.id, std::get<Failure>(decision).error);
    return std::nullopt;
  }

  void schedule_task(Frame& frame, states::RunTask task) {
    const int64_t event_id = ex.record.next_event_id;
    frame.waiting = Frame::Waiting::kTask;
    frame.task_key = ex.record.id + "/" + std::to_string(event_id);
    frame.resource = std::move(task.resource);
    frame.task_input = std::move(task.input);
    frame.timeout_ms = task.timeout_ms;
    event("TaskScheduled", Details()
                               .field("frame", frame.id)
                               .field("state", frame.state)
                               .field("resource", frame.resource)
                               .field("input", frame.task_input)
                               .field("key", frame.task_key)
                               .field("attempt", frame.attempt)
                               .field("timeoutMs", task.timeout_ms)
                               .field("heartbeatMs", task.heartbeat_ms)
                               .text());

    // The earlier of the timeout and the heartbeat ends the attempt. No resource sends
    // heartbeats yet, so a heartbeat interval works as a second, shorter timeout.
    int64_t limit = task.timeout_ms;
    frame.timeout_error = std::string(states::kTimeout);
    if (task.heartbeat_ms > 0 && (limit == 0 || task.heartbeat_ms < limit)) {
      limit = task.heartbeat_ms;
      frame.timeout_error = std::string(states::kHeartbeatTimeout);
    }
    if (limit > 0) set_timer(frame, env.now_ms + limit);
    ex.invocations.push_back(task_request(ex, frame, false));
  }

  // Starts the branches or items of a Parallel or Map state. Returns true when `step` has been
  // set to go on with at once (there were no items), false when the frame now waits.
  bool start_branches(Frame& frame, const states::State& state, states::RunBranches branches,
                      Step& step) {
    const bool map = state.type == states::StateType::kMap;
    event(map ? "MapStarted" : "ParallelStarted",
          Details()
              .field("frame", frame.id)
              .field("state", frame.state)
              .field("count", static_cast<int64_t>(branches.inputs.size()))
              .text());
    frame.waiting = Frame::Waiting::kBranches;
    frame.branch_inputs = std::move(branches.inputs);
    frame.outcomes.assign(frame.branch_inputs.size(), std::nullopt);
    frame.next_branch = 0;
    frame.running = 0;
    frame.failed = 0;
    frame.max_concurrency = branches.max_concurrency;
    if (frame.branch_inputs.empty()) {
      step = states::complete_branches(state, frame.input, {}, context_for(frame));
      return true;
    }
    start_more(frame, state);
    return false;
  }

  // Starts children while the state's concurrency allows.
  void start_more(Frame& parent, const states::State& state) {
    const bool map = state.type == states::StateType::kMap;
    while (parent.next_branch < parent.branch_inputs.size() &&
           (parent.max_concurrency <= 0 || parent.running < parent.max_concurrency)) {
      const size_t index = parent.next_branch++;
      Frame child;
      child.id = ex.next_frame++;
      child.parent = parent.id;
      child.index = static_cast<int>(index);
      child.machine = map ? state.item_processor.get() : state.branches[index].get();
      child.state = child.machine->start_at;
      child.input = std::move(parent.branch_inputs[index]);
      parent.branch_inputs[index] = nullptr;
      ++parent.running;
      event(map ? "MapIterationStarted" : "BranchStarted",
            Details()
                .field("frame", child.id)
                .field("parent", parent.id)
                .field("state", parent.state)
                .field("index", static_cast<int64_t>(index))
                .text());
      const int id = child.id;
      ex.frames.emplace(id, std::move(child));
      work.push_back(Work{id, std::nullopt});
    }
  }

  // Removes a frame and everything below it, clearing their timers. Their running task
  // attempts are forgotten: a late result finds no frame waiting for its key.
  void cancel_frame(int frame_id) {
    std::vector<int> doomed{frame_id};
    for (size_t i = 0; i < doomed.size(); ++i) {
      for (const auto& [id, frame] : ex.frames) {
        if (frame.parent == doomed[i]) doomed.push_back(id);
      }
    }
    for (int id : doomed) {
      auto it = ex.frames.find(id);
      if (it == ex.frames.end()) continue;
      clear_timer(it->second);
      ex.frames.erase(it);
    }
  }

  // A frame ended with an output or an error: the execution ends, or the parent takes note.
  void end_frame(int frame_id, states::BranchOutcome outcome) {
    Frame& frame = ex.frames.at(frame_id);
    clear_timer(frame);
    if (frame.parent < 0) {
      end_execution(std::move(outcome));
      return;
    }

    const int parent_id = frame.parent;
    const size_t index = static_cast<size_t>(frame.index);
    Frame& parent = ex.frames.at(parent_id);
    const states::State& state = state_of(parent);
    const bool map = state.type == states::StateType::kMap;
    const auto* error = std::get_if<states::StatesError>(&outcome);
    Details details;
    details.field("frame", frame_id)
        .field("parent", parent_id)
        .field("state", parent.state)
        .field("index", static_cast<int64_t>(index));
    if (error != nullptr) details.field("error", error->error).field("cause", error->cause);
    const char* type = map ? (error ? "MapIterationFailed" : "MapIterationSucceeded")
                           : (error ? "BranchFailed" : "BranchSucceeded");
    event(type, details.text());
    ex.frames.erase(frame_id);
    --parent.running;
    if (error != nullptr) ++parent.failed;
    parent.outcomes[index] = std::move(outcome);

    // Too many failures: stop the rest and fail the state, which may still retry or catch.
    const auto total = static_cast<int64_t>(parent.outcomes.size());
    if (parent.failed > 0 && states::exceeds_tolerance(state, parent.input, parent.failed, total)) {
      states::StatesError failure;
      if (state.map_mode == states::State::MapMode::kDistributed && map) {
        failure = states::StatesError{std::string(states::kExceedToleratedFailureThreshold),
                                      std::to_string(parent.failed) + " of " +
                                          std::to_string(total) + " items of Map state '" +
                                          parent.state + "' failed, more than it tolerates"};
      } else {
        failure = std::get<states::StatesError>(*parent.outcomes[index]);
      }
      cancel_children(parent_id);
      reset_branches(parent);
      work.push_back(Work{parent_id, Step(Failure{std::move(failure)})});
      return;
    }

    start_more(parent, state);
    if (parent.running > 0 || parent.next_branch < parent.branch_inputs.size()) return;

    std::vector<states::BranchOutcome> outcomes;
    outcomes.reserve(parent.outcomes.size());
    for (auto& result : parent.outcomes)
      outcomes.push_back(std::move(*result));
    reset_branches(parent);
    Step next = states::complete_branches(state, parent.input, outcomes, context_for(parent));
    work.push_back(Work{parent_id, std::move(next)});
  }

  void cancel_children(int parent_id) {
    std::vector<int> children;
    for (const auto& [id, frame] : ex.frames) {
      if (frame.parent == parent_id) children.push_back(id);
    }
    for (int id : children)
      cancel_frame(id);
  }

  static void reset_branches(Frame& frame) {
    frame.branch_inputs.clear();
    frame.outcomes.clear();
    frame.next_branch = 0;
    frame.running = 0;
    frame.failed = 0;
    frame.waiting = Frame::Waiting::kNothing;
  }

  void end_execution(states::BranchOutcome outcome) {
    if (auto* error = std::get_if<states::StatesError>(&outcome)) {
      finish(store::ExecutionStatus::kFailed, "ExecutionFailed", nullptr, error);
    } else {
      finish(store::ExecutionStatus::kSucceeded, "ExecutionSucceeded",
             &std::get<json::value>(outcome), nullptr);
    }
  }

  void finish(store::ExecutionStatus status, const char* type, const json::value* output,
              const states::StatesError* error) {
    Details details;
    if (output != nullptr) {
      ex.record.output = json::serialize(*output);
      details.field("output", *output);
    }
    if (error != nullptr) {
      details.field("error", error->error).field("cause", error->cause);
      ex.record.error = error->error;
      ex.record.cause = error->cause;
    }
    event(type, details.text());
    for (auto& [id, frame] : ex.frames)
      clear_timer(frame);
    if (ex.machine->timeout_seconds) ex.timers_cleared.emplace_back(kExecutionTimer);
    ex.frames.clear();
    work.clear();
    ex.invocations.clear();
    ex.record.status = status;
    ex.record.stop_ms = env.now_ms;
    ex.ended = true;
  }

  // Inputs from outside.

  void start() {
    const json::value input = json::parse(ex.record.input);
    event("ExecutionStarted", Details()
                                  .field("input", input)
                                  .field("stateMachine", ex.record.state_machine)
                                  .field("machineHash", ex.record.machine_hash)
                                  .field("name", ex.record.name)
                                  .text());
    if (ex.machine->timeout_seconds) {
      const auto due =
          ex.record.start_ms + static_cast<int64_t>(*ex.machine->timeout_seconds * 1000);
      ex.timers_set.push_back(store::TimerRecord{ex.record.id, kExecutionTimer, due});
    }
    Frame root;
    root.id = ex.next_frame++;
    root.machine = ex.machine.get();
    root.state = ex.machine->start_at;
    root.input = input;
    ex.frames.emplace(root.id, std::move(root));
    work.push_back(Work{0, std::nullopt});
  }

  Frame* frame_waiting_for_task(const std::string& key) {
    for (auto& [id, frame] : ex.frames) {
      if (frame.waiting == Frame::Waiting::kTask && frame.task_key == key) return &frame;
    }
    return nullptr;
  }

  void task_done(const std::string& key, TaskOutcome outcome) {
    Frame* frame = frame_waiting_for_task(key);
    if (frame == nullptr) return;  // the attempt timed out or its branch was cancelled

    clear_timer(*frame);
    frame->waiting = Frame::Waiting::kNothing;
    const states::State& state = state_of(*frame);
    if (auto* error = std::get_if<states::StatesError>(&outcome)) {
      event("TaskFailed", Details()
                              .field("frame", frame->id)
                              .field("state", frame->state)
                              .field("key", key)
                              .field("error", error->error)
                              .field("cause", error->cause)
                              .text());
      work.push_back(Work{frame->id, Step(Failure{std::move(*error)})});
      return;
    }
    auto& result = std::get<json::value>(outcome);
    event("TaskSucceeded", Details()
                               .field("frame", frame->id)
                               .field("state", frame->state)
                               .field("key", key)
                               .field("output", result)
                               .text());
    Step next = states::complete_task(state, frame->input, result, context_for(*frame));
    work.push_back(Work{frame->id, std::move(next)});
  }

  void timer_fired(const std::string& name) {
    if (name == kExecutionTimer) {
      const states::StatesError error{std::string(states::kTimeout),
                                      "the execution ran longer than the machine's TimeoutSeconds"};
      finish(store::ExecutionStatus::kTimedOut, "ExecutionTimedOut", nullptr, &error);
      return;
    }
    Frame* frame = nullptr;
    for (auto& [id, candidate] : ex.frames) {
      if (candidate.timer == name) frame = &candidate;
    }
    if (frame == nullptr) return;  // cleared after it was armed

    frame->timer.clear();
    ex.timers_cleared.push_back(name);
    switch (frame->waiting) {
      case Frame::Waiting::kWait: {
        frame->waiting = Frame::Waiting::kNothing;
        Step next = states::wait_done(state_of(*frame), std::move(frame->wait_output));
        work.push_back(Work{frame->id, std::move(next)});
        return;
      }
      case Frame::Waiting::kRetry: {
        frame->waiting = Frame::Waiting::kNothing;
        ++frame->attempt;
        const states::State& state = state_of(*frame);
        Step next = states::enter_state(state, frame->input, context_for(*frame), env.now_ms);
        work.push_back(Work{frame->id, std::move(next)});
        return;
      }
      case Frame::Waiting::kTask: {
        frame->waiting = Frame::Waiting::kNothing;
        event("TaskTimedOut", Details()
                                  .field("frame", frame->id)
                                  .field("state", frame->state)
                                  .field("key", frame->task_key)
                                  .field("error", frame->timeout_error)
                                  .text());
        const states::StatesError error{frame->timeout_error, "the task attempt ran out of time"};
        work.push_back(Work{frame->id, Step(Failure{error})});
        return;
      }
      case Frame::Waiting::kNothing:
      case Frame::Waiting::kBranches:
        return;
    }
  }

  void stop(const std::string& error, const std::string& cause) {
    const states::StatesError reason{error, cause};
    finish(store::ExecutionStatus::kAborted, "ExecutionAborted", nullptr, &reason);
  }

  void drain() {
    while (!work.empty() && !ex.ended) {
      Work next = std::move(work.front());
      work.pop_front();
      run(next.frame, std::move(next.step));
    }
  }
};

}  // namespace

TaskRequest task_request(const Execution& execution, const Frame& frame, bool reissued) {
  TaskRequest request;
  request.execution_id = execution.record.id;
  request.machine_name = execution.record.state_machine;
  request.state_name = frame.state;
  request.resource = frame.resource;
  request.input = frame.task_input;
  request.idempotency_key = frame.task_key;
  request.attempt = frame.attempt;
  request.reissued = reissued;
  request.timeout_ms = frame.timeout_ms;
  return request;
}

void Details::key(std::string_view key) {
  if (text_.size() > 1) text_ += ',';
  core::append_json_string(text_, key);
  text_ += ':';
}

Details& Details::field(std::string_view name, int64_t value) {
  key(name);
  text_ += std::to_string(value);
  return *this;
}

Details& Details::field(std::string_view name, std::string_view value) {
  key(name);
  core::append_json_string(text_, value);
  return *this;
}

Details& Details::field(std::string_view name, const json::value& value) {
  key(name);
  text_ += json::serialize(value);
  return *this;
}

void record_event(Execution& execution, const char* type, std::string details, int64_t now_ms) {
  store::HistoryRecord event;
  event.execution_id = execution.record.id;
  event.event_id = execution.record.next_event_id++;
  event.type = type;
  event.time_ms = now_ms;
  event.details = std::move(details);
  execution.events.push_back(std::move(event));
}

void init_context(Execution& execution) {
  json::object context;
  json::object exec;
  exec["Id"] = execution.record.id;
  exec["Input"] = json::parse(execution.record.input);
  exec["Name"] = execution.record.name;
  exec["StartTime"] = core::format_rfc3339(execution.record.start_ms, true);
  context["Execution"] = std::move(exec);
  context["StateMachine"] = json::object{{"Id", execution.record.state_machine},
                                         {"Name", execution.record.state_machine}};
  execution.context.value = std::move(context);
}

void advance(Execution& execution, std::vector<Input> inputs, const AdvanceEnv& env) {
  Advancer advancer{execution, env, {}};
  for (Input& input : inputs) {
    if (execution.ended) break;
    switch (input.kind) {
      case Input::Kind::kStart:
        advancer.start();
        break;
      case Input::Kind::kTaskDone:
        advancer.task_done(input.key, std::move(input.outcome));
        break;
      case Input::Kind::kTimer:
        advancer.timer_fired(input.key);
        break;
      case Input::Kind::kStop:
        advancer.stop(input.error, input.cause);
        break;
    }
    advancer.drain();
  }
}

}  // namespace homeostat::engine
