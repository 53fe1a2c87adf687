// The snapshot of a running execution: its frames as JSON, written with every commit and read
// when the engine opens the store after a restart. The format is in docs/design/executions.md.
//
// Frames keep no pointer to their machine in the snapshot: the root runs the execution's
// machine, and a child runs a branch or the item processor of the state its parent stands in,
// so loading resolves parents first (a child's id is always larger than its parent's).

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "engine/execution.hpp"

namespace homeostat::engine {
namespace json = boost::json;

namespace {

const char* waiting_name(Frame::Waiting waiting) {
  switch (waiting) {
    case Frame::Waiting::kNothing:
      return "nothing";
    case Frame::Waiting::kTask:
      return "task";
    case Frame::Waiting::kWait:
      return "wait";
    case Frame::Waiting::kRetry:
      return "retry";
    case Frame::Waiting::kBranches:
      return "branches";
  }
  return "nothing";
}

std::optional<Frame::Waiting> parse_waiting(std::string_view name) {
  for (auto waiting : {Frame::Waiting::kNothing, Frame::Waiting::kTask, Frame::Waiting::kWait,
                       Frame::Waiting::kRetry, Frame::Waiting::kBranches}) {
    if (name == waiting_name(waiting)) return waiting;
  }
  return std::nullopt;
}

json::value save_outcome(const std::optional<states::BranchOutcome>& outcome) {
  if (!outcome) return nullptr;
  if (const auto* error = std::get_if<states::StatesError>(&*outcome)) {
    return json::object{{"error", error->error}, {"cause", error->cause}};
  }
  return json::object{{"output", std::get<json::value>(*outcome)}};
}

std::optional<states::BranchOutcome> load_outcome(const json::value& value) {
  if (value.is_null()) return std::nullopt;
  const json::object& object = value.as_object();
  if (const json::value* output = object.if_contains("output")) {
    return states::BranchOutcome(*output);
  }
  return states::BranchOutcome(states::StatesError{std::string(object.at("error").as_string()),
                                                   std::string(object.at("cause").as_string())});
}

json::object save_frame(const Frame& frame) {
  json::object out;
  out["id"] = frame.id;
  out["parent"] = frame.parent;
  out["index"] = frame.index;
  out["state"] = frame.state;
  out["input"] = frame.input;
  out["entered"] = frame.entered_ms;
  json::array retries;
  for (int n : frame.retries)
    retries.emplace_back(n);
  out["retries"] = std::move(retries);
  out["waiting"] = waiting_name(frame.waiting);
  out["timer"] = frame.timer;
  out["attempt"] = frame.attempt;
  switch (frame.waiting) {
    case Frame::Waiting::kTask:
      out["key"] = frame.task_key;
      out["resource"] = frame.resource;
      out["taskInput"] = frame.task_input;
      out["timeoutMs"] = frame.timeout_ms;
      out["timeoutError"] = frame.timeout_error;
      break;
    case Frame::Waiting::kWait:
      out["waitOutput"] = frame.wait_output;
      break;
    case Frame::Waiting::kBranches: {
      json::array inputs;
      for (size_t i = frame.next_branch; i < frame.branch_inputs.size(); ++i) {
        inputs.push_back(frame.branch_inputs[i]);
      }
      json::array outcomes;
      for (const auto& outcome : frame.outcomes)
        outcomes.push_back(save_outcome(outcome));
      out["pendingInputs"] = std::move(inputs);  // the inputs of branches not yet started
      out["outcomes"] = std::move(outcomes);
      out["nextBranch"] = frame.next_branch;
      out["maxConcurrency"] = frame.max_concurrency;
      out["running"] = frame.running;
      out["failed"] = frame.failed;
      break;
    }
    case Frame::Waiting::kNothing:
    case Frame::Waiting::kRetry:
      break;
  }
  return out;
}

// The machine a child frame runs: a branch or the item processor of its parent's state.
const states::StateMachine* child_machine(const Frame& parent, int index) {
  const states::State* state = parent.machine->find(parent.state);
  if (state == nullptr) return nullptr;
  if (state->type == states::StateType::kMap) return state->item_processor.get();
  if (state->type != states::StateType::kParallel || index < 0 ||
      static_cast<size_t>(index) >= state->branches.size()) {
    return nullptr;
  }
  return state->branches[static_cast<size_t>(index)].get();
}

core::Status load_frame(Execution& execution, const json::object& in) {
  Frame frame;
  frame.id = static_cast<int>(in.at("id").to_number<int64_t>());
  frame.parent = static_cast<int>(in.at("parent").to_number<int64_t>());
  frame.index = static_cast<int>(in.at("index").to_number<int64_t>());
  frame.state = std::string(in.at("state").as_string());
  frame.input = in.at("input");
  frame.entered_ms = in.at("entered").to_number<int64_t>();
  for (const json::value& n : in.at("retries").as_array()) {
    frame.retries.push_back(static_cast<int>(n.to_number<int64_t>()));
  }
  auto waiting = parse_waiting(in.at("waiting").as_string());
  if (!waiting) return core::Error(core::ErrorCode::kInternal, "unknown waiting kind");
  frame.waiting = *waiting;
  frame.timer = std::string(in.at("timer").as_string());
  frame.attempt = static_cast<int>(in.at("attempt").to_number<int64_t>());

  if (frame.parent < 0) {
    frame.machine = execution.machine.get();
  } else {
    auto parent = execution.frames.find(frame.parent);
    if (parent == execution.frames.end()) {
      return core::Error(core::ErrorCode::kInternal,
                         "frame " + std::to_string(frame.id) + " names a missing parent");
    }
    frame.machine = child_machine(parent->second, frame.index);
  }
  if (frame.machine == nullptr || frame.machine->find(frame.state) == nullptr) {
    return core::Error(
        core::ErrorCode::kInternal,
        "frame " + std::to_string(frame.id) + " stands in unknown state '" + frame.state + "'");
  }

  switch (frame.waiting) {
    case Frame::Waiting::kTask:
      frame.task_key = std::string(in.at("key").as_string());
      frame.resource = std::string(in.at("resource").as_string());
      frame.task_input = in.at("taskInput");
      frame.timeout_ms = in.at("timeoutMs").to_number<int64_t>();
      frame.timeout_error = std::string(in.at("timeoutError").as_string());
      break;
    case Frame::Waiting::kWait:
      frame.wait_output = in.at("waitOutput");
      break;
    case Frame::Waiting::kBranches: {
      frame.next_branch = in.at("nextBranch").to_number<size_t>();
      frame.max_concurrency = in.at("maxConcurrency").to_number<int64_t>();
      frame.running = static_cast<int>(in.at("running").to_number<int64_t>());
      frame.failed = in.at("failed").to_number<int64_t>();
      for (const json::value& outcome : in.at("outcomes").as_array()) {
        frame.outcomes.push_back(load_outcome(outcome));
      }
      frame.branch_inputs.assign(frame.outcomes.size(), nullptr);
      size_t i = frame.next_branch;
      for (const json::value& input : in.at("pendingInputs").as_array()) {
        if (i >= frame.branch_inputs.size()) break;
        frame.branch_inputs[i++] = input;
      }
      break;
    }
    case Frame::Waiting::kNothing:
    case Frame::Waiting::kRetry:
      break;
  }
  const int id = frame.id;
  execution.frames.emplace(id, std::move(frame));
  return {};
}

}  // namespace

std::string save_snapshot(const Execution& execution) {
  json::array frames;
  for (const auto& [id, frame] : execution.frames)
    frames.push_back(save_frame(frame));
  json::object snapshot{{"nextFrame", execution.next_frame}, {"frames", std::move(frames)}};
  return json::serialize(snapshot);
}

core::Status load_snapshot(Execution& execution, const std::string& text) {
  boost::system::error_code ec;
  json::value snapshot = json::parse(text, ec);
  if (ec || !snapshot.is_object()) {
    return core::Error(core::ErrorCode::kInternal, "the snapshot is not a JSON object");
  }

  // Frames are saved in id order, so every parent is loaded before its children.
  try {
    const json::object& object = snapshot.as_object();
    execution.next_frame = static_cast<int>(object.at("nextFrame").to_number<int64_t>());
    for (const json::value& frame : object.at("frames").as_array()) {
      if (auto s = load_frame(execution, frame.as_object()); !s) return s;
    }
  } catch (const std::exception& e) {
    // Boost.JSON's accessors throw on a missing member or a wrong kind; a snapshot this build
    // did not write is reported, not fatal to the daemon.
    return core::Error(core::ErrorCode::kInternal,
                       std::string("the snapshot does not have the expected shape: ") + e.what());
  }
  return {};
}

}  // namespace homeostat::engine
