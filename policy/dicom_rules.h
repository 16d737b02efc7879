#pragma once
// Per-device DICOM rules (configuration: devices[].dicom) and the checks the DICOM inspector
// applies: once per association request, then once per request command the device sends.
//
// Presentation contexts: a modality proposes many abstract syntaxes (every storage SOP class it
// may ever send). The association is rejected only if NONE of them is allowed; otherwise it goes
// ahead and each command is checked on its own, so a C-STORE of a SOP class the device may not
// send is refused mid-association (A-ABORT) while the allowed ones pass.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dicom/spec.h"  // header only: command fields and SOP classes
#include "policy/decision.h"

namespace wardgate::policy {

struct DicomRules {
  // nullopt: no restriction. An empty list allows nothing.
  std::optional<std::vector<std::string>> allowed_calling_ae;   // the device's own AE titles
  std::optional<std::vector<std::string>> allowed_called_ae;    // AE titles it may call
  std::optional<std::vector<std::string>> allowed_sop_classes;  // UIDs
  // Request commands the device may send, by operation name ("C-STORE"); see operation_names().
  std::optional<std::vector<std::string>> allowed_operations;
  std::optional<std::vector<std::string>> allowed_move_destinations;  // AE titles
  bool operator==(const DicomRules&) const = default;
};

// The operation names allowed_operations may list: C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET,
// N-CREATE, N-SET, N-ACTION, N-EVENT-REPORT, N-GET, N-DELETE (C-CANCEL is always allowed).
std::span<const std::string_view> operation_names();

// Operations are named by their request's command field (dicom::spec::CommandField).
// "C-STORE" for C-STORE-RQ and C-STORE-RSP, "C-CANCEL" for C-CANCEL-RQ; nullopt if the command
// field is not a DIMSE command.
std::optional<std::string_view> operation_name(std::uint16_t command_field);
// "C-STORE-RQ", "C-STORE-RSP", "C-CANCEL-RQ"; unknown fields as "0x1234".
std::string command_name(std::uint16_t command_field);

// AE titles: leading and trailing spaces are not significant (PS3.5 6.2, VR AE; PS3.8 9.3.2);
// nothing else is folded, so "ct01" and "CT01" are different titles (exact comparison).
std::string_view trim_ae_title(std::string_view title);

// The A-ASSOCIATE-RQ of a device: calling and called AE titles, then the abstract syntaxes of the
// proposed presentation contexts (denied only if none is allowed). The Verification SOP Class
// counts as allowed whenever C-ECHO is, without being listed in allowed_sop_classes.
Decision check_association(const DicomRules& rules, std::string_view device,
                           std::string_view calling_ae, std::string_view called_ae,
                           std::span<const std::string> abstract_syntaxes);

// One command the device sends: the operation, then its SOP class (the Affected SOP Class UID, or
// the Requested SOP Class UID for N-GET/N-SET/N-ACTION/N-DELETE), then for C-MOVE the move
// destination. Responses and C-CANCEL-RQ are always allowed: the rules restrict requests.
Decision check_command(const DicomRules& rules, std::string_view device,
                       std::uint16_t command_field, std::string_view sop_class_uid,
                       std::string_view move_destination = {});

}  // namespace wardgate::policy
