#include "audit/syslog_transport.h"

#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <cstdio>
#include <limits>

namespace wardgate::audit {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

struct BioCloser {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Closer {
  void operator()(X509* x) const { X509_free(x); }
};
using BioPtr = std::unique_ptr<BIO, BioCloser>;
using X509Ptr = std::unique_ptr<X509, X509Closer>;

std::vector<X509Ptr> read_certificates(const std::string& path) {
  std::vector<X509Ptr> out;
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return out;
  while (out.size() < 1000) {  // a CA bundle of Debian's size has ~150
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    out.push_back(std::move(cert));
  }
  ERR_clear_error();  // the end of the file reads as an error
  return out;
}

std::optional<double> days_left(const X509* cert) {
  int days = 0;
  int secs = 0;
  if (ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert)) != 1) return std::nullopt;
  return days + secs / 86400.0;
}

std::string openssl_error_text(unsigned long code) {
  std::array<char, 256> buf{};
  ERR_error_string_n(code, buf.data(), buf.size());
  return buf.data();
}

std::string normalize_fingerprint(std::string_view pin) {
  std::string out;
  for (char c : pin) {
    if (c == ':') continue;
    out += static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
  }
  return out;
}

LinkFailure from_verify_result(long v) {
  switch (v) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return LinkFailure::kServerCertificateExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return LinkFailure::kServerCertificateNotYetValid;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return LinkFailure::kNameMismatch;
    case X509_V_ERR_CERT_REVOKED:
      return LinkFailure::kRevoked;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return LinkFailure::kUnknownCa;
    default:
      return LinkFailure::kHandshakeOther;
  }
}

// The reason of a failed TLS operation: the collector's alert, our own verification of its
// certificate, or the connection's fate.
LinkError classify_tls(const error_code& ec, SSL* ssl) {
  if (ec.category() == asio::error::get_ssl_category()) {
    const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
    const std::string text = openssl_error_text(static_cast<unsigned long>(ec.value()));
    switch (reason) {
      case SSL_R_CERTIFICATE_VERIFY_FAILED: {
        const long v = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
        return {from_verify_result(v),
                std::string("collector certificate: ") + X509_verify_cert_error_string(v)};
      }
      case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
        return {LinkFailure::kClientCertificateExpired,
                "the collector says our certificate expired: " + text};
      case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
        return {LinkFailure::kRevoked, "the collector says our certificate is revoked: " + text};
      case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        return {LinkFailure::kCollectorRejectedCertificate,
                "the collector does not trust our certificate's CA: " + text};
      case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
      case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
        return {LinkFailure::kCollectorRejectedCertificate,
                "the collector refused our certificate: " + text};
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_WRONG_VERSION_NUMBER:
        return {LinkFailure::kProtocolVersion, text};
      default:
        return {LinkFailure::kHandshakeOther, text};
    }
  }
  if (ec == ssl::error::stream_truncated || ec == asio::error::eof ||
      ec == asio::error::connection_reset) {
    return {LinkFailure::kClosedByPeer, ec.message()};
  }
  return {LinkFailure::kNetwork, ec.message()};
}

// Closes `sock` if `limit` passes first and sets `fired`: the operation racing it may then
// complete first, with an error, so callers look at `fired`, not at which one won.
asio::awaitable<bool> expire(tcp::socket& sock, std::chrono::milliseconds limit, bool& fired) {
  asio::steady_timer timer(co_await asio::this_coro::executor, limit);
  auto [ec] = co_await timer.async_wait(kNoThrow);
  if (ec) co_return false;
  fired = true;
  error_code ignored;
  sock.close(ignored);
  co_return true;
}

template <typename Stream>
asio::awaitable<error_code> write_all(Stream& stream, std::string_view bytes) {
  auto [ec, n] =
      co_await asio::async_write(stream, asio::buffer(bytes.data(), bytes.size()), kNoThrow);
  co_return ec;
}

void set_tcp_options(tcp::socket& s, const TransportOptions& o) {
  error_code ignored;
  s.set_option(tcp::no_delay(true), ignored);
  s.set_option(asio::socket_base::keep_alive(true), ignored);
  const int fd = s.native_handle();
  const int idle = static_cast<int>(o.keepalive_idle.count());
  const int interval = static_cast<int>(o.keepalive_interval.count());
  const int probes = o.keepalive_probes;
  const auto user_timeout = static_cast<unsigned>(o.user_timeout.count());
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof(probes));
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
}

