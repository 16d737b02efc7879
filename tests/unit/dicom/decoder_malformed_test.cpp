// Hostile and broken inputs: each must give exactly one violation of the right kind, leave the
// decoder out of sync (nothing more reported, everything skippable), and never make it buffer
// more than its caps allow. Violations inside a well-framed command set are the exception: the
// command is still reported and decoding goes on.
#include <gtest/gtest.h>

#include "dicom_test_support.h"

namespace wardgate::dicom::testing {
namespace {

struct Fixture {
  explicit Fixture(DecoderLimits l = {}) : limits(l), decoder(cb, limits) {}

  void feed(Side side, const std::vector<std::byte>& bytes, bool byte_by_byte = false) {
    if (!byte_by_byte) {
      decoder.feed(side, bytes);
    } else {
      for (const std::byte& b : bytes) decoder.feed(side, std::span<const std::byte>(&b, 1));
    }
    max_buffered = std::max(max_buffered, decoder.buffered_bytes());
  }
  void associate() {
    feed(Side::kClient, echo_rq());
    feed(Side::kServer, echo_ac());
  }

  // Exactly one violation, of `what`, as the last line; out of sync afterwards.
  void expect_violation(Violation what, std::string_view detail_part = {}) {
    EXPECT_EQ(cb.violations, 1) << cb.log;
    const std::string want = std::string("VIOLATION ");
    const std::size_t at = cb.log.rfind(want);
    ASSERT_NE(at, std::string::npos) << cb.log;
    const std::string line = cb.log.substr(at);
    EXPECT_NE(line.find(std::string(" ") + to_string(what) + " "), std::string::npos) << line;
    EXPECT_NE(line.find(detail_part), std::string::npos) << line;
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "something was reported after the violation";
    EXPECT_FALSE(decoder.in_sync());
    EXPECT_EQ(decoder.skippable(Side::kClient), UINT64_MAX);
    EXPECT_EQ(decoder.skippable(Side::kServer), UINT64_MAX);
    EXPECT_EQ(decoder.buffered_bytes(), 0U);
    // Nothing more is reported, whatever comes.
    const std::string before = cb.log;
    feed(Side::kClient, echo_rq());
    feed(Side::kServer, pdata(1, 3, echo_command(9)));
    decoder.skip(Side::kClient, 1000);
    decoder.end_of_stream(Side::kClient);
    EXPECT_EQ(cb.log, before);
  }

  // One violation of `what`, right before the command it concerns, which is still reported; the
  // decoder stays in sync and decodes what follows.
  void expect_command_violation(Violation what, std::string_view detail_part) {
    EXPECT_EQ(cb.violations, 1) << cb.log;
    const std::size_t at = cb.log.rfind("VIOLATION ");
    ASSERT_NE(at, std::string::npos) << cb.log;
    const std::string line = cb.log.substr(at, cb.log.find('\n', at) - at);
    EXPECT_NE(line.find(std::string(" ") + to_string(what) + " "), std::string::npos) << line;
    EXPECT_NE(line.find(detail_part), std::string::npos) << line;
    EXPECT_EQ(cb.log.compare(at + line.size() + 1, 11, "CMD client "), 0) << cb.log;
    EXPECT_TRUE(decoder.in_sync());
    feed(Side::kClient, pdata(1, 3, echo_command(9)));
    EXPECT_NE(cb.log.find("CMD client ctx=1 field=0030 id=9 "), std::string::npos) << cb.log;
    EXPECT_EQ(cb.violations, 1) << cb.log;
  }

