#include "tunnel/tunnel_monitor.h"

#include <gtest/gtest.h>

#include <climits>

#include "common/clock.h"
#include "tunnel/key.h"

namespace wardgate::tunnel {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::system_clock;

// Keys from `wg genkey | wg pubkey` (see key_test.cpp).
const Key kConcentrator = *key_from_base64("mHanYiGvpDqWDCVyifzSB8GnV2xJVYYLfpu2mQVY0Hw=");
const Key kBackup = *key_from_base64("+dqTApupfaG3VREDezLV87YOGbpLhdDeec7XHe/DtCY=");
const Key kStranger = *key_from_base64("GWtFPhirveeUXSMkNkBo/mND/Gjn9/XL7+hGIecBk0A=");
const Key kOwnA = *key_from_base64("B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9/AsrhtHHw=");
const Key kOwnB = *key_from_base64("hHwNLDdSNPNl5mCVUYejc1oPdhPRYJ06ak2MU66qWiI=");
const Key kOwnC = *key_from_base64("K9dWygb3a1GKz5GymAoQa2IRz7SuUxzv2PYm+c96v00=");

constexpr std::int64_t kT0 = 1'800'000'000;  // Unix time of the first snapshot
constexpr std::int64_t kNever = INT64_MIN;   // no handshake yet
constexpr seconds kStaleAfter{180};
constexpr seconds kSilenceAfter{30};

// Simulated time starting at kT0 (wall) and 0 (steady); at(t) moves both to t seconds later.
struct SimulatedTime {
  common::ManualClock clock{Clock::from_time_t(kT0)};
  void at(std::int64_t t) {
    const auto elapsed = clock.steady_now().time_since_epoch();
    ASSERT_GE(seconds(t), elapsed) << "time runs forward in these tests";
    clock.advance(seconds(t) - elapsed);
  }
};

// A monitor watching wg0 with the configured peer "concentrator" (and "backup" when asked),
// fed snapshots at kT0 + t seconds.
struct Watch {
  explicit Watch(std::vector<ExpectedPeer> peers = {{"concentrator", kConcentrator}})
      : monitor("ward-7", "wg0", std::move(peers), kStaleAfter, kSilenceAfter, time.clock) {}

  std::vector<audit::Event> at(std::int64_t t, const DeviceState& s) {
    time.at(t);
    return monitor.observe(s);
  }
  SimulatedTime time;
  TunnelMonitor monitor;
};

PeerState peer(const Key& key, std::int64_t handshake_t, std::uint64_t rx, std::uint64_t tx,
               const char* endpoint = "192.0.2.10:51820") {
  PeerState p;
  p.public_key = key;
  p.last_handshake_s = handshake_t == kNever ? 0 : kT0 + handshake_t;
  p.rx_bytes = rx;
  p.tx_bytes = tx;
  if (endpoint != nullptr) p.endpoint = Endpoint::parse(endpoint);
  return p;
}

DeviceState device(std::vector<PeerState> peers, std::optional<Key> own = kOwnA) {
  DeviceState s;
  s.interface = "wg0";
  s.public_key = own;
  s.peers = std::move(peers);
  return s;
}

std::vector<std::string> actions(const std::vector<audit::Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.action);
  return out;
}

std::string text(const audit::Event& e, const char* key) {
  const auto* v = e.fields.find(key);
  return v != nullptr && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v)
                                                                 : "(missing)";
}
std::optional<bool> flag(const audit::Event& e, const char* key) {
  const auto* v = e.fields.find(key);
  if (v == nullptr || !std::holds_alternative<bool>(*v)) return std::nullopt;
  return std::get<bool>(*v);
}
std::optional<std::int64_t> integer(const audit::Event& e, const char* key) {
  const auto* v = e.fields.find(key);
  if (v == nullptr) return std::nullopt;
  if (std::holds_alternative<std::int64_t>(*v)) return std::get<std::int64_t>(*v);
  if (std::holds_alternative<std::uint64_t>(*v))
    return static_cast<std::int64_t>(std::get<std::uint64_t>(*v));
  return std::nullopt;
}