// Checks our own certificate before bothering the collector: an expired or not yet valid one
// is named as such (the collector would only say "bad certificate", or nothing under TLS 1.3).
std::optional<LinkError> check_client_certificate(const TlsFiles& f) {
  auto certs = read_certificates(f.client_cert);
  if (certs.empty()) {
    return LinkError{LinkFailure::kLocalCredentials,
                     "cannot read a PEM certificate from " + f.client_cert};
  }
  if (X509_cmp_current_time(X509_get0_notAfter(certs.front().get())) < 0) {
    return LinkError{LinkFailure::kClientCertificateExpired,
                     "our client certificate " + f.client_cert + " has expired"};
  }
  if (X509_cmp_current_time(X509_get0_notBefore(certs.front().get())) > 0) {
    return LinkError{LinkFailure::kClientCertificateNotYetValid,
                     "our client certificate " + f.client_cert + " is not valid yet"};
  }
  return std::nullopt;
}

std::variant<std::unique_ptr<ssl::context>, LinkError> make_context(const TlsFiles& f) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  error_code ec;
  const auto fail = [&](const std::string& what) {
    return LinkError{LinkFailure::kLocalCredentials, what + ": " + ec.message()};
  };
  ctx->use_certificate_chain_file(f.client_cert, ec);
  if (ec) return fail("client certificate " + f.client_cert);
  ctx->use_private_key_file(f.client_key, ssl::context::pem, ec);
  if (ec) return fail("client key " + f.client_key);
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    return LinkError{LinkFailure::kLocalCredentials,
                     "client key " + f.client_key + " does not match " + f.client_cert};
  }
  ctx->load_verify_file(f.ca_bundle, ec);
  if (ec) return fail("CA bundle " + f.ca_bundle);
  if (!f.crl_file.empty()) {
    X509_STORE* store = SSL_CTX_get_cert_store(ctx->native_handle());
    X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
    if (lookup == nullptr ||
        X509_load_crl_file(lookup, f.crl_file.c_str(), X509_FILETYPE_PEM) <= 0) {
      ERR_clear_error();
      return LinkError{LinkFailure::kLocalCredentials, "cannot read a PEM CRL from " + f.crl_file};
    }
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  return ctx;
}

}  // namespace

const char* to_string(TransportKind kind) {
  switch (kind) {
    case TransportKind::kUdp:
      return "udp";
    case TransportKind::kTcp:
      return "tcp";
    case TransportKind::kTls:
      return "tls";
  }
  return "?";
}

std::optional<TransportKind> parse_transport(std::string_view name) {
  if (name == "udp") return TransportKind::kUdp;
  if (name == "tcp") return TransportKind::kTcp;
  if (name == "tls") return TransportKind::kTls;
  return std::nullopt;
}

const char* to_string(LinkFailure failure) {
  switch (failure) {
    case LinkFailure::kResolve:
      return "resolve";
    case LinkFailure::kConnectRefused:
      return "connect-refused";
    case LinkFailure::kConnectTimeout:
      return "connect-timeout";
    case LinkFailure::kNetwork:
      return "network";
    case LinkFailure::kLocalCredentials:
      return "local-credentials";
    case LinkFailure::kClientCertificateExpired:
      return "client-certificate-expired";
    case LinkFailure::kClientCertificateNotYetValid:
      return "client-certificate-not-yet-valid";
    case LinkFailure::kServerCertificateExpired:
      return "server-certificate-expired";
    case LinkFailure::kServerCertificateNotYetValid:
      return "server-certificate-not-yet-valid";
    case LinkFailure::kUnknownCa:
      return "unknown-ca";
    case LinkFailure::kRevoked:
      return "certificate-revoked";
    case LinkFailure::kNameMismatch:
      return "name-mismatch";
    case LinkFailure::kPinMismatch:
      return "pin-mismatch";
    case LinkFailure::kCollectorRejectedCertificate:
      return "collector-rejected-certificate";
    case LinkFailure::kProtocolVersion:
      return "protocol-version";
    case LinkFailure::kHandshakeTimeout:
      return "handshake-timeout";
    case LinkFailure::kHandshakeOther:
      return "handshake-other";
    case LinkFailure::kWriteTimeout:
      return "write-timeout";
    case LinkFailure::kClosedByPeer:
      return "closed-by-peer";
    case LinkFailure::kCount:
      break;
  }
  return "?";
}

bool is_handshake_failure(LinkFailure f) {
  switch (f) {
    case LinkFailure::kLocalCredentials:
    case LinkFailure::kClientCertificateExpired:
    case LinkFailure::kClientCertificateNotYetValid:
    case LinkFailure::kServerCertificateExpired:
    case LinkFailure::kServerCertificateNotYetValid:
    case LinkFailure::kUnknownCa:
    case LinkFailure::kRevoked:
    case LinkFailure::kNameMismatch:
    case LinkFailure::kPinMismatch:
    case LinkFailure::kCollectorRejectedCertificate:
    case LinkFailure::kProtocolVersion:
    case LinkFailure::kHandshakeTimeout:
    case LinkFailure::kHandshakeOther:
      return true;
    default:
      return false;
  }
}

