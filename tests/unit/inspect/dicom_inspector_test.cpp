// The DICOM inspector as the relay drives it: audit events for DIMSE-N operations (including the
// N-EVENT-REPORT a Storage Commitment SCP sends back on the same association), a refused command
// answered with A-ABORT to both sides, and a refused association answered with A-ASSOCIATE-RJ.
#include "inspect/dicom_inspector.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "audit/memory_sink.h"
#include "tests/unit/dicom/normalized_streams.h"
#include "tests/unit/inspect/audit_test_support.h"

namespace wardgate::inspect {
namespace {

using proxy::Inspector;

using dicom::Side;
using dicom::testing::Chunk;
using dicom::testing::Recording;

constexpr const char* kDeviceAddress = "10.1.1.20";

std::vector<std::byte> bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (const int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

Direction direction_of(Side side) {
  return side == Side::kClient ? Direction::kFromDevice : Direction::kToDevice;
}

class DicomInspectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    info_ = testing::session_info(7, "dicom", kDeviceAddress, 50123, "10.2.2.10", 104);
  }

  // One device at the session's address; `calling_ae` is its only allowed calling AE title.
  void make_inspector(const std::string& calling_ae = "CALLING", bool enforce = true) {
    policy::Device device;
    device.name = "ct-1";
    device.address = *policy::parse_ipv4(kDeviceAddress);
    device.type = policy::DeviceType::kModality;
    device.dicom.allowed_calling_ae = std::vector<std::string>{calling_ae};
    device.dicom.allowed_operations =
        std::vector<std::string>{"C-ECHO", "N-CREATE", "N-SET", "N-ACTION"};
    devices_ = std::make_unique<policy::DeviceRegistry>(std::vector<policy::Device>{device});
    DicomInspection settings;
    settings.enforce = enforce;
    settings.sink = &sink_;
    settings.devices = devices_.get();
    settings.patients = &patients_;
    settings.appliance_id = "wg-test";
    factory_ = std::make_unique<DicomInspectorFactory>(std::move(settings));
    inspector_ = factory_->create(info_);
    ASSERT_NE(inspector_, nullptr);
  }

  // Feeds every chunk (in pieces of `piece` bytes); expects each to be forwarded.
  void feed(const Recording& r, std::size_t piece = SIZE_MAX) {
    for (const Chunk& c : r) {
      std::span<const std::byte> rest(c.bytes);
      while (!rest.empty()) {
        const std::size_t n = std::min(piece, rest.size());
        ASSERT_EQ(inspector_->on_data(direction_of(c.side), rest.first(n)).kind,
                  Action::Kind::kForward);
        rest = rest.subspan(n);
      }
    }
  }

  void close() {
    inspector_->on_close(Direction::kFromDevice, CloseCause::kEof);
    inspector_->on_close(Direction::kToDevice, CloseCause::kEof);
  }

  std::vector<audit::Event> events(std::string_view action) const {
    return testing::events_of(sink_, action);
  }
  static std::string text(const audit::Event& e, std::string_view key) {
    return testing::text_field(e, key);
  }
  static std::uint64_t number(const audit::Event& e, std::string_view key) {
    return testing::number_field(e, key);
  }

  void expect_normalized_operations() {
    const std::vector<audit::Event> ops = events("operation");
    ASSERT_EQ(ops.size(), 4U);
    struct Expected {
      const char* command;
      const char* requested_by;
      std::uint64_t message_id;
      const char* sop_class;
      const char* sop_instance;
    };
    const Expected expected[] = {
        {"N-CREATE", "device", 1, "1.2.840.10008.3.1.2.3.3", "1.2.826.0.1.3680043.2.1125.1.42"},
        {"N-SET", "device", 2, "1.2.840.10008.3.1.2.3.3", "1.2.826.0.1.3680043.2.1125.1.42"},
        {"N-ACTION", "device", 3, "1.2.840.10008.1.20.1", "1.2.840.10008.1.20.1.1"},
        {"N-EVENT-REPORT", "server", 1, "1.2.840.10008.1.20.1", "1.2.840.10008.1.20.1.1"},
    };
    for (std::size_t i = 0; i < ops.size(); ++i) {
      SCOPED_TRACE(expected[i].command);
      const audit::Event& e = ops[i];
      EXPECT_EQ(e.device, "ct-1");
      EXPECT_EQ(e.outcome, audit::Outcome::kSuccess);
      EXPECT_EQ(text(e, "command"), expected[i].command);
      EXPECT_EQ(text(e, "status_class"), "success");
      EXPECT_EQ(number(e, "status"), 0U);
      EXPECT_EQ(text(e, "requested_by"), expected[i].requested_by);
      EXPECT_EQ(number(e, "message_id"), expected[i].message_id);
      EXPECT_EQ(text(e, "sop_class_uid"), expected[i].sop_class);
      EXPECT_EQ(text(e, "sop_instance_uid"), expected[i].sop_instance);
      EXPECT_EQ(text(e, "patient_id"), "<absent>");  // kOmit, though the N-CREATE carries one
    }
    EXPECT_EQ(text(ops[0], "modality"), "CT");  // peeked from the N-CREATE data set
    EXPECT_TRUE(events("security-alert").empty());
    EXPECT_TRUE(events("protocol-violation").empty());
  }

