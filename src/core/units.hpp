// Durations and sizes as people write them in configuration and rule files.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.hpp"

namespace homeostat::core {

// "30d", "12h", "15m", "10s", "250ms", or a bare number of seconds; in milliseconds.
Result<int64_t> parse_duration_ms(const std::string& text);
// "10MiB", "256KiB", "1GiB", "512", "1GB" (decimal units too); in bytes.
Result<int64_t> parse_size_bytes(const std::string& text);

}  // namespace homeostat::core
