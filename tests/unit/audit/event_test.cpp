#include "audit/event.h"

#include "audit/event_decode.h"

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

const std::vector<std::string>* list_field(const Event& e, std::string_view key) {
  const FieldValue* v = e.fields.find(key);
  return v == nullptr ? nullptr : std::get_if<std::vector<std::string>>(v);
}

std::string string_field(const Event& e, std::string_view key) {
  const FieldValue* v = e.fields.find(key);
  const auto* s = v == nullptr ? nullptr : std::get_if<std::string>(v);
  return s == nullptr ? "<absent>" : *s;
}

TEST(AuditEvent, UntrustedStringIsCutAtACharacterBoundaryAndMarkedWithItsSize) {
  Fields f;
  // 3 + 2 + 2 bytes: a cap of 6 must not split the second "é".
  f.set_untrusted("name", "abc\xc3\xa9\xc3\xa9", 6);
  f.set_untrusted("short", "fits", 6);
  EXPECT_EQ(std::get<std::string>(*f.find("name")), "abc\xc3\xa9");
  EXPECT_EQ(std::get<std::string>(*f.find("short")), "fits");
  ASSERT_NE(f.find(kTruncatedKey), nullptr);
  EXPECT_EQ(std::get<std::vector<std::string>>(*f.find(kTruncatedKey)),
            std::vector<std::string>{"name:7"});
}

TEST(AuditEvent, UntrustedStringOfBytesThatAreNotUtf8IsStillCut) {
  Fields f;
  f.set_untrusted("x", std::string(5000, '\x80'));
  EXPECT_EQ(std::get<std::string>(*f.find("x")).size(), kMaxValueBytes);
  EXPECT_EQ(std::get<std::vector<std::string>>(*f.find(kTruncatedKey)),
            std::vector<std::string>{"x:5000"});
}

TEST(AuditEvent, UntrustedListIsCappedInCountAndItemSize) {
  Fields f;
  std::vector<std::string> many(kMaxListItems + 5, "1.2.3");
  many[0] = std::string(kMaxListItemBytes + 10, 'u');
  f.set_untrusted("uids", many);
  f.set_untrusted("few", std::vector<std::string>{"a", "b"});
  const auto& kept = std::get<std::vector<std::string>>(*f.find("uids"));
  EXPECT_EQ(kept.size(), kMaxListItems);
  EXPECT_EQ(kept[0].size(), kMaxListItemBytes);
  EXPECT_EQ(kept[1], "1.2.3");
  const std::size_t bytes = (kMaxListItemBytes + 10) + (many.size() - 1) * 5;
  EXPECT_EQ(std::get<std::vector<std::string>>(*f.find(kTruncatedKey)),
            std::vector<std::string>{"uids:" + std::to_string(bytes) + ":" +
                                     std::to_string(many.size())});
}

TEST(AuditEvent, CapValuesCutsEveryLongValueAlreadySetAndLeavesTheRest) {
  Fields f;
  f.set("text", std::string(kMaxValueBytes + 1, 't'));
  f.set("list", std::vector<std::string>(kMaxListItems + 1, "i"));
  f.set("fine", "fine");
  f.set("n", 7);
  f.cap_values();
  EXPECT_EQ(std::get<std::string>(*f.find("text")).size(), kMaxValueBytes);
  EXPECT_EQ(std::get<std::vector<std::string>>(*f.find("list")).size(), kMaxListItems);
  EXPECT_EQ(std::get<std::string>(*f.find("fine")), "fine");
  EXPECT_EQ(
      std::get<std::vector<std::string>>(*f.find(kTruncatedKey)),
      (std::vector<std::string>{"text:" + std::to_string(kMaxValueBytes + 1), "list:129:129"}));
}

TEST(AuditEvent, AValueCutTwiceKeepsItsFirstOriginalSize) {
  Fields f;
  f.set_untrusted("x", std::string(100, 'a'), 50);
  f.mark_truncated("x", "50");
  EXPECT_EQ(std::get<std::vector<std::string>>(*f.find(kTruncatedKey)),
            std::vector<std::string>{"x:100"});
}

