#pragma once
// Encodes data elements (PS3.5 7.1) in any of the three encodings, for hand-made data sets.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dicom/element_scanner.h"

namespace wardgate::dicom::testing {

class Writer {
 public:
  explicit Writer(ElementEncoding e) : e_(e) {}
  Writer& u16(std::uint16_t v) {
    if (big()) {
      put(v >> 8);
      put(v & 0xFF);
    } else {
      put(v & 0xFF);
      put(v >> 8);
    }
    return *this;
  }
  Writer& u32(std::uint32_t v) {
    return big() ? u16(static_cast<std::uint16_t>(v >> 16)).u16(static_cast<std::uint16_t>(v))
                 : u16(static_cast<std::uint16_t>(v)).u16(static_cast<std::uint16_t>(v >> 16));
  }
  Writer& text(std::string_view s) {
    for (const char c : s) put(static_cast<unsigned char>(c));
    return *this;
  }
  // A whole element with a value; explicit VR encodings use `vr`.
  Writer& element(std::uint16_t g, std::uint16_t el, std::string_view vr, std::string_view value) {
    header(g, el, vr, static_cast<std::uint32_t>(value.size()));
    return text(value);
  }
  Writer& header(std::uint16_t g, std::uint16_t el, std::string_view vr, std::uint32_t length) {
    u16(g).u16(el);
    if (e_ == ElementEncoding::kImplicitLittle || g == 0xFFFE) return u32(length);
    text(vr);
    for (const char* l :
         {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}) {
      if (vr == l) return u16(0).u32(length);  // PS3.5 7.1.2: 4-byte length form
    }
    return u16(static_cast<std::uint16_t>(length));
  }
  Writer& item(std::uint32_t length) { return header(0xFFFE, 0xE000, "", length); }
  Writer& item_end() { return header(0xFFFE, 0xE00D, "", 0); }
  Writer& sequence_end() { return header(0xFFFE, 0xE0DD, "", 0); }

  std::vector<std::byte> bytes;

 private:
  bool big() const { return e_ == ElementEncoding::kExplicitBig; }
  void put(unsigned v) { bytes.push_back(static_cast<std::byte>(v)); }
  ElementEncoding e_;
};

}  // namespace wardgate::dicom::testing