using Actions = std::vector<std::string>;

TEST(TunnelMonitor, UpOnTheFirstHandshake) {
  Watch w;
  EXPECT_EQ(actions(w.at(0, device({peer(kConcentrator, kNever, 0, 0)}))), Actions{});
  EXPECT_EQ(actions(w.at(5, device({peer(kConcentrator, kNever, 0, 148)}))), Actions{});
  const auto events = w.at(10, device({peer(kConcentrator, 9, 92, 296)}));
  ASSERT_EQ(actions(events), Actions{"up"});
  const auto& up = events[0];
  EXPECT_EQ(up.category, "tunnel");
  EXPECT_EQ(up.appliance_id, "ward-7");
  EXPECT_EQ(up.outcome, audit::Outcome::kSuccess);
  EXPECT_EQ(up.severity, audit::Severity::kNotice);
  EXPECT_EQ(text(up, "interface"), "wg0");
  EXPECT_EQ(text(up, "peer"), "concentrator");
  EXPECT_EQ(text(up, "endpoint"), "192.0.2.10:51820");
  EXPECT_EQ(flag(up, "recovered"), false);
  EXPECT_EQ(up.time, Clock::from_time_t(kT0 + 10));
  // Later handshakes (rekeying every 2 minutes) are not news.
  EXPECT_EQ(actions(w.at(15, device({peer(kConcentrator, 9, 200, 400)}))), Actions{});
  EXPECT_EQ(actions(w.at(130, device({peer(kConcentrator, 129, 900, 1200)}))), Actions{});
  const auto& h = w.monitor.peers().at(kConcentrator);
  EXPECT_TRUE(h.up);
  EXPECT_EQ(h.handshakes_seen, 2u);
  EXPECT_EQ(h.name, "concentrator");
}

TEST(TunnelMonitor, UpAtTheFirstLookWhenTheTunnelIsAlreadyUp) {
  Watch w;
  const auto events = w.at(0, device({peer(kConcentrator, -30, 5000, 6000)}));
  ASSERT_EQ(actions(events), Actions{"up"});
  EXPECT_EQ(flag(events[0], "recovered"), false);
}

TEST(TunnelMonitor, NoStaleOrInterruptedWhileHandshakesAreFreshAndThePeerAnswers) {
  // Two hours of steady traffic: a handshake every 120 s (REKEY_AFTER_TIME), both counters grow.
  Watch w;
  std::size_t events = w.at(0, device({peer(kConcentrator, 0, 0, 0)})).size();
  EXPECT_EQ(events, 1u);  // up
  for (std::int64_t t = 5; t <= 7200; t += 5) {
    const std::int64_t handshake = t / 120 * 120;
    const auto u = static_cast<std::uint64_t>(t);
    EXPECT_EQ(actions(w.at(t, device({peer(kConcentrator, handshake, 900 * u, 1000 * u)}))),
              Actions{})
        << "t=" << t;
  }
}

TEST(TunnelMonitor, NoStaleWhileIdle) {
  // No handshake for an hour is normal for an idle tunnel without keepalives: WireGuard only
  // handshakes when there is something to send.
  Watch w;
  w.at(0, device({peer(kConcentrator, 0, 100, 100)}));
  for (std::int64_t t = 60; t <= 3600; t += 60)
    EXPECT_EQ(actions(w.at(t, device({peer(kConcentrator, 0, 100, 100)}))), Actions{}) << t;
}

