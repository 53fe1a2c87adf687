#include "engine/local_run.hpp"

#include "core/clock.hpp"
#include "engine/engine.hpp"
#include "store/memory/execution_store.hpp"

namespace homeostat::engine {

core::Result<LocalRunResult> run_locally(const LocalRunOptions& options) {
  // The tasks: test resources, with the mocks in front when there are any.
  auto registry = std::make_shared<ResourceRegistry>();
  add_test_resources(*registry, options.resources);
  std::shared_ptr<TaskRunner> tasks = registry;
  if (options.mocks) {
    auto mocked =
        MockedTaskRunner::create(options.mocks, options.machine_name, options.test_case, registry);
    if (!mocked) return mocked.error();
    tasks = *mocked;
  }

  store::memory::MemoryExecutionStore store;
  core::ManualClock clock(options.start_ms != 0 ? options.start_ms : core::system_clock().now_ms());
  EngineOptions engine_options;
  engine_options.store = &store;
  engine_options.tasks = tasks.get();
  engine_options.workers = 1;
  if (options.virtual_time) {
    engine_options.virtual_time = true;
    engine_options.manual_clock = &clock;
  }
  auto engine = Engine::open(engine_options);
  if (!engine) return engine.error();
  if (auto hash = (*engine)->register_machine(options.machine_name, options.definition); !hash) {
    return hash.error();
  }

  StartRequest request;
  request.state_machine = options.machine_name;
  request.name = options.execution_name;
  request.execution_id = options.execution_id;
  request.input = options.input;
  auto started = (*engine)->start(request);
  if (!started) return started.error();
  auto ended = (*engine)->wait(started->id, options.timeout);
  if (!ended) return ended.error();
  if (ended->status == store::ExecutionStatus::kRunning) {
    return core::Error(core::ErrorCode::kUnavailable, "the execution did not end in time");
  }
  (*engine)->shutdown();

  LocalRunResult result;
  result.record = std::move(*ended);
  auto history = store.history(result.record.id, 0, SIZE_MAX);
  if (!history) return history.error();
  result.history = std::move(*history);
  return result;
}

}  // namespace homeostat::engine
