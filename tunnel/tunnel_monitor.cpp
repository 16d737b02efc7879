#include "tunnel/tunnel_monitor.h"

#include <set>

#include "tunnel/key.h"

namespace wardgate::tunnel {

using audit::Outcome;
using audit::Severity;

TunnelMonitor::TunnelMonitor(std::string appliance_id, std::string interface,
                             std::vector<ExpectedPeer> peers, std::chrono::seconds stale_after,
                             std::chrono::seconds silence_after, const common::Clock& clock)
    : appliance_id_(std::move(appliance_id)),
      interface_(std::move(interface)),
      expected_(std::move(peers)),
      stale_after_(stale_after),
      silence_after_(silence_after),
      clock_(clock) {}

std::string TunnelMonitor::name_of(const Key& key) const {
  for (const auto& p : expected_)
    if (p.public_key == key) return p.name;
  return to_base64(key);
}

audit::Event TunnelMonitor::event(const std::string& action, Outcome outcome, Severity severity,
                                  const std::string& peer,
                                  std::chrono::system_clock::time_point now) const {
  audit::Event e;
  e.time = now;
  e.appliance_id = appliance_id_;
  e.device = interface_;
  e.category = "tunnel";
  e.action = action;
  e.outcome = outcome;
  e.severity = severity;
  e.fields.set("interface", interface_);
  if (!peer.empty()) e.fields.set("peer", peer);
  return e;
}

audit::Event TunnelMonitor::backend_event(const std::string& action, const std::string& backend,
                                          const std::string& detail) const {
  const bool failed = action == "backend-failed";
  auto e = event(action, failed ? Outcome::kFailure : Outcome::kSuccess,
                 failed ? Severity::kAlert : Severity::kNotice, "", clock_.system_now());
  e.fields.set("backend", backend);
  if (!detail.empty()) e.fields.set("detail", detail);
  return e;
}

std::vector<audit::Event> TunnelMonitor::observe(const DeviceState& state) {
  std::vector<audit::Event> out;
  // Wall time for the kernel's handshake times (Unix time) and the events; steady time for
  // everything measured since an earlier poll, so setting the date does not fake an interval.
  const auto now = clock_.system_now();
  const auto steady_now = clock_.steady_now();
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());

  // The interface's own key.
  if (state.public_key && seen_own_key_ && *state.public_key != *seen_own_key_) {
    const bool ours = (own_key_ && *own_key_ == *state.public_key) ||
                      (rotation_check_ && rotation_check_(*state.public_key));
    if (ours) own_key_ = state.public_key;
    auto e =
        event(ours ? "key-rotated" : "key-changed", ours ? Outcome::kSuccess : Outcome::kWarning,
              ours ? Severity::kNotice : Severity::kAlert, "", now);
    e.fields.set("previous_public_key", to_base64(*seen_own_key_));
    e.fields.set("public_key", to_base64(*state.public_key));
    out.push_back(std::move(e));
  }
  if (state.public_key) seen_own_key_ = state.public_key;

  // Peers that appeared or went away.
  std::set<Key> present;
  for (const auto& p : state.peers) present.insert(p.public_key);
  for (const auto& p : state.peers) {
    if (health_.count(p.public_key) != 0) continue;
    PeerHealth h;
    h.public_key = p.public_key;
    h.first_seen = steady_now;
    h.rx_changed = steady_now;
    h.rx_bytes = p.rx_bytes;
    h.tx_bytes = p.tx_bytes;
    h.tx_at_rx_change = p.tx_bytes;
    h.name = name_of(p.public_key);
    const bool configured = h.name != to_base64(p.public_key);
    if (!configured) {
      // A peer wardgate did not configure can route traffic into the core: always an alert.
      auto e = event("peer-added", Outcome::kWarning, Severity::kAlert, h.name, now);
      e.fields.set("public_key", to_base64(p.public_key));
      e.fields.set("configured", false);
      out.push_back(std::move(e));
    } else if (!first_) {
      auto e = event("peer-added", Outcome::kSuccess, Severity::kNotice, h.name, now);
      e.fields.set("public_key", to_base64(p.public_key));
      e.fields.set("configured", true);
      out.push_back(std::move(e));
    }
    health_.emplace(p.public_key, std::move(h));
  }
  for (auto it = health_.begin(); it != health_.end();) {
    if (present.count(it->first) != 0) {
      ++it;
      continue;
    }
    auto e = event("peer-removed", Outcome::kWarning, Severity::kWarning, it->second.name, now);
    e.fields.set("public_key", to_base64(it->first));
    out.push_back(std::move(e));
    it = health_.erase(it);
  }
  if (first_) {
    // Configured peers missing at the first look are reported once too.
    for (const auto& x : expected_) {
      if (present.count(x.public_key) != 0) continue;
      auto e = event("peer-removed", Outcome::kWarning, Severity::kWarning, x.name, now);
      e.fields.set("public_key", to_base64(x.public_key));
      out.push_back(std::move(e));
    }
  }