TEST(TunnelMonitor, StaleAfterStaleAfterOnlyWhenTxGrows) {
  Watch w;
  w.at(0, device({peer(kConcentrator, 0, 100, 100)}));
  // Traffic waits (tx grows), but the last handshake is only stale_after old: not yet.
  EXPECT_EQ(actions(w.at(180, device({peer(kConcentrator, 0, 100, 400)}))), Actions{});
  // Past stale_after without tx growth: idle, not stale.
  EXPECT_EQ(actions(w.at(200, device({peer(kConcentrator, 0, 100, 400)}))), Actions{});
  // The first poll that sees it may have caught a handshake in flight: not yet.
  EXPECT_EQ(actions(w.at(205, device({peer(kConcentrator, 0, 100, 548)}))), Actions{});
  const auto events = w.at(210, device({peer(kConcentrator, 0, 100, 696)}));
  ASSERT_EQ(actions(events), Actions{"stale"});
  const auto& stale = events[0];
  EXPECT_EQ(stale.outcome, audit::Outcome::kFailure);
  EXPECT_EQ(stale.severity, audit::Severity::kAlert);
  EXPECT_EQ(text(stale, "peer"), "concentrator");
  EXPECT_EQ(integer(stale, "handshake_age_s"), 210);
  EXPECT_EQ(text(stale, "reason"), "no handshake within 180 s");
  EXPECT_EQ(text(stale, "endpoint"), "192.0.2.10:51820");
  EXPECT_TRUE(w.monitor.peers().at(kConcentrator).stale);
  EXPECT_FALSE(w.monitor.peers().at(kConcentrator).up);
  // Reported once, not at every poll.
  EXPECT_EQ(actions(w.at(215, device({peer(kConcentrator, 0, 100, 844)}))), Actions{});
}

TEST(TunnelMonitor, AHandshakeAnsweredByTheNextPollIsNotStale) {
  // An idle tunnel past stale_after starts sending: the poll catches the initiation (tx grew)
  // before the answer; by the next poll the handshake is done.
  Watch w;
  w.at(0, device({peer(kConcentrator, 0, 100, 100)}));
  EXPECT_EQ(actions(w.at(600, device({peer(kConcentrator, 0, 100, 248)}))), Actions{});
  EXPECT_EQ(actions(w.at(605, device({peer(kConcentrator, 600, 192, 400)}))), Actions{});
  EXPECT_FALSE(w.monitor.peers().at(kConcentrator).stale);
}

TEST(TunnelMonitor, StaleNamesANeverCompletedHandshake) {
  Watch w;
  EXPECT_EQ(actions(w.at(0, device({peer(kConcentrator, kNever, 0, 0)}))), Actions{});
  EXPECT_EQ(actions(w.at(100, device({peer(kConcentrator, kNever, 0, 148 * 20)}))), Actions{});
  EXPECT_EQ(actions(w.at(185, device({peer(kConcentrator, kNever, 0, 148 * 37)}))), Actions{});
  const auto events = w.at(190, device({peer(kConcentrator, kNever, 0, 148 * 38)}));
  ASSERT_EQ(actions(events), Actions{"stale"});
  EXPECT_EQ(integer(events[0], "handshake_age_s"), -1);
  EXPECT_NE(text(events[0], "reason").find("never completed a handshake"), std::string::npos)
      << text(events[0], "reason");
}

TEST(TunnelMonitor, UpRecoveredAfterStale) {
  Watch w;
  w.at(0, device({peer(kConcentrator, 0, 100, 100)}));
  ASSERT_EQ(actions(w.at(205, device({peer(kConcentrator, 0, 100, 548)}))), Actions{});
  ASSERT_EQ(actions(w.at(210, device({peer(kConcentrator, 0, 100, 696)}))), Actions{"stale"});
  const auto events = w.at(300, device({peer(kConcentrator, 299, 192, 1000)}));
  ASSERT_EQ(actions(events), Actions{"up"});
  EXPECT_EQ(flag(events[0], "recovered"), true);
  const auto& h = w.monitor.peers().at(kConcentrator);
  EXPECT_TRUE(h.up);
  EXPECT_FALSE(h.stale);
}

