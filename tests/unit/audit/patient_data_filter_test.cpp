// The operators' mirror (audit.log, the journal by default) shows no patient data unless
// audit.log_patient_data says "as-stored": what a hospital's data-protection officer checks in
// the journal.
#include "audit/patient_data_filter.h"

#include <gtest/gtest.h>

#include <string>

#include "audit/audit_section.h"
#include "audit/memory_sink.h"

namespace wardgate::audit {
namespace {

Event acknowledgement() {
  Event e =
      make_event("wg", "monitor", "hl7", "acknowledgement", Outcome::kFailure, Severity::kInfo);
  e.fields.set("from", "server");
  e.fields.set("code", "AE");
  e.fields.set("text", "No visit for SMITH^JOHN");
  e.fields.set("error_code", "204");
  e.fields.set("error_text", "Unknown patient SMITH JOHN");
  return e;
}

TEST(PatientDataFilterTest, PatientFieldsAreRemovedAndTheRestKeptInOrder) {
  MemorySink mirror;
  PatientDataFilterSink filter(mirror);
  Event op = make_event("wg", "ct-1", "dicom", "operation", Outcome::kFailure, Severity::kInfo);
  op.fields.set("command", "C-STORE");
  op.fields.set("patient_id", "PAT-0001");
  op.fields.set("accession_number", "ACC-7");
  op.fields.set("status", std::uint64_t{0xA700});
  op.fields.set("error_comment", "Out of space storing SMITH^JOHN");
  filter.record(op);
  filter.record(acknowledgement());
  Event message = make_event("wg", "monitor", "hl7", "message", Outcome::kSuccess, Severity::kInfo);
  message.fields.set("patient_name", "SMITH^JOHN");
  message.fields.set("control_id", "MON1");
  filter.record(message);

  const auto got = mirror.events();
  ASSERT_EQ(got.size(), 3U);
  std::vector<std::string> keys;
  for (const auto& e : got) {
    for (const auto& f : e.fields) keys.push_back(f.key);
    EXPECT_EQ(to_json(e).find("SMITH"), std::string::npos) << to_json(e);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"command", "status", "from", "code", "error_code",
                                            "control_id"}));
  EXPECT_EQ(got[0].action, "operation");
  EXPECT_EQ(got[1].outcome, Outcome::kFailure);
}

TEST(PatientDataFilterTest, EventsWithoutPatientFieldsPassUnchanged) {
  MemorySink mirror;
  PatientDataFilterSink filter(mirror);
  Event e =
      make_event("wg", "ct-1", "dicom", "association-summary", Outcome::kSuccess, Severity::kInfo);
  e.fields.set("objects", 3);
  filter.record(e);
  ASSERT_EQ(mirror.events().size(), 1U);
  EXPECT_EQ(mirror.events()[0], e);
}

AuditOptions read(const std::string& json) {
  const nlohmann::json section = nlohmann::json::parse(json);
  common::ObjectReader r(section, "audit");
  return read_audit_options(r);
}

TEST(PatientDataFilterTest, TheMirrorOmitsPatientDataByDefault) {
  EXPECT_EQ(read("{}").log_patient_data, "omit");
  EXPECT_EQ(read(R"({"log_patient_data": "as-stored"})").log_patient_data, "as-stored");
  try {
    read(R"({"log_patient_data": "plain"})");
    ADD_FAILURE() << "accepted";
  } catch (const common::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              R"(audit.log_patient_data: must be one of omit, as-stored (got "plain"))");
  }
}

}  // namespace
}  // namespace wardgate::audit
