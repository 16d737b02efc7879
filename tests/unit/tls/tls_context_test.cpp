#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>

#include "tls/tls_context.h"
#include "tls/tls_error.h"

namespace wardgate::tls {
namespace {

// A client SSL object with no files: what expect_peer_name works on.
class PeerName : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    ASSERT_NE(ctx_, nullptr);
    ssl_.reset(SSL_new(ctx_.get()));
    ASSERT_NE(ssl_, nullptr);
  }
  X509_VERIFY_PARAM* param() { return SSL_get0_param(ssl_.get()); }

  struct CtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
  };
  struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
  };
  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  std::unique_ptr<SSL, SslFree> ssl_;
};

TEST_F(PeerName, HostNameIsCheckedAndSentAsSni) {
  std::string detail;
  EXPECT_FALSE(expect_peer_name(ssl_.get(), "collector.test", detail));
  ASSERT_NE(X509_VERIFY_PARAM_get0_host(param(), 0), nullptr);
  EXPECT_STREQ(X509_VERIFY_PARAM_get0_host(param(), 0), "collector.test");
  EXPECT_STREQ(SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name), "collector.test");
}

TEST_F(PeerName, AddressIsCheckedAgainstIpSans) {
  std::string detail;
  EXPECT_FALSE(expect_peer_name(ssl_.get(), "192.0.2.7", detail));
  char* ip = X509_VERIFY_PARAM_get1_ip_asc(param());
  ASSERT_NE(ip, nullptr);
  EXPECT_STREQ(ip, "192.0.2.7");
  OPENSSL_free(ip);
  EXPECT_EQ(SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name), nullptr);
}

// Names OpenSSL cannot check: the handshake must not go on with no name check at all.
TEST_F(PeerName, NamesOpenSslRefusesFailClosed) {
  const std::array<std::string, 4> cases = {
      "",                                        // nothing to check
      "::1%lo",                                  // an address with a scope: no IP check possible
      std::string("collector.test\0.evil", 20),  // a NUL: never cut to "collector.test"
      std::string(300, 'a'),                     // longer than SNI allows
  };
  for (const std::string& name : cases) {
    std::string detail;
    EXPECT_EQ(expect_peer_name(ssl_.get(), name, detail), Errc::kVerificationSetup) << name.size();
    EXPECT_FALSE(detail.empty());
    EXPECT_EQ(X509_VERIFY_PARAM_get0_host(param(), 0), nullptr) << name.size();
  }
}

}  // namespace
}  // namespace wardgate::tls
