// Raw HTTP over a loopback TCP socket, for requests no well-behaved client would send.
#pragma once

#include <string>

namespace homeostat::testing {

// Parses "http://127.0.0.1:PORT" into its port; 0 when it cannot.
int port_of(const std::string& url);

// Connects to 127.0.0.1:port, writes `bytes`, half-closes unless keep_open, and returns
// everything read until the peer closes or `timeout_ms` passes.
std::string raw_exchange(int port, const std::string& bytes, int timeout_ms = 5000,
                         bool keep_open = false);

// The status code of the first HTTP response in `text`, or 0.
int status_of(const std::string& text);

}  // namespace homeostat::testing
