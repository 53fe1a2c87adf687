// Identifiers that sort by the time they were made: UUID version 7 (RFC 9562) in the usual
// 8-4-4-4-12 lowercase text form, so they look like the ids EventBridge users already know.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "core/clock.hpp"

namespace homeostat::core {

// Makes UUIDv7 ids that are strictly increasing in text order for one generator, even within
// one millisecond (a 12-bit counter fills the rand_a field) and if the clock steps back.
// Thread-safe.
class IdGenerator {
 public:
  explicit IdGenerator(const Clock& clock = system_clock()) : clock_(clock) {}

  std::string next();

 private:
  const Clock& clock_;
  std::mutex mu_;
  int64_t last_ms_ = 0;   // GUARDED_BY(mu_)
  uint32_t counter_ = 0;  // GUARDED_BY(mu_)
};

// Returns the millisecond timestamp a UUIDv7 text id carries, or -1 when `id` is not one.
int64_t uuid7_time_ms(std::string_view id);

}  // namespace homeostat::core