CertificateDates certificate_dates(const TlsFiles& files) {
  CertificateDates out;
  auto client = read_certificates(files.client_cert);
  if (!client.empty()) out.client_days_left = days_left(client.front().get());
  for (const auto& ca : read_certificates(files.ca_bundle)) {
    const auto d = days_left(ca.get());
    if (d && (!out.ca_days_left || *d < *out.ca_days_left)) out.ca_days_left = d;
  }
  return out;
}

std::string tls_files_signature(const TlsFiles& files) {
  std::string out;
  for (const std::string* p :
       {&files.client_cert, &files.client_key, &files.ca_bundle, &files.crl_file}) {
    struct stat st {};
    if (p->empty() || stat(p->c_str(), &st) != 0) {
      out += "-;";
      continue;
    }
    out += std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
           std::to_string(st.st_size) + "/" + std::to_string(st.st_ino) + ";";
  }
  return out;
}

struct SyslogLink::Impl {
  explicit Impl(asio::any_io_executor e) : executor(std::move(e)), udp_wait(executor) {}
  asio::any_io_executor executor;
  std::unique_ptr<ssl::context> context;
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  std::unique_ptr<tcp::socket> plain;
  std::unique_ptr<udp::socket> datagram;
  asio::steady_timer udp_wait;
  // Set by a write's deadline before it closes the socket: the read in watch() then fails
  // too, possibly first, and must report the same reason.
  bool write_timed_out = false;

  tcp::socket* lowest() {
    if (tls) return &tls->next_layer();
    return plain.get();
  }
};

SyslogLink::SyslogLink(asio::any_io_executor executor, TransportOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(std::move(executor))) {}

SyslogLink::~SyslogLink() = default;

void SyslogLink::close() {
  connected_ = false;
  error_code ignored;
  if (tcp::socket* s = impl_->lowest()) s->close(ignored);
  if (impl_->datagram) impl_->datagram->close(ignored);
  impl_->udp_wait.cancel();
}

asio::awaitable<std::optional<LinkError>> SyslogLink::connect() {
  close();
  Impl& m = *impl_;
  m.tls.reset();
  m.plain.reset();
  m.datagram.reset();
  m.context.reset();
  m.write_timed_out = false;
  const std::string port = std::to_string(options_.port);

  if (options_.kind == TransportKind::kUdp) {
    udp::resolver resolver(m.executor);
    auto [ec, results] = co_await resolver.async_resolve(options_.host, port, kNoThrow);
    if (ec || results.empty()) co_return LinkError{LinkFailure::kResolve, ec.message()};
    m.datagram = std::make_unique<udp::socket>(m.executor);
    error_code cec;
    m.datagram->open(results.begin()->endpoint().protocol(), cec);
    if (!cec) m.datagram->connect(results.begin()->endpoint(), cec);
    if (cec) co_return LinkError{LinkFailure::kNetwork, cec.message()};
    connected_ = true;
    co_return std::nullopt;
  }

  if (options_.kind == TransportKind::kTls) {
    if (auto bad = check_client_certificate(options_.tls)) co_return bad;
    auto made = make_context(options_.tls);
    if (auto* err = std::get_if<LinkError>(&made)) co_return *err;
    m.context = std::move(std::get<std::unique_ptr<ssl::context>>(made));
    m.tls = std::make_unique<ssl::stream<tcp::socket>>(m.executor, *m.context);
  } else {
    m.plain = std::make_unique<tcp::socket>(m.executor);
  }
  tcp::socket& sock = *m.lowest();

  tcp::resolver resolver(m.executor);
  auto [rec, results] = co_await resolver.async_resolve(options_.host, port, kNoThrow);
  if (rec || results.empty()) co_return LinkError{LinkFailure::kResolve, rec.message()};

  const auto started = std::chrono::steady_clock::now();
  bool timed_out = false;
  auto connected =
      co_await ([](tcp::socket& s, tcp::resolver::results_type r) -> asio::awaitable<error_code> {
        auto [ec, ep] = co_await asio::async_connect(s, r, kNoThrow);
        co_return ec;
      }(sock, results) || expire(sock, options_.connect_timeout, timed_out));
  if (timed_out) co_return LinkError{LinkFailure::kConnectTimeout, "connect"};
  if (const error_code ec = std::get<0>(connected)) {
    if (ec == asio::error::connection_refused) {
      co_return LinkError{LinkFailure::kConnectRefused, ec.message()};
    }
    co_return LinkError{LinkFailure::kNetwork, ec.message()};
  }
  set_tcp_options(sock, options_);

  if (m.tls) {
    const std::string& name = options_.server_name.empty() ? options_.host : options_.server_name;
    SSL* ssl = m.tls->native_handle();
    error_code ip_ec;
    asio::ip::make_address(name, ip_ec);
    if (ip_ec) {
      // SNI carries names, never addresses (SSL_set_tlsext_host_name without its C cast).
      SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(name.c_str()));
      SSL_set1_host(ssl, name.c_str());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
    }
    const auto remaining =
        std::max(std::chrono::milliseconds(1),
                 options_.connect_timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::steady_clock::now() - started));
    auto shaken = co_await ([](ssl::stream<tcp::socket>& s) -> asio::awaitable<error_code> {
      auto [ec] = co_await s.async_handshake(ssl::stream_base::client, kNoThrow);
      co_return ec;
    }(*m.tls) || expire(sock, remaining, timed_out));
    if (timed_out) {
      co_return LinkError{LinkFailure::kHandshakeTimeout, "TLS handshake"};
    }
    if (const error_code ec = std::get<0>(shaken)) {
      LinkError e = classify_tls(ec, ssl);
      if (e.reason == LinkFailure::kClosedByPeer || e.reason == LinkFailure::kNetwork) {
        e = {LinkFailure::kHandshakeOther,
             "the collector closed the connection during the handshake (" + e.detail + ")"};
      }
      close();
      co_return e;
    }
    if (!options_.pinned_sha256.empty()) {
      X509Ptr peer(SSL_get1_peer_certificate(ssl));
      std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
      unsigned n = 0;
      std::string hex;
      if (peer && X509_digest(peer.get(), EVP_sha256(), md.data(), &n) == 1) {
        for (unsigned i = 0; i < n; ++i) {
          std::array<char, 3> b{};
          std::snprintf(b.data(), b.size(), "%02x", md[i]);
          hex += b.data();
        }
      }
      if (hex != normalize_fingerprint(options_.pinned_sha256)) {
        close();
        co_return LinkError{LinkFailure::kPinMismatch,
                            "collector certificate SHA-256 " + hex + " is not the pinned one"};
      }
    }
  }
  connected_ = true;
  co_return std::nullopt;
}

