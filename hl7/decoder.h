#pragma once
// Incremental HL7 v2 over MLLP decoder for one TCP connection, fed both directions in arbitrary
// chunks. Pure: no I/O, no exceptions, no clock; memory bounded by DecoderLimits. Framing
// (mllp_framer), parsing (message_parser, charset), emission (DecoderCallbacks, decoder.cpp).
// Unlike the DICOM decoder it never goes permanently out of sync: MLLP's start block is a
// reliable resynchronisation point, so after a framing error it reports and carries on with the
// next frame (see mllp_framer.h). ACK correlation with latencies needs a clock and belongs to the
// inspector; hl7/ack_correlator.h is its pure part. Callbacks must not feed() the decoder.
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "hl7/mllp_framer.h"
#include "hl7/model.h"

namespace wardgate::hl7 {

struct DecoderLimits {
  // Largest frame content buffered; a longer frame is reported and skipped.
  std::size_t max_message_size = std::size_t{1024} * 1024;
  // Character set (an MSH-18 name, e.g. "GB 18030") of messages that do not declare MSH-18 or
  // declare one that is unknown; empty: ASCII as the standard says when undeclared, UTF-8 when
  // unknown, bytes that do not decode shown as \x{hh} (and noted in Message::notes).
  std::string default_charset;
};

class DecoderCallbacks {
 public:
  virtual ~DecoderCallbacks() = default;
  virtual void on_message(Side /*from*/, const Message& /*message*/) {}
  // MLLP release 2 commit acknowledgment: <ACK> (positive) or <NAK>.
  virtual void on_commit_ack(Side /*from*/, bool /*positive*/) {}
  virtual void on_framing_error(Side /*from*/, FramingError /*kind*/, std::string_view /*detail*/) {
  }
};

class Decoder {
 public:
  explicit Decoder(DecoderCallbacks& callbacks, DecoderLimits limits = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  void feed(Side from, std::span<const std::byte> bytes);
  // The same, and `boundaries` hears where the frames of `from` are in `bytes` (mllp_framer.h).
  void feed(Side from, std::span<const std::byte> bytes, FrameBoundaries& boundaries);
  // The direction ended (FIN or reset): pending junk is reported, a partial frame is truncated.
  void end_of_stream(Side from);
  // Bytes held in frame buffers right now; at most 2 x max_message_size, whatever the input.
  std::size_t buffered_bytes() const;
  // No frame of `from` is open: everything it sent so far has been reported. wardgate may insert
  // a message of its own into that direction only here.
  bool at_frame_boundary(Side from) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wardgate::hl7
