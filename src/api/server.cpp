#include "api/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/log.hpp"

namespace homeostat::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using net::awaitable;
using net::use_awaitable;
constexpr auto kTuple = net::as_tuple(use_awaitable);

const core::Logger kLog("api");

// What the server knows of one live connection, so that stop() can close it when it is idle.
// Touched only on the connection's strand, except the registry's set of pointers.
struct Connection {
  net::any_io_executor executor;
  beast::tcp_stream* stream = nullptr;  // null once the connection has ended
  bool busy = false;                    // between a complete request and its written response
};

// Hands `request` to the handler and resumes the coroutine with the response, on the
// connection's executor, whichever thread the handler answered on. The work guard keeps the
// io_context running while a commit is outstanding.
template <typename Token>
auto async_handle(Handler& handler, Request request, std::string request_id, Token&& token) {
  return net::async_initiate<Token, void(Response)>(
      // NOLINTNEXTLINE(performance-unnecessary-value-param): both are moved into the handler.
      [&handler](auto completion, Request req, std::string id) {
        using Completion = decltype(completion);
        struct State {
          Completion completion;
          net::executor_work_guard<net::associated_executor_t<Completion>> work;
        };
        auto executor = net::get_associated_executor(completion);
        auto state =
            std::make_shared<State>(State{std::move(completion), net::make_work_guard(executor)});
        handler.handle(std::move(req), std::move(id), [state](Response response) {
          auto ex = state->work.get_executor();
          net::post(ex, [state, r = std::move(response)]() mutable {
            state->completion(std::move(r));
            state->work.reset();
          });
        });
      },
      token, std::move(request), std::move(request_id));
}

http::response<http::string_body> to_beast(Response r, bool keep_alive, const std::string& id) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
  res.set(http::field::server, "homeostat");
  res.set(http::field::content_type, r.content_type);
  res.set("X-Request-Id", id);
  for (auto& [name, value] : r.headers) {
    res.set(name, value);
  }
  res.keep_alive(keep_alive);
  // A 204 carries neither a body nor a Content-Length (RFC 9110).
  if (r.status == 204) {
    res.erase(http::field::content_type);
    return res;
  }
  res.body() = std::move(r.body);
  res.prepare_payload();
  return res;
}

// Accepts a client's X-Request-Id when it is short and plain; otherwise makes one.
std::string request_id_for(const Request& req) {
  const auto it = req.find("X-Request-Id");
  if (it != req.end()) {
    const std::string_view v(it->value().data(), it->value().size());
    const bool plain = !v.empty() && v.size() <= 64 &&
                       v.find_first_not_of(
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                           "0123456789-_.") == std::string_view::npos;
    if (plain) {
      return std::string(v);
    }
  }
  return new_request_id();
}

}  // namespace

core::Status check_listen_address(const ServerOptions& options) {
  boost::system::error_code ec;
  const std::string host = options.host == "localhost" ? "127.0.0.1" : options.host;
  const auto address = net::ip::make_address(host, ec);
  if (ec) {
    return core::Error(core::ErrorCode::kInvalidArgument,
                       "listen address \"" + options.host + "\" is not an IP address");
  }
  if (!address.is_loopback() && !options.tls && !options.allow_insecure) {
    return core::Error(core::ErrorCode::kInvalidArgument,
                       "refusing to serve plain HTTP on non-loopback address " + options.host +
                           ": configure TLS (tls.cert and tls.key, or --tls-cert and --tls-key) "
                           "or allow it explicitly (--allow-insecure-listen)");
  }
  return {};
}

class Server::Impl {
 public:
  Impl(ServerOptions options, Handler& handler)
      : options_(std::move(options)), handler_(handler), ioc_(options_.threads) {}

  core::Status start();
  void stop();
  void wait();
  uint16_t port() const { return port_; }
  bool tls() const { return ssl_ != nullptr; }
  const std::string& host() const { return options_.host; }

 private:
  awaitable<void> accept_loop();
  template <typename Stream>
  awaitable<void> serve(Stream stream, std::shared_ptr<Connection> conn);
  template <typename Stream>
  awaitable<bool> write_error(Stream& stream, unsigned status, std::string_view code,
                              std::string_view message, const std::string& id);

  ServerOptions options_;
  Handler& handler_;
  net::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  std::unique_ptr<net::ssl::context> ssl_;
  uint16_t port_ = 0;
  std::vector<std::thread> threads_;

  std::mutex mu_;
  bool stopping_ = false;                              // GUARDED_BY(mu_)
  std::set<std::shared_ptr<Connection>> connections_;  // GUARDED_BY(mu_)

  bool is_stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }
};

core::Status Server::Impl::start() {
  // The address, and the rule that plain HTTP stays on loopback unless the operator says so.
  if (auto s = check_listen_address(options_); !s.ok()) {
    return s;
  }
  boost::system::error_code ec;
  const auto address =
      net::ip::make_address(options_.host == "localhost" ? "127.0.0.1" : options_.host, ec);

  // TLS, when configured.
  if (options_.tls) {
    ssl_ = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    ssl_->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                      net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                      net::ssl::context::no_tlsv1_1);
    ssl_->use_certificate_chain_file(options_.tls->cert_file, ec);
    if (!ec) {
      ssl_->use_private_key_file(options_.tls->key_file, net::ssl::context::pem, ec);
    }
    if (ec) {
      return core::Error(core::ErrorCode::kInvalidArgument,
                         "cannot load TLS certificate or key: " + ec.message());
    }
  }

  // Bind and listen.
  const tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::Error(core::ErrorCode::kIo, "cannot listen on " + options_.host + ":" +
                                                 std::to_string(options_.port) + ": " +
                                                 ec.message());
  }
  port_ = acceptor_.local_endpoint().port();

  net::co_spawn(acceptor_.get_executor(), accept_loop(), net::detached);
  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] { ioc_.run(); });
  }
  return {};
}

