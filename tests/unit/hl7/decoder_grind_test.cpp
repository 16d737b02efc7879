// Every sample stream fed whole, split at every offset, byte by byte, and with garbage appended:
// the decoder must report exactly the same things (DESIGN.md, tests).
#include <gtest/gtest.h>

#include "hl7_test_support.h"

namespace wardgate::hl7::testing {
namespace {

void grind(std::string_view stream, const DecoderLimits& limits = {}) {
  const std::string expected = run(stream, {}, limits);
  ASSERT_TRUE(expected.find("MSG ") != std::string::npos ||
              expected.find("COMMIT") != std::string::npos)
      << expected;
  for (std::size_t k = 0; k <= stream.size(); ++k) {
    ASSERT_EQ(run(stream, {k}, limits), expected) << "split at " << k;
  }
  for (std::size_t k = 0; k + 1 < stream.size(); k += 7) {
    ASSERT_EQ(run(stream, {k, k + 1}, limits), expected) << "split at " << k << ", " << k + 1;
  }
  std::vector<std::size_t> every(stream.empty() ? 0 : stream.size() - 1);
  for (std::size_t i = 0; i < every.size(); ++i) every[i] = i + 1;
  ASSERT_EQ(run(stream, every, limits), expected) << "byte by byte";

  const std::string garbage = std::string(stream) + "garbage\x01\x02\xff";
  const std::string expected_garbage = run(garbage, {}, limits);
  EXPECT_EQ(expected_garbage, expected + "c ERROR junk 10 bytes outside MLLP frames\n");
  for (std::size_t k = 0; k <= garbage.size(); ++k) {
    ASSERT_EQ(run(garbage, {k}, limits), expected_garbage) << "split at " << k;
  }
}

TEST(Hl7DecoderGrind, OruR01) { grind(mllp(kOru)); }
TEST(Hl7DecoderGrind, AdtA01) { grind(mllp(kAdt)); }
TEST(Hl7DecoderGrind, OrmO01) { grind(mllp(kOrm)); }
TEST(Hl7DecoderGrind, Acks) { grind(mllp(kAckAa) + mllp(kAckAe)); }
TEST(Hl7DecoderGrind, Batch) { grind(mllp(kBatch)); }
TEST(Hl7DecoderGrind, Gb18030) { grind(mllp(kGb18030)); }
TEST(Hl7DecoderGrind, CommitAckAndNak) { grind(mllp(kOru) + mllp("\x06") + mllp("\x15")); }
TEST(Hl7DecoderGrind, Conversation) {
  grind("junk" + mllp(kOru) + "\n" + mllp(kAdt) + "\r\n" + mllp(kOrm) + mllp(kBatch));
}
TEST(Hl7DecoderGrind, Violations) {
  DecoderLimits limits;
  limits.max_message_size = 64;
  grind("xx" + mllp(kOru) + mllp("MSH|^~\\&|A\x1cx|B\r") + "\x0bMSH|^~\\&|half" + mllp(kAckAa) +
            mllp("EVN|1\r") + mllp("MSH|^~\\&|A|B\r"),
        limits);
}

}  // namespace
}  // namespace wardgate::hl7::testing