asio::awaitable<std::optional<LinkError>> SyslogLink::write(std::string_view bytes) {
  Impl& m = *impl_;
  if (!connected_) co_return LinkError{LinkFailure::kNetwork, "not connected"};
  if (m.datagram) {
    auto [ec, n] =
        co_await m.datagram->async_send(asio::buffer(bytes.data(), bytes.size()), kNoThrow);
    if (ec) co_return LinkError{LinkFailure::kNetwork, ec.message()};
    co_return std::nullopt;
  }
  tcp::socket& sock = *m.lowest();
  std::variant<error_code, bool> r;
  if (m.tls) {
    r = co_await (write_all(*m.tls, bytes) ||
                  expire(sock, options_.write_timeout, m.write_timed_out));
  } else {
    r = co_await (write_all(*m.plain, bytes) ||
                  expire(sock, options_.write_timeout, m.write_timed_out));
  }
  if (m.write_timed_out) {
    close();
    co_return LinkError{LinkFailure::kWriteTimeout, "write not completed in time"};
  }
  if (const error_code ec = std::get<0>(r)) {
    LinkError e = classify_tls(ec, m.tls ? m.tls->native_handle() : nullptr);
    close();
    co_return e;
  }
  co_return std::nullopt;
}

asio::awaitable<LinkError> SyslogLink::watch() {
  Impl& m = *impl_;
  if (m.datagram) {
    m.udp_wait.expires_at(asio::steady_timer::time_point::max());
    co_await m.udp_wait.async_wait(kNoThrow);
    co_return LinkError{LinkFailure::kNetwork, "closed"};
  }
  std::array<char, 512> buf{};
  for (;;) {
    error_code ec;
    if (m.tls) {
      auto [e, n] = co_await m.tls->async_read_some(asio::buffer(buf), kNoThrow);
      ec = e;
    } else if (m.plain) {
      auto [e, n] = co_await m.plain->async_read_some(asio::buffer(buf), kNoThrow);
      ec = e;
    } else {
      co_return LinkError{LinkFailure::kNetwork, "not connected"};
    }
    if (ec) {
      if (m.write_timed_out) {
        co_return LinkError{LinkFailure::kWriteTimeout, "write not completed in time"};
      }
      LinkError e = classify_tls(ec, m.tls ? m.tls->native_handle() : nullptr);
      close();
      co_return e;
    }
    // Collectors do not speak on syslog connections: anything read is ignored.
  }
}

std::optional<TcpProgress> SyslogLink::progress() const {
  tcp::socket* s = impl_->lowest();
  if (s == nullptr || !s->is_open()) return std::nullopt;
  return tcp_progress(s->native_handle());
}

}  // namespace wardgate::audit
