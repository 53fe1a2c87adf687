#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/commands.hpp"
#include "daemon/config.hpp"
#include "daemon/daemon.hpp"

namespace homeostat::cli {
namespace {

std::string first_line_of(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
    line.pop_back();
  }
  return line;
}

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::optional<std::string>(v) : std::nullopt;
}

}  // namespace

void add_client_options(CLI::App& cmd, ClientOptions& o) {
  cmd.add_option("--server", o.server, "Daemon URL (default: the local daemon's)")
      ->envname("HOMEOSTAT_SERVER");
  cmd.add_option("--token", o.token, "API token (default: the local admin token)");
  cmd.add_option("--data", o.data, "Data directory of the local daemon");
  cmd.add_option("--config", o.config, "Configuration directory of the local daemon");
  cmd.add_option("--ca-file", o.ca_file, "CA certificate (PEM) to trust for https");
}

core::Result<Endpoint> find_endpoint(const ClientOptions& o) {
  daemon::ConfigFlags flags;
  if (!o.data.empty()) flags.data_dir = o.data;
  if (!o.config.empty()) flags.config_dir = o.config;
  auto config = daemon::load_config(flags, daemon::process_env());
  if (!config) {
    return config.error();
  }

  Endpoint e;
  e.ca_file = o.ca_file;
  e.url = o.server;
  if (e.url.empty()) {
    e.url = first_line_of(daemon::address_file(config->data_dir));
  }
  if (e.url.empty()) {
    e.url = (config->tls_cert.empty() ? "http://" : "https://") + config->listen;
  }
  while (!e.url.empty() && e.url.back() == '/') {
    e.url.pop_back();
  }

  e.token = o.token;
  if (e.token.empty()) {
    e.token = env("HOMEOSTAT_TOKEN").value_or(env("HOMEOSTAT_ADMIN_TOKEN").value_or(""));
  }
  if (e.token.empty()) {
    e.token = first_line_of(daemon::admin_token_file(config->data_dir));
  }
  return e;
}

int with_client(const ClientOptions& options, const std::function<int(Client&)>& fn) {
  auto endpoint = find_endpoint(options);
  if (!endpoint) {
    std::cerr << "homeostat: " << endpoint.error().message() << "\n";
    return kExitUsage;
  }
  Client client(*endpoint);
  return fn(client);
}

int exit_code_for(const core::Result<HttpResult>& result) {
  if (!result) {
    std::cerr << "homeostat: " << result.error().message() << "\n";
    return kExitUnreachable;
  }
  if (result->status >= 200 && result->status < 300) {
    return kExitOk;
  }
  // Show the daemon's own message when it sent one.
  std::string message = result->body;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(result->body, ec);
  if (!ec && v.is_object() && v.as_object().contains("message") &&
      v.as_object().at("message").is_string()) {
    message = std::string(v.as_object().at("message").as_string());
  }
  std::cerr << "homeostat: " << result->status << ": " << message << "\n";
  return result->status == 401 || result->status == 403 ? kExitAuth : kExitFailed;
}

core::Result<std::string> read_file(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Error(core::ErrorCode::kNotFound, path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

core::Result<std::string> inline_or_file(const std::string& value) {
  if (!value.empty() && value[0] == '@') return read_file(value.substr(1));
  return value;
}

}  // namespace homeostat::cli
