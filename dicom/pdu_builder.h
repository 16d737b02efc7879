#pragma once
// The PDUs wardgate itself sends when policy refuses a DICOM peer: A-ASSOCIATE-RJ before an
// association exists upstream, A-ABORT inside one (PS3.8 9.3.4, 9.3.8).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace wardgate::dicom {

// PS3.8 table 9-21: result 1 rejected-permanent, 2 rejected-transient; source 1 service-user,
// 2 service-provider (ACSE), 3 service-provider (presentation); reasons per source, e.g. source 1
// reason 3 "calling-AE-title-not-recognized", reason 7 "called-AE-title-not-recognized".
std::vector<std::byte> make_associate_reject(std::uint8_t result, std::uint8_t source,
                                             std::uint8_t reason);

// PS3.8 table 9-26: source 0 service-user, 2 service-provider; reason (provider only) 0
// not-specified, 2 unexpected-PDU, 6 invalid-PDU-parameter-value.
std::vector<std::byte> make_abort(std::uint8_t source, std::uint8_t reason);

}  // namespace wardgate::dicom
