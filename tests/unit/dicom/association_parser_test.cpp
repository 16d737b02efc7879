// A-ASSOCIATE-RQ/AC item parsing (PS3.8 9.3.2-9.3.3, PS3.7 D.3.3), with every item type, on
// hand-built PDU bodies.
#include "dicom/association_parser.h"

#include <gtest/gtest.h>

#include "dicom_test_support.h"

namespace wardgate::dicom::testing {
namespace {

std::vector<std::byte> uid_with_length(std::string_view uid) {
  return concat({be16(static_cast<std::uint16_t>(uid.size())), bytes_of(uid)});
}

// The body (after the 6-byte PDU header) of an associate PDU.
std::vector<std::byte> body_of(const std::vector<std::byte>& whole_pdu) {
  return {whole_pdu.begin() + 6, whole_pdu.end()};
}

std::vector<std::byte> full_request_items(std::string_view secret) {
  const auto pc = item(
      0x20,
      concat({{std::byte{7}, std::byte{0}, std::byte{0}, std::byte{0}},
              item(0x30, bytes_of("1.2.840.10008.5.1.4.1.1.2")),
              item(0x40, bytes_of("1.2.840.10008.1.2.1")),
              item(0x40, concat({bytes_of("1.2.840.10008.1.2"), {std::byte{0}}}))}));  // NUL padded
  const auto identity = item(
      0x58,
      concat({{std::byte{2}, std::byte{1}}, uid_with_length("alice"), uid_with_length(secret)}));
  const auto user = item(
      0x50,
      concat({item(0x51, be32(32768)), item(0x52, bytes_of("1.2.3.4.5")),
              item(0x53, concat({be16(5), be16(3)})),
              item(0x54, concat({uid_with_length("1.2.840.10008.5.1.4.1.1.2"),
                                 {std::byte{0}, std::byte{1}}})),
              item(0x55, bytes_of("WARDGATE_TEST")),
              item(0x56, concat({uid_with_length("1.2.840.10008.5.1.4.1.2.2.1"),
                                 {std::byte{1}, std::byte{1}}})),
              item(0x57, concat({uid_with_length("1.2.3"), uid_with_length("1.2.4"), be16(0)})),
              identity, item(0x7E, bytes_of("future"))}));
  return concat(
      {item(0x10, bytes_of("1.2.840.10008.3.1.1.1")), pc, user, item(0x99, bytes_of("unknown"))});
}

TEST(DicomAssociationParser, RequestWithEveryItem) {
  const auto body = body_of(associate(0x01, full_request_items("hunter2-secret")));
  Associate rq;
  ASSERT_FALSE(parse_associate(body, false, DecoderLimits{}, rq).has_value());
  EXPECT_EQ(rq.protocol_version, 1);
  EXPECT_EQ(rq.called_ae, "CALLED");
  EXPECT_EQ(rq.calling_ae, "CALLING");
  EXPECT_EQ(rq.application_context, "1.2.840.10008.3.1.1.1");
  ASSERT_EQ(rq.contexts.size(), 1U);
  EXPECT_EQ(rq.contexts[0].id, 7);
  EXPECT_EQ(rq.contexts[0].abstract_syntax, "1.2.840.10008.5.1.4.1.1.2");
  EXPECT_EQ(rq.contexts[0].transfer_syntaxes,
            (std::vector<std::string>{"1.2.840.10008.1.2.1", "1.2.840.10008.1.2"}));
  const UserInformation& u = rq.user;
  EXPECT_EQ(u.max_pdu_length, 32768U);
  EXPECT_EQ(u.implementation_class_uid, "1.2.3.4.5");
  EXPECT_EQ(u.implementation_version_name, "WARDGATE_TEST");
  EXPECT_EQ(u.max_operations_invoked, 5);
  EXPECT_EQ(u.max_operations_performed, 3);
  ASSERT_EQ(u.role_selections.size(), 1U);
  EXPECT_EQ(u.role_selections[0].sop_class_uid, "1.2.840.10008.5.1.4.1.1.2");
  EXPECT_FALSE(u.role_selections[0].scu_role);
  EXPECT_TRUE(u.role_selections[0].scp_role);
  EXPECT_EQ(u.extended_negotiation_sop_classes,
            std::vector<std::string>{"1.2.840.10008.5.1.4.1.2.2.1"});
  EXPECT_EQ(u.user_identity_type, 2);
  EXPECT_TRUE(u.user_identity_response_requested);
  EXPECT_FALSE(u.user_identity_server_response);
}

TEST(DicomAssociationParser, AcceptWithUserIdentityResponse) {
  const auto pc = item(0x21, concat({{std::byte{7}, std::byte{0}, std::byte{3}, std::byte{0}},
                                     item(0x40, bytes_of("1.2.840.10008.1.2.1"))}));
  const auto user =
      item(0x50, concat({item(0x51, be32(0)), item(0x59, uid_with_length("server-token"))}));
  const auto body = body_of(associate(0x02, concat({pc, user})));
  Associate ac;
  ASSERT_FALSE(parse_associate(body, true, DecoderLimits{}, ac).has_value());
  ASSERT_EQ(ac.contexts.size(), 1U);
  EXPECT_EQ(ac.contexts[0].result, 3);  // abstract syntax not supported
  EXPECT_EQ(ac.contexts[0].transfer_syntaxes, std::vector<std::string>{"1.2.840.10008.1.2.1"});
  EXPECT_EQ(ac.user.max_pdu_length, 0U);
  EXPECT_TRUE(ac.user.user_identity_server_response);
}

TEST(DicomAssociationParser, Malformed) {
  const auto parse = [](const std::vector<std::byte>& items, bool accept = false) {
    const auto body = body_of(associate(accept ? 0x02 : 0x01, items));
    Associate a;
    return parse_associate(body, accept, DecoderLimits{}, a);
  };
  const auto in_user = [](const std::vector<std::byte>& sub) { return item(0x50, sub); };
  const std::vector<std::pair<std::vector<std::byte>, const char*>> cases = {
      {in_user(item(0x51, be16(1))), "maximum length item of 2 bytes"},
      {in_user(item(0x53, be16(1))), "asynchronous operations window item of 2 bytes"},
      {in_user(item(0x54, concat({be16(40), bytes_of("1.2")}))), "role selection"},
      {in_user(item(0x56, concat({be16(40), bytes_of("1.2")}))), "extended negotiation"},
      {in_user(item(0x58, concat({{std::byte{1}, std::byte{0}}, be16(30), bytes_of("x")}))),
       "primary field overruns"},
      {in_user(item(0x58, concat({{std::byte{2}, std::byte{0}}, uid_with_length("u"), be16(9)}))),
       "secondary field overruns"},
      {item(0x21, concat({{std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}}})),
       "presentation context item of type 0x21"},
      {concat({item(0x20, {std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}}),
               item(0x20, {std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}})}),
       "appears twice"},
      {item(0x20, {std::byte{1}}), "shorter than its fixed fields"},
      {item(0x20, concat({{std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}},
                          item(0x30, bytes_of("1.2")),
                          item(0x30, bytes_of("1.3"))})),
       "more than one abstract syntax"},
      {{std::byte{0x10}, std::byte{0}}, "item header at byte 74 overruns"},
  };
  for (const auto& [items, expected] : cases) {
    const auto failure = parse(items);
    ASSERT_TRUE(failure.has_value()) << expected;
    EXPECT_EQ(failure->what, Violation::kMalformedPdu) << expected;
    EXPECT_NE(failure->detail.find(expected), std::string::npos) << failure->detail;
  }
  Associate a;
  const auto short_body = std::vector<std::byte>(67);
  const auto failure = parse_associate(short_body, false, DecoderLimits{}, a);
  ASSERT_TRUE(failure.has_value());
  EXPECT_NE(failure->detail.find("67 bytes, shorter than its fixed fields"), std::string::npos);
}

