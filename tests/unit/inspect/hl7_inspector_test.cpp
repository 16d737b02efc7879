// The HL7 inspector as the relay drives it: per-device rules audited, or enforced (the refused
// message withheld and answered by wardgate with an AR/CR the sender can read), the per-device
// default character set, and what is forwarded byte for byte.
#include "inspect/hl7_inspector.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "audit/memory_sink.h"
#include "tests/unit/hl7/hl7_test_support.h"
#include "tests/unit/inspect/audit_test_support.h"

namespace wardgate::inspect {
namespace {

using proxy::Inspector;

using hl7::testing::bytes_of;
using hl7::testing::mllp;

constexpr const char* kMonitor = "10.1.1.30";

std::string text_of(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string message(const std::string& type, const std::string& id, const std::string& extra = "") {
  return "MSH|^~\\&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122080000||" + type + "|" + id +
         "|P|2.5" + extra + "\rPID|1||PID001^^^HOSP^MR||Doe^Jane\rOBX|1|NM|8867-4^HR^LN||72";
}

class Hl7InspectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    info_ = testing::session_info(9, "hl7", kMonitor, 40000, "10.2.2.20", 2575);
  }

  void make(bool enforce, policy::Hl7Rules rules) {
    policy::Device device;
    device.name = "monitor-1";
    device.address = *policy::parse_ipv4(kMonitor);
    device.type = policy::DeviceType::kMonitor;
    device.hl7 = std::move(rules);
    devices_ = std::make_unique<policy::DeviceRegistry>(std::vector<policy::Device>{device});
    Hl7Inspection settings;
    settings.sink = &sink_;
    settings.devices = devices_.get();
    settings.patients = &patients_;
    settings.appliance_id = "wg-test";
    settings.enforce = enforce;
    factory_ = std::make_unique<Hl7InspectorFactory>(std::move(settings));
    inspector_ = factory_->create(info_);
  }

  static policy::Hl7Rules oru_only() {
    policy::Hl7Rules r;
    r.allowed_message_types = std::vector<std::string>{"ORU^R01"};
    return r;
  }

  // What the relay would forward for this chunk; a message the inspector injects toward the
  // device is kept for injected(), as the relay would write it there.
  std::string relay(Direction d, const std::string& bytes) {
    const auto b = bytes_of(bytes);
    const Action a = inspector_->on_data(d, b);
    EXPECT_NE(a.kind, Action::Kind::kClose);
    if (a.kind == Action::Kind::kForward) return bytes;
    if (a.kind == Action::Kind::kInject) {
      EXPECT_EQ(a.into, Direction::kToDevice);
      to_device_ += text_of(a.message);
    }
    return text_of(a.released);
  }
  std::string device_sends(const std::string& bytes) {
    return relay(Direction::kFromDevice, bytes);
  }
  void server_sends(const std::string& bytes) {
    EXPECT_EQ(relay(Direction::kToDevice, bytes), bytes);
  }
  // wardgate's own bytes put into the device's stream since the last call.
  std::string injected() { return std::exchange(to_device_, {}); }

  std::vector<audit::Event> events(std::string_view action) const {
    return testing::events_of(sink_, action);
  }
  static std::string text(const audit::Event& e, std::string_view key) {
    return testing::text_field(e, key);
  }

