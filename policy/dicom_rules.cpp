#include "policy/dicom_rules.h"

#include <algorithm>
#include <array>

namespace wardgate::policy {
namespace {

using namespace dicom::spec;  // PS3.7 command fields

struct CommandEntry {
  std::uint16_t request;
  std::string_view operation;
};

// PS3.7 Table E.1-1 (Command Field values); C-CANCEL has no response.
constexpr std::array<CommandEntry, 12> kCommands{{
    {kCStoreRq, "C-STORE"},
    {kCGetRq, "C-GET"},
    {kCFindRq, "C-FIND"},
    {kCMoveRq, "C-MOVE"},
    {kCEchoRq, "C-ECHO"},
    {kNEventReportRq, "N-EVENT-REPORT"},
    {kNGetRq, "N-GET"},
    {kNSetRq, "N-SET"},
    {kNActionRq, "N-ACTION"},
    {kNCreateRq, "N-CREATE"},
    {kNDeleteRq, "N-DELETE"},
    {kCCancelRq, "C-CANCEL"},
}};

constexpr std::array<std::string_view, 11> kRestrictable{
    "C-ECHO", "C-STORE",  "C-FIND",         "C-MOVE", "C-GET",   "N-CREATE",
    "N-SET",  "N-ACTION", "N-EVENT-REPORT", "N-GET",  "N-DELETE"};

bool listed(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool operation_allowed(const DicomRules& rules, std::string_view operation) {
  return !rules.allowed_operations || listed(*rules.allowed_operations, operation);
}

bool sop_class_allowed(const DicomRules& rules, std::string_view uid) {
  if (!rules.allowed_sop_classes) return true;
  if (listed(*rules.allowed_sop_classes, uid)) return true;
  return uid == kVerificationSopClass && operation_allowed(rules, "C-ECHO");
}

// UIDs may be padded with a trailing NUL to an even length (PS3.5 9.1).
std::string_view trim_uid(std::string_view uid) {
  while (!uid.empty() && (uid.back() == '\0' || uid.back() == ' ')) uid.remove_suffix(1);
  return uid;
}

std::string for_device(std::string_view device) {
  return " is not allowed for device " + std::string(device);
}

}  // namespace

std::span<const std::string_view> operation_names() { return kRestrictable; }

std::optional<std::string_view> operation_name(std::uint16_t command_field) {
  const bool response = is_response(command_field);
  const auto request = static_cast<std::uint16_t>(command_field & ~kResponseBit);
  for (const auto& c : kCommands) {
    if (c.request == request && !(response && request == kCCancelRq)) return c.operation;
  }
  return std::nullopt;
}

std::string command_name(std::uint16_t command_field) {
  if (const auto op = operation_name(command_field)) {
    return std::string(*op) + (is_response(command_field) ? "-RSP" : "-RQ");
  }
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(command_field >> shift) & 0xf];
  return out;
}

std::string_view trim_ae_title(std::string_view title) {
  const auto first = title.find_first_not_of(' ');
  if (first == std::string_view::npos) return {};
  const auto last = title.find_last_not_of(' ');
  return title.substr(first, last - first + 1);
}

Decision check_association(const DicomRules& rules, std::string_view device,
                           std::string_view calling_ae, std::string_view called_ae,
                           std::span<const std::string> abstract_syntaxes) {
  calling_ae = trim_ae_title(calling_ae);
  called_ae = trim_ae_title(called_ae);
  if (rules.allowed_calling_ae && !listed(*rules.allowed_calling_ae, calling_ae)) {
    return Decision::deny(Rule::kCallingAe,
                          "calling AE title " + std::string(calling_ae) + for_device(device));
  }
  if (rules.allowed_called_ae && !listed(*rules.allowed_called_ae, called_ae)) {
    return Decision::deny(Rule::kCalledAe,
                          "called AE title " + std::string(called_ae) + for_device(device));
  }
  if (rules.allowed_sop_classes) {
    const bool any = std::any_of(
        abstract_syntaxes.begin(), abstract_syntaxes.end(),
        [&](const std::string& uid) { return sop_class_allowed(rules, trim_uid(uid)); });
    if (!any) {
      if (abstract_syntaxes.empty()) {
        return Decision::deny(Rule::kSopClass,
                              "an association proposing no SOP class" + for_device(device));
      }
      return Decision::deny(
          Rule::kSopClass,
          "none of the " + std::to_string(abstract_syntaxes.size()) +
              " proposed SOP classes is allowed for device " + std::string(device) +
              " (first proposed: " + std::string(trim_uid(abstract_syntaxes[0])) + ")");
    }
  }
  return Decision::allow();
}

Decision check_command(const DicomRules& rules, std::string_view device,
                       std::uint16_t command_field, std::string_view sop_class_uid,
                       std::string_view move_destination) {
  if (is_response(command_field) || command_field == kCCancelRq) return Decision::allow();
  const auto operation = operation_name(command_field);
  if (rules.allowed_operations) {
    if (!operation) {
      return Decision::deny(Rule::kOperation, "command field " + command_name(command_field) +
                                                  " (not a DIMSE request)" + for_device(device));
    }
    if (!listed(*rules.allowed_operations, *operation)) {
      return Decision::deny(Rule::kOperation,
                            "operation " + std::string(*operation) + for_device(device));
    }
  }
  sop_class_uid = trim_uid(sop_class_uid);
  if (rules.allowed_sop_classes && !sop_class_allowed(rules, sop_class_uid)) {
    const std::string what = operation ? std::string(*operation) : command_name(command_field);
    if (sop_class_uid.empty()) {
      return Decision::deny(Rule::kSopClass,
                            "a " + what + " request without a SOP class UID" + for_device(device));
    }
    return Decision::deny(
        Rule::kSopClass, what + " of SOP class " + std::string(sop_class_uid) + for_device(device));
  }
  if (command_field == kCMoveRq && rules.allowed_move_destinations) {
    const std::string_view destination = trim_ae_title(move_destination);
    if (!listed(*rules.allowed_move_destinations, destination)) {
      return Decision::deny(Rule::kMoveDestination,
                            "C-MOVE destination " + std::string(destination) + for_device(device));
    }
  }
  return Decision::allow();
}

}  // namespace wardgate::policy
