#pragma once
// One connection to a syslog collector: UDP (RFC 5426), TCP with octet counting (RFC 6587
// section 3.4.1) or TLS (RFC 5425) with mutual authentication. Boost.Asio coroutines on the
// caller's executor; not thread-safe (one exporter coroutine owns a link).
//
// TLS (tls/): a fresh OpenSSL context per connect() reads the client certificate, key, CA bundle
// and optional CRL from disk, so replaced files take effect at the next connection without a
// restart. TLS >= 1.2, the collector's certificate must chain to the CA bundle (every
// certificate of the chain checked against the CRL file when given, and against a stapled OCSP
// response when the collector sends one) and match server_name (SNI and RFC 6125 host name
// check), optionally its SHA-256 fingerprint is pinned. Every connection makes a full handshake:
// no session resumption, which would skip those checks.
// Half-open connections: TCP keepalive, TCP_USER_TIMEOUT (written bytes not acknowledged in
// time fail the socket) and a deadline on every write.
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "export/tcp_progress.h"
#include "tls/tls_files.h"

namespace wardgate::exporter {

enum class TransportKind : std::uint8_t { kUdp, kTcp, kTls };
// "udp", "tcp", "tls".
const char* to_string(TransportKind kind);
std::optional<TransportKind> parse_transport(std::string_view name);

constexpr std::uint16_t kSyslogTlsPort = 6514;  // RFC 5425 section 4.1
constexpr std::uint16_t kSyslogPort = 514;      // RFC 5426 section 3.3 (UDP), customary for TCP

struct TransportOptions {
  TransportKind kind = TransportKind::kTls;
  std::string host = "127.0.0.1";
  std::uint16_t port = kSyslogTlsPort;
  tls::TlsFiles tls;        // certificate: the client certificate wardgate presents
  std::string server_name;  // expected in the collector's certificate and sent as SNI; empty: host
  std::string pinned_sha256;  // optional: 64 hex digits (':' separators allowed)
  std::chrono::milliseconds connect_timeout{5000};  // TCP connect plus TLS handshake
  std::chrono::milliseconds write_timeout{10000};
  std::chrono::seconds keepalive_idle{10};
  std::chrono::seconds keepalive_interval{5};
  int keepalive_probes = 3;
  std::chrono::milliseconds user_timeout{20000};  // TCP_USER_TIMEOUT
  bool operator==(const TransportOptions&) const = default;
};

// Why a connection could not be made or was lost. The names (to_string) are what the health
// page, the metrics and the audit events show.
enum class LinkFailure : std::uint8_t {
  kResolve,
  kConnectRefused,
  kConnectTimeout,
  kNetwork,
  kLocalCredentials,  // our certificate, key, CA bundle or CRL cannot be read or do not match
  kClientCertificateExpired,
  kClientCertificateNotYetValid,
  kServerCertificateExpired,
  kServerCertificateNotYetValid,
  kUnknownCa,
  kRevoked,
  kNameMismatch,
  kPinMismatch,
  kCollectorRejectedCertificate,  // the collector refused our certificate (alert)
  kProtocolVersion,
  kHandshakeTimeout,
  kHandshakeOther,
  kTlsSetup,     // OpenSSL refused a verification setting (the peer name, CRL checks): fail closed
  kCrlExpired,   // a CRL for the collector's chain is past its nextUpdate: fetch a current one
  kCrlMissing,   // the CRL file lacks the CRL of a CA in the collector's chain
  kOcspInvalid,  // the collector stapled an OCSP response that is not trusted, current, "good"
  kWriteTimeout,
  kClosedByPeer,
  kStopping,         // the exporter was asked to stop
  kTlsFilesChanged,  // new certificate, key, CA or CRL: reconnect with them
  kCount,
};
const char* to_string(LinkFailure failure);
// LinkFailure as a std::error_code of the "wardgate.export" category (message: to_string).
const std::error_category& export_category() noexcept;
inline std::error_code make_error_code(LinkFailure failure) noexcept {
  return {static_cast<int>(failure), export_category()};
}
// Failures of the TLS handshake (including the collector's verdict on our certificate, which
// TLS 1.3 delivers after the client finished): counted per reason in the health.
bool is_handshake_failure(LinkFailure failure);

struct LinkError {
  LinkFailure reason;
  std::string detail;  // for operators: OpenSSL's reason, the file concerned; never key material
};

class SyslogLink {
 public:
  SyslogLink(boost::asio::any_io_executor executor, TransportOptions options);
  ~SyslogLink();
  SyslogLink(const SyslogLink&) = delete;
  SyslogLink& operator=(const SyslogLink&) = delete;

  // Resolves, connects and, for TLS, handshakes and verifies the collector. nullopt: connected.
  boost::asio::awaitable<std::optional<LinkError>> connect();
  // TCP/TLS: writes `bytes` (already framed) completely within write_timeout.
  // UDP: sends `bytes` as one datagram.
  boost::asio::awaitable<std::optional<LinkError>> write(std::string_view bytes);
  // Completes when the collector closes the connection or it fails (a syslog collector never
  // sends): the exporter's prompt notice of a collector restart or a post-handshake rejection.
  // UDP: completes only when close() is called.
  boost::asio::awaitable<LinkError> watch();
  // Acknowledged and written byte counts at the TCP level; nullopt for UDP or unconnected.
  std::optional<TcpProgress> progress() const;
  void close();
  bool connected() const { return connected_; }
  const TransportOptions& options() const { return options_; }

 private:
  struct Impl;
  TransportOptions options_;
  std::unique_ptr<Impl> impl_;
  bool connected_ = false;
};

}  // namespace wardgate::exporter

template <>
struct std::is_error_code_enum<wardgate::exporter::LinkFailure> : std::true_type {};
