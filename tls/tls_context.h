#pragma once
// OpenSSL contexts made from TlsFiles, for either end of a connection: the syslog exporter's
// client today, the admin's HTTPS server (Boost.Beast) next. Each context reads the files when it
// is made; make a new one when files_signature() changes.
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

#include "tls/tls_files.h"

namespace wardgate::tls {

enum class Role : std::uint8_t { kClient, kServer };

struct ContextOptions {
  Role role = Role::kClient;
  // Refuse a peer without a certificate that chains to ca_bundle (and is not revoked by
  // crl_file). A client always verifies the server; false only lets a server take clients
  // without certificates.
  bool require_peer_certificate = true;
};

// TLS >= 1.2, no compression, no session resumption, the own certificate chain and its key
// (checked to match), peers verified against ca_bundle and, when given, crl_file: every
// certificate of the peer's chain (intermediate CAs too) needs a current CRL from its issuer in
// that file. A client asks for a stapled OCSP response and refuses a bad or "revoked" one
// (ocsp_staple.h). Null with `ec` and `detail` when a file cannot be used (local credentials) or
// OpenSSL refuses a verification setting (kVerificationSetup): never a context that checks less.
std::unique_ptr<boost::asio::ssl::context> make_context(const TlsFiles& files,
                                                        const ContextOptions& options,
                                                        std::error_code& ec, std::string& detail);

// Client side: the name the server's certificate must carry (RFC 6125 host name check, or an IP
// address), also sent as SNI when it is a name. kVerificationSetup with `detail` when OpenSSL
// does not take it (empty, an embedded NUL, an SNI name over 255 bytes, an IPv6 scope): the
// handshake must not go on without the check.
std::error_code expect_peer_name(SSL* ssl, const std::string& name, std::string& detail);

// After a handshake: kSessionResumed for a resumed session, whose peer chain OpenSSL did not
// verify again (expiry, CRL, OCSP). make_context disables resumption; this keeps it that way.
std::error_code check_full_handshake(const SSL* ssl, std::string& detail);

}  // namespace wardgate::tls
