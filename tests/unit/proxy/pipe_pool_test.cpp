// Splice pipes within the allowance the descriptor limit leaves: past it the relay copies.
#include "proxy/pipe_pool.h"

#include <gtest/gtest.h>

#include <atomic>

namespace wardgate::proxy {
namespace {

TEST(PipePool, NoMorePipesThanTheSharedAllowanceAndTheyComeBack) {
  std::atomic<std::size_t> left{2};
  PipePool a(65536, 4, &left);
  PipePool b(65536, 0, &left);  // keeps no free pipe: each goes back to the allowance
  {
    PipePool::Lease one = a.acquire();
    PipePool::Lease two = b.acquire();
    EXPECT_TRUE(one);
    EXPECT_TRUE(two);
    EXPECT_EQ(left.load(), 0u);
    EXPECT_FALSE(a.acquire());  // none left: the caller copies instead
    EXPECT_FALSE(b.acquire());
  }
  EXPECT_EQ(left.load(), 1u);  // b's pipe was closed; a keeps its own for reuse
  EXPECT_TRUE(a.acquire());    // the kept one, no new pipe
  EXPECT_EQ(left.load(), 1u);
}

}  // namespace
}  // namespace wardgate::proxy
