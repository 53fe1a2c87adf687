#include "core/secret.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <vector>

namespace homeostat::core {
namespace {

constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

TEST(Sha256Hex, MatchesPublishedTestVectors) {
  // FIPS 180-2 examples.
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Hex, HashesEmbeddedNulBytes) {
  EXPECT_NE(sha256_hex(std::string_view("a\0b", 3)), sha256_hex("a"));
}

TEST(RandomToken, HasTheUnpaddedBase64UrlLengthOfItsBytes) {
  const std::pair<size_t, size_t> cases[] = {{0, 0}, {1, 2}, {2, 3}, {3, 4}, {4, 6}, {32, 43}};
  for (const auto& [bytes, chars] : cases) {
    const std::string token = random_token(bytes);
    EXPECT_EQ(token.size(), chars) << bytes << " bytes: " << token;
    EXPECT_EQ(token.find_first_not_of(kBase64Url), std::string::npos) << token;
  }
}

TEST(RandomToken, PadsTheLastCharacterWithZeroBits) {
  // One byte leaves 2 bits in the last character, two bytes leave 4; the rest must be zero,
  // which limits the last character to every 16th or every 4th letter of the alphabet.
  for (int i = 0; i < 200; ++i) {
    const std::string one = random_token(1);
    EXPECT_EQ(kBase64Url.find(one.back()) % 16, 0u) << one;
    const std::string two = random_token(2);
    EXPECT_EQ(kBase64Url.find(two.back()) % 4, 0u) << two;
  }
}

TEST(RandomToken, GivesADifferentTokenEachTime) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    seen.insert(random_token(32));
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(RandomBytes, FillsTheWholeBuffer) {
  // 64 zero bytes staying zero by chance has probability 2^-512.
  std::array<uint8_t, 64> a{};
  std::array<uint8_t, 64> b{};
  random_bytes(a.data(), a.size());
  random_bytes(b.data(), b.size());
  const std::array<uint8_t, 64> zeros{};
  EXPECT_NE(a, zeros);
  EXPECT_NE(a, b);
  // The tail too: 8 zero bytes there by chance has probability 2^-64.
  const std::vector<uint8_t> tail(a.end() - 8, a.end());
  EXPECT_NE(tail, std::vector<uint8_t>(8, 0));
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "Secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secret2"));
  EXPECT_FALSE(constant_time_equal("", "x"));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0", 2), "a"));
}

}  // namespace
}  // namespace homeostat::core
