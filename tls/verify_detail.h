#pragma once
// Why OpenSSL refused a peer, in words an operator can act on: SSL_get_verify_result gives only
// a code, not which certificate of the chain failed (the leaf, an intermediate CA) nor what a
// stapled OCSP response said. The verify and OCSP callbacks note it on the SSL object; the
// error classification reads it back.
#include <openssl/ssl.h>

#include <string>

namespace wardgate::tls {

// Keeps the first note of a handshake (the first failure is the cause; later ones follow from
// it). False if OpenSSL could not store it.
bool note_verify_detail(SSL* ssl, const std::string& text);
// The note, or "" when nothing was noted.
std::string verify_detail(const SSL* ssl);

// SSL verify callback (SSL_CTX_set_verify): keeps OpenSSL's verdict, notes the depth and subject
// of the first certificate it refused.
int note_verify_failure(int preverify_ok, X509_STORE_CTX* store);

}  // namespace wardgate::tls
