#pragma once
// A DIMSE-N exchange as recorded bytes: MPPS N-CREATE and N-SET, Storage Commitment N-ACTION,
// and the N-EVENT-REPORT the SCP sends back on the same association.
#include <string_view>
#include <vector>

#include "dicom_test_support.h"

namespace wardgate::dicom::testing {

inline constexpr std::string_view kMpps = "1.2.840.10008.3.1.2.3.3";
inline constexpr std::string_view kMppsInstance = "1.2.826.0.1.3680043.2.1125.1.42";
inline constexpr std::string_view kCommitment = "1.2.840.10008.1.20.1";
inline constexpr std::string_view kCommitmentInstance = "1.2.840.10008.1.20.1.1";  // well-known

// The data sets the exchange carries.
std::vector<std::byte> mpps_create_data_set();
std::vector<std::byte> mpps_set_data_set();
std::vector<std::byte> commitment_action_data_set();
std::vector<std::byte> commitment_event_data_set();

// A-ASSOCIATE-RQ/AC for MPPS and Storage Commitment (and CT storage when asked), calling AE
// "CALLING".
Recording normalized_association(bool with_ct_storage);
// That association, the four operations and the release.
Recording normalized_dimse_exchange();

}  // namespace wardgate::dicom::testing
