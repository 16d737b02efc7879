#pragma once
// Watches a WireGuard interface through successive snapshots (DeviceState) and turns what changed
// into audit events of category "tunnel" (docs/audit-events.md):
//   up                 a peer's first handshake; again with recovered=true when a stale or
//                      interrupted peer carries traffic again
//   stale              no handshake for more than stale_after while packets wait to go out,
//                      and none within kStaleConfirmation after a poll first saw that (the
//                      poll may have caught a handshake in flight)
//   interrupted        the peer stopped answering: nothing received for silence_after while
//                      more was sent than keepalives and handshake retries alone would send
//                      (a concentrator restart, a cut link); the tunnel's session may still
//                      look valid, which is why stale alone would see it only after minutes
//   endpoint-changed   the peer's UDP endpoint moved (roaming, NAT rebinding)
//   peer-added         a peer appeared that the configuration does not name (someone ran wg set)
//   peer-removed       a configured peer is missing from the interface
//   key-rotated        the interface's own public key changed to the one wardgate switched to
//   key-changed        the interface's own public key changed to one wardgate did not set
//   backend-failed / backend-recovered   reported by the manager (see tunnel_manager.h)
// Pure: no I/O; time from the injected clock (steady time for intervals, wall time for the
// kernel's handshake times and event stamps). The manager polls and feeds it.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "audit/event.h"
#include "common/clock.h"
#include "tunnel/wg_types.h"

namespace wardgate::tunnel {

struct ExpectedPeer {
  std::string name;
  Key public_key{};
};

// Per peer, for status and the later /metrics page.
struct PeerHealth {
  std::string name;  // configured name, else the base64 key
  Key public_key{};
  bool up = false;  // had a handshake and is not stale
  bool stale = false;
  bool stale_suspected = false;  // stale's condition was seen, not yet confirmed (observe())
  std::chrono::steady_clock::time_point stale_suspected_at{};
  bool interrupted = false;
  std::optional<Endpoint> endpoint;
  std::int64_t last_handshake_s = 0;  // Unix time, 0: never
  std::uint64_t rx_bytes = 0;
  std::uint64_t tx_bytes = 0;
  std::uint64_t handshakes_seen = 0;  // distinct handshake times observed
  std::uint64_t endpoint_changes = 0;
  // When the peer appeared on the interface: a peer that never completed a handshake is stale
  // only stale_after from here (it may have been added long after the monitor started).
  std::chrono::steady_clock::time_point first_seen{};
  // Since rx last grew: when, and how far tx was then.
  std::chrono::steady_clock::time_point rx_changed{};
  std::uint64_t tx_at_rx_change = 0;
};

// Bytes per second of silence a peer may be sent without "interrupted": keepalives (32 bytes,
// at most one a second) and handshake initiations (148 bytes every 5 s) stay below it.
constexpr std::uint64_t kSilentTxAllowancePerSecond = 64;
constexpr std::uint64_t kSilentTxAllowanceBase = 1024;
// WireGuard retries an unanswered handshake initiation after 5 s (REKEY_TIMEOUT).
constexpr std::chrono::seconds kStaleConfirmation{5};

class TunnelMonitor {
 public:
  // `clock` must outlive the monitor.
  TunnelMonitor(std::string appliance_id, std::string interface, std::vector<ExpectedPeer> peers,
                std::chrono::seconds stale_after, std::chrono::seconds silence_after,
                const common::Clock& clock);

  // The interface's own public key wardgate set; a change to it is "key-rotated", any other
  // change "key-changed".
  void expect_own_key(const Key& public_key) { own_key_ = public_key; }
  // Asked when the interface's key changed to one other than expect_own_key()'s: whether it is
  // a key wardgate's rotation put there (`wardgate tunnel rotate-key --commit` runs in another
  // process, so the manager checks the key files).
  void set_rotation_check(std::function<bool(const Key& public_key)> check) {
    rotation_check_ = std::move(check);
  }

  // Compares `state` (just read) with the previous snapshot; returns the events.
  std::vector<audit::Event> observe(const DeviceState& state);

  // Events the manager reports through the same schema.
  audit::Event backend_event(const std::string& action, const std::string& backend,
                             const std::string& detail) const;

  const std::map<Key, PeerHealth>& peers() const { return health_; }

 private:
  audit::Event event(const std::string& action, audit::Outcome outcome, audit::Severity severity,
                     const std::string& peer, std::chrono::system_clock::time_point now) const;
  std::string name_of(const Key& key) const;

  std::string appliance_id_;
  std::string interface_;
  std::vector<ExpectedPeer> expected_;
  std::chrono::seconds stale_after_;
  std::chrono::seconds silence_after_;
  const common::Clock& clock_;
  std::optional<Key> own_key_;
  std::function<bool(const Key&)> rotation_check_;
  std::optional<Key> seen_own_key_;
  bool first_ = true;
  std::map<Key, PeerHealth> health_;
};

}  // namespace wardgate::tunnel
