#include "inspect/hl7_section.h"

#include "common/json_reader.h"

namespace wardgate::inspect {

Hl7Section read_hl7_section(const nlohmann::json* section) {
  Hl7Section c;
  if (section == nullptr) return c;
  common::ObjectReader r(*section, "hl7");
  c.enforce = r.boolean("enforce", c.enforce);
  c.limits.max_message_size =
      static_cast<std::size_t>(r.integer("max_message_size", 1024, std::int64_t{256} << 20,
                                         static_cast<std::int64_t>(c.limits.max_message_size)));
  c.ack_timeout = std::chrono::seconds(r.integer("ack_timeout_s", 1, 86400, c.ack_timeout.count()));
  r.reject_unknown_keys();
  return c;
}

}  // namespace wardgate::inspect
