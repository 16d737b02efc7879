#include "proxy/dicom_inspector.h"

#include <arpa/inet.h>

#include <chrono>
#include <map>
#include <optional>

#include "dicom/pdu_builder.h"
#include "policy/dicom_rules.h"
#include "proxy/session_event.h"

namespace wardgate::proxy {
namespace {

using Clock = std::chrono::steady_clock;
using dicom::Side;

// PS3.7 annex C: status classes.
const char* status_class(std::uint16_t status) {
  if (status == 0x0000) return "success";
  if (status == 0xFF00 || status == 0xFF01) return "pending";
  if (status == 0xFE00) return "cancel";
  if (status == 0x0001 || status == 0x0107 || status == 0x0116 ||
      (status >= 0xB000 && status <= 0xBFFF)) {
    return "warning";
  }
  return "failure";
}

audit::Outcome outcome_of(std::uint16_t status) {
  const std::string_view c = status_class(status);
  if (c == "success") return audit::Outcome::kSuccess;
  if (c == "warning" || c == "cancel") return audit::Outcome::kWarning;
  return audit::Outcome::kFailure;
}

Side side_of(Direction d) { return d == Direction::kFromDevice ? Side::kClient : Side::kServer; }
Side other(Side s) { return s == Side::kClient ? Side::kServer : Side::kClient; }
const char* who(Side s) { return s == Side::kClient ? "device" : "server"; }

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

// A DIMSE operation between its request and its final response.
struct Operation {
  std::uint16_t message_id = 0;
  std::uint16_t command_field = 0;
  Side requester = Side::kClient;
  Clock::time_point started;
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::string move_destination;
  std::uint64_t bytes = 0;  // data set bytes of request and responses
  std::uint64_t pending_responses = 0;
  bool refused = false;  // by wardgate's rules: never reached the server
  std::optional<std::uint16_t> priority;
  dicom::DataSetIdentifiers identifiers;
  dicom::Command last_response;
};

class DicomInspector final : public Inspector, public dicom::DecoderCallbacks {
 public:
  DicomInspector(const DicomInspection& settings, const SessionInfo& info)
      : settings_(settings), info_(info), decoder_(*this, settings.limits), opened_(Clock::now()) {
    device_ = settings_.devices->find(ntohl(info_.device_addr.s_addr));
    device_name_ = device_ != nullptr ? device_->name : ip_text(info_.device_addr);
  }

  // -- Inspector ---------------------------------------------------------------------------
  Action on_data(Direction direction, std::span<const std::byte> chunk) override {
    const Side side = side_of(direction);
    // Where each stream stands before this chunk: a violation takes the decoder out of sync,
    // after which it can no longer say where PDUs begin.
    at_boundary_[0] = decoder_.at_pdu_boundary(Side::kClient);
    at_boundary_[1] = decoder_.at_pdu_boundary(Side::kServer);
    side_forwarded_nothing_ = bytes_[index(side)] == 0;
    feeding_ = side;
    bytes_[index(side)] += chunk.size();
    decoder_.feed(side, chunk);
    return response_ ? Action::close(*response_) : Action::forward();
  }
  std::uint64_t opaque_bytes(Direction direction) override {
    return response_ ? 0 : decoder_.skippable(side_of(direction));
  }
  void on_opaque(Direction direction, std::size_t n) override {
    bytes_[index(side_of(direction))] += n;
    decoder_.skip(side_of(direction), n);
  }
  void on_close(Direction direction, CloseCause cause) override {
    // A stream that ends inside a PDU is a violation of its own (a truncated request).
    if (cause == CloseCause::kEof) decoder_.end_of_stream(side_of(direction));
    if (++closed_ < 2) return;
    finish(cause);
  }

  // -- dicom::DecoderCallbacks -------------------------------------------------------------
  void on_associate_request(const dicom::Associate& rq) override {
    calling_ae_ = rq.calling_ae;
    called_ae_ = rq.called_ae;
    std::vector<std::string> abstract;
    for (const auto& pc : rq.contexts) {
      abstract.push_back(pc.abstract_syntax);
      proposed_[pc.id] = pc.abstract_syntax;
    }
    audit::Event e = event("association-requested", audit::Outcome::kSuccess);
    e.fields.set("proposed_abstract_syntaxes", abstract);
    e.fields.set("client_max_pdu", rq.user.max_pdu_length);
    e.fields.set("client_implementation_class_uid", rq.user.implementation_class_uid);
    e.fields.set("client_implementation_version", rq.user.implementation_version_name);
    if (rq.user.user_identity_type) e.fields.set("user_identity_type", *rq.user.user_identity_type);
    emit(std::move(e));

    if (device_ == nullptr) return;
    const policy::Decision d = policy::check_association(device_->dicom, device_->name,
                                                         rq.calling_ae, rq.called_ae, abstract);
    if (d.allowed) return;
    alert("association-refused", d);
    if (!settings_.enforce) return;
    // Answered by wardgate: the request never reaches the server, which sees a plain close
    // (or a reset if part of the request had already been relayed).
    Response r;
    r.to_device = dicom::make_associate_reject(1, 1, reject_reason(d.rule));
    if (side_forwarded_nothing_) r.to_upstream = std::vector<std::byte>{};
    response_ = std::move(r);
    ended_ = "rejected-by-wardgate";
    audit::Event rj = event("association-rejected", audit::Outcome::kDenied);
    rj.fields.set("rejected_by", "wardgate");
    rj.fields.set("result", "permanent");
    rj.fields.set("source", 1);
    rj.fields.set("reason", reject_reason(d.rule));
    rj.fields.set("rule", policy::to_string(d.rule));
    emit(std::move(rj));
  }

