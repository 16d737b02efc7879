#pragma once
// The audit record of one DICOM association: turns what dicom::Decoder reports into audit events
// (the association's steps, one event per DIMSE operation from its request to its final
// response, with the identifiers of its data set, and a summary when the connection ends). It
// decides nothing: what wardgate refuses is dicom_inspector.cpp's business, which tells the
// trail what it did.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
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
  };

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
  // A request opens an operation (returned, null for one without a Message ID or a C-CANCEL); a
  // final response closes it.
  Operation* command(Side from, const dicom::Command& c);
  void data_set_identifiers(Side from, const dicom::DataSetIdentifiers& ids);
  void data_set_end(Side from, std::uint64_t bytes);
  // `reaction`: what wardgate does about it.
  void violation(Side from, dicom::Violation what, std::string_view detail, const char* reaction);
  void relayed(Side from, std::uint64_t bytes) { bytes_[index(from)] += bytes; }
  std::uint64_t relayed(Side from) const { return bytes_[index(from)]; }
  // Both directions ended: operations still open and the summary.
  void finish(CloseCause cause);

  // Added to every event of the association.
  void annotate(audit::Event& e) const;

 private:
  static std::size_t index(Side s) { return s == Side::kClient ? 0 : 1; }
  void on_response(Side from, const dicom::Command& c);
  Operation* data_owner(Side from);
  void emit_operation(const Operation& op, const dicom::Command* response);

  InspectorBase& session_;
  const audit::PatientDataProtector& patients_;
  Clock::time_point opened_;
  std::string calling_ae_, called_ae_;
  std::map<std::uint8_t, std::string> proposed_;
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
};

}  // namespace wardgate::inspect
