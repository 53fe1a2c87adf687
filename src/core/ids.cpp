#include "core/ids.hpp"

#include <array>

#include "core/secret.hpp"

namespace homeostat::core {

std::string IdGenerator::next() {
  int64_t ms = 0;
  uint32_t counter = 0;
  {
    std::lock_guard lock(mu_);
    ms = clock_.now_ms();
    // Within one millisecond, or when the clock stepped back, keep counting from the last id so
    // that the text order stays the order of making.
    if (ms <= last_ms_) {
      ms = last_ms_;
      if (++counter_ > 0xfff) {
        ++ms;
        counter_ = 0;
      }
    } else {
      counter_ = 0;
    }
    last_ms_ = ms;
    counter = counter_;
  }

  std::array<uint8_t, 16> b{};
  random_bytes(b.data(), b.size());
  for (int i = 0; i < 6; ++i) {
    b[i] = static_cast<uint8_t>(static_cast<uint64_t>(ms) >> (40 - 8 * i));
  }
  b[6] = static_cast<uint8_t>(0x70 | (counter >> 8));
  b[7] = static_cast<uint8_t>(counter & 0xff);
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));

  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out.push_back('-');
    }
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

int64_t uuid7_time_ms(std::string_view id) {
  if (id.size() != 36 || id[8] != '-' || id[13] != '-' || id[14] != '7') {
    return -1;
  }
  int64_t ms = 0;
  for (const char c : id.substr(0, 13)) {
    if (c == '-') {
      continue;
    }
    int v = 0;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      return -1;
    }
    ms = ms * 16 + v;
  }
  return ms;
}

}  // namespace homeostat::core