  // Handshakes, staleness, endpoints, counters.
  for (const auto& p : state.peers) {
    auto& h = health_.at(p.public_key);
    if (p.rx_bytes < h.rx_bytes || p.tx_bytes < h.tx_bytes) {
      // The counters went back: the backend was restarted (and the peer configured again)
      // between two snapshots. Count from zero, or rx would not "grow" again until it passed
      // the old total, and an interrupted peer would never be seen to recover.
      h.rx_bytes = 0;
      h.tx_bytes = 0;
      h.tx_at_rx_change = 0;
    }
    const bool tx_grew = p.tx_bytes > h.tx_bytes;
    if (p.endpoint && h.endpoint && !(*p.endpoint == *h.endpoint)) {
      auto e = event("endpoint-changed", Outcome::kSuccess, Severity::kNotice, h.name, now);
      e.fields.set("previous_endpoint", h.endpoint->to_string());
      e.fields.set("endpoint", p.endpoint->to_string());
      out.push_back(std::move(e));
      ++h.endpoint_changes;
    }
    if (p.endpoint) h.endpoint = p.endpoint;
    const bool new_handshake = p.last_handshake_s != 0 && p.last_handshake_s != h.last_handshake_s;
    if (new_handshake) ++h.handshakes_seen;
    const auto age_s =
        p.last_handshake_s != 0
            ? now_s.count() - p.last_handshake_s
            : std::chrono::duration_cast<std::chrono::seconds>(steady_now - h.first_seen).count();
    const bool fresh = p.last_handshake_s != 0 && age_s <= stale_after_.count();
    const bool rx_grew = p.rx_bytes > h.rx_bytes;
    if (rx_grew) {
      h.rx_changed = steady_now;
      h.tx_at_rx_change = p.tx_bytes;
    }
    const auto silent_s =
        std::chrono::duration_cast<std::chrono::seconds>(steady_now - h.rx_changed).count();
    const std::uint64_t unanswered = p.tx_bytes - std::min(p.tx_bytes, h.tx_at_rx_change);
    const std::uint64_t allowance =
        kSilentTxAllowanceBase + kSilentTxAllowancePerSecond * static_cast<std::uint64_t>(silent_s);
    // Packets wait for the peer (tx grows: handshake initiations and queued data) and no
    // handshake has completed within stale_after. One poll may have caught the handshake
    // initiation of a tunnel that was merely idle, its answer a round trip away: stale only when
    // no handshake completed within kStaleConfirmation (WireGuard's own retry time) after that.
    if (fresh) {
      h.stale_suspected = false;
    } else if (!h.stale && !h.stale_suspected && age_s > stale_after_.count() && tx_grew) {
      h.stale_suspected = true;
      h.stale_suspected_at = steady_now;
    }
    const bool stale_confirmed = !fresh && !h.stale && h.stale_suspected &&
                                 steady_now - h.stale_suspected_at >= kStaleConfirmation;
    if (fresh && (!h.up || (h.interrupted && rx_grew))) {
      auto e = event("up", Outcome::kSuccess, Severity::kNotice, h.name, now);
      if (p.endpoint) e.fields.set("endpoint", p.endpoint->to_string());
      e.fields.set("recovered", h.stale || h.interrupted);
      out.push_back(std::move(e));
      h.up = true;
      h.stale = false;
      h.interrupted = false;
    } else if (stale_confirmed) {
      auto e = event("stale", Outcome::kFailure, Severity::kAlert, h.name, now);
      e.fields.set("handshake_age_s", p.last_handshake_s != 0 ? age_s : std::int64_t{-1});
      e.fields.set("reason",
                   p.last_handshake_s != 0
                       ? "no handshake within " + std::to_string(stale_after_.count()) + " s"
                       : "never completed a handshake (wrong key, blocked port or the "
                         "concentrator is down?)");
      if (p.endpoint) e.fields.set("endpoint", p.endpoint->to_string());
      out.push_back(std::move(e));
      h.stale = true;
      h.up = false;
    } else if (h.up && !h.interrupted && silent_s > silence_after_.count() &&
               unanswered > allowance) {
      auto e = event("interrupted", Outcome::kFailure, Severity::kAlert, h.name, now);
      e.fields.set("silent_s", silent_s);
      e.fields.set("unanswered_bytes", unanswered);
      e.fields.set("reason",
                   "nothing received from the peer while traffic waits (concentrator restarted "
                   "or unreachable?)");
      if (p.endpoint) e.fields.set("endpoint", p.endpoint->to_string());
      out.push_back(std::move(e));
      h.interrupted = true;
    }
    h.last_handshake_s = p.last_handshake_s;
    h.rx_bytes = p.rx_bytes;
    h.tx_bytes = p.tx_bytes;
  }
  first_ = false;
  return out;
}

}  // namespace wardgate::tunnel