  SessionInfo info_;
  audit::MemorySink sink_;
  audit::PatientDataProtector patients_{audit::PatientDataPolicy::kPlain};
  std::unique_ptr<policy::DeviceRegistry> devices_;
  std::unique_ptr<Hl7InspectorFactory> factory_;
  std::unique_ptr<Inspector> inspector_;
  std::string to_device_;
};

// Issue 13: 900 KiB of 0x01 as MSH-3 encoded to 5.4 MB of JSON, a record the store's reader
// refused; the inspector records at most kMaxValueBytes of it and says how long it was.
TEST_F(Hl7InspectorTest, AHostileHeaderFieldIsRecordedCappedAndMarked) {
  make(false, oru_only());
  const std::string hostile(900 * 1024, '\x01');
  const std::string m = "MSH|^~\\&|" + hostile + "|WARD3|HL7ENGINE|HOSPITAL|20261122080000||" +
                        "ORU^R01^ORU_R01|MON1|P|2.5\rOBX|1|NM|8867-4^HR^LN||72";
  EXPECT_EQ(device_sends(mllp(m)), mllp(m));
  const auto messages = events("message");
  ASSERT_EQ(messages.size(), 1U);
  const audit::Event& e = messages[0];
  EXPECT_EQ(text(e, "sending_application"), hostile.substr(0, audit::kMaxValueBytes));
  EXPECT_EQ(text(e, "control_id"), "MON1");
  EXPECT_EQ(std::get<std::vector<std::string>>(*e.fields.find(audit::kTruncatedKey)),
            std::vector<std::string>{"sending_application:921600"});
  EXPECT_LE(audit::to_json(e).size(), 16U * 1024);
}

TEST_F(Hl7InspectorTest, EnforcedRefusalIsWithheldAnsweredAndTheConnectionGoesOn) {
  make(true, oru_only());
  const std::string oru = mllp(message("ORU^R01^ORU_R01", "MON1"));
  const std::string adt = mllp(message("ADT^A08^ADT_A01", "MON2"));
  EXPECT_EQ(device_sends(oru), oru);
  EXPECT_EQ(injected(), "");
  server_sends(
      mllp("MSH|^~\\&|HL7ENGINE|HOSPITAL|MONITOR|WARD3|2026||ACK^R01|E1|P|2.5\rMSA|AA|MON1"));

  EXPECT_EQ(device_sends(adt), "");  // not forwarded
  const std::string ack = injected();
  EXPECT_EQ(ack.rfind("\x0bMSH|^~\\&|HL7ENGINE|HOSPITAL|MONITOR|WARD3|", 0), 0u) << ack;
  EXPECT_NE(ack.find("||ACK^A08^ACK|WG9-1|P|2.5\rMSA|AR|MON2|"), std::string::npos) << ack;
  EXPECT_NE(ack.find("\rERR|||200^Unsupported message type^HL70357|E\r\x1c\r"), std::string::npos);
  EXPECT_EQ(injected(), "");  // sent once

  // The next allowed message passes as before.
  const std::string oru3 = mllp(message("ORU^R01^ORU_R01", "MON3"));
  EXPECT_EQ(device_sends(oru3), oru3);

  const auto messages = events("message");
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[1].outcome, audit::Outcome::kDenied);
  EXPECT_EQ(text(messages[1], "forwarded"), "false");
  EXPECT_EQ(text(messages[1], "message_type"), "ADT^A08");
  const auto alerts = events("security-alert");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].severity, audit::Severity::kAlert);
  EXPECT_EQ(text(alerts[0], "rule"), "allowed_message_types");
  EXPECT_EQ(text(alerts[0], "reaction"), "refused");
  EXPECT_EQ(text(alerts[0], "reason"),
            "message type ADT^A08 is not allowed for device monitor-1 (allowed: ORU^R01)");
  const auto acks = events("acknowledgement");
  ASSERT_EQ(acks.size(), 2u);  // the server's AA for MON1, wardgate's AR for MON2
  EXPECT_EQ(text(acks[0], "code"), "AA");
  EXPECT_EQ(text(acks[1], "from"), "wardgate");
  EXPECT_EQ(text(acks[1], "code"), "AR");
  EXPECT_EQ(text(acks[1], "acknowledged_control_id"), "MON2");
}

