#include "dicom/transfer_syntax.h"

#include "dicom/spec.h"

namespace wardgate::dicom {

DataSetCoding classify_transfer_syntax(std::string_view uid) {
  if (uid == spec::kImplicitVrLittleEndian) return DataSetCoding::kImplicitLittle;
  if (uid == spec::kExplicitVrBigEndian) return DataSetCoding::kExplicitBig;
  if (uid == spec::kDeflatedExplicitVrLittleEndian || uid == spec::kJpipReferencedDeflate) {
    return DataSetCoding::kDeflated;
  }
  if (uid.starts_with(spec::kStandardTransferSyntaxRoot)) return DataSetCoding::kExplicitLittle;
  return DataSetCoding::kUnknown;
}

ElementEncoding element_encoding(DataSetCoding coding) {
  switch (coding) {
    case DataSetCoding::kImplicitLittle:
      return ElementEncoding::kImplicitLittle;
    case DataSetCoding::kExplicitBig:
      return ElementEncoding::kExplicitBig;
    case DataSetCoding::kExplicitLittle:
    case DataSetCoding::kDeflated:
    case DataSetCoding::kUnknown:
      break;
  }
  return ElementEncoding::kExplicitLittle;
}

}  // namespace wardgate::dicom
