// The identifier peek on hand-made data sets: every peekable encoding, sequences and pixel data
// in the way, hostile encodings of the identifying attributes, query keys, notes.
#include "dicom/data_set_peek.h"

#include <gtest/gtest.h>

#include "data_set_writer.h"

namespace wardgate::dicom::testing {
namespace {

// A CT-like data set: identifiers around a sequence, then pixel data.
std::vector<std::byte> ct(ElementEncoding e, bool encapsulated = false) {
  Writer w(e);
  const bool implicit = e == ElementEncoding::kImplicitLittle;
  w.element(0x0008, 0x0016, "UI", std::string_view("1.2.840.10008.5.1.4.1.1.2\0", 26))
      .element(0x0008, 0x0018, "UI", "1.2.3.4.5.6 ")  // space padded: still trimmed
      .element(0x0008, 0x0050, "SH", "ACC42 ")
      .element(0x0008, 0x0060, "CS", "MR");
  w.header(0x0008, 0x1115, "SQ", 0xFFFFFFFF).item(0xFFFFFFFF);
  w.element(0x0020, 0x000E, "UI", "9.9.9.9").item_end().sequence_end();  // nested: not taken
  w.element(0x0010, 0x0010, "PN", "Doe^Jane").element(0x0010, 0x0020, "LO", "PAT-7 ");
  w.element(0x0020, 0x000D, "UI", "1.2.3.100").element(0x0020, 0x000E, "UI", "1.2.3.200");
  w.element(0x0028, 0x0010, "US", "\x40\x00");
  if (encapsulated && !implicit) {
    w.header(0x7FE0, 0x0010, "OB", 0xFFFFFFFF).item(0).item(8).text("JPEGDATA").sequence_end();
  } else {
    w.element(0x7FE0, 0x0010, "OW", std::string(64, 'p'));
  }
  return w.bytes;
}

DataSetIdentifiers peek(const std::vector<std::byte>& bytes, DataSetCoding coding,
                        bool query = false, bool whole = true) {
  PeekInput in;
  in.prefix = bytes;
  in.coding = coding;
  in.transfer_syntax = "ts";
  in.query = query;
  in.whole = whole;
  return peek_data_set(in);
}

void expect_ct(const DataSetIdentifiers& ids) {
  EXPECT_EQ(ids.sop_class_uid, "1.2.840.10008.5.1.4.1.1.2");
  EXPECT_EQ(ids.sop_instance_uid, "1.2.3.4.5.6");
  EXPECT_EQ(ids.accession_number, "ACC42");
  EXPECT_EQ(ids.modality, "MR");
  EXPECT_EQ(ids.patient_id, "PAT-7");
  EXPECT_EQ(ids.study_instance_uid, "1.2.3.100");
  EXPECT_EQ(ids.series_instance_uid, "1.2.3.200");  // the top-level one, not the nested one
  EXPECT_TRUE(ids.query_keys.empty());
  EXPECT_EQ(ids.note, "");
}

TEST(DicomDataSetPeek, EveryPeekableEncoding) {
  expect_ct(peek(ct(ElementEncoding::kExplicitLittle), DataSetCoding::kExplicitLittle));
  expect_ct(peek(ct(ElementEncoding::kImplicitLittle), DataSetCoding::kImplicitLittle));
  expect_ct(peek(ct(ElementEncoding::kExplicitBig), DataSetCoding::kExplicitBig));
  expect_ct(peek(ct(ElementEncoding::kExplicitLittle, true), DataSetCoding::kExplicitLittle));
}

TEST(DicomDataSetPeek, PrefixCutAnywhere) {
  const auto full = ct(ElementEncoding::kExplicitLittle, true);
  const DataSetIdentifiers all = peek(full, DataSetCoding::kExplicitLittle);
  for (std::size_t cut = 0; cut < full.size(); ++cut) {
    const std::vector<std::byte> prefix(full.begin(),
                                        full.begin() + static_cast<std::ptrdiff_t>(cut));
    const DataSetIdentifiers ids = peek(prefix, DataSetCoding::kExplicitLittle, false, false);
    for (const auto& [got, want] : {std::pair{ids.sop_instance_uid, all.sop_instance_uid},
                                    std::pair{ids.patient_id, all.patient_id},
                                    std::pair{ids.series_instance_uid, all.series_instance_uid}}) {
      EXPECT_TRUE(got.empty() || got == want) << "cut " << cut << ": " << got;
    }
  }
}

TEST(DicomDataSetPeek, HostileEncodingsOfIdentifyingAttributes) {
  Writer w(ElementEncoding::kExplicitLittle);
  w.element(0x0008, 0x0018, "OB", "1.2.3.4");               // wrong VR: not read
  w.element(0x0010, 0x0020, "LO", std::string(2000, 'A'));  // far too long: not read
  w.element(0x0020, 0x000D, "UI", "1.2.3");
  const DataSetIdentifiers ids = peek(w.bytes, DataSetCoding::kExplicitLittle);
  EXPECT_EQ(ids.sop_instance_uid, "");
  EXPECT_EQ(ids.patient_id, "");
  EXPECT_EQ(ids.study_instance_uid, "1.2.3");
}

TEST(DicomDataSetPeek, QueryKeysAsKeywords) {
  Writer w(ElementEncoding::kImplicitLittle);
  w.element(0x0008, 0x0000, "", "\x10\x00\x00\x00");  // a group length is not a key
  w.element(0x0008, 0x0020, "", "20260101-").element(0x0008, 0x0052, "", "STUDY ");
  w.element(0x0010, 0x0010, "", "").element(0x0010, 0x0020, "", "PID*");
  w.header(0x0040, 0x0100, "", 0xFFFFFFFF).item(0xFFFFFFFF);  // worklist: a sequence key
  w.element(0x0008, 0x0060, "", "CT").item_end().sequence_end();
  w.element(0x0011, 0x1234, "", "x ");
  const DataSetIdentifiers ids = peek(w.bytes, DataSetCoding::kImplicitLittle, true);
  EXPECT_EQ(ids.query_retrieve_level, "STUDY");
  EXPECT_EQ(ids.patient_id, "PID*");
  EXPECT_EQ(ids.modality, "");  // only inside the sequence
  ASSERT_EQ(ids.query_keys.size(), 6U);
  EXPECT_EQ(ids.query_keys[0], "StudyDate");  // from DCMTK's data dictionary
  EXPECT_EQ(ids.query_keys[1], "QueryRetrieveLevel");
  EXPECT_EQ(ids.query_keys[2], "PatientName");
  EXPECT_EQ(ids.query_keys[3], "PatientID");
  EXPECT_EQ(ids.query_keys[4], "ScheduledProcedureStepSequence");
  EXPECT_EQ(ids.query_keys[5], "(0011,1234)");
}

TEST(DicomDataSetPeek, Notes) {
  EXPECT_EQ(peek({}, DataSetCoding::kDeflated).note,
            "deflated transfer syntax ts: data set not peeked");
  EXPECT_EQ(peek({}, DataSetCoding::kUnknown).note,
            "unknown transfer syntax ts: data set not peeked");
  auto bytes = ct(ElementEncoding::kExplicitLittle);
  bytes.resize(30);
  EXPECT_EQ(peek(bytes, DataSetCoding::kExplicitLittle, false, true).note,
            "data set ends inside the element at byte 0");
  EXPECT_EQ(peek(bytes, DataSetCoding::kExplicitLittle, false, false).note,
            "peek prefix of 30 bytes ends inside the element at byte 0");
  Writer w(ElementEncoding::kExplicitLittle);
  w.element(0x0008, 0x0018, "UI", "1.2 ")
      .text(std::string_view("\x08\x00\x20\x00QQ\x02\x00xx", 10));
  const DataSetIdentifiers ids = peek(w.bytes, DataSetCoding::kExplicitLittle);
  EXPECT_EQ(ids.sop_instance_uid, "1.2");
  EXPECT_EQ(ids.note, "malformed element at byte 12: the rest not peeked");
}

}  // namespace
}  // namespace wardgate::dicom::testing