TEST_F(Hl7InspectorTest, TheAnswerWaitsUntilTheServersStreamIsBetweenFrames) {
  make(true, oru_only());
  const std::string server_ack =
      mllp("MSH|^~\\&|HL7ENGINE|HOSPITAL|MONITOR|WARD3|2026||ACK^R01|E1|P|2.5\rMSA|AA|X");
  server_sends(server_ack.substr(0, 20));
  EXPECT_EQ(device_sends(mllp(message("ADT^A08", "MON2"))), "");
  EXPECT_EQ(injected(), "");  // not inside the server's frame
  server_sends(server_ack.substr(20));
  EXPECT_NE(injected().find("MSA|AR|MON2|"), std::string::npos);
}

TEST_F(Hl7InspectorTest, WaitingAnswersAreBounded) {
  make(true, oru_only());
  server_sends("\x0bMSH|^~\\&|HL7ENGINE|H|MON|W|2026||ACK");  // the server stays inside a frame
  const std::string adt = mllp(message("ADT^A08", "MON2"));
  for (int i = 0; i < 3000; ++i) EXPECT_EQ(device_sends(adt), "");
  EXPECT_EQ(injected(), "");  // still inside the server's frame
  const auto acks = events("acknowledgement");
  ASSERT_EQ(acks.size(), 3000u);
  EXPECT_EQ(text(acks.front(), "answer"), "<absent>");
  EXPECT_EQ(text(acks.back(), "answer"), "dropped: too many of wardgate's answers are waiting");
  server_sends("|E1|P|2.5\rMSA|AA|X\x1c\r");
  const std::string answers = injected();
  EXPECT_LE(answers.size(), 256u * 1024u);
  EXPECT_GT(answers.size(), 200u * 1024u);
}

TEST_F(Hl7InspectorTest, EnhancedModeSendersGetACommitReject) {
  make(true, oru_only());
  EXPECT_EQ(device_sends(mllp(message("ADT^A08", "MON2", "|||AL|NE"))), "");
  EXPECT_NE(injected().find("\rMSA|CR|MON2|"), std::string::npos);
  const auto m = events("message").at(0);
  EXPECT_EQ(text(m, "accept_ack_type"), "AL");
  EXPECT_EQ(text(m, "application_ack_type"), "NE");
  EXPECT_EQ(text(m, "patient_id"), "PID001");  // plain policy in these tests
  EXPECT_EQ(text(m, "patient_id_authority"), "HOSP");
  EXPECT_EQ(text(m, "patient_id_type"), "MR");
  EXPECT_EQ(text(m, "message_structure"), "<absent>");
}

TEST_F(Hl7InspectorTest, ReceivingApplicationRule) {
  policy::Hl7Rules rules;
  rules.allowed_receiving_applications = std::vector<std::string>{"LIS"};
  make(true, rules);
  EXPECT_EQ(device_sends(mllp(message("ORU^R01", "MON1"))), "");
  EXPECT_NE(injected().find("MSA|AR|MON1|Refused by wardgate: receiving application"),
            std::string::npos);
  EXPECT_EQ(text(events("security-alert").at(0), "rule"), "allowed_receiving_applications");
}

// An MSA segment does not make a device's message an acknowledgement: MSH-9 says what it is.
TEST_F(Hl7InspectorTest, AMessageCarryingAnMsaIsCheckedLikeAnyOther) {
  make(true, oru_only());
  const std::string adt = mllp(message("ADT^A08^ADT_A01", "MON2") + "\rMSA|AA|E1");
  EXPECT_EQ(device_sends(adt), "");
  EXPECT_NE(injected().find("MSA|AR|MON2|Refused by wardgate: message type not allowed"),
            std::string::npos);
  EXPECT_EQ(text(events("security-alert").at(0), "rule"), "allowed_message_types");
  EXPECT_EQ(text(events("message").at(0), "message_type"), "ADT^A08");
  // Even one that says it is an acknowledgement: this device may send ORU^R01 only.
  EXPECT_EQ(device_sends(mllp("MSH|^~\\&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|2026||ACK^R01|MON3|P|"
                              "2.5\rMSA|AA|E1")),
            "");
  EXPECT_NE(injected().find("MSA|AR|MON3|"), std::string::npos);
  EXPECT_EQ(events("security-alert").size(), 2u);
}

