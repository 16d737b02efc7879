#include "inspect/hl7_inspector.h"

#include <array>
#include <ctime>
#include <utility>

#include "hl7/ack_builder.h"
#include "hl7/ack_correlator.h"
#include "hl7/charset.h"
#include "hl7/frame_gate.h"
#include "hl7/mllp_framer.h"
#include "policy/hl7_rules.h"

namespace wardgate::inspect {
namespace {

using Clock = std::chrono::steady_clock;
using hl7::Side;

std::size_t index(Side s) { return s == Side::kClient ? 0 : 1; }

// Bytes of wardgate's own acknowledgements waiting for the server's stream to reach a boundary.
constexpr std::size_t kMaxPendingAnswers = std::size_t{256} * 1024;

bool positive(hl7::AckCode c) { return c == hl7::AckCode::kAA || c == hl7::AckCode::kCA; }

bool has_rules(const policy::Hl7Rules* rules) {
  return rules != nullptr &&
         (rules->allowed_message_types || rules->allowed_receiving_applications.has_value());
}

hl7::DecoderLimits limits_for(const Hl7Inspection& settings, const policy::Device* device) {
  hl7::DecoderLimits limits = settings.limits;
  if (device != nullptr && !device->hl7.default_charset.empty()) {
    limits.default_charset = device->hl7.default_charset;
  }
  return limits;
}

// MSH-7 of wardgate's acknowledgements: UTC, to the second.
std::string hl7_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::array<char, 32> text{};
  std::strftime(text.data(), text.size(), "%Y%m%d%H%M%S+0000", &utc);
  return text.data();
}

// What the rules compare: MSH-5 and MSH-9 as the receiving engine reads them.
policy::Hl7Addressing addressing(const hl7::Message& m) {
  return {m.raw_message_type,        m.raw_trigger_event,    m.raw_receiving_application,
          m.raw_receiving_namespace, m.component_separator,  m.message_type,
          m.trigger_event,           m.receiving_application};
}

// HL7 table 0357 code for a refusal by `rule`.
hl7::Refusal refusal_for(policy::Rule rule) {
  switch (rule) {
    case policy::Rule::kMessageType:
      return {hl7::AckCode::kAR, "200", "Unsupported message type",
              "Refused by wardgate: message type not allowed for this device"};
    case policy::Rule::kReceivingApplication:
      return {hl7::AckCode::kAR, "207", "Application internal error",
              "Refused by wardgate: receiving application not allowed for this device"};
    default:
      return {hl7::AckCode::kAR, "207", "Application internal error",
              "Refused by wardgate: not forwarded"};
  }
}

class Hl7Inspector final : public InspectorBase,
                           public hl7::DecoderCallbacks,
                           public hl7::FrameGate::Judge {
 public:
  Hl7Inspector(const Hl7Inspection& settings, const SessionInfo& info)
      : InspectorBase(settings, info, "hl7"),
        settings_(settings),
        decoder_(*this, limits_for(settings, device())) {
    if (settings_.enforce && has_rules(hl7_rules())) {
      gate_.emplace(decoder_, *this);
    }
  }

  Action on_data(Direction direction, std::span<const std::byte> chunk) override {
    std::span<const std::byte> forward = chunk;
    // The rules restrict the messages of the connection's client, the sender: the device on its
    // own connections, the core on one it opened to the device's listener.
    if (side_of<Side>(direction) == Side::kClient && gate_) {
      forward = gate_->feed(chunk);
    } else {
      decoder_.feed(side_of<Side>(direction), chunk);
    }
    report_unacknowledged(Clock::now(), settings_.ack_timeout);
    // wardgate's answers go to the client only between the server's frames (as far as the
    // inspector has seen them, which the relay guarantees is what the client has been sent): an
    // ACK of wardgate's inside one would corrupt both.
    if (!to_client_.empty() && decoder_.at_frame_boundary(Side::kServer)) {
      return Action::inject(forward, toward(Side::kClient), std::exchange(to_client_, {}));
    }
    return Action::forward_released(forward);
  }

  void on_close(Direction direction, CloseCause cause) override {
    if (side_of<Side>(direction) == Side::kClient && gate_) {
      gate_->end_of_stream();
    } else {
      decoder_.end_of_stream(side_of<Side>(direction));
    }
    if (++closed_ < 2) return;
    // wardgate closed the connection for a message deadline or the held-bytes budget.
    if (cause == CloseCause::kFirstMessageTimeout || cause == CloseCause::kMessageTimeout ||
        cause == CloseCause::kHeldBytesBudget) {
      audit::Event e = event("connection-closed", audit::Outcome::kDenied);
      e.severity = audit::Severity::kWarning;
      e.fields.set("reason", proxy::to_string(cause));
      emit(std::move(e));
    }
    // Whatever is still waiting will never be acknowledged on this connection.
    report_unacknowledged(Clock::time_point::max(), Clock::duration::zero());
  }

  // Where the stream stands for the relay's message deadlines: a frame begun and not ended is
  // under way; each message or commit acknowledgement decoded counts as completed.
  proxy::Progress progress(Direction direction) const override {
    const Side side = side_of<Side>(direction);
    return {true, completed_[index(side)], !decoder_.at_frame_boundary(side)};
  }
  // For the global held-bytes budget: the framer's frame, the gate's held frame and output
  // (wardgate's own answers waiting have their per-connection cap, kMaxPendingAnswers).
  std::size_t held_bytes() const override {
    return decoder_.buffered_bytes() + (gate_ ? gate_->allocated_bytes() : 0);
  }
  std::size_t held_bytes_after(std::size_t n) const override {
    return 2 * decoder_.buffered_bytes() + n + (gate_ ? gate_->allocated_bytes_after(n) : 0);
  }

  void on_message(Side from, const hl7::Message& m) override {
    const auto now = Clock::now();
    ++completed_[index(from)];
    if (from == Side::kClient) ++frame_.readable;
    // The server answers: what it sends with an MSA (ACK, or a response naming the message in
    // MSA-2) is an acknowledgement. The client sends: each of its messages is checked against the
    // rules whatever segments it holds (an ADT^A08 carrying an MSA is an ADT^A08), and only an
    // allowed one whose MSH-9 says ACK is then taken as an answer to the server.
    if (from == Side::kServer && m.ack) {
      on_acknowledgement(from, m, now);
      return;
    }
    policy::Decision decision;
    if (from == Side::kClient && hl7_rules() != nullptr) {
      decision = policy::check_message(*hl7_rules(), rules_holder(), addressing(m));
    }
    if (decision.allowed && m.ack && m.raw_message_type == "ACK") {
      on_acknowledgement(from, m, now);
      return;
    }
    const bool withheld = !decision.allowed && gate_.has_value();
    emit(message_event(from, m, withheld));
    if (!decision.allowed) alert("message refused by policy", decision, gate_.has_value());
    if (from == Side::kClient && gate_) {
      frame_.refused = frame_.refused || withheld;
      frame_.messages.push_back(
          {std::string(m.header), m.control_id, hl7::refusal_code(m),
           decision.allowed ? policy::Rule::kNone : decision.rule,
           hl7::resolve_charset(m.charset_used).value_or(hl7::Charset{}).double_byte_lead});
      return;  // acknowledged by the server when forwarded, by wardgate when not
    }
    correlators_[index(from)].on_message(m.control_id, now);
  }

  void on_commit_ack(Side from, bool is_positive) override {
    ++completed_[index(from)];
    if (from == Side::kClient) ++frame_.readable;
    audit::Event e =
        event("commit-ack", is_positive ? audit::Outcome::kSuccess : audit::Outcome::kFailure);
    e.fields.set("from", who(from));
    e.fields.set("code", is_positive ? "ACK" : "NAK");
    emit(std::move(e));
  }

  void on_framing_error(Side from, hl7::FramingError kind, std::string_view detail) override {
    audit::Event e = event("framing-error", audit::Outcome::kFailure);
    e.severity = audit::Severity::kWarning;
    e.fields.set("from", who(from));
    e.fields.set("error", hl7::to_string(kind));
    e.fields.set("detail", std::string(detail));
    if (from == Side::kClient && gate_) {
      e.fields.set("forwarded", false);
      // Receivers end a frame at the stray 0x1C and would read something else than wardgate
      // checked: the frame is withheld.
      frame_.stray_end_block = frame_.stray_end_block || kind == hl7::FramingError::kBadEndBlock;
    }
    emit(std::move(e));
  }

  // hl7::FrameGate::Judge: a frame of the client (the sender) ended. Forwarded when it holds
  // readable HL7 and every message in it is allowed; otherwise each message in it gets wardgate's
  // refusal.
  bool settle_frame() override {
    Frame frame = std::exchange(frame_, {});
    const auto now = Clock::now();
    if (!frame.refused && !frame.stray_end_block && frame.readable > 0) {
      for (const auto& m : frame.messages) correlators_[index(Side::kClient)].on_message(m.id, now);
      return true;
    }
    for (const auto& m : frame.messages) {
      hl7::Refusal r = refusal_for(m.rule);
      const char* why = "refused by policy";
      if (frame.stray_end_block) {
        r.text = "Refused by wardgate: the frame holds a stray end block (0x1C)";
        why = "stray end block in the frame";
      } else if (m.rule == policy::Rule::kNone) {
        r.text = "Refused by wardgate: batch holds a refused message";
      }
      r.code = m.code;
      refuse(m.header, m.double_byte, m.id, r, why);
    }
    return false;
  }

  void settle_too_long(std::string_view head) override {
    frame_ = {};
    audit::Event e = event("message", audit::Outcome::kDenied);
    e.severity = audit::Severity::kWarning;
    e.fields.set("from", who(Side::kClient));
    e.fields.set("forwarded", false);
    e.fields.set("reason", "longer than the maximum message size (" +
                               std::to_string(settings_.limits.max_message_size) +
                               " bytes): it cannot be inspected");
    emit(std::move(e));
    if (head.substr(0, 3) != "MSH") return;  // no header to answer
    hl7::Refusal r{hl7::AckCode::kAR, "207", "Application internal error",
                   "Refused by wardgate: message larger than its maximum message size"};
    refuse(head, false, "", r, "message too long to inspect");
  }

 private:
  struct Pending {  // a message of the client's current frame, until the frame is judged
    std::string header;
    std::string id;
    hl7::AckCode code;
    policy::Rule rule;
    bool double_byte;
  };
  struct Frame {
    std::size_t readable = 0;  // messages, acknowledgements and commit acks in it
    bool refused = false;
    bool stray_end_block = false;
    std::vector<Pending> messages;
  };

  audit::Event message_event(Side from, const hl7::Message& m, bool withheld) const {
    audit::Event e =
        event("message", withheld ? audit::Outcome::kDenied : audit::Outcome::kSuccess);
    e.fields.set("from", who(from));
    e.fields.set("message_type", m.message_type + "^" + m.trigger_event);
    if (!m.message_structure.empty()) e.fields.set("message_structure", m.message_structure);
    e.fields.set("control_id", m.control_id);
    e.fields.set("sending_application", m.sending_application);
    e.fields.set("sending_facility", m.sending_facility);
    e.fields.set("receiving_application", m.receiving_application);
    e.fields.set("receiving_facility", m.receiving_facility);
    e.fields.set("message_time", m.date_time);
    e.fields.set("processing_id", m.processing_id);
    e.fields.set("version", m.version);
    e.fields.set("charset", m.charset_used);
    if (!m.character_set.empty()) e.fields.set("charset_declared", m.character_set);
    if (!m.security.empty()) e.fields.set("security", m.security);
    if (!m.accept_ack_type.empty()) e.fields.set("accept_ack_type", m.accept_ack_type);
    if (!m.application_ack_type.empty()) {
      e.fields.set("application_ack_type", m.application_ack_type);
    }
    e.fields.set("size", m.size);
    e.fields.set("obx_count", m.obx_count);
    if (!m.patient_identifiers.empty()) {
      const hl7::PatientIdentifier& first = m.patient_identifiers.front();
      if (auto p = patients().protect(first.id)) e.fields.set("patient_id", *p);
      if (!first.assigning_authority.empty()) {
        e.fields.set("patient_id_authority", first.assigning_authority);
      }
      if (!first.identifier_type.empty()) e.fields.set("patient_id_type", first.identifier_type);
      if (m.patient_identifiers.size() > 1) {
        e.fields.set("patient_id_count", m.patient_identifiers.size());
      }
    }
    if (auto n = patients().protect(m.patient_name)) e.fields.set("patient_name", *n);
    if (!m.notes.empty()) e.fields.set("notes", m.notes);
    if (withheld) e.fields.set("forwarded", false);
    return e;
  }

  // wardgate answers the sender in place of the receiver; the acknowledgement is an event too.
  void refuse(std::string_view header, bool double_byte, const std::string& control_id,
              const hl7::Refusal& refusal, const char* why) {
    const std::string ack = hl7::build_refusal_ack(
        header, double_byte, refusal, hl7_timestamp(),
        ("WG" + std::to_string(info().id) + "-" + std::to_string(++refusals_)).substr(0, 20));
    audit::Event e = event("acknowledgement", audit::Outcome::kDenied);
    e.fields.set("from", "wardgate");
    e.fields.set("code", hl7::to_string(refusal.code));
    e.fields.set("acknowledged_control_id", control_id);
    e.fields.set("reason", why);
    // Answers wait for a boundary of the server's stream; a sender that keeps sending refused
    // messages while the server sits inside a frame must not grow them without limit.
    if (to_client_.size() + ack.size() <= kMaxPendingAnswers) {
      const auto* bytes = reinterpret_cast<const std::byte*>(ack.data());
      to_client_.insert(to_client_.end(), bytes, bytes + ack.size());
    } else {
      e.fields.set("answer", "dropped: too many of wardgate's answers are waiting");
    }
    emit(std::move(e));
  }

  void on_acknowledgement(Side from, const hl7::Message& m, Clock::time_point now) {
    const hl7::Acknowledgment& a = *m.ack;
    // An acknowledgement answers a message the other side sent.
    const auto latency =
        correlators_[index(from == Side::kClient ? Side::kServer : Side::kClient)].on_ack(
            a.control_id, a.code, now);
    audit::Event e = event("acknowledgement",
                           positive(a.code) ? audit::Outcome::kSuccess : audit::Outcome::kFailure);
    e.fields.set("from", who(from));
    e.fields.set("code", a.code_text);
    e.fields.set("acknowledged_control_id", a.control_id);
    if (latency) {
      e.fields.set("latency_ms", std::chrono::duration<double, std::milli>(*latency).count());
    } else {
      e.fields.set("matched", false);  // no message with that control ID is waiting
    }
    // The engine's free text often names the patient ("no order for SMITH^JOHN"): it is kept
    // as the patient-data policy keeps identifiers. The code is from a table, not free text.
    if (auto t = patients().protect(a.text)) e.fields.set("text", *t);
    if (!a.error_code.empty()) e.fields.set("error_code", a.error_code);
    if (auto t = patients().protect(a.error_text)) e.fields.set("error_text", *t);
    emit(std::move(e));
  }

  void report_unacknowledged(Clock::time_point now, Clock::duration timeout) {
    for (Side s : {Side::kClient, Side::kServer}) {
      for (const auto& id : correlators_[index(s)].expire(now, timeout)) {
        audit::Event e = event("acknowledgement", audit::Outcome::kFailure);
        e.fields.set("from", who(s == Side::kClient ? Side::kServer : Side::kClient));
        e.fields.set("code", "none");
        e.fields.set("acknowledged_control_id", id);
        e.fields.set("reason", closed_ >= 2 ? "connection closed without an acknowledgement"
                                            : "no acknowledgement within the timeout");
        emit(std::move(e));
      }
    }
  }

  const Hl7Inspection& settings_;
  hl7::Decoder decoder_;
  std::optional<hl7::FrameGate> gate_;  // enforcement: the client's frames are held until judged
  Frame frame_;                         // the client's frame being decoded (gate only)
  std::vector<std::byte> to_client_;    // wardgate's acknowledgements waiting for a boundary
  std::uint64_t refusals_ = 0;
  std::array<hl7::AckCorrelator, 2> correlators_;  // by the side that sent the message
  std::array<std::uint64_t, 2> completed_{};       // by side: messages and commit acks decoded
  int closed_ = 0;
};

}  // namespace

std::unique_ptr<proxy::Inspector> Hl7InspectorFactory::create(const SessionInfo& info) {
  return std::make_unique<Hl7Inspector>(settings_, info);
}

}  // namespace wardgate::inspect
