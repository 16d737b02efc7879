#include "tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

#include "tls/tls_error.h"

namespace wardgate::tls {

namespace ssl = boost::asio::ssl;

std::unique_ptr<ssl::context> make_context(const TlsFiles& files, const ContextOptions& options,
                                           std::error_code& ec, std::string& detail) {
  auto ctx = std::make_unique<ssl::context>(
      options.role == Role::kClient ? ssl::context::tls_client : ssl::context::tls_server);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  boost::system::error_code bec;
  const auto fail = [&](Errc e, const std::string& what) {
    ec = e;
    detail = what + ": " + bec.message();
    return nullptr;
  };
  ctx->use_certificate_chain_file(files.certificate, bec);
  if (bec) return fail(Errc::kOwnCertificateUnreadable, "certificate " + files.certificate);
  ctx->use_private_key_file(files.private_key, ssl::context::pem, bec);
  if (bec) return fail(Errc::kPrivateKeyUnreadable, "private key " + files.private_key);
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    ec = Errc::kPrivateKeyMismatch;
    detail = "private key " + files.private_key + " does not match " + files.certificate;
    return nullptr;
  }
  ctx->load_verify_file(files.ca_bundle, bec);
  if (bec) return fail(Errc::kCaBundleUnreadable, "CA bundle " + files.ca_bundle);
  if (!files.crl_file.empty()) {
    X509_STORE* store = SSL_CTX_get_cert_store(ctx->native_handle());
    X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
    if (lookup == nullptr ||
        X509_load_crl_file(lookup, files.crl_file.c_str(), X509_FILETYPE_PEM) <= 0) {
      ERR_clear_error();
      ec = Errc::kCrlUnreadable;
      detail = "cannot read a PEM CRL from " + files.crl_file;
      return nullptr;
    }
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  ssl::verify_mode mode = ssl::verify_peer;
  if (options.role == Role::kClient || options.require_peer_certificate) {
    mode |= ssl::verify_fail_if_no_peer_cert;
  }
  ctx->set_verify_mode(mode);
  ec.clear();
  return ctx;
}

void expect_peer_name(SSL* ssl, const std::string& name) {
  boost::system::error_code ip_ec;
  boost::asio::ip::make_address(name, ip_ec);
  if (ip_ec) {
    // SNI carries names, never addresses (SSL_set_tlsext_host_name without its C cast).
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(name.c_str()));
    SSL_set1_host(ssl, name.c_str());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
  }
}

}  // namespace wardgate::tls