TEST_F(Hl7InspectorTest, AMessageCarryingAnMsaIsAuditedAsAViolationWithoutEnforcement) {
  make(false, oru_only());
  const std::string adt = mllp(message("ADT^A08^ADT_A01", "MON2") + "\rMSA|AA|E1");
  EXPECT_EQ(device_sends(adt), adt);
  const auto alerts = events("security-alert");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(text(alerts[0], "rule"), "allowed_message_types");
  EXPECT_EQ(text(events("message").at(0), "message_type"), "ADT^A08");
  EXPECT_EQ(events("acknowledgement").size(), 0u);
}

// The rules compare what the engine reads: values as sent, cut at the message's own component
// separator. Decoded, each of these would look allowed.
TEST_F(Hl7InspectorTest, RulesCompareRawFieldsSplitAsTheEngineSplitsThem) {
  policy::Hl7Rules rules = oru_only();
  rules.allowed_receiving_applications = std::vector<std::string>{"HL7ENGINE"};
  make(true, rules);
  const auto sent = [&](const std::string& msh) {
    return device_sends(mllp(msh + "\rOBX|1|NM|8867-4^HR^LN||72")) != "";
  };
  // \S\ is a '^' inside the namespace ID, not a component separator.
  EXPECT_FALSE(sent("MSH|^~\\&|MON|W3|HL7ENGINE\\S\\X|H|2026||ORU^R01|M1|P|2.5"));
  // With '#' as the component separator, '^' is an ordinary character of the namespace ID.
  EXPECT_FALSE(sent("MSH|#~\\&|MON|W3|HL7ENGINE^X|H|2026||ORU#R01|M2|P|2.5"));
  EXPECT_TRUE(sent("MSH|#~\\&|MON|W3|HL7ENGINE#2.16.1#ISO|H|2026||ORU#R01|M3|P|2.5"));
  // MSH-5 and MSH-9 do not repeat: the engine does not read the first repetition only.
  EXPECT_FALSE(sent("MSH|^~\\&|MON|W3|HL7ENGINE~BILLING|H|2026||ORU^R01|M4|P|2.5"));
  EXPECT_FALSE(sent("MSH|^~\\&|MON|W3|HL7ENGINE|H|2026||ORU~ADT^R01|M5|P|2.5"));
  // An escaped type is not the type it decodes to.
  EXPECT_FALSE(sent("MSH|^~\\&|MON|W3|HL7ENGINE|H|2026||OR\\X55\\^R01|M6|P|2.5"));
  EXPECT_TRUE(sent("MSH|^~\\&|MON|W3|HL7ENGINE^2.16.1^ISO|H|2026||ORU^R01|M7|P|2.5"));
  EXPECT_EQ(events("security-alert").size(), 5u);
}

TEST_F(Hl7InspectorTest, UnreadableFramesAndJunkAreWithheldUnderEnforcement) {
  make(true, oru_only());
  EXPECT_EQ(device_sends(mllp("PID|1||not a message")), "");
  EXPECT_EQ(device_sends("MSH|^~\\&|unframed\r"), "");
  EXPECT_EQ(injected(), "");                      // no MSH to answer
  EXPECT_EQ(events("framing-error").size(), 1u);  // malformed; the junk is reported when it ends
}

TEST_F(Hl7InspectorTest, AFrameWithAStrayEndBlockIsWithheldUnderEnforcement) {
  make(true, oru_only());
  // A receiver would end this frame at the 0x1C; wardgate read one ORU^R01 with more after it.
  std::string m = message("ORU^R01", "MON1");
  m.insert(m.find("OBX"), "\x1c");
  EXPECT_EQ(device_sends(mllp(m)), "");
  EXPECT_NE(injected().find("MSA|AR|MON1|Refused by wardgate: the frame holds a stray end block"),
            std::string::npos);
  EXPECT_EQ(text(events("framing-error").at(0), "error"), "bad-end-block");
  // The device's half-close ends the frame wardgate was holding: nothing of it leaves.
  EXPECT_EQ(device_sends("\x0bMSH|^~\\&|MON|W|ENG|H|2026||ORU^R01|MON2|P|2.5\rOBX|1"), "");
  inspector_->on_close(Direction::kFromDevice, CloseCause::kEof);
  EXPECT_EQ(text(events("framing-error").at(1), "error"), "truncated");
}

