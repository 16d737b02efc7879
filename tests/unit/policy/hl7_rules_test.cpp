#include "policy/hl7_rules.h"

#include <gtest/gtest.h>

namespace wardgate::policy {
namespace {

TEST(Hl7Rules, NoRulesAllowEverything) {
  EXPECT_TRUE(check_message({}, "mon-1", "ADT", "A08", "ANY").allowed);
}

TEST(Hl7Rules, MessageTypesByTriggerOrWholeType) {
  Hl7Rules r;
  r.allowed_message_types = std::vector<std::string>{"ORU^R01", "ADT", "QRY^*"};
  EXPECT_TRUE(check_message(r, "mon-1", "ORU", "R01", "").allowed);
  EXPECT_TRUE(check_message(r, "mon-1", "ADT", "A08", "").allowed);
  EXPECT_TRUE(check_message(r, "mon-1", "QRY", "Q01", "").allowed);
  const Decision d = check_message(r, "mon-1", "ORU", "R30", "");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, Rule::kMessageType);
  EXPECT_STREQ(to_string(d.rule), "allowed_message_types");
  EXPECT_EQ(d.reason,
            "message type ORU^R30 is not allowed for device mon-1 (allowed: ORU^R01, ADT, QRY^*)");
  // Codes are compared exactly, as HL7 tables define them (upper case).
  EXPECT_FALSE(check_message(r, "mon-1", "oru", "R01", "").allowed);
}

TEST(Hl7Rules, AnEmptyListAllowsNothing) {
  Hl7Rules r;
  r.allowed_message_types = std::vector<std::string>{};
  const Decision d = check_message(r, "mon-1", "ORU", "R01", "");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "message type ORU^R01 is not allowed for device mon-1 (allowed: nothing)");
}

TEST(Hl7Rules, ReceivingApplicationWholeOrNamespaceId) {
  Hl7Rules r;
  r.allowed_receiving_applications = std::vector<std::string>{"HL7ENGINE", "LIS^1.2.3^ISO"};
  EXPECT_TRUE(check_message(r, "mon-1", "ORU", "R01", "HL7ENGINE").allowed);
  EXPECT_TRUE(check_message(r, "mon-1", "ORU", "R01", "HL7ENGINE^2.16.1^ISO").allowed);
  EXPECT_TRUE(check_message(r, "mon-1", "ORU", "R01", "LIS^1.2.3^ISO").allowed);
  EXPECT_FALSE(check_message(r, "mon-1", "ORU", "R01", "LIS").allowed);
  const Decision d = check_message(r, "mon-1", "ORU", "R01", "BILLING");
  EXPECT_EQ(d.rule, Rule::kReceivingApplication);
  EXPECT_EQ(d.reason,
            "receiving application BILLING is not allowed for device mon-1 (allowed: HL7ENGINE, "
            "LIS^1.2.3^ISO)");
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
