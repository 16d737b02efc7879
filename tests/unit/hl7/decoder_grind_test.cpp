// Every sample stream fed whole, split at every offset, byte by byte, and with garbage appended:
// the decoder must report exactly the same things (DESIGN.md, tests).
#include <gtest/gtest.h>

#include <algorithm>

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
  every.push_back(stream.size());
  for (std::size_t i = stream.size() + 1; i < garbage.size(); ++i) every.push_back(i);
  if (stream.empty()) every.erase(every.begin());
  ASSERT_EQ(run(garbage, every, limits), expected_garbage) << "byte by byte";
}

// What one side reports, alone: the lines of `log` from that side.
std::string lines_of(const std::string& log, std::string_view prefix) {
  std::string out;
  for (std::size_t pos = 0; pos < log.size();) {
    const std::size_t end = log.find('\n', pos);
    const std::string_view line = std::string_view(log).substr(pos, end - pos + 1);
    if (line.starts_with(prefix)) out += line;
    pos = end + 1;
  }
  return out;
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
TEST(Hl7DecoderGrind, RecordedVitalsAndAck) {
  grind(mllp(kVitals));
  grind(mllp(kVitalsAck));
  grind(mllp(kVitals) + mllp(kVitals) + "\r\n" + mllp(kVitals));
}
TEST(Hl7DecoderGrind, RecordedWindowsAdtLatin1) { grind(mllp(kAdtWindows)); }
TEST(Hl7DecoderGrind, RecordedLabWithoutPid3) { grind(mllp(kLabNoPid3)); }

// Nothing of one message shows in the next: each is reported exactly as when it is alone on a
// fresh connection, whatever came before it, in frames of their own or all in one frame.
TEST(Hl7DecoderGrind, MessagesIndependentOfTheirNeighbours) {
  const std::vector<std::string_view> samples = {kVitals,    kLabNoPid3, kVitalsAck, kAdtWindows,
                                                 kAckAe,     kGb18030,   kOru,       kAdt,
                                                 kLabNoPid3, kAckAa,     kVitals};
  for (const bool reversed : {false, true}) {
    std::string alone;
    std::string frames;
    std::string together;
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const std::string_view m = samples[reversed ? samples.size() - 1 - i : i];
      alone += run_whole(mllp(m));
      frames += mllp(m);
      together += m;
    }
    ASSERT_EQ(std::count(alone.begin(), alone.end(), '\n'), samples.size());
    EXPECT_EQ(run_whole(frames), alone);
    EXPECT_EQ(run(frames, {100, 1500, 1501, frames.size() - 3}), alone);
    EXPECT_EQ(run_whole(mllp(together)), alone);
  }
}

// A conversation: the monitor's results and the HIS's acknowledgements interleaved in pieces of
// every size; each side reports what it reports alone.
TEST(Hl7DecoderGrind, BothSidesInterleaved) {
  std::string client;
  std::string server;
  for (int i = 0; i < 3; ++i) {
    client += mllp(kVitals) + mllp(kLabNoPid3);
    server += mllp(kVitalsAck) + mllp("\x06") + mllp(kAckAe);
  }
  const std::string client_alone = run(client, {}, {}, Side::kClient);
  const std::string server_alone = run(server, {}, {}, Side::kServer);
  for (const std::size_t piece :
       {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{1000}}) {
    LogCallbacks cb;
    Decoder d(cb);
    const std::vector<std::byte> c = bytes_of(client);
    const std::vector<std::byte> s = bytes_of(server);
    std::size_t ci = 0;
    std::size_t si = 0;
    for (std::size_t turn = 0; ci < c.size() || si < s.size(); ++turn) {
      const std::size_t n = piece + turn % 5;  // pieces of varying sizes, cut anywhere
      const std::size_t cn = std::min(n, c.size() - ci);
      d.feed(Side::kClient, std::span<const std::byte>(c).subspan(ci, cn));
      ci += cn;
      const std::size_t sn = std::min(n + 3, s.size() - si);
      d.feed(Side::kServer, std::span<const std::byte>(s).subspan(si, sn));
      si += sn;
    }
    d.end_of_stream(Side::kClient);
    d.end_of_stream(Side::kServer);
    EXPECT_EQ(lines_of(cb.log, "c "), client_alone) << "pieces of " << piece;
    EXPECT_EQ(lines_of(cb.log, "s "), server_alone) << "pieces of " << piece;
  }
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
