#pragma once
// Why TLS credentials could not be used or a handshake failed: the errors tls/ hands to its users
// (the syslog exporter today, the admin's HTTPS server next), one std::error_category
// ("wardgate.tls").
// "Own" is the certificate this end presents, "peer" the one the other end presents, whichever
// of them is client or server.
#include <openssl/ssl.h>

#include <boost/system/error_code.hpp>
#include <string>
#include <system_error>

namespace wardgate::tls {

enum class Errc {
  kOwnCertificateUnreadable = 1,
  kPrivateKeyUnreadable,
  kPrivateKeyMismatch,  // the key is not the certificate's
  kCaBundleUnreadable,
  kCrlUnreadable,
  kOwnCertificateExpired,  // found locally, or the peer said so in an alert
  kOwnCertificateNotYetValid,
  kOwnCertificateRevoked,    // the peer said so in an alert
  kPeerRejectedCertificate,  // the peer refused our certificate or its CA (alert)
  kPeerCertificateExpired,
  kPeerCertificateNotYetValid,
  kPeerCertificateRevoked,
  kUnknownCa,  // the peer's certificate does not chain to the CA bundle
  kNameMismatch,
  kPinMismatch,
  kProtocolVersion,
  kHandshakeFailed,      // any other reason OpenSSL gives
  kVerificationSetup,    // OpenSSL refused a verification setting: nothing is sent unchecked
  kCrlExpired,           // a CRL for the peer's chain is past its nextUpdate
  kCrlMissing,           // no CRL from the issuer of a certificate of the peer's chain
  kOcspResponseInvalid,  // a stapled OCSP response that cannot be trusted or is not "good"
  kSessionResumed,       // a resumed session: the peer's chain was not verified again
};

const std::error_category& tls_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), tls_category()};
}

// True for the errors that concern the local files (credentials to fix on this host).
bool is_local_credentials_error(std::error_code ec);

// The reason of a failed TLS operation (Boost.Asio's SSL error category): the peer's alert or
// our verification of its certificate (from `ssl`, may be null), with OpenSSL's words and the
// certificate of the chain concerned in `detail`. An empty error_code if `ec` is not a TLS error (a
// socket error, end of file).
std::error_code classify_ssl_error(const boost::system::error_code& ec, const SSL* ssl,
                                   std::string& detail);

}  // namespace wardgate::tls

template <>
struct std::is_error_code_enum<wardgate::tls::Errc> : std::true_type {};
