#pragma once
// The hash chain of the audit store: each record's hash is BLAKE2b-256 (libsodium
// crypto_generichash, unkeyed) of the previous record's hash followed by the record's canonical
// encoding (to_json). The first record of a store chains from 32 zero bytes.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wardgate::store {

constexpr std::size_t kChainHashBytes = 32;
using ChainHash = std::array<std::uint8_t, kChainHashBytes>;

// What the first record chains from.
constexpr ChainHash kGenesisHash{};

ChainHash chain_next(const ChainHash& previous, std::string_view canonical);

std::string to_hex(const ChainHash& hash);
// 64 hex digits (either case), else nullopt.
std::optional<ChainHash> chain_hash_from_hex(std::string_view hex);

}  // namespace wardgate::store