  LogCallbacks cb;
  DecoderLimits limits;
  Decoder decoder;
  std::size_t max_buffered = 0;
};

TEST(DicomMalformed, PduClaimingFourGibibytes) {
  for (const bool byte_by_byte : {false, true}) {
    Fixture f;
    f.associate();
    f.feed(Side::kClient,
           {std::byte{0x04}, std::byte{0}, std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF},
            std::byte{0xFF}, std::byte{0}, std::byte{0}},
           byte_by_byte);
    f.expect_violation(Violation::kPduTooLong, "4294967295 bytes");
    EXPECT_LT(f.max_buffered, 1024U);
  }
  Fixture f;  // an A-ASSOCIATE-RQ claiming 4 GiB: nothing buffered
  f.feed(Side::kClient, {std::byte{0x01}, std::byte{0}, std::byte{0xFF}, std::byte{0xFF},
                         std::byte{0xFF}, std::byte{0xFF}, std::byte{0}});
  f.expect_violation(Violation::kPduTooLong, "A-ASSOCIATE-RQ");
  EXPECT_EQ(f.max_buffered, 0U);
}

TEST(DicomMalformed, PDataBeyondTheNegotiatedMaximumPlusSlack) {
  DecoderLimits limits;
  limits.pdu_slack = 100;
  Fixture f(limits);
  f.associate();  // both sides announce 16384
  // A command fragment (not the last) of exactly the maximum.
  f.feed(Side::kClient, pdata(1, 1, std::vector<std::byte>(16384 + 100 - 6)));
  EXPECT_EQ(f.cb.violations, 0);
  auto too_long = pdata(1, 3, std::vector<std::byte>(16384 + 100 - 4));
  too_long.resize(6);  // the header alone is enough to refuse it
  f.feed(Side::kClient, too_long);
  f.expect_violation(Violation::kPduTooLong, "16484");
}

TEST(DicomMalformed, ItemOverrunningItsPdu) {
  auto rq = echo_rq();
  // The application context item (right after the fixed fields) claims more than the PDU has.
  rq[6 + 68 + 2] = std::byte{0x7F};
  Fixture f;
  f.feed(Side::kClient, rq);
  f.expect_violation(Violation::kMalformedPdu, "overrunning");
}

TEST(DicomMalformed, SubItemOverrunningItsItem) {
  const auto pc = item(0x20, concat({{std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}},
                                     {std::byte{0x30}, std::byte{0}, std::byte{0}, std::byte{40}},
                                     bytes_of("1.2")}));
  Fixture f;
  f.feed(Side::kClient, associate(0x01, pc));
  f.expect_violation(Violation::kMalformedPdu, "item 0x30");
}

TEST(DicomMalformed, PDataBeforeTheAssociation) {
  Fixture f;
  f.feed(Side::kClient, pdata(1, 3, echo_command(1)));
  f.expect_violation(Violation::kUnexpectedPdu,
                     "P-DATA-TF from the requestor before the association");
  Fixture g;
  g.feed(Side::kClient, echo_rq());
  g.feed(Side::kClient, pdata(1, 3, echo_command(1)));  // RQ sent, AC not yet seen
  g.expect_violation(Violation::kUnexpectedPdu, "before the association was accepted");
}

TEST(DicomMalformed, PdvWithOddLength) {
  Fixture f;
  f.associate();
  auto p = pdata(1, 3, concat({echo_command(1), {std::byte{0}}}));
  f.feed(Side::kClient, p);
  f.expect_violation(Violation::kBadPdv, "odd");
}

TEST(DicomMalformed, PdvWithZeroLength) {
  Fixture f;
  f.associate();
  f.feed(Side::kClient, pdu(0x04, concat({be32(0), {std::byte{1}, std::byte{3}}})));
  f.expect_violation(Violation::kBadPdv, "leaves no room");
  Fixture h;
  h.associate();
  h.feed(Side::kClient, pdu(0x04, be32(0)));
  h.expect_violation(Violation::kBadPdv, "too few for a PDV header");
  Fixture g;
  g.associate();
  g.feed(Side::kClient, pdu(0x04, {}));
  g.expect_violation(Violation::kBadPdv, "without any PDV");
}

