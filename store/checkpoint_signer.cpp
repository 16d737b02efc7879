#include "store/checkpoint_signer.h"

#include <sodium.h>

#include <stdexcept>

#include "audit/patient_data.h"

namespace wardgate::store {
namespace {

constexpr std::string_view kDomain{"wardgate-audit-checkpoint-v1\0", 29};
constexpr std::string_view kKeyPrefix = "ed25519:";

void append_be64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

}  // namespace

std::string checkpoint_message(std::uint64_t seq, const ChainHash& hash,
                               std::int64_t signed_at_us) {
  std::string m(kDomain);
  append_be64(m, seq);
  m.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  append_be64(m, static_cast<std::uint64_t>(signed_at_us));
  return m;
}

CheckpointSigner::CheckpointSigner(const std::string& path) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot be initialised");
  audit::Secret seed{};
  try {
    seed = audit::load_or_create_secret(path);
  } catch (const audit::SecretError& e) {
    throw audit::SecretError(std::string("audit signing key: ") + e.what());
  }
  static_assert(audit::kSecretBytes == crypto_sign_SEEDBYTES);
  crypto_sign_seed_keypair(public_key_.data(), secret_key_.data(), seed.data());
  sodium_memzero(seed.data(), seed.size());
}

CheckpointSigner::~CheckpointSigner() { sodium_memzero(secret_key_.data(), secret_key_.size()); }

Checkpoint CheckpointSigner::sign(std::uint64_t seq, const ChainHash& hash,
                                  std::int64_t signed_at_us) const {
  Checkpoint c;
  c.seq = seq;
  c.hash = hash;
  c.signed_at_us = signed_at_us;
  const std::string m = checkpoint_message(seq, hash, signed_at_us);
  crypto_sign_detached(c.signature.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                       secret_key_.data());
  return c;
}

bool verify_checkpoint(const Checkpoint& checkpoint, const PublicKey& key) {
  const std::string m =
      checkpoint_message(checkpoint.seq, checkpoint.hash, checkpoint.signed_at_us);
  return crypto_sign_verify_detached(checkpoint.signature.data(),
                                     reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                                     key.data()) == 0;
}

std::string format_public_key(const PublicKey& key) {
  std::array<char, kPublicKeyBytes * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), key.data(), key.size());
  return std::string(kKeyPrefix) + std::string(hex.data(), kPublicKeyBytes * 2);
}

std::optional<PublicKey> parse_public_key(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  if (text.substr(0, kKeyPrefix.size()) != kKeyPrefix) return std::nullopt;
  text.remove_prefix(kKeyPrefix.size());
  if (text.size() != kPublicKeyBytes * 2) return std::nullopt;
  PublicKey key{};
  std::size_t len = 0;
  if (sodium_hex2bin(key.data(), key.size(), text.data(), text.size(), nullptr, &len, nullptr) !=
          0 ||
      len != key.size()) {
    return std::nullopt;
  }
  return key;
}

}  // namespace wardgate::store
