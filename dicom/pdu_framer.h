#pragma once
// Splits one direction of the connection into PDUs (PS3.8 9.3.1): accumulates the 6-byte header,
// then buffers the body of PDUs that are parsed whole. P-DATA-TF bodies are not buffered: the
// decoder hands them to the PdvStream right after the header. The framer knows lengths, not
// meanings; the caller checks every length against its cap before asking for the body.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace wardgate::dicom {

class PduFramer {
 public:
  // Header bytes seen so far for the current PDU (0..6).
  std::size_t header_bytes() const { return header_have_; }
  // The PDU type byte; valid once header_bytes() >= 1.
  std::uint8_t type() const { return std::to_integer<std::uint8_t>(header_[0]); }
  // The PDU length field; valid once the header is complete.
  std::uint32_t length() const;

  // Consumes header bytes from the front of `in`; true once the header is complete.
  bool take_header(std::span<const std::byte>& in);
  // Buffers the next length() bytes as the body (the caller checked length() against its cap).
  void begin_body();
  bool in_body() const { return in_body_; }
  // Consumes body bytes from the front of `in`; true once the body is complete (see body()).
  bool take_body(std::span<const std::byte>& in);
  std::span<const std::byte> body() const { return body_; }
  // Done with this PDU (its body, if any, was handled): ready for the next header.
  void next_pdu();
  // Frees the body buffer.
  void release();

  bool at_pdu_boundary() const { return header_have_ == 0 && !in_body_; }
  std::size_t buffered_bytes() const { return body_.capacity(); }

 private:
  std::array<std::byte, 6> header_{};
  std::size_t header_have_ = 0;
  bool in_body_ = false;
  std::vector<std::byte> body_;
};

}  // namespace wardgate::dicom