  SessionInfo info_;
  audit::MemorySink sink_;
  audit::PatientDataProtector patients_{audit::PatientDataPolicy::kOmit};
  std::unique_ptr<policy::DeviceRegistry> devices_;
  std::unique_ptr<DicomInspectorFactory> factory_;
  std::unique_ptr<Inspector> inspector_;
};

TEST_F(DicomInspectorTest, OneOperationEventPerNormalizedOperation) {
  make_inspector();
  feed(dicom::testing::normalized_dimse_exchange());
  close();
  expect_normalized_operations();
  EXPECT_EQ(events("association-accepted").size(), 1U);
  EXPECT_EQ(events("association-released").size(), 1U);
  const auto summary = events("association-summary");
  ASSERT_EQ(summary.size(), 1U);
  EXPECT_EQ(text(summary[0], "ended"), "released");
  EXPECT_EQ(number(summary[0], "failures"), 0U);
}

TEST_F(DicomInspectorTest, ByteByByteGivesTheSameOperations) {
  make_inspector();
  feed(dicom::testing::normalized_dimse_exchange(), 1);
  close();
  expect_normalized_operations();
}

TEST_F(DicomInspectorTest, ForbiddenStoreIsAbortedOnBothSides) {
  make_inspector();
  feed(dicom::testing::normalized_association(true));
  auto uid = dicom::testing::bytes_of("1.2.840.10008.5.1.4.1.1.2");  // 25 characters: pad
  uid.push_back(std::byte{0});
  const auto instance = dicom::testing::bytes_of("1.2.3.4.5.6");
  auto instance_padded = instance;
  instance_padded.push_back(std::byte{0});
  using dicom::testing::element;
  using dicom::testing::le16;
  const auto body = dicom::testing::concat(
      {element(0x0000, 0x0002, uid), element(0x0000, 0x0100, le16(0x0001)),
       element(0x0000, 0x0110, le16(9)), element(0x0000, 0x0700, le16(0)),
       element(0x0000, 0x0800, le16(0x0000)), element(0x0000, 0x1000, instance_padded)});
  const auto command = dicom::testing::concat(
      {element(0x0000, 0x0000,
               dicom::testing::concat({le16(static_cast<std::uint16_t>(body.size())), le16(0)})),
       body});
  const Action a =
      inspector_->on_data(Direction::kFromDevice, dicom::testing::pdata(5, 3, command));
  ASSERT_EQ(a.kind, Action::Kind::kClose);
  const Response& r = a.response;
  const auto abort = bytes({0x07, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x02, 0x00});
  ASSERT_TRUE(r.to_device.has_value());
  ASSERT_TRUE(r.to_upstream.has_value());
  EXPECT_EQ(*r.to_device, abort);
  EXPECT_EQ(*r.to_upstream, abort);

  const auto alerts = events("security-alert");
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].severity, audit::Severity::kAlert);
  EXPECT_EQ(alerts[0].outcome, audit::Outcome::kDenied);
  EXPECT_EQ(text(alerts[0], "alert"), "command-refused");
  EXPECT_EQ(text(alerts[0], "rule"), "allowed_operations");
  const auto aborted = events("association-aborted");
  ASSERT_EQ(aborted.size(), 1U);
  EXPECT_EQ(text(aborted[0], "aborted_by"), "wardgate");

  inspector_->on_close(Direction::kFromDevice, CloseCause::kInspector);
  inspector_->on_close(Direction::kToDevice, CloseCause::kInspector);
  const auto ops = events("operation");
  ASSERT_EQ(ops.size(), 1U);
  EXPECT_EQ(text(ops[0], "command"), "C-STORE");
  EXPECT_EQ(text(ops[0], "status_class"), "refused");
  EXPECT_EQ(number(ops[0], "message_id"), 9U);
  EXPECT_EQ(ops[0].outcome, audit::Outcome::kDenied);
}

