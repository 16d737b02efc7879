#include "dicom/data_set_peek.h"

#include <array>
#include <string>
#include <vector>

#include "dicom/dcmtk_support.h"
#include "dicom/element_scanner.h"
#include "dicom/spec.h"

namespace wardgate::dicom {
namespace {

// Keys listed for one query identifier; a real query has a few dozen.
constexpr std::size_t kMaxQueryKeys = 256;

constexpr std::array<std::uint32_t, 8> kIdentifyingTags = {
    spec::kSopClassUid, spec::kSopInstanceUid, spec::kAccessionNumber,  spec::kQueryRetrieveLevel,
    spec::kModality,    spec::kPatientId,      spec::kStudyInstanceUid, spec::kSeriesInstanceUid,
};

bool identifying(std::uint32_t tag) {
  for (const std::uint32_t t : kIdentifyingTags) {
    if (t == tag) return true;
  }
  return false;
}

// The identifying attributes are all strings (UI, SH, CS, LO); an explicit VR saying otherwise
// is not something DCMTK should be asked to turn into text.
bool string_vr(const std::array<char, 2>& vr) {
  static constexpr std::string_view kStringVrs = "UISHCSLO";
  for (std::size_t i = 0; i < kStringVrs.size(); i += 2) {
    if (vr[0] == kStringVrs[i] && vr[1] == kStringVrs[i + 1]) return true;
  }
  return false;
}

void add_note(DataSetIdentifiers& ids, const std::string& note) {
  if (!ids.note.empty()) ids.note += "; ";
  ids.note += note;
}

E_TransferSyntax dcmtk_syntax(ElementEncoding encoding) {
  switch (encoding) {
    case ElementEncoding::kImplicitLittle:
      return EXS_LittleEndianImplicit;
    case ElementEncoding::kExplicitBig:
      return EXS_BigEndianExplicit;
    case ElementEncoding::kExplicitLittle:
      break;
  }
  return EXS_LittleEndianExplicit;
}

}  // namespace

DataSetIdentifiers peek_data_set(const PeekInput& input) {
  DataSetIdentifiers ids;
  if (input.coding == DataSetCoding::kDeflated) {
    add_note(ids, "deflated transfer syntax " + std::string(input.transfer_syntax) +
                      ": data set not peeked");
    return ids;
  }
  if (input.coding == DataSetCoding::kUnknown) {
    add_note(ids, "unknown transfer syntax " + std::string(input.transfer_syntax) +
                      ": data set not peeked");
    return ids;
  }
  const ElementEncoding encoding = element_encoding(input.coding);
  const bool implicit = encoding == ElementEncoding::kImplicitLittle;

  // Copy the whole identifying elements into a small data set of their own: DCMTK reads those
  // and nothing else (no sequences, no pixel data, nothing the scanner did not see whole).
  std::vector<std::byte> chosen;
  ElementScanner scanner(input.prefix, encoding);
  TopLevelElement element;
  bool beyond_interest = false;
  while (scanner.next(element)) {
    const auto group = static_cast<std::uint16_t>(element.tag >> 16);
    if (!input.query && group > spec::kLastIdentifyingGroup) {
      beyond_interest = true;
      break;
    }
    if (input.query && (element.tag & 0xFFFF) != 0x0000) {
      if (ids.query_keys.size() == kMaxQueryKeys) {
        add_note(ids, "more than " + std::to_string(kMaxQueryKeys) + " keys: the rest not listed");
        break;
      }
      ids.query_keys.push_back(dcmtk::keyword(element.tag));
    }
    if (identifying(element.tag) && !element.undefined_length &&
        element.value_length <= dcmtk::kMaxValueLength && (implicit || string_vr(element.vr))) {
      const auto* first = input.prefix.data() + element.offset;
      chosen.insert(chosen.end(), first, first + element.length);
    }
  }
  if (!beyond_interest) {
    const std::string at = std::to_string(scanner.offset());
    switch (scanner.stop()) {
      case ElementScanner::Stop::kTruncated:
        add_note(ids, input.whole ? "data set ends inside the element at byte " + at
                                  : "peek prefix of " + std::to_string(input.prefix.size()) +
                                        " bytes ends inside the element at byte " + at);
        break;
      case ElementScanner::Stop::kMalformed:
        add_note(ids, "malformed element at byte " + at + ": the rest not peeked");
        break;
      case ElementScanner::Stop::kNone:
      case ElementScanner::Stop::kEnd:
        break;
    }
  }
  if (chosen.empty()) return ids;

  DcmDataset data;
  if (auto error = dcmtk::read(chosen, dcmtk_syntax(encoding), data)) {
    add_note(ids, "DCMTK: " + *error);
  }
  ids.sop_class_uid = dcmtk::string_value(data, spec::kSopClassUid);
  ids.sop_instance_uid = dcmtk::string_value(data, spec::kSopInstanceUid);
  ids.study_instance_uid = dcmtk::string_value(data, spec::kStudyInstanceUid);
  ids.series_instance_uid = dcmtk::string_value(data, spec::kSeriesInstanceUid);
  ids.patient_id = dcmtk::string_value(data, spec::kPatientId);
  ids.accession_number = dcmtk::string_value(data, spec::kAccessionNumber);
  ids.modality = dcmtk::string_value(data, spec::kModality);
  ids.query_retrieve_level = dcmtk::string_value(data, spec::kQueryRetrieveLevel);
  return ids;
}

}  // namespace wardgate::dicom
