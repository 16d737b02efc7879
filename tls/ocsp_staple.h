#pragma once
// The client's check of a stapled OCSP response (RFC 6066 section 8 status_request, RFC 6960).
// The client asks for a staple; a collector that sends none is accepted (its CRL, when
// configured, still applies): most syslog collectors (rsyslog among them) cannot staple. A
// staple that is sent must be usable: signed by the certificate's issuer or its delegated
// responder, current, about this certificate, and "good".
#include <openssl/ssl.h>

namespace wardgate::tls {

// SSL_CTX_set_tlsext_status_cb callback: 1 accepts, 0 fails the handshake
// (SSL_R_INVALID_STATUS_RESPONSE) with the verify result set to X509_V_ERR_CERT_REVOKED for a
// revoked certificate, else to an OCSP error, and the reason noted (verify_detail.h).
int check_ocsp_staple(SSL* ssl, void* arg);

}  // namespace wardgate::tls
