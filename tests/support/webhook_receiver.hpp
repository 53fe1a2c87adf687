// A real HTTP server that plays the webhook endpoint a rule's target posts to, so that
// integration tests can see what the daemon sent and make the endpoint fail, refuse or stall.
//
// Design: one io_context run by one thread that the receiver owns. One acceptor coroutine, and
// one coroutine per connection, so several clients are served at once and a delayed answer
// holds a timer, not the thread. A connection serves requests one after another while the
// client keeps it alive. Every complete request is recorded on arrival, before its delay and
// its answer, in arrival order; a request the client abandons half-way is not recorded. The
// recorded requests and the answer settings sit behind one mutex, so any test thread may read
// or change them while the server runs.
//
// Limitation: there are no read or idle timeouts, so a client that stalls half-way through a
// request keeps its connection (not the thread) until it hangs up or the receiver is destroyed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace homeostat::testing {

struct ReceivedRequest {
  std::string method;  // "POST"
  std::string target;  // "/hook?x=1": the path with its query, as sent
  // Header names in lowercase; a header sent more than once has its values joined by ", ".
  std::map<std::string, std::string> headers;
  std::string body;
  int64_t received_ms = 0;  // when the whole request was in, in Unix milliseconds
};

// A loopback HTTP/1.1 server on 127.0.0.1 and a port the OS picks. Answers 2xx with
// `{"ok":true}` and anything else with `{"error":"..."}`, both as application/json. Accepts
// bodies of up to 1 MiB (kMaxBodyBytes); a larger one is answered 413 and not recorded. A
// malformed request is answered 400, not recorded, and its connection closed. All methods are
// thread-safe.
class WebhookReceiver {
 public:
  static constexpr uint64_t kMaxBodyBytes = 1024 * 1024;

  // Binds and starts serving before it returns. A bind failure is reported as a test failure
  // (ADD_FAILURE); port() is then 0.
  WebhookReceiver();
  // Stops serving, drops every open connection and joins the thread.
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  // "http://127.0.0.1:PORT" followed by `path`.
  std::string url(const std::string& path = "/hook") const;
  int port() const { return port_; }

  // The next `count` requests are answered with `status`; after them, the standing status
  // (set_status) applies again. Replaces an earlier fail_next that has not run out.
  void fail_next(int count, int status = 500);
  // Every request not taken by fail_next is answered with `status`; 200 until changed.
  void set_status(int status);
  // Each answer is written this long after its request arrived; zero until changed. The delay
  // in force when a request arrives is the one it gets.
  void set_delay(std::chrono::milliseconds delay);

  // A copy of the requests recorded since construction or the last clear(), in arrival order.
  std::vector<ReceivedRequest> requests() const;
  // How many requests requests() would return.
  size_t count() const;
  // Blocks until count() >= n or `timeout` passes; returns whether count() >= n.
  bool wait_for(size_t n, std::chrono::milliseconds timeout) const;
  // Forgets the recorded requests. The status, fail_next and delay settings stay as they are.
  void clear();

 private:
  class Server;

  // What a request that just arrived is to be answered with.
  struct Answer {
    int status = 200;
    std::chrono::milliseconds delay{0};
  };
  // Records `request` and decides its answer, consuming one fail_next if any is left.
  Answer record(ReceivedRequest request);

  mutable std::mutex mu_;
  mutable std::condition_variable arrived_;
  std::vector<ReceivedRequest> requests_;  // GUARDED_BY(mu_)
  int status_ = 200;                       // GUARDED_BY(mu_)
  int fail_count_ = 0;                     // GUARDED_BY(mu_)
  int fail_status_ = 500;                  // GUARDED_BY(mu_)
  std::chrono::milliseconds delay_{0};     // GUARDED_BY(mu_)

  int port_ = 0;  // set once, before the thread starts
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

}  // namespace homeostat::testing
