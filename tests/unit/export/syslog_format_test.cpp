#include "export/syslog_format.h"

#include <gtest/gtest.h>

namespace wardgate::exporter {
namespace {

using std::chrono::system_clock;

system_clock::time_point at_2026_11_22_020304_123456() {
  using namespace std::chrono;
  return system_clock::time_point(duration_cast<system_clock::duration>(
      sys_days{year{2026} / month{11} / day{22}}.time_since_epoch() + hours{2} + minutes{3} +
      seconds{4} + microseconds{123456}));
}

store::StoredRecord sample(std::uint64_t seq = 42) {
  store::StoredRecord r;
  r.seq = seq;
  audit::Event& e = r.event;
  e.time = at_2026_11_22_020304_123456();
  e.appliance_id = "wardgate-ct-vlan";
  e.device = "ct-1";
  e.category = "dicom";
  e.action = "operation";
  e.outcome = audit::Outcome::kSuccess;
  e.severity = audit::Severity::kInfo;
  e.fields.set("command", "C-STORE");
  e.fields.set("message_id", 7);
  e.fields.set("query_keys", std::vector<std::string>{"PatientID", "StudyDate"});
  e.fields.set("elapsed_s", 0.25);
  e.fields.set("accepted", true);
  r.canonical = audit::to_json(e);
  return r;
}

SyslogOptions options() {
  SyslogOptions o;
  o.origin_ip = "10.2.2.1";
  o.sw_version = "0.1.0";
  o.clock_synced = true;
  return o;
}

constexpr std::string_view kBom = "\xef\xbb\xbf";

TEST(SyslogFormat, GoldenMessage) {
  const store::StoredRecord r = sample();
  const std::string expected =
      "<110>1 2026-11-22T02:03:04.123456Z wardgate-ct-vlan wardgate - dicom.operation "
      "[meta sequenceId=\"42\"]"
      "[origin ip=\"10.2.2.1\" software=\"wardgate\" swVersion=\"0.1.0\" enterpriseId=\"32473\"]"
      "[timeQuality tzKnown=\"1\" isSynced=\"1\"]"
      "[wardgate@32473 seq=\"42\" appliance=\"wardgate-ct-vlan\" device=\"ct-1\" "
      "category=\"dicom\" action=\"operation\" outcome=\"success\" severity=\"info\"]"
      "[wardgateFields@32473 command=\"C-STORE\" message_id=\"7\" query_keys=\"PatientID\" "
      "query_keys=\"StudyDate\" elapsed_s=\"0.25\" accepted=\"true\"] " +
      std::string(kBom) + r.canonical;
  EXPECT_EQ(format_rfc5424(r, options()), expected);
}

TEST(SyslogFormat, PriFromFacilityAndSeverity) {
  EXPECT_EQ(syslog_pri(Facility::kLogAudit, SyslogSeverity::kInformational), 110U);
  EXPECT_EQ(syslog_pri(Facility::kAuthPriv, SyslogSeverity::kNotice), 85U);
  EXPECT_EQ(syslog_pri(Facility::kLocal7, SyslogSeverity::kDebug), 191U);
  EXPECT_EQ(syslog_severity(audit::Severity::kAlert), SyslogSeverity::kAlert);
  EXPECT_EQ(syslog_severity(audit::Severity::kWarning), SyslogSeverity::kWarning);
  EXPECT_EQ(syslog_severity(audit::Severity::kNotice), SyslogSeverity::kNotice);
  store::StoredRecord r = sample();
  r.event.severity = audit::Severity::kAlert;
  SyslogOptions o = options();
  o.facility = Facility::kLocal4;
  EXPECT_EQ(format_rfc5424(r, o).substr(0, 7), "<161>1 ");
  EXPECT_EQ(parse_facility("authpriv"), Facility::kAuthPriv);
  EXPECT_EQ(parse_facility("local7"), Facility::kLocal7);
  EXPECT_FALSE(parse_facility("kern").has_value());
}

TEST(SyslogFormat, SdValueEscaping) {
  std::string out;
  append_sd_value(out, "a\"b\\c]d[e=f");
  EXPECT_EQ(out, "a\\\"b\\\\c\\]d[e=f");
  out.clear();
  append_sd_value(out, "caf\xc3\xa9 \xff\xe5\xbc\xa0 \xc3");  // invalid bytes become U+FFFD
  EXPECT_EQ(out, "caf\xc3\xa9 \xef\xbf\xbd\xe5\xbc\xa0 \xef\xbf\xbd");
}

TEST(SyslogFormat, EscapesValuesInsideStructuredData) {
  store::StoredRecord r = sample();
  r.event.device = "ct \"1\" [x] \\";
  const std::string m = format_rfc5424(r, options());
  EXPECT_NE(m.find("device=\"ct \\\"1\\\" [x\\] \\\\\""), std::string::npos) << m;
}

TEST(SyslogFormat, HeaderFieldsArePrintableAsciiAndCapped) {
  store::StoredRecord r = sample();
  r.event.appliance_id = "ward gate\xc3\xa9";
  r.event.action = std::string(40, 'a');
  const std::string h = syslog_header(r, options(), SyslogSeverity::kNotice);
  EXPECT_EQ(
      h, "<109>1 2026-11-22T02:03:04.123456Z ward_gate__ wardgate - dicom." + std::string(26, 'a'));
  r.event.appliance_id.clear();
  EXPECT_EQ(syslog_header(r, options(), SyslogSeverity::kNotice, "IHE+RFC-3881"),
            "<109>1 2026-11-22T02:03:04.123456Z - wardgate - IHE+RFC-3881");
}

TEST(SyslogFormat, InvalidSdNamesAreLeftToTheMsg) {
  store::StoredRecord r = sample();
  r.event.fields.set("a key with spaces", "x");
  r.event.fields.set(std::string(33, 'k'), "y");
  r.canonical = audit::to_json(r.event);
  const std::string m = format_rfc5424(r, options());
  const std::size_t msg_at = m.find(std::string(kBom));
  ASSERT_NE(msg_at, std::string::npos);
  EXPECT_EQ(m.substr(0, msg_at).find("a key"), std::string::npos);
  EXPECT_EQ(m.find(std::string(33, 'k') + "=\""), std::string::npos);
  EXPECT_NE(m.find(r.canonical), std::string::npos);
}

TEST(SyslogFormat, SequenceIdWrapsAsRfc5424Says) {
  const std::string m = format_rfc5424(sample(2147483648ULL), options());
  EXPECT_NE(m.find("[meta sequenceId=\"1\"]"), std::string::npos);
  EXPECT_NE(m.find("seq=\"2147483648\""), std::string::npos);
  EXPECT_NE(format_rfc5424(sample(2147483647ULL), options()).find("sequenceId=\"2147483647\""),
            std::string::npos);
}

TEST(SyslogFormat, TooLongDropsFieldsThenCutsMsgAtCharacterBoundary) {
  store::StoredRecord r = sample();
  r.event.fields.set("reason", std::string(300, 'x'));
  r.canonical = audit::to_json(r.event);
  SyslogOptions o = options();
  o.max_message_bytes = 1024;
  std::string m = format_rfc5424(r, o);
  EXPECT_LE(m.size(), 1024U);
  EXPECT_EQ(m.find("[wardgateFields@"), std::string::npos);
  EXPECT_NE(m.find("truncated=\"fields\""), std::string::npos);
  EXPECT_TRUE(m.ends_with(r.canonical)) << m;

  std::string han;
  for (int i = 0; i < 700; ++i) han += "\xe5\xbc\xa0";  // 3 octets each
  for (int shift = 0; shift < 3; ++shift) {
    r.event.fields.set("note", std::string(static_cast<std::size_t>(shift), 'y') + han);
    r.canonical = audit::to_json(r.event);
    m = format_rfc5424(r, o);
    EXPECT_LE(m.size(), 1024U);
    EXPECT_GE(m.size(), 1022U);
    EXPECT_NE(m.find("truncated=\"fields,msg\""), std::string::npos);
    const std::string msg = m.substr(m.find(std::string(kBom)) + kBom.size());
    EXPECT_TRUE(r.canonical.starts_with(msg));
    // Cut at a character boundary: the prefix is still well-formed UTF-8.
    std::string escaped;
    append_sd_value(escaped, msg);
    EXPECT_EQ(escaped.find("\xef\xbf\xbd"), std::string::npos);
  }
}

TEST(SyslogFormat, CapsAreClampedAndNeverExceeded) {
  store::StoredRecord r = sample();
  r.event.fields.set("big", std::string(100000, 'z'));
  r.canonical = audit::to_json(r.event);
  SyslogOptions o = options();
  o.max_message_bytes = 10;  // clamped up to kMinMessageBytes
  EXPECT_EQ(format_rfc5424(r, o).size(), kMinMessageBytes);
  o.max_message_bytes = 1 << 30;  // clamped down to kMaxMessageBytes
  EXPECT_EQ(format_rfc5424(r, o).size(), kMaxMessageBytes);
  r.event.appliance_id = std::string(300, 'h');
  r.event.device = std::string(3000, 'd');  // cut to 255 in the structured data
  o.max_message_bytes = 2048;
  std::string m = format_rfc5424(r, o);
  EXPECT_LE(m.size(), 2048U);
  EXPECT_NE(m.find("device=\"" + std::string(255, 'd') + "\""), std::string::npos);
  EXPECT_NE(m.find("truncated=\"fields,msg\""), std::string::npos);
  // Escaping doubles ']': the core structured data alone no longer fits, the header stays.
  r.event.device = std::string(255, ']');
  r.event.appliance_id = std::string(255, ']');
  o.max_message_bytes = 1024;
  m = format_rfc5424(r, o);
  EXPECT_LE(m.size(), 1024U);
  EXPECT_TRUE(m.ends_with(" -")) << m;
}

}  // namespace
}  // namespace wardgate::exporter