TEST(DicomMalformed, PdvOverrunningItsPdu) {
  Fixture f;
  f.associate();
  auto p = pdata(1, 3, echo_command(1));
  p[6 + 3] = std::byte{0xF0};  // PDV length low byte: far beyond the PDU
  f.feed(Side::kClient, p);
  f.expect_violation(Violation::kBadPdv, "overruns its P-DATA-TF PDU");
  Fixture g;  // a PDU ending with 3 bytes: too few for another PDV header
  g.associate();
  auto q = pdata(1, 3, echo_command(1));
  q.insert(q.end(), {std::byte{0}, std::byte{0}, std::byte{0}});
  q[5] = static_cast<std::byte>(std::to_integer<int>(q[5]) + 3);
  g.feed(Side::kClient, q);
  g.expect_violation(Violation::kBadPdv, "too few for a PDV header");
}

TEST(DicomMalformed, PdvForAContextNotAccepted) {
  Fixture f;
  f.associate();
  f.feed(Side::kClient, pdata(3, 3, echo_command(1)));
  f.expect_violation(Violation::kBadPdv,
                     "presentation context 3, which the association did not accept");
}

TEST(DicomMalformed, DataSetWithoutACommandAnnouncingIt) {
  Fixture f;
  f.associate();
  f.feed(Side::kClient, pdata(1, 2, std::vector<std::byte>(8)));
  f.expect_violation(Violation::kBadPdv, "without a command announcing a data set");
}

TEST(DicomMalformed, SecondAssociateRequest) {
  Fixture f;
  f.associate();
  f.feed(Side::kClient, echo_rq());
  f.expect_violation(Violation::kUnexpectedPdu,
                     "A-ASSOCIATE-RQ from the requestor after an association");
}

TEST(DicomMalformed, HttpRequestInsteadOfDicom) {
  Fixture f;
  f.feed(Side::kClient, bytes_of("GET / HTTP/1.1\r\nHost: pacs\r\n\r\n"));
  f.expect_violation(Violation::kUnknownPduType, "0x47 ('G')");
  Fixture g;  // reported at the very first byte
  g.feed(Side::kClient, bytes_of("G"));
  EXPECT_EQ(g.cb.violations, 1);
}

TEST(DicomMalformed, TruncatedAssociateRequestThenEndOfStream) {
  const auto rq = echo_rq();
  Fixture f;
  f.feed(Side::kClient, std::vector<std::byte>(rq.begin(), rq.begin() + 40));
  EXPECT_EQ(f.cb.violations, 0);
  f.decoder.end_of_stream(Side::kClient);
  f.expect_violation(Violation::kMalformedPdu, "closed inside an A-ASSOCIATE-RQ after 34 of its");
  Fixture g;
  g.feed(Side::kClient, std::vector<std::byte>(rq.begin(), rq.begin() + 3));
  g.decoder.end_of_stream(Side::kClient);
  g.expect_violation(Violation::kMalformedPdu, "inside a PDU header (3 of 6 bytes)");
  Fixture h;  // inside a P-DATA-TF
  h.associate();
  const auto p = pdata(1, 3, echo_command(1));
  h.feed(Side::kClient, std::vector<std::byte>(p.begin(), p.begin() + 20));
  h.decoder.end_of_stream(Side::kClient);
  h.expect_violation(Violation::kMalformedPdu, "inside a P-DATA-TF PDU");
}

TEST(DicomMalformed, EndOfStreamBetweenPdusIsNoViolation) {
  Fixture f;
  f.associate();
  f.decoder.end_of_stream(Side::kClient);
  f.decoder.end_of_stream(Side::kServer);
  EXPECT_EQ(f.cb.violations, 0);
  EXPECT_TRUE(f.decoder.in_sync());
}

TEST(DicomMalformed, CommandSetTooLong) {
  DecoderLimits limits;
  limits.max_command_set = 64;
  Fixture f(limits);
  f.associate();
  const auto command = echo_command(1);  // 76 bytes
  f.feed(Side::kClient, pdata(1, 1, std::vector<std::byte>(command.begin(), command.begin() + 40)));
  EXPECT_EQ(f.cb.violations, 0);
  f.feed(Side::kClient, pdata(1, 3, std::vector<std::byte>(command.begin() + 40, command.end())));
  f.expect_violation(Violation::kCommandTooLong, "exceeds 64 bytes");
  EXPECT_LE(f.max_buffered, 64U + 1024U);
}

