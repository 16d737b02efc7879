#include "audit/event.h"

#include <gtest/gtest.h>

#include <bit>
#include <nlohmann/json.hpp>

namespace wardgate::audit {
namespace {

using std::chrono::system_clock;

system_clock::time_point at(int y, unsigned mo, unsigned d, int h, int mi, int s,
                            std::chrono::nanoseconds sub = {}) {
  using namespace std::chrono;
  return system_clock::time_point(duration_cast<system_clock::duration>(
      sys_days{year{y} / month{mo} / day{d}}.time_since_epoch() + hours{h} + minutes{mi} +
      seconds{s} + sub));
}

Event sample() {
  Event e;
  e.time = at(2026, 11, 22, 2, 3, 4, std::chrono::nanoseconds(123456789));
  e.appliance_id = "wardgate-ct-vlan";
  e.device = "ct-1";
  e.category = "dicom";
  e.action = "association-accepted";
  e.fields.set("calling_ae", "CT01");
  e.fields.set("called_ae", std::string("PACS"));
  e.fields.set("device_port", std::uint16_t{49152});
  e.fields.set("server_port", 104);
  e.fields.set("contexts",
               std::vector<std::string>{"1.2.840.10008.1.1", "1.2.840.10008.5.1.4.1.1.2"});
  e.fields.set("max_pdu_device", std::uint32_t{16384});
  e.fields.set("elapsed_ms", 2.5);
  e.fields.set("tls", false);
  e.fields.set("offset", -3);
  e.fields.set("note", std::string_view("a\"b\\c\n\x01\x7f \xc3\xa9 \xe5\xbc\xa0"));
  e.fields.set("empty", std::vector<std::string>{});
  return e;
}

// Computed independently: Python's json.dumps(event, sort_keys=True, separators=(',', ':'),
// ensure_ascii=False), which agrees with RFC 8785 for strings, integers and this double.
constexpr std::string_view kSampleJson =
    "{\"action\":\"association-accepted\",\"appliance\":\"wardgate-ct-vlan\",\"category\":"
    "\"dicom\",\"device\":\"ct-1\",\"fields\":{\"called_ae\":\"PACS\",\"calling_ae\":\"CT01\","
    "\"contexts\":[\"1.2.840.10008.1.1\",\"1.2.840.10008.5.1.4.1.1.2\"],\"device_port\":49152,"
    "\"elapsed_ms\":2.5,\"empty\":[],\"max_pdu_device\":16384,"
    "\"note\":\"a\\\"b\\\\c\\n\\u0001\x7f \xc3\xa9 \xe5\xbc\xa0\",\"offset\":-3,"
    "\"server_port\":104,\"tls\":false},\"outcome\":\"success\",\"severity\":\"info\","
    "\"time\":\"2026-11-22T02:03:04.123456Z\"}";

TEST(AuditEvent, CanonicalJsonMatchesTheGoldenString) { EXPECT_EQ(to_json(sample()), kSampleJson); }

TEST(AuditEvent, CanonicalJsonIsValidJsonWithTheSameContent) {
  const auto j = nlohmann::json::parse(to_json(sample()));
  EXPECT_EQ(j["fields"]["device_port"], 49152);
  EXPECT_EQ(j["fields"]["contexts"][1], "1.2.840.10008.5.1.4.1.1.2");
  EXPECT_EQ(j["time"], "2026-11-22T02:03:04.123456Z");
}

TEST(AuditEvent, FieldOrderDoesNotChangeTheEncoding) {
  Event a;
  a.fields.set("b", 1);
  a.fields.set("a", "x");
  a.fields.set("c", true);
  Event b;
  b.fields.set("c", true);
  b.fields.set("a", "x");
  b.fields.set("b", 1);
  EXPECT_NE(a.fields, b.fields);  // kept in the order set
  EXPECT_EQ(to_json(a), to_json(b));
}

TEST(AuditEvent, SetReplacesAndKeepsThePosition) {
  Fields f;
  f.set("status", "pending");
  f.set("bytes", std::uint64_t{10});
  f.set("status", "success");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f.begin()->key, "status");
  EXPECT_EQ(std::get<std::string>(*f.find("status")), "success");
  EXPECT_EQ(f.find("missing"), nullptr);
}

TEST(AuditEvent, IntegersKeepTheirSignedness) {
  Fields f;
  f.set("u16", std::uint16_t{7});
  f.set("i", -1);
  f.set("i64", std::int64_t{-9});
  f.set("u64", std::uint64_t{18446744073709551615u});
  f.set("b", true);
  f.set("s", "text");
  EXPECT_TRUE(std::holds_alternative<std::uint64_t>(*f.find("u16")));
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(*f.find("i")));
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(*f.find("i64")));
  EXPECT_TRUE(std::holds_alternative<bool>(*f.find("b")));
  EXPECT_TRUE(std::holds_alternative<std::string>(*f.find("s")));
  Event e;
  e.fields = f;
  EXPECT_NE(to_json(e).find("\"u64\":18446744073709551615"), std::string::npos);
}

