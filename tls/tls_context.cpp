#include "tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

#include "tls/ocsp_staple.h"
#include "tls/tls_error.h"
#include "tls/verify_detail.h"

namespace wardgate::tls {

namespace ssl = boost::asio::ssl;

namespace {

// A verification setting OpenSSL refused: fail closed, never a context that checks less.
std::unique_ptr<ssl::context> setup_failed(std::error_code& ec, std::string& detail,
                                           const std::string& what) {
  ERR_clear_error();
  ec = Errc::kVerificationSetup;
  detail = what;
  return nullptr;
}

}  // namespace

std::unique_ptr<ssl::context> make_context(const TlsFiles& files, const ContextOptions& options,
                                           std::error_code& ec, std::string& detail) {
  auto ctx = std::make_unique<ssl::context>(
      options.role == Role::kClient ? ssl::context::tls_client : ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return setup_failed(ec, detail, "cannot set TLS 1.2 as the minimum version");
  }
  // A resumed session skips the verification of the peer's chain (expiry, CRL, OCSP): the day a
  // certificate expires or is revoked, a resuming link would go on with it. A syslog link
  // reconnects rarely; a full handshake each time costs nothing that matters.
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                   SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_num_tickets(native, 0) != 1) {
    return setup_failed(ec, detail, "cannot disable TLS 1.3 session tickets");
  }
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
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    ec = Errc::kPrivateKeyMismatch;
    detail = "private key " + files.private_key + " does not match " + files.certificate;
    return nullptr;
  }
  ctx->load_verify_file(files.ca_bundle, bec);
  if (bec) return fail(Errc::kCaBundleUnreadable, "CA bundle " + files.ca_bundle);
  if (!files.crl_file.empty()) {
    X509_STORE* store = SSL_CTX_get_cert_store(native);
    X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
    if (lookup == nullptr ||
        X509_load_crl_file(lookup, files.crl_file.c_str(), X509_FILETYPE_PEM) <= 0) {
      ERR_clear_error();
      ec = Errc::kCrlUnreadable;
      detail = "cannot read a PEM CRL from " + files.crl_file;
      return nullptr;
    }
    // CRL_CHECK alone checks the leaf only: a revoked intermediate CA would still vouch.
    if (X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL) != 1) {
      return setup_failed(ec, detail, "cannot enable CRL checks of the whole chain");
    }
  }
  if (options.role == Role::kClient) {
    if (SSL_CTX_set_tlsext_status_type(native, TLSEXT_STATUSTYPE_ocsp) != 1 ||
        // SSL_CTX_set_tlsext_status_cb without its C cast.
        SSL_CTX_callback_ctrl(native, SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB,
                              reinterpret_cast<void (*)()>(check_ocsp_staple)) != 1) {
      return setup_failed(ec, detail, "cannot request OCSP stapling");
    }
  }
  int mode = SSL_VERIFY_PEER;
  if (options.role == Role::kClient || options.require_peer_certificate) {
    mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_verify(native, mode, note_verify_failure);
  ec.clear();
  return ctx;
}

std::error_code expect_peer_name(SSL* ssl, const std::string& name, std::string& detail) {
  const auto refused = [&](const std::string& what) {
    ERR_clear_error();
    detail = what;
    return make_error_code(Errc::kVerificationSetup);
  };
  if (name.empty()) return refused("no peer name to check");
  boost::system::error_code ip_ec;
  boost::asio::ip::make_address(name, ip_ec);
  if (ip_ec) {
    // SNI carries names, never addresses (SSL_set_tlsext_host_name without its C cast).
    if (SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(name.c_str())) != 1) {
      return refused("OpenSSL does not take \"" + name + "\" as SNI");
    }
    // With its length: a name with a NUL inside is refused, not cut at the NUL.
    if (X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl), name.data(), name.size()) != 1) {
      return refused("OpenSSL does not take \"" + name + "\" as the host name to check");
    }
  } else if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) != 1) {
    return refused("OpenSSL does not take \"" + name + "\" as the IP address to check");
  }
  detail.clear();
  return {};
}

std::error_code check_full_handshake(const SSL* ssl, std::string& detail) {
  if (SSL_session_reused(ssl) == 1) {
    detail = "a resumed TLS session skips the peer's certificate checks";
    return Errc::kSessionResumed;
  }
  detail.clear();
  return {};
}

}  // namespace wardgate::tls