  void on_associate_accept(const dicom::Associate& ac) override {
    accepted_ = true;
    std::vector<std::string> accepted;
    std::vector<std::string> rejected;
    for (const auto& pc : ac.contexts) {
      const std::string abstract = proposed_.count(pc.id) ? proposed_[pc.id] : "";
      if (pc.result == 0) {
        accepted.push_back(abstract + " " +
                           (pc.transfer_syntaxes.empty() ? "" : pc.transfer_syntaxes.front()));
      } else {
        rejected.push_back(abstract);
      }
    }
    server_max_pdu_ = ac.user.max_pdu_length;
    audit::Event e = event("association-accepted", audit::Outcome::kSuccess);
    e.fields.set("accepted_contexts", accepted);
    e.fields.set("rejected_abstract_syntaxes", rejected);
    e.fields.set("server_max_pdu", ac.user.max_pdu_length);
    e.fields.set("server_implementation_class_uid", ac.user.implementation_class_uid);
    e.fields.set("server_implementation_version", ac.user.implementation_version_name);
    emit(std::move(e));
  }

  void on_associate_reject(const dicom::AssociateReject& rj) override {
    ended_ = "rejected";
    audit::Event e = event("association-rejected", audit::Outcome::kFailure);
    e.fields.set("rejected_by", "server");
    e.fields.set("result", rj.result == 1 ? "permanent" : "transient");
    e.fields.set("source", rj.source);
    e.fields.set("reason", rj.reason);
    emit(std::move(e));
  }

  void on_release_request(Side from) override { release_requested_by_ = from; }

  void on_release_response(Side /*from*/) override {
    ended_ = "released";
    audit::Event e = event("association-released", audit::Outcome::kSuccess);
    e.fields.set("requested_by", who(release_requested_by_.value_or(Side::kClient)));
    emit(std::move(e));
  }

  void on_abort(Side from, const dicom::Abort& abort) override {
    ended_ = "aborted";
    audit::Event e = event("association-aborted", audit::Outcome::kFailure);
    e.fields.set("aborted_by", who(from));
    e.fields.set("source", abort.source == 0 ? "service-user" : "service-provider");
    e.fields.set("reason", abort.reason);
    emit(std::move(e));
  }

  void on_command(Side from, const dicom::Command& c) override {
    if (!policy::is_response(c.command_field)) {
      on_request(from, c);
    } else {
      on_response(from, c);
    }
  }

  void on_data_set_identifiers(Side from, std::uint8_t /*context_id*/,
                               const dicom::DataSetIdentifiers& ids) override {
    Operation* op = data_owner(from);
    if (op == nullptr) return;
    if (from == op->requester)
      op->identifiers = ids;  // responses' identifiers (C-FIND
                              // matches) are counted, not kept
  }

  void on_data_set_end(Side from, std::uint8_t /*context_id*/, std::uint64_t bytes) override {
    if (Operation* op = data_owner(from)) op->bytes += bytes;
    data_bytes_ += bytes;
  }

  void on_violation(Side from, dicom::Violation what, std::string_view detail) override {
    audit::Event e = event("protocol-violation", audit::Outcome::kFailure);
    e.severity = audit::Severity::kAlert;
    e.fields.set("from", who(from));
    e.fields.set("violation", dicom::to_string(what));
    e.fields.set("detail", std::string(detail));
    e.fields.set("reaction", settings_.enforce ? "a-abort" : "none (audit only)");
    emit(std::move(e));
    if (settings_.enforce) abort_both("protocol-violation");
  }

 private:
  static std::size_t index(Side s) { return s == Side::kClient ? 0 : 1; }

