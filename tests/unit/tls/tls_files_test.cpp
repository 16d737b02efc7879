#include <gtest/gtest.h>

#include "tls/certificate_dates.h"
#include "tls/peer_pin.h"
#include "tls/tls_context.h"
#include "tls/tls_error.h"
#include "tls/tls_files.h"

namespace wardgate::tls {
namespace {

TEST(TlsFiles, SignatureAndDatesOfMissingFiles) {
  EXPECT_EQ(files_signature({"/nonexistent", "", "", ""}), "-;-;-;-;");
  const CertificateDates d = certificate_dates({"/nonexistent", "", "/nonexistent", ""});
  EXPECT_FALSE(d.certificate_days_left.has_value());
  EXPECT_FALSE(d.ca_days_left.has_value());
  std::string detail;
  EXPECT_EQ(check_own_certificate({"/nonexistent", "", "", ""}, detail),
            Errc::kOwnCertificateUnreadable);
  EXPECT_NE(detail.find("/nonexistent"), std::string::npos);
}

TEST(TlsContext, UnreadableFilesAreLocalCredentialErrors) {
  for (const Role role : {Role::kClient, Role::kServer}) {
    std::error_code ec;
    std::string detail;
    EXPECT_EQ(make_context({"/nonexistent", "/k", "/ca", ""}, ContextOptions{role}, ec, detail),
              nullptr);
    EXPECT_EQ(ec, Errc::kOwnCertificateUnreadable);
    EXPECT_TRUE(is_local_credentials_error(ec));
    EXPECT_STREQ(ec.category().name(), "wardgate.tls");
    EXPECT_NE(detail.find("/nonexistent"), std::string::npos);
  }
  EXPECT_FALSE(is_local_credentials_error(Errc::kUnknownCa));
}

TEST(PeerPin, FingerprintsAreNormalized) { EXPECT_EQ(normalize_fingerprint("AB:cd:01"), "abcd01"); }

}  // namespace
}  // namespace wardgate::tls