TEST(TunnelMonitor, InterruptedAfterSilenceWithTxBeyondTheAllowance) {
  // The concentrator restarted: our session still looks valid (handshake 10 s ago), we keep
  // sending, nothing comes back.
  Watch w;
  w.at(0, device({peer(kConcentrator, 0, 1000, 1000)}));
  // Within silence_after: nothing yet, however much was sent.
  EXPECT_EQ(actions(w.at(30, device({peer(kConcentrator, 0, 1000, 50000)}))), Actions{});
  const auto events = w.at(35, device({peer(kConcentrator, 0, 1000, 60000)}));
  ASSERT_EQ(actions(events), Actions{"interrupted"});
  const auto& e = events[0];
  EXPECT_EQ(e.outcome, audit::Outcome::kFailure);
  EXPECT_EQ(e.severity, audit::Severity::kAlert);
  EXPECT_EQ(integer(e, "silent_s"), 35);
  EXPECT_EQ(integer(e, "unanswered_bytes"), 59000);
  EXPECT_EQ(text(e, "endpoint"), "192.0.2.10:51820");
  EXPECT_TRUE(w.monitor.peers().at(kConcentrator).interrupted);
  // Once.
  EXPECT_EQ(actions(w.at(40, device({peer(kConcentrator, 0, 1000, 70000)}))), Actions{});
}

TEST(TunnelMonitor, InterruptedNeedsMoreThanTheAllowance) {
  // silent 60 s: allowance 1024 + 64 * 60 = 4864 bytes.
  Watch below;
  below.at(0, device({peer(kConcentrator, 0, 1000, 1000)}));
  EXPECT_EQ(actions(below.at(60, device({peer(kConcentrator, 0, 1000, 1000 + 4864)}))), Actions{});
  Watch above;
  above.at(0, device({peer(kConcentrator, 0, 1000, 1000)}));
  EXPECT_EQ(actions(above.at(60, device({peer(kConcentrator, 0, 1000, 1000 + 4865)}))),
            Actions{"interrupted"});
}

TEST(TunnelMonitor, KeepalivesAndHandshakeRetriesAloneAreNotAnInterruption) {
  // Nothing received for 10 minutes while we send only what WireGuard sends by itself: a
  // persistent keepalive (32 bytes) every 25 s and a handshake initiation (148 bytes) every 5 s.
  // stale_after is made long here so only the interruption logic is under test.
  SimulatedTime time;
  TunnelMonitor m("ward-7", "wg0", {{"concentrator", kConcentrator}}, seconds(3600), kSilenceAfter,
                  time.clock);
  m.observe(device({peer(kConcentrator, 0, 1000, 1000)}));
  std::uint64_t tx = 1000;
  for (std::int64_t t = 5; t <= 600; t += 5) {
    tx += 148;
    if (t % 25 == 0) tx += 32;
    time.at(t);
    EXPECT_EQ(actions(m.observe(device({peer(kConcentrator, 0, 1000, tx)}))), Actions{})
        << "t=" << t << " tx=" << tx;
  }
  EXPECT_FALSE(m.peers().at(kConcentrator).interrupted);
}

TEST(TunnelMonitor, SettingTheWallClockIsNotSilence) {
  // The date is set an hour forward (NTP after a cold start without RTC) between two polls 5 s
  // apart: the peer has been silent for 5 s, not an hour.
  Watch w;
  ASSERT_EQ(actions(w.at(0, device({peer(kConcentrator, 0, 1000, 1000)}))), Actions{"up"});
  w.time.clock.set_system(Clock::from_time_t(kT0 + 3600));
  EXPECT_EQ(actions(w.at(5, device({peer(kConcentrator, 0, 1000, 60000)}))), Actions{});
  EXPECT_FALSE(w.monitor.peers().at(kConcentrator).interrupted);
}

