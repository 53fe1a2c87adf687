#include "daemon/state_machines.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/log.hpp"

namespace homeostat::daemon {
namespace {

namespace fs = std::filesystem;
const core::Logger kLog("state_machines");

core::Result<std::string> read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) {
    return core::Error(core::ErrorCode::kIo, "cannot read " + path.string());
  }
  return text.str();
}

// Writes `text` to `path` through a temporary file and a rename, with fsync, so that a crash
// leaves the old version or the new one, never half of one.
core::Status write_atomically(const fs::path& path, const std::string& text) {
  const std::string tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return core::Error(core::ErrorCode::kIo, "cannot write " + tmp + ": " + std::strerror(errno));
  }
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return core::Error(core::ErrorCode::kIo,
                       "cannot write " + path.string() + ": " + std::strerror(errno));
  }
  return {};
}

// The machine name of a state machine file, or nullopt when the file is not one.
std::optional<std::string> machine_name_of(const fs::directory_entry& entry) {
  const std::string file = entry.path().filename().string();
  if (!entry.is_regular_file() || file.size() <= kMachineFileSuffix.size() ||
      !file.ends_with(kMachineFileSuffix)) {
    return std::nullopt;
  }
  return file.substr(0, file.size() - kMachineFileSuffix.size());
}

}  // namespace

bool is_valid_machine_name(std::string_view name) {
  if (name.empty() || name.size() > 80 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
  });
}

StateMachineCatalog::StateMachineCatalog(engine::Engine& engine, const std::string& config_dir,
                                         const std::string& data_dir)
    : engine_(engine),
      files_dir_((fs::path(config_dir) / "state-machines").string()),
      kept_dir_((fs::path(data_dir) / "state-machines").string()) {}

core::Result<std::map<std::string, api::MachineEntry>> StateMachineCatalog::load_dir(
    const std::string& dir, const std::string& origin, std::vector<std::string>* bad) {
  std::map<std::string, api::MachineEntry> loaded;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return loaded;

  // Sorted, so that the log reads the same on every start.
  std::vector<fs::directory_entry> entries;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    entries.push_back(entry);
  }
  if (ec) {
    return core::Error(core::ErrorCode::kIo, "cannot read " + dir + ": " + ec.message());
  }
  std::sort(entries.begin(), entries.end());

  for (const auto& entry : entries) {
    auto name = machine_name_of(entry);
    if (!name) continue;

    const std::string file = entry.path().string();
    auto skip = [&](const std::string& error) {
      kLog.error("state machine file skipped", {{"file", file}, {"error", error}});
      bad->push_back(*name);
    };
    if (!is_valid_machine_name(*name)) {
      skip("the name must be 1 to 80 of A-Z a-z 0-9 . _ - and not start with '.'");
      continue;
    }
    auto text = read_text(entry.path());
    if (!text) {
      skip(text.error().message());
      continue;
    }
    auto hash = engine_.register_machine(*name, *text);
    if (!hash) {
      skip(hash.error().message());
      continue;
    }
    loaded[*name] = api::MachineEntry{*name, *hash, origin == "file" ? "file:" + file : origin};
  }
  return loaded;
}

core::Result<size_t> StateMachineCatalog::load() {
  std::error_code ec;
  fs::create_directories(kept_dir_, ec);
  if (ec) {
    return core::Error(core::ErrorCode::kIo, "cannot create " + kept_dir_ + ": " + ec.message());
  }
  std::vector<std::string> bad;
  auto kept = load_dir(kept_dir_, "api", &bad);
  if (!kept) return kept.error();
  {
    std::lock_guard lock(mutex_);
    from_api_ = std::move(*kept);
  }
  auto files = reload_files();
  if (!files) return files.error();
  return bad.size() + *files;
}

core::Result<size_t> StateMachineCatalog::reload_files() {
  std::lock_guard put_lock(put_mutex_);
  std::vector<std::string> bad;
  auto files = load_dir(files_dir_, "file", &bad);
  if (!files) return files.error();

  std::lock_guard lock(mutex_);
  // A file that went bad leaves its machine as it was: the engine still runs that version.
  for (const std::string& name : bad) {
    if (auto it = from_files_.find(name); it != from_files_.end()) files->insert(*it);
  }
  // A file owns its name: a machine kept from the API under the same name gives way.
  for (const auto& [name, entry] : *files) {
    if (from_api_.erase(name) > 0) {
      kLog.warn("a state machine file replaces the one put through the API",
                {{"machine", name}, {"file", entry.origin.substr(5)}});
    }
  }
  from_files_ = std::move(*files);
  kLog.info("state machines loaded", {{"files", static_cast<int64_t>(from_files_.size())},
                                      {"api", static_cast<int64_t>(from_api_.size())},
                                      {"skipped", static_cast<int64_t>(bad.size())}});
  return bad.size();
}

core::Result<std::string> StateMachineCatalog::put(const std::string& name,
                                                   const std::string& definition) {
  if (!is_valid_machine_name(name)) {
    return core::Error(core::ErrorCode::kInvalidArgument,
                       "name: must be 1 to 80 of A-Z a-z 0-9 . _ - and not start with '.'");
  }
  std::lock_guard put_lock(put_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (auto it = from_files_.find(name); it != from_files_.end()) {
      return core::Error(core::ErrorCode::kAlreadyExists,
                         "the state machine " + name + " comes from " +
                             it->second.origin.substr(5) + "; change it there");
    }
  }

  // Validated and in force first; then kept, so that a definition the engine refuses never
  // reaches the data directory.
  auto hash = engine_.register_machine(name, definition);
  if (!hash) return hash.error();
  const fs::path kept = fs::path(kept_dir_) / (name + std::string(kMachineFileSuffix));
  if (auto s = write_atomically(kept, definition); !s.ok()) {
    return core::Error(
        core::ErrorCode::kIo,
        "the state machine is in force but will be lost at a restart: " + s.error().message());
  }
  std::lock_guard lock(mutex_);
  from_api_[name] = api::MachineEntry{name, *hash, "api"};
  return *hash;
}

std::vector<api::MachineEntry> StateMachineCatalog::list() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, api::MachineEntry> all = from_api_;
  for (const auto& [name, entry] : from_files_) {
    all[name] = entry;
  }
  std::vector<api::MachineEntry> out;
  out.reserve(all.size());
  for (auto& [name, entry] : all) {
    out.push_back(std::move(entry));
  }
  return out;
}

std::optional<api::MachineEntry> StateMachineCatalog::find(const std::string& name) const {
  std::lock_guard lock(mutex_);
  if (auto it = from_files_.find(name); it != from_files_.end()) return it->second;
  if (auto it = from_api_.find(name); it != from_api_.end()) return it->second;
  return std::nullopt;
}

}  // namespace homeostat::daemon
