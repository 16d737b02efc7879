#pragma once
// Signed checkpoints of the audit store: an Ed25519 signature (libsodium crypto_sign_detached)
// over the sequence number and chain hash of a record and the time the checkpoint was made. The
// signing key is a 32-byte seed kept in a file of mode 0600, created at first start; its public
// key is what an auditor keeps apart from the appliance to verify an exported or copied store.
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/hash_chain.h"

namespace wardgate::store {

constexpr std::size_t kPublicKeyBytes = 32;  // crypto_sign_PUBLICKEYBYTES
constexpr std::size_t kSignatureBytes = 64;  // crypto_sign_BYTES
using PublicKey = std::array<std::uint8_t, kPublicKeyBytes>;
using Signature = std::array<std::uint8_t, kSignatureBytes>;

struct Checkpoint {
  std::uint64_t seq = 0;
  ChainHash hash{};
  std::int64_t signed_at_us = 0;  // microseconds since the Unix epoch, UTC
  Signature signature{};
};

// The signed bytes: "wardgate-audit-checkpoint-v1" NUL, seq (8 bytes big-endian), the chain hash,
// signed_at_us (8 bytes big-endian, two's complement).
std::string checkpoint_message(std::uint64_t seq, const ChainHash& hash, std::int64_t signed_at_us);

class CheckpointSigner {
 public:
  // Loads the seed at `path` or creates it (mode 0600, random, synced). Throws SecretError
  // (audit/patient_data.h) naming the path if it cannot, or if the file is accessible to group or
  // others or has the wrong size.
  explicit CheckpointSigner(const std::string& path);
  ~CheckpointSigner();
  CheckpointSigner(const CheckpointSigner&) = delete;
  CheckpointSigner& operator=(const CheckpointSigner&) = delete;

  Checkpoint sign(std::uint64_t seq, const ChainHash& hash, std::int64_t signed_at_us) const;
  const PublicKey& public_key() const { return public_key_; }

 private:
  std::array<std::uint8_t, 64> secret_key_{};  // crypto_sign_SECRETKEYBYTES
  PublicKey public_key_{};
};

bool verify_checkpoint(const Checkpoint& checkpoint, const PublicKey& key);

// The public key as the store exports it: "ed25519:" and 64 lower-case hex digits.
std::string format_public_key(const PublicKey& key);
std::optional<PublicKey> parse_public_key(std::string_view text);

}  // namespace wardgate::store