TEST(AuditEvent, EnumsHaveTheirSchemaNames) {
  EXPECT_STREQ(to_string(Outcome::kSuccess), "success");
  EXPECT_STREQ(to_string(Outcome::kWarning), "warning");
  EXPECT_STREQ(to_string(Outcome::kFailure), "failure");
  EXPECT_STREQ(to_string(Outcome::kDenied), "denied");
  EXPECT_STREQ(to_string(Severity::kInfo), "info");
  EXPECT_STREQ(to_string(Severity::kNotice), "notice");
  EXPECT_STREQ(to_string(Severity::kWarning), "warning");
  EXPECT_STREQ(to_string(Severity::kAlert), "alert");
}

TEST(AuditEvent, TimeIsUtcWithMicrosecondsTruncated) {
  EXPECT_EQ(format_time(at(2026, 11, 22, 2, 3, 4, std::chrono::nanoseconds(999999999))),
            "2026-11-22T02:03:04.999999Z");
  EXPECT_EQ(format_time(at(1970, 1, 1, 0, 0, 0)), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_time(at(2024, 2, 29, 23, 59, 59, std::chrono::microseconds(1))),
            "2024-02-29T23:59:59.000001Z");
  // Before the epoch, truncation goes towards the earlier time as well.
  EXPECT_EQ(format_time(system_clock::time_point(std::chrono::microseconds(-1))),
            "1969-12-31T23:59:59.999999Z");
}

std::string double_json(double v) {
  Event e;
  e.fields.set("v", v);
  const std::string s = to_json(e);
  const auto start = s.find("\"v\":") + 4;
  return s.substr(start, s.find('}', start) - start);
}

double from_bits(std::uint64_t bits) { return std::bit_cast<double>(bits); }

