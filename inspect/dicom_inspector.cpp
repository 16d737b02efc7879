#include "inspect/dicom_inspector.h"

#include <array>
#include <chrono>
#include <optional>

#include "dicom/pdu_builder.h"
#include "dicom/spec.h"
#include "inspect/dicom_audit_trail.h"
#include "policy/dicom_rules.h"

namespace wardgate::inspect {
namespace {

using dicom::Side;

Side other(Side s) { return s == Side::kClient ? Side::kServer : Side::kClient; }
std::size_t index(Side s) { return s == Side::kClient ? 0 : 1; }

// PS3.8 table 9-21, source 1 (service user) reasons.
std::uint8_t reject_reason(policy::Rule rule) {
  switch (rule) {
    case policy::Rule::kCallingAe:
      return 3;  // calling-AE-title-not-recognized
    case policy::Rule::kCalledAe:
      return 7;  // called-AE-title-not-recognized
    default:
      return 1;  // no-reason-given
  }
}

// The enforcement: what wardgate answers, and when. What is recorded is the trail's.
class DicomInspector final : public InspectorBase, public dicom::DecoderCallbacks {
 public:
  DicomInspector(const DicomInspection& settings, const SessionInfo& info)
      : InspectorBase(settings, info, "dicom"),
        enforce_(settings.enforce),
        decoder_(*this, settings.limits, [] { return std::chrono::steady_clock::now(); }),
        trail_(*this, *settings.patients) {}

  // -- proxy::Inspector --------------------------------------------------------------------
  Action on_data(Direction direction, std::span<const std::byte> chunk) override {
    const Side side = side_of<Side>(direction);
    // Where each stream stands before this chunk: a violation takes the decoder out of sync,
    // after which it can no longer say where PDUs begin.
    at_boundary_[0] = decoder_.at_pdu_boundary(Side::kClient);
    at_boundary_[1] = decoder_.at_pdu_boundary(Side::kServer);
    side_forwarded_nothing_ = trail_.relayed(side) == 0;
    feeding_ = side;
    trail_.relayed(side, chunk.size());
    decoder_.feed(side, chunk);
    count_boundary(side);
    return response_ ? Action::close(*response_) : Action::forward();
  }
  std::uint64_t opaque_bytes(Direction direction) override {
    return response_ ? 0 : decoder_.skippable(side_of<Side>(direction));
  }
  void on_opaque(Direction direction, std::size_t n) override {
    trail_.relayed(side_of<Side>(direction), n);
    decoder_.skip(side_of<Side>(direction), n);
    count_boundary(side_of<Side>(direction));
  }
  // For the relay's message deadlines (PDUs) and the global held-bytes budget.
  proxy::Progress progress(Direction direction) const override {
    const Side side = side_of<Side>(direction);
    return {decoder_.in_sync(), boundaries_[index(side)], !decoder_.at_pdu_boundary(side)};
  }
  std::size_t held_bytes() const override { return decoder_.buffered_bytes(); }
  std::size_t held_bytes_after(std::size_t n) const override {
    // Bytes shown may be copied into the PDU buffer and a command set or peek; buffers grow at
    // most by doubling.
    return 3 * decoder_.buffered_bytes() + 2 * n;
  }
  void on_close(Direction direction, CloseCause cause) override {
    // A stream that ends inside a PDU is a violation of its own (a truncated request).
    if (cause == CloseCause::kEof) decoder_.end_of_stream(side_of<Side>(direction));
    if (++closed_ < 2) return;
    trail_.finish(cause, decoder_.open_operations());
  }