TEST(DicomAssociationParser, SecretNeverLeavesTheParser) {
  // Whatever the decoder reports about a user identity item, the credential is not in it.
  LogCallbacks cb;
  Decoder decoder(cb);
  decoder.feed(Side::kClient, associate(0x01, full_request_items("hunter2-secret")));
  EXPECT_EQ(cb.violations, 0) << cb.log;
  EXPECT_NE(cb.log.find("identity=2/1"), std::string::npos) << cb.log;
  EXPECT_EQ(cb.log.find("hunter2"), std::string::npos);
  EXPECT_EQ(cb.log.find("alice"), std::string::npos);
}

TEST(DicomAssociationParser, RejectAndAbortBodies) {
  const std::vector<std::byte> rj = {std::byte{0}, std::byte{2}, std::byte{3}, std::byte{1}};
  const AssociateReject r = parse_reject(rj);
  EXPECT_EQ(r.result, 2);
  EXPECT_EQ(r.source, 3);
  EXPECT_EQ(r.reason, 1);
  const std::vector<std::byte> ab = {std::byte{0}, std::byte{0}, std::byte{2}, std::byte{6}};
  const Abort a = parse_abort(ab);
  EXPECT_EQ(a.source, 2);
  EXPECT_EQ(a.reason, 6);
}

}  // namespace
}  // namespace wardgate::dicom::testing
