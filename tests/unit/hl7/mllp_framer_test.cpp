// MLLP framing through the decoder: junk, trailers, commit acknowledgments, the size cap and
// resynchronisation, broken end blocks.
#include <gtest/gtest.h>

#include "hl7_test_support.h"

namespace wardgate::hl7::testing {
namespace {

constexpr std::string_view kSmall = "MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5\r";

int count(const std::string& log, std::string_view what) {
  int n = 0;
  for (std::size_t p = log.find(what); p != std::string::npos; p = log.find(what, p + 1)) ++n;
  return n;
}

TEST(Hl7Framer, JunkRunsReportedOnceWithTheirSize) {
  const std::string log = run_whole("abc" + mllp(kSmall) + "\x01\x02" + mllp(kSmall) + "zz");
  EXPECT_EQ(count(log, "MSG "), 2);
  EXPECT_NE(log.find("ERROR junk 3 bytes"), std::string::npos) << log;
  EXPECT_NE(log.find("ERROR junk 2 bytes"), std::string::npos) << log;
  EXPECT_EQ(count(log, "ERROR junk"), 3);
  // Junk spread over many reads is still one run.
  EXPECT_EQ(run("1234567" + mllp(kSmall), {1, 2, 3, 5}), run_whole("1234567" + mllp(kSmall)));
  EXPECT_EQ(count(run("1234567" + mllp(kSmall), {1, 2, 3, 5}), "ERROR junk 7 bytes"), 1);
}

TEST(Hl7Framer, UnframedMessageNamedAsSuch) {
  // An HL7 message (or an ACK) sent without MLLP blocks: one junk event for the whole run, whose
  // detail says what it most likely is, however the bytes were chunked.
  const std::string bare = std::string(kSmall) + "PID|||7||N^M\r";
  const std::string hint = R"(, starting with "MSH" (an HL7 message sent without MLLP framing?))";
  const std::string expected =
      "c ERROR junk " + std::to_string(bare.size()) + " bytes outside MLLP frames" + hint + "\n";
  EXPECT_EQ(run_whole(bare), expected);
  EXPECT_EQ(run(bare, {1, 2, 3}), expected);
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < bare.size(); ++i) every.push_back(i);
  EXPECT_EQ(run(bare, every), expected);
  // After a frame (and its tolerated CR LF), before the next one: still one event per run.
  const std::string log = run_whole(mllp(kSmall) + "\r\n" + bare + mllp(kSmall) + bare + bare);
  EXPECT_EQ(count(log, "MSG "), 2) << log;
  EXPECT_EQ(count(log, "ERROR junk"), 2) << log;
  EXPECT_EQ(count(log, hint), 2) << log;
  EXPECT_NE(log.find("ERROR junk " + std::to_string(2 * bare.size()) + " bytes"), std::string::npos)
      << log;
  // Other junk keeps the plain detail, even if "MSH" comes later in the run or is cut short.
  EXPECT_EQ(run_whole("xMSH|" + mllp(kSmall)).find("MLLP framing"), std::string::npos);
  EXPECT_EQ(run_whole("MS"), "c ERROR junk 2 bytes outside MLLP frames\n");
}

TEST(Hl7Framer, TrailingLineFeedTolerated) {
  const std::string log = run_whole(mllp(kSmall) + "\n" + mllp(kSmall) + "\r\n");
  EXPECT_EQ(count(log, "MSG "), 2);
  EXPECT_EQ(count(log, "ERROR"), 0) << log;
  // ... but not before any frame.
  EXPECT_EQ(count(run_whole("\n" + mllp(kSmall)), "ERROR junk 1 bytes"), 1);
}

TEST(Hl7Framer, CommitAckAndNak) {
  LogCallbacks cb;
  Decoder d(cb);
  d.feed(Side::kServer, bytes_of("\x0b\x06\x1c\r\x0b\x15\x1c\r"));
  EXPECT_EQ(cb.log, "s COMMIT-ACK\ns COMMIT-NAK\n");
}

TEST(Hl7Framer, SplitBetweenEndBlockAndCarriageReturn) {
  const std::string s = mllp(kSmall);
  EXPECT_EQ(run(s, {s.size() - 1}), run_whole(s));
  EXPECT_EQ(count(run(s, {s.size() - 1}), "MSG "), 1);
}

TEST(Hl7Framer, EndBlockWithoutCarriageReturnReportedAndScanningGoesOn) {
  const std::string log = run_whole("\x0bMSH|^~\\&|A\x1cx|B|C|D|1||ADT^A01|Q|P|2.5\r\x1c\r");
  EXPECT_EQ(count(log, "ERROR bad-end-block"), 1) << log;
  ASSERT_EQ(count(log, "MSG "), 1);
  EXPECT_NE(log.find("A\x1cx|B"), std::string::npos) << log;
}

TEST(Hl7Framer, StartBlockInsideFrameRestarts) {
  const std::string log = run_whole("\x0bMSH|^~\\&|partial" + mllp(kSmall));
  EXPECT_EQ(count(log, "ERROR start-in-frame"), 1);
  EXPECT_EQ(count(log, "MSG "), 1);
  EXPECT_EQ(count(log, "ERROR"), 1) << log;
}

TEST(Hl7Framer, TruncatedAtEndOfStream) {
  EXPECT_EQ(count(run_whole("\x0bMSH|^~"), "ERROR truncated"), 1);
  EXPECT_EQ(count(run_whole(mllp(kSmall).substr(0, kSmall.size() + 2)), "ERROR truncated"), 1);
}

TEST(Hl7Framer, FrameTooLongIsNotAlsoTruncated) {
  // One fault, one event: the stream ending while an oversized frame is being discarded (before
  // its end block, or between the end block and its CR) is not reported again as truncated.
  DecoderLimits limits;
  limits.max_message_size = 100;
  const std::string big = "\x0bMSH|^~\\&|" + std::string(500, 'x');
  for (const std::string& stream : {big, big + "\x1c", mllp(kSmall) + big}) {
    const std::string log = run(stream, {}, limits);
    EXPECT_EQ(count(log, "ERROR frame-too-long"), 1) << log;
    EXPECT_EQ(count(log, "ERROR truncated"), 0) << log;
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < stream.size(); ++i) every.push_back(i);
    EXPECT_EQ(run(stream, every, limits), log);
  }
  // A frame within the cap that the stream cuts short is still truncated.
  const std::string log = run("\x0bMSH|^~\\&|" + std::string(50, 'x'), {}, limits);
  EXPECT_EQ(log, "c ERROR truncated stream ended inside an MLLP frame\n");
}

