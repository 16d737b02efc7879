#pragma once
// Reads and validates the audit module's own keys of the `audit` section of the configuration
// (docs/configuration.md): the operators' log mirror (and what it shows of patients) and
// patient-data protection. The section's `store` and `export` belong to the store and the
// exporters; app/ reads the section as a whole.
// Throws common::ConfigError naming the key by its full path ("audit.log").
#include <string>

#include "audit/patient_data.h"
#include "common/json_reader.h"

namespace wardgate::audit {

struct AuditOptions {
  // A mirror of the store for operators: "stderr", "off", or an absolute file path (JSON lines,
  // appended).
  std::string log = "stderr";
  // What the mirror carries of patient data: "omit" (patient fields removed, see
  // patient_data_filter.h) or "as-stored" (the fields as audit.patient_data keeps them).
  std::string log_patient_data = "omit";
  PatientDataPolicy patient_data = PatientDataPolicy::kKeyedHash;
  std::string secret_file = "/var/lib/wardgate/audit-secret";  // used by kKeyedHash
  bool operator==(const AuditOptions&) const = default;
};

// Reads log, log_patient_data, patient_data and secret_file of the `audit` object `section`.
AuditOptions read_audit_options(common::ObjectReader& section);

}  // namespace wardgate::audit
