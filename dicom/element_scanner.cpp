#include "dicom/element_scanner.h"

#include <array>
#include <string_view>

#include "dicom/spec.h"
#include "dicom/wire.h"

namespace wardgate::dicom {
namespace {

// Nesting of undefined-length sequences and items followed before the scan calls it malformed;
// far beyond real data sets, small enough to keep the walk on a fixed array.
constexpr std::size_t kMaxDepth = 32;

// PS3.5 6.2 (Table 6.2-1): value representations; PS3.5 7.1.2: those with a 4-byte length.
constexpr std::string_view kShortVrs = "AEASATCSDADSDTFLFDISLOLTPNSHSLSSSTTMUIULUS";
constexpr std::string_view kLongVrs = "OBODOFOLOVOWSQSVUCUNURUTUV";

bool vr_in(std::string_view table, char a, char b) {
  for (std::size_t i = 0; i + 1 < table.size(); i += 2) {
    if (table[i] == a && table[i + 1] == b) return true;
  }
  return false;
}

bool vr_is(const std::array<char, 2>& vr, const char* name) {
  return vr[0] == name[0] && vr[1] == name[1];
}

}  // namespace

ElementScanner::ElementScanner(std::span<const std::byte> bytes, ElementEncoding encoding)
    : bytes_(bytes), encoding_(encoding) {}

bool ElementScanner::read_header(std::size_t at, bool implicit_le, Header& out) {
  const std::size_t avail = bytes_.size() - at;
  if (avail < 8) {
    stop_ = Stop::kTruncated;
    return false;
  }
  const std::byte* p = bytes_.data() + at;
  const bool big = !implicit_le && encoding_ == ElementEncoding::kExplicitBig;
  const std::uint16_t group = big ? wire::be16(p) : wire::le16(p);
  const std::uint16_t element = big ? wire::be16(p + 2) : wire::le16(p + 2);
  out.tag = spec::tag(group, element);
  out.vr[0] = out.vr[1] = 0;
  // PS3.5 7.5: items and delimiters carry no VR in any transfer syntax.
  if (implicit_le || group == spec::kItemGroup) {
    out.length = big ? wire::be32(p + 4) : wire::le32(p + 4);
    out.header_length = 8;
    return true;
  }
  const char a = static_cast<char>(p[4]);
  const char b = static_cast<char>(p[5]);
  out.vr[0] = a;
  out.vr[1] = b;
  if (vr_in(kLongVrs, a, b)) {
    if (avail < 12) {
      stop_ = Stop::kTruncated;
      return false;
    }
    out.length = big ? wire::be32(p + 8) : wire::le32(p + 8);
    out.header_length = 12;
    return true;
  }
  if (vr_in(kShortVrs, a, b)) {
    out.length = big ? wire::be16(p + 6) : wire::le16(p + 6);
    out.header_length = 8;
    return true;
  }
  stop_ = Stop::kMalformed;
  return false;
}

std::size_t ElementScanner::skip_undefined(std::size_t at, bool implicit_le) {
  struct Frame {
    bool item;  // inside an item (elements) or a sequence (items and its delimiter)
    bool implicit_le;
  };
  std::array<Frame, kMaxDepth> frames{};
  std::size_t depth = 0;
  frames[depth++] = Frame{false, implicit_le};
  std::size_t pos = at;
  while (depth > 0) {
    const Frame top = frames[depth - 1];
    Header h{};
    if (!read_header(pos, top.implicit_le, h)) return 0;
    pos += h.header_length;
    const auto group = static_cast<std::uint16_t>(h.tag >> 16);
    const auto element = static_cast<std::uint16_t>(h.tag & 0xFFFF);
    if (group == spec::kItemGroup) {
      if (element == spec::kItemElement && !top.item) {
        if (h.length == spec::kUndefinedLength) {
          if (depth == kMaxDepth) break;
          frames[depth++] = Frame{true, top.implicit_le};
        } else if (h.length > bytes_.size() - pos) {
          stop_ = Stop::kTruncated;
          return 0;
        } else {
          pos += h.length;
        }
      } else if ((element == spec::kItemDelimitationElement && top.item) ||
                 (element == spec::kSequenceDelimitationElement && !top.item)) {
        --depth;
      } else {
        break;
      }
      continue;
    }
    if (!top.item) break;  // a sequence holds items only
    if (h.length == spec::kUndefinedLength) {
      const bool un = vr_is(h.vr, "UN");
      if (!top.implicit_le && encoding_ != ElementEncoding::kImplicitLittle &&
          !(vr_is(h.vr, "SQ") || un || vr_is(h.vr, "OB") || vr_is(h.vr, "OW"))) {
        break;
      }
      if (depth == kMaxDepth) break;
      // PS3.5 6.2.2: an undefined-length UN holds an Implicit VR Little Endian sequence.
      frames[depth++] = Frame{false, top.implicit_le || un};
    } else if (h.length > bytes_.size() - pos) {
      stop_ = Stop::kTruncated;
      return 0;
    } else {
      pos += h.length;
    }
  }
  if (depth > 0) {
    stop_ = Stop::kMalformed;
    return 0;
  }
  return pos;
}

bool ElementScanner::next(TopLevelElement& out) {
  if (stop_ != Stop::kNone) return false;
  if (pos_ == bytes_.size()) {
    stop_ = Stop::kEnd;
    return false;
  }
  const bool implicit = encoding_ == ElementEncoding::kImplicitLittle;
  Header h{};
  if (!read_header(pos_, implicit, h)) return false;
  if ((h.tag >> 16) == spec::kItemGroup) {  // an item or delimiter outside any sequence
    stop_ = Stop::kMalformed;
    return false;
  }
  const std::size_t value_at = pos_ + h.header_length;
  std::size_t end = 0;
  const bool undefined = h.length == spec::kUndefinedLength;
  if (undefined) {
    const bool un = vr_is(h.vr, "UN");
    if (!implicit && !(vr_is(h.vr, "SQ") || un || vr_is(h.vr, "OB") || vr_is(h.vr, "OW"))) {
      stop_ = Stop::kMalformed;
      return false;
    }
    end = skip_undefined(value_at, implicit || un);
    if (end == 0) return false;
  } else {
    if (h.length > bytes_.size() - value_at) {
      stop_ = Stop::kTruncated;
      return false;
    }
    end = value_at + h.length;
  }
  out.tag = h.tag;
  out.offset = pos_;
  out.length = end - pos_;
  out.value_length = h.length;
  out.undefined_length = undefined;
  out.vr[0] = h.vr[0];
  out.vr[1] = h.vr[1];
  pos_ = end;
  return true;
}

}  // namespace wardgate::dicom
