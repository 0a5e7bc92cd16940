// --ring-size: sizes with binary units, bounds, powers of two; one-line errors.
#include <gtest/gtest.h>

#include "model/bytesize.h"

using namespace pgstall;

TEST(ByteSize, Units) {
  EXPECT_EQ(*model::parse_bytes("4096"), 4096u);
  EXPECT_EQ(*model::parse_bytes("4k"), 4096u);
  EXPECT_EQ(*model::parse_bytes("4KiB"), 4096u);
  EXPECT_EQ(*model::parse_bytes("64K"), 65536u);
  EXPECT_EQ(*model::parse_bytes("4MiB"), 4u << 20);
  EXPECT_EQ(*model::parse_bytes("1G"), 1u << 30);
  for (const char* bad : {"", "k", "-4k", "4.5k", "4kb", "4 KiB", "0x1000", "99999999999999999999", "17179869184G"})
    EXPECT_FALSE(model::parse_bytes(bad)) << bad;
}

TEST(ByteSize, RingSizeBounds) {
  EXPECT_EQ(*model::parse_ring_size("--ring-size", "4KiB", 4096), 4096u);
  EXPECT_EQ(*model::parse_ring_size("--ring-size", "256MiB", 4096), 256u << 20);
  EXPECT_EQ(*model::parse_ring_size("--ring-size", "4MiB", 4096), model::kRingDefaultBytes);
  auto small = model::parse_ring_size("--ring-size", "2k", 4096);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().message, "--ring-size: '2k' is smaller than 4KiB, the least it takes");
  // A 16 KiB page (arm64) raises the least.
  auto page = model::parse_ring_size("--ring-size", "8k", 16384);
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().message, "--ring-size: '8k' is smaller than 16KiB, the least it takes");
  auto big = model::parse_ring_size("--ring-size", "1G", 4096);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().message, "--ring-size: '1G' is larger than 256MiB, the most it takes");
  auto odd = model::parse_ring_size("--ring-size", "12k", 4096);
  ASSERT_FALSE(odd);
  EXPECT_EQ(odd.error().message, "--ring-size: '12k' is not a power of two (4KiB, 64KiB, 4MiB…)");
  auto word = model::parse_ring_size("--ring-size", "big", 4096);
  ASSERT_FALSE(word);
  EXPECT_EQ(word.error().message, "--ring-size: 'big' is not a size (try 4KiB, 64k, 4MiB)");
}
