#include "export/atna_format.h"

#include <gtest/gtest.h>

namespace wardgate::exporter {
namespace {

std::chrono::system_clock::time_point fixed_time() {
  using namespace std::chrono;
  return system_clock::time_point(duration_cast<system_clock::duration>(
      sys_days{year{2026} / month{11} / day{22}}.time_since_epoch() + hours{2} + minutes{3} +
      seconds{4} + microseconds{5}));
}

audit::Event dicom_operation(std::string command) {
  audit::Event e;
  e.time = fixed_time();
  e.appliance_id = "wg-1";
  e.device = "ct-1";
  e.category = "dicom";
  e.action = "operation";
  e.fields.set("session", 3);
  e.fields.set("client", "10.1.1.20:49152");
  e.fields.set("server", "10.2.2.10:104");
  e.fields.set("calling_ae", "CT01");
  e.fields.set("called_ae", "PACS");
  e.fields.set("command", std::move(command));
  e.fields.set("requested_by", "device");
  e.fields.set("sop_class_uid", "1.2.840.10008.5.1.4.1.1.2");
  e.fields.set("study_instance_uid", "1.2.3.4");
  e.fields.set("patient_id", "b2:00ff");
  return e;
}

AtnaOptions options() {
  AtnaOptions o;
  o.enterprise_site_id = "Hospital & Co";
  o.syslog.origin_ip = "10.2.2.1";
  return o;
}

TEST(AtnaFormat, InstancesTransferredGoldenXml) {
  const auto xml = atna_xml(dicom_operation("C-STORE"), options());
  ASSERT_TRUE(xml.has_value());
  EXPECT_EQ(*xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><AuditMessage>"
            "<EventIdentification EventActionCode=\"R\" "
            "EventDateTime=\"2026-11-22T02:03:04.000005Z\" EventOutcomeIndicator=\"0\">"
            "<EventID csd-code=\"110104\" codeSystemName=\"DCM\" "
            "originalText=\"DICOM Instances Transferred\"/></EventIdentification>"
            "<ActiveParticipant UserID=\"CT01\" AlternativeUserID=\"AETITLES=CT01\" "
            "UserIsRequestor=\"true\" NetworkAccessPointID=\"10.1.1.20\" "
            "NetworkAccessPointTypeCode=\"2\"><RoleIDCode csd-code=\"110153\" "
            "codeSystemName=\"DCM\" originalText=\"Source Role ID\"/></ActiveParticipant>"
            "<ActiveParticipant UserID=\"PACS\" AlternativeUserID=\"AETITLES=PACS\" "
            "UserIsRequestor=\"false\" NetworkAccessPointID=\"10.2.2.10\" "
            "NetworkAccessPointTypeCode=\"2\"><RoleIDCode csd-code=\"110152\" "
            "codeSystemName=\"DCM\" originalText=\"Destination Role ID\"/></ActiveParticipant>"
            "<AuditSourceIdentification AuditEnterpriseSiteID=\"Hospital &amp; Co\" "
            "AuditSourceID=\"wg-1\"><AuditSourceTypeCode csd-code=\"6\" codeSystemName=\"DCM\" "
            "originalText=\"Security Server\"/></AuditSourceIdentification>"
            "<ParticipantObjectIdentification ParticipantObjectID=\"1.2.3.4\" "
            "ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"3\">"
            "<ParticipantObjectIDTypeCode csd-code=\"110180\" codeSystemName=\"DCM\" "
            "originalText=\"Study Instance UID\"/><ParticipantObjectDescription>"
            "<SOPClass UID=\"1.2.840.10008.5.1.4.1.1.2\" NumberOfInstances=\"1\"/>"
            "</ParticipantObjectDescription></ParticipantObjectIdentification>"
            "<ParticipantObjectIdentification ParticipantObjectID=\"b2:00ff\" "
            "ParticipantObjectTypeCode=\"1\" ParticipantObjectTypeCodeRole=\"1\">"
            "<ParticipantObjectIDTypeCode csd-code=\"2\" codeSystemName=\"RFC-3881\" "
            "originalText=\"Patient Number\"/></ParticipantObjectIdentification>"
            "</AuditMessage>");
}

TEST(AtnaFormat, MapsEveryRequiredMessageType) {
  const auto id = [](const audit::Event& e) {
    const auto m = atna_mapping(e);
    return m ? std::string(m->event_id.code) : std::string("none");
  };
  EXPECT_EQ(id(dicom_operation("C-STORE")), "110104");
  EXPECT_EQ(id(dicom_operation("C-MOVE")), "110102");
  EXPECT_EQ(id(dicom_operation("C-GET")), "110102");
  EXPECT_EQ(id(dicom_operation("C-FIND")), "110112");
  EXPECT_EQ(id(dicom_operation("C-ECHO")), "none");
  audit::Event e;
  e.category = "hl7";
  e.action = "security-alert";
  EXPECT_EQ(id(e), "110113");
  e.category = "dicom";
  e.action = "association-rejected";
  e.fields.set("rejected_by", "server");
  EXPECT_EQ(id(e), "none");
  e.fields.set("rejected_by", "wardgate");
  EXPECT_EQ(id(e), "110113");
  e.category = "tunnel";
  e.action = "peer-up";
  EXPECT_EQ(id(e), "110108");
  EXPECT_EQ(atna_mapping(e)->event_type, atna::kAttach);
  e.action = "peer-down";
  EXPECT_EQ(atna_mapping(e)->event_type, atna::kDetach);
  e.category = "proxy";
  e.action = "started";
  EXPECT_EQ(id(e), "110100");
  EXPECT_EQ(atna_mapping(e)->event_type, atna::kApplicationStart);
  e.category = "admin";
  e.action = "login";
  EXPECT_EQ(id(e), "110114");
  e.action = "logout";
  EXPECT_EQ(atna_mapping(e)->event_type, atna::kLogout);
  e.category = "audit";
  e.action = "export-handshake-failed";
  EXPECT_EQ(atna_mapping(e)->event_type, atna::kNodeAuthentication);
  e.category = "hl7";
  e.action = "message";
  EXPECT_EQ(id(e), "none");
}

TEST(AtnaFormat, QueryCarriesKeysNeverValues) {
  audit::Event e = dicom_operation("C-FIND");
  e.fields.set("query_keys", std::vector<std::string>{"PatientID", "StudyDate"});
  e.fields.set("query_level", "STUDY");
  const auto xml = atna_xml(e, options());
  ASSERT_TRUE(xml.has_value());
  // base64("PatientID\StudyDate"), base64("STUDY")
  EXPECT_NE(xml->find("<ParticipantObjectQuery>UGF0aWVudElEXFN0dWR5RGF0ZQ==</"
                      "ParticipantObjectQuery><ParticipantObjectDetail type=\"QueryRetrieveLevel\" "
                      "value=\"U1RVRFk=\"/>"),
            std::string::npos)
      << *xml;
  EXPECT_NE(xml->find("<ParticipantObjectIDTypeCode csd-code=\"110181\""), std::string::npos);
}

TEST(AtnaFormat, FailureOutcomeAndXmlEscaping) {
  audit::Event e;
  e.time = fixed_time();
  e.appliance_id = "wg-1";
  e.device = "ct-1";
  e.category = "dicom";
  e.action = "security-alert";
  e.outcome = audit::Outcome::kDenied;
  e.severity = audit::Severity::kAlert;
  e.fields.set("calling_ae", "A<B>'\"&");
  e.fields.set("reason", std::string_view("bad \x01 \xff value"));
  const auto xml = atna_xml(e, options());
  ASSERT_TRUE(xml.has_value());
  EXPECT_NE(xml->find("EventOutcomeIndicator=\"8\""), std::string::npos);
  EXPECT_NE(xml->find("<EventTypeCode csd-code=\"110132\""), std::string::npos);
  EXPECT_NE(xml->find("<EventOutcomeDescription>bad \xef\xbf\xbd \xef\xbf\xbd "
                      "value</EventOutcomeDescription>"),
            std::string::npos)
      << *xml;
  EXPECT_NE(xml->find("UserID=\"A&lt;B&gt;&apos;&quot;&amp;\""), std::string::npos) << *xml;
}

TEST(AtnaFormat, SyslogFramingFacilityTenAndMsgId) {
  store::StoredRecord r;
  r.seq = 9;
  r.event = dicom_operation("C-STORE");
  const auto m = format_atna(r, options());
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(
      m->starts_with("<85>1 2026-11-22T02:03:04.000005Z wg-1 wardgate - IHE+RFC-3881 "
                     "[meta sequenceId=\"9\"]"))
      << *m;
  EXPECT_NE(m->find("\xef\xbb\xbf<?xml"), std::string::npos);
  EXPECT_TRUE(m->ends_with("</AuditMessage>"));
  r.event.outcome = audit::Outcome::kFailure;
  EXPECT_TRUE(format_atna(r, options())->starts_with("<84>1 "));
  r.event = audit::Event{};
  r.event.category = "hl7";
  r.event.action = "message";
  EXPECT_FALSE(format_atna(r, options()).has_value());
}

TEST(AtnaFormat, NeverLongerThan32768Octets) {
  store::StoredRecord r;
  r.seq = 1;
  r.event = dicom_operation("C-FIND");
  std::vector<std::string> keys(256, std::string(200, 'K'));
  r.event.fields.set("query_keys", keys);
  r.event.fields.set("study_instance_uid", std::string(5000, '&'));
  const auto m = format_atna(r, options());
  ASSERT_TRUE(m.has_value());
  EXPECT_LE(m->size(), kAtnaMaxMessageBytes);
  EXPECT_NE(m->find("truncated=\"participants\""), std::string::npos);
  EXPECT_EQ(m->find("ParticipantObjectIdentification"), std::string::npos);
  EXPECT_TRUE(m->ends_with("</AuditMessage>"));
}

}  // namespace
}  // namespace wardgate::exporter
