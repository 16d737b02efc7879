#include "policy/hl7_rules.h"

#include <gtest/gtest.h>

namespace wardgate::policy {
namespace {

// A message's addressing as the decoder hands it over: raw values, the namespace ID cut at the
// component separator, and (here) the same text shown.
Hl7Addressing msg(std::string_view type, std::string_view trigger, std::string_view application,
                  int separator = '^') {
  const std::string_view namespace_id =
      application.substr(0, application.find(static_cast<char>(separator)));
  return {type, trigger, application, namespace_id, separator, type, trigger, application};
}

TEST(Hl7Rules, NoRulesAllowEverything) {
  EXPECT_TRUE(check_message({}, "mon-1", msg("ADT", "A08", "ANY")).allowed);
}

TEST(Hl7Rules, MessageTypesByTriggerOrWholeType) {
  Hl7Rules r;
  r.allowed_message_types = std::vector<std::string>{"ORU^R01", "ADT", "QRY^*"};
  EXPECT_TRUE(check_message(r, "mon-1", msg("ORU", "R01", "")).allowed);
  EXPECT_TRUE(check_message(r, "mon-1", msg("ADT", "A08", "")).allowed);
  EXPECT_TRUE(check_message(r, "mon-1", msg("QRY", "Q01", "")).allowed);
  const Decision d = check_message(r, "mon-1", msg("ORU", "R30", ""));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, Rule::kMessageType);
  EXPECT_STREQ(to_string(d.rule), "allowed_message_types");
  EXPECT_EQ(d.reason,
            "message type ORU^R30 is not allowed for device mon-1 (allowed: ORU^R01, ADT, QRY^*)");
  // Codes are compared exactly, as HL7 tables define them (upper case).
  EXPECT_FALSE(check_message(r, "mon-1", msg("oru", "R01", "")).allowed);
}

TEST(Hl7Rules, AnEmptyListAllowsNothing) {
  Hl7Rules r;
  r.allowed_message_types = std::vector<std::string>{};
  const Decision d = check_message(r, "mon-1", msg("ORU", "R01", ""));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "message type ORU^R01 is not allowed for device mon-1 (allowed: nothing)");
}

TEST(Hl7Rules, ReceivingApplicationWholeOrNamespaceId) {
  Hl7Rules r;
  r.allowed_receiving_applications = std::vector<std::string>{"HL7ENGINE", "LIS^1.2.3^ISO"};
  EXPECT_TRUE(check_message(r, "mon-1", msg("ORU", "R01", "HL7ENGINE")).allowed);
  EXPECT_TRUE(check_message(r, "mon-1", msg("ORU", "R01", "HL7ENGINE^2.16.1^ISO")).allowed);
  EXPECT_TRUE(check_message(r, "mon-1", msg("ORU", "R01", "LIS^1.2.3^ISO")).allowed);
  EXPECT_FALSE(check_message(r, "mon-1", msg("ORU", "R01", "LIS")).allowed);
  const Decision d = check_message(r, "mon-1", msg("ORU", "R01", "BILLING"));
  EXPECT_EQ(d.rule, Rule::kReceivingApplication);
  EXPECT_EQ(d.reason,
            "receiving application BILLING is not allowed for device mon-1 (allowed: HL7ENGINE, "
            "LIS^1.2.3^ISO)");
}

// Values are compared as sent: an escaped separator is no separator, and components are cut at
// the message's own component separator, as the receiving engine cuts them.
TEST(Hl7Rules, ReceivingApplicationComparedRaw) {
  Hl7Rules r;
  r.allowed_receiving_applications = std::vector<std::string>{"HL7ENGINE", "LIS^1.2.3^ISO"};
  EXPECT_FALSE(check_message(r, "mon-1", msg("ORU", "R01", "HL7ENGINE\\S\\X")).allowed);
  EXPECT_FALSE(check_message(r, "mon-1", msg("ORU", "R01", "HL7ENGINE&X")).allowed);
  EXPECT_TRUE(check_message(r, "mon-1", msg("ORU", "R01", "LIS#1.2.3#ISO", '#')).allowed);
  EXPECT_TRUE(check_message(r, "mon-1", msg("ORU", "R01", "HL7ENGINE#X", '#')).allowed);
  // '^' is an ordinary character when '#' separates components.
  EXPECT_FALSE(check_message(r, "mon-1", msg("ORU", "R01", "LIS^1.2.3^ISO", '#')).allowed);
  EXPECT_FALSE(check_message(r, "mon-1", msg("ORU", "R01", "HL7ENGINE^X", '#')).allowed);
  EXPECT_FALSE(check_message(r, "mon-1", msg("ORU", "R01", "LIS^1.2.3^ISO", -1)).allowed);
  EXPECT_FALSE(check_message(r, "mon-1", msg("ORU", "R01", "LIS^1.2.3^ISO^")).allowed);
}

TEST(Hl7Rules, MessageTypePatterns) {
  for (const char* ok : {"ORU^R01", "ADT", "ADT^*", "Z01^Z99", "ACK^A01"}) {
    EXPECT_TRUE(valid_message_type_pattern(ok)) << ok;
  }
  for (const char* bad :
       {"", "*", "OR", "ORUX", "ORU^", "ORU^R0", "ORU^R01^ORU_R01", "ORU_R01", "^R01", "OR*^R01"}) {
    EXPECT_FALSE(valid_message_type_pattern(bad)) << bad;
  }
}

}  // namespace
}  // namespace wardgate::policy
