#pragma once
// Keeps patient data out of the operators' mirror (audit.log): the mirror goes to stderr, i.e. the
// journal, which is read, shipped and kept under other rules than the audit store. By default
// (audit.log_patient_data "omit") the mirror gets each event without its patient-bearing fields,
// whatever audit.patient_data keeps in the store; the store is the record of who saw which patient.
#include <string_view>

#include "audit/sink.h"

namespace wardgate::audit {

// Fields that carry patient identifiers (under audit.patient_data) or free text written by a PACS
// or an HL7 engine, which often names the patient ("no order for SMITH^JOHN MRN 123").
bool is_patient_field(std::string_view key);

class PatientDataFilterSink : public AuditSink {
 public:
  // `next` must outlive this object.
  explicit PatientDataFilterSink(AuditSink& next) : next_(next) {}

  // Hands `event` to `next` without its patient fields.
  void record(Event event) override;

 private:
  AuditSink& next_;
};

}  // namespace wardgate::audit
