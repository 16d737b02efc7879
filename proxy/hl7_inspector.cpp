#include "proxy/hl7_inspector.h"

#include <arpa/inet.h>

#include "hl7/ack_correlator.h"
#include "hl7/mllp_framer.h"
#include "proxy/session_event.h"

namespace wardgate::proxy {
namespace {

using Clock = std::chrono::steady_clock;
using hl7::Side;

Side side_of(Direction d) { return d == Direction::kFromDevice ? Side::kClient : Side::kServer; }
std::size_t index(Side s) { return s == Side::kClient ? 0 : 1; }
const char* who(Side s) { return s == Side::kClient ? "device" : "server"; }

bool positive(hl7::AckCode c) { return c == hl7::AckCode::kAA || c == hl7::AckCode::kCA; }

class Hl7Inspector final : public Inspector, public hl7::DecoderCallbacks {
 public:
  Hl7Inspector(const Hl7Inspection& settings, const SessionInfo& info)
      : settings_(settings), info_(info), decoder_(*this, settings.limits) {
    const policy::Device* d = settings_.devices->find(ntohl(info_.device_addr.s_addr));
    device_name_ = d != nullptr ? d->name : ip_text(info_.device_addr);
  }

  Verdict on_data(Direction direction, std::span<const std::byte> chunk) override {
    decoder_.feed(side_of(direction), chunk);
    report_unacknowledged(Clock::now(), settings_.ack_timeout);
    return Verdict::kContinue;
  }

  void on_close(Direction direction, CloseCause /*cause*/) override {
    decoder_.end_of_stream(side_of(direction));
    if (++closed_ < 2) return;
    // Whatever is still waiting will never be acknowledged on this connection.
    report_unacknowledged(Clock::time_point::max(), Clock::duration::zero());
  }

  void on_message(Side from, const hl7::Message& m) override {
    const auto now = Clock::now();
    if (m.ack) {
      on_acknowledgement(from, m, now);
      return;
    }
    ++messages_[index(from)];
    audit::Event e = event("message", audit::Outcome::kSuccess);
    e.fields.set("from", who(from));
    e.fields.set("message_type", m.message_type + "^" + m.trigger_event);
    e.fields.set("control_id", m.control_id);
    e.fields.set("sending_application", m.sending_application);
    e.fields.set("sending_facility", m.sending_facility);
    e.fields.set("receiving_application", m.receiving_application);
    e.fields.set("receiving_facility", m.receiving_facility);
    e.fields.set("message_time", m.date_time);
    e.fields.set("processing_id", m.processing_id);
    e.fields.set("version", m.version);
    e.fields.set("charset", m.charset_used);
    e.fields.set("size", m.size);
    e.fields.set("obx_count", m.obx_count);
    if (!m.patient_identifiers.empty()) {
      if (auto p = settings_.patients->protect(m.patient_identifiers.front().id)) {
        e.fields.set("patient_id", *p);
      }
    }
    if (auto n = settings_.patients->protect(m.patient_name)) e.fields.set("patient_name", *n);
    if (!m.notes.empty()) e.fields.set("notes", m.notes);
    emit(std::move(e));
    correlators_[index(from)].on_message(m.control_id, now);
  }

  void on_commit_ack(Side from, bool is_positive) override {
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
    emit(std::move(e));
  }

 private:
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
    if (!a.text.empty()) e.fields.set("text", a.text);
    if (!a.error_code.empty()) e.fields.set("error_code", a.error_code);
    if (!a.error_text.empty()) e.fields.set("error_text", a.error_text);
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

  audit::Event event(const char* action, audit::Outcome outcome) const {
    audit::Event e =
        session_event(info_, settings_.appliance_id, device_name_, "hl7", action, outcome);
    return e;
  }

  void emit(audit::Event e) { settings_.sink->record(std::move(e)); }

  const Hl7Inspection& settings_;
  SessionInfo info_;
  hl7::Decoder decoder_;
  std::string device_name_;
  hl7::AckCorrelator correlators_[2];  // by the side that sent the message
  std::uint64_t messages_[2] = {0, 0};
  int closed_ = 0;
};

}  // namespace

std::unique_ptr<Inspector> Hl7InspectorFactory::create(const SessionInfo& info) {
  return std::make_unique<Hl7Inspector>(settings_, info);
}

}  // namespace wardgate::proxy
