#include "support/webhook_receiver.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <exception>
#include <utility>

#include "core/clock.hpp"

namespace homeostat::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using net::awaitable;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// The answer to one request: `{"ok":true}` for 2xx, `{"error":"<reason>"}` otherwise.
Response make_response(int status, bool keep_alive) {
  Response res;
  res.version(11);
  res.result(static_cast<unsigned>(status));
  res.set(http::field::server, "homeostat-webhook-receiver");
  res.keep_alive(keep_alive);

  // 204 and 304 may carry no body (RFC 9110), and Beast refuses to frame one.
  if (status == 204 || status == 304) {
    return res;
  }

  res.set(http::field::content_type, "application/json");
  if (status >= 200 && status < 300) {
    res.body() = R"({"ok":true})";
  } else {
    const auto reason = http::obsolete_reason(res.result());
    res.body() = boost::json::serialize(
        boost::json::object{{"error", std::string_view(reason.data(), reason.size())}});
  }
  res.prepare_payload();
  return res;
}

ReceivedRequest to_received(const Request& req) {
  ReceivedRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    auto [it, inserted] = out.headers.try_emplace(name, field.value());
    if (!inserted) {
      it->second.append(", ").append(field.value());
    }
  }
  out.body = req.body();
  return out;
}

// A parse error of the request itself, as opposed to the client going away or being cut off
// before the request was complete.
bool is_malformed(const boost::system::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// Connection coroutines do not throw by design (every operation completes with an error code);
// should one throw all the same, the test that is running fails instead of the process ending.
void report_exception(const std::exception_ptr& error) {
  if (!error) {
    return;
  }

  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "webhook receiver: a connection failed: " << e.what();
  }
}

}  // namespace

// The Asio half of the receiver: the io_context, the acceptor and the coroutines. Everything in
// it runs on the receiver's one thread, except listen(), which runs before that thread starts,
// and stop().
class WebhookReceiver::Server {
 public:
  explicit Server(WebhookReceiver& owner) : owner_(owner) {}

  // Binds 127.0.0.1 on a port the OS picks and queues the accept loop. Returns the port, or 0
  // with `error` saying why.
  int listen(std::string& error);
  // Serves until stop(); called by the receiver's thread.
  void run() { ioc_.run(); }
  // Makes run() return soon. Thread-safe. Connections still open are dropped when the Server is
  // destroyed, which happens only after run() has returned.
  void stop() { ioc_.stop(); }

 private:
  awaitable<void> accept_loop();
  awaitable<void> serve(tcp::socket socket);
  awaitable<void> refuse(beast::tcp_stream& stream, int status);

  WebhookReceiver& owner_;
  net::io_context ioc_{1};
  tcp::acceptor acceptor_{ioc_};
};

int WebhookReceiver::Server::listen(std::string& error) {
  boost::system::error_code ec;
  const tcp::endpoint endpoint(net::ip::address_v4::loopback(), 0);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    error = ec.message();
    return 0;
  }

  net::co_spawn(ioc_, accept_loop(), report_exception);
  return acceptor_.local_endpoint().port();
}

awaitable<void> WebhookReceiver::Server::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) {
      co_return;
    }

    // Out of descriptors or the like: wait a little rather than spin on the same error.
    if (ec) {
      net::steady_timer pause(ioc_, std::chrono::milliseconds(10));
      co_await pause.async_wait(kTuple);
      continue;
    }

    // One thread serves every connection, so none needs a strand.
    net::co_spawn(ioc_, serve(std::move(socket)), report_exception);
  }
}

awaitable<void> WebhookReceiver::Server::refuse(beast::tcp_stream& stream, int status) {
  auto res = make_response(status, false);
  co_await http::async_write(stream, res, kTuple);
}

awaitable<void> WebhookReceiver::Server::serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  size_t n = 0;

  for (;;) {
    // The header first: a client that sends `Expect: 100-continue` (curl does for large
    // bodies) waits for a go-ahead before its body, and a body over the limit is refused here
    // without being read.
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    std::tie(ec, n) = co_await http::async_read_header(stream, buffer, parser, kTuple);
    if (!ec && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      http::response<http::empty_body> go_on{http::status::continue_, 11};
      std::tie(ec, n) = co_await http::async_write(stream, go_on, kTuple);
    }
    if (!ec) {
      std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, kTuple);
    }

    // A refused request ends its connection: what follows it on the stream may not start at a
    // request boundary. A client that went away mid-request just ends it, unrecorded.
    if (ec == http::error::body_limit) {
      co_await refuse(stream, 413);
      break;
    }
    if (ec && is_malformed(ec)) {
      co_await refuse(stream, 400);
      break;
    }
    if (ec) {
      break;
    }

    // Record on arrival, so that a test sees the request even while its answer is held back.
    const Request req = parser.release();
    const Answer answer = owner_.record(to_received(req));
    if (answer.delay.count() > 0) {
      net::steady_timer timer(ioc_, answer.delay);
      co_await timer.async_wait(kTuple);
    }

    // A client that gave up during the delay makes this write fail; the connection then ends.
    auto res = make_response(answer.status, req.keep_alive());
    std::tie(ec, n) = co_await http::async_write(stream, res, kTuple);
    if (ec || !res.keep_alive()) {
      break;
    }
  }

  // Errors here change nothing: the connection is over either way.
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

WebhookReceiver::WebhookReceiver() : server_(std::make_unique<Server>(*this)) {
  std::string error;
  port_ = server_->listen(error);
  if (port_ == 0) {
    ADD_FAILURE() << "webhook receiver cannot listen on 127.0.0.1: " << error;
    return;
  }

  thread_ = std::thread([this] { server_->run(); });
}

WebhookReceiver::~WebhookReceiver() {
  server_->stop();
  if (thread_.joinable()) {
    thread_.join();
  }
  // Destroying the io_context now, with its thread gone, drops the connections still open.
  server_.reset();
}

std::string WebhookReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void WebhookReceiver::fail_next(int count, int status) {
  std::lock_guard lock(mu_);
  fail_count_ = count;
  fail_status_ = status;
}

void WebhookReceiver::set_status(int status) {
  std::lock_guard lock(mu_);
  status_ = status;
}

void WebhookReceiver::set_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  delay_ = delay;
}

std::vector<ReceivedRequest> WebhookReceiver::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

size_t WebhookReceiver::count() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

bool WebhookReceiver::wait_for(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return arrived_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

void WebhookReceiver::clear() {
  std::lock_guard lock(mu_);
  requests_.clear();
}

WebhookReceiver::Answer WebhookReceiver::record(ReceivedRequest request) {
  Answer answer;
  {
    std::lock_guard lock(mu_);
    // Stamped under the lock, so that arrival order and received_ms agree.
    request.received_ms = core::system_clock().now_ms();
    requests_.push_back(std::move(request));
    if (fail_count_ > 0) {
      --fail_count_;
      answer.status = fail_status_;
    } else {
      answer.status = status_;
    }
    answer.delay = delay_;
  }
  arrived_.notify_all();
  return answer;
}

}  // namespace homeostat::testing