TEST(TunnelMonitor, UpRecoveredAfterInterrupted) {
  Watch w;
  w.at(0, device({peer(kConcentrator, 0, 1000, 1000)}));
  ASSERT_EQ(actions(w.at(35, device({peer(kConcentrator, 0, 1000, 60000)}))),
            Actions{"interrupted"});
  // A fresh handshake alone is not recovery: the peer must carry traffic again.
  EXPECT_EQ(actions(w.at(40, device({peer(kConcentrator, 38, 1000, 61000)}))), Actions{});
  const auto events = w.at(45, device({peer(kConcentrator, 38, 5000, 62000)}));
  ASSERT_EQ(actions(events), Actions{"up"});
  EXPECT_EQ(flag(events[0], "recovered"), true);
  EXPECT_FALSE(w.monitor.peers().at(kConcentrator).interrupted);
  // And a second interruption is reported again.
  ASSERT_EQ(actions(w.at(90, device({peer(kConcentrator, 38, 5000, 100000)}))),
            Actions{"interrupted"});
}

TEST(TunnelMonitor, InterruptedThenStaleThenRecovered) {
  Watch w;
  w.at(0, device({peer(kConcentrator, 0, 1000, 1000)}));
  ASSERT_EQ(actions(w.at(35, device({peer(kConcentrator, 0, 1000, 60000)}))),
            Actions{"interrupted"});
  ASSERT_EQ(actions(w.at(200, device({peer(kConcentrator, 0, 1000, 70000)}))), Actions{});
  ASSERT_EQ(actions(w.at(205, device({peer(kConcentrator, 0, 1000, 71000)}))), Actions{"stale"});
  const auto events = w.at(260, device({peer(kConcentrator, 259, 2000, 72000)}));
  ASSERT_EQ(actions(events), Actions{"up"});
  EXPECT_EQ(flag(events[0], "recovered"), true);
  const auto& h = w.monitor.peers().at(kConcentrator);
  EXPECT_TRUE(h.up);
  EXPECT_FALSE(h.stale);
  EXPECT_FALSE(h.interrupted);
}

TEST(TunnelMonitor, EndpointChanged) {
  Watch w;
  w.at(0, device({peer(kConcentrator, 0, 1, 1, "192.0.2.10:51820")}));
  EXPECT_EQ(actions(w.at(5, device({peer(kConcentrator, 0, 1, 1, "192.0.2.10:51820")}))),
            Actions{});
  auto events = w.at(10, device({peer(kConcentrator, 0, 1, 1, "198.51.100.4:40000")}));
  ASSERT_EQ(actions(events), Actions{"endpoint-changed"});
  EXPECT_EQ(text(events[0], "previous_endpoint"), "192.0.2.10:51820");
  EXPECT_EQ(text(events[0], "endpoint"), "198.51.100.4:40000");
  EXPECT_EQ(text(events[0], "peer"), "concentrator");
  events = w.at(15, device({peer(kConcentrator, 0, 1, 1, "[2001:db8::7]:51821")}));
  ASSERT_EQ(actions(events), Actions{"endpoint-changed"});
  EXPECT_EQ(text(events[0], "previous_endpoint"), "198.51.100.4:40000");
  EXPECT_EQ(text(events[0], "endpoint"), "[2001:db8::7]:51821");
  EXPECT_EQ(w.monitor.peers().at(kConcentrator).endpoint_changes, 2u);
}

TEST(TunnelMonitor, AnEndpointLearnedForTheFirstTimeIsNotAChange) {
  Watch w;
  w.at(0, device({peer(kConcentrator, kNever, 0, 0, nullptr)}));
  const auto events = w.at(5, device({peer(kConcentrator, 4, 92, 148, "192.0.2.10:51820")}));
  EXPECT_EQ(actions(events), Actions{"up"});
}

TEST(TunnelMonitor, AnUnconfiguredPeerIsAnAlertEvenAtTheFirstLook) {
  Watch w;
  auto events = w.at(0, device({peer(kConcentrator, kNever, 0, 0), peer(kStranger, kNever, 0, 0)}));
  ASSERT_EQ(actions(events), Actions{"peer-added"});
  EXPECT_EQ(events[0].severity, audit::Severity::kAlert);
  EXPECT_EQ(events[0].outcome, audit::Outcome::kWarning);
  EXPECT_EQ(flag(events[0], "configured"), false);
  EXPECT_EQ(text(events[0], "public_key"), to_base64(kStranger));
  EXPECT_EQ(text(events[0], "peer"), to_base64(kStranger));  // no name: named by its key
}

