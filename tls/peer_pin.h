#pragma once
// Pinning a peer's certificate by its SHA-256 fingerprint (on top of CA verification).
#include <openssl/ssl.h>

#include <string>
#include <string_view>

namespace wardgate::tls {

// Lower-case hex SHA-256 of the peer's certificate (DER), empty if there is none.
std::string peer_sha256(const SSL* ssl);

// `pin` as 64 lower-case hex digits: ':' separators dropped, upper case folded.
std::string normalize_fingerprint(std::string_view pin);

}  // namespace wardgate::tls