TEST_F(DicomInspectorTest, UnknownCallingAeIsRejectedByWardgate) {
  make_inspector("MODALITY1");
  const Recording association = dicom::testing::normalized_association(false);
  ASSERT_EQ(association[0].side, Side::kClient);
  const Action a = inspector_->on_data(Direction::kFromDevice, association[0].bytes);
  ASSERT_EQ(a.kind, Action::Kind::kClose);
  const Response& r = a.response;
  ASSERT_TRUE(r.to_device.has_value());
  EXPECT_EQ(*r.to_device, bytes({0x03, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01, 0x01, 0x03}));
  ASSERT_TRUE(r.to_upstream.has_value());  // nothing was forwarded: close the server cleanly
  EXPECT_TRUE(r.to_upstream->empty());

  const auto alerts = events("security-alert");
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(text(alerts[0], "alert"), "association-refused");
  EXPECT_EQ(text(alerts[0], "rule"), "allowed_calling_ae");
  const auto rejected = events("association-rejected");
  ASSERT_EQ(rejected.size(), 1U);
  EXPECT_EQ(rejected[0].outcome, audit::Outcome::kDenied);
  EXPECT_EQ(text(rejected[0], "rejected_by"), "wardgate");
  EXPECT_EQ(text(rejected[0], "calling_ae"), "CALLING");
  EXPECT_EQ(text(rejected[0], "rule"), "allowed_calling_ae");
  EXPECT_EQ(number(rejected[0], "reason"), 3U);
}

// Issue 13: an A-ASSOCIATE-RQ is all device text; its values reach the audit record capped
// in length and count, each cut value listed with its original size.
TEST_F(DicomInspectorTest, AHostileAssociationRequestIsRecordedCappedAndMarked) {
  using dicom::testing::concat;
  using dicom::testing::item;
  make_inspector("CALLING", false);
  std::vector<std::byte> contexts;
  // Within what the decoder allows an A-ASSOCIATE-RQ (64 KiB, 128 contexts): one abstract syntax
  // longer than a list item may be.
  const std::string hostile_uid(300, '\x01');
  for (int i = 0; i < 128; ++i) {
    const auto id = static_cast<std::byte>(i + 1);  // distinct, as the parser requires
    contexts = concat(
        {contexts,
         item(0x20, concat({{id, std::byte{0}, std::byte{0}, std::byte{0}},
                            item(0x30, dicom::testing::bytes_of(
                                           i == 0 ? hostile_uid : hostile_uid.substr(0, 100))),
                            item(0x40, dicom::testing::bytes_of("1.2.840.10008.1.2"))}))});
  }
  const std::string version(20000, '\x01');
  const auto user = item(0x50, concat({item(0x51, dicom::testing::be32(16384)),
                                       item(0x52, dicom::testing::bytes_of("1.2.3.4")),
                                       item(0x55, dicom::testing::bytes_of(version))}));
  const auto rq = dicom::testing::associate(
      0x01,
      concat({item(0x10, dicom::testing::bytes_of("1.2.840.10008.3.1.1.1")), contexts, user}));
  inspector_->on_data(Direction::kFromDevice, rq);

  const auto requested = events("association-requested");
  ASSERT_EQ(requested.size(), 1U);
  const audit::Event& e = requested[0];
  EXPECT_EQ(text(e, "client_implementation_version"), version.substr(0, audit::kMaxValueBytes));
  const auto& proposed =
      std::get<std::vector<std::string>>(*e.fields.find("proposed_abstract_syntaxes"));
  ASSERT_EQ(proposed.size(), audit::kMaxListItems);
  EXPECT_EQ(proposed[0], hostile_uid.substr(0, audit::kMaxListItemBytes));
  EXPECT_EQ(std::get<std::vector<std::string>>(*e.fields.find(audit::kTruncatedKey)),
            (std::vector<std::string>{"proposed_abstract_syntaxes:13000:128",
                                      "client_implementation_version:20000"}));
  EXPECT_LE(audit::to_json(e).size(), 200U * 1024);
}

// -- a connection the core opened to the device's published storage SCP ----------------------

