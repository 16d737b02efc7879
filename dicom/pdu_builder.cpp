#include "dicom/pdu_builder.h"

#include <array>

#include "dicom/spec.h"

namespace wardgate::dicom {
namespace {

// Both PDUs share one layout: type, reserved, length 4 (big endian), reserved, then three bytes.
std::vector<std::byte> short_pdu(std::uint8_t type, std::uint8_t a, std::uint8_t b,
                                 std::uint8_t c) {
  const std::array<std::uint8_t, 10> raw = {type, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, a, b, c};
  std::vector<std::byte> out;
  out.reserve(raw.size());
  for (std::uint8_t v : raw) out.push_back(static_cast<std::byte>(v));
  return out;
}

}  // namespace

std::vector<std::byte> make_associate_reject(std::uint8_t result, std::uint8_t source,
                                             std::uint8_t reason) {
  return short_pdu(spec::kAssociateRj, result, source, reason);
}

std::vector<std::byte> make_abort(std::uint8_t source, std::uint8_t reason) {
  return short_pdu(spec::kAbort, 0x00, source, reason);
}

}  // namespace wardgate::dicom
