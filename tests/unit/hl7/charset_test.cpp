// HL7 table 0211: every character set in the spellings the table uses, decoded from a patient
// name in its own script; unknown names fall back to the device's default, then to UTF-8. The
// messages were encoded by Python's codecs (EUC-TW by iconv): an encoder other than the decoder.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "hl7/charset.h"
#include "hl7/decoder.h"
#include "tests/unit/hl7/hl7_test_support.h"

namespace wardgate::hl7 {
namespace {

using testing::bytes_of;
using testing::LogCallbacks;
using testing::mllp;

struct Case {
  std::string msh18;     // as declared
  std::string reported;  // Message::charset_used
  std::string name;      // PID-5 in UTF-8
  std::string message;   // the message in that set
};

// Generated (see the file comment); PID-5 of message n is its family^given name.
const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"ASCII", "ASCII", "Smith^John",
       std::string("MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C00|P|2.5|"
                   "|||||ASCII\x0dPID|||PC00^^^HOSP^MR||Smith^John||19800304|M\x0d",
                   132)},
      {"8859/1", "8859/1", "M\xc3\xbcller^J\xc3\xbcrgen",
       std::string("MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C01|P|2.5|"
                   "|||||8859/1\x0dPID|||PC01^^^HOSP^MR||M\xfcller^J\xfcrgen||19800304|M\x0d",
                   136)},
      {"8859/2", "8859/2", "Dvo\xc5\x99\xc3\xa1k^Anton\xc3\xadn",
       std::string("MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C02|P|2.5|"
                   "|||||8859/2\x0dPID|||PC02^^^HOSP^MR||Dvo\xf8\xe1k^Anton\xedn||19800304|M\x0d",
                   137)},
      {"8859/3", "8859/3",
       "Bor\xc4\xa1^\xc4\xa0u\xc5\xbc"
       "eppi",
       std::string("MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C03|P|2.5|"
                   "|||||8859/3\x0dPID|||PC03^^^HOSP^MR||Bor\xf5^\xd5u\xbf"
                   "eppi||19800304|M\x0d",
                   135)},
      {"8859/4", "8859/4", "\xc4\xb6\xc4\x93ni\xc5\x86\xc5\xa1^J\xc4\x81nis",
       std::string(
           "MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C04|P|2.5||||||"
           "8859/4\x0dPID|||PC04^^^HOSP^MR||\xd3\xbani\xf1\xb9^J\xe0nis||19800304|M\x0d",
           135)},
      {"8859/5", "8859/5",
       "\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\xd0\xbe\xd0\xb2^\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd",
       std::string(
           "MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C05|P|2.5||||||"
           "8859/"
           "5\x0dPID|||PC05^^^HOSP^MR||\xb8\xd2\xd0\xdd\xde\xd2^\xb8\xd2\xd0\xdd||19800304|M\x0d",
           134)},
      {"8859/6", "8859/6", "\xd9\x85\xd8\xad\xd9\x85\xd8\xaf^\xd8\xb9\xd9\x84\xd9\x8a",
       std::string(
           "MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C06|P|2.5||||||"
           "8859/6\x0dPID|||PC06^^^HOSP^MR||\xe5\xcd\xe5\xcf^\xd9\xe4\xea||19800304|M\x0d",
           131)},
      {"8859/7", "8859/7",
       "\xce\xa0\xce\xb1\xcf\x80\xce\xb1\xce\xb4\xcf\x8c\xcf\x80\xce\xbf\xcf\x85\xce\xbb\xce\xbf"
       "\xcf\x82^\xce\x93\xce\xb9\xcf\x8e\xcf\x81\xce\xb3\xce\xbf\xcf\x82",
       std::string("MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C07|P|2.5|"
                   "|||||8859/"
                   "7\x0dPID|||PC07^^^HOSP^MR||\xd0\xe1\xf0\xe1\xe4\xfc\xf0\xef\xf5\xeb\xef\xf2^"
                   "\xc3\xe9\xfe\xf1\xe3\xef\xf2||19800304|M\x0d",
                   143)},
      {"8859/8", "8859/8", "\xd7\x9b\xd7\x94\xd7\x9f^\xd7\x93\xd7\x95\xd7\x93",
       std::string("MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C08|P|2.5|"
                   "|||||8859/8\x0dPID|||PC08^^^HOSP^MR||\xeb\xe4\xef^\xe3\xe5\xe3||19800304|M\x0d",
                   130)},
      {"8859/9", "8859/9",
       "Y\xc4\xb1lmaz^Ay\xc5\x9f"
       "e",
       std::string("MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C09|P|2.5|"
                   "|||||8859/9\x0dPID|||PC09^^^HOSP^MR||Y\xfdlmaz^Ay\xfe"
                   "e||19800304|M\x0d",
                   134)},
      {"8859/15", "8859/15", "L\xc5\x93uf^Zo\xc3\xab",
       std::string("MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C10|P|2.5|"
                   "|||||8859/15\x0dPID|||PC10^^^HOSP^MR||L\xbduf^Zo\xeb||19800304|M\x0d",
                   132)},
      {"ISO IR14", "ISO IR14",
       "\xef\xbe\x94\xef\xbe\x8f\xef\xbe\x80\xef\xbe\x9e^\xef\xbe\x80\xef\xbe\x9b\xef\xbd\xb3",
       std::string(
           "MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C11|P|2.5||||||"
           "ISO IR14\x0dPID|||PC11^^^HOSP^MR||\xd4\xcf\xc0\xde^\xc0\xdb\xb3||19800304|M\x0d",
           133)},
      {"ISO IR87", "ISO IR87", "\xe4\xba\x94\xe5\x8d\x81\xe5\xb5\x90^\xe4\xba\xa8",
       std::string(
           "MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C12|P|2.5||||||"
           "ISO IR87\x0dPID|||PC12^^^HOSP^MR||\x1b$B8^==Mr\x1b(B^\x1b$B5|\x1b(B||19800304|M\x0d",
           146)},
      {"~ISO IR87", "ISO IR87", "\xe4\xba\x94\xe5\x8d\x81\xe5\xb5\x90^\xe4\xba\xa8",
       std::string(
           "MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C13|P|2.5||||||~"
           "ISO IR87\x0dPID|||PC13^^^HOSP^MR||\x1b$B8^==Mr\x1b(B^\x1b$B5|\x1b(B||19800304|M\x0d",
           147)},
      {"ISO IR159", "ISO IR159", "\xe4\xb8\x82^\xe4\xba\x94\xe5\x8d\x81\xe5\xb5\x90",
       std::string(
           "MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C14|P|2.5||||||"
           "ISO IR159\x0dPID|||PC14^^^HOSP^MR||\x1b$(D0!\x1b(B^\x1b$B8^==Mr\x1b(B||19800304|M\x0d",
           148)},
      {"GB 18030-2000", "GB 18030", "\xe6\x9d\xb1\xe6\x96\xb9^\xe8\xaa\xa0\xe7\x91\x8b",
       std::string(
           "MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C15|P|2.5||||||GB "
           "18030-2000\x0dPID|||PC15^^^HOSP^MR||\x96|\xb7\xbd^\xd5\x5c\xac|||19800304|M\x0d",
           139)},
      {"KS X 1001", "KS X 1001", "\xed\x99\x8d^\xea\xb8\xb8\xeb\x8f\x99",
       std::string(
           "MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C16|P|2.5||||||KS "
           "X 1001\x0dPID|||PC16^^^HOSP^MR||\xc8\xab^\xb1\xe6\xb5\xbf||19800304|M\x0d",
           133)},
      {"CNS 11643-1992", "CNS 11643-1992", "\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x98\x8e",
       std::string(
           "MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C17|P|2.5||||||"
           "CNS 11643-1992\x0dPID|||PC17^^^HOSP^MR||\xc5\xde^\xc4\xd1\xcd\xfc||19800304|M\x0d",
           138)},
      {"BIG-5", "BIG-5", "\xe8\xa8\xb1^\xe5\x8a\x9f",
       std::string("MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C18|P|2.5|"
                   "|||||BIG-5\x0dPID|||PC18^^^HOSP^MR||\xb3\x5c^\xa5\x5c||19800304|M\x0d",
                   127)},
      {"UNICODE", "UNICODE UTF-8", "\xe5\xbc\xa0^\xe4\xbc\x9f",
       std::string(
           "MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C19|P|2.5||||||"
           "UNICODE\x0dPID|||PC19^^^HOSP^MR||\xe5\xbc\xa0^\xe4\xbc\x9f||19800304|M\x0d",
           131)},
      {"UNICODE UTF-8", "UNICODE UTF-8",
       "\xce\xa9\xce\xbc\xce\xad\xce\xb3\xce\xb1^\xce\x95\xce\xbb\xce\xad\xce\xbd\xce\xb7",
       std::string("MSH|^~\x5c&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ADT^A08|C20|P|2.5|"
                   "|||||UNICODE "
                   "UTF-8\x0dPID|||PC20^^^HOSP^MR||\xce\xa9\xce\xbc\xce\xad\xce\xb3\xce\xb1^"
                   "\xce\x95\xce\xbb\xce\xad\xce\xbd\xce\xb7||19800304|M\x0d",
                   151)},
      {"UNICODE UTF-16", "UNICODE UTF-16", "\xe5\xb1\xb1\xe7\x94\xb0^\xe8\x8a\xb1\xe5\xad\x90",
       std::string("M\x00S\x00H\x00|\x00^\x00~\x00\x5c\x00&\x00|"
                   "\x00M\x00O\x00N\x00I\x00T\x00O\x00R\x00|\x00W\x00"
                   "A\x00R\x00"
                   "D\x00"
                   "3\x00|\x00H\x00L\x00"
                   "7\x00"
                   "E\x00N\x00G\x00I\x00N\x00"
                   "E\x00|\x00H\x00O\x00S\x00P\x00I\x00T\x00"
                   "A\x00L\x00|\x00"
                   "2\x00"
                   "0\x00"
                   "2\x00"
                   "6\x00"
                   "1\x00"
                   "1\x00"
                   "2\x00"
                   "2\x00"
                   "0\x00"
                   "9\x00"
                   "3\x00"
                   "0\x00"
                   "0\x00"
                   "0\x00|\x00|\x00"
                   "A\x00"
                   "D\x00T\x00^\x00"
                   "A\x00"
                   "0\x00"
                   "8\x00|\x00"
                   "C\x00"
                   "2\x00"
                   "1\x00|\x00P\x00|\x00"
                   "2\x00.\x00"
                   "5\x00|\x00|\x00|\x00|\x00|\x00|\x00U\x00N\x00I\x00"
                   "C\x00O\x00"
                   "D\x00"
                   "E\x00 \x00U\x00T\x00"
                   "F\x00-\x00"
                   "1\x00"
                   "6\x00\x0d\x00P\x00I\x00"
                   "D\x00|\x00|\x00|\x00P\x00"
                   "C\x00"
                   "2\x00"
                   "1\x00^\x00^\x00^\x00H\x00O\x00S\x00P\x00^\x00M\x00R\x00|\x00|\x00q\x5c"
                   "0u^\x00\xb1\x82P[|\x00|\x00"
                   "1\x00"
                   "9\x00"
                   "8\x00"
                   "0\x00"
                   "0\x00"
                   "3\x00"
                   "0\x00"
                   "4\x00|\x00M\x00\x0d\x00",
                   272)},
      {"UNICODE UTF-16", "UNICODE UTF-16", "Ng^Wing Kai",
       std::string("\x00M\x00S\x00H\x00|\x00^\x00~\x00\x5c\x00&\x00|"
                   "\x00M\x00O\x00N\x00I\x00T\x00O\x00R\x00|\x00W\x00"
                   "A\x00R\x00"
                   "D\x00"
                   "3\x00|\x00H\x00L\x00"
                   "7\x00"
                   "E\x00N\x00G\x00I\x00N\x00"
                   "E\x00|\x00H\x00O\x00S\x00P\x00I\x00T\x00"
                   "A\x00L\x00|\x00"
                   "2\x00"
                   "0\x00"
                   "2\x00"
                   "6\x00"
                   "1\x00"
                   "1\x00"
                   "2\x00"
                   "2\x00"
                   "0\x00"
                   "9\x00"
                   "3\x00"
                   "0\x00"
                   "0\x00"
                   "0\x00|\x00|\x00"
                   "A\x00"
                   "D\x00T\x00^\x00"
                   "A\x00"
                   "0\x00"
                   "8\x00|\x00"
                   "C\x00"
                   "2\x00"
                   "2\x00|\x00P\x00|\x00"
                   "2\x00.\x00"
                   "5\x00|\x00|\x00|\x00|\x00|\x00|\x00U\x00N\x00I\x00"
                   "C\x00O\x00"
                   "D\x00"
                   "E\x00 \x00U\x00T\x00"
                   "F\x00-\x00"
                   "1\x00"
                   "6\x00\x0d\x00P\x00I\x00"
                   "D\x00|\x00|\x00|\x00P\x00"
                   "C\x00"
                   "2\x00"
                   "2\x00^\x00^\x00^\x00H\x00O\x00S\x00P\x00^\x00M\x00R\x00|\x00|\x00N\x00g\x00^"
                   "\x00W\x00i\x00n\x00g\x00 \x00K\x00"
                   "a\x00i\x00|\x00|\x00"
                   "1\x00"
                   "9\x00"
                   "8\x00"
                   "0\x00"
                   "0\x00"
                   "3\x00"
                   "0\x00"
                   "4\x00|\x00M\x00\x0d",
                   284)},
      {"UNICODE UTF-32", "UNICODE UTF-32", "\xc3\x98vreg\xc3\xa5rd^\xc3\x85se",
       std::string("M\x00\x00\x00S\x00\x00\x00H\x00\x00\x00|\x00\x00\x00^\x00\x00\x00~"
                   "\x00\x00\x00\x5c\x00\x00\x00&\x00\x00\x00|"
                   "\x00\x00\x00M\x00\x00\x00O\x00\x00\x00N\x00\x00\x00I\x00\x00\x00T\x00\x00\x00O"
                   "\x00\x00\x00R\x00\x00\x00|\x00\x00\x00W\x00\x00\x00"
                   "A\x00\x00\x00R\x00\x00\x00"
                   "D\x00\x00\x00"
                   "3\x00\x00\x00|\x00\x00\x00H\x00\x00\x00L\x00\x00\x00"
                   "7\x00\x00\x00"
                   "E\x00\x00\x00N\x00\x00\x00G\x00\x00\x00I\x00\x00\x00N\x00\x00\x00"
                   "E\x00\x00\x00|"
                   "\x00\x00\x00H\x00\x00\x00O\x00\x00\x00S\x00\x00\x00P\x00\x00\x00I\x00\x00\x00T"
                   "\x00\x00\x00"
                   "A\x00\x00\x00L\x00\x00\x00|\x00\x00\x00"
                   "2\x00\x00\x00"
                   "0\x00\x00\x00"
                   "2\x00\x00\x00"
                   "6\x00\x00\x00"
                   "1\x00\x00\x00"
                   "1\x00\x00\x00"
                   "2\x00\x00\x00"
                   "2\x00\x00\x00"
                   "0\x00\x00\x00"
                   "9\x00\x00\x00"
                   "3\x00\x00\x00"
                   "0\x00\x00\x00"
                   "0\x00\x00\x00"
                   "0\x00\x00\x00|\x00\x00\x00|\x00\x00\x00"
                   "A\x00\x00\x00"
                   "D\x00\x00\x00T\x00\x00\x00^\x00\x00\x00"
                   "A\x00\x00\x00"
                   "0\x00\x00\x00"
                   "8\x00\x00\x00|\x00\x00\x00"
                   "C\x00\x00\x00"
                   "2\x00\x00\x00"
                   "3\x00\x00\x00|\x00\x00\x00P\x00\x00\x00|\x00\x00\x00"
                   "2\x00\x00\x00.\x00\x00\x00"
                   "5\x00\x00\x00|\x00\x00\x00|\x00\x00\x00|\x00\x00\x00|\x00\x00\x00|\x00\x00\x00|"
                   "\x00\x00\x00U\x00\x00\x00N\x00\x00\x00I\x00\x00\x00"
                   "C\x00\x00\x00O\x00\x00\x00"
                   "D\x00\x00\x00"
                   "E\x00\x00\x00 \x00\x00\x00U\x00\x00\x00T\x00\x00\x00"
                   "F\x00\x00\x00-\x00\x00\x00"
                   "3\x00\x00\x00"
                   "2\x00\x00\x00\x0d\x00\x00\x00P\x00\x00\x00I\x00\x00\x00"
                   "D\x00\x00\x00|\x00\x00\x00|\x00\x00\x00|\x00\x00\x00P\x00\x00\x00"
                   "C\x00\x00\x00"
                   "2\x00\x00\x00"
                   "3\x00\x00\x00^\x00\x00\x00^\x00\x00\x00^"
                   "\x00\x00\x00H\x00\x00\x00O\x00\x00\x00S\x00\x00\x00P\x00\x00\x00^"
                   "\x00\x00\x00M\x00\x00\x00R\x00\x00\x00|\x00\x00\x00|"
                   "\x00\x00\x00\xd8\x00\x00\x00v\x00\x00\x00r\x00\x00\x00"
                   "e\x00\x00\x00g\x00\x00\x00\xe5\x00\x00\x00r\x00\x00\x00"
                   "d\x00\x00\x00^\x00\x00\x00\xc5\x00\x00\x00s\x00\x00\x00"
                   "e\x00\x00\x00|\x00\x00\x00|\x00\x00\x00"
                   "1\x00\x00\x00"
                   "9\x00\x00\x00"
                   "8\x00\x00\x00"
                   "0\x00\x00\x00"
                   "0\x00\x00\x00"
                   "3\x00\x00\x00"
                   "0\x00\x00\x00"
                   "4\x00\x00\x00|\x00\x00\x00M\x00\x00\x00\x0d\x00\x00\x00",
                   572)},
  };
  return all;
}