using dicom::testing::concat;
using dicom::testing::element;
using dicom::testing::le16;

// `text` padded to an even length with `pad` (PS3.5 6.2: UIDs with NUL, AE titles with space).
std::vector<std::byte> padded(std::string_view text, char pad) {
  auto out = dicom::testing::bytes_of(text);
  if (out.size() % 2 != 0) out.push_back(static_cast<std::byte>(pad));
  return out;
}

// A command set: the group length, then `body`.
std::vector<std::byte> command_set(const std::vector<std::byte>& body) {
  return concat(
      {element(0x0000, 0x0000, concat({le16(static_cast<std::uint16_t>(body.size())), le16(0)})),
       body});
}

// The C-STORE-RQ a PACS sends on a C-MOVE's sub-association (PS3.7 9.1.1.1), without data set.
std::vector<std::byte> move_store_rq(std::uint16_t id, std::string_view originator,
                                     std::uint16_t originator_id) {
  return command_set(
      concat({element(0x0000, 0x0002, padded("1.2.840.10008.5.1.4.1.1.2", '\0')),
              element(0x0000, 0x0100, le16(0x0001)), element(0x0000, 0x0110, le16(id)),
              element(0x0000, 0x0700, le16(0)), element(0x0000, 0x0800, le16(0x0101)),
              element(0x0000, 0x1000, padded("1.2.3.4.5.6", '\0')),
              element(0x0000, 0x1030, padded(originator, ' ')),
              element(0x0000, 0x1031, le16(originator_id))}));
}

std::vector<std::byte> store_rsp(std::uint16_t id) {
  return command_set(
      concat({element(0x0000, 0x0002, padded("1.2.840.10008.5.1.4.1.1.2", '\0')),
              element(0x0000, 0x0100, le16(0x8001)), element(0x0000, 0x0120, le16(id)),
              element(0x0000, 0x0800, le16(0x0101)), element(0x0000, 0x0900, le16(0)),
              element(0x0000, 0x1000, padded("1.2.3.4.5.6", '\0'))}));
}

class PublishedStorageTest : public DicomInspectorTest {
 protected:
  // The core (10.2.2.10) connected to the CT's storage SCP; `calling_ae` may call it.
  void make_inspector_for_core(const std::string& calling_ae) {
    info_ = testing::session_info(8, "dicom", "10.2.2.10", 40000, kDeviceAddress, 11113,
                                  proxy::DeviceSide::kServer);
    policy::Device device;
    device.name = "ct-1";
    device.address = *policy::parse_ipv4(kDeviceAddress);
    device.type = policy::DeviceType::kModality;
    // The CT's own rules allow only echo; what the core may do is the published service's.
    device.dicom.allowed_operations = std::vector<std::string>{"C-ECHO"};
    policy::PublishedService storescp;
    storescp.name = "storescp";
    storescp.port = 11113;
    storescp.protocol = "dicom";
    storescp.dicom.allowed_calling_ae = std::vector<std::string>{calling_ae};
    storescp.dicom.allowed_operations = std::vector<std::string>{"C-ECHO", "C-STORE"};
    device.published_services.push_back(storescp);
    devices_ = std::make_unique<policy::DeviceRegistry>(std::vector<policy::Device>{device});
    DicomInspection settings;
    settings.sink = &sink_;
    settings.devices = devices_.get();
    settings.patients = &patients_;
    settings.appliance_id = "wg-test";
    factory_ = std::make_unique<DicomInspectorFactory>(std::move(settings));
    inspector_ = factory_->create(info_);
    ASSERT_NE(inspector_, nullptr);
  }

  // The association's requester is the core: its bytes go to the device.
  static Direction from(Side side) {
    return side == Side::kClient ? Direction::kToDevice : Direction::kFromDevice;
  }
};

// -- commands that violate DIMSE inside a well-framed command set ------------------------------

// An N-CREATE-RQ of the Modality Performed Procedure Step SOP class (allowed) without data set.
std::vector<std::byte> mpps_create(std::uint16_t id) {
  return command_set(
      concat({element(0x0000, 0x0002, padded("1.2.840.10008.3.1.2.3.3", '\0')),
              element(0x0000, 0x0100, le16(0x0140)), element(0x0000, 0x0110, le16(id)),
              element(0x0000, 0x0800, le16(0x0101))}));
}