// RFC 8785 Appendix B, checked against node's Number.prototype.toString.
TEST(AuditEvent, DoublesFollowEcmaScriptNumberFormatting) {
  EXPECT_EQ(double_json(0.0), "0");
  EXPECT_EQ(double_json(-0.0), "0");
  EXPECT_EQ(double_json(from_bits(0x0000000000000001)), "5e-324");
  EXPECT_EQ(double_json(from_bits(0x8000000000000001)), "-5e-324");
  EXPECT_EQ(double_json(from_bits(0x7fefffffffffffff)), "1.7976931348623157e+308");
  EXPECT_EQ(double_json(from_bits(0x4340000000000000)), "9007199254740992");
  EXPECT_EQ(double_json(from_bits(0x4430000000000000)), "295147905179352830000");
  EXPECT_EQ(double_json(from_bits(0x44b52d02c7e14af5)), "9.999999999999997e+22");
  EXPECT_EQ(double_json(from_bits(0x44b52d02c7e14af6)), "1e+23");
  EXPECT_EQ(double_json(from_bits(0x444b1ae4d6e2ef50)), "1e+21");
  EXPECT_EQ(double_json(from_bits(0x3eb0c6f7a0b5ed8c)), "9.999999999999997e-7");
  EXPECT_EQ(double_json(from_bits(0x3eb0c6f7a0b5ed8d)), "0.000001");
  EXPECT_EQ(double_json(from_bits(0x41b3de4355555553)), "333333333.3333332");
  EXPECT_EQ(double_json(from_bits(0x41b3de4355555557)), "333333333.33333343");
  EXPECT_EQ(double_json(from_bits(0xbecbf647612f3696)), "-0.0000033333333333333333");
  EXPECT_EQ(double_json(from_bits(0x43143ff3c1cb0959)), "1424953923781206.2");
  EXPECT_EQ(double_json(0.1), "0.1");
  EXPECT_EQ(double_json(1.5e-7), "1.5e-7");
  EXPECT_EQ(double_json(100.0), "100");
  EXPECT_EQ(double_json(-1.0), "-1");
}

TEST(AuditEvent, NonFiniteDoublesBecomeNull) {
  EXPECT_EQ(double_json(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(double_json(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(double_json(-std::numeric_limits<double>::infinity()), "null");
}

std::string string_json(std::string_view s) {
  Event e;
  e.fields.set("s", s);
  const std::string out = to_json(e);
  const auto start = out.find("\"s\":") + 4;
  return out.substr(start, out.find("},\"outcome\"") - start);
}

TEST(AuditEvent, StringsUseMinimalEscapes) {
  EXPECT_EQ(string_json(std::string_view("\b\f\n\r\t\x1f", 6)), R"("\b\f\n\r\t\u001f")");
  EXPECT_EQ(string_json(std::string_view("nul\0x", 5)), R"("nul\u0000x")");
  EXPECT_EQ(string_json("/ and \xe2\x80\xa8"), "\"/ and \xe2\x80\xa8\"");  // no \/, U+2028 raw
  EXPECT_EQ(string_json("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");      // 4-byte sequence
}

TEST(AuditEvent, InvalidUtf8IsReplacedPerByte) {
  const std::string_view fffd = "\xef\xbf\xbd";
  // Latin-1 "é" (a patient name sent as ISO_IR 100 and not converted)
  EXPECT_EQ(string_json("caf\xe9"), "\"caf" + std::string(fffd) + "\"");
  // overlong '/', a surrogate, beyond U+10FFFF, a truncated sequence at the end
  EXPECT_EQ(string_json("\xc0\xaf"), "\"" + std::string(fffd) + std::string(fffd) + "\"");
  EXPECT_EQ(string_json("\xed\xa0\x80"),
            "\"" + std::string(fffd) + std::string(fffd) + std::string(fffd) + "\"");
  EXPECT_EQ(string_json("\xf4\x90\x80\x80").size(), 2 + 4 * fffd.size());
  EXPECT_EQ(string_json("ok\xe5\xbc"), "\"ok" + std::string(fffd) + std::string(fffd) + "\"");
  // The output is always valid JSON.
  Event e;
  e.fields.set("s", std::string_view("\xff\xfe\x80 x"));
  EXPECT_EQ(nlohmann::json::parse(to_json(e))["fields"]["s"], "\ufffd\ufffd\ufffd x");
}

TEST(AuditEvent, DefaultEventEncodesEveryTopLevelKey) {
  EXPECT_EQ(to_json(Event{}),
            "{\"action\":\"\",\"appliance\":\"\",\"category\":\"\",\"device\":\"\",\"fields\":{},"
            "\"outcome\":\"success\",\"severity\":\"info\",\"time\":\"1970-01-01T00:00:00."
            "000000Z\"}");
}

}  // namespace
}  // namespace wardgate::audit
