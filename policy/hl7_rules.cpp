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

// `entry` (components joined with '^') is the whole of `field` cut at `separator`.
bool same_components(std::string_view entry, std::string_view field, int separator) {
  if (entry.size() != field.size()) return false;
  for (std::size_t k = 0; k < entry.size(); ++k) {
    const int raw = static_cast<unsigned char>(field[k]);
    if (entry[k] == '^' ? raw != separator : (raw != entry[k] || raw == separator)) return false;
  }
  return true;
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

Decision check_message(const Hl7Rules& rules, std::string_view device, const Hl7Addressing& m) {
  if (const auto& allowed = rules.allowed_message_types) {
    const bool ok = std::any_of(allowed->begin(), allowed->end(), [&](const std::string& p) {
      return type_matches(p, m.message_type, m.trigger_event);
    });
    if (!ok) {
      return Decision::deny(Rule::kMessageType,
                            "message type " + std::string(m.shown_message_type) + "^" +
                                std::string(m.shown_trigger_event) + " is not allowed for device " +
                                std::string(device) + " (allowed: " + joined(*allowed) + ")");
    }
  }
  if (const auto& allowed = rules.allowed_receiving_applications) {
    const bool ok = std::any_of(allowed->begin(), allowed->end(), [&](const std::string& a) {
      return same_components(a, m.receiving_application, m.component_separator) ||
             (a.find('^') == std::string::npos && a == m.receiving_namespace);
    });
    if (!ok) {
      return Decision::deny(Rule::kReceivingApplication,
                            "receiving application " + std::string(m.shown_receiving_application) +
                                " is not allowed for device " + std::string(device) +
                                " (allowed: " + joined(*allowed) + ")");
    }
  }
  return Decision::allow();
}

}  // namespace wardgate::policy
