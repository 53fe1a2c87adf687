#include "daemon/config.hpp"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

namespace homeostat::daemon {
namespace {

core::Error bad(const std::string& where, const std::string& what) {
  return {core::ErrorCode::kInvalidArgument, where + ": " + what};
}

// Applies one setting by its dotted name; shared by the file, where names are nested keys,
// and the environment, where they are HOMEOSTAT_ plus the name in capitals with '_' for '.'.
core::Status apply(Config& c, const std::string& key, const std::string& value,
                   const std::string& where) {
  auto as_int = [&](int64_t& out, int64_t min, int64_t max) -> core::Status {
    int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || ptr != value.data() + value.size() || v < min || v > max) {
      return bad(where, "expected a whole number from " + std::to_string(min) + " to " +
                            std::to_string(max) + ", got \"" + value + "\"");
    }
    out = v;
    return {};
  };
  // Sizes and durations are bounded below (and sizes above) so that no setting can make the
  // daemon useless: a zero timeout would close every connection.
  auto as_size = [&](auto& out, int64_t min, int64_t max) -> core::Status {
    auto v = parse_size_bytes(value);
    if (!v) {
      return bad(where, v.error().message());
    }
    if (*v < min || *v > max) {
      return bad(where, "must be from " + std::to_string(min) + " to " + std::to_string(max) +
                            " bytes, got \"" + value + "\"");
    }
    out = static_cast<std::remove_reference_t<decltype(out)>>(*v);
    return {};
  };
  auto as_duration = [&](auto& out, int64_t min_ms) -> core::Status {
    auto v = parse_duration_ms(value);
    if (!v) {
      return bad(where, v.error().message());
    }
    if (*v < min_ms) {
      return bad(where,
                 "must be at least " + std::to_string(min_ms) + " ms, got \"" + value + "\"");
    }
    out = *v;
    return {};
  };
  constexpr int64_t kMiB = 1024 * 1024;
  constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();
  auto as_bool = [&](bool& out) -> core::Status {
    if (value == "true") {
      out = true;
    } else if (value == "false") {
      out = false;
    } else {
      return bad(where, "expected true or false, got \"" + value + "\"");
    }
    return {};
  };

  if (key == "data") {
    c.data_dir = value;
  } else if (key == "listen") {
    c.listen = value;
  } else if (key == "log.format") {
    if (!core::parse_log_format(value, &c.log_format)) {
      return bad(where, "expected json or logfmt, got \"" + value + "\"");
    }
  } else if (key == "log.level") {
    if (!core::parse_log_level(value, &c.log_level)) {
      return bad(where, "expected debug, info, warn or error, got \"" + value + "\"");
    }
  } else if (key == "http.threads") {
    int64_t v = 0;
    auto s = as_int(v, 1, 64);
    c.http_threads = static_cast<int>(v);
    return s;
  } else if (key == "http.max_header_bytes") {
    return as_size(c.max_header_bytes, 1024, kMiB);
  } else if (key == "http.read_timeout") {
    return as_duration(c.read_timeout_ms, 10);
  } else if (key == "http.idle_timeout") {
    return as_duration(c.idle_timeout_ms, 10);
  } else if (key == "tls.cert") {
    c.tls_cert = value;
  } else if (key == "tls.key") {
    c.tls_key = value;
  } else if (key == "allow_insecure_listen") {
    return as_bool(c.allow_insecure_listen);
  } else if (key == "events.max_entry_bytes") {
    return as_size(c.limits.max_entry_bytes, 256, 64 * kMiB);
  } else if (key == "events.max_batch_bytes") {
    return as_size(c.limits.max_batch_bytes, 1024, 1024 * kMiB);
  } else if (key == "events.max_batch_entries") {
    int64_t v = 0;
    auto s = as_int(v, 1, 1'000'000);
    c.limits.max_batch_entries = static_cast<size_t>(v);
    return s;
  } else if (key == "events.default_account") {
    c.defaults.account = value;
  } else if (key == "events.default_region") {
    c.defaults.region = value;
  } else if (key == "store.synchronous") {
    if (value != "full" && value != "normal") {
      return bad(where, "expected full or normal, got \"" + value + "\"");
    }
    c.synchronous_full = value == "full";
  } else if (key == "store.index_delay") {
    return as_duration(c.index_delay_ms, 1);
  } else if (key == "retention.max_age") {
    int64_t v = 0;
    auto s = as_duration(v, 1000);
    c.retention_max_age_ms = v;
    return s;
  } else if (key == "retention.max_bytes") {
    int64_t v = 0;
    auto s = as_size(v, 0, kMaxInt);
    c.retention_max_bytes = v;
    return s;
  } else if (key == "retention.interval") {
    return as_duration(c.retention_interval_ms, 10);
  } else if (key == "delivery.workers") {
    int64_t v = 0;
    auto s = as_int(v, 1, 64);
    c.delivery_workers = static_cast<int>(v);
    return s;
  } else if (key == "delivery.retry_base") {
    return as_duration(c.retry_base_ms, 10);
  } else if (key == "delivery.retry_max") {
    return as_duration(c.retry_max_ms, 10);
  } else if (key == "delivery.poll") {
    return as_duration(c.dispatch_poll_ms, 10);
  } else if (key == "engine.workers") {
    int64_t v = 0;
    auto s = as_int(v, 1, 64);
    c.engine_workers = static_cast<int>(v);
    return s;
  } else if (key == "engine.test_record_file") {
    c.engine_test_record_file = value;
  } else {
    return bad(where, "unknown setting \"" + key + "\"");
  }
  return {};
}

// Walks the YAML tree, applying each scalar under its dotted name.
core::Status apply_yaml(Config& c, const YAML::Node& node, const std::string& prefix,
                        const std::string& file) {
  for (const auto& kv : node) {
    const std::string key = prefix + kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (v.IsMap()) {
      if (auto s = apply_yaml(c, v, key + ".", file); !s.ok()) {
        return s;
      }
    } else if (v.IsScalar()) {
      if (auto s = apply(c, key, v.Scalar(), file + ": " + key); !s.ok()) {
        return s;
      }
    } else if (!v.IsNull()) {
      return bad(file + ": " + key, "expected a value or a map");
    }
  }
  return {};
}

}  // namespace