std::vector<Message> decode(const std::string& content, DecoderLimits limits = {},
                            std::size_t piece = SIZE_MAX) {
  LogCallbacks cb;
  Decoder decoder(cb, std::move(limits));
  const auto bytes = bytes_of(mllp(content));
  for (std::size_t i = 0; i < bytes.size(); i += piece) {
    decoder.feed(Side::kClient, std::span(bytes).subspan(i, std::min(piece, bytes.size() - i)));
  }
  EXPECT_EQ(cb.errors, 0) << cb.log;
  return cb.messages;
}

class Table0211 : public ::testing::TestWithParam<std::size_t> {};

TEST_P(Table0211, ThePatientNameIsDecodedFromItsScript) {
  const Case& c = cases()[GetParam()];
  SCOPED_TRACE(c.msh18 + " " + c.reported);
  for (const std::size_t piece : {SIZE_MAX, std::size_t{1}}) {
    const auto messages = decode(c.message, {}, piece);
    ASSERT_EQ(messages.size(), 1U);
    const Message& m = messages[0];
    EXPECT_EQ(m.patient_name, c.name);
    EXPECT_EQ(m.charset_used, c.reported);
    EXPECT_TRUE(m.notes.empty()) << testing::describe(m);
    EXPECT_EQ(m.message_type + "^" + m.trigger_event, "ADT^A08");
    EXPECT_EQ(m.control_id,
              "C" + std::string(GetParam() < 10 ? "0" : "") + std::to_string(GetParam()));
    ASSERT_EQ(m.patient_identifiers.size(), 1U);
    EXPECT_EQ(m.patient_identifiers[0].id, "P" + m.control_id);
    EXPECT_EQ(m.size, c.message.size());
  }
}

