#include "tls/certificate_dates.h"

#include "tls/pem.h"
#include "tls/tls_error.h"

namespace wardgate::tls {
namespace {

std::optional<double> days_left(const X509* cert) {
  int days = 0;
  int secs = 0;
  if (ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert)) != 1) return std::nullopt;
  return days + secs / 86400.0;
}

}  // namespace

CertificateDates certificate_dates(const TlsFiles& files) {
  CertificateDates out;
  auto own = read_certificates(files.certificate);
  if (!own.empty()) out.certificate_days_left = days_left(own.front().get());
  for (const auto& ca : read_certificates(files.ca_bundle)) {
    const auto d = days_left(ca.get());
    if (d && (!out.ca_days_left || *d < *out.ca_days_left)) out.ca_days_left = d;
  }
  return out;
}

std::error_code check_own_certificate(const TlsFiles& files, std::string& detail) {
  auto certs = read_certificates(files.certificate);
  if (certs.empty()) {
    detail = "cannot read a PEM certificate from " + files.certificate;
    return Errc::kOwnCertificateUnreadable;
  }
  if (X509_cmp_current_time(X509_get0_notAfter(certs.front().get())) < 0) {
    detail = "our certificate " + files.certificate + " has expired";
    return Errc::kOwnCertificateExpired;
  }
  if (X509_cmp_current_time(X509_get0_notBefore(certs.front().get())) > 0) {
    detail = "our certificate " + files.certificate + " is not valid yet";
    return Errc::kOwnCertificateNotYetValid;
  }
  return {};
}

}  // namespace wardgate::tls
