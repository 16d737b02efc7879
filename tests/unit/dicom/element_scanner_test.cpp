// The element walker that guards DCMTK: whole top-level elements only, undefined lengths followed
// to their delimiters, anything inconsistent stops the walk.
#include "dicom/element_scanner.h"

#include <gtest/gtest.h>

#include "data_set_writer.h"

#include <algorithm>
#include <string>
#include <vector>

namespace wardgate::dicom {
namespace {

using testing::Writer;

std::vector<std::uint32_t> tags(const std::vector<std::byte>& bytes, ElementEncoding e,
                                ElementScanner::Stop* stop = nullptr) {
  ElementScanner s(bytes, e);
  TopLevelElement el;
  std::vector<std::uint32_t> out;
  while (s.next(el)) out.push_back(el.tag);
  if (stop != nullptr) *stop = s.stop();
  return out;
}

TEST(DicomElementScanner, ExplicitLittleShortAndLongForms) {
  Writer w(ElementEncoding::kExplicitLittle);
  w.element(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.2")
      .element(0x0008, 0x0060, "CS", "CT")
      .element(0x0010, 0x4000, "LT", "comment ")
      .element(0x0029, 0x1010, "OB", "xxxx")
      .element(0x0040, 0x0254, "UT", "long text ");
  ElementScanner s(w.bytes, ElementEncoding::kExplicitLittle);
  TopLevelElement el;
  ASSERT_TRUE(s.next(el));
  EXPECT_EQ(el.tag, 0x00080016U);
  EXPECT_EQ(el.offset, 0U);
  EXPECT_EQ(el.length, 8U + 26U - 1U);  // odd values are read as encoded
  EXPECT_EQ(el.value_length, 25U);
  EXPECT_EQ(std::string(el.vr.data(), el.vr.size()), "UI");
  ASSERT_TRUE(s.next(el));
  EXPECT_EQ(el.tag, 0x00080060U);
  ASSERT_TRUE(s.next(el));
  ASSERT_TRUE(s.next(el));
  EXPECT_EQ(el.tag, 0x00291010U);
  EXPECT_EQ(el.length, 12U + 4U);  // OB: 4-byte length form
  ASSERT_TRUE(s.next(el));
  EXPECT_FALSE(s.next(el));
  EXPECT_EQ(s.stop(), ElementScanner::Stop::kEnd);
  EXPECT_EQ(s.offset(), w.bytes.size());
}

TEST(DicomElementScanner, EveryCutYieldsOnlyWholeElements) {
  for (const ElementEncoding e :
       {ElementEncoding::kExplicitLittle, ElementEncoding::kImplicitLittle,
        ElementEncoding::kExplicitBig}) {
    Writer w(e);
    std::vector<std::size_t> ends;
    w.element(0x0008, 0x0018, "UI", "1.2.3.4");
    ends.push_back(w.bytes.size());
    w.header(0x0008, 0x1115, "SQ", 0xFFFFFFFF).item(0xFFFFFFFF);
    w.element(0x0008, 0x1150, "UI", "1.2").item_end().item(4).text("abcd").sequence_end();
    ends.push_back(w.bytes.size());
    w.element(0x0010, 0x0020, "LO", "PID1");
    ends.push_back(w.bytes.size());
    for (std::size_t cut = 0; cut <= w.bytes.size(); ++cut) {
      const std::vector<std::byte> prefix(w.bytes.begin(),
                                          w.bytes.begin() + static_cast<std::ptrdiff_t>(cut));
      ElementScanner::Stop stop{};
      const auto found = tags(prefix, e, &stop);
      std::size_t whole = 0;
      while (whole < ends.size() && ends[whole] <= cut) ++whole;
      EXPECT_EQ(found.size(), whole) << "cut " << cut;
      const bool boundary = cut == 0 || std::find(ends.begin(), ends.end(), cut) != ends.end();
      EXPECT_EQ(stop, boundary ? ElementScanner::Stop::kEnd : ElementScanner::Stop::kTruncated)
          << "cut " << cut;
    }
  }
}

TEST(DicomElementScanner, EncapsulatedPixelDataIsOneElement) {
  Writer w(ElementEncoding::kExplicitLittle);
  w.element(0x0028, 0x0010, "US", "\x40\x00");
  w.header(0x7FE0, 0x0010, "OB", 0xFFFFFFFF).item(0).item(6).text("frame1").sequence_end();
  w.element(0xFFFA, 0xFFFA, "SQ", "");
  EXPECT_EQ(tags(w.bytes, ElementEncoding::kExplicitLittle),
            (std::vector<std::uint32_t>{0x00280010, 0x7FE00010, 0xFFFAFFFA}));
}

TEST(DicomElementScanner, UndefinedLengthUnHoldsImplicitLittleEndian) {
  Writer w(ElementEncoding::kExplicitBig);
  w.header(0x0009, 0x1001, "UN", 0xFFFFFFFF);
  Writer inner(ElementEncoding::kImplicitLittle);  // PS3.5 6.2.2
  inner.item(0xFFFFFFFF).element(0x0010, 0x0010, "", "Doe^J").item_end().sequence_end();
  w.bytes.insert(w.bytes.end(), inner.bytes.begin(), inner.bytes.end());
  w.element(0x0010, 0x0020, "LO", "P1");
  EXPECT_EQ(tags(w.bytes, ElementEncoding::kExplicitBig),
            (std::vector<std::uint32_t>{0x00091001, 0x00100020}));
}

TEST(DicomElementScanner, MalformedStopsTheWalk) {
  const auto stop_of = [](const Writer& w, ElementEncoding e) {
    ElementScanner::Stop stop{};
    const auto found = tags(w.bytes, e, &stop);
    EXPECT_EQ(found.size(), 1U);
    return stop;
  };
  {
    Writer w(ElementEncoding::kExplicitLittle);  // unknown VR
    w.element(0x0008, 0x0018, "UI", "1.2").element(0x0008, 0x0020, "ZZ", "20260101");
    EXPECT_EQ(stop_of(w, ElementEncoding::kExplicitLittle), ElementScanner::Stop::kMalformed);
  }
  {
    Writer w(ElementEncoding::kExplicitLittle);  // a delimiter outside any sequence
    w.element(0x0008, 0x0018, "UI", "1.2").item_end();
    EXPECT_EQ(stop_of(w, ElementEncoding::kExplicitLittle), ElementScanner::Stop::kMalformed);
  }
  {
    Writer w(ElementEncoding::kExplicitLittle);  // undefined length on a short-form VR
    w.element(0x0008, 0x0018, "UI", "1.2").header(0x0008, 0x0020, "OD", 0xFFFFFFFF);
    w.sequence_end();
    EXPECT_EQ(stop_of(w, ElementEncoding::kExplicitLittle), ElementScanner::Stop::kMalformed);
  }
  {
    Writer w(ElementEncoding::kImplicitLittle);  // an element directly inside a sequence
    w.element(0x0008, 0x0018, "", "1.2").header(0x0008, 0x1115, "", 0xFFFFFFFF);
    w.element(0x0008, 0x1150, "", "1.2").sequence_end();
    EXPECT_EQ(stop_of(w, ElementEncoding::kImplicitLittle), ElementScanner::Stop::kMalformed);
  }
  {
    Writer w(ElementEncoding::kImplicitLittle);  // nesting deeper than the walker follows
    w.element(0x0008, 0x0018, "", "1.2");
    for (int i = 0; i < 40; ++i) w.header(0x0008, 0x1115, "", 0xFFFFFFFF).item(0xFFFFFFFF);
    EXPECT_EQ(stop_of(w, ElementEncoding::kImplicitLittle), ElementScanner::Stop::kMalformed);
  }
  {
    Writer w(ElementEncoding::kImplicitLittle);  // a length beyond the bytes: truncated
    w.element(0x0008, 0x0018, "", "1.2").header(0x0010, 0x0020, "", 0xFFFFFFF0).text("P1");
    EXPECT_EQ(stop_of(w, ElementEncoding::kImplicitLittle), ElementScanner::Stop::kTruncated);
  }
}

}  // namespace
}  // namespace wardgate::dicom