INSTANTIATE_TEST_SUITE_P(Hl7Charset, Table0211, ::testing::Range(std::size_t{0}, cases().size()),
                         [](const ::testing::TestParamInfo<std::size_t>& param) {
                           std::string name;
                           for (const char ch : cases()[param.param].msh18) {
                             if (std::isalnum(static_cast<unsigned char>(ch)) != 0) name += ch;
                           }
                           return name + "_" + std::to_string(param.param);
                         });

TEST(Hl7Charset, TheTableSpellingsAndCommonVariantsAreKnown) {
  const std::vector<std::pair<std::string, std::string>> names = {
      {"ISO-8859-1", "8859/1"},
      {"iso 8859/15", "8859/15"},
      {"ISO_IR 100", "8859/1"},
      {"ISO_IR 144", "8859/5"},
      {"ISO-2022-JP", "ISO IR87"},
      {"ISO 2022 IR 87", "ISO IR87"},
      {"GB18030", "GB 18030"},
      {"GBK", "GB 18030"},
      {"EUC-KR", "KS X 1001"},
      {"KSC5601", "KS X 1001"},
      {"BIG5", "BIG-5"},
      {"EUC-TW", "CNS 11643-1992"},
      {"UTF-8", "UNICODE UTF-8"},
      {"UTF-16", "UNICODE UTF-16"},
      {"utf-32", "UNICODE UTF-32"},
      {"unicode utf-8", "UNICODE UTF-8"},
  };
  for (const auto& [declared, canonical] : names) {
    const auto cs = resolve_charset(declared);
    ASSERT_TRUE(cs.has_value()) << declared;
    EXPECT_EQ(cs->name, canonical) << declared;
  }
  EXPECT_FALSE(resolve_charset("KLINGON").has_value());
  EXPECT_FALSE(resolve_charset("8859/10").has_value());
}