TEST(TunnelMonitor, AConfiguredPeerAddedLaterIsANotice) {
  Watch w({{"concentrator", kConcentrator}, {"backup", kBackup}});
  EXPECT_EQ(
      actions(w.at(0, device({peer(kConcentrator, kNever, 0, 0), peer(kBackup, kNever, 0, 0)}))),
      Actions{})
      << "configured peers present at start are not news";
  ASSERT_EQ(actions(w.at(5, device({peer(kConcentrator, kNever, 0, 0)}))), Actions{"peer-removed"});
  const auto events =
      w.at(10, device({peer(kConcentrator, kNever, 0, 0), peer(kBackup, kNever, 0, 0)}));
  ASSERT_EQ(actions(events), Actions{"peer-added"});
  EXPECT_EQ(events[0].severity, audit::Severity::kNotice);
  EXPECT_EQ(flag(events[0], "configured"), true);
  EXPECT_EQ(text(events[0], "peer"), "backup");
}

TEST(TunnelMonitor, PeerRemoved) {
  Watch w({{"concentrator", kConcentrator}, {"backup", kBackup}});
  // A configured peer missing at the first look is reported once.
  auto events = w.at(0, device({peer(kConcentrator, kNever, 0, 0)}));
  ASSERT_EQ(actions(events), Actions{"peer-removed"});
  EXPECT_EQ(text(events[0], "peer"), "backup");
  EXPECT_EQ(text(events[0], "public_key"), to_base64(kBackup));
  EXPECT_EQ(actions(w.at(5, device({peer(kConcentrator, kNever, 0, 0)}))), Actions{});
  // One that was there and went away (someone ran `wg set wg0 peer ... remove`).
  events = w.at(10, device({}));
  ASSERT_EQ(actions(events), Actions{"peer-removed"});
  EXPECT_EQ(text(events[0], "peer"), "concentrator");
  EXPECT_EQ(events[0].severity, audit::Severity::kWarning);
  EXPECT_EQ(w.monitor.peers().count(kConcentrator), 0u);
  EXPECT_EQ(actions(w.at(15, device({}))), Actions{});
}

TEST(TunnelMonitor, KeyRotatedWhenWardgateSetTheNewKey) {
  Watch w;
  w.monitor.expect_own_key(kOwnA);
  EXPECT_EQ(actions(w.at(0, device({}, kOwnA))), Actions{"peer-removed"});
  w.monitor.expect_own_key(kOwnB);  // `wardgate tunnel rotate-key`
  auto events = w.at(5, device({}, kOwnB));
  ASSERT_EQ(actions(events), Actions{"key-rotated"});
  EXPECT_EQ(events[0].severity, audit::Severity::kNotice);
  EXPECT_EQ(text(events[0], "previous_public_key"), to_base64(kOwnA));
  EXPECT_EQ(text(events[0], "public_key"), to_base64(kOwnB));
  EXPECT_EQ(actions(w.at(10, device({}, kOwnB))), Actions{});
  // Someone else changes it afterwards: not ours.
  events = w.at(15, device({}, kOwnC));
  ASSERT_EQ(actions(events), Actions{"key-changed"});
  EXPECT_EQ(events[0].severity, audit::Severity::kAlert);
  EXPECT_EQ(events[0].outcome, audit::Outcome::kWarning);
  EXPECT_EQ(text(events[0], "previous_public_key"), to_base64(kOwnB));
  EXPECT_EQ(text(events[0], "public_key"), to_base64(kOwnC));
}

TEST(TunnelMonitor, KeyChangedWithoutAnExpectedKey) {
  Watch w(std::vector<ExpectedPeer>{});
  w.at(0, device({}, kOwnA));
  EXPECT_EQ(actions(w.at(5, device({}, kOwnB))), Actions{"key-changed"});
  // A snapshot without a private key (daemon restarting) is not a change either way.
  EXPECT_EQ(actions(w.at(10, device({}, std::nullopt))), Actions{});
  EXPECT_EQ(actions(w.at(15, device({}, kOwnB))), Actions{});
}

