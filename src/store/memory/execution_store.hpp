// An ExecutionStore that keeps everything in memory: for `homeostat asl run`, which runs one
// machine to its end in-process, and for tests. Nothing survives the process.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "store/execution_store.hpp"

namespace homeostat::store::memory {

class MemoryExecutionStore final : public ExecutionStore {
 public:
  core::Status put_machine_version(const std::string& name, const std::string& hash,
                                   const std::string& definition, int64_t now_ms) override;
  core::Result<std::optional<std::string>> get_machine_version(const std::string& hash) override;
  core::Status commit(std::span<const ExecutionWrite> writes) override;
  core::Result<std::vector<ExecutionRecord>> open_executions() override;
  core::Result<std::vector<TimerRecord>> timers() override;
  core::Result<std::optional<ExecutionRecord>> get_execution(const std::string& id) override;
  core::Result<std::optional<ExecutionRecord>> find_execution_by_name(
      const std::string& state_machine, const std::string& name) override;
  core::Result<std::vector<ExecutionRecord>> list_executions(const ExecutionQuery& query) override;
  core::Result<std::vector<HistoryRecord>> history(const std::string& execution_id,
                                                   int64_t after_event_id, size_t limit) override;

 private:
  std::mutex mutex_;
  std::map<std::string, std::string> versions_;                    // hash -> definition
  std::map<std::string, ExecutionRecord> executions_;              // by id
  std::map<std::string, std::vector<HistoryRecord>> history_;      // by execution id
  std::map<std::pair<std::string, std::string>, int64_t> timers_;  // (execution, timer) -> due
};

}  // namespace homeostat::store::memory