constexpr std::string_view kUnknown =
    "MSH|^~\\&|MON|W|ENG|H|2026||ADT^A08|C1|P|2.5||||||X-WINDOWS-936\rPID|||1||"
    "\xe5\xbc\xa0^\xe4\xbc\x9f\r";

TEST(Hl7Charset, AnUnknownSetWithoutADeviceDefaultIsReadAsUtf8WithANote) {
  const auto messages = decode(std::string(kUnknown));
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].patient_name, "张^伟");
  EXPECT_EQ(messages[0].charset_used, "UNICODE UTF-8");
  EXPECT_EQ(messages[0].character_set, "X-WINDOWS-936");
  EXPECT_EQ(messages[0].notes,
            std::vector<std::string>{"unknown MSH-18 'X-WINDOWS-936', decoded as UNICODE UTF-8 "
                                     "(no default for the device)"});
  // Bytes that are not UTF-8 stay visible, and say so.
  std::string latin(kUnknown);
  latin.replace(latin.find('\xe5'), 7, "M\xfcller");
  const auto m = decode(latin);
  ASSERT_EQ(m.size(), 1U);
  EXPECT_EQ(m[0].patient_name.substr(0, 8), "M\\x{fc}l");
  EXPECT_EQ(m[0].notes.size(), 2U);
}

