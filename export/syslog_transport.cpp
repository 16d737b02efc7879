#include "export/syslog_transport.h"

#include <netinet/tcp.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <limits>

#include "common/error_category.h"
#include "tls/certificate_dates.h"
#include "tls/peer_pin.h"
#include "tls/tls_context.h"
#include "tls/tls_error.h"

namespace wardgate::exporter {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// The LinkFailure for a TLS error of tls/.
LinkFailure from_tls(std::error_code ec) {
  if (tls::is_local_credentials_error(ec)) return LinkFailure::kLocalCredentials;
  switch (static_cast<tls::Errc>(ec.value())) {
    case tls::Errc::kOwnCertificateExpired:
      return LinkFailure::kClientCertificateExpired;
    case tls::Errc::kOwnCertificateNotYetValid:
      return LinkFailure::kClientCertificateNotYetValid;
    case tls::Errc::kOwnCertificateRevoked:
    case tls::Errc::kPeerCertificateRevoked:
      return LinkFailure::kRevoked;
    case tls::Errc::kPeerRejectedCertificate:
      return LinkFailure::kCollectorRejectedCertificate;
    case tls::Errc::kPeerCertificateExpired:
      return LinkFailure::kServerCertificateExpired;
    case tls::Errc::kPeerCertificateNotYetValid:
      return LinkFailure::kServerCertificateNotYetValid;
    case tls::Errc::kUnknownCa:
      return LinkFailure::kUnknownCa;
    case tls::Errc::kNameMismatch:
      return LinkFailure::kNameMismatch;
    case tls::Errc::kPinMismatch:
      return LinkFailure::kPinMismatch;
    case tls::Errc::kProtocolVersion:
      return LinkFailure::kProtocolVersion;
    case tls::Errc::kVerificationSetup:
      return LinkFailure::kTlsSetup;
    case tls::Errc::kCrlExpired:
      return LinkFailure::kCrlExpired;
    case tls::Errc::kCrlMissing:
      return LinkFailure::kCrlMissing;
    case tls::Errc::kOcspResponseInvalid:
      return LinkFailure::kOcspInvalid;
    default:
      return LinkFailure::kHandshakeOther;
  }
}

// The reason of a failed TLS operation: the collector's alert, our own verification of its
// certificate, or the connection's fate.
LinkError classify_tls(const error_code& ec, SSL* ssl) {
  std::string detail;
  if (const std::error_code tls_ec = tls::classify_ssl_error(ec, ssl, detail)) {
    return {from_tls(tls_ec), detail};
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
    case LinkFailure::kTlsSetup:
      return "tls-setup";
    case LinkFailure::kCrlExpired:
      return "crl-expired";
    case LinkFailure::kCrlMissing:
      return "crl-missing";
    case LinkFailure::kOcspInvalid:
      return "ocsp-response-invalid";
    case LinkFailure::kWriteTimeout:
      return "write-timeout";
    case LinkFailure::kClosedByPeer:
      return "closed-by-peer";
    case LinkFailure::kStopping:
      return "stopping";
    case LinkFailure::kTlsFilesChanged:
      return "tls-files-changed";
    case LinkFailure::kCount:
      break;
  }
  return "?";
}

const std::error_category& export_category() noexcept {
  static const common::ErrorCategory<LinkFailure> category(
      "wardgate.export", [](LinkFailure f) { return to_string(f); });
  return category;
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
    case LinkFailure::kTlsSetup:
    case LinkFailure::kCrlExpired:
    case LinkFailure::kCrlMissing:
    case LinkFailure::kOcspInvalid:
      return true;
    default:
      return false;
  }
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
    std::error_code tls_ec;
    std::string detail;
    // Our own certificate first: an expired or not yet valid one is named as such (the
    // collector would only say "bad certificate", or nothing under TLS 1.3).
    if ((tls_ec = tls::check_own_certificate(options_.tls, detail))) {
      co_return LinkError{from_tls(tls_ec), detail};
    }
    m.context = tls::make_context(options_.tls, tls::ContextOptions{}, tls_ec, detail);
    if (!m.context) co_return LinkError{from_tls(tls_ec), detail};
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
    std::string detail;
    if (const std::error_code ec = tls::expect_peer_name(ssl, name, detail)) {
      close();
      co_return LinkError{from_tls(ec), detail};
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
    if (const std::error_code ec = tls::check_full_handshake(ssl, detail)) {
      close();
      co_return LinkError{from_tls(ec), detail};
    }
    if (!options_.pinned_sha256.empty()) {
      const std::string hex = tls::peer_sha256(ssl);
      if (hex != tls::normalize_fingerprint(options_.pinned_sha256)) {
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

}  // namespace wardgate::exporter