TEST(Hl7Framer, SizeCapHoldsAndResynchronises) {
  DecoderLimits limits;
  limits.max_message_size = 100;
  const std::string big = mllp("MSH|^~\\&|" + std::string(500, 'x') + "\r");
  const std::string exact = mllp(std::string(kSmall) + std::string(100 - kSmall.size(), 'y'));
  ASSERT_EQ(exact.size(), 103U);  // content of exactly the maximum size passes
  const std::string stream = big + mllp(kSmall) + big + exact;
  std::size_t peak = 0;
  const std::string log = run(stream, {}, limits, Side::kClient, &peak);
  EXPECT_EQ(count(log, "ERROR frame-too-long"), 2) << log;
  EXPECT_EQ(count(log, "MSG "), 2) << log;
  EXPECT_EQ(count(log, "ERROR"), 2) << log;
  EXPECT_LE(peak, 100U);
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < stream.size(); ++i) every.push_back(i);
  EXPECT_EQ(run(stream, every, limits, Side::kClient, &peak), log);
  EXPECT_LE(peak, 100U);
  // The oversized frame's bytes, start blocks included, are skipped up to its end block.
  const std::string nested =
      "\x0b" + std::string(200, 'z') + "\x0b" + "MSH|" + "\x1c\r" + mllp(kSmall);
  const std::string log2 = run(nested, {}, limits);
  EXPECT_EQ(count(log2, "ERROR frame-too-long"), 1) << log2;
  EXPECT_EQ(count(log2, "MSG "), 1) << log2;
}