TEST_F(Hl7InspectorTest, AuditOnlyRaisesTheAlertAndForwardsEverything) {
  make(false, oru_only());
  const std::string adt = mllp(message("ADT^A08^ADT_A01", "MON2"));
  EXPECT_EQ(device_sends(adt), adt);
  EXPECT_EQ(injected(), "");
  const auto alerts = events("security-alert");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].outcome, audit::Outcome::kWarning);
  EXPECT_EQ(text(alerts[0], "reaction"), "none (audit only)");
  EXPECT_EQ(events("message").at(0).outcome, audit::Outcome::kSuccess);
}

TEST_F(Hl7InspectorTest, DevicesWithoutRulesAreNeverHeld) {
  make(true, {});
  const std::string adt = mllp(message("ADT^A08", "MON2"));
  EXPECT_EQ(device_sends(adt.substr(0, 10)), adt.substr(0, 10));
}

TEST_F(Hl7InspectorTest, TheDevicesDefaultCharsetDecodesUndeclaredText) {
  policy::Hl7Rules rules;
  rules.default_charset = "GB 18030";
  make(false, rules);
  // PID-5 张^伟 in GB 18030, no MSH-18.
  const std::string m =
      "MSH|^~\\&|MON|W|ENG|H|2026||ORU^R01|C1|P|2.5\rPID|1||P1||\xd5\xc5^\xce\xb0";
  device_sends(mllp(m));
  const auto messages = events("message");
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(text(messages[0], "charset"), "GB 18030");
  EXPECT_EQ(text(messages[0], "patient_name"), "\xe5\xbc\xa0^\xe4\xbc\x9f");
}

// The engine's acknowledgement text (MSA-3, ERR-3.2 / ERR-1.4.2) often names the patient: it
// follows audit.patient_data like PID-3 and PID-5 do.
TEST_F(Hl7InspectorTest, EngineAcknowledgementTextFollowsThePatientDataPolicy) {
  const std::string ack =
      "MSH|^~\\&|HL7ENGINE|HOSPITAL|MONITOR|WARD3|20261122080001||ACK^R01|A1|P|2.5\r"
      "MSA|AE|MON1|No visit for SMITH^JOHN MRN 4711\r"
      "ERR|||204^Unknown patient SMITH JOHN^HL70357";
  const audit::Secret secret{1, 2, 3};
  std::size_t round = 0;
  for (const auto policy : {audit::PatientDataPolicy::kPlain, audit::PatientDataPolicy::kKeyedHash,
                            audit::PatientDataPolicy::kOmit}) {
    SCOPED_TRACE(audit::to_string(policy));
    patients_ = audit::PatientDataProtector(policy, secret);
    make(false, {});
    device_sends(mllp(message("ORU^R01", "MON1")));
    server_sends(mllp(ack));
    const auto acks = events("acknowledgement");
    ASSERT_EQ(acks.size(), ++round);
    const audit::Event& a = acks.back();
    EXPECT_EQ(text(a, "code"), "AE");
    EXPECT_EQ(text(a, "error_code"), "204");
    EXPECT_EQ(text(a, "text"),
              patients_.protect("No visit for SMITH^JOHN MRN 4711").value_or("<absent>"));
    EXPECT_EQ(text(a, "error_text"),
              patients_.protect("Unknown patient SMITH JOHN").value_or("<absent>"));
    if (policy == audit::PatientDataPolicy::kPlain) {
      EXPECT_EQ(text(a, "text"), "No visit for SMITH^JOHN MRN 4711");
      continue;
    }
    for (const auto& field : a.fields) {
      const auto* value = std::get_if<std::string>(&field.value);
      if (value != nullptr) {
        EXPECT_EQ(value->find("SMITH"), std::string::npos) << field.key;
      }
    }
  }
}

