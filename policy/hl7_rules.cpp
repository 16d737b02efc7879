#include "policy/hl7_rules.h"

#include <algorithm>

namespace wardgate::policy {
namespace {

bool code_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool code(std::string_view s) {
  return s.size() == 3 && std::all_of(s.begin(), s.end(), code_char);
}

bool type_matches(std::string_view pattern, std::string_view type, std::string_view trigger) {
  const std::size_t caret = pattern.find('^');
  if (pattern.substr(0, caret) != type) return false;
  if (caret == std::string_view::npos) return true;
  const std::string_view want = pattern.substr(caret + 1);
  return want == "*" || want == trigger;
}

std::string joined(const std::vector<std::string>& list) {
  if (list.empty()) return "nothing";
  std::string out;
  for (const auto& s : list) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

bool valid_message_type_pattern(std::string_view pattern) {
  const std::size_t caret = pattern.find('^');
  if (caret == std::string_view::npos) return code(pattern);
  const std::string_view trigger = pattern.substr(caret + 1);
  return code(pattern.substr(0, caret)) && (trigger == "*" || code(trigger));
}

Decision check_message(const Hl7Rules& rules, std::string_view device, std::string_view type,
                       std::string_view trigger, std::string_view receiving_application) {
  if (const auto& allowed = rules.allowed_message_types) {
    const bool ok = std::any_of(allowed->begin(), allowed->end(), [&](const std::string& p) {
      return type_matches(p, type, trigger);
    });
    if (!ok) {
      return Decision::deny(Rule::kMessageType,
                            "message type " + std::string(type) + "^" + std::string(trigger) +
                                " is not allowed for device " + std::string(device) +
                                " (allowed: " + joined(*allowed) + ")");
    }
  }
  if (const auto& allowed = rules.allowed_receiving_applications) {
    const std::string_view namespace_id =
        receiving_application.substr(0, receiving_application.find('^'));
    const bool ok = std::any_of(allowed->begin(), allowed->end(), [&](const std::string& a) {
      return a == receiving_application || a == namespace_id;
    });
    if (!ok) {
      return Decision::deny(Rule::kReceivingApplication,
                            "receiving application " + std::string(receiving_application) +
                                " is not allowed for device " + std::string(device) +
                                " (allowed: " + joined(*allowed) + ")");
    }
  }
  return Decision::allow();
}

}  // namespace wardgate::policy