// Where frames are, as the frame gate (hl7/frame_gate.h) sees them: stream offsets of every
// boundary, identical whatever the chunking (a run of line ends split by chunking is joined).
class Boundaries final : public FrameBoundaries {
 public:
  std::string log;
  std::size_t base = 0;  // stream offset of the bytes being fed
  void on_frame_start(std::size_t offset) override { add("start", offset); }
  void on_frame_too_long(std::size_t offset) override { add("too-long", offset); }
  void on_frame_end(std::size_t offset) override { add("end", offset); }
  void on_line_ends(std::size_t from, std::size_t to) override {
    const std::string tail = "-" + std::to_string(base + from);
    if (log.size() >= tail.size() &&
        log.compare(log.size() - tail.size(), tail.size(), tail) == 0) {
      log.resize(log.size() - tail.size());  // continues the run the last chunk ended with
    } else {
      add("line-ends", from);
    }
    log += "-" + std::to_string(base + to);
  }

 private:
  void add(const char* what, std::size_t offset) {
    log += std::string(log.empty() ? "" : " ") + what + "@" + std::to_string(base + offset);
  }
};

std::string boundaries(const std::string& stream, std::size_t piece, std::size_t max) {
  LogCallbacks cb;
  Decoder d(cb, {max, ""});
  Boundaries b;
  const auto bytes = bytes_of(stream);
  for (std::size_t i = 0; i < bytes.size(); i += piece) {
    b.base = i;
    d.feed(Side::kClient, std::span(bytes).subspan(i, std::min(piece, bytes.size() - i)), b);
  }
  return b.log;
}

TEST(Hl7Framer, ReportsFrameBoundariesWhateverTheChunking) {
  const std::string frame = mllp(kSmall);
  const std::string big = mllp(std::string(kSmall) + std::string(100, 'x'));
  const std::string stream = "ab" + frame + "\r\n" + "\x0bMSH|" + frame + big + "\r" + frame;
  const std::size_t f = frame.size();
  const std::size_t restart = 2 + f + 2 + 5;  // the start block that abandons "\x0bMSH|"
  const std::size_t big_at = restart + f;
  const std::string expected =
      "start@2 end@" + std::to_string(2 + f) + " line-ends@" + std::to_string(2 + f) + "-" +
      std::to_string(4 + f) + " start@" + std::to_string(4 + f) + " start@" +
      std::to_string(restart) + " end@" + std::to_string(big_at) + " start@" +
      std::to_string(big_at) + " too-long@" + std::to_string(big_at + 1 + 64 + 1) + " end@" +
      std::to_string(big_at + big.size()) + " line-ends@" + std::to_string(big_at + big.size()) +
      "-" + std::to_string(big_at + big.size() + 1) + " start@" +
      std::to_string(big_at + big.size() + 1) + " end@" + std::to_string(stream.size());
  for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{17}, stream.size()}) {
    EXPECT_EQ(boundaries(stream, piece, 64), expected) << "pieces of " << piece;
  }
}

TEST(Hl7Framer, DefaultCapIsOneMebibyte) {
  EXPECT_EQ(DecoderLimits{}.max_message_size, 1024U * 1024U);
  LogCallbacks cb;
  Decoder d(cb);
  const std::string chunk(std::size_t{64} * 1024, 'x');
  d.feed(Side::kClient, bytes_of("\x0bMSH|^~\\&|"));
  for (int i = 0; i < 40; ++i) {
    d.feed(Side::kClient, bytes_of(chunk));
    EXPECT_LE(d.buffered_bytes(), 1024U * 1024U);
  }
  EXPECT_EQ(cb.errors, 1);
  EXPECT_EQ(d.buffered_bytes(), 0U);
}

}  // namespace
}  // namespace wardgate::hl7::testing