// The core (the HL7 engine) connected to the monitor's published listener: the core is the
// sender, the service's message types apply, and wardgate's refusal goes back to the core.
TEST_F(Hl7InspectorTest, OnTheMonitorsListenerTheCoresMessagesAreCheckedAndAnswered) {
  info_ = testing::session_info(10, "hl7", "10.2.2.20", 41000, kMonitor, 2576,
                                proxy::DeviceSide::kServer);
  policy::Device device;
  device.name = "monitor-1";
  device.address = *policy::parse_ipv4(kMonitor);
  device.type = policy::DeviceType::kMonitor;
  device.hl7 = oru_only();  // what the monitor itself may send: not what the core may
  policy::PublishedService adt_in;
  adt_in.name = "adt-in";
  adt_in.port = 2576;
  adt_in.protocol = "hl7";
  adt_in.hl7.allowed_message_types = std::vector<std::string>{"ADT^A01"};
  device.published_services.push_back(adt_in);
  devices_ = std::make_unique<policy::DeviceRegistry>(std::vector<policy::Device>{device});
  Hl7Inspection settings;
  settings.sink = &sink_;
  settings.devices = devices_.get();
  settings.patients = &patients_;
  settings.appliance_id = "wg-test";
  settings.enforce = true;
  factory_ = std::make_unique<Hl7InspectorFactory>(std::move(settings));
  inspector_ = factory_->create(info_);

  // The core's bytes go to the device; an allowed ADT^A01 passes whole.
  const std::string a01 = mllp(message("ADT^A01^ADT_A01", "ENG1"));
  const auto a01_bytes = bytes_of(a01);
  Action a = inspector_->on_data(Direction::kToDevice, a01_bytes);
  ASSERT_NE(a.kind, Action::Kind::kClose);
  EXPECT_EQ(a.kind == Action::Kind::kForward ? a01 : text_of(a.released), a01);
  const std::string ack =
      mllp("MSH|^~\\&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|2026||ACK^A01|M1|P|2.5\rMSA|AA|ENG1");
  const auto ack_bytes = bytes_of(ack);
  a = inspector_->on_data(Direction::kFromDevice, ack_bytes);
  ASSERT_NE(a.kind, Action::Kind::kClose);

  // An ORU^R01 from the core is not among the service's types: withheld, answered to the core.
  const std::string oru = mllp(message("ORU^R01^ORU_R01", "ENG2"));
  const auto oru_bytes = bytes_of(oru);
  a = inspector_->on_data(Direction::kToDevice, oru_bytes);
  ASSERT_EQ(a.kind, Action::Kind::kInject);
  EXPECT_TRUE(a.released.empty());
  EXPECT_EQ(a.into, Direction::kFromDevice);  // toward the core, the client
  EXPECT_NE(text_of(a.message).find("MSA|AR|ENG2|"), std::string::npos) << text_of(a.message);

  const auto alerts = events("security-alert");
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].device, "monitor-1");
  EXPECT_EQ(text(alerts[0], "initiator"), "core");
  EXPECT_NE(text(alerts[0], "reason").find("monitor-1 (published service adt-in)"),
            std::string::npos)
      << text(alerts[0], "reason");
  const auto messages = events("message");
  ASSERT_EQ(messages.size(), 2U);
  EXPECT_EQ(text(messages[0], "from"), "core");
  EXPECT_EQ(text(messages[1], "forwarded"), "false");
}

