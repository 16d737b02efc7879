#pragma once
// Reading fixed-size integers from wire bytes. The Upper Layer is big endian (PS3.8 9.3.1); data
// sets are little or big endian depending on the transfer syntax (PS3.5 7.3).
#include <cstddef>
#include <cstdint>

namespace wardgate::dicom::wire {

inline std::uint16_t be16(const std::byte* p) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) |
                                    std::to_integer<unsigned>(p[1]));
}

inline std::uint32_t be32(const std::byte* p) {
  return (std::uint32_t{be16(p)} << 16) | be16(p + 2);
}

inline std::uint16_t le16(const std::byte* p) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(p[0]) |
                                    (std::to_integer<unsigned>(p[1]) << 8));
}

inline std::uint32_t le32(const std::byte* p) {
  return std::uint32_t{le16(p)} | (std::uint32_t{le16(p + 2)} << 16);
}

inline std::uint8_t u8(const std::byte* p) { return std::to_integer<std::uint8_t>(*p); }

}  // namespace wardgate::dicom::wire