// A C-STORE-RQ of CT Image Storage (an operation the CT's rules do not allow), no data set,
// with or without a Message ID.
std::vector<std::byte> ct_store(std::optional<std::uint16_t> id) {
  std::vector<std::byte> body =
      concat({element(0x0000, 0x0002, padded("1.2.840.10008.5.1.4.1.1.2", '\0')),
              element(0x0000, 0x0100, le16(0x0001))});
  if (id) body = concat({body, element(0x0000, 0x0110, le16(*id))});
  body = concat({body, element(0x0000, 0x0700, le16(0)), element(0x0000, 0x0800, le16(0x0101)),
                 element(0x0000, 0x1000, padded("1.2.3.4.5.6", '\0'))});
  return command_set(body);
}

TEST_F(DicomInspectorTest, ARequestWithoutMessageIdIsStillPoliced) {
  // Audit only, so that the missing Message ID alone does not end the association: the rules
  // must still see the C-STORE.
  make_inspector("CALLING", false);
  feed(dicom::testing::normalized_association(true));
  ASSERT_EQ(
      inspector_->on_data(Direction::kFromDevice, dicom::testing::pdata(5, 3, ct_store({}))).kind,
      Action::Kind::kForward);
  const auto violations = events("protocol-violation");
  ASSERT_EQ(violations.size(), 1U);
  EXPECT_EQ(text(violations[0], "violation"), "missing-message-id");
  EXPECT_EQ(text(violations[0], "reaction"), "none (audit only)");
  const auto alerts = events("security-alert");
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(text(alerts[0], "alert"), "command-refused");
  EXPECT_EQ(text(alerts[0], "rule"), "allowed_operations");
}

TEST_F(DicomInspectorTest, ARequestWithoutMessageIdIsAbortedUnderEnforcement) {
  make_inspector();
  feed(dicom::testing::normalized_association(true));
  const Action a =
      inspector_->on_data(Direction::kFromDevice, dicom::testing::pdata(5, 3, ct_store({})));
  ASSERT_EQ(a.kind, Action::Kind::kClose);
  EXPECT_TRUE(a.response.to_device.has_value());
  EXPECT_TRUE(a.response.to_upstream.has_value());
  ASSERT_EQ(events("protocol-violation").size(), 1U);
  EXPECT_EQ(text(events("protocol-violation")[0], "violation"), "missing-message-id");
  EXPECT_EQ(text(events("protocol-violation")[0], "reaction"), "a-abort");
}

TEST_F(DicomInspectorTest, ACommandOnAContextNegotiatedForAnotherSopClassIsAborted) {
  make_inspector();
  feed(dicom::testing::normalized_association(true));
  // An N-CREATE of MPPS (allowed operation, no SOP class rule) sent on the CT storage context.
  const Action a =
      inspector_->on_data(Direction::kFromDevice, dicom::testing::pdata(5, 3, mpps_create(4)));
  ASSERT_EQ(a.kind, Action::Kind::kClose);
  const auto abort = bytes({0x07, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x02, 0x00});
  ASSERT_TRUE(a.response.to_device.has_value());
  ASSERT_TRUE(a.response.to_upstream.has_value());
  EXPECT_EQ(*a.response.to_device, abort);
  EXPECT_EQ(*a.response.to_upstream, abort);
  const auto violations = events("protocol-violation");
  ASSERT_EQ(violations.size(), 1U);
  EXPECT_EQ(text(violations[0], "violation"), "sop-class-not-negotiated");
  EXPECT_NE(text(violations[0], "detail").find("1.2.840.10008.3.1.2.3.3 on presentation context 5"),
            std::string::npos)
      << text(violations[0], "detail");
  const auto aborted = events("association-aborted");
  ASSERT_EQ(aborted.size(), 1U);
  EXPECT_EQ(text(aborted[0], "why"), "protocol-violation");
}

