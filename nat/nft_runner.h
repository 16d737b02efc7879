#pragma once
// Runs an nftables script through libnftables as one atomic transaction.
#include <string>

namespace wardgate::nat {

struct NftResult {
  bool ok = false;
  std::string error;   // libnftables' own message, with the offending line
  std::string output;  // what a listing command printed
};

NftResult run_nft_script(const std::string& script);
// The same with JSON output (`nft -j`), for listings read back by wardgate.
NftResult run_nft_json(const std::string& script);

}  // namespace wardgate::nat
