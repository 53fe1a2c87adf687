// The state machines in force in a daemon, and where each one comes from.
//
// Two sources: every `*.asl.json` file under <config>/state-machines (the file name without its
// suffix is the machine's name), read at start-up and again on reload; and machines put through
// the API, which are kept as files under <data>/state-machines so that they survive a restart.
// A file in the configuration directory owns its name: the API cannot replace it.
//
// A bad file never stops the others: it is logged with the validator's message and skipped,
// and the machine it names keeps the version it had, if any.
//
// Thread-safe: the catalog is read by API threads while a reload (the signal thread) replaces
// the file entries under a mutex.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/routes.hpp"
#include "core/result.hpp"
#include "engine/engine.hpp"

namespace homeostat::daemon {

// The suffix a state machine file must have.
inline constexpr std::string_view kMachineFileSuffix = ".asl.json";

// True when `name` is acceptable for a state machine: 1 to 80 of [A-Za-z0-9._-], not starting
// with '.' (it becomes a file name).
bool is_valid_machine_name(std::string_view name);

class StateMachineCatalog final : public api::MachineCatalog {
 public:
  // `engine` outlives the catalog. config_dir and data_dir are the daemon's directories.
  StateMachineCatalog(engine::Engine& engine, const std::string& config_dir,
                      const std::string& data_dir);

  // Registers the machines kept from the API, then every file of the configuration directory.
  // Returns how many files were skipped because they are bad; fails only when a directory
  // cannot be read or created.
  core::Result<size_t> load();
  // Reads the configuration directory's files again; the same rules as load(). A machine whose
  // file is gone is no longer in force.
  core::Result<size_t> reload_files();

  core::Result<std::string> put(const std::string& name, const std::string& definition) override;
  std::vector<api::MachineEntry> list() const override;
  std::optional<api::MachineEntry> find(const std::string& name) const override;

 private:
  // Registers every *.asl.json file of `dir` in the engine; returns the entries that loaded,
  // with `origin` ("api", or "file" for "file:<path>"), and adds the names of bad files to *bad.
  core::Result<std::map<std::string, api::MachineEntry>> load_dir(const std::string& dir,
                                                                  const std::string& origin,
                                                                  std::vector<std::string>* bad);

  engine::Engine& engine_;
  const std::string files_dir_;  // <config>/state-machines
  const std::string kept_dir_;   // <data>/state-machines

  mutable std::mutex mutex_;
  std::map<std::string, api::MachineEntry> from_files_;  // guarded by mutex_
  std::map<std::string, api::MachineEntry> from_api_;    // guarded by mutex_
  // One put or reload at a time, so that the engine's current version of a name and the
  // catalog's entry for it are always the same one.
  std::mutex put_mutex_;
};

}  // namespace homeostat::daemon
