#include "daemon/config.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace homeostat::daemon {
namespace {

using homeostat::testing::TempDir;

namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// An environment made of the given variables only; the real one is never read.
EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    EXPECT_EQ(std::string(name).rfind("HOMEOSTAT_", 0), 0u) << "asked for " << name;
    const auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

// Loads configurations whose directory is a temp directory; a test writes homeostat.yaml there
// when it needs one.
class ConfigTest : public ::testing::Test {
 protected:
  void write_yaml(const std::string& yaml) { write_file(dir_.path(), yaml); }

  static void write_file(const std::string& dir, const std::string& yaml) {
    std::ofstream out(fs::path(dir) / "homeostat.yaml");
    out << yaml;
  }

  ConfigFlags flags() {
    ConfigFlags f;
    f.config_dir = dir_.path();
    return f;
  }

  core::Result<Config> load(const std::map<std::string, std::string>& env = {}) {
    return load_config(flags(), env_of(env));
  }

  core::Result<Config> load(const ConfigFlags& f,
                            const std::map<std::string, std::string>& env = {}) {
    return load_config(f, env_of(env));
  }

  TempDir dir_;
};

TEST_F(ConfigTest, UsesTheDefaultsWhenNoLayerSetsAnything) {
  const auto c = load();
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->config_dir, dir_.path());
  EXPECT_EQ(c->data_dir, ".homeostat");
  EXPECT_EQ(c->listen, "127.0.0.1:9470");
  EXPECT_EQ(c->log_format, core::LogFormat::kLogfmt);
  EXPECT_EQ(c->log_level, core::LogLevel::kInfo);
  EXPECT_EQ(c->http_threads, 2);
  EXPECT_EQ(c->max_header_bytes, 16u * 1024);
  EXPECT_EQ(c->read_timeout_ms, 30'000);
  EXPECT_EQ(c->idle_timeout_ms, 60'000);
  EXPECT_TRUE(c->tls_cert.empty());
  EXPECT_TRUE(c->tls_key.empty());
  EXPECT_FALSE(c->allow_insecure_listen);
  EXPECT_EQ(c->limits.max_entry_bytes, 256u * 1024);
  EXPECT_EQ(c->limits.max_batch_bytes, 10u * 1024 * 1024);
  EXPECT_EQ(c->limits.max_batch_entries, 10000u);
  EXPECT_EQ(c->defaults.account, "000000000000");
  EXPECT_EQ(c->defaults.region, "local");
  EXPECT_TRUE(c->synchronous_full);
  EXPECT_FALSE(c->retention_max_age_ms.has_value());
  EXPECT_FALSE(c->retention_max_bytes.has_value());
  EXPECT_EQ(c->retention_interval_ms, 60'000);
}

TEST_F(ConfigTest, ReadsEverySettingFromNestedKeysInTheFile) {
  write_yaml(R"(
data: /var/lib/homeostat
listen: "[::1]:8443"
allow_insecure_listen: true
log:
  format: json
  level: debug
http:
  threads: 8
  max_header_bytes: 32KiB
  read_timeout: 10s
  idle_timeout: 2m
tls:
  cert: /etc/homeostat/cert.pem
  key: /etc/homeostat/key.pem
events:
  max_entry_bytes: 1KiB
  max_batch_bytes: 2MB
  max_batch_entries: 500
  default_account: "123456789012"
  default_region: eu-west-1
store:
  synchronous: normal
retention:
  max_age: 7d
  max_bytes: 1GiB
  interval: 5m
)");
  const auto c = load();
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->data_dir, "/var/lib/homeostat");
  EXPECT_EQ(c->listen, "[::1]:8443");
  EXPECT_TRUE(c->allow_insecure_listen);
  EXPECT_EQ(c->log_format, core::LogFormat::kJson);
  EXPECT_EQ(c->log_level, core::LogLevel::kDebug);
  EXPECT_EQ(c->http_threads, 8);
  EXPECT_EQ(c->max_header_bytes, 32u * 1024);
  EXPECT_EQ(c->read_timeout_ms, 10'000);
  EXPECT_EQ(c->idle_timeout_ms, 120'000);
  EXPECT_EQ(c->tls_cert, "/etc/homeostat/cert.pem");
  EXPECT_EQ(c->tls_key, "/etc/homeostat/key.pem");
  EXPECT_EQ(c->limits.max_entry_bytes, 1024u);
  EXPECT_EQ(c->limits.max_batch_bytes, 2'000'000u);
  EXPECT_EQ(c->limits.max_batch_entries, 500u);
  EXPECT_EQ(c->defaults.account, "123456789012");
  EXPECT_EQ(c->defaults.region, "eu-west-1");
  EXPECT_FALSE(c->synchronous_full);
  EXPECT_EQ(c->retention_max_age_ms, 7 * 86'400'000LL);
  EXPECT_EQ(c->retention_max_bytes, 1LL << 30);
  EXPECT_EQ(c->retention_interval_ms, 300'000);
}

TEST_F(ConfigTest, EachLayerOverridesTheOneBelowItAndOnlyForWhatItSets) {
  write_yaml(R"(
data: file-data
listen: 127.0.0.1:1001
log:
  format: json
  level: debug
http:
  threads: 3
)");
  ConfigFlags f = flags();
  f.listen = "127.0.0.1:1003";
  f.data_dir = "flag-data";
  const auto c = load(f, {{"HOMEOSTAT_LISTEN", "127.0.0.1:1002"},
                          {"HOMEOSTAT_LOG_LEVEL", "warn"},
                          {"HOMEOSTAT_DATA", "env-data"},
                          {"HOMEOSTAT_RETENTION_MAX_AGE", "12h"}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->listen, "127.0.0.1:1003") << "flag over env over file";
  EXPECT_EQ(c->data_dir, "flag-data") << "flag over env over file";
  EXPECT_EQ(c->log_level, core::LogLevel::kWarn) << "env over file";
  EXPECT_EQ(c->retention_max_age_ms, 12 * 3'600'000LL) << "env over default";
  EXPECT_EQ(c->log_format, core::LogFormat::kJson) << "file over default";
  EXPECT_EQ(c->http_threads, 3) << "file over default";
  EXPECT_EQ(c->idle_timeout_ms, 60'000) << "default";
}

TEST_F(ConfigTest, ReadsEveryEnvironmentVariableItKnows) {
  const auto c = load({{"HOMEOSTAT_DATA", "/data"},
                       {"HOMEOSTAT_LISTEN", "0.0.0.0:80"},
                       {"HOMEOSTAT_LOG_FORMAT", "json"},
                       {"HOMEOSTAT_LOG_LEVEL", "error"},
                       {"HOMEOSTAT_HTTP_THREADS", "64"},
                       {"HOMEOSTAT_TLS_CERT", "c.pem"},
                       {"HOMEOSTAT_TLS_KEY", "k.pem"},
                       {"HOMEOSTAT_ALLOW_INSECURE_LISTEN", "true"},
                       {"HOMEOSTAT_STORE_SYNCHRONOUS", "normal"},
                       {"HOMEOSTAT_RETENTION_MAX_AGE", "30d"},
                       {"HOMEOSTAT_RETENTION_MAX_BYTES", "10MiB"}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->data_dir, "/data");
  EXPECT_EQ(c->listen, "0.0.0.0:80");
  EXPECT_EQ(c->log_format, core::LogFormat::kJson);
  EXPECT_EQ(c->log_level, core::LogLevel::kError);
  EXPECT_EQ(c->http_threads, 64);
  EXPECT_EQ(c->tls_cert, "c.pem");
  EXPECT_EQ(c->tls_key, "k.pem");
  EXPECT_TRUE(c->allow_insecure_listen);
  EXPECT_FALSE(c->synchronous_full);
  EXPECT_EQ(c->retention_max_age_ms, 30 * 86'400'000LL);
  EXPECT_EQ(c->retention_max_bytes, 10LL << 20);
}

TEST_F(ConfigTest, FlagsOverrideTheEnvironment) {
  ConfigFlags f = flags();
  f.log_format = "logfmt";
  f.log_level = "debug";
  f.tls_cert = "flag-cert.pem";
  f.tls_key = "flag-key.pem";
  f.allow_insecure_listen = true;
  const auto c = load(f, {{"HOMEOSTAT_LOG_FORMAT", "json"},
                          {"HOMEOSTAT_LOG_LEVEL", "error"},
                          {"HOMEOSTAT_TLS_CERT", "env-cert.pem"},
                          {"HOMEOSTAT_TLS_KEY", "env-key.pem"},
                          {"HOMEOSTAT_ALLOW_INSECURE_LISTEN", "false"}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->log_format, core::LogFormat::kLogfmt);
  EXPECT_EQ(c->log_level, core::LogLevel::kDebug);
  EXPECT_EQ(c->tls_cert, "flag-cert.pem");
  EXPECT_EQ(c->tls_key, "flag-key.pem");
  EXPECT_TRUE(c->allow_insecure_listen);
}

TEST_F(ConfigTest, FindsTheFileThroughHomeostatConfigUnlessAFlagNamesADirectory) {
  TempDir from_env;
  TempDir from_flag;
  write_file(from_env.path(), "listen: 127.0.0.1:2001\n");
  write_file(from_flag.path(), "listen: 127.0.0.1:2002\n");

  ConfigFlags f;
  auto c = load(f, {{"HOMEOSTAT_CONFIG", from_env.path()}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->config_dir, from_env.path());
  EXPECT_EQ(c->listen, "127.0.0.1:2001");

  f.config_dir = from_flag.path();
  c = load(f, {{"HOMEOSTAT_CONFIG", from_env.path()}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->config_dir, from_flag.path());
  EXPECT_EQ(c->listen, "127.0.0.1:2002");
}

TEST_F(ConfigTest, TreatsAnEmptyFileAndKeysWithoutValuesAsUnset) {
  write_yaml("");
  auto c = load();
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->listen, "127.0.0.1:9470");

  write_yaml("retention:\nlisten:\n");
  c = load();
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_FALSE(c->retention_max_age_ms.has_value());
  EXPECT_EQ(c->listen, "127.0.0.1:9470");
}

struct BadFile {
  std::string yaml;
  std::vector<std::string> says;  // parts the message must hold
};

TEST_F(ConfigTest, RefusesAFileWithAnUnknownKeyOrBadValueNamingTheKey) {
  const std::vector<BadFile> cases = {
      {"colour: blue\n", {R"(unknown setting "colour")"}},
      {"http:\n  port: 8080\n", {R"(unknown setting "http.port")", ": http.port"}},
      {"retention:\n  max-age: 7d\n", {R"(unknown setting "retention.max-age")"}},
      {"http: fast\n", {R"(unknown setting "http")"}},
      {"http:\n  threads: 0\n", {": http.threads", "from 1 to 64", "\"0\""}},
      {"http:\n  threads: 65\n", {": http.threads", "from 1 to 64"}},
      {"http:\n  threads: 2.5\n", {": http.threads"}},
      {"http:\n  read_timeout: soon\n", {": http.read_timeout", "not a duration"}},
      {"retention:\n  max_age: 7w\n", {": retention.max_age", "unknown unit"}},
      {"retention:\n  max_bytes: 1TB\n", {": retention.max_bytes", "unknown unit"}},
      {"events:\n  max_entry_bytes: -1\n", {": events.max_entry_bytes", "not a size"}},
      {"events:\n  max_batch_entries: 0\n", {": events.max_batch_entries"}},
      {"http:\n  read_timeout: 0s\n", {": http.read_timeout", "at least 10 ms"}},
      {"http:\n  max_header_bytes: 100\n", {": http.max_header_bytes", "must be from 1024"}},
      {"events:\n  max_entry_bytes: 100\n", {": events.max_entry_bytes", "must be from 256"}},
      {"retention:\n  max_age: 500ms\n", {": retention.max_age", "at least 1000 ms"}},
      {"store:\n  synchronous: sometimes\n", {": store.synchronous", "full or normal"}},
      {"log:\n  level: loud\n", {": log.level", "debug, info, warn or error"}},
      {"log:\n  format: xml\n", {": log.format", "json or logfmt"}},
      {"allow_insecure_listen: yes\n", {": allow_insecure_listen", "true or false"}},
      {"http:\n  threads:\n    - 1\n", {": http.threads", "expected a value or a map"}},
      {"- listen\n- data\n", {"expected a map of settings"}},
      {"listen: [unclosed\n", {"not valid YAML"}},
      {"engine:\n  workers: 0\n", {": engine.workers", "from 1 to 64"}},
      {"engine:\n  record_file: x\n", {R"(unknown setting "engine.record_file")"}},
  };
  const std::string file = (fs::path(dir_.path()) / "homeostat.yaml").string();
  for (const BadFile& c : cases) {
    SCOPED_TRACE(c.yaml);
    write_yaml(c.yaml);
    const auto loaded = load();
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.error().code(), core::ErrorCode::kInvalidArgument);
    EXPECT_TRUE(contains(loaded.error().message(), file)) << loaded.error().message();
    for (const std::string& part : c.says) {
      EXPECT_TRUE(contains(loaded.error().message(), part)) << loaded.error().message();
    }
  }
}

TEST_F(ConfigTest, RefusesABadEnvironmentValueNamingTheVariable) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"HOMEOSTAT_HTTP_THREADS", "many"},     {"HOMEOSTAT_HTTP_THREADS", "0"},
      {"HOMEOSTAT_LOG_FORMAT", "xml"},        {"HOMEOSTAT_LOG_LEVEL", "loud"},
      {"HOMEOSTAT_RETENTION_MAX_AGE", "-1d"}, {"HOMEOSTAT_RETENTION_MAX_BYTES", "lots"},
      {"HOMEOSTAT_STORE_SYNCHRONOUS", "off"}, {"HOMEOSTAT_ALLOW_INSECURE_LISTEN", "1"},
  };
  for (const auto& [name, value] : cases) {
    SCOPED_TRACE(name + "=" + value);
    const auto c = load({{name, value}});
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code(), core::ErrorCode::kInvalidArgument);
    EXPECT_TRUE(contains(c.error().message(), name + ": ")) << c.error().message();
  }
}

TEST_F(ConfigTest, RefusesABadFlagValueNamingTheFlag) {
  ConfigFlags f = flags();
  f.log_level = "loud";
  auto c = load(f);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(contains(c.error().message(), "--log-level: ")) << c.error().message();

  f = flags();
  f.log_format = "xml";
  c = load(f);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(contains(c.error().message(), "--log-format: ")) << c.error().message();

  f = flags();
  f.listen = "nowhere";
  c = load(f);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(contains(c.error().message(), R"(listen address "nowhere")")) << c.error().message();
}

TEST_F(ConfigTest, RefusesATlsCertificateWithoutAKeyAndAKeyWithoutACertificate) {
  ConfigFlags f = flags();
  f.tls_cert = "cert.pem";
  auto c = load(f);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_TRUE(contains(c.error().message(), "set both tls.cert and tls.key"))
      << c.error().message();

  c = load({{"HOMEOSTAT_TLS_KEY", "key.pem"}});
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(contains(c.error().message(), "set both tls.cert and tls.key"));

  // Halves from different layers make a pair.
  write_yaml("tls:\n  cert: cert.pem\n");
  c = load({{"HOMEOSTAT_TLS_KEY", "key.pem"}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->tls_cert, "cert.pem");
  EXPECT_EQ(c->tls_key, "key.pem");
}

struct Converted {
  std::string text;
  int64_t want;
};

TEST_F(ConfigTest, ReadsTheEngineSettingsFromTheFileAndTheEnvironment) {
  auto defaults = load();
  ASSERT_TRUE(defaults.ok()) << defaults.error().message();
  EXPECT_EQ(defaults->engine_workers, 2);
  EXPECT_EQ(defaults->engine_test_record_file, "");

  write_yaml("engine:\n  workers: 8\n  test_record_file: /tmp/record.ndjson\n");
  auto from_file = load();
  ASSERT_TRUE(from_file.ok()) << from_file.error().message();
  EXPECT_EQ(from_file->engine_workers, 8);
  EXPECT_EQ(from_file->engine_test_record_file, "/tmp/record.ndjson");
  auto from_env = load({{"HOMEOSTAT_ENGINE_WORKERS", "3"}});
  ASSERT_TRUE(from_env.ok()) << from_env.error().message();
  EXPECT_EQ(from_env->engine_workers, 3);
}

TEST(ParseDurationMs, ReadsEachUnitAndBareSeconds) {
  const std::vector<Converted> cases = {
      {"30d", 30 * 86'400'000LL},
      {"12h", 12 * 3'600'000LL},
      {"15m", 15 * 60'000LL},
      {"10s", 10'000},
      {"250ms", 250},
      {"90", 90'000},
      {"0", 0},
      {"1.5h", 5'400'000},
      {"0.5s", 500},
  };
  for (const Converted& c : cases) {
    const auto ms = parse_duration_ms(c.text);
    ASSERT_TRUE(ms.ok()) << c.text << ": " << ms.error().message();
    EXPECT_EQ(*ms, c.want) << c.text;
  }
}

TEST(ParseDurationMs, RefusesTextThatIsNotADuration) {
  for (const std::string text :
       {"", "ten", "s", "-5s", "10 s", " 10s", "10x", "10S", "1w", "10ms5", "+5s", ".5s"}) {
    const auto ms = parse_duration_ms(text);
    ASSERT_FALSE(ms.ok()) << "\"" << text << "\" read as " << *ms;
    EXPECT_EQ(ms.error().code(), core::ErrorCode::kInvalidArgument);
    EXPECT_TRUE(contains(ms.error().message(), "\"" + text + "\"")) << ms.error().message();
  }
}

TEST(ParseDurationMs, RefusesNumbersThatAreNotFiniteOrDoNotFit) {
  for (const std::string text : {"inf", "nan", "infinity", "1e300d", "1e400"}) {
    const auto ms = parse_duration_ms(text);
    EXPECT_FALSE(ms.ok()) << "\"" << text << "\" read as " << *ms;
  }
}

TEST(ParseSizeBytes, RefusesNumbersThatAreNotFiniteOrDoNotFit) {
  for (const std::string text : {"inf", "nan", "infinity", "1e300GiB", "1e400"}) {
    const auto bytes = parse_size_bytes(text);
    EXPECT_FALSE(bytes.ok()) << "\"" << text << "\" read as " << *bytes;
  }
}

TEST(ParseSizeBytes, ReadsBinaryAndDecimalUnits) {
  const std::vector<Converted> cases = {
      {"512", 512},        {"512B", 512},  {"256KiB", 262'144}, {"10MiB", 10'485'760},
      {"1GiB", 1LL << 30}, {"1KB", 1'000}, {"2MB", 2'000'000},  {"1GB", 1'000'000'000},
      {"1.5KiB", 1'536},   {"0", 0},
  };
  for (const Converted& c : cases) {
    const auto bytes = parse_size_bytes(c.text);
    ASSERT_TRUE(bytes.ok()) << c.text << ": " << bytes.error().message();
    EXPECT_EQ(*bytes, c.want) << c.text;
  }
}

TEST(ParseSizeBytes, RefusesTextThatIsNotASize) {
  for (const std::string text : {"", "lots", "MiB", "-1", "1 MiB", "10XB", "10kib", "1TB"}) {
    const auto bytes = parse_size_bytes(text);
    ASSERT_FALSE(bytes.ok()) << "\"" << text << "\" read as " << *bytes;
    EXPECT_EQ(bytes.error().code(), core::ErrorCode::kInvalidArgument);
    EXPECT_TRUE(contains(bytes.error().message(), "\"" + text + "\"")) << bytes.error().message();
  }
}

struct Listen {
  std::string text;
  std::string host;
  uint16_t port;
};

TEST(SplitListen, SplitsIpv4NamesAndBracketedIpv6) {
  const std::vector<Listen> cases = {
      {"127.0.0.1:9470", "127.0.0.1", 9470},
      {"0.0.0.0:80", "0.0.0.0", 80},
      {"localhost:0", "localhost", 0},
      {"[::1]:8443", "::1", 8443},
      {"[fe80::1%eth0]:65535", "fe80::1%eth0", 65535},
  };
  for (const Listen& c : cases) {
    const auto split = split_listen(c.text);
    ASSERT_TRUE(split.ok()) << c.text << ": " << split.error().message();
    EXPECT_EQ(split->first, c.host) << c.text;
    EXPECT_EQ(split->second, c.port) << c.text;
  }
}

TEST(SplitListen, RefusesAddressesWithoutAUsablePortOrHost) {
  for (const std::string text :
       {"", "127.0.0.1", "127.0.0.1:", ":9470", "[]:9470", "[::1]", "host:65536",
        "host:99999999999", "host:-1", "host:80a", "host: 80", "host:http"}) {
    const auto split = split_listen(text);
    ASSERT_FALSE(split.ok()) << "\"" << text << "\" split as " << split->first << " "
                             << split->second;
    EXPECT_EQ(split.error().code(), core::ErrorCode::kInvalidArgument);
    EXPECT_TRUE(contains(split.error().message(), "\"" + text + "\"")) << split.error().message();
  }
}

}  // namespace
}  // namespace homeostat::daemon
