#pragma once
// What the DICOM decoder reports: the Upper Layer association (PS3.8 section 9) and DIMSE
// messages (PS3.7 section 9/10), as plain values. No DCMTK type leaks out of dicom/.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wardgate::dicom {

// The side of the TCP connection a PDU came from. The client is the association requestor of
// the connection (the one that connected and sends A-ASSOCIATE-RQ).
enum class Side : std::uint8_t { kClient, kServer };

struct RoleSelection {
  std::string sop_class_uid;
  bool scu_role = false;
  bool scp_role = false;
};

struct UserInformation {
  std::uint32_t max_pdu_length = 0;  // 0: unlimited (PS3.8 D.1)
  std::string implementation_class_uid;
  std::string implementation_version_name;
  std::optional<std::uint16_t> max_operations_invoked;  // asynchronous operations window
  std::optional<std::uint16_t> max_operations_performed;
  std::vector<RoleSelection> role_selections;
  std::vector<std::string> extended_negotiation_sop_classes;
  // User identity negotiation (PS3.7 D.3.3.7): only the type and whether a response was asked
  // for; the identity itself (user name, password, Kerberos, SAML, JWT) is never kept.
  std::optional<std::uint8_t> user_identity_type;
  bool user_identity_response_requested = false;
  bool user_identity_server_response = false;  // A-ASSOCIATE-AC carried a server response
};

struct PresentationContext {
  std::uint8_t id = 0;
  std::string abstract_syntax;                 // RQ only
  std::vector<std::string> transfer_syntaxes;  // RQ: proposed; AC: the one accepted
  std::uint8_t result = 0;                     // AC only: 0 acceptance, 1-4 rejection reasons
};

// A-ASSOCIATE-RQ and A-ASSOCIATE-AC share their layout (PS3.8 9.3.2, 9.3.3).
struct Associate {
  std::uint16_t protocol_version = 0;
  std::string called_ae;  // trailing spaces removed
  std::string calling_ae;
  std::string application_context;
  std::vector<PresentationContext> contexts;
  UserInformation user;
};

struct AssociateReject {    // PS3.8 9.3.4
  std::uint8_t result = 0;  // 1 permanent, 2 transient
  std::uint8_t source = 0;  // 1 service user, 2 provider (ACSE), 3 provider (presentation)
  std::uint8_t reason = 0;
};

struct Abort {              // PS3.8 9.3.8
  std::uint8_t source = 0;  // 0 service user, 2 service provider
  std::uint8_t reason = 0;
};

// One DIMSE command set (PS3.7 E.1), decoded from Implicit VR Little Endian.
struct Command {
  std::uint8_t context_id = 0;
  std::uint16_t command_field = 0;  // PS3.7 E.1: 0x0001 C-STORE-RQ, 0x8001 C-STORE-RSP, ...
  std::optional<std::uint16_t> message_id;
  std::optional<std::uint16_t> message_id_responded_to;
  std::optional<std::uint16_t> status;
  std::optional<std::uint16_t> priority;
  bool has_data_set = false;  // CommandDataSetType != 0x0101
  std::string affected_sop_class_uid;
  std::string affected_sop_instance_uid;
  std::string requested_sop_class_uid;
  std::string requested_sop_instance_uid;
  std::string move_destination;  // C-MOVE-RQ
  std::optional<std::uint16_t> remaining_suboperations;
  std::optional<std::uint16_t> completed_suboperations;
  std::optional<std::uint16_t> failed_suboperations;
  std::optional<std::uint16_t> warning_suboperations;
  std::optional<std::uint16_t> action_type_id;  // N-ACTION
  std::optional<std::uint16_t> event_type_id;   // N-EVENT-REPORT
  std::string error_comment;
  // C-STORE-RQ of a C-MOVE sub-operation (PS3.7 9.1.1.1): the C-MOVE's requester and Message ID.
  std::string move_originator_ae;  // trailing spaces removed
  std::optional<std::uint16_t> move_originator_message_id;
};

// Identifying attributes peeked from the start of a data set (bounded prefix), decoded with the
// negotiated transfer syntax. Empty strings: absent or not reached within the prefix.
struct DataSetIdentifiers {
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::string study_instance_uid;
  std::string series_instance_uid;
  std::string patient_id;
  std::string accession_number;
  std::string modality;
  std::string query_retrieve_level;     // C-FIND / C-MOVE / C-GET identifiers
  std::vector<std::string> query_keys;  // keywords of the attributes present in a query
  std::string note;  // why the peek is incomplete (deflate, prefix too short, unknown syntax)
};

// A DIMSE operation (PS3.7 9.1, 10.1) from its request to its final response (any status but
// Pending), as the decoder's ledger keeps it. Times come from the caller's clock (see Decoder).
struct Operation {
  std::uint16_t message_id = 0;
  std::uint16_t command_field = 0;  // of the request
  Side requester = Side::kClient;
  std::chrono::steady_clock::time_point started;  // the request's command set was decoded
  std::chrono::steady_clock::time_point ended;    // the final response's was (open: unset)
  std::string sop_class_uid;     // the request's Affected SOP Class UID, else its Requested one
  std::string sop_instance_uid;  // likewise
  std::string move_destination;  // C-MOVE-RQ
  // C-STORE-RQ of a C-MOVE sub-operation: the retrieve that caused it (Command's fields).
  std::string move_originator_ae;
  std::optional<std::uint16_t> move_originator_message_id;
  std::optional<std::uint16_t> priority;
  std::uint64_t data_set_bytes = 0;       // of the request and its responses
  std::uint64_t pending_responses = 0;    // C-FIND matches, C-MOVE/C-GET progress reports
  DataSetIdentifiers identifiers;         // of the request's data set (responses' are not kept)
  std::optional<Command> final_response;  // absent while the operation is open
};

}  // namespace wardgate::dicom
