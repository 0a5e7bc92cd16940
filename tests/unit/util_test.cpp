// The error and ownership vocabulary every module uses.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "util/fd.h"
#include "util/result.h"

using pgstall::Error;
using pgstall::Result;
using pgstall::UniqueFd;

namespace {

Result<int> half(int v) {
  if (v % 2) return pgstall::fail("odd: " + std::to_string(v));
  return v / 2;
}

Result<void> even(int v) {
  if (auto h = half(v); !h) return h.error();
  return {};
}

bool fd_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

}  // namespace

TEST(Result, HoldsAValueOrAnError) {
  auto a = half(8);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, 4);
  auto b = half(7);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message, "odd: 7");
  EXPECT_TRUE(even(2).ok());
  EXPECT_EQ(even(3).error().message, "odd: 3");
}

TEST(Result, MovesOnlyValuesOut) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r);
  std::unique_ptr<int> p = *std::move(r);
  EXPECT_EQ(*p, 5);
}

TEST(UniqueFd, ClosesOnceAndMoves) {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    UniqueFd a(raw);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a);
    EXPECT_EQ(b.get(), raw);
    UniqueFd c;
    c = std::move(b);
    EXPECT_TRUE(fd_open(raw));
  }
  EXPECT_FALSE(fd_open(raw));
  UniqueFd d(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int kept = d.release();
  EXPECT_FALSE(d);
  EXPECT_TRUE(fd_open(kept));
  ::close(kept);
}
