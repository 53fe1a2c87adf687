// Small helpers for writing JSON text by hand on hot paths, where building a DOM would cost
// more than the text itself.
#pragma once

#include <string>
#include <string_view>

namespace homeostat::core {

// Appends `s` to `out` as a quoted JSON string, escaping quotes, backslashes and control
// characters. Bytes at or above 0x80 are copied as they are (the input is expected to be UTF-8).
void append_json_string(std::string& out, std::string_view s);

// Returns `s` as a quoted JSON string.
std::string json_quote(std::string_view s);

}  // namespace homeostat::core