  void on_request(Side from, const dicom::Command& c) {
    if (!c.message_id) return;
    Operation op;
    op.message_id = *c.message_id;
    op.command_field = c.command_field;
    op.requester = from;
    op.started = Clock::now();
    op.sop_class_uid =
        c.affected_sop_class_uid.empty() ? c.requested_sop_class_uid : c.affected_sop_class_uid;
    op.sop_instance_uid = c.affected_sop_instance_uid.empty() ? c.requested_sop_instance_uid
                                                              : c.affected_sop_instance_uid;
    op.move_destination = c.move_destination;
    op.priority = c.priority;
    if (c.has_data_set) data_message_[index(from)] = {from, *c.message_id};
    if (c.command_field == policy::kCCancelRq) return;  // refers to another operation
    operations_[{from, *c.message_id}] = op;

    if (device_ == nullptr || from != Side::kClient) return;
    const policy::Decision d = policy::check_command(device_->dicom, device_->name, c.command_field,
                                                     op.sop_class_uid, c.move_destination);
    if (d.allowed) return;
    alert("command-refused", d);
    if (!settings_.enforce) return;
    operations_[{from, *c.message_id}].refused = true;
    abort_both("command-refused");
  }

  void on_response(Side from, const dicom::Command& c) {
    if (!c.message_id_responded_to) return;
    // A response answers a request of the other side.
    const std::pair key{other(from), *c.message_id_responded_to};
    if (c.has_data_set) data_message_[index(from)] = key;
    auto it = operations_.find(key);
    if (it == operations_.end()) return;
    Operation& op = it->second;
    op.last_response = c;
    const std::uint16_t status = c.status.value_or(0xFFFF);
    if (std::string_view(status_class(status)) == "pending") {
      ++op.pending_responses;
      return;
    }
    emit_operation(op, &c);
    if (op.command_field == policy::kCStoreRq) {
      if (outcome_of(status) == audit::Outcome::kFailure) {
        ++failures_;
      } else {
        ++objects_;
      }
    } else if (outcome_of(status) == audit::Outcome::kFailure) {
      ++failures_;
    }
    operations_.erase(it);
  }

  // The operation whose data set `from` is sending now.
  Operation* data_owner(Side from) {
    const auto& key = data_message_[index(from)];
    if (!key) return nullptr;
    auto it = operations_.find(*key);
    return it == operations_.end() ? nullptr : &it->second;
  }

  void emit_operation(const Operation& op, const dicom::Command* response) {
    const std::uint16_t status = response != nullptr ? response->status.value_or(0xFFFF) : 0xFFFF;
    const audit::Outcome outcome = response != nullptr ? outcome_of(status)
                                   : op.refused        ? audit::Outcome::kDenied
                                                       : audit::Outcome::kFailure;
    audit::Event e = event("operation", outcome);
    e.fields.set("command", std::string(policy::operation_name(op.command_field).value_or("?")));
    e.fields.set("requested_by", who(op.requester));
    e.fields.set("message_id", op.message_id);
    if (response != nullptr) {
      e.fields.set("status", status);
      e.fields.set("status_class", status_class(status));
    } else {
      e.fields.set("status_class", op.refused ? "refused" : "no-response");
    }
    const auto elapsed = std::chrono::duration<double>(Clock::now() - op.started).count();
    e.fields.set("elapsed_s", elapsed);
    e.fields.set("data_set_bytes", op.bytes);
    if (!op.sop_class_uid.empty()) e.fields.set("sop_class_uid", op.sop_class_uid);
    if (!op.sop_instance_uid.empty()) e.fields.set("sop_instance_uid", op.sop_instance_uid);
    const dicom::DataSetIdentifiers& ids = op.identifiers;
    if (op.sop_instance_uid.empty() && !ids.sop_instance_uid.empty()) {
      e.fields.set("sop_instance_uid", ids.sop_instance_uid);
    }
    if (!ids.study_instance_uid.empty()) e.fields.set("study_instance_uid", ids.study_instance_uid);
    if (!ids.series_instance_uid.empty()) {
      e.fields.set("series_instance_uid", ids.series_instance_uid);
    }
    if (!ids.modality.empty()) e.fields.set("modality", ids.modality);
    if (auto p = settings_.patients->protect(ids.patient_id)) e.fields.set("patient_id", *p);
    if (auto a = settings_.patients->protect(ids.accession_number)) {
      e.fields.set("accession_number", *a);
    }
    if (!ids.query_retrieve_level.empty()) e.fields.set("query_level", ids.query_retrieve_level);
    if (!ids.query_keys.empty()) e.fields.set("query_keys", ids.query_keys);
    if (!ids.note.empty()) e.fields.set("identifiers_note", ids.note);
    if (!op.move_destination.empty()) e.fields.set("move_destination", op.move_destination);
    if (op.command_field == policy::kCFindRq) e.fields.set("matches", op.pending_responses);
    if (response != nullptr) {
      const dicom::Command& r = *response;
      if (r.completed_suboperations)
        e.fields.set("suboperations_completed", *r.completed_suboperations);
      if (r.failed_suboperations) e.fields.set("suboperations_failed", *r.failed_suboperations);
      if (r.warning_suboperations) e.fields.set("suboperations_warning", *r.warning_suboperations);
      if (!r.error_comment.empty()) e.fields.set("error_comment", r.error_comment);
    }
    emit(std::move(e));
  }

