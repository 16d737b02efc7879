// What the decoder extracts and reports, feature by feature.
#include <gtest/gtest.h>

#include <iconv.h>

#include "hl7_test_support.h"

namespace wardgate::hl7::testing {
namespace {

std::vector<Message> messages_of(std::string_view stream, DecoderLimits limits = {},
                                 std::string* log = nullptr) {
  LogCallbacks cb;
  Decoder d(cb, std::move(limits));
  d.feed(Side::kClient, bytes_of(stream));
  d.end_of_stream(Side::kClient);
  if (log != nullptr) *log = cb.log;
  return cb.messages;
}

Message one(std::string_view content, DecoderLimits limits = {}) {
  std::string log;
  auto m = messages_of(mllp(content), std::move(limits), &log);
  EXPECT_EQ(m.size(), 1U) << log;
  return m.empty() ? Message{} : m[0];
}

TEST(Hl7Decoder, OruHeaderFields) {
  const Message m = one(kOru);
  EXPECT_EQ(m.sending_application, "MONITOR");
  EXPECT_EQ(m.sending_facility, "ICU^1.2.3^ISO");
  EXPECT_EQ(m.receiving_application, "HIS");
  EXPECT_EQ(m.receiving_facility, "HOSP");
  EXPECT_EQ(m.date_time, "20240101120000");
  EXPECT_EQ(m.message_type, "ORU");
  EXPECT_EQ(m.trigger_event, "R01");
  EXPECT_EQ(m.message_structure, "ORU_R01");
  EXPECT_EQ(m.control_id, "MSG0001");
  EXPECT_EQ(m.processing_id, "P");
  EXPECT_EQ(m.version, "2.5.1");
  EXPECT_EQ(m.accept_ack_type, "AL");
  EXPECT_EQ(m.application_ack_type, "NE");
  EXPECT_EQ(m.character_set, "UNICODE UTF-8");
  ASSERT_EQ(m.patient_identifiers.size(), 2U);
  EXPECT_EQ(m.patient_identifiers[0].id, "12345");
  EXPECT_EQ(m.patient_identifiers[0].assigning_authority, "HOSP");
  EXPECT_EQ(m.patient_identifiers[0].identifier_type, "MR");
  EXPECT_EQ(m.patient_identifiers[1].id, "998877");
  EXPECT_EQ(m.patient_name, "Doe^John^Q");
  EXPECT_EQ(m.segment_count, 6U);
  EXPECT_EQ(m.obx_count, 2U);
  EXPECT_EQ(m.z_segment_count, 1U);
  EXPECT_EQ(m.size, kOru.size());
  EXPECT_FALSE(m.ack);
  EXPECT_TRUE(m.notes.empty());
}

TEST(Hl7Decoder, RecordedStyleSamples) {
  const Message v = one(kVitals);
  EXPECT_EQ(v.sending_application, "PHILIPS_MX800^0001A1B2C3D4^EUI-64");
  EXPECT_EQ(v.receiving_facility, "GENERAL HOSPITAL");
  EXPECT_EQ(v.message_type + "^" + v.trigger_event + "^" + v.message_structure, "ORU^R01^ORU_R01");
  EXPECT_EQ(v.control_id, "MON0000000017");
  EXPECT_EQ(v.charset_used, "UNICODE UTF-8");
  ASSERT_EQ(v.patient_identifiers.size(), 2U);
  EXPECT_EQ(v.patient_identifiers[1].id, "700000017");
  EXPECT_EQ(v.patient_identifiers[1].assigning_authority, "NATION");
  EXPECT_EQ(v.patient_identifiers[1].identifier_type, "NI");
  EXPECT_EQ(v.patient_name, "Müller^Hans^Peter^^Dr.");
  EXPECT_EQ(v.segment_count, 12U);
  EXPECT_EQ(v.obx_count, 8U);
  EXPECT_EQ(v.size, kVitals.size());
  EXPECT_TRUE(v.notes.empty());

  const Message a = one(kVitalsAck);
  ASSERT_TRUE(a.ack);
  EXPECT_EQ(a.ack->code, AckCode::kAA);
  EXPECT_EQ(a.ack->control_id, "MON0000000017");
  EXPECT_TRUE(a.patient_identifiers.empty());

  const Message w = one(kAdtWindows);
  EXPECT_EQ(w.sending_application, "ADT&BILLING");
  EXPECT_EQ(w.sending_facility, "ST. MARY^S");
  EXPECT_EQ(w.message_structure, "ADT_A01");
  EXPECT_EQ(w.character_set, "8859/1");
  EXPECT_EQ(w.patient_name, "François^René\\Jr^^^^^L");
  EXPECT_EQ(w.segment_count, 5U);
  EXPECT_EQ(w.size, kAdtWindows.size());
  ASSERT_EQ(w.notes.size(), 1U);
  EXPECT_NE(w.notes[0].find("terminated"), std::string::npos);

  const Message l = one(kLabNoPid3);
  EXPECT_TRUE(l.patient_identifiers.empty());
  EXPECT_EQ(l.patient_name, "Unknown^Patient");
  EXPECT_EQ(l.obx_count, 1U);
  EXPECT_EQ(l.z_segment_count, 1U);
  EXPECT_EQ(l.charset_used, "ASCII");
}

// Message::header is the MSH exactly as sent (separators, charset, no terminator), during the
// callback, whether the frame was whole in one read or buffered across reads.
TEST(Hl7Decoder, HeaderIsTheRawMshDuringTheCallback) {
  class Headers final : public DecoderCallbacks {
   public:
    std::vector<std::string> seen;
    void on_message(Side /*from*/, const Message& m) override { seen.emplace_back(m.header); }
  };
  const auto msh = [](std::string_view m) {
    return std::string(m.substr(0, m.find_first_of("\r\n")));
  };
  const std::vector<std::string> expected = {msh(kVitals), msh(kAdtWindows), msh(kGb18030),
                                             msh(kAckAa), msh(kOrm)};
  const std::string stream = mllp(kVitals) + mllp(kAdtWindows) + mllp(kGb18030) +
                             mllp(std::string(kAckAa) + std::string(kOrm));
  for (const std::size_t piece : {stream.size(), std::size_t{100}, std::size_t{1}}) {
    Headers h;
    Decoder d(h);
    const std::vector<std::byte> bytes = bytes_of(stream);
    for (std::size_t i = 0; i < bytes.size(); i += piece) {
      d.feed(Side::kClient,
             std::span<const std::byte>(bytes).subspan(i, std::min(piece, bytes.size() - i)));
    }
    EXPECT_EQ(h.seen, expected) << "pieces of " << piece;
  }
}

TEST(Hl7Decoder, AdtSecurityAndStructure) {
  const Message m = one(kAdt);
  EXPECT_EQ(m.security, "SECURITY");
  EXPECT_EQ(m.message_type + m.trigger_event, "ADTA01");
  EXPECT_EQ(m.patient_identifiers.at(0).id, "PATID1234");
  EXPECT_EQ(m.patient_identifiers.at(0).assigning_authority, "ADT1");
  EXPECT_EQ(m.patient_identifiers.at(1).identifier_type, "SS");
  EXPECT_EQ(m.charset_used, "ASCII");
}

TEST(Hl7Decoder, AcknowledgmentsAndErrors) {
  const auto ms = messages_of(mllp(kAckAa) + mllp(kAckAe));
  ASSERT_EQ(ms.size(), 2U);
  ASSERT_TRUE(ms[0].ack);
  EXPECT_EQ(ms[0].ack->code, AckCode::kAA);
  EXPECT_EQ(ms[0].ack->control_id, "MSG0001");
  ASSERT_TRUE(ms[1].ack);
  EXPECT_EQ(ms[1].ack->code, AckCode::kAE);
  EXPECT_EQ(ms[1].ack->text, "Error");
  EXPECT_EQ(ms[1].ack->error_segments, 2U);
  EXPECT_EQ(ms[1].ack->error_code, "204");
  EXPECT_EQ(ms[1].ack->error_text, "Unknown key identifier");
  // v2.3 style: ERR-1 code and location, the code a CE in its 4th component.
  const Message old = one("MSH|^~\\&|A|B|C|D|1||ACK|X|P|2.3\rMSA|AR|Q7\rERR|PID^1^3^100&Bad&HL7\r");
  EXPECT_EQ(old.ack->code, AckCode::kAR);
  EXPECT_EQ(old.ack->error_code, "100");
  EXPECT_EQ(old.ack->error_text, "Bad");
  for (const char* code : {"CA", "CE", "CR"}) {
    const Message e = one(std::string("MSH|^~\\&|A|B|C|D|1||ACK|X|P|2.5\rMSA|") + code + "|Q\r");
    EXPECT_STREQ(to_string(e.ack->code), code);
  }
  EXPECT_EQ(one("MSH|^~\\&|A|B|C|D|1||ACK|X|P|2.5\rMSA|ZZ|Q\r").ack->code, AckCode::kUnknown);
}

TEST(Hl7Decoder, SeparatorsComeFromMsh) {
  const Message m = one("MSH#$%!@#S#F#R#X#20240101##ORU$R01#C1#P#2.5\rPID#####Fam$Giv@sub%Rep2\r");
  EXPECT_EQ(m.sending_application, "S");
  EXPECT_EQ(m.message_type, "ORU");
  EXPECT_EQ(m.trigger_event, "R01");
  EXPECT_EQ(m.control_id, "C1");
  EXPECT_EQ(m.patient_name, "Fam^Giv&sub");
}

TEST(Hl7Decoder, EscapeSequences) {
  const Message m = one(
      "MSH|^~\\&|A\\F\\B|C\\S\\D|E\\T\\F|G\\R\\H|1||ORU^R01|I\\E\\D|P|2.5\r"
      "PID|||1||Line1\\.br\\Line2^\\X41424344\\^\\H\\bold\\N\\^\\Zcustom\\^bad\\X4\\^open\\X\r");
  EXPECT_EQ(m.sending_application, "A|B");
  EXPECT_EQ(m.sending_facility, "C^D");
  EXPECT_EQ(m.receiving_application, "E&F");
  EXPECT_EQ(m.receiving_facility, "G~H");
  EXPECT_EQ(m.control_id, "I\\D");
  EXPECT_EQ(m.patient_name, "Line1\nLine2^ABCD^bold^\\Zcustom\\^bad\\X4\\^open\\X");
}

// An empty escape sequence (two escape characters) means nothing in HL7: it is kept as sent.
// Debug builds check libstdc++'s preconditions (hl7/CMakeLists.txt): reading the first character
// of the empty sequence aborted here.
TEST(Hl7Decoder, EmptyEscapeKeptVerbatim) {
  const Message m = one("MSH|^~\\&|A\\\\B|\\\\|C^\\\\|D|1||ORU^R01|X|P|2.5\rPID|||1||\\\\\r");
  EXPECT_EQ(m.sending_application, "A\\\\B");
  EXPECT_EQ(m.sending_facility, "\\\\");
  EXPECT_EQ(m.receiving_application, "C^\\\\");
  EXPECT_EQ(m.patient_name, "\\\\");
}

TEST(Hl7Decoder, SegmentTerminatorsTolerated) {
  for (const char* sep : {"\n", "\r\n"}) {
    const std::string text = std::string("MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5") + sep +
                             "PID|||7||N^M" + sep + "OBX|1" + sep;
    const Message m = one(text);
    EXPECT_EQ(m.segment_count, 3U);
    EXPECT_EQ(m.obx_count, 1U);
    EXPECT_EQ(m.patient_name, "N^M");
    EXPECT_EQ(m.size, text.size());
    ASSERT_EQ(m.notes.size(), 1U);
    EXPECT_NE(m.notes[0].find("terminated"), std::string::npos);
  }
}

TEST(Hl7Decoder, BatchSplitIntoMessages) {
  const auto ms = messages_of(mllp(kBatch));
  ASSERT_EQ(ms.size(), 2U);
  EXPECT_EQ(ms[0].control_id, "B1");
  EXPECT_EQ(ms[0].obx_count, 1U);
  EXPECT_EQ(ms[0].segment_count, 3U);
  EXPECT_TRUE(ms[0].in_batch);
  EXPECT_EQ(ms[1].control_id, "B2");
  EXPECT_EQ(ms[1].patient_name, "C^D");
  // Several messages in one frame without batch headers are split as well.
  const auto two = messages_of(mllp(std::string(kAckAa) + std::string(kOrm)));
  ASSERT_EQ(two.size(), 2U);
  EXPECT_FALSE(two[0].in_batch);
  EXPECT_EQ(two[1].message_type, "ORM");
}

TEST(Hl7Decoder, Gb18030Declared) {
  const Message m = one(kGb18030);
  EXPECT_EQ(m.character_set, "GB 18030");
  EXPECT_EQ(m.patient_name, "张^三");
  EXPECT_EQ(m.sending_facility, "北京");
  EXPECT_EQ(m.receiving_application, "PACS");
  EXPECT_EQ(m.control_id, "GB1");
  EXPECT_TRUE(m.notes.empty());
}

TEST(Hl7Decoder, Gb18030TrailBytesAreNotSeparators) {
  // 乗 is 81 5C in GBK/GB 18030: its trail byte is '\\', the escape character; 亅 is 81 7C ('|').
  const std::string text =
      "MSH|^~\\&|A|B|C|D|1||ADT^A08|X|P|2.5||||||GB18030\rPID|||1||\x81\x5c^\x81\x7c\r";
  const Message m = one(text);
  EXPECT_EQ(m.patient_name, "乗^亅");
}

TEST(Hl7Decoder, Gb18030DeclaredAfterAFieldWhoseTrailByteIsTheFieldSeparator) {
  // 東 is 96 7C in GB 18030: read with single-byte rules, MSH-4 "東院" splits in two and MSH-18
  // is not where the sender put it. Found by the lab test with a Chinese sending facility.
  const std::string text =
      "MSH|^~\\&|MON|\x96\x7c\xd4\xba|ENG|H|2026||ORU^R01|C7|P|2.5||||||GB 18030\rPID|||1||"
      "\xd5\xc5\r";
  const Message m = one(text);
  EXPECT_EQ(m.charset_used, "GB 18030");
  EXPECT_EQ(m.sending_facility, "東院");
  EXPECT_EQ(m.control_id, "C7");
  EXPECT_EQ(m.message_type, "ORU");
  EXPECT_EQ(m.patient_name, "张");
  EXPECT_TRUE(m.notes.empty());
  // Latin-1 text before an undeclared MSH-18 is not mistaken for a double-byte set.
  const Message latin = one("MSH|^~\\&|MON|K\xf6ln|ENG|H|2026||ORU^R01|C8|P|2.5||||||8859/1\r");
  EXPECT_EQ(latin.charset_used, "8859/1");
  EXPECT_EQ(latin.sending_facility, "K\xc3\xb6ln");
}

TEST(Hl7Decoder, ChineseNamesOfTheSet) {
  for (const char* name : {"GB18030", "GBK", "CHINESE", "gb 18030"}) {
    const Message m = one(std::string("MSH|^~\\&|A|B|C|D|1||ADT^A08|X|P|2.5||||||") + name +
                          "\rPID|||1||\xd5\xc5\xc8\xfd\r");
    EXPECT_EQ(m.patient_name, "张三") << name;
  }
}

TEST(Hl7Decoder, DefaultCharsetWhenUndeclared) {
  const std::string text = "MSH|^~\\&|A|B|C|D|1||ADT^A08|X|P|2.5\rPID|||1||\xd5\xc5\xc8\xfd\r";
  DecoderLimits gb;
  gb.default_charset = "GB 18030";
  EXPECT_EQ(one(text, gb).patient_name, "张三");
  EXPECT_EQ(one(text, gb).charset_used, "GB 18030");
  // ASCII by default: the bytes stay visible.
  const Message ascii = one(text);
  EXPECT_EQ(ascii.patient_name, "\\x{d5}\\x{c5}\\x{c8}\\x{fd}");
  ASSERT_EQ(ascii.notes.size(), 1U);
}

TEST(Hl7Decoder, Gb18030EncodedWithIconv) {
  const std::string utf8 = "王小明";
  iconv_t cd = iconv_open("GB18030", "UTF-8");
  ASSERT_NE(cd, reinterpret_cast<iconv_t>(-1));  // NOLINT: iconv's error value
  std::string gb(64, '\0');
  char* in = const_cast<char*>(utf8.data());  // NOLINT: iconv's signature
  std::size_t in_left = utf8.size();
  char* out = gb.data();
  std::size_t out_left = gb.size();
  ASSERT_NE(iconv(cd, &in, &in_left, &out, &out_left), static_cast<std::size_t>(-1));
  iconv_close(cd);
  gb.resize(gb.size() - out_left);
  const Message m =
      one("MSH|^~\\&|A|B|C|D|1||ADT^A08|X|P|2.5||||||GB 18030\rPID|||1||" + gb + "\r");
  EXPECT_EQ(m.patient_name, utf8);
}

TEST(Hl7Decoder, Utf8AndLatin1) {
  const Message u =
      one("MSH|^~\\&|A|B|C|D|1||ADT^A08|X|P|2.5||||||UNICODE UTF-8\rPID|||1||张^三^Müller\r");
  EXPECT_EQ(u.patient_name, "张^三^Müller");
  EXPECT_TRUE(u.notes.empty());
  const Message bad =
      one("MSH|^~\\&|A|B|C|D|1||ADT^A08|X|P|2.5||||||UNICODE UTF-8\rPID|||1||a\xffz\xe5\x8f\r");
  EXPECT_EQ(bad.patient_name, "a\\x{ff}z\\x{e5}\\x{8f}");
  const Message latin =
      one("MSH|^~\\&|A|B|C|D|1||ADT^A08|X|P|2.5||||||8859/1\rPID|||1||M\xfcller\r");
  EXPECT_EQ(latin.patient_name, "Müller");
  const Message hex =
      one("MSH|^~\\&|A|B|C|D|1||ADT^A08|X|P|2.5||||||8859/1\rPID|||1||M\\XFC\\ller\r");
  EXPECT_EQ(hex.patient_name, "Müller");
}

TEST(Hl7Decoder, UndecodableGbBytesEscaped) {
  const Message m = one(
      "MSH|^~\\&|A|B|C|D|1||ADT^A08|X|P|2.5||||||GB 18030\rPID|||1||\xd5\xc5\xff\xc8\xfd\xd5\r");
  EXPECT_EQ(m.patient_name, "张\\x{ff}三\\x{d5}");
  EXPECT_EQ(m.notes.size(), 1U);
}

TEST(Hl7Decoder, UnknownCharsetNoted) {
  const Message m = one("MSH|^~\\&|A|B|C|D|1||ADT^A08|X|P|2.5||||||KLINGON\rPID|||1||abc\r");
  EXPECT_EQ(m.character_set, "KLINGON");
  EXPECT_EQ(m.charset_used, "UNICODE UTF-8");  // no default charset for the device
  EXPECT_EQ(m.patient_name, "abc");
  ASSERT_EQ(m.notes.size(), 1U);
}

TEST(Hl7Decoder, MalformedFramesReported) {
  for (const char* bad : {"EVN|A01\r", "MSH\r", "MSH1^~\\&|A\r", "MSH|^^\\&|A\r", "", "\r\r"}) {
    std::string log;
    EXPECT_TRUE(messages_of(mllp(bad), {}, &log).empty()) << bad;
    EXPECT_NE(log.find("ERROR malformed-message"), std::string::npos) << bad << log;
  }
  std::string log;
  const auto ms = messages_of(mllp("NTE|x\rMSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5\r"), {}, &log);
  EXPECT_EQ(ms.size(), 1U);
  EXPECT_NE(log.find("'NTE' outside a message"), std::string::npos) << log;
}

TEST(Hl7Decoder, ManyRepetitionsAndMessagesStayCheap) {
  std::string reps;
  for (int i = 0; i < 50000; ++i) reps += "~" + std::to_string(i) + "^^^A";
  const Message m = one("MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5\rPID|||" + reps + "||" +
                        std::string(50000, '^') + "\r");
  EXPECT_EQ(m.patient_identifiers.size(), 64U);
  EXPECT_EQ(m.patient_identifiers[0].id, "0");
  EXPECT_EQ(m.notes.size(), 1U);
  std::string many;
  for (int i = 0; i < 20000; ++i) many += "MSH|^~\\&\r";
  EXPECT_EQ(messages_of(mllp(many)).size(), 20000U);
}

TEST(Hl7Decoder, EmptyBatchIsNotAnError) {
  std::string log;
  EXPECT_TRUE(messages_of(mllp("FHS|^~\\&\rFTS|0\r"), {}, &log).empty());
  EXPECT_EQ(log, "");
}

TEST(Hl7Decoder, BothSidesIndependent) {
  LogCallbacks cb;
  Decoder d(cb);
  const std::string a = mllp(kOru);
  const std::string b = mllp(kAckAa);
  d.feed(Side::kClient, bytes_of(a.substr(0, 20)));
  d.feed(Side::kServer, bytes_of(b.substr(0, 30)));
  d.feed(Side::kClient, bytes_of(a.substr(20)));
  d.feed(Side::kServer, bytes_of(b.substr(30)));
  ASSERT_EQ(cb.messages.size(), 2U);
  EXPECT_EQ(cb.log.substr(0, 6), "c MSG ");
  EXPECT_NE(cb.log.find("\ns MSG "), std::string::npos);
}

}  // namespace
}  // namespace wardgate::hl7::testing
