#include "store/hash_chain.h"

#include <sodium.h>

namespace wardgate::store {

ChainHash chain_next(const ChainHash& previous, std::string_view canonical) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, kChainHashBytes);
  crypto_generichash_update(&state, previous.data(), previous.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(canonical.data()),
                            canonical.size());
  ChainHash out{};
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

std::string to_hex(const ChainHash& hash) {
  std::array<char, kChainHashBytes * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), hash.data(), hash.size());
  return {hex.data(), kChainHashBytes * 2};
}

std::optional<ChainHash> chain_hash_from_hex(std::string_view hex) {
  if (hex.size() != kChainHashBytes * 2) return std::nullopt;
  ChainHash out{};
  std::size_t len = 0;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, nullptr) != 0 ||
      len != kChainHashBytes) {
    return std::nullopt;
  }
  return out;
}

}  // namespace wardgate::store
