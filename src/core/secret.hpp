// Secrets and the few cryptographic primitives around them, on OpenSSL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace homeostat::core {

// Fills `out` with `n` bytes from the operating system's CSPRNG. Aborts when none can be had,
// since every caller needs unpredictable bytes to be safe.
void random_bytes(uint8_t* out, size_t n);

// Returns `n` random bytes encoded as unpadded base64url text.
std::string random_token(size_t n);

// Returns the SHA-256 digest of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

// Compares two strings in time that depends on their lengths only, not on where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace homeostat::core
