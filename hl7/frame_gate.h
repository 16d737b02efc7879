#pragma once
// Holds back what a device sends over HL7/MLLP until each frame is complete and judged, so that a
// message the device's rules refuse never reaches the receiver (hl7.enforce with devices[].hl7
// rules). Frames are forwarded whole, exactly as they came; nothing is ever altered. What is
// withheld: refused frames, frames that hold no readable HL7 message, bytes outside frames other
// than the CR/LF some senders put between frames, and frames longer than the maximum message
// size (they cannot be inspected). Memory: at most one frame (max message size) per connection.
//
// The gate feeds the device's bytes to the decoder, whose callbacks reach the judge (i.e. the
// inspector), and follows the frame boundaries the decoder's MLLP framer reports: it asks the
// judge when a frame ends.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hl7/decoder.h"
#include "hl7/mllp_framer.h"

namespace wardgate::hl7 {

class FrameGate final : private FrameBoundaries {
 public:
  class Judge {
   public:
    virtual ~Judge() = default;
    // A frame ended; the decoder has reported its content. True: forward it.
    virtual bool settle_frame() = 0;
    // A frame longer than the maximum message size ended (or the stream ended inside it); it was
    // not forwarded. `head`: the frame's first segment as sent (its MSH, if it is a message), at
    // most kHeadBytes.
    virtual void settle_too_long(std::string_view head) = 0;
  };
  static constexpr std::size_t kHeadBytes = 2048;

  FrameGate(Decoder& decoder, Judge& judge) : decoder_(decoder), judge_(judge) {}

  // Feeds what the device sent to the decoder; returns the bytes to forward now (valid until the
  // next call).
  std::span<const std::byte> feed(std::span<const std::byte> chunk);
  // The device's direction ended: a partial frame held is dropped (the decoder reports it).
  void end_of_stream();
  std::size_t held_bytes() const { return held_.size(); }
  // Memory the gate's buffers take (their capacity), and the most they can take after feed() of
  // `n` more bytes, for the global held-bytes budget (proxy::Inspector::held_bytes_after).
  std::size_t allocated_bytes() const {
    return held_.capacity() + out_.capacity() + head_.capacity();
  }
  std::size_t allocated_bytes_after(std::size_t n) const;

 private:
  // FrameBoundaries, during feed(): offsets into chunk_.
  void on_frame_start(std::size_t offset) override;
  void on_frame_too_long(std::size_t offset) override;
  void on_frame_end(std::size_t offset) override;
  void on_line_ends(std::size_t from, std::size_t to) override;

  // Takes chunk_[taken_, to): held if in a frame, read for its head if discarding, else dropped.
  void take(std::size_t to);
  void take_head(std::span<const std::byte> bytes);

  Decoder& decoder_;
  Judge& judge_;
  std::span<const std::byte> chunk_;  // being fed
  std::size_t taken_ = 0;             // of chunk_
  std::vector<std::byte> held_;       // the frame so far, from its start block
  std::vector<std::byte> out_;
  std::string head_;         // of a frame being discarded
  bool head_done_ = false;   // its first segment ended
  bool in_frame_ = false;    // a frame started and has not ended
  bool discarding_ = false;  // the frame is too long: its bytes are dropped as they come
};

}  // namespace wardgate::hl7
