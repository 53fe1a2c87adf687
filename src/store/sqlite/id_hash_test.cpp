#include "store/sqlite/id_hash.hpp"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

namespace homeostat::store::sqlite {
namespace {

TEST(IdHash, IsStableAndNeverZero) {
  // The hash is part of the index file's format: FNV-1a of the bytes, then the mixing step,
  // worked out independently of the code (in Python) for this id.
  EXPECT_EQ(id_hash("11111111-2222-3333-4444-555555555555"), 5543671736912371637u);
  EXPECT_EQ(id_hash("a"), id_hash(std::string("a")));
  EXPECT_NE(id_hash("a"), id_hash("b"));
  EXPECT_NE(id_hash(""), 0u);
  std::unordered_set<uint64_t> seen;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t h = id_hash("id-" + std::to_string(i));
    EXPECT_NE(h, 0u);
    seen.insert(h);
  }
  EXPECT_EQ(seen.size(), 100000u);
}

TEST(IdSeqTable, FindsEveryHashPutThroughGrowthAndAnswersZeroForOthers) {
  IdSeqTable table;
  EXPECT_EQ(table.find(42), 0);
  for (int64_t i = 1; i <= 50000; ++i) {
    table.put(id_hash("e" + std::to_string(i)), i);
  }
  EXPECT_EQ(table.size(), 50000u);
  for (int64_t i = 1; i <= 50000; ++i) {
    ASSERT_EQ(table.find(id_hash("e" + std::to_string(i))), i) << i;
  }
  EXPECT_EQ(table.find(id_hash("not-there")), 0);
}

TEST(IdSeqTable, KeepsTheLastSeqPutForAHash) {
  IdSeqTable table;
  // Hashes that share their low bits land in neighbouring slots of the same probe run.
  table.put(0x100000001ULL, 1);
  table.put(0x200000001ULL, 2);
  table.put(0x100000001ULL, 7);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.find(0x100000001ULL), 7);
  EXPECT_EQ(table.find(0x200000001ULL), 2);
  EXPECT_EQ(table.find(0x300000001ULL), 0);
}

}  // namespace
}  // namespace homeostat::store::sqlite