awaitable<void> Server::Impl::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(net::make_strand(ioc_), kTuple);
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) {
        co_return;
      }
      kLog.warn("accept failed", {{"error", ec.message()}});
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);

    auto conn = std::make_shared<Connection>();
    conn->executor = socket.get_executor();
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        continue;  // the socket closes as it goes out of scope
      }
      connections_.insert(conn);
    }
    beast::tcp_stream stream(std::move(socket));
    if (ssl_) {
      net::co_spawn(conn->executor,
                    serve(beast::ssl_stream<beast::tcp_stream>(std::move(stream), *ssl_), conn),
                    net::detached);
    } else {
      net::co_spawn(conn->executor, serve(std::move(stream), conn), net::detached);
    }
  }
}

template <typename Stream>
awaitable<bool> Server::Impl::write_error(Stream& stream, unsigned status, std::string_view code,
                                          std::string_view message, const std::string& id) {
  kLog.info("request refused before routing",
            {{"request_id", id}, {"status", status}, {"error", code}});
  auto res = to_beast(error_response(status, code, message), false, id);
  beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
  auto [ec, n] = co_await http::async_write(stream, res, kTuple);
  co_return !ec;
}

template <typename Stream>
awaitable<void> Server::Impl::serve(Stream stream, std::shared_ptr<Connection> conn) {
  constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  conn->stream = &beast::get_lowest_layer(stream);
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  size_t n = 0;

  // The TLS handshake gets the read timeout.
  if constexpr (kTls) {
    beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
    std::tie(ec) = co_await stream.async_handshake(net::ssl::stream_base::server, kTuple);
  }

  while (!ec && !is_stopping()) {
    // Wait for the next request's header, then give the whole request the read timeout.
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    parser.body_limit(options_.max_body_bytes);
    beast::get_lowest_layer(stream).expires_after(options_.idle_timeout);
    std::tie(ec, n) = co_await http::async_read_header(stream, buffer, parser, kTuple);
    if (!ec) {
      beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
      // A client that asks before sending its body (curl does above 1 KiB) is told to go on,
      // rather than left waiting for its own timeout.
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, 11};
        std::tie(ec, n) = co_await http::async_write(stream, go_on, kTuple);
      }
    }
    if (!ec) {
      std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, kTuple);
    }

    // Malformed or oversized requests get an answer that says so, then the connection closes,
    // since the rest of the stream can no longer be trusted to start at a request boundary.
    if (ec == http::error::body_limit) {
      co_await write_error(
          stream, 413, "PayloadTooLarge",
          "the body is over the limit of " + std::to_string(options_.max_body_bytes) + " bytes",
          new_request_id());
      break;
    }
    if (ec == http::error::header_limit) {
      co_await write_error(
          stream, 431, "HeaderTooLarge",
          "the header is over the limit of " + std::to_string(options_.max_header_bytes) + " bytes",
          new_request_id());
      break;
    }
    if (ec && ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      co_await write_error(stream, 400, "BadRequest", "malformed HTTP request: " + ec.message(),
                           new_request_id());
      break;
    }
    if (ec) {
      break;  // closed, timed out or cancelled: nothing to answer
    }

    // Hand the request over and wait for the answer without holding a thread.
    Request req = parser.release();
    const bool keep_alive = req.keep_alive();
    std::string id = request_id_for(req);
    conn->busy = true;
    beast::get_lowest_layer(stream).expires_never();
    Response response = co_await async_handle(handler_, std::move(req), id, use_awaitable);

    auto res = to_beast(std::move(response), keep_alive && !is_stopping(), id);
    beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
    std::tie(ec, n) = co_await http::async_write(stream, res, kTuple);
    conn->busy = false;
    if (!res.keep_alive()) {
      break;
    }
  }

  // Close politely; errors here change nothing.
  if constexpr (kTls) {
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(kTuple);
  } else {
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_send, ec);
  }
  conn->stream = nullptr;
  std::lock_guard lock(mu_);
  connections_.erase(conn);
}

void Server::Impl::stop() {
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return;
    }
    stopping_ = true;
    open.assign(connections_.begin(), connections_.end());
  }
  net::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });

  // Idle connections close now; a busy one sees stopping_ after it has written its answer.
  for (const auto& conn : open) {
    net::post(conn->executor, [conn] {
      if (conn->stream != nullptr && !conn->busy) {
        conn->stream->cancel();
      }
    });
  }
}

void Server::Impl::wait() {
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
}

Server::Server(ServerOptions options, Handler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

Server::~Server() {
  impl_->stop();
  impl_->wait();
}

core::Status Server::start() {
  return impl_->start();
}
uint16_t Server::port() const {
  return impl_->port();
}

std::string Server::url() const {
  std::string host = impl_->host();
  if (host.find(':') != std::string::npos) {
    host = "[" + host + "]";
  }
  return (impl_->tls() ? "https://" : "http://") + host + ":" + std::to_string(impl_->port());
}

void Server::stop() {
  impl_->stop();
}
void Server::wait() {
  impl_->wait();
}

}  // namespace homeostat::api