EnvLookup process_env() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    return v == nullptr ? std::nullopt : std::optional<std::string>(v);
  };
}

core::Result<std::pair<std::string, uint16_t>> split_listen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return core::Error(core::ErrorCode::kInvalidArgument,
                       "listen address \"" + listen + "\" must be HOST:PORT");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const std::string p = listen.substr(colon + 1);
  const auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || ptr != p.data() + p.size() || port > 65535 || host.empty()) {
    return core::Error(core::ErrorCode::kInvalidArgument,
                       "listen address \"" + listen + "\" must be HOST:PORT with a port 0-65535");
  }
  return std::pair{host, static_cast<uint16_t>(port)};
}

core::Result<Config> load_config(const ConfigFlags& flags, const EnvLookup& env) {
  Config c;

  // Where the configuration lives decides which file is read, so it comes first.
  if (flags.config_dir) {
    c.config_dir = *flags.config_dir;
  } else if (auto v = env("HOMEOSTAT_CONFIG")) {
    c.config_dir = *v;
  }

  // The file, when there is one.
  const std::filesystem::path file = std::filesystem::path(c.config_dir) / "homeostat.yaml";
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    try {
      const YAML::Node root = YAML::LoadFile(file.string());
      if (!root.IsMap() && !root.IsNull()) {
        return bad(file.string(), "expected a map of settings");
      }
      if (auto s = apply_yaml(c, root, "", file.string()); !s.ok()) {
        return s.error();
      }
    } catch (const YAML::Exception& e) {
      return bad(file.string(), std::string("not valid YAML: ") + e.what());
    }
  }

  // The environment.
  static const char* const kEnvKeys[] = {"data",
                                         "listen",
                                         "log.format",
                                         "log.level",
                                         "http.threads",
                                         "tls.cert",
                                         "tls.key",
                                         "allow_insecure_listen",
                                         "store.synchronous",
                                         "store.index_delay",
                                         "retention.max_age",
                                         "retention.max_bytes",
                                         "delivery.workers",
                                         "delivery.retry_base",
                                         "delivery.retry_max",
                                         "engine.workers"};
  for (const char* key : kEnvKeys) {
    std::string name = "HOMEOSTAT_";
    for (const char* p = key; *p != '\0'; ++p) {
      name.push_back(*p == '.' ? '_' : static_cast<char>(std::toupper(*p)));
    }
    if (auto v = env(name.c_str())) {
      if (auto s = apply(c, key, *v, name); !s.ok()) {
        return s.error();
      }
    }
  }

  // The flags.
  struct FlagSetting {
    const std::optional<std::string>* value;
    const char* key;
    const char* flag;
  };
  const FlagSetting flag_settings[] = {{&flags.data_dir, "data", "--data"},
                                       {&flags.listen, "listen", "--listen"},
                                       {&flags.log_format, "log.format", "--log-format"},
                                       {&flags.log_level, "log.level", "--log-level"},
                                       {&flags.tls_cert, "tls.cert", "--tls-cert"},
                                       {&flags.tls_key, "tls.key", "--tls-key"}};
  for (const FlagSetting& f : flag_settings) {
    if (*f.value) {
      if (auto s = apply(c, f.key, **f.value, f.flag); !s.ok()) {
        return s.error();
      }
    }
  }
  if (flags.allow_insecure_listen) {
    c.allow_insecure_listen = true;
  }

  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return bad("tls", "set both tls.cert and tls.key, or neither");
  }
  if (auto l = split_listen(c.listen); !l) {
    return l.error();
  }
  return c;
}

}  // namespace homeostat::daemon