TEST(DicomMalformed, CommandSetUndecodable) {
  Fixture f;
  f.associate();
  // One whole element, then two bytes of the next one.
  f.feed(
      Side::kClient,
      pdata(1, 3, concat({element(0x0000, 0x0002, bytes_of("12")), {std::byte{0}, std::byte{0}}})));
  f.expect_violation(Violation::kCommandUndecodable,
                     "command set ends inside the element at byte 10");
  Fixture g;  // well formed, but no Command Field
  g.associate();
  g.feed(Side::kClient, pdata(1, 3, element(0x0000, 0x0110, le16(1))));
  g.expect_violation(Violation::kCommandUndecodable, "without a Command Field");
}

TEST(DicomMalformed, TooManyPresentationContexts) {
  std::vector<std::byte> items;
  for (int id = 1; id <= 2 * 129; id += 2) {
    const auto pc =
        item(0x20, concat({{static_cast<std::byte>(id), std::byte{0}, std::byte{0}, std::byte{0}},
                           item(0x30, bytes_of("1.2.840.10008.1.1")),
                           item(0x40, bytes_of("1.2.840.10008.1.2"))}));
    items.insert(items.end(), pc.begin(), pc.end());
  }
  Fixture f;
  f.feed(Side::kClient, associate(0x01, items));
  f.expect_violation(Violation::kTooManyContexts, "more than 128 presentation contexts");
}

TEST(DicomMalformed, TooManyItems) {
  DecoderLimits limits;
  limits.max_items = 10;
  std::vector<std::byte> items;
  for (int i = 0; i < 11; ++i) {
    const auto it = item(0x10, bytes_of("1.2.840.10008.3.1.1.1"));
    items.insert(items.end(), it.begin(), it.end());
  }
  Fixture f(limits);
  f.feed(Side::kClient, associate(0x01, items));
  f.expect_violation(Violation::kTooManyItems, "more than 10 items");
}

TEST(DicomMalformed, TooManyOutstandingOperations) {
  DecoderLimits limits;
  limits.max_outstanding_operations = 2;
  Fixture f(limits);
  f.associate();
  f.feed(Side::kClient, pdata(1, 3, echo_command(1)));
  f.feed(Side::kClient, pdata(1, 3, echo_command(2)));
  f.feed(Side::kClient, pdata(1, 3, echo_command(2)));  // the same operation again: still 2
  EXPECT_EQ(f.cb.violations, 0);
  // A response closes operation 1; then a third one fits.
  const auto rsp =
      concat({element(0x0000, 0x0100, le16(0x8030)), element(0x0000, 0x0120, le16(1)),
              element(0x0000, 0x0800, le16(0x0101)), element(0x0000, 0x0900, le16(0))});
  f.feed(Side::kServer, pdata(1, 3, rsp));
  f.feed(Side::kClient, pdata(1, 3, echo_command(3)));
  EXPECT_EQ(f.cb.violations, 0) << f.cb.log;
  // A pending response keeps operation 2 open.
  const auto pending =
      concat({element(0x0000, 0x0100, le16(0x8030)), element(0x0000, 0x0120, le16(2)),
              element(0x0000, 0x0800, le16(0x0101)), element(0x0000, 0x0900, le16(0xFF00))});
  f.feed(Side::kServer, pdata(1, 3, pending));
  f.feed(Side::kClient, pdata(1, 3, echo_command(4)));
  // The command is whole: only the ledger is full, so the command is reported, left out of the
  // ledger, and decoding goes on.
  EXPECT_EQ(f.cb.violations, 1) << f.cb.log;
  EXPECT_NE(f.cb.log.find("VIOLATION client too-many-outstanding more than 2 operations without a "
                          "final response (Message ID 4)\nCMD client ctx=1 field=0030 id=4 "),
            std::string::npos)
      << f.cb.log;
  EXPECT_TRUE(f.decoder.in_sync());
  EXPECT_EQ(f.decoder.open_operations().size(), 2U);
  // The final response of operation 2 frees a place.
  const auto final_2 =
      concat({element(0x0000, 0x0100, le16(0x8030)), element(0x0000, 0x0120, le16(2)),
              element(0x0000, 0x0800, le16(0x0101)), element(0x0000, 0x0900, le16(0))});
  f.feed(Side::kServer, pdata(1, 3, final_2));
  f.feed(Side::kClient, pdata(1, 3, echo_command(5)));
  EXPECT_EQ(f.cb.violations, 1) << f.cb.log;
  EXPECT_EQ(f.decoder.open_operations().size(), 2U);
}