TEST_F(DicomInspectorTest, AuditOnlyKeepsAuditingAfterACommandViolation) {
  make_inspector("CALLING", false);
  const Recording exchange = dicom::testing::normalized_dimse_exchange();
  // After the association (RQ, AC): a command with a duplicate element, then the exchange's
  // operations as usual.
  ASSERT_GE(exchange.size(), 2U);
  feed(Recording(exchange.begin(), exchange.begin() + 2));
  const auto twice = command_set(
      concat({element(0x0000, 0x0002, padded("1.2.840.10008.3.1.2.3.3", '\0')),
              element(0x0000, 0x0100, le16(0x0140)), element(0x0000, 0x0110, le16(40)),
              element(0x0000, 0x0110, le16(41)), element(0x0000, 0x0800, le16(0x0101))}));
  ASSERT_EQ(inspector_->on_data(Direction::kFromDevice, dicom::testing::pdata(1, 3, twice)).kind,
            Action::Kind::kForward);
  feed(Recording(exchange.begin() + 2, exchange.end()));
  close();
  const auto violations = events("protocol-violation");
  ASSERT_EQ(violations.size(), 1U);
  EXPECT_EQ(text(violations[0], "violation"), "duplicate-command-element");
  // The four operations that followed are audited, then the unanswered N-CREATE as still open.
  const auto ops = events("operation");
  ASSERT_EQ(ops.size(), 5U);
  std::vector<std::string> commands;
  for (const auto& e : ops) commands.push_back(text(e, "command"));
  EXPECT_EQ(commands, (std::vector<std::string>{"N-CREATE", "N-SET", "N-ACTION", "N-EVENT-REPORT",
                                                "N-CREATE"}));
  EXPECT_EQ(text(ops[4], "status_class"), "no-response");
  EXPECT_EQ(events("association-released").size(), 1U);
}

TEST_F(PublishedStorageTest, TheCoresMoveStoreIsRecordedWithItsMoveOriginator) {
  make_inspector_for_core("CALLING");
  for (const Chunk& c : dicom::testing::normalized_association(true)) {
    ASSERT_EQ(inspector_->on_data(from(c.side), c.bytes).kind, Action::Kind::kForward);
  }
  ASSERT_EQ(
      inspector_
          ->on_data(Direction::kToDevice, dicom::testing::pdata(5, 3, move_store_rq(3, "PACS", 17)))
          .kind,
      Action::Kind::kForward);
  ASSERT_EQ(
      inspector_->on_data(Direction::kFromDevice, dicom::testing::pdata(5, 3, store_rsp(3))).kind,
      Action::Kind::kForward);
  close();

  EXPECT_TRUE(events("security-alert").empty());
  const auto ops = events("operation");
  ASSERT_EQ(ops.size(), 1U);
  const audit::Event& store = ops[0];
  EXPECT_EQ(store.device, "ct-1");
  EXPECT_EQ(text(store, "command"), "C-STORE");
  EXPECT_EQ(text(store, "requested_by"), "core");
  EXPECT_EQ(text(store, "initiator"), "core");
  EXPECT_EQ(text(store, "client"), "10.2.2.10:40000");
  EXPECT_EQ(text(store, "server"), "10.1.1.20:11113");
  EXPECT_EQ(text(store, "status_class"), "success");
  EXPECT_EQ(text(store, "move_originator_ae"), "PACS");
  EXPECT_EQ(number(store, "move_originator_message_id"), 17U);
  const auto summary = events("association-summary");
  ASSERT_EQ(summary.size(), 1U);
  EXPECT_EQ(number(summary[0], "objects"), 1U);
  // Counted from the device: what the core sent went to it.
  EXPECT_GT(number(summary[0], "bytes_to_device"), number(summary[0], "bytes_from_device"));
}

TEST_F(PublishedStorageTest, ACallingAeTheServiceDoesNotAllowIsRejectedTowardTheCore) {
  make_inspector_for_core("PACS");
  const Recording association = dicom::testing::normalized_association(false);
  ASSERT_EQ(association[0].side, Side::kClient);
  const Action a = inspector_->on_data(Direction::kToDevice, association[0].bytes);
  ASSERT_EQ(a.kind, Action::Kind::kClose);
  // The A-ASSOCIATE-RJ goes to the requester, the core; the device sees a plain close.
  ASSERT_TRUE(a.response.to_upstream.has_value());
  EXPECT_EQ(*a.response.to_upstream,
            bytes({0x03, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01, 0x01, 0x03}));
  ASSERT_TRUE(a.response.to_device.has_value());
  EXPECT_TRUE(a.response.to_device->empty());
  const auto alerts = events("security-alert");
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(text(alerts[0], "rule"), "allowed_calling_ae");
  EXPECT_EQ(alerts[0].device, "ct-1");
  EXPECT_EQ(text(alerts[0], "initiator"), "core");
  EXPECT_NE(text(alerts[0], "reason").find("ct-1 (published service storescp)"), std::string::npos)
      << text(alerts[0], "reason");
}

