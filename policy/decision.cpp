#include "policy/decision.h"

namespace wardgate::policy {

const char* to_string(Rule rule) {
  switch (rule) {
    case Rule::kNone:
      return "none";
    case Rule::kCallingAe:
      return "allowed_calling_ae";
    case Rule::kCalledAe:
      return "allowed_called_ae";
    case Rule::kSopClass:
      return "allowed_sop_classes";
    case Rule::kOperation:
      return "allowed_operations";
    case Rule::kMoveDestination:
      return "allowed_move_destinations";
    case Rule::kMessageType:
      return "allowed_message_types";
    case Rule::kReceivingApplication:
      return "allowed_receiving_applications";
  }
  return "unknown";
}

}  // namespace wardgate::policy
