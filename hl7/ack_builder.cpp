#include "hl7/ack_builder.h"

#include <vector>

#include "hl7/spec.h"

namespace wardgate::hl7 {
namespace {

// Fields of an MSH segment as sent: [0] "MSH", [1] MSH-2 (encoding characters), [k] MSH-(k+1).
// A lead byte of a double-byte charset protects the byte after it.
std::vector<std::string_view> msh_fields(std::string_view header, char field_sep,
                                         bool double_byte) {
  std::vector<std::string_view> out{header.substr(0, 3)};
  std::size_t start = 4;
  for (std::size_t i = 4; i <= header.size(); ++i) {
    if (i == header.size() || header[i] == field_sep) {
      out.push_back(header.substr(start, i - start));
      start = i + 1;
    } else if (double_byte && static_cast<unsigned char>(header[i]) >= 0x81 &&
               static_cast<unsigned char>(header[i]) <= 0xFE) {
      ++i;  // trail byte
    }
  }
  return out;
}

}  // namespace

AckCode refusal_code(const Message& message) {
  return message.accept_ack_type.empty() ? AckCode::kAR : AckCode::kCR;
}

std::string build_refusal_ack(std::string_view header, bool double_byte, const Refusal& refusal,
                              std::string_view timestamp, std::string_view control_id) {
  if (header.size() < 8 || header.substr(0, 3) != "MSH") return {};
  const char f = header[3];
  const auto fields = msh_fields(header, f, double_byte);
  const auto field = [&](std::size_t n) {  // MSH-n, n >= 2
    return n - 1 < fields.size() ? fields[n - 1] : std::string_view{};
  };
  const std::string_view encoding = field(2);
  const char component = encoding.empty() ? '^' : encoding[0];
  const char subcomponent = encoding.size() > 3 ? encoding[3] : '&';
  const std::string_view type = field(9);
  std::string_view trigger;  // MSH-9.2, as sent
  if (const std::size_t c = type.find(component); c != std::string_view::npos) {
    trigger = type.substr(c + 1);
    trigger = trigger.substr(0, trigger.find(component));
  }
  const std::string_view version = field(12);
  const std::string_view charset = field(18);

  std::string ack;
  ack += static_cast<char>(spec::kStartBlock);
  ack.append("MSH").append(1, f).append(encoding);
  for (std::string_view v : {field(5), field(6), field(3), field(4), timestamp}) {
    ack.append(1, f).append(v);
  }
  ack.append(1, f);  // MSH-8 security
  ack.append(1, f).append("ACK");
  if (!trigger.empty()) ack.append(1, component).append(trigger).append(1, component).append("ACK");
  ack.append(1, f).append(control_id);
  ack.append(1, f).append(field(11));
  ack.append(1, f).append(version);
  if (!charset.empty()) ack.append(6, f).append(charset);  // MSH-13..17 empty, MSH-18
  ack += static_cast<char>(spec::kCarriageReturn);

  ack.append("MSA").append(1, f).append(to_string(refusal.code));
  ack.append(1, f).append(field(10)).append(1, f).append(refusal.text);
  ack += static_cast<char>(spec::kCarriageReturn);

  // ERR: ERR-3 (HL7 error code) and ERR-4 (severity) from v2.5 on; ERR-1 (code and location)
  // before. Versions compare as text: "2.3.1" < "2.5" < "2.5.1" < "2.8".
  ack.append("ERR").append(1, f);
  if (!version.empty() && version < "2.5") {
    ack.append(3, component).append(refusal.error_code).append(1, subcomponent);
    ack.append(refusal.error_text).append(1, subcomponent).append("HL70357");
  } else {
    ack.append(2, f).append(refusal.error_code).append(1, component).append(refusal.error_text);
    ack.append(1, component).append("HL70357").append(1, f).append("E");
  }
  ack += static_cast<char>(spec::kCarriageReturn);
  ack += static_cast<char>(spec::kEndBlock);
  ack += static_cast<char>(spec::kCarriageReturn);
  return ack;
}

}  // namespace wardgate::hl7
