#pragma once
// Validity dates of the certificates in a TlsFiles: expiry warnings and the check of our own
// certificate before a handshake (a peer would only say "bad certificate", or nothing at all
// under TLS 1.3).
#include <optional>
#include <string>
#include <system_error>

#include "tls/tls_files.h"

namespace wardgate::tls {

// Days until notAfter of the own certificate (first in its file) and of the earliest expiring
// CA in the bundle; negative once expired; nullopt if unreadable.
struct CertificateDates {
  std::optional<double> certificate_days_left;
  std::optional<double> ca_days_left;
};
CertificateDates certificate_dates(const TlsFiles& files);

// Errc::kOwnCertificateUnreadable, kOwnCertificateExpired or kOwnCertificateNotYetValid (with
// `detail` naming the file), else an empty error_code.
std::error_code check_own_certificate(const TlsFiles& files, std::string& detail);

}  // namespace wardgate::tls