// C-ECHO-RQ command sets built element by element (the group length is optional).
std::vector<std::byte> echo_elements(std::initializer_list<std::vector<std::byte>> elements) {
  return concat(elements);
}
std::vector<std::byte> uid_value(std::string_view uid) {
  auto v = bytes_of(uid);
  if (v.size() % 2 != 0) v.push_back(std::byte{0});
  return v;
}

TEST(DicomMalformed, RequestWithoutMessageIdIsReportedAndStillDecoded) {
  Fixture f;
  f.associate();
  f.feed(Side::kClient,
         pdata(1, 3,
               echo_elements({element(0x0000, 0x0002, uid_value("1.2.840.10008.1.1")),
                              element(0x0000, 0x0100, le16(0x0030)),
                              element(0x0000, 0x0800, le16(0x0101))})));
  f.expect_command_violation(Violation::kMissingMessageId, "without a Message ID");
  EXPECT_NE(f.cb.log.find("CMD client ctx=1 field=0030 id=- "), std::string::npos) << f.cb.log;
}

TEST(DicomMalformed, DuplicateCommandElement) {
  // Two Affected SOP Class UIDs: wardgate's reading and the receiver's may differ.
  for (const bool adjacent : {true, false}) {
    Fixture f;
    f.associate();
    const auto first = element(0x0000, 0x0002, uid_value("1.2.840.10008.1.1"));
    const auto second = element(0x0000, 0x0002, uid_value("1.2.840.10008.5.1.4.1.1.2"));
    const auto field = element(0x0000, 0x0100, le16(0x0030));
    const auto id = element(0x0000, 0x0110, le16(1));
    const auto no_data = element(0x0000, 0x0800, le16(0x0101));
    f.feed(Side::kClient, pdata(1, 3,
                                adjacent ? echo_elements({first, second, field, id, no_data})
                                         : echo_elements({first, field, id, no_data, second})));
    f.expect_command_violation(Violation::kDuplicateCommandElement, "(0000,0002) appears twice");
  }
}

TEST(DicomMalformed, DuplicateMessageIdElement) {
  Fixture f;
  f.associate();
  f.feed(Side::kClient,
         pdata(1, 3,
               echo_elements({element(0x0000, 0x0002, uid_value("1.2.840.10008.1.1")),
                              element(0x0000, 0x0100, le16(0x0030)),
                              element(0x0000, 0x0110, le16(1)), element(0x0000, 0x0110, le16(2)),
                              element(0x0000, 0x0800, le16(0x0101))})));
  f.expect_command_violation(Violation::kDuplicateCommandElement, "(0000,0110) appears twice");
}

TEST(DicomMalformed, SopClassOtherThanTheContextNegotiated) {
  // The echo association negotiated Verification on context 1; a C-STORE of CT Image Storage
  // (or a C-ECHO naming it) travels there.
  for (const std::uint16_t field : {std::uint16_t{0x0001}, std::uint16_t{0x0030}}) {
    Fixture f;
    f.associate();
    f.feed(
        Side::kClient,
        pdata(1, 3,
              echo_elements({element(0x0000, 0x0002, uid_value("1.2.840.10008.5.1.4.1.1.2")),
                             element(0x0000, 0x0100, le16(field)), element(0x0000, 0x0110, le16(1)),
                             element(0x0000, 0x0800, le16(0x0101))})));
    f.expect_command_violation(Violation::kSopClassNotNegotiated,
                               "SOP class 1.2.840.10008.5.1.4.1.1.2 on presentation context 1 "
                               "negotiated for 1.2.840.10008.1.1");
  }
}

