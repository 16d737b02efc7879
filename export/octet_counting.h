#pragma once
// RFC 6587 section 3.4.1 octet-counting framing (also RFC 5425 section 4.3, syslog over TLS):
// MSG-LEN SP SYSLOG-MSG, so messages may hold any byte, newlines included.
#include <string>
#include <string_view>

namespace wardgate::exporter {

inline void append_octet_counted(std::string& out, std::string_view message) {
  out += std::to_string(message.size());
  out += ' ';
  out += message;
}

}  // namespace wardgate::exporter