// The issue's attack: 900 KiB of 0x01 in a header field encodes to 5.4 MB of \u0001.
TEST(AuditEvent, HostileFieldIsReducedToFitTheReaderAndStillDecodes) {
  Event e = sample();
  const std::string hostile(900 * 1024, '\x01');
  e.fields.set("sending_application", hostile);
  e.fields.set("notes", std::vector<std::string>{hostile, "short note"});
  ASSERT_GT(to_json(e).size(), kMaxCanonicalBytes);
  EXPECT_FALSE(fits_store(e, to_json(e)));

  const Event fitted = fit_for_store(e);
  const std::string canonical = to_json(fitted);
  EXPECT_LE(canonical.size(), kMaxCanonicalBytes);
  EXPECT_GT(canonical.size(), kMaxCanonicalBytes * 9 / 10);  // cut no more than needed
  EXPECT_TRUE(fits_store(fitted, canonical));
  const auto back = event_from_json(canonical);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(to_json(*back), canonical);
  EXPECT_EQ(fitted.action, "association-accepted");
  // Small values are untouched; the hostile ones are prefixes of what was sent, marked.
  EXPECT_EQ(string_field(fitted, "calling_ae"), "CT01");
  EXPECT_EQ(list_field(fitted, "notes")->at(1), "short note");
  const std::string cut = string_field(fitted, "sending_application");
  EXPECT_FALSE(cut.empty());
  EXPECT_EQ(hostile.substr(0, cut.size()), cut);
  const auto* marks = list_field(fitted, kTruncatedKey);
  ASSERT_NE(marks, nullptr);
  EXPECT_EQ(*marks,
            (std::vector<std::string>{"sending_application:921600",
                                      "notes:" + std::to_string(hostile.size() + 10) + ":2"}));
}

TEST(AuditEvent, TooManyItemsAreCutToTheListCapWhenTheRecordIsTooLong) {
  Event e = sample();
  e.fields.set("keys", std::vector<std::string>(400000, "ab"));
  const Event fitted = fit_for_store(e);
  EXPECT_LE(to_json(fitted).size(), kMaxCanonicalBytes);
  EXPECT_EQ(list_field(fitted, "keys")->size(), kMaxListItems);
  EXPECT_EQ(*list_field(fitted, kTruncatedKey), std::vector<std::string>{"keys:800000:400000"});
}

TEST(AuditEvent, AnEventThatCannotBeReducedBecomesAFixedSizeRecordOversized) {
  Event e = sample();
  e.device = std::string(2 * kMaxCanonicalBytes, 'd');  // not a field: cannot be cut there
  const Event fitted = fit_for_store(e);
  const std::string canonical = to_json(fitted);
  EXPECT_LE(canonical.size(), 4096U);
  EXPECT_EQ(fitted.category, "audit");
  EXPECT_EQ(fitted.action, "record-oversized");
  EXPECT_EQ(fitted.severity, Severity::kAlert);
  EXPECT_EQ(fitted.time, e.time);
  EXPECT_EQ(fitted.device, std::string(256, 'd'));
  EXPECT_EQ(string_field(fitted, "original_action"), "association-accepted");
  EXPECT_EQ(std::get<std::uint64_t>(*fitted.fields.find("original_bytes")), to_json(e).size());
  EXPECT_TRUE(event_from_json(canonical).has_value());
}

TEST(AuditEvent, TopLevelStringsThatAreNotUtf8AreStoredAsTheRecordDecodes) {
  Event e = sample();
  e.device = "ct\xff-1";
  EXPECT_FALSE(fits_store(e, to_json(e)));
  const Event fitted = fit_for_store(e);
  EXPECT_EQ(fitted.device, "ct\xef\xbf\xbd-1");
  EXPECT_EQ(event_from_json(to_json(fitted))->device, fitted.device);
}

TEST(AuditEvent, MicrosecondsBefore1970RoundDownLikeTheEncodedTime) {
  Event e = sample();
  e.time = at(1969, 12, 31, 23, 59, 59, std::chrono::nanoseconds(999999500));
  const auto back = event_from_json(to_json(e));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(to_unix_us(e.time), to_unix_us(back->time));
  EXPECT_EQ(to_unix_us(e.time), -1);
}

}  // namespace
}  // namespace wardgate::audit
