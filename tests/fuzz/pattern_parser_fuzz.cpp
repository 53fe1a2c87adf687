// libFuzzer target: any bytes as a pattern. The parser must refuse or accept without crashing,
// and whatever it accepts must compile and match an event.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "patterns/matcher.hpp"
#include "patterns/pattern.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace homeostat::patterns;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto pattern = parse_pattern(text);
  if (!pattern.ok()) {
    return 0;
  }
  auto matcher = Matcher::compile(std::span(&*pattern, 1));
  static MatchScratch scratch;
  std::vector<uint32_t> out;
  auto status =
      matcher->match(R"({"source":"aws.ec2","detail":{"state":"running","n":5,"ok":true,"x":null,)"
                     R"("list":[{"a":1},{"a":"b"}],"ip":"10.1.2.3"}})",
                     scratch, out);
  if (!status.ok()) {
    __builtin_trap();  // a fixed, valid event must always be readable
  }
  return 0;
}
