#pragma once
// Runs an nftables script through libnftables as one atomic transaction.
#include <string>

namespace wardgate::nat {

struct NftResult {
  bool ok = false;
  std::string error;  // libnftables' own message, with the offending line
};

NftResult run_nft_script(const std::string& script);

}  // namespace wardgate::nat
