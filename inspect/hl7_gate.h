#pragma once
// Holds back what a device sends over HL7/MLLP until each frame is complete and judged, so that a
// message the device's rules refuse never reaches the receiver (hl7.enforce with devices[].hl7
// rules). Frames are forwarded whole, exactly as they came; nothing is ever altered. What is
// withheld: refused frames, frames that hold no readable HL7 message, bytes outside frames other
// than the CR/LF some senders put between frames, and frames longer than the maximum message
// size (they cannot be inspected). Memory: at most one frame (max message size) per connection.
//
// The gate splits the device's bytes before every start block and after every end block, feeds
// each piece to the decoder (whose callbacks reach the judge, i.e. the inspector), and asks the
// judge when a frame ends.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hl7/decoder.h"

namespace wardgate::inspect {

class Hl7Gate {
 public:
  class Judge {
   public:
    virtual ~Judge() = default;
    // A frame ended; the decoder has reported its content. True: forward it.
    virtual bool settle_frame() = 0;
    // A frame longer than the maximum message size ended; it was not forwarded. `head`: the
    // frame's first segment as sent (its MSH, if it is a message), at most kHeadBytes.
    virtual void settle_too_long(std::string_view head) = 0;
  };
  static constexpr std::size_t kHeadBytes = 2048;

  Hl7Gate(hl7::Decoder& decoder, Judge& judge, std::size_t max_message_size)
      : decoder_(decoder), judge_(judge), max_frame_(max_message_size + 3) {}

  // Feeds what the device sent to the decoder; returns the bytes to forward now (valid until the
  // next call).
  std::span<const std::byte> feed(std::span<const std::byte> chunk);
  // The device's direction ended: a partial frame held is dropped (the decoder reports it).
  void end_of_stream();
  std::size_t held_bytes() const { return held_.size(); }

 private:
  void piece(std::span<const std::byte> bytes);

  hl7::Decoder& decoder_;
  Judge& judge_;
  std::size_t max_frame_;  // start block + content + end block and CR
  std::vector<std::byte> held_;
  std::vector<std::byte> out_;
  std::string head_;              // of a frame being discarded
  bool in_frame_ = false;         // a start block was seen and the frame has not ended
  bool discarding_ = false;       // the frame is too long: its bytes are dropped as they come
  bool after_end_block_ = false;  // the last byte seen was an end block
  bool after_frame_ = false;      // only CR/LF seen since the last frame ended
};

}  // namespace wardgate::inspect