  // -- dicom::DecoderCallbacks -------------------------------------------------------------
  void on_associate_request(const dicom::Associate& rq) override {
    const std::vector<std::string> abstract = trail_.association_requested(rq);
    if (dicom_rules() == nullptr) return;
    const policy::Decision d = policy::check_association(*dicom_rules(), rules_holder(),
                                                         rq.calling_ae, rq.called_ae, abstract);
    if (d.allowed) return;
    alert("association-refused", d, enforce_);
    if (!enforce_) return;
    // Answered by wardgate: the request never reaches the server, which sees a plain close
    // (or a reset if part of the request had already been relayed).
    Response r;
    response_to(r, Side::kClient) = dicom::make_associate_reject(1, 1, reject_reason(d.rule));
    if (side_forwarded_nothing_) response_to(r, Side::kServer) = std::vector<std::byte>{};
    response_ = std::move(r);
    trail_.rejected_by_wardgate(reject_reason(d.rule), d.rule);
  }
  void on_associate_accept(const dicom::Associate& ac) override { trail_.association_accepted(ac); }
  void on_associate_reject(const dicom::AssociateReject& rj) override {
    trail_.association_rejected(rj);
  }
  void on_release_request(Side from) override { trail_.release_requested(from); }
  void on_release_response(Side /*from*/) override { trail_.released(); }
  void on_abort(Side from, const dicom::Abort& abort) override { trail_.aborted(from, abort); }

  void on_command(Side from, const dicom::Command& c) override {
    // A C-CANCEL names another operation. A request without Message ID is checked all the same
    // (the decoder reported the violation just before).
    if (dicom::spec::is_response(c.command_field) || c.command_field == dicom::spec::kCCancelRq) {
      return;
    }
    if (c.message_id) trail_.request(from, *c.message_id);
    // The rules restrict what the association's requester asks (the device's own requests, or
    // the core's on a connection it opened to the device).
    if (dicom_rules() == nullptr || from != Side::kClient) return;
    const std::string& sop_class =
        c.affected_sop_class_uid.empty() ? c.requested_sop_class_uid : c.affected_sop_class_uid;
    const policy::Decision d = policy::check_command(
        *dicom_rules(), rules_holder(), c.command_field, sop_class, c.move_destination);
    if (d.allowed) return;
    alert("command-refused", d, enforce_);
    if (!enforce_) return;
    if (c.message_id) trail_.refused(from, *c.message_id);
    abort_both("command-refused");
  }
  void on_operation(const dicom::Operation& op) override { trail_.operation(op); }
  void on_data_set_end(Side /*from*/, std::uint8_t /*context_id*/, std::uint64_t bytes) override {
    trail_.data_set_end(bytes);
  }

  void on_violation(Side from, dicom::Violation what, std::string_view detail) override {
    // Audit-only: a violation that keeps the decoder in sync leaves the rest audited as usual.
    trail_.violation(from, what, detail, enforce_ ? "a-abort" : "none (audit only)");
    if (enforce_) abort_both("protocol-violation");
  }

 private:
  void annotate(audit::Event& e) const override { trail_.annotate(e); }

  // Bytes of `side` reached a PDU boundary: at least one more PDU completed since the last count.
  void count_boundary(Side side) {
    if (decoder_.at_pdu_boundary(side)) ++boundaries_[index(side)];
  }

  // A-ABORT to both sides, each only where its stream is at a PDU boundary (else a reset).
  void abort_both(const char* why) {
    if (response_) return;
    const Side to_offender = feeding_;  // the side that sent the offending bytes
    Response r;
    const auto abort_pdu = dicom::make_abort(2, 0);
    if (at_boundary_[index(other(to_offender))]) response_to(r, to_offender) = abort_pdu;
    if (at_boundary_[index(to_offender)]) response_to(r, other(to_offender)) = abort_pdu;
    response_ = std::move(r);
    trail_.aborted_by_wardgate(why);
  }

  bool enforce_;
  dicom::Decoder decoder_;
  DicomAuditTrail trail_;
  int closed_ = 0;

  // State of the chunk being fed, for deciding where wardgate may speak.
  Side feeding_ = Side::kClient;
  std::array<bool, 2> at_boundary_{true, true};
  std::array<std::uint64_t, 2> boundaries_{};  // by side: PDU boundaries reached after new bytes
  bool side_forwarded_nothing_ = true;
  std::optional<Response> response_;
};

}  // namespace

std::unique_ptr<proxy::Inspector> DicomInspectorFactory::create(const SessionInfo& info) {
  return std::make_unique<DicomInspector>(settings_, info);
}

}  // namespace wardgate::inspect
