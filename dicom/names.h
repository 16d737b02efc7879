#pragma once
// The grammar of the DICOM names a configuration gives: AE titles and UIDs (PS3.5).
#include <optional>
#include <string>
#include <string_view>

namespace wardgate::dicom {

// PS3.5 6.2, VR AE: at most 16 characters of the Default Character Repertoire (printable ASCII
// here) without backslash or control characters, not only spaces. Leading and trailing spaces
// are not significant: the title comes back without them; nullopt if `text` is not one.
std::optional<std::string> ae_title(std::string_view text);

// PS3.5 9.1: components of digits separated by '.', no leading zero in a component, at most 64
// characters.
bool valid_uid(std::string_view text);

}  // namespace wardgate::dicom
