#include "inspect/dicom_audit_trail.h"

#include "dicom/spec.h"
#include "policy/dicom_rules.h"

namespace wardgate::inspect {
namespace {

using Side = dicom::Side;

audit::Outcome outcome_of(std::uint16_t status) {
  switch (dicom::spec::status_class(status)) {
    case dicom::spec::StatusClass::kSuccess:
      return audit::Outcome::kSuccess;
    case dicom::spec::StatusClass::kWarning:
    case dicom::spec::StatusClass::kCancel:
      return audit::Outcome::kWarning;
    default:
      return audit::Outcome::kFailure;
  }
}

}  // namespace

void DicomAuditTrail::annotate(audit::Event& e) const {
  if (!calling_ae_.empty()) e.fields.set("calling_ae", calling_ae_);
  if (!called_ae_.empty()) e.fields.set("called_ae", called_ae_);
}

std::vector<std::string> DicomAuditTrail::association_requested(const dicom::Associate& rq) {
  calling_ae_ = rq.calling_ae;
  called_ae_ = rq.called_ae;
  std::vector<std::string> abstract;
  for (const auto& pc : rq.contexts) {
    abstract.push_back(pc.abstract_syntax);
    proposed_[pc.id] = pc.abstract_syntax;
  }
  audit::Event e = session_.event("association-requested", audit::Outcome::kSuccess);
  e.fields.set("proposed_abstract_syntaxes", abstract);
  e.fields.set("client_max_pdu", rq.user.max_pdu_length);
  e.fields.set("client_implementation_class_uid", rq.user.implementation_class_uid);
  e.fields.set("client_implementation_version", rq.user.implementation_version_name);
  if (rq.user.user_identity_type) e.fields.set("user_identity_type", *rq.user.user_identity_type);
  session_.emit(std::move(e));
  return abstract;
}

void DicomAuditTrail::rejected_by_wardgate(std::uint8_t reason, policy::Rule rule) {
  ended_ = "rejected-by-wardgate";
  audit::Event rj = session_.event("association-rejected", audit::Outcome::kDenied);
  rj.fields.set("rejected_by", "wardgate");
  rj.fields.set("result", "permanent");
  rj.fields.set("source", 1);
  rj.fields.set("reason", reason);
  rj.fields.set("rule", policy::to_string(rule));
  session_.emit(std::move(rj));
}

void DicomAuditTrail::association_accepted(const dicom::Associate& ac) {
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
  audit::Event e = session_.event("association-accepted", audit::Outcome::kSuccess);
  e.fields.set("accepted_contexts", accepted);
  e.fields.set("rejected_abstract_syntaxes", rejected);
  e.fields.set("server_max_pdu", ac.user.max_pdu_length);
  e.fields.set("server_implementation_class_uid", ac.user.implementation_class_uid);
  e.fields.set("server_implementation_version", ac.user.implementation_version_name);
  session_.emit(std::move(e));
}

void DicomAuditTrail::association_rejected(const dicom::AssociateReject& rj) {
  ended_ = "rejected";
  audit::Event e = session_.event("association-rejected", audit::Outcome::kFailure);
  e.fields.set("rejected_by", "server");
  e.fields.set("result", rj.result == 1 ? "permanent" : "transient");
  e.fields.set("source", rj.source);
  e.fields.set("reason", rj.reason);
  session_.emit(std::move(e));
}

void DicomAuditTrail::released() {
  ended_ = "released";
  audit::Event e = session_.event("association-released", audit::Outcome::kSuccess);
  e.fields.set("requested_by", session_.who(release_requested_by_.value_or(Side::kClient)));
  session_.emit(std::move(e));
}

void DicomAuditTrail::aborted(Side from, const dicom::Abort& abort) {
  ended_ = "aborted";
  audit::Event e = session_.event("association-aborted", audit::Outcome::kFailure);
  e.fields.set("aborted_by", session_.who(from));
  e.fields.set("source", abort.source == 0 ? "service-user" : "service-provider");
  e.fields.set("reason", abort.reason);
  session_.emit(std::move(e));
}

void DicomAuditTrail::aborted_by_wardgate(const char* why) {
  ended_ = std::string("aborted-by-wardgate (") + why + ")";
  audit::Event e = session_.event("association-aborted", audit::Outcome::kDenied);
  e.fields.set("aborted_by", "wardgate");
  e.fields.set("source", "service-provider");
  e.fields.set("reason", 0);
  e.fields.set("why", why);
  session_.emit(std::move(e));
}

void DicomAuditTrail::violation(Side from, dicom::Violation what, std::string_view detail,
                                const char* reaction) {
  audit::Event e = session_.event("protocol-violation", audit::Outcome::kFailure);
  e.severity = audit::Severity::kAlert;
  e.fields.set("from", session_.who(from));
  e.fields.set("violation", dicom::to_string(what));
  e.fields.set("detail", std::string(detail));
  e.fields.set("reaction", reaction);
  session_.emit(std::move(e));
}

void DicomAuditTrail::operation(const dicom::Operation& op) {
  refused_.erase({op.requester, op.message_id});
  emit_operation(op);
  const std::uint16_t status = op.final_response->status.value_or(0xFFFF);
  if (op.command_field == dicom::spec::kCStoreRq) {
    if (outcome_of(status) == audit::Outcome::kFailure) {
      ++failures_;
    } else {
      ++objects_;
    }
  } else if (outcome_of(status) == audit::Outcome::kFailure) {
    ++failures_;
  }
}

void DicomAuditTrail::emit_operation(const dicom::Operation& op) {
  const dicom::Command* response = op.final_response ? &*op.final_response : nullptr;
  const bool refused = response == nullptr && refused_.count({op.requester, op.message_id}) > 0;
  const std::uint16_t status = response != nullptr ? response->status.value_or(0xFFFF) : 0xFFFF;
  const audit::Outcome outcome = response != nullptr ? outcome_of(status)
                                 : refused           ? audit::Outcome::kDenied
                                                     : audit::Outcome::kFailure;
  audit::Event e = session_.event("operation", outcome);
  e.fields.set("command", std::string(policy::operation_name(op.command_field).value_or("?")));
  e.fields.set("requested_by", session_.who(op.requester));
  e.fields.set("message_id", op.message_id);
  if (response != nullptr) {
    e.fields.set("status", status);
    e.fields.set("status_class", dicom::spec::to_string(dicom::spec::status_class(status)));
  } else {
    e.fields.set("status_class", refused ? "refused" : "no-response");
  }
  const auto ended = response != nullptr ? op.ended : Clock::now();
  e.fields.set("elapsed_s", std::chrono::duration<double>(ended - op.started).count());
  e.fields.set("data_set_bytes", op.data_set_bytes);
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
  if (auto p = patients_.protect(ids.patient_id)) e.fields.set("patient_id", *p);
  if (auto a = patients_.protect(ids.accession_number)) e.fields.set("accession_number", *a);
  if (!ids.query_retrieve_level.empty()) e.fields.set("query_level", ids.query_retrieve_level);
  if (!ids.query_keys.empty()) e.fields.set("query_keys", ids.query_keys);
  if (!ids.note.empty()) e.fields.set("identifiers_note", ids.note);
  if (!op.move_destination.empty()) e.fields.set("move_destination", op.move_destination);
  // Ties a C-MOVE's sub-operation to the retrieve that caused it (PS3.7 9.1.1.1).
  if (!op.move_originator_ae.empty()) e.fields.set("move_originator_ae", op.move_originator_ae);
  if (op.move_originator_message_id) {
    e.fields.set("move_originator_message_id", *op.move_originator_message_id);
  }
  if (op.command_field == dicom::spec::kCFindRq) e.fields.set("matches", op.pending_responses);
  if (response != nullptr) {
    const dicom::Command& r = *response;
    if (r.completed_suboperations) {
      e.fields.set("suboperations_completed", *r.completed_suboperations);
    }
    if (r.failed_suboperations) e.fields.set("suboperations_failed", *r.failed_suboperations);
    if (r.warning_suboperations) e.fields.set("suboperations_warning", *r.warning_suboperations);
    // Free text of the PACS, which often names the patient: kept as patient identifiers are.
    if (auto c = patients_.protect(r.error_comment)) e.fields.set("error_comment", *c);
  }
  session_.emit(std::move(e));
}

void DicomAuditTrail::finish(CloseCause cause, const std::vector<dicom::Operation>& open) {
  for (const auto& op : open) emit_operation(op);
  const double seconds = std::chrono::duration<double>(Clock::now() - opened_).count();
  audit::Event e = session_.event("association-summary", failures_ > 0 || ended_ != "released"
                                                             ? audit::Outcome::kWarning
                                                             : audit::Outcome::kSuccess);
  e.fields.set("ended", ended_.empty()
                            ? std::string("connection closed (") + proxy::to_string(cause) + ")"
                            : ended_);
  e.fields.set("accepted", accepted_);
  e.fields.set("objects", objects_);
  e.fields.set("failures", failures_);
  const Side device = session_.is_device(Side::kClient) ? Side::kClient : Side::kServer;
  const Side peer = device == Side::kClient ? Side::kServer : Side::kClient;
  e.fields.set("bytes_from_device", bytes_[index(device)]);
  e.fields.set("bytes_to_device", bytes_[index(peer)]);
  e.fields.set("data_set_bytes", data_bytes_);
  e.fields.set("duration_s", seconds);
  e.fields.set("throughput_mbit_s",
               seconds > 0 ? static_cast<double>(bytes_[0] + bytes_[1]) * 8 / seconds / 1e6 : 0.0);
  session_.emit(std::move(e));
}

}  // namespace wardgate::inspect
