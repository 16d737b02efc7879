// wardgate's refusal acknowledgements, byte for byte, and read back by wardgate's own decoder
// (which is how every other receiver of the sender's traffic reads ACKs).
#include "hl7/ack_builder.h"

#include <gtest/gtest.h>

#include "tests/unit/hl7/hl7_test_support.h"

namespace wardgate::hl7 {
namespace {

const Refusal kTypeRefused{AckCode::kAR, "200", "Unsupported message type",
                           "Refused by wardgate: message type not allowed for this device"};

TEST(AckBuilder, OriginalModeV25) {
  const std::string ack = build_refusal_ack(
      "MSH|^~\\&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122080000||ADT^A08^ADT_A01|MON0000001|P|2.5",
      false, kTypeRefused, "20261122080001+0000", "WG7-1");
  EXPECT_EQ(
      ack,
      "\x0bMSH|^~\\&|HL7ENGINE|HOSPITAL|MONITOR|WARD3|20261122080001+0000||ACK^A08^ACK|WG7-1|P|"
      "2.5\rMSA|AR|MON0000001|Refused by wardgate: message type not allowed for this device\r"
      "ERR|||200^Unsupported message type^HL70357|E\r\x1c\r");
}

TEST(AckBuilder, OlderVersionsUseErr1AndTheSendersSeparators) {
  const std::string ack = build_refusal_ack("MSH#*~!$#LAB#X#ENGINE#Y#2026##ORM*O01#C9#T#2.3.1",
                                            false, kTypeRefused, "2026", "WG1-1");
  EXPECT_EQ(ack,
            "\x0bMSH#*~!$#ENGINE#Y#LAB#X#2026##ACK*O01*ACK#WG1-1#T#2.3.1\rMSA#AR#C9#Refused by "
            "wardgate: message type not allowed for this device\rERR#***200$Unsupported message "
            "type$HL70357\r\x1c\r");
}

TEST(AckBuilder, EchoesTheCharsetAndKeepsDoubleByteFieldsWhole) {
  // GB 18030 "丨" is 0xD8 0x7C: its trail byte is '|'. The sending facility holds it.
  const std::string header = "MSH|^~\\&|MON|W\xd8\x7c|ENG|H|2026||ORU^R01|C1|P|2.5||||||GB 18030";
  const std::string ack = build_refusal_ack(header, true, kTypeRefused, "2026", "WG1-2");
  const std::string expected =
      "\x0bMSH|^~\\&|ENG|H|MON|W\xd8\x7c|2026||ACK^R01^ACK|WG1-2|P|2.5||||||GB 18030\rMSA|AR|C1|";
  EXPECT_EQ(ack.substr(0, expected.size()), expected);
}

TEST(AckBuilder, ItsAcknowledgementsReadBackAsTheRefusal) {
  // GB 18030 "张" (0xD5 0xC5) in the sending facility; the ACK is read by wardgate's decoder.
  const std::string header = "MSH|^~\\&|MON|W\xd5\xc5|ENG|H|2026||ORU^R01|C1|P|2.5||||||GB 18030";
  const std::string ack = build_refusal_ack(header, true, kTypeRefused, "2026", "WG1-2");
  testing::LogCallbacks log;
  Decoder decoder(log);
  decoder.feed(Side::kServer, testing::bytes_of(ack));
  ASSERT_EQ(log.messages.size(), 1u);
  const Message& m = log.messages[0];
  ASSERT_TRUE(m.ack.has_value());
  EXPECT_EQ(m.ack->code, AckCode::kAR);
  EXPECT_EQ(m.ack->control_id, "C1");
  EXPECT_EQ(m.ack->error_code, "200");
  EXPECT_EQ(m.ack->error_text, "Unsupported message type");
  EXPECT_EQ(m.message_type, "ACK");
  EXPECT_EQ(m.charset_used, "GB 18030");
  EXPECT_EQ(m.receiving_facility, "W\xe5\xbc\xa0");  // 张 in UTF-8
  EXPECT_EQ(log.errors, 0);
}

TEST(AckBuilder, EnhancedModeGetsACommitReject) {
  Message original;
  EXPECT_EQ(refusal_code(original), AckCode::kAR);
  original.accept_ack_type = "AL";
  EXPECT_EQ(refusal_code(original), AckCode::kCR);
  Refusal r = kTypeRefused;
  r.code = AckCode::kCR;
  const std::string ack = build_refusal_ack("MSH|^~\\&|A|B|C|D|2026||ORU^R01|X1|P|2.5|||AL|NE",
                                            false, r, "2026", "WG1-3");
  EXPECT_NE(ack.find("\rMSA|CR|X1|"), std::string::npos);
}

TEST(AckBuilder, NotAnMshGivesNothing) {
  EXPECT_EQ(build_refusal_ack("PID|1||X", false, kTypeRefused, "2026", "WG"), "");
  EXPECT_EQ(build_refusal_ack("MSH", false, kTypeRefused, "2026", "WG"), "");
}

}  // namespace
}  // namespace wardgate::hl7
