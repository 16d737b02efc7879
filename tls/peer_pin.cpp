#include "tls/peer_pin.h"

#include <openssl/evp.h>

#include <array>
#include <cstdio>

#include "tls/pem.h"

namespace wardgate::tls {

std::string peer_sha256(const SSL* ssl) {
  X509Ptr peer(SSL_get1_peer_certificate(ssl));
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned n = 0;
  std::string hex;
  if (peer && X509_digest(peer.get(), EVP_sha256(), md.data(), &n) == 1) {
    for (unsigned i = 0; i < n; ++i) {
      std::array<char, 3> b{};
      std::snprintf(b.data(), b.size(), "%02x", md[i]);
      hex += b.data();
    }
  }
  return hex;
}

std::string normalize_fingerprint(std::string_view pin) {
  std::string out;
  for (char c : pin) {
    if (c == ':') continue;
    out += static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
  }
  return out;
}

}  // namespace wardgate::tls
