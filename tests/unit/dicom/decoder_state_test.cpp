// Association state and P-DATA reassembly on hand-made exchanges: what legal but unusual traffic
// looks like (interleaved contexts, release collisions, in-flight PDUs after an abort), zero-copy
// boundaries, and the negotiated maximum PDU lengths.
#include <gtest/gtest.h>

#include "dicom/pdu_builder.h"
#include "dicom_test_support.h"

namespace wardgate::dicom::testing {
namespace {

std::vector<std::byte> context_rq(int id, std::string_view abstract, std::string_view ts) {
  return item(0x20, concat({{static_cast<std::byte>(id), std::byte{0}, std::byte{0}, std::byte{0}},
                            item(0x30, bytes_of(abstract)),
                            item(0x40, bytes_of(ts))}));
}

std::vector<std::byte> context_ac(int id, std::string_view ts, int result = 0) {
  return item(0x21, concat({{static_cast<std::byte>(id), std::byte{0},
                             static_cast<std::byte>(result), std::byte{0}},
                            item(0x40, bytes_of(ts))}));
}

std::vector<std::byte> max_length(std::uint32_t max) { return item(0x50, item(0x51, be32(max))); }

// A C-STORE-RQ command set announcing a data set (CT Image Storage unless told).
std::vector<std::byte> store_command(std::uint16_t id,
                                     std::string_view sop_class = "1.2.840.10008.5.1.4.1.1.2") {
  auto uid = bytes_of(sop_class);
  if (uid.size() % 2 != 0) uid.push_back(std::byte{0});
  return concat({element(0x0000, 0x0002, uid), element(0x0000, 0x0100, le16(0x0001)),
                 element(0x0000, 0x0110, le16(id)), element(0x0000, 0x0800, le16(0x0000))});
}

std::vector<std::byte> release(std::uint8_t type) { return pdu(type, std::vector<std::byte>(4)); }

TEST(DicomDecoderState, InterleavedMessagesOnTwoContexts) {
  LogCallbacks cb;
  Decoder d(cb);
  d.feed(Side::kClient,
         associate(0x01, concat({context_rq(1, "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2"),
                                 context_rq(3, "1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.1.2"),
                                 max_length(0)})));
  d.feed(Side::kServer, associate(0x02, concat({context_ac(1, "1.2.840.10008.1.2"),
                                                context_ac(3, "1.2.840.10008.1.2")})));
  const auto a = store_command(1);
  const auto b = store_command(2, "1.2.840.10008.5.1.4.1.1.4");
  const std::vector<std::byte> a1(a.begin(), a.begin() + 10), a2(a.begin() + 10, a.end());
  d.feed(Side::kClient, pdata(1, 1, a1));
  d.feed(Side::kClient, pdata(3, 3, b));  // a whole message on 3 while 1 is mid-command
  d.feed(Side::kClient, pdata(1, 3, a2));
  d.feed(Side::kClient, pdata(3, 2, element(0x0008, 0x0018, bytes_of("1.2.3."))));
  d.feed(Side::kClient, pdata(1, 2, element(0x0008, 0x0018, bytes_of("4.5.6."))));
  EXPECT_EQ(cb.violations, 0) << cb.log;
  EXPECT_NE(cb.log.find("CMD client ctx=3 field=0001 id=2"), std::string::npos);
  EXPECT_NE(cb.log.find("CMD client ctx=1 field=0001 id=1"), std::string::npos);
  EXPECT_NE(cb.log.find("IDS client ctx=3 sop= inst=1.2.3."), std::string::npos) << cb.log;
  EXPECT_NE(cb.log.find("IDS client ctx=1 sop= inst=4.5.6."), std::string::npos);
  EXPECT_NE(cb.log.find("END client ctx=3 bytes=14"), std::string::npos);
}

TEST(DicomDecoderState, ReleaseCollisionAndInFlightPdus) {
  LogCallbacks cb;
  Decoder d(cb);
  d.feed(Side::kClient, echo_rq());
  d.feed(Side::kServer, echo_ac());
  d.feed(Side::kClient, release(0x05));
  d.feed(Side::kServer, pdata(1, 3, echo_command(7)));  // sent before it saw the release
  d.feed(Side::kServer, release(0x05));                 // collision: both asked
  d.feed(Side::kClient, release(0x06));
  d.feed(Side::kServer, release(0x06));
  d.end_of_stream(Side::kClient);
  d.end_of_stream(Side::kServer);
  EXPECT_EQ(cb.violations, 0) << cb.log;
  EXPECT_NE(cb.log.find("RELEASE-RQ server\nRELEASE-RP client\nRELEASE-RP server\n"),
            std::string::npos)
      << cb.log;
}

TEST(DicomDecoderState, AbortBeforeAnyAssociation) {
  LogCallbacks cb;
  Decoder d(cb);
  d.feed(Side::kServer, pdu(0x07, {std::byte{0}, std::byte{0}, std::byte{2}, std::byte{0}}));
  EXPECT_EQ(cb.log, "ABORT server source=2 reason=0\n");
}

TEST(DicomDecoderState, DeflatedDataSetIsSkippableFromItsFirstByte) {
  LogCallbacks cb;
  Decoder d(cb);
  d.feed(Side::kClient,
         associate(0x01, context_rq(1, "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2.1.99")));
  d.feed(Side::kServer, associate(0x02, context_ac(1, "1.2.840.10008.1.2.1.99")));
  d.feed(Side::kClient, pdata(1, 3, store_command(1)));
  const auto data_set = pdata(1, 2, std::vector<std::byte>(1000, std::byte{0x5A}));
  d.feed(Side::kClient, std::span(data_set).first(12));  // PDU and PDV headers
  EXPECT_NE(cb.log.find("note=[deflated transfer syntax 1.2.840.10008.1.2.1.99"), std::string::npos)
      << cb.log;
  EXPECT_EQ(d.skippable(Side::kClient), 1000U);
  EXPECT_FALSE(d.at_pdu_boundary(Side::kClient));
  d.skip(Side::kClient, 600);
  EXPECT_EQ(d.skippable(Side::kClient), 400U);
  d.skip(Side::kClient, 400);
  EXPECT_TRUE(d.at_pdu_boundary(Side::kClient));
  EXPECT_EQ(d.skippable(Side::kClient), 0U);
  EXPECT_NE(cb.log.find("END client ctx=1 bytes=1000"), std::string::npos);
  EXPECT_EQ(cb.violations, 0);
}

TEST(DicomDecoderState, PeekPrefixThenSkippableRest) {
  DecoderLimits limits;
  limits.data_set_peek = 100;
  LogCallbacks cb;
  Decoder d(cb, limits);
  d.feed(Side::kClient, echo_rq());
  d.feed(Side::kServer, echo_ac());
  d.feed(Side::kClient, pdata(1, 3, store_command(1)));
  const auto data_set =
      pdata(1, 2, concat({element(0x0010, 0x0020, bytes_of("P1")), std::vector<std::byte>(500)}));
  d.feed(Side::kClient, std::span(data_set).first(12 + 99));
  EXPECT_EQ(d.skippable(Side::kClient), 0U);  // one byte of the prefix still missing
  EXPECT_EQ(cb.log.find("IDS"), std::string::npos);
  d.feed(Side::kClient, std::span(data_set).subspan(12 + 99, 1));
  EXPECT_NE(cb.log.find("IDS client ctx=1 sop= inst= study= series= pid=P1"), std::string::npos)
      << cb.log;
  EXPECT_EQ(d.skippable(Side::kClient), data_set.size() - 12 - 100);
  EXPECT_LE(d.buffered_bytes(), 100U + 1024U);
}

TEST(DicomDecoderState, MaximumPduLengthsFollowTheReceiver) {
  DecoderLimits limits;
  limits.pdu_slack = 0;
  limits.max_pdu_length = 1 << 20;
  const auto pdata_header = [](std::uint32_t length) {
    return concat({{std::byte{4}, std::byte{0}}, be32(length)});
  };
  {  // the server takes at most 4096, the client announced unlimited (0): absolute cap
    LogCallbacks cb;
    Decoder d(cb, limits);
    d.feed(Side::kClient,
           associate(0x01, concat({context_rq(1, "1.2.840.10008.1.1", "1.2.840.10008.1.2"),
                                   max_length(0)})));
    d.feed(Side::kServer,
           associate(0x02, concat({context_ac(1, "1.2.840.10008.1.2"), max_length(4096)})));
    d.feed(Side::kServer, pdata_header(1 << 20));
    EXPECT_EQ(cb.violations, 0) << cb.log;
    d.feed(Side::kClient, pdata_header(4097));
    EXPECT_EQ(cb.violations, 1);
    EXPECT_NE(cb.log.find("VIOLATION client pdu-too-long P-DATA-TF of 4097 bytes exceeds 4096"),
              std::string::npos)
        << cb.log;
  }
  {
    LogCallbacks cb;
    Decoder d(cb, limits);
    d.feed(Side::kClient, echo_rq());
    d.feed(Side::kServer, echo_ac());
    d.feed(Side::kServer, pdata_header((1 << 20) + 1));
    EXPECT_NE(cb.log.find("VIOLATION server pdu-too-long"), std::string::npos) << cb.log;
  }
}

TEST(DicomDecoderState, RejectedContextCarriesNoData) {
  LogCallbacks cb;
  Decoder d(cb);
  d.feed(Side::kClient,
         associate(0x01, concat({context_rq(1, "1.2.840.10008.1.1", "1.2.840.10008.1.2"),
                                 context_rq(3, "1.2.3", "1.2.840.10008.1.2")})));
  d.feed(Side::kServer, associate(0x02, concat({context_ac(1, "1.2.840.10008.1.2"),
                                                context_ac(3, "1.2.840.10008.1.2", 3)})));
  d.feed(Side::kClient, pdata(3, 3, echo_command(1)));
  EXPECT_NE(cb.log.find("bad-pdv PDV for presentation context 3, which the association did not"),
            std::string::npos)
      << cb.log;
}

TEST(DicomDecoderState, PduBoundariesForPdusOfOurOwn) {
  LogCallbacks cb;
  Decoder d(cb);
  EXPECT_TRUE(d.at_pdu_boundary(Side::kClient));
  const auto rq = echo_rq();
  d.feed(Side::kClient, std::span(rq).first(3));
  EXPECT_FALSE(d.at_pdu_boundary(Side::kClient));
  d.feed(Side::kClient, std::span(rq).subspan(3));
  EXPECT_TRUE(d.at_pdu_boundary(Side::kClient));
  d.feed(Side::kServer, echo_ac());
  const auto p = pdata(1, 3, echo_command(1));
  d.feed(Side::kServer, std::span(p).first(8));  // inside the server's P-DATA-TF
  d.feed(Side::kClient, bytes_of("GET /"));      // the client violates
  EXPECT_EQ(cb.violations, 1);
  // Frozen at the violation: the server's stream is mid-PDU, the client's was at a boundary
  // before the unknown PDU type byte.
  EXPECT_FALSE(d.at_pdu_boundary(Side::kServer));
  EXPECT_TRUE(d.at_pdu_boundary(Side::kClient));
}

TEST(DicomDecoderState, PdusWardgateSendsItselfDecodeAsSuch) {
  LogCallbacks cb;
  Decoder d(cb);
  d.feed(Side::kClient, echo_rq());
  d.feed(Side::kServer, make_associate_reject(1, 1, 3));
  EXPECT_EQ(cb.log.substr(cb.log.find("RJ")), "RJ result=1 source=1 reason=3\n");
  LogCallbacks cb2;
  Decoder d2(cb2);
  d2.feed(Side::kClient, echo_rq());
  d2.feed(Side::kServer, echo_ac());
  d2.feed(Side::kServer, make_abort(2, 6));
  EXPECT_EQ(cb2.log.substr(cb2.log.find("ABORT")), "ABORT server source=2 reason=6\n");
}

}  // namespace
}  // namespace wardgate::dicom::testing
