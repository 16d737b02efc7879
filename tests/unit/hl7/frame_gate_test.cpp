// The HL7 frame gate with the real decoder: what a device sends is forwarded frame by frame, whole
// and unchanged, whatever the chunking; judged-out frames, junk and too-long frames are withheld.
#include "hl7/frame_gate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/hl7/hl7_test_support.h"

namespace wardgate::hl7 {
namespace {

using hl7::testing::bytes_of;
using hl7::testing::mllp;

std::string message(const std::string& control_id) {
  return "MSH|^~\\&|MON|W|ENG|H|20261122||ORU^R01|" + control_id +
         "|P|2.5\rPID|1||P1\rOBX|1|NM|HR||72";
}

// Refuses frames holding a message whose control ID starts with "NO".
class Judge final : public DecoderCallbacks, public FrameGate::Judge {
 public:
  void on_message(Side /*from*/, const Message& m) override {
    refuse_ = refuse_ || m.control_id.rfind("NO", 0) == 0;
  }
  bool settle_frame() override {
    ++frames;
    return !std::exchange(refuse_, false);
  }
  void settle_too_long(std::string_view head) override { too_long.emplace_back(head); }
  int frames = 0;
  std::vector<std::string> too_long;

 private:
  bool refuse_ = false;
};

struct GateRun {
  std::string forwarded;
  int frames = 0;
  std::vector<std::string> too_long;
  std::size_t max_held = 0;
};

// Feeds `input` in pieces of `piece` bytes, or split once at `split` when piece is 0.
GateRun run(const std::string& input, std::size_t piece, std::size_t split = 0,
            std::size_t max_message = 1024) {
  Judge judge;
  Decoder decoder(judge, {max_message, ""});
  FrameGate gate(decoder, judge);
  GateRun r;
  const auto bytes = bytes_of(input);
  std::vector<std::span<const std::byte>> chunks;
  if (piece == 0) {
    chunks = {std::span(bytes).first(split), std::span(bytes).subspan(split)};
  } else {
    for (std::size_t i = 0; i < bytes.size(); i += piece) {
      chunks.push_back(std::span(bytes).subspan(i, std::min(piece, bytes.size() - i)));
    }
  }
  for (auto c : chunks) {
    const auto out = gate.feed(c);
    r.forwarded.append(reinterpret_cast<const char*>(out.data()), out.size());
    r.max_held = std::max(r.max_held, gate.held_bytes());
  }
  r.frames = judge.frames;
  r.too_long = judge.too_long;
  return r;
}

TEST(Hl7FrameGate, ForwardsAllowedFramesWholeWithholdsTheRestWhateverTheChunking) {
  const std::string ok1 = mllp(message("OK1")), no2 = mllp(message("NO2")),
                    ok3 = mllp(message("OK3")), ok4 = mllp(message("OK4"));
  const std::string input = ok1 + no2 + "\r\n" + ok3 + "\rjunk\x1c\rjunk\n" + ok4;
  const std::string expected = ok1 + "\r\n" + ok3 + "\r" + ok4;
  const GateRun whole = run(input, input.size());
  EXPECT_EQ(whole.forwarded, expected);
  EXPECT_EQ(whole.frames, 4);
  for (std::size_t piece : {1, 2, 3, 7, 64}) {
    const GateRun r = run(input, piece);
    EXPECT_EQ(r.forwarded, expected) << "pieces of " << piece;
    EXPECT_EQ(r.frames, 4) << "pieces of " << piece;
  }
  for (std::size_t split = 0; split <= input.size(); ++split) {
    const GateRun r = run(input, 0, split);
    ASSERT_EQ(r.forwarded, expected) << "split at " << split;
    // Nothing of a frame is held once it ended.
    ASSERT_LE(r.max_held, ok1.size()) << "split at " << split;
  }
}

TEST(Hl7FrameGate, NothingOfAFrameLeavesBeforeItEnds) {
  const std::string frame = mllp(message("OK1"));
  Judge judge;
  Decoder decoder(judge, {1024, ""});
  FrameGate gate(decoder, judge);
  const auto bytes = bytes_of(frame);
  EXPECT_TRUE(gate.feed(std::span(bytes).first(frame.size() - 1)).empty());
  EXPECT_EQ(gate.held_bytes(), frame.size() - 1);
  EXPECT_EQ(gate.feed(std::span(bytes).last(1)).size(), frame.size());
  EXPECT_EQ(gate.held_bytes(), 0u);
}

TEST(Hl7FrameGate, ATooLongFrameIsWithheldWithBoundedMemoryAndReportedOnce) {
  std::string big = message("BIG1") + "\r";
  while (big.size() < 5000) big += "OBX|1|NM|HR||72\r";
  const std::string after = mllp(message("OK2"));
  const std::string input = mllp(big) + after;
  for (std::size_t piece : {1, 100, 4096, 100000}) {
    const GateRun r = run(input, piece, 0, 1024);
    EXPECT_EQ(r.forwarded, after) << "pieces of " << piece;
    ASSERT_EQ(r.too_long.size(), 1u) << "pieces of " << piece;
    EXPECT_EQ(r.too_long[0], "MSH|^~\\&|MON|W|ENG|H|20261122||ORU^R01|BIG1|P|2.5");
    EXPECT_LE(r.max_held, 1024u + 3u) << "pieces of " << piece;
  }
}

TEST(Hl7FrameGate, AStartBlockInsideAFrameDropsThePartialFrame) {
  const std::string ok = mllp(message("OK1"));
  const std::string input = "\x0bMSH|^~\\&|partial" + ok;
  EXPECT_EQ(run(input, input.size()).forwarded, ok);
  EXPECT_EQ(run(input, 5).forwarded, ok);
}

}  // namespace
}  // namespace wardgate::hl7
