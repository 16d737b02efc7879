#include "tls/tls_error.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <array>
#include <boost/asio/ssl/error.hpp>

#include "common/error_category.h"
#include "tls/verify_detail.h"

namespace wardgate::tls {
namespace {

const char* describe(Errc e) {
  switch (e) {
    case Errc::kOwnCertificateUnreadable:
      return "own certificate unreadable";
    case Errc::kPrivateKeyUnreadable:
      return "private key unreadable";
    case Errc::kPrivateKeyMismatch:
      return "private key does not match the certificate";
    case Errc::kCaBundleUnreadable:
      return "CA bundle unreadable";
    case Errc::kCrlUnreadable:
      return "CRL unreadable";
    case Errc::kOwnCertificateExpired:
      return "own certificate expired";
    case Errc::kOwnCertificateNotYetValid:
      return "own certificate not yet valid";
    case Errc::kOwnCertificateRevoked:
      return "own certificate revoked";
    case Errc::kPeerRejectedCertificate:
      return "peer rejected our certificate";
    case Errc::kPeerCertificateExpired:
      return "peer certificate expired";
    case Errc::kPeerCertificateNotYetValid:
      return "peer certificate not yet valid";
    case Errc::kPeerCertificateRevoked:
      return "peer certificate revoked";
    case Errc::kUnknownCa:
      return "peer certificate from an unknown CA";
    case Errc::kNameMismatch:
      return "peer certificate name mismatch";
    case Errc::kPinMismatch:
      return "peer certificate not the pinned one";
    case Errc::kProtocolVersion:
      return "TLS protocol version";
    case Errc::kHandshakeFailed:
      return "TLS handshake failed";
    case Errc::kVerificationSetup:
      return "TLS verification could not be set up";
    case Errc::kCrlExpired:
      return "CRL expired";
    case Errc::kCrlMissing:
      return "no CRL for a certificate of the peer's chain";
    case Errc::kOcspResponseInvalid:
      return "stapled OCSP response unusable";
    case Errc::kSessionResumed:
      return "resumed TLS session refused";
  }
  return "";
}

std::string openssl_error_text(unsigned long code) {
  std::array<char, 256> buf{};
  ERR_error_string_n(code, buf.data(), buf.size());
  return buf.data();
}

Errc from_verify_result(long v) {
  switch (v) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return Errc::kPeerCertificateExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return Errc::kPeerCertificateNotYetValid;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return Errc::kNameMismatch;
    case X509_V_ERR_CERT_REVOKED:
      return Errc::kPeerCertificateRevoked;
    case X509_V_ERR_CRL_HAS_EXPIRED:
      return Errc::kCrlExpired;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
      return Errc::kCrlMissing;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return Errc::kUnknownCa;
    default:
      return Errc::kHandshakeFailed;
  }
}

}  // namespace

const std::error_category& tls_category() noexcept {
  static const common::ErrorCategory<Errc> category("wardgate.tls", describe);
  return category;
}

bool is_local_credentials_error(std::error_code ec) {
  if (ec.category() != tls_category()) return false;
  switch (static_cast<Errc>(ec.value())) {
    case Errc::kOwnCertificateUnreadable:
    case Errc::kPrivateKeyUnreadable:
    case Errc::kPrivateKeyMismatch:
    case Errc::kCaBundleUnreadable:
    case Errc::kCrlUnreadable:
      return true;
    default:
      return false;
  }
}

std::error_code classify_ssl_error(const boost::system::error_code& ec, const SSL* ssl,
                                   std::string& detail) {
  if (ec.category() != boost::asio::error::get_ssl_category()) return {};
  const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
  const std::string text = openssl_error_text(static_cast<unsigned long>(ec.value()));
  switch (reason) {
    case SSL_R_CERTIFICATE_VERIFY_FAILED: {
      const long v = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
      const std::string noted = verify_detail(ssl);
      detail = "peer certificate: " + (noted.empty() ? X509_verify_cert_error_string(v) : noted);
      return from_verify_result(v);
    }
    case SSL_R_INVALID_STATUS_RESPONSE: {
      const long v = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
      detail = verify_detail(ssl);
      if (detail.empty()) detail = text;
      return v == X509_V_ERR_CERT_REVOKED ? Errc::kPeerCertificateRevoked
                                          : Errc::kOcspResponseInvalid;
    }
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
      detail = "the peer says our certificate expired: " + text;
      return Errc::kOwnCertificateExpired;
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
      detail = "the peer says our certificate is revoked: " + text;
      return Errc::kOwnCertificateRevoked;
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
      detail = "the peer does not trust our certificate's CA: " + text;
      return Errc::kPeerRejectedCertificate;
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
      detail = "the peer refused our certificate: " + text;
      return Errc::kPeerRejectedCertificate;
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_WRONG_VERSION_NUMBER:
      detail = text;
      return Errc::kProtocolVersion;
    default:
      detail = text;
      return Errc::kHandshakeFailed;
  }
}

}  // namespace wardgate::tls
