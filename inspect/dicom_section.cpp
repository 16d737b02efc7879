#include "inspect/dicom_section.h"

#include "common/json_reader.h"

namespace wardgate::inspect {

DicomSection read_dicom_section(const nlohmann::json* section) {
  DicomSection c;
  if (section == nullptr) return c;
  common::ObjectReader r(*section, "dicom");
  dicom::DecoderLimits& l = c.limits;
  c.enforce = r.boolean("enforce", c.enforce);
  l.data_set_peek =
      static_cast<std::uint32_t>(r.integer("peek_bytes", 0, 1 << 20, l.data_set_peek));
  l.pdu_slack = static_cast<std::uint32_t>(r.integer("pdu_slack", 0, 16 << 20, l.pdu_slack));
  l.max_pdu_length =
      static_cast<std::uint32_t>(r.integer("max_pdu_length", 16384, 1 << 30, l.max_pdu_length));
  r.reject_unknown_keys();
  return c;
}

}  // namespace wardgate::inspect