TEST(DicomMalformed, RequestWithoutSopClassOnAContext) {
  Fixture f;
  f.associate();
  f.feed(Side::kClient, pdata(1, 3,
                              echo_elements({element(0x0000, 0x0100, le16(0x0030)),
                                             element(0x0000, 0x0110, le16(1)),
                                             element(0x0000, 0x0800, le16(0x0101))})));
  f.expect_command_violation(Violation::kSopClassNotNegotiated, "SOP class (none)");
}

TEST(DicomMalformed, FixedSizePduWithAnotherLength) {
  Fixture f;
  f.associate();
  f.feed(Side::kClient, pdu(0x05, std::vector<std::byte>(6)));
  f.expect_violation(Violation::kMalformedPdu, "A-RELEASE-RQ of 6 bytes");
}

TEST(DicomMalformed, ReleaseResponseWithoutRequest) {
  Fixture f;
  f.associate();
  f.feed(Side::kServer, pdu(0x06, std::vector<std::byte>(4)));
  f.expect_violation(Violation::kUnexpectedPdu, "without a pending A-RELEASE-RQ");
}

TEST(DicomMalformed, AcceptOfAContextNeverProposed) {
  Fixture f;
  f.feed(Side::kClient, echo_rq());
  auto ac = echo_ac();
  const std::size_t at = 6 + 68 + 4 + 21 + 4;  // after the application context: the context id
  ASSERT_EQ(ac[at], std::byte{1});
  ac[at] = std::byte{5};
  f.feed(Side::kServer, ac);
  f.expect_violation(Violation::kMalformedPdu,
                     "accepts presentation context 5, which the A-ASSOCIATE-RQ did not propose");
}

TEST(DicomMalformed, AbortingSideSendsMore) {
  Fixture f;
  f.associate();
  f.feed(Side::kServer, pdu(0x07, std::vector<std::byte>(4)));
  // The client had sent its request before it saw the abort: still fine.
  f.feed(Side::kClient, pdata(1, 3, echo_command(1)));
  EXPECT_EQ(f.cb.violations, 0) << f.cb.log;
  f.feed(Side::kServer, pdata(1, 3, echo_command(1)));
  f.expect_violation(Violation::kUnexpectedPdu, "after its own A-ABORT");
}

TEST(DicomMalformed, SkipBeyondWhatIsSkippable) {
  Fixture f;
  f.associate();
  EXPECT_EQ(f.decoder.skippable(Side::kClient), 0U);
  f.decoder.skip(Side::kClient, 10);
  f.expect_violation(Violation::kMalformedPdu, "only 0 were skippable");
}

TEST(DicomMalformed, InterleavedMessagesMayNotBufferBeyondTheBudget) {
  // Two contexts; command sets left unfinished on each would buffer twice the command cap.
  DecoderLimits limits;
  limits.max_command_set = 100;
  limits.data_set_peek = 0;
  const auto pc = [](int id) {
    return item(0x20,
                concat({{static_cast<std::byte>(id), std::byte{0}, std::byte{0}, std::byte{0}},
                        item(0x30, bytes_of("1.2.840.10008.1.1")),
                        item(0x40, bytes_of("1.2.840.10008.1.2"))}));
  };
  const auto acpc = [](int id) {
    return item(0x21,
                concat({{static_cast<std::byte>(id), std::byte{0}, std::byte{0}, std::byte{0}},
                        item(0x40, bytes_of("1.2.840.10008.1.2"))}));
  };
  Fixture f(limits);
  f.feed(Side::kClient, associate(0x01, concat({pc(1), pc(3)})));
  f.feed(Side::kServer, associate(0x02, concat({acpc(1), acpc(3)})));
  f.feed(Side::kClient, pdata(1, 1, std::vector<std::byte>(80)));
  f.feed(Side::kClient, pdata(3, 1, std::vector<std::byte>(40)));
  f.expect_violation(Violation::kBadPdv, "interleaved messages would buffer more than 100 bytes");
}

}  // namespace
}  // namespace wardgate::dicom::testing
