#include "policy/dicom_rules.h"

#include <gtest/gtest.h>

namespace wardgate::policy {
namespace {

using namespace dicom::spec;  // PS3.7 command fields

constexpr const char* kCtImage = "1.2.840.10008.5.1.4.1.1.2";
constexpr const char* kMrImage = "1.2.840.10008.5.1.4.1.1.4";
constexpr const char* kStudyRootFind = "1.2.840.10008.5.1.4.1.2.2.1";
constexpr const char* kStudyRootMove = "1.2.840.10008.5.1.4.1.2.2.2";
constexpr const char* kVerification = "1.2.840.10008.1.1";

DicomRules ct_rules() {
  DicomRules r;
  r.allowed_calling_ae = std::vector<std::string>{"CT01"};
  r.allowed_called_ae = std::vector<std::string>{"PACS", "ARCHIVE"};
  r.allowed_sop_classes = std::vector<std::string>{kCtImage, kStudyRootFind, kStudyRootMove};
  r.allowed_operations = std::vector<std::string>{"C-ECHO", "C-STORE", "C-FIND", "C-MOVE"};
  r.allowed_move_destinations = std::vector<std::string>{"CT01"};
  return r;
}

Decision associate(const DicomRules& r, std::string_view calling, std::string_view called,
                   std::vector<std::string> syntaxes) {
  return check_association(r, "ct-1", calling, called, syntaxes);
}

TEST(DicomRules, NoRulesAllowEverything) {
  const DicomRules none;
  EXPECT_TRUE(associate(none, "ANY", "THING", {"1.2.3"}).allowed);
  EXPECT_TRUE(associate(none, "", "", {}).allowed);
  EXPECT_TRUE(check_command(none, "ct-1", kCStoreRq, "1.2.3").allowed);
  EXPECT_TRUE(check_command(none, "ct-1", 0x1234, "").allowed);
  EXPECT_TRUE(check_command(none, "ct-1", kCMoveRq, kStudyRootMove, "ANYWHERE").allowed);
}

TEST(DicomRules, AnAllowedAssociationPasses) {
  const Decision d = associate(ct_rules(), "CT01", "PACS", {kCtImage, kMrImage});
  EXPECT_EQ(d, Decision::allow());
  EXPECT_EQ(d.rule, Rule::kNone);
  EXPECT_TRUE(d.reason.empty());
}

TEST(DicomRules, CallingAeTitleIsCheckedFirst) {
  EXPECT_EQ(
      associate(ct_rules(), "CT99", "OTHER", {kMrImage}),
      Decision::deny(Rule::kCallingAe, "calling AE title CT99 is not allowed for device ct-1"));
}

TEST(DicomRules, CalledAeTitle) {
  EXPECT_EQ(associate(ct_rules(), "CT01", "RIS", {kCtImage}),
            Decision::deny(Rule::kCalledAe, "called AE title RIS is not allowed for device ct-1"));
  EXPECT_TRUE(associate(ct_rules(), "CT01", "ARCHIVE", {kCtImage}).allowed);
}

TEST(DicomRules, AeTitlesIgnorePaddingButNotCase) {
  EXPECT_TRUE(associate(ct_rules(), "CT01            ", "  PACS  ", {kCtImage}).allowed);
  EXPECT_EQ(associate(ct_rules(), "ct01", "PACS", {kCtImage}).rule, Rule::kCallingAe);
  EXPECT_EQ(associate(ct_rules(), "CT 01", "PACS", {kCtImage}).rule, Rule::kCallingAe);
  EXPECT_EQ(associate(ct_rules(), "                ", "PACS", {kCtImage}).reason,
            "calling AE title  is not allowed for device ct-1");
  EXPECT_EQ(trim_ae_title("  A B  "), "A B");
  EXPECT_EQ(trim_ae_title("    "), "");
}

TEST(DicomRules, AnAssociationIsRejectedOnlyIfNoProposedSopClassIsAllowed) {
  EXPECT_TRUE(associate(ct_rules(), "CT01", "PACS", {kMrImage, "1.2.3", kCtImage}).allowed);
  EXPECT_EQ(associate(ct_rules(), "CT01", "PACS", {kMrImage, "1.2.3"}),
            Decision::deny(Rule::kSopClass,
                           "none of the 2 proposed SOP classes is allowed for device ct-1 "
                           "(first proposed: 1.2.840.10008.5.1.4.1.1.4)"));
  EXPECT_EQ(associate(ct_rules(), "CT01", "PACS", {}),
            Decision::deny(Rule::kSopClass,
                           "an association proposing no SOP class is not allowed for device ct-1"));
  // UID padding (a trailing NUL) is not significant.
  EXPECT_TRUE(associate(ct_rules(), "CT01", "PACS", {std::string(kCtImage) + std::string(1, '\0')})
                  .allowed);
}

TEST(DicomRules, VerificationIsAllowedWheneverCEchoIs) {
  EXPECT_TRUE(associate(ct_rules(), "CT01", "PACS", {kVerification}).allowed);
  EXPECT_TRUE(check_command(ct_rules(), "ct-1", kCEchoRq, kVerification).allowed);
  DicomRules no_echo = ct_rules();
  no_echo.allowed_operations = std::vector<std::string>{"C-STORE"};
  EXPECT_EQ(associate(no_echo, "CT01", "PACS", {kVerification}).rule, Rule::kSopClass);
  EXPECT_EQ(check_command(no_echo, "ct-1", kCEchoRq, kVerification),
            Decision::deny(Rule::kOperation, "operation C-ECHO is not allowed for device ct-1"));
  // With operations unrestricted, C-ECHO is allowed and so is Verification.
  DicomRules any_operation = ct_rules();
  any_operation.allowed_operations.reset();
  EXPECT_TRUE(associate(any_operation, "CT01", "PACS", {kVerification}).allowed);
}

TEST(DicomRules, CommandsAreCheckedForOperationThenSopClass) {
  const DicomRules r = ct_rules();
  EXPECT_TRUE(check_command(r, "ct-1", kCStoreRq, kCtImage).allowed);
  EXPECT_TRUE(check_command(r, "ct-1", kCFindRq, kStudyRootFind).allowed);
  EXPECT_EQ(check_command(r, "ct-1", kCGetRq, "1.2.840.10008.5.1.4.1.2.2.3"),
            Decision::deny(Rule::kOperation, "operation C-GET is not allowed for device ct-1"));
  EXPECT_EQ(check_command(r, "ct-1", kCStoreRq, kMrImage),
            Decision::deny(Rule::kSopClass,
                           "C-STORE of SOP class 1.2.840.10008.5.1.4.1.1.4 is not allowed for "
                           "device ct-1"));
  EXPECT_EQ(check_command(r, "ct-1", kCStoreRq, ""),
            Decision::deny(Rule::kSopClass,
                           "a C-STORE request without a SOP class UID is not allowed for device "
                           "ct-1"));
  EXPECT_EQ(check_command(r, "ct-1", 0x0042, kCtImage),
            Decision::deny(Rule::kOperation,
                           "command field 0x0042 (not a DIMSE request) is not allowed for device "
                           "ct-1"));
}

TEST(DicomRules, MoveDestinations) {
  const DicomRules r = ct_rules();
  EXPECT_TRUE(check_command(r, "ct-1", kCMoveRq, kStudyRootMove, "CT01").allowed);
  EXPECT_TRUE(check_command(r, "ct-1", kCMoveRq, kStudyRootMove, "CT01    ").allowed);
  EXPECT_EQ(check_command(r, "ct-1", kCMoveRq, kStudyRootMove, "LAPTOP"),
            Decision::deny(Rule::kMoveDestination,
                           "C-MOVE destination LAPTOP is not allowed for device ct-1"));
  // Only C-MOVE carries a destination.
  EXPECT_TRUE(check_command(r, "ct-1", kCStoreRq, kCtImage, "LAPTOP").allowed);
}

TEST(DicomRules, ResponsesAndCancelAreNeverRestricted) {
  DicomRules nothing;
  nothing.allowed_operations = std::vector<std::string>{};
  nothing.allowed_sop_classes = std::vector<std::string>{};
  EXPECT_TRUE(check_command(nothing, "d", kCCancelRq, "").allowed);
  EXPECT_TRUE(check_command(nothing, "d", kCStoreRq | kResponseBit, kMrImage).allowed);
  EXPECT_TRUE(check_command(nothing, "d", kNEventReportRq | kResponseBit, "").allowed);
  EXPECT_EQ(check_command(nothing, "d", kNActionRq, "1.2.840.10008.1.20.1").rule, Rule::kOperation);
}

TEST(DicomRules, EmptyListsAllowNothing) {
  DicomRules r;
  r.allowed_calling_ae = std::vector<std::string>{};
  EXPECT_EQ(associate(r, "CT01", "PACS", {kCtImage}).rule, Rule::kCallingAe);
  DicomRules no_moves;
  no_moves.allowed_move_destinations = std::vector<std::string>{};
  EXPECT_EQ(check_command(no_moves, "d", kCMoveRq, kStudyRootMove, "CT01").rule,
            Rule::kMoveDestination);
}

TEST(DicomRules, CommandFieldNames) {
  const std::vector<std::pair<std::uint16_t, std::string>> expected = {
      {0x0001, "C-STORE"},  {0x0010, "C-GET"},          {0x0020, "C-FIND"},   {0x0021, "C-MOVE"},
      {0x0030, "C-ECHO"},   {0x0100, "N-EVENT-REPORT"}, {0x0110, "N-GET"},    {0x0120, "N-SET"},
      {0x0130, "N-ACTION"}, {0x0140, "N-CREATE"},       {0x0150, "N-DELETE"},
  };
  for (const auto& [field, name] : expected) {
    EXPECT_EQ(operation_name(field), name);
    EXPECT_EQ(operation_name(field | kResponseBit), name);
    EXPECT_EQ(command_name(field), name + "-RQ");
    EXPECT_EQ(command_name(field | kResponseBit), name + "-RSP");
    EXPECT_FALSE(is_response(field));
    EXPECT_TRUE(is_response(field | kResponseBit));
  }
  EXPECT_EQ(command_name(0x0FFF), "C-CANCEL-RQ");
  EXPECT_EQ(operation_name(0x8FFF), std::nullopt);  // C-CANCEL has no response
  EXPECT_EQ(command_name(0x8FFF), "0x8fff");
  EXPECT_EQ(operation_name(0x0002), std::nullopt);
  EXPECT_EQ(command_name(0x0002), "0x0002");
}

TEST(DicomRules, OperationNamesAreTheRestrictableRequests) {
  const auto names = operation_names();
  EXPECT_EQ(names.size(), 11u);
  EXPECT_NE(std::find(names.begin(), names.end(), "N-EVENT-REPORT"), names.end());
  EXPECT_EQ(std::find(names.begin(), names.end(), "C-CANCEL"), names.end());
}

TEST(DicomRules, RuleNamesAreConfigurationKeys) {
  EXPECT_STREQ(to_string(Rule::kCallingAe), "allowed_calling_ae");
  EXPECT_STREQ(to_string(Rule::kCalledAe), "allowed_called_ae");
  EXPECT_STREQ(to_string(Rule::kSopClass), "allowed_sop_classes");
  EXPECT_STREQ(to_string(Rule::kOperation), "allowed_operations");
  EXPECT_STREQ(to_string(Rule::kMoveDestination), "allowed_move_destinations");
  EXPECT_STREQ(to_string(Rule::kNone), "none");
}

}  // namespace
}  // namespace wardgate::policy