// The relay's message deadlines read where each stream stands: a frame begun, then completed.
TEST_F(Hl7InspectorTest, ProgressFollowsFramesInBothDirections) {
  make(true, oru_only());
  EXPECT_TRUE(inspector_->progress(Direction::kFromDevice).framed);
  EXPECT_EQ(inspector_->progress(Direction::kFromDevice).completed, 0u);
  const std::string oru = mllp(message("ORU^R01^ORU_R01", "MON1"));
  EXPECT_EQ(device_sends(oru.substr(0, 20)), "");
  EXPECT_TRUE(inspector_->progress(Direction::kFromDevice).inside);
  EXPECT_EQ(inspector_->progress(Direction::kFromDevice).completed, 0u);
  EXPECT_EQ(device_sends(oru.substr(20)), oru);
  EXPECT_FALSE(inspector_->progress(Direction::kFromDevice).inside);
  EXPECT_EQ(inspector_->progress(Direction::kFromDevice).completed, 1u);
  EXPECT_EQ(device_sends("\r\n"), "\r\n");  // bytes between frames complete nothing
  EXPECT_EQ(inspector_->progress(Direction::kFromDevice).completed, 1u);
  server_sends(
      mllp("MSH|^~\\&|HL7ENGINE|HOSPITAL|MONITOR|WARD3|2026||ACK^R01|E1|P|2.5\rMSA|AA|MON1"));
  EXPECT_EQ(inspector_->progress(Direction::kToDevice).completed, 1u);
}

// A frame held for enforcement is charged in full (the framer's copy and the gate's), and never
// more than the bound the relay takes from the global budget before each chunk.
TEST_F(Hl7InspectorTest, HeldFramesStayWithinTheBoundAnnouncedBeforeEachChunk) {
  make(true, oru_only());
  std::string frame =
      mllp(message("ORU^R01^ORU_R01", "MON1", "") + "\rNTE|1||" + std::string(300'000, 'x'));
  const std::string head = frame.substr(0, frame.size() - 2);  // without its end
  // Pieces of every size the relay may read, from one byte to a whole chunk.
  const std::array<std::size_t, 5> pieces{1, 7, 4096, 65536, 131072};
  std::size_t fed = 0;
  for (std::size_t i = 0; fed < head.size(); ++i) {
    const std::size_t n = std::min(pieces[i % pieces.size()], head.size() - fed);
    const std::size_t bound = inspector_->held_bytes_after(n);
    EXPECT_EQ(device_sends(head.substr(fed, n)), "");
    fed += n;
    ASSERT_LE(inspector_->held_bytes(), bound) << "after " << fed << " bytes";
  }
  EXPECT_GE(inspector_->held_bytes(), 2 * head.size() - 2);  // the framer's and the gate's copy
  EXPECT_EQ(device_sends(frame.substr(head.size())), frame);
  EXPECT_EQ(device_sends("\r"), "\r");
  EXPECT_LT(inspector_->held_bytes(), head.size());  // forwarded: the frame is no longer held
}

TEST_F(Hl7InspectorTest, AConnectionClosedForADeadlineIsAudited) {
  make(true, oru_only());
  EXPECT_EQ(device_sends(mllp(message("ORU^R01^ORU_R01", "MON1")).substr(0, 10)), "");
  inspector_->on_close(Direction::kFromDevice, CloseCause::kMessageTimeout);
  inspector_->on_close(Direction::kToDevice, CloseCause::kMessageTimeout);
  const auto closed = events("connection-closed");
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].outcome, audit::Outcome::kDenied);
  EXPECT_EQ(text(closed[0], "reason"), "message-timeout");
}

TEST_F(Hl7InspectorTest, AnOrdinaryCloseIsNotAConnectionClosedEvent) {
  make(true, oru_only());
  inspector_->on_close(Direction::kFromDevice, CloseCause::kEof);
  inspector_->on_close(Direction::kToDevice, CloseCause::kEof);
  EXPECT_TRUE(events("connection-closed").empty());
}

}  // namespace
}  // namespace wardgate::inspect