  void alert(const char* what, const policy::Decision& d) {
    audit::Event e = event("security-alert",
                           settings_.enforce ? audit::Outcome::kDenied : audit::Outcome::kWarning);
    e.severity = audit::Severity::kAlert;
    e.fields.set("alert", what);
    e.fields.set("rule", policy::to_string(d.rule));
    e.fields.set("reason", d.reason);
    e.fields.set("reaction", settings_.enforce ? "refused" : "none (audit only)");
    emit(std::move(e));
  }

  // A-ABORT to both sides, each only where its stream is at a PDU boundary (else a reset).
  void abort_both(const char* why) {
    if (response_) return;
    const Side to_offender = feeding_;  // the side that sent the offending bytes
    Response r;
    const auto abort_pdu = dicom::make_abort(2, 0);
    if (at_boundary_[index(other(to_offender))]) {
      (to_offender == Side::kClient ? r.to_device : r.to_upstream) = abort_pdu;
    }
    if (at_boundary_[index(to_offender)]) {
      (to_offender == Side::kClient ? r.to_upstream : r.to_device) = abort_pdu;
    }
    response_ = std::move(r);
    ended_ = std::string("aborted-by-wardgate (") + why + ")";
    audit::Event e = event("association-aborted", audit::Outcome::kDenied);
    e.fields.set("aborted_by", "wardgate");
    e.fields.set("source", "service-provider");
    e.fields.set("reason", 0);
    e.fields.set("why", why);
    emit(std::move(e));
  }

  void finish(CloseCause cause) {
    for (auto& [id, op] : operations_) emit_operation(op, nullptr);
    operations_.clear();
    const double seconds = std::chrono::duration<double>(Clock::now() - opened_).count();
    audit::Event e = event("association-summary", failures_ > 0 || ended_ != "released"
                                                      ? audit::Outcome::kWarning
                                                      : audit::Outcome::kSuccess);
    e.fields.set("ended", ended_.empty()
                              ? std::string("connection closed (") + to_string(cause) + ")"
                              : ended_);
    e.fields.set("accepted", accepted_);
    e.fields.set("objects", objects_);
    e.fields.set("failures", failures_);
    e.fields.set("bytes_from_device", bytes_[0]);
    e.fields.set("bytes_to_device", bytes_[1]);
    e.fields.set("data_set_bytes", data_bytes_);
    e.fields.set("duration_s", seconds);
    e.fields.set(
        "throughput_mbit_s",
        seconds > 0 ? static_cast<double>(bytes_[0] + bytes_[1]) * 8 / seconds / 1e6 : 0.0);
    emit(std::move(e));
  }

  audit::Event event(const char* action, audit::Outcome outcome) const {
    audit::Event e =
        session_event(info_, settings_.appliance_id, device_name_, "dicom", action, outcome);
    if (!calling_ae_.empty()) e.fields.set("calling_ae", calling_ae_);
    if (!called_ae_.empty()) e.fields.set("called_ae", called_ae_);
    return e;
  }

  void emit(audit::Event e) { settings_.sink->record(std::move(e)); }

  const DicomInspection& settings_;
  SessionInfo info_;
  dicom::Decoder decoder_;
  const policy::Device* device_ = nullptr;
  std::string device_name_;
  Clock::time_point opened_;

  std::string calling_ae_, called_ae_;
  std::map<std::uint8_t, std::string> proposed_;
  std::uint32_t server_max_pdu_ = 0;
  bool accepted_ = false;
  std::string ended_;
  std::optional<Side> release_requested_by_;
  // By (requester, Message ID): both sides number their requests from 1 (C-GET sub-operations).
  std::map<std::pair<Side, std::uint16_t>, Operation> operations_;
  std::optional<std::pair<Side, std::uint16_t>> data_message_[2];
  std::uint64_t bytes_[2] = {0, 0};
  std::uint64_t data_bytes_ = 0;
  std::uint64_t objects_ = 0;
  std::uint64_t failures_ = 0;
  int closed_ = 0;

  // State of the chunk being fed, for deciding where wardgate may speak.
  Side feeding_ = Side::kClient;
  bool at_boundary_[2] = {true, true};
  bool side_forwarded_nothing_ = true;
  std::optional<Response> response_;
};

}  // namespace

std::unique_ptr<Inspector> DicomInspectorFactory::create(const SessionInfo& info) {
  return std::make_unique<DicomInspector>(settings_, info);
}

}  // namespace wardgate::proxy
