// The HTTP/1.1 server: Boost.Beast on Asio, a small pool of threads, keep-alive, limits on
// header size, body size and time, optional TLS, and a graceful stop.
//
// Design: one acceptor coroutine; one coroutine per connection, on its own strand. A
// connection reads a request, hands it to the Handler, waits (without holding a thread) for the
// answer, writes it, and reads the next. stop() closes the acceptor, closes idle connections at
// once, and lets each busy one finish the request it holds before closing; wait() returns once
// the last connection is gone.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "api/http_types.hpp"
#include "core/result.hpp"

namespace homeostat::api {

struct TlsOptions {
  std::string cert_file;  // PEM certificate chain
  std::string key_file;   // PEM private key
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 picks a free port; Server::port() tells which
  int threads = 2;
  uint64_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = 10 * 1024 * 1024 + 64 * 1024;
  // Waiting for a request's header, on a new or a kept-alive connection.
  std::chrono::milliseconds idle_timeout{60'000};
  // Reading a request's body once its header is in, and writing the response.
  std::chrono::milliseconds read_timeout{30'000};
  std::optional<TlsOptions> tls;
  bool allow_insecure = false;  // permit plain HTTP on a non-loopback address
};

// Checks the address rules without binding: an IP address (or "localhost"), and plain HTTP only
// on loopback unless allow_insecure. Lets the daemon refuse a bad address before it opens
// anything.
core::Status check_listen_address(const ServerOptions& options);

class Server {
 public:
  Server(ServerOptions options, Handler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the threads. Fails on an unusable address, a non-loopback address
  // without TLS (unless allow_insecure), or unreadable TLS files.
  core::Status start();

  // The bound port; valid after start().
  uint16_t port() const;
  // "http://HOST:PORT" or "https://HOST:PORT"; valid after start().
  std::string url() const;

  // Begins a graceful stop; returns at once. Thread-safe; safe to call from a signal watcher.
  void stop();
  // Blocks until every connection has closed and the threads have ended.
  void wait();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace homeostat::api
