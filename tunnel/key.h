#pragma once
// WireGuard keys: X25519 key pairs from libsodium, clamped exactly as `wg genkey` does, in the
// base64 form `wg` prints and reads (44 characters), and in the lower-case hex form of the UAPI.
// Private keys are only ever written to 0600 files and never logged.
#include <optional>
#include <string>

#include "tunnel/wg_types.h"

namespace wardgate::tunnel {

Key generate_private_key();                 // random, clamped (`wg genkey`)
Key generate_preshared_key();               // random, not clamped (`wg genpsk`)
Key public_key_of(const Key& private_key);  // `wg pubkey`

std::string to_base64(const Key& key);
std::optional<Key> key_from_base64(const std::string& text);  // surrounding whitespace allowed
std::string to_hex(const Key& key);
std::optional<Key> key_from_hex(const std::string& text);
bool is_zero(const Key& key);

// Reads a key file holding one base64 key (as `wg genkey > file` writes it). Returns an empty
// string on success, else why not; refuses a file readable by group or others.
std::string read_key_file(const std::string& path, Key& key);
// Writes a key file atomically (temporary file + rename) with mode 0600.
std::string write_key_file(const std::string& path, const Key& key);

}  // namespace wardgate::tunnel
