#include "store/execution_store.hpp"

namespace homeostat::store {

const char* execution_status_name(ExecutionStatus status) {
  switch (status) {
    case ExecutionStatus::kRunning:
      return "RUNNING";
    case ExecutionStatus::kSucceeded:
      return "SUCCEEDED";
    case ExecutionStatus::kFailed:
      return "FAILED";
    case ExecutionStatus::kTimedOut:
      return "TIMED_OUT";
    case ExecutionStatus::kAborted:
      return "ABORTED";
  }
  return "FAILED";
}

std::optional<ExecutionStatus> parse_execution_status(std::string_view name) {
  for (auto status :
       {ExecutionStatus::kRunning, ExecutionStatus::kSucceeded, ExecutionStatus::kFailed,
        ExecutionStatus::kTimedOut, ExecutionStatus::kAborted}) {
    if (name == execution_status_name(status)) return status;
  }
  return std::nullopt;
}

}  // namespace homeostat::store
