#pragma once
// The audit record of one DICOM association: turns what dicom::Decoder reports into audit events
// (the association's steps, one event per DIMSE operation the decoder reports completed or still
// open at the end, with the identifiers of its data set, and a summary when the connection ends).
// It decides nothing: what wardgate refuses is dicom_inspector.cpp's business, which tells the
// trail what it did.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dicom/decoder.h"
#include "inspect/inspector_base.h"

namespace wardgate::inspect {

class DicomAuditTrail {
 public:
  using Clock = std::chrono::steady_clock;
  using Side = dicom::Side;

  DicomAuditTrail(InspectorBase& session, const audit::PatientDataProtector& patients)
      : session_(session), patients_(patients), opened_(Clock::now()) {}

  // The requested abstract syntaxes, in the order proposed.
  std::vector<std::string> association_requested(const dicom::Associate& rq);
  void association_accepted(const dicom::Associate& ac);
  void association_rejected(const dicom::AssociateReject& rj);
  // wardgate answered the request with A-ASSOCIATE-RJ (`reason`: PS3.8 table 9-21, source 1).
  void rejected_by_wardgate(std::uint8_t reason, policy::Rule rule);
  void release_requested(Side from) { release_requested_by_ = from; }
  void released();
  void aborted(Side from, const dicom::Abort& abort);
  // wardgate ended the association with A-ABORT to both sides.
  void aborted_by_wardgate(const char* why);
  // A request with a Message ID: one that repeats a refused request's starts afresh.
  void request(Side from, std::uint16_t message_id) { refused_.erase({from, message_id}); }
  // wardgate refused the request `message_id` of `from`: it never reached the other side.
  void refused(Side from, std::uint16_t message_id) { refused_.insert({from, message_id}); }
  // The decoder reports an operation's final response.
  void operation(const dicom::Operation& op);
  void data_set_end(std::uint64_t bytes) { data_bytes_ += bytes; }
  // `reaction`: what wardgate does about it.
  void violation(Side from, dicom::Violation what, std::string_view detail, const char* reaction);
  void relayed(Side from, std::uint64_t bytes) { bytes_[index(from)] += bytes; }
  std::uint64_t relayed(Side from) const { return bytes_[index(from)]; }
  // Both directions ended: the operations still open (dicom::Decoder::open_operations()) and
  // the summary.
  void finish(CloseCause cause, const std::vector<dicom::Operation>& open);

  // Added to every event of the association.
  void annotate(audit::Event& e) const;

 private:
  static std::size_t index(Side s) { return s == Side::kClient ? 0 : 1; }
  // An operation completed (final response) or, at the end, still open.
  void emit_operation(const dicom::Operation& op);

  InspectorBase& session_;
  const audit::PatientDataProtector& patients_;
  Clock::time_point opened_;
  std::string calling_ae_, called_ae_;
  std::map<std::uint8_t, std::string> proposed_;
  bool accepted_ = false;
  std::string ended_;
  std::optional<Side> release_requested_by_;
  // Operations refused by wardgate's rules, by (requester, Message ID): both sides number their
  // requests from 1 (C-GET sub-operations). The decoder keeps the operations themselves.
  std::set<std::pair<Side, std::uint16_t>> refused_;
  std::array<std::uint64_t, 2> bytes_{};
  std::uint64_t data_bytes_ = 0;
  std::uint64_t objects_ = 0;
  std::uint64_t failures_ = 0;
};

}  // namespace wardgate::inspect