TEST_F(PublishedStorageTest, AnOperationTheServiceDoesNotAllowIsAborted) {
  make_inspector_for_core("CALLING");
  // The N-CREATE the exchange starts with is not among the service's C-ECHO and C-STORE.
  Action last;
  for (const Chunk& c : dicom::testing::normalized_dimse_exchange()) {
    last = inspector_->on_data(from(c.side), c.bytes);
    if (last.kind != Action::Kind::kForward) break;
  }
  ASSERT_EQ(last.kind, Action::Kind::kClose);
  EXPECT_TRUE(last.response.to_device.has_value());
  EXPECT_TRUE(last.response.to_upstream.has_value());
  const auto alerts = events("security-alert");
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(text(alerts[0], "rule"), "allowed_operations");
}

// The relay's message deadlines read where each stream stands: the first PDU under way, then
// completed, and what the decoder holds meanwhile, within the bound the relay reserves.
TEST_F(DicomInspectorTest, ProgressFollowsPdusAndHoldingsStayWithinTheAnnouncedBound) {
  make_inspector();
  const Recording association = dicom::testing::normalized_association(false);
  ASSERT_EQ(association[0].side, Side::kClient);
  const std::vector<std::byte>& rq = association[0].bytes;
  proxy::Progress p = inspector_->progress(Direction::kFromDevice);
  EXPECT_TRUE(p.framed);
  EXPECT_EQ(p.completed, 0U);
  EXPECT_FALSE(p.inside);

  const std::size_t half = rq.size() / 2;
  const std::size_t bound = inspector_->held_bytes_after(half);
  ASSERT_EQ(inspector_->on_data(Direction::kFromDevice, std::span(rq).first(half)).kind,
            Action::Kind::kForward);
  EXPECT_GT(inspector_->held_bytes(), 0U);  // the A-ASSOCIATE-RQ is buffered whole
  EXPECT_LE(inspector_->held_bytes(), bound);
  p = inspector_->progress(Direction::kFromDevice);
  EXPECT_EQ(p.completed, 0U);
  EXPECT_TRUE(p.inside);

  ASSERT_EQ(inspector_->on_data(Direction::kFromDevice, std::span(rq).subspan(half)).kind,
            Action::Kind::kForward);
  p = inspector_->progress(Direction::kFromDevice);
  EXPECT_EQ(p.completed, 1U);
  EXPECT_FALSE(p.inside);
  EXPECT_EQ(inspector_->progress(Direction::kToDevice).completed, 0U);  // the server said nothing
}

// The PACS's Error Comment (0000,0902) is free text that often names the patient: it follows
// audit.patient_data like the identifiers do.
TEST_F(DicomInspectorTest, ThePacsErrorCommentFollowsThePatientDataPolicy) {
  const std::string comment = "No MPPS for patient SMITH^JOHN ID 4711";
  const auto failure = command_set(
      concat({element(0x0000, 0x0002, padded("1.2.840.10008.3.1.2.3.3", '\0')),
              element(0x0000, 0x0100, le16(0x8140)), element(0x0000, 0x0120, le16(1)),
              element(0x0000, 0x0800, le16(0x0101)), element(0x0000, 0x0900, le16(0x0110)),
              element(0x0000, 0x0902, padded(comment, ' '))}));
  const audit::Secret secret{7};
  std::size_t round = 0;
  for (const auto policy : {audit::PatientDataPolicy::kPlain, audit::PatientDataPolicy::kKeyedHash,
                            audit::PatientDataPolicy::kOmit}) {
    SCOPED_TRACE(audit::to_string(policy));
    patients_ = audit::PatientDataProtector(policy, secret);
    make_inspector();
    feed(dicom::testing::normalized_association(false));
    feed({{Side::kClient, dicom::testing::pdata(1, 3, mpps_create(1))},
          {Side::kServer, dicom::testing::pdata(1, 3, failure)}});
    const auto ops = events("operation");
    ASSERT_EQ(ops.size(), ++round);
    EXPECT_EQ(number(ops.back(), "status"), 0x0110U);
    EXPECT_EQ(text(ops.back(), "error_comment"), patients_.protect(comment).value_or("<absent>"));
    if (policy == audit::PatientDataPolicy::kPlain) {
      EXPECT_EQ(text(ops.back(), "error_comment"), comment);
    } else {
      EXPECT_EQ(text(ops.back(), "error_comment").find("SMITH"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace wardgate::inspect