TEST(Hl7Charset, AnUnknownSetFallsBackToTheDevicesDefault) {
  std::string gb(kUnknown);
  gb.replace(gb.find('\xe5'), 7, "\xd5\xc5^\xce\xb0");
  DecoderLimits limits;
  limits.default_charset = "GB 18030";
  const auto messages = decode(gb, limits);
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].patient_name, "张^伟");
  EXPECT_EQ(messages[0].charset_used, "GB 18030");
  EXPECT_EQ(messages[0].notes,
            std::vector<std::string>{"unknown MSH-18 'X-WINDOWS-936', decoded as GB 18030 "
                                     "(the device's default)"});
}

TEST(Hl7Charset, AWideSetDeclaredOnASingleByteMessageIsNoted) {
  const auto messages = decode(
      "MSH|^~\\&|MON|W|ENG|H|2026||ADT^A08|C1|P|2.5||||||UNICODE UTF-16\rPID|||1||Doe^Jane\r");
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].patient_name, "Doe^Jane");
  EXPECT_EQ(messages[0].charset_used, "UNICODE UTF-8");
  EXPECT_EQ(messages[0].notes,
            std::vector<std::string>{"MSH-18 'UNICODE UTF-16' but the message is not encoded in "
                                     "it, decoded as UNICODE UTF-8"});
}

}  // namespace
}  // namespace wardgate::hl7
