#include "hl7/ack_correlator.h"

#include <gtest/gtest.h>

namespace wardgate::hl7 {
namespace {

using std::chrono::milliseconds;
constexpr AckCorrelator::Time kT0{};

TEST(Hl7AckCorrelator, LatencyOfMatchingAck) {
  AckCorrelator c;
  c.on_message("MSG1", kT0);
  c.on_message("MSG2", kT0 + milliseconds(5));
  EXPECT_EQ(c.on_ack("MSG2", AckCode::kAA, kT0 + milliseconds(8)), milliseconds(3));
  EXPECT_EQ(c.on_ack("MSG1", AckCode::kAE, kT0 + milliseconds(10)), milliseconds(10));
  EXPECT_FALSE(c.on_ack("MSG1", AckCode::kAA, kT0 + milliseconds(11)));  // duplicate
  EXPECT_FALSE(c.on_ack("NOPE", AckCode::kAA, kT0));
  EXPECT_EQ(c.pending(), 0U);
}

TEST(Hl7AckCorrelator, ExpireReturnsUnacknowledged) {
  AckCorrelator c;
  c.on_message("A", kT0);
  c.on_message("B", kT0 + milliseconds(100));
  c.on_message("C", kT0 + milliseconds(200));
  EXPECT_EQ(c.expire(kT0 + milliseconds(250), milliseconds(100)),
            (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(c.pending(), 1U);
  EXPECT_FALSE(c.on_ack("A", AckCode::kAA, kT0 + milliseconds(260)));
  EXPECT_TRUE(c.on_ack("C", AckCode::kAA, kT0 + milliseconds(260)));
}

TEST(Hl7AckCorrelator, ResendRestartsTheWait) {
  AckCorrelator c;
  c.on_message("A", kT0);
  c.on_message("A", kT0 + milliseconds(50));
  EXPECT_EQ(c.pending(), 1U);
  EXPECT_EQ(c.on_ack("A", AckCode::kCA, kT0 + milliseconds(60)), milliseconds(10));
}

TEST(Hl7AckCorrelator, BoundedDropsOldest) {
  AckCorrelator c(2);
  c.on_message("A", kT0);
  c.on_message("B", kT0);
  c.on_message("C", kT0);
  EXPECT_EQ(c.pending(), 2U);
  EXPECT_EQ(c.expire(kT0, milliseconds(1000)), (std::vector<std::string>{"A"}));
  EXPECT_TRUE(c.on_ack("B", AckCode::kAA, kT0));
}

}  // namespace
}  // namespace wardgate::hl7
