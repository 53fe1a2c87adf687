#include "store/memory/execution_store.hpp"

#include <algorithm>

namespace homeostat::store::memory {

core::Status MemoryExecutionStore::put_machine_version(const std::string& /*name*/,
                                                       const std::string& hash,
                                                       const std::string& definition,
                                                       int64_t /*now_ms*/) {
  std::lock_guard lock(mutex_);
  versions_.emplace(hash, definition);
  return {};
}

core::Result<std::optional<std::string>> MemoryExecutionStore::get_machine_version(
    const std::string& hash) {
  std::lock_guard lock(mutex_);
  auto it = versions_.find(hash);
  if (it == versions_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

core::Status MemoryExecutionStore::commit(std::span<const ExecutionWrite> writes) {
  std::lock_guard lock(mutex_);

  // Check every create first, so a refused commit changes nothing, as a transaction would.
  for (const ExecutionWrite& write : writes) {
    if (!write.create) continue;
    for (const auto& [id, existing] : executions_) {
      if (id == write.execution.id || (existing.state_machine == write.execution.state_machine &&
                                       existing.name == write.execution.name)) {
        return core::Error(core::ErrorCode::kAlreadyExists,
                           "execution '" + write.execution.name + "' exists");
      }
    }
  }

  for (const ExecutionWrite& write : writes) {
    const std::string& id = write.execution.id;
    executions_[id] = write.execution;
    auto& events = history_[id];
    events.insert(events.end(), write.events.begin(), write.events.end());
    for (const TimerRecord& timer : write.timers_set)
      timers_[{id, timer.timer}] = timer.due_ms;
    for (const std::string& timer : write.timers_cleared)
      timers_.erase({id, timer});
  }
  return {};
}

core::Result<std::vector<ExecutionRecord>> MemoryExecutionStore::open_executions() {
  std::lock_guard lock(mutex_);
  std::vector<ExecutionRecord> open;
  for (const auto& [id, record] : executions_) {
    if (record.status == ExecutionStatus::kRunning) open.push_back(record);
  }
  return open;
}

core::Result<std::vector<TimerRecord>> MemoryExecutionStore::timers() {
  std::lock_guard lock(mutex_);
  std::vector<TimerRecord> out;
  for (const auto& [key, due] : timers_)
    out.push_back(TimerRecord{key.first, key.second, due});
  return out;
}

core::Result<std::optional<ExecutionRecord>> MemoryExecutionStore::get_execution(
    const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = executions_.find(id);
  if (it == executions_.end()) return std::optional<ExecutionRecord>();
  return std::optional<ExecutionRecord>(it->second);
}

core::Result<std::optional<ExecutionRecord>> MemoryExecutionStore::find_execution_by_name(
    const std::string& state_machine, const std::string& name) {
  std::lock_guard lock(mutex_);
  for (const auto& [id, record] : executions_) {
    if (record.state_machine == state_machine && record.name == name) {
      return std::optional<ExecutionRecord>(record);
    }
  }
  return std::optional<ExecutionRecord>();
}

core::Result<std::vector<ExecutionRecord>> MemoryExecutionStore::list_executions(
    const ExecutionQuery& query) {
  std::lock_guard lock(mutex_);
  std::vector<ExecutionRecord> out;
  for (auto it = executions_.rbegin(); it != executions_.rend() && out.size() < query.limit; ++it) {
    const ExecutionRecord& record = it->second;
    if (query.before_id && record.id >= *query.before_id) continue;
    if (query.state_machine && record.state_machine != *query.state_machine) continue;
    if (query.status && record.status != *query.status) continue;
    out.push_back(record);
    out.back().snapshot.clear();
  }
  return out;
}

core::Result<std::vector<HistoryRecord>> MemoryExecutionStore::history(
    const std::string& execution_id, int64_t after_event_id, size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<HistoryRecord> out;
  auto it = history_.find(execution_id);
  if (it == history_.end()) return out;
  for (const HistoryRecord& event : it->second) {
    if (event.event_id <= after_event_id) continue;
    if (out.size() >= limit) break;
    out.push_back(event);
  }
  return out;
}

}  // namespace homeostat::store::memory
