#pragma once
// What an operator types into an audited command (`wardgate bypass --reason`, `wardgate audit
// note --text`) and who the operator is: both go into audit records and the syslog export, so
// text is limited to printable UTF-8 without quotes or backslashes (nothing a reader of the
// record, a CSV export or a SIEM rule could misread).
#include <cstddef>
#include <string>

namespace wardgate::app {

// Printable UTF-8 without control characters, quotes or backslashes.
bool printable_operator_text(const std::string& text);

// Empty if `text` is acceptable for option `option` (at most max_bytes), else what is wrong.
std::string check_operator_text(const std::string& text, std::size_t max_bytes,
                                const std::string& option);

// Who runs this command: SUDO_USER, else LOGNAME, else USER, else "uid N".
std::string operator_name();

}  // namespace wardgate::app
