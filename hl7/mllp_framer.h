#pragma once
// Incremental MLLP framer for one direction: <SB> content <EB><CR>, any chunking.
//
// Unlike the DICOM framer, it resynchronises after a violation: MLLP frames are delimited by
// bytes that cannot occur in HL7 text, so the next start block is a reliable boundary. Bytes
// outside frames are junk (one report per run, when it ends), except line feeds and carriage
// returns right after a frame, which some senders append; a run that starts with "MSH" is
// reported as what it most likely is, an HL7 message sent without MLLP framing. A frame longer
// than the cap is reported once and its bytes are discarded up to its end block (the stream
// ending meanwhile is not reported again as truncated): the framer never buffers more than
// max_frame bytes. A start block inside a frame abandons the partial frame (the sender restarted).
// Where frames begin and end in the bytes fed can be reported too (FrameBoundaries): the HL7
// frame gate (hl7/frame_gate.h) forwards whole frames on exactly these boundaries.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace wardgate::hl7 {

enum class FramingError : std::uint8_t {
  kJunk,              // bytes outside frames; detail: the byte count (and a hint if "MSH...")
  kFrameTooLong,      // content beyond the maximum message size; discarded
  kBadEndBlock,       // 0x1C not followed by 0x0D inside a frame; scanning goes on
  kStartInFrame,      // 0x0B inside a frame: the partial frame is dropped
  kTruncated,         // the stream ended inside a frame (not one already reported too long)
  kMalformedMessage,  // a frame whose content is not HL7 v2 (no MSH, bad separators, ...)
};
const char* to_string(FramingError e);

class FramerCallbacks {
 public:
  virtual ~FramerCallbacks() = default;
  // The content between start and end blocks; valid during the call only.
  virtual void on_frame(std::string_view content) = 0;
  virtual void on_commit_ack(bool positive) = 0;
  virtual void on_error(FramingError kind, std::string_view detail) = 0;
};

// Where the frames are in the bytes of one feed() call, for a caller that forwards whole frames
// and nothing else. Offsets count from the start of those bytes; each call comes right after
// the FramerCallbacks calls for the same bytes. Bytes that fall in no frame and are not line ends
// after a frame are junk.
class FrameBoundaries {
 public:
  virtual ~FrameBoundaries() = default;
  // A frame starts with the start block at `offset` (one inside a frame abandons that frame).
  virtual void on_frame_start(std::size_t offset) = 0;
  // The frame grew beyond max_frame before `offset`: it is discarded up to its end.
  virtual void on_frame_too_long(std::size_t offset) = 0;
  // The frame (delivered, or discarded as too long) ends before `offset`: end block and CR.
  virtual void on_frame_end(std::size_t offset) = 0;
  // CR or LF bytes [from, to) right after a frame, which some senders append.
  virtual void on_line_ends(std::size_t from, std::size_t to) = 0;
};

class MllpFramer {
 public:
  MllpFramer(FramerCallbacks& callbacks, std::size_t max_frame)
      : callbacks_(callbacks), max_frame_(max_frame) {}

  // `boundaries`, if given, also hears where the frames are in `bytes`.
  void feed(std::span<const std::byte> bytes, FrameBoundaries* boundaries = nullptr);
  void end_of_stream();
  std::size_t buffered_bytes() const { return buffer_.size(); }
  // Between frames: every frame fed so far has been delivered or discarded.
  bool at_frame_boundary() const { return state_ == State::kIdle; }

 private:
  enum class State : std::uint8_t { kIdle, kInFrame, kAfterEndBlock, kDiscarding, kDiscardingEnd };

  void frame_byte(std::uint8_t byte, std::size_t offset);
  void too_long(std::size_t offset);
  void deliver(std::string_view content);
  void add_junk(const std::uint8_t* p, std::size_t n);
  void flush_junk();

  FramerCallbacks& callbacks_;
  FrameBoundaries* boundaries_ = nullptr;  // during feed() only
  std::size_t max_frame_;
  State state_ = State::kIdle;
  bool after_frame_ = false;  // only CR/LF seen since the last frame ended
  std::uint64_t junk_ = 0;
  std::array<char, 3> junk_head_{};  // the first bytes of the junk run
  std::string buffer_;
};

}  // namespace wardgate::hl7
