#include "tunnel/uapi_codec.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tunnel/key.h"

namespace wardgate::tunnel {
namespace {

std::string data_file(const std::string& name) {
  std::ifstream in(std::string(WARDGATE_SOURCE_DIR) + "/tests/unit/tunnel/data/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Key b64(const char* text) {
  const auto k = key_from_base64(text);
  if (!k) throw std::runtime_error(std::string("bad test key ") + text);
  return *k;
}

// Keys from `wg genkey | tee priv | wg pubkey` and `wg genpsk` (see key_test.cpp).
constexpr const char* kPeer1 = "mHanYiGvpDqWDCVyifzSB8GnV2xJVYYLfpu2mQVY0Hw=";
constexpr const char* kPeer2 = "+dqTApupfaG3VREDezLV87YOGbpLhdDeec7XHe/DtCY=";
constexpr const char* kPeer3 = "GWtFPhirveeUXSMkNkBo/mND/Gjn9/XL7+hGIecBk0A=";
constexpr const char* kPsk = "U9pQ/0U/TNfD+EL1GsCDVhVbx4EL8BjO9ntZFVm9t5U=";
// The test private key (bytes 01..20) as wireguard-go stores it, clamped; its public key is
// what `wg show` printed for the device (B6N8...).
constexpr const char* kDevicePrivate = "AAIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eH2A=";
constexpr const char* kDevicePublic = "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9/AsrhtHHw=";

IpPrefix prefix(const char* text) { return *IpPrefix::parse(text); }
Endpoint endpoint(const char* text) { return *Endpoint::parse(text); }

// Every field of the set request, per wireguard.com/xplatform: device keys first, then per peer
// public_key opening the peer, replace_allowed_ips before its allowed_ip lines. This exact text
// was sent to wireguard-go 0.0.20230223 (Debian 12) on a throwaway interface and answered
// "errno=0"; `wg show` then listed peer 1 with its psk, endpoint, keepalive and both prefixes,
// peer 3 removed and peer 2 absent (replace_peers removed it, so update_only did not add it).
constexpr const char* kGoldenSet =
    "set=1\n"
    "private_key=0002030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f60\n"
    "listen_port=51820\n"
    "fwmark=4660\n"
    "replace_peers=true\n"
    "public_key=9876a76221afa43a960c257289fcd207c1a7576c4955860b7e9bb6990558d07c\n"
    "preshared_key=53da50ff453f4cd7c3f842f51ac08356155bc7810bf018cef67b591559bdb795\n"
    "endpoint=192.0.2.10:51820\n"
    "persistent_keepalive_interval=25\n"
    "replace_allowed_ips=true\n"
    "allowed_ip=10.20.0.0/16\n"
    "allowed_ip=fd00:20::/64\n"
    "public_key=f9da93029ba97da1b75511037b32d5f3b60e19ba4b85d0de79ced71defc3b426\n"
    "update_only=true\n"
    "endpoint=[2001:db8::7]:51821\n"
    "replace_allowed_ips=true\n"
    "allowed_ip=10.30.0.0/24\n"
    "public_key=196b453e18abbde7945d2324364068fe6343fc68e7f7f5cbefe84621e7019340\n"
    "remove=true\n"
    "\n";

TEST(UapiSet, EncodesEveryFieldAsTheProtocolSpecifies) {
  DeviceConfig c;
  c.private_key = b64(kDevicePrivate);
  c.listen_port = 51820;
  c.fwmark = 0x1234;
  c.replace_peers = true;
  PeerConfig p1;
  p1.public_key = b64(kPeer1);
  p1.preshared_key = b64(kPsk);
  p1.endpoint = endpoint("192.0.2.10:51820");
  p1.persistent_keepalive_s = 25;
  p1.allowed_ips = {prefix("10.20.0.0/16"), prefix("fd00:20::/64")};
  PeerConfig p2;
  p2.public_key = b64(kPeer2);
  p2.update_only = true;
  p2.endpoint = endpoint("[2001:db8::7]:51821");
  p2.allowed_ips = {prefix("10.30.0.0/24")};
  PeerConfig p3;
  p3.public_key = b64(kPeer3);
  p3.remove = true;
  p3.endpoint = endpoint("192.0.2.99:1");  // ignored: a removed peer gets nothing else
  p3.allowed_ips = {prefix("10.0.0.0/8")};
  c.peers = {p1, p2, p3};
  EXPECT_EQ(encode_uapi_set(c), kGoldenSet);
}

TEST(UapiSet, AnEmptyConfigChangesNothing) {
  EXPECT_EQ(encode_uapi_set(DeviceConfig{}), "set=1\n\n");
}

TEST(UapiSet, ZeroValuesAreSentBecauseTheyTurnThingsOff) {
  // fwmark=0 removes the mark, keepalive 0 turns it off, an all-zero psk removes it: leaving
  // them out would keep the old setting on the device.
  DeviceConfig c;
  c.fwmark = 0;
  PeerConfig p;
  p.public_key = b64(kPeer1);
  p.preshared_key = Key{};
  p.persistent_keepalive_s = 0;
  p.replace_allowed_ips = false;  // add to the peer's prefixes instead of replacing them
  p.allowed_ips = {prefix("10.1.2.3")};
  c.peers = {p};
  EXPECT_EQ(encode_uapi_set(c),
            "set=1\n"
            "fwmark=0\n"
            "public_key=9876a76221afa43a960c257289fcd207c1a7576c4955860b7e9bb6990558d07c\n"
            "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
            "persistent_keepalive_interval=0\n"
            "allowed_ip=10.1.2.3/32\n"
            "\n");
}

TEST(UapiGet, DecodesARealWireguardGoReply) {
  // tests/unit/tunnel/data/wireguard-go-get-after-ping.txt: wireguard-go's answer to get=1 for
  // the device configured like kGoldenSet (without update_only/remove) by `wg set`, after a
  // ping into the tunnel made it send two handshake initiations (2 x 148 bytes) to peer 1.
  const std::string reply = data_file("wireguard-go-get-after-ping.txt");
  ASSERT_FALSE(reply.empty());
  ASSERT_TRUE(uapi_reply_complete(reply));
  DeviceState s;
  const UapiReply r = decode_uapi_get(reply, s);
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.errno_value, 0);
  ASSERT_TRUE(s.public_key);
  EXPECT_EQ(to_base64(*s.public_key), kDevicePublic);
  EXPECT_EQ(s.listen_port, 51820);
  EXPECT_EQ(s.fwmark, 0x1234u);
  ASSERT_EQ(s.peers.size(), 3u);

  const auto& a = s.peers[0];
  EXPECT_EQ(to_base64(a.public_key), kPeer1);
  EXPECT_TRUE(a.has_preshared_key);
  EXPECT_EQ(a.endpoint, endpoint("192.0.2.10:51820"));
  EXPECT_EQ(a.persistent_keepalive_s, 25);
  EXPECT_EQ(a.allowed_ips, (std::vector<IpPrefix>{prefix("10.20.0.0/16"), prefix("fd00:20::/64")}));
  EXPECT_EQ(a.tx_bytes, 296u);
  EXPECT_EQ(a.rx_bytes, 0u);
  EXPECT_EQ(a.last_handshake_s, 0);
  EXPECT_EQ(a.protocol_version, 1u);

  const auto& b = s.peers[1];
  EXPECT_EQ(to_base64(b.public_key), kPeer2);
  EXPECT_FALSE(b.has_preshared_key);  // wireguard-go sends an all-zero psk for "none"
  EXPECT_EQ(b.endpoint, endpoint("[2001:db8::7]:51821"));
  EXPECT_EQ(b.persistent_keepalive_s, 0);
  EXPECT_EQ(b.allowed_ips, std::vector<IpPrefix>{prefix("10.30.0.0/24")});

  const auto& c = s.peers[2];
  EXPECT_EQ(to_base64(c.public_key), kPeer3);
  EXPECT_FALSE(c.endpoint);
  EXPECT_TRUE(c.allowed_ips.empty());
}

TEST(UapiGet, HandshakeTimesAndLargeCounters) {
  DeviceState s;
  const auto r = decode_uapi_get(
      "public_key=9876a76221afa43a960c257289fcd207c1a7576c4955860b7e9bb6990558d07c\n"
      "last_handshake_time_sec=1795000000\nlast_handshake_time_nsec=123456789\n"
      "rx_bytes=18446744073709551615\ntx_bytes=92\nerrno=0\n\n",
      s);
  EXPECT_EQ(r.error, "");
  ASSERT_EQ(s.peers.size(), 1u);
  EXPECT_EQ(s.peers[0].last_handshake_s, 1795000000);
  EXPECT_EQ(s.peers[0].last_handshake_ns, 123456789);
  EXPECT_EQ(s.peers[0].rx_bytes, 18446744073709551615u);
  EXPECT_EQ(s.peers[0].tx_bytes, 92u);
  EXPECT_FALSE(s.public_key) << "no private_key line: no own key";
}

TEST(UapiGet, AnAllZeroPrivateKeyMeansNoKey) {
  DeviceState s;
  const auto r = decode_uapi_get("private_key=" + std::string(64, '0') + "\nerrno=0\n\n", s);
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(s.public_key);
}

TEST(UapiErrno, ARefusedSetGivesTheDaemonsErrno) {
  // wireguard-go's real answer to "set=1\nlisten_port=abc\n\n": a negative errno (-EINVAL).
  const auto refused = decode_uapi_errno(data_file("wireguard-go-set-einval.txt"));
  EXPECT_EQ(refused.error, "");
  EXPECT_TRUE(refused.complete);
  EXPECT_EQ(refused.errno_value, -22);
  const auto ok = decode_uapi_errno("errno=0\n\n");
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(ok.errno_value, 0);
  const auto positive = decode_uapi_errno("errno=1\n\n");
  EXPECT_EQ(positive.errno_value, 1);
}

TEST(UapiErrno, AReplyWithoutErrnoIsMalformed) {
  EXPECT_EQ(decode_uapi_errno("\n").error, "reply without errno");
  EXPECT_EQ(decode_uapi_errno("listen_port=1\n\n").error, "reply without errno");
  EXPECT_EQ(decode_uapi_errno("errno=x\n\n").error, "line 1: errno is not a number");
  EXPECT_EQ(decode_uapi_errno("errno=\n\n").error, "line 1: errno is not a number");
}

TEST(UapiGet, UnknownKeysAreSkippedAtDeviceAndPeerLevel) {
  // A newer daemon may add keys; status must stay readable.
  DeviceState s;
  const auto r = decode_uapi_get(
      "some_future_device_key=1\nlisten_port=7\n"
      "public_key=9876a76221afa43a960c257289fcd207c1a7576c4955860b7e9bb6990558d07c\n"
      "some_future_peer_key=x\nrx_bytes=5\nerrno=0\n\n",
      s);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(s.listen_port, 7);
  ASSERT_EQ(s.peers.size(), 1u);
  EXPECT_EQ(s.peers[0].rx_bytes, 5u);
}

// The error for `line` as the only line of an otherwise well-formed reply after one peer.
std::string error_for(const std::string& line) {
  DeviceState s;
  return decode_uapi_get(
             "public_key=9876a76221afa43a960c257289fcd207c1a7576c4955860b7e9bb6990558d07c\n" +
                 line + "\nerrno=0\n\n",
             s)
      .error;
}

TEST(UapiGet, MalformedLinesAreNamedByNumber) {
  EXPECT_EQ(error_for("no equals sign"), "line 2: not key=value");
  EXPECT_EQ(error_for("listen_port=65536"), "line 2: bad listen_port");
  EXPECT_EQ(error_for("listen_port=-1"), "line 2: bad listen_port");
  EXPECT_EQ(error_for("fwmark=0x10"), "line 2: bad fwmark");
  EXPECT_EQ(error_for("public_key=xyz"), "line 2: public_key is not 64 hex digits");
  EXPECT_EQ(error_for("private_key=" + std::string(63, 'a')),
            "line 2: private_key is not 64 hex digits");
  EXPECT_EQ(error_for("preshared_key=" + std::string(65, 'a')),
            "line 2: preshared_key is not 64 hex digits");
  EXPECT_EQ(error_for("endpoint=example.org:51820"), "line 2: bad endpoint");
  EXPECT_EQ(error_for("endpoint=192.0.2.1"), "line 2: bad endpoint");
  EXPECT_EQ(error_for("endpoint=[2001:db8::1]51820"), "line 2: bad endpoint");
  EXPECT_EQ(error_for("last_handshake_time_sec=soon"), "line 2: bad handshake time");
  EXPECT_EQ(error_for("last_handshake_time_nsec= 1"), "line 2: bad handshake time");
  EXPECT_EQ(error_for("rx_bytes=18446744073709551616"), "line 2: bad rx_bytes");
  EXPECT_EQ(error_for("tx_bytes=1.5"), "line 2: bad tx_bytes");
  EXPECT_EQ(error_for("persistent_keepalive_interval=65536"), "line 2: bad keepalive");
  EXPECT_EQ(error_for("allowed_ip=10.0.0.0/33"), "line 2: bad allowed_ip");
  EXPECT_EQ(error_for("allowed_ip=fd00::/129"), "line 2: bad allowed_ip");
  EXPECT_EQ(error_for("allowed_ip=10.0.0.0/"), "line 2: bad allowed_ip");
  EXPECT_EQ(error_for("protocol_version=one"), "line 2: bad protocol_version");
  DeviceState s;
  EXPECT_EQ(decode_uapi_get("rx_bytes=1\nerrno=0\n\n", s).error,
            "line 1: peer attribute \"rx_bytes\" before any public_key");
}

TEST(UapiGet, ALineLongerThanTheCapIsRefused) {
  const std::string key = "some_future_peer_key=";
  const std::string at_cap = key + std::string(kUapiMaxLineBytes - key.size(), 'x');
  ASSERT_EQ(at_cap.size(), kUapiMaxLineBytes);
  EXPECT_EQ(error_for(at_cap), "");
  EXPECT_EQ(error_for(at_cap + "x"), "line 2: longer than the cap");
}

TEST(UapiGet, MorePeersThanTheCapAreRefused) {
  std::string reply;
  for (std::size_t i = 0; i <= kUapiMaxPeers; ++i) {
    Key k{};
    k[0] = static_cast<std::uint8_t>(i);
    k[1] = static_cast<std::uint8_t>(i >> 8);
    k[2] = static_cast<std::uint8_t>(i >> 16);
    reply += "public_key=" + to_hex(k) + "\n";
  }
  reply += "errno=0\n\n";
  DeviceState s;
  const auto r = decode_uapi_get(reply, s);
  EXPECT_EQ(r.error, "line " + std::to_string(kUapiMaxPeers + 1) + ": more peers than the cap");
  EXPECT_EQ(s.peers.size(), kUapiMaxPeers);
}

TEST(UapiGet, AReplyLargerThanTheCapIsRefusedWhole) {
  const std::string reply(kUapiMaxReplyBytes + 1, '\n');
  DeviceState s;
  const auto r = decode_uapi_get(reply, s);
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.error, "reply larger than " + std::to_string(kUapiMaxReplyBytes) + " bytes");
}

TEST(UapiGet, ATruncatedReplyIsNeverTakenForAWholeOne) {
  // The backend reads until uapi_reply_complete(); whatever chunk boundary the socket gives,
  // only the whole reply is complete, and any shorter prefix decodes to an error.
  const std::string reply = data_file("wireguard-go-get-after-ping.txt");
  ASSERT_GT(reply.size(), 100u);
  for (std::size_t n = 0; n < reply.size(); ++n) {
    const std::string_view prefix(reply.data(), n);
    EXPECT_FALSE(uapi_reply_complete(prefix)) << n;
    DeviceState s;
    const auto r = decode_uapi_get(prefix, s);
    EXPECT_FALSE(r.complete) << n;
    EXPECT_NE(r.error, "") << n;
  }
  EXPECT_TRUE(uapi_reply_complete(reply));
  DeviceState s;
  EXPECT_EQ(decode_uapi_get("errno=0", s).error, "reply ends inside a line");
  EXPECT_EQ(decode_uapi_get("errno=0\n", s).error, "reply without its terminating empty line");
}

TEST(UapiGet, CompletenessOfShortBuffers) {
  EXPECT_FALSE(uapi_reply_complete(""));
  EXPECT_TRUE(uapi_reply_complete("\n"));  // an empty reply is a whole (malformed) one
  EXPECT_FALSE(uapi_reply_complete("errno=0\n"));
  EXPECT_TRUE(uapi_reply_complete("errno=0\n\n"));
  EXPECT_FALSE(uapi_reply_complete("errno=0\n\nx"));
}

}  // namespace
}  // namespace wardgate::tunnel
