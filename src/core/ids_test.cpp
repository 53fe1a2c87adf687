#include "core/ids.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace homeostat::core {
namespace {

constexpr int64_t kStartMs = 1796315555250;  // 2026-12-03T16:32:35.250Z

bool is_lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

TEST(IdGenerator, MakesLowercaseUuidVersion7Text) {
  ManualClock clock(kStartMs);
  IdGenerator ids(clock);
  const std::string id = ids.next();
  ASSERT_EQ(id.size(), 36u) << id;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      EXPECT_EQ(id[i], '-') << id;
    } else {
      EXPECT_TRUE(is_lower_hex(id[i])) << id << " at " << i;
    }
  }
  EXPECT_EQ(id[14], '7') << "version nibble: " << id;
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << "RFC 9562 variant: " << id;
}

TEST(IdGenerator, CarriesTheClockTimeInTheId) {
  ManualClock clock(kStartMs);
  IdGenerator ids(clock);
  EXPECT_EQ(uuid7_time_ms(ids.next()), kStartMs);
  clock.advance_ms(1234);
  EXPECT_EQ(uuid7_time_ms(ids.next()), kStartMs + 1234);
}

TEST(IdGenerator, IdsIncreaseWithinOneMillisecondPastTheCounterLimit) {
  // 5,000 ids in one millisecond overflow the 12-bit counter (4,096 values); the generator then
  // borrows the next millisecond rather than repeat or reorder.
  ManualClock clock(kStartMs);
  IdGenerator ids(clock);
  std::string previous = ids.next();
  for (int i = 1; i < 5000; ++i) {
    const std::string id = ids.next();
    ASSERT_LT(previous, id) << "id " << i;
    previous = id;
  }
  EXPECT_EQ(uuid7_time_ms(previous), kStartMs + 1);
}

TEST(IdGenerator, IdsKeepIncreasingWhenTheClockStepsBack) {
  ManualClock clock(kStartMs);
  IdGenerator ids(clock);
  const std::string before = ids.next();
  clock.set_ms(kStartMs - 60'000);
  const std::string after = ids.next();
  EXPECT_LT(before, after);
  EXPECT_EQ(uuid7_time_ms(after), kStartMs);
}

TEST(IdGenerator, ThreadsSharingOneGeneratorNeverGetTheSameId) {
  ManualClock clock(kStartMs);
  IdGenerator ids(clock);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        made[t].push_back(ids.next());
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }

  std::set<std::string> unique;
  for (const auto& list : made) {
    // Each thread sees its own ids in the order it made them.
    for (size_t i = 1; i < list.size(); ++i) {
      ASSERT_LT(list[i - 1], list[i]);
    }
    unique.insert(list.begin(), list.end());
  }
  EXPECT_EQ(unique.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(Uuid7TimeMs, ReadsTheTimestampOfAKnownId) {
  // 0x01946f5a1c2b is 1737034964011 ms.
  EXPECT_EQ(uuid7_time_ms("01946f5a-1c2b-7abc-8def-0123456789ab"), 1737034964011);
}

TEST(Uuid7TimeMs, ReturnsMinusOneForTextThatIsNotAVersion7Id) {
  const std::vector<std::string> cases = {
      "",
      "not-an-id",
      "550e8400-e29b-41d4-a716-446655440000",   // version 4
      "01946F5A-1C2B-7ABC-8DEF-0123456789AB",   // upper case
      "01946f5a-1c2b-7abc-8def-0123456789a",    // one digit short
      "01946f5a-1c2b-7abc-8def-0123456789abc",  // one digit long
      "01946f5a_1c2b-7abc-8def-0123456789ab",   // wrong separator
      "01946f5g-1c2b-7abc-8def-0123456789ab",   // not hex
  };
  for (const std::string& text : cases) {
    EXPECT_EQ(uuid7_time_ms(text), -1) << text;
  }
}

}  // namespace
}  // namespace homeostat::core
