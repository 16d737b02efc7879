#include "audit/patient_data_filter.h"

#include <algorithm>
#include <array>
#include <utility>

namespace wardgate::audit {

bool is_patient_field(std::string_view key) {
  static constexpr std::array<std::string_view, 6> kPatientFields = {
      "patient_id", "patient_name", "accession_number",  // identifiers
      "text",       "error_text",   "error_comment"};    // HL7 MSA-3/ERR, DICOM (0000,0902)
  return std::find(kPatientFields.begin(), kPatientFields.end(), key) != kPatientFields.end();
}

void PatientDataFilterSink::record(Event event) {
  if (std::none_of(event.fields.begin(), event.fields.end(),
                   [](const Field& f) { return is_patient_field(f.key); })) {
    next_.record(std::move(event));
    return;
  }
  Fields kept;
  for (const Field& f : event.fields) {
    if (!is_patient_field(f.key)) kept.set(f.key, f.value);
  }
  event.fields = std::move(kept);
  next_.record(std::move(event));
}

}  // namespace wardgate::audit
