#include "engine/resources.hpp"

#include <cassert>
#include <utility>

#include "core/json.hpp"
#include "states/errors.hpp"

namespace homeostat::engine {

void ResourceRegistry::add(std::string name, std::shared_ptr<TaskRunner> runner) {
  // A null runner would turn every later invoke() for this name into a crash far from the
  // mistake; registering one is a bug of the caller.
  assert(runner != nullptr);
  std::lock_guard lock(mutex_);
  if (!name.empty() && name.back() == '*') {
    name.pop_back();
    prefixes_.insert_or_assign(std::move(name), std::move(runner));
    return;
  }

  exact_.insert_or_assign(std::move(name), std::move(runner));
}

std::shared_ptr<TaskRunner> ResourceRegistry::find(std::string_view resource) const {
  std::lock_guard lock(mutex_);
  if (auto it = exact_.find(resource); it != exact_.end()) return it->second;

  // Longest prefix first: try every prefix of the resource, from the whole name down to the
  // empty prefix that a bare "*" registers. Names are short and the maps small, so this costs
  // a handful of lookups.
  for (std::size_t length = resource.size() + 1; length-- > 0;) {
    if (auto it = prefixes_.find(resource.substr(0, length)); it != prefixes_.end()) {
      return it->second;
    }
  }
  return nullptr;
}

void ResourceRegistry::invoke(const TaskRequest& request, TaskCallback done) {
  // The lock is released before the runner starts: a runner may call `done` on this thread,
  // and `done` may well come back into the registry.
  std::shared_ptr<TaskRunner> runner = find(request.resource);
  if (runner == nullptr) {
    done(states::StatesError{
        std::string(states::kTaskFailed),
        "no task resource is registered for " + core::json_quote(request.resource)});
    return;
  }

  runner->invoke(request, std::move(done));
}

}  // namespace homeostat::engine
