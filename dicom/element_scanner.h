#pragma once
// Walks the top-level data elements of an encoded data set (PS3.5 7.1, 7.5) without interpreting
// values: where each element starts and ends, whether it is a sequence. It is the guard in front
// of DCMTK: the decoder hands DCMTK only elements this scanner found whole and well formed, so a
// truncated prefix or a lying length never reaches a parser that would trust it.
//
// Undefined-length sequences, items and encapsulated pixel data are followed to their delimiter
// (bounded nesting); defined-length values are skipped by their length.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace wardgate::dicom {

enum class ElementEncoding : std::uint8_t { kImplicitLittle, kExplicitLittle, kExplicitBig };

struct TopLevelElement {
  std::uint32_t tag = 0;           // group << 16 | element
  std::size_t offset = 0;          // of the tag
  std::size_t length = 0;          // header and value (up to and including its delimiter)
  std::uint32_t value_length = 0;  // as encoded (0xFFFFFFFF: undefined)
  bool undefined_length = false;
  std::array<char, 2> vr{};  // explicit VR encodings only
};

class ElementScanner {
 public:
  enum class Stop : std::uint8_t {
    kNone,       // not stopped yet
    kEnd,        // every byte belonged to a whole element
    kTruncated,  // the bytes end inside an element
    kMalformed,  // an encoding error (bad VR, stray delimiter, nesting too deep, ...)
  };

  ElementScanner(std::span<const std::byte> bytes, ElementEncoding encoding);

  // The next whole top-level element; false once the scan stopped (see stop()).
  bool next(TopLevelElement& out);
  Stop stop() const { return stop_; }
  // Where the scan stopped: the offset of the element that was not returned.
  std::size_t offset() const { return pos_; }

 private:
  struct Header {
    std::uint32_t tag;
    std::uint32_t length;
    std::size_t header_length;
    std::array<char, 2> vr;
  };
  // Reads a tag and length at `at`; false if the bytes end first or the encoding is invalid
  // (stop_ set accordingly).
  bool read_header(std::size_t at, bool implicit_le, Header& out);
  // Follows an undefined-length value starting at `at` to the end of its delimiter; returns its
  // end, or 0 with stop_ set.
  std::size_t skip_undefined(std::size_t at, bool implicit_le);

  std::span<const std::byte> bytes_;
  ElementEncoding encoding_;
  std::size_t pos_ = 0;
  Stop stop_ = Stop::kNone;
};

}  // namespace wardgate::dicom