TEST(TunnelMonitor, BackendEvents) {
  Watch w;
  w.time.at(7);
  const auto failed = w.monitor.backend_event("backend-failed", "uapi", "wireguard-go exited 2");
  EXPECT_EQ(failed.action, "backend-failed");
  EXPECT_EQ(failed.outcome, audit::Outcome::kFailure);
  EXPECT_EQ(failed.severity, audit::Severity::kAlert);
  EXPECT_EQ(text(failed, "backend"), "uapi");
  EXPECT_EQ(text(failed, "detail"), "wireguard-go exited 2");
  EXPECT_EQ(failed.time, Clock::from_time_t(kT0 + 7));
  const auto recovered = w.monitor.backend_event("backend-recovered", "uapi", "");
  EXPECT_EQ(recovered.outcome, audit::Outcome::kSuccess);
  EXPECT_EQ(recovered.severity, audit::Severity::kNotice);
  EXPECT_EQ(recovered.fields.find("detail"), nullptr);
}

TEST(TunnelMonitor, APeerAddedLaterHasStaleAfterToCompleteItsFirstHandshake) {
  // The backup peer joins the interface an hour after the monitor started (configuration
  // reload, or the backend restarted and configured it again). It is stale only if it has not
  // completed a handshake stale_after after it appeared, not after the monitor started.
  Watch w({{"concentrator", kConcentrator}, {"backup", kBackup}});
  ASSERT_EQ(actions(w.at(0, device({peer(kConcentrator, 0, 1, 1)}))),
            (Actions{"peer-removed", "up"}));
  ASSERT_EQ(
      actions(w.at(3600, device({peer(kConcentrator, 3599, 1, 1), peer(kBackup, kNever, 0, 148)}))),
      Actions{"peer-added"});
  EXPECT_EQ(
      actions(w.at(3605, device({peer(kConcentrator, 3599, 1, 1), peer(kBackup, kNever, 0, 296)}))),
      Actions{})
      << "5 s after it appeared, a peer is not stale";
  EXPECT_EQ(actions(w.at(3780, device({peer(kConcentrator, 3599, 1, 1),
                                       peer(kBackup, kNever, 0, 148 * 37)}))),
            Actions{});
  EXPECT_EQ(actions(w.at(3785, device({peer(kConcentrator, 3599, 1, 1),
                                       peer(kBackup, kNever, 0, 148 * 38)}))),
            Actions{});
  const auto events =
      w.at(3790, device({peer(kConcentrator, 3599, 1, 1), peer(kBackup, kNever, 0, 148 * 39)}));
  ASSERT_EQ(actions(events), Actions{"stale"});
  EXPECT_EQ(text(events[0], "peer"), "backup");
}

TEST(TunnelMonitor, CountersResetByABackendRestartDoNotHideRecovery) {
  // wireguard-go was restarted between two polls: the peer is configured again at once, its
  // counters start from zero. The peer answering again must still count as recovery.
  Watch w;
  w.at(0, device({peer(kConcentrator, 0, 1'000'000, 1'000'000)}));
  ASSERT_EQ(actions(w.at(35, device({peer(kConcentrator, 0, 1'000'000, 1'060'000)}))),
            Actions{"interrupted"});
  const auto events = w.at(40, device({peer(kConcentrator, 39, 92, 148)}));
  ASSERT_EQ(actions(events), Actions{"up"});
  EXPECT_EQ(flag(events[0], "recovered"), true);
  // From the new counters on, a new interruption is measured against the new baseline.
  EXPECT_EQ(actions(w.at(60, device({peer(kConcentrator, 39, 5000, 6000)}))), Actions{});
  EXPECT_EQ(actions(w.at(100, device({peer(kConcentrator, 39, 5000, 6000 + 10000)}))),
            Actions{"interrupted"});
}

}  // namespace
}  // namespace wardgate::tunnel
