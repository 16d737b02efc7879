// The `tunnel` section of wardgate.json, read by tunnel/tunnel_config_reader.h.
#include "tunnel/tunnel_config_reader.h"

#include <gtest/gtest.h>

#include "common/json_reader.h"
#include "tunnel/key.h"

namespace wardgate::tunnel {
namespace {

using common::ConfigError;

// Keys from `wg genkey | wg pubkey` (see tests/unit/tunnel/key_test.cpp).
const std::string kKey1 = "mHanYiGvpDqWDCVyifzSB8GnV2xJVYYLfpu2mQVY0Hw=";
const std::string kKey2 = "+dqTApupfaG3VREDezLV87YOGbpLhdDeec7XHe/DtCY=";

struct Read {
  std::optional<TunnelConfig> tunnel;
};

// `tunnel` as the value of the section in a document.
Read with_tunnel(const std::string& tunnel) {
  const auto doc = common::parse_json("{\"tunnel\": " + tunnel + "}", "test.json");
  return {read_tunnel_section(&doc.at("tunnel"))};
}

std::string error_of(const std::string& tunnel) {
  try {
    with_tunnel(tunnel);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string peer(const std::string& name, const std::string& key, const std::string& extra = "") {
  return R"({"name": ")" + name + R"(", "public_key": ")" + key + "\"" + extra + "}";
}

IpPrefix prefix(const char* text) { return *IpPrefix::parse(text); }

TEST(TunnelConfig, AbsentSectionMeansNoTunnel) { EXPECT_FALSE(read_tunnel_section(nullptr)); }

TEST(TunnelConfig, AnEmptySectionGetsTheDefaults) {
  const auto c = with_tunnel("{}");
  ASSERT_TRUE(c.tunnel);
  const auto& t = *c.tunnel;
  EXPECT_EQ(t.interface, "wg0");
  EXPECT_EQ(t.backend, BackendChoice::kAuto);
  EXPECT_EQ(t.private_key_file, "/var/lib/wardgate/wg-private-key");
  EXPECT_EQ(t.listen_port, 51820);
  EXPECT_EQ(t.fwmark, 0u);
  EXPECT_EQ(t.mtu, 1420u);
  EXPECT_TRUE(t.mss_clamp);
  EXPECT_TRUE(t.addresses.empty());
  EXPECT_FALSE(t.routes) << "absent routes: derived from the peers' allowed_ips";
  EXPECT_TRUE(t.peers.empty());
  EXPECT_EQ(t.uapi.wireguard_go, "/usr/bin/wireguard-go");
  EXPECT_TRUE(t.uapi.start);
  EXPECT_EQ(t.monitor.interval, std::chrono::seconds(5));
  EXPECT_EQ(t.monitor.stale_after, std::chrono::seconds(180));
  EXPECT_EQ(t.monitor.silence_after, std::chrono::seconds(30));
  EXPECT_TRUE(t.tuning.enabled);
}

TEST(TunnelConfig, EveryFieldIsRead) {
  const auto c = with_tunnel(R"({"interface": "wg-core", "backend": "uapi",
      "private_key_file": "/etc/wardgate/key", "listen_port": 51999, "fwmark": 4660,
      "addresses": ["10.99.0.2/24", "fd99::2/64"], "advertised_networks": ["10.50.0.0/24"],
      "routes": [], "mtu": 1380, "mss_clamp": false,
      "peers": [)" + peer("concentrator", kKey1, R"(, "preshared_key_file": "/etc/wardgate/psk",
                "endpoint": "[2001:db8::7]:51821", "persistent_keepalive_s": 0,
                "allowed_ips": ["10.20.0.0/16"])") +
                             R"(],
      "uapi": {"wireguard_go": "/opt/wg-go", "start": false, "socket_dir": "/run/wg",
               "restart_backoff_max_s": 60},
      "tuning": {"enabled": false, "udp_buffer_bytes": 65536, "txqueuelen": 500,
                 "offloads": false},
      "monitor": {"interval_s": 2, "stale_after_s": 300, "silence_after_s": 20}})");
  const auto& t = *c.tunnel;
  EXPECT_EQ(t.interface, "wg-core");
  EXPECT_EQ(t.backend, BackendChoice::kUapi);
  EXPECT_EQ(t.private_key_file, "/etc/wardgate/key");
  EXPECT_EQ(t.listen_port, 51999);
  EXPECT_EQ(t.fwmark, 4660u);
  EXPECT_EQ(t.addresses, (std::vector{prefix("10.99.0.2/24"), prefix("fd99::2/64")}));
  EXPECT_EQ(t.advertised_networks, std::vector{prefix("10.50.0.0/24")});
  ASSERT_TRUE(t.routes);
  EXPECT_TRUE(t.routes->empty()) << "an explicit empty list: no routes at all";
  EXPECT_EQ(t.mtu, 1380u);
  EXPECT_FALSE(t.mss_clamp);
  ASSERT_EQ(t.peers.size(), 1u);
  const auto& p = t.peers[0];
  EXPECT_EQ(p.name, "concentrator");
  EXPECT_EQ(to_base64(p.public_key), kKey1);
  EXPECT_EQ(p.preshared_key_file, "/etc/wardgate/psk");
  EXPECT_EQ(p.endpoint, Endpoint::parse("[2001:db8::7]:51821"));
  EXPECT_EQ(p.persistent_keepalive_s, 0);
  EXPECT_EQ(p.allowed_ips, std::vector{prefix("10.20.0.0/16")});
  EXPECT_EQ(t.uapi.wireguard_go, "/opt/wg-go");
  EXPECT_FALSE(t.uapi.start);
  EXPECT_EQ(t.uapi.socket_dir, "/run/wg");
  EXPECT_EQ(t.uapi.restart_backoff_max, std::chrono::seconds(60));
  EXPECT_FALSE(t.tuning.enabled);
  EXPECT_EQ(t.tuning.udp_buffer_bytes, 65536u);
  EXPECT_EQ(t.tuning.txqueuelen, 500u);
  EXPECT_FALSE(t.tuning.offloads);
  EXPECT_EQ(t.monitor.interval, std::chrono::seconds(2));
  EXPECT_EQ(t.monitor.stale_after, std::chrono::seconds(300));
  EXPECT_EQ(t.monitor.silence_after, std::chrono::seconds(20));
}

TEST(TunnelConfig, APeerGetsKeepaliveByDefault) {
  const auto c = with_tunnel(R"({"peers": [)" + peer("c", kKey1) + "]}");
  EXPECT_EQ(c.tunnel->peers[0].persistent_keepalive_s, 25);
  EXPECT_FALSE(c.tunnel->peers[0].endpoint);
  EXPECT_EQ(c.tunnel->peers[0].preshared_key_file, "");
}

// Each error names the key by its full path, so the operator finds it in a long file.
TEST(TunnelConfig, MtuIsANumberOrAuto) {
  EXPECT_FALSE(with_tunnel("{}").tunnel->mtu_auto);
  const auto fixed = with_tunnel(R"({"mtu": 8920})");
  EXPECT_EQ(fixed.tunnel->mtu, 8920u);
  EXPECT_FALSE(fixed.tunnel->mtu_auto);
  const auto automatic = with_tunnel(R"({"mtu": "auto"})");
  EXPECT_TRUE(automatic.tunnel->mtu_auto);
  EXPECT_EQ(automatic.tunnel->mtu, 1420u) << "the fallback when the path MTU cannot be told";
  EXPECT_NE(error_of(R"({"mtu": "jumbo"})")
                .find("tunnel.mtu: must be a number from 1280 to "
                      "65456 or \"auto\""),
            std::string::npos)
      << error_of(R"({"mtu": "jumbo"})");
  EXPECT_NE(error_of(R"({"mtu": 1000})").find("tunnel.mtu"), std::string::npos);
}

TEST(TunnelConfig, BadInterfaceNames) {
  EXPECT_EQ(error_of(R"({"interface": "wg0123456789abcd"})").rfind("tunnel.interface: ", 0), 0u)
      << "16 characters: longer than IFNAMSIZ - 1";
  EXPECT_EQ(error_of(R"({"interface": "wg012345678abcd"})"), "") << "15 characters are fine";
  EXPECT_EQ(error_of(R"({"interface": ""})").rfind("tunnel.interface: ", 0), 0u);
  EXPECT_EQ(error_of(R"({"interface": "wg 0"})").rfind("tunnel.interface: ", 0), 0u);
  EXPECT_EQ(error_of(R"({"interface": "wg/0"})").rfind("tunnel.interface: ", 0), 0u);
  EXPECT_EQ(error_of(R"({"interface": "wg:0"})").rfind("tunnel.interface: ", 0), 0u);
  EXPECT_EQ(error_of(R"({"interface": ".."})").rfind("tunnel.interface: ", 0), 0u);
  // Characters that would end a quoted name in the MSS-clamp nft script, or start a new command.
  for (const char* name : {R"(wg0\" oifname \"eth0)", R"(wg0\")", "wg0;", "wg{0}", "wg$0", "wg'0",
                           R"(wg\\0)", R"(wg0\n)"}) {
    EXPECT_EQ(
        error_of(std::string(R"({"interface": ")") + name + "\"}").rfind("tunnel.interface: ", 0),
        0u)
        << name;
  }
  EXPECT_EQ(error_of(R"({"interface": "wg-core_1.a"})"), "");
}

TEST(TunnelConfig, BadKeys) {
  const std::string error = error_of(R"({"peers": [)" + peer("c", "not-a-key") + "]}");
  EXPECT_EQ(error.rfind("tunnel.peers[0].public_key: ", 0), 0u) << error;
  EXPECT_NE(error.find("44 characters"), std::string::npos) << error;
  // The hex form of the UAPI is not what operators copy from `wg pubkey`.
  EXPECT_EQ(
      error_of(R"({"peers": [)" +
               peer("c", "9876a76221afa43a960c257289fcd207c1a7576c4955860b7e9bb6990558d07c") + "]}")
          .rfind("tunnel.peers[0].public_key: ", 0),
      0u);
  EXPECT_EQ(error_of(R"({"peers": [{"name": "c"}]})").rfind("tunnel.peers[0].public_key: ", 0), 0u);
  EXPECT_EQ(
      error_of(R"({"private_key_file": "relative/key"})").rfind("tunnel.private_key_file: ", 0),
      0u);
  EXPECT_EQ(error_of(R"({"peers": [)" + peer("c", kKey1, R"(, "preshared_key_file": "psk")") + "]}")
                .rfind("tunnel.peers[0].preshared_key_file: ", 0),
            0u);
}

TEST(TunnelConfig, BadEndpoints) {
  for (const char* e : {"concentrator.example:51820", "192.0.2.1", "192.0.2.1:0", "192.0.2.1:65536",
                        "[2001:db8::1]", "[192.0.2.1]:51820"}) {
    const std::string error = error_of(
        R"({"peers": [)" + peer("c", kKey1, R"(, "endpoint": ")" + std::string(e) + "\"") + "]}");
    EXPECT_EQ(error.rfind("tunnel.peers[0].endpoint: ", 0), 0u) << e << ": " << error;
  }
}

TEST(TunnelConfig, PeersAreUniqueByNameAndKey) {
  EXPECT_EQ(error_of(R"({"peers": [)" + peer("c", kKey1) + "," + peer("c", kKey2) + "]}"),
            "tunnel.peers[1].name: c is listed twice");
  EXPECT_EQ(error_of(R"({"peers": [)" + peer("a", kKey1) + "," + peer("b", kKey1) + "]}"),
            "tunnel.peers[1].public_key: the same key is already peer b");
}

TEST(TunnelConfig, BadPrefixes) {
  EXPECT_EQ(error_of(R"({"addresses": ["10.99.0.2/33"]})").rfind("tunnel.addresses[0]: ", 0), 0u);
  EXPECT_EQ(error_of(R"({"advertised_networks": ["10.50.0.0/24", "10.50.0.0/"]})")
                .rfind("tunnel.advertised_networks[1]: ", 0),
            0u);
  // A NUL cuts the text short for inet_pton; what follows it must not be silently dropped.
  EXPECT_EQ(
      error_of(R"({"addresses": ["10.99.0.2\u0000junk/24"]})").rfind("tunnel.addresses[0]: ", 0),
      0u);
  EXPECT_EQ(error_of(R"({"routes": "10.0.0.0/8"})").rfind("tunnel.routes: ", 0), 0u);
  EXPECT_EQ(error_of(R"({"peers": [)" + peer("c", kKey1, R"(, "allowed_ips": [8])") + "]}")
                .rfind("tunnel.peers[0].allowed_ips[0]: ", 0),
            0u);
}

TEST(TunnelConfig, BadNumbersAndChoices) {
  EXPECT_EQ(error_of(R"({"mtu": 1279})").rfind("tunnel.mtu: ", 0), 0u);
  EXPECT_EQ(error_of(R"({"listen_port": 65536})").rfind("tunnel.listen_port: ", 0), 0u);
  EXPECT_EQ(error_of(R"({"backend": "wireguard"})").rfind("tunnel.backend: ", 0), 0u);
  EXPECT_EQ(error_of(R"({"monitor": {"silence_after_s": 1}})")
                .rfind("tunnel.monitor.silence_after_s: ", 0),
            0u);
  EXPECT_EQ(error_of(R"({"uapi": {"wireguard_go": "wireguard-go"}})")
                .rfind("tunnel.uapi.wireguard_go: ", 0),
            0u);
}

TEST(TunnelConfig, UnknownKeysAreRejectedByTheirPath) {
  EXPECT_EQ(error_of(R"({"listenport": 1})"), "tunnel.listenport: unknown key");
  EXPECT_EQ(error_of(R"({"peers": [)" + peer("c", kKey1, R"(, "keepalive": 25)") + "]}"),
            "tunnel.peers[0].keepalive: unknown key");
  EXPECT_EQ(error_of(R"({"uapi": {"socket": "/x"}})"), "tunnel.uapi.socket: unknown key");
  EXPECT_EQ(error_of(R"({"tuning": {"gro": true}})"), "tunnel.tuning.gro: unknown key");
  EXPECT_EQ(error_of(R"({"monitor": {"stale_s": 5}})"), "tunnel.monitor.stale_s: unknown key");
}

TEST(TunnelConfig, APeerReReadComparesEqualUntilItChanges) {
  const std::string section = R"({"peers": [)" +
                              peer("core", kKey1, R"(, "allowed_ips": ["10.2.0.0/16"])") + ", " +
                              peer("backup", kKey2) + "]}";
  const auto first = with_tunnel(section).tunnel;
  const auto again = with_tunnel(section).tunnel;
  ASSERT_TRUE(first && again);
  EXPECT_EQ(*first, *again);
  const auto doc =
      common::parse_json(peer("core", kKey1, R"(, "allowed_ips": ["10.2.0.0/16"])"), "t");
  EXPECT_EQ(read_tunnel_peer(doc, "tunnel.peers[0]"), first->peers[0]);
  const auto moved =
      with_tunnel(R"({"peers": [)" + peer("core", kKey1, R"(, "allowed_ips": ["10.3.0.0/16"])") +
                  ", " + peer("backup", kKey2) + "]}")
          .tunnel;
  EXPECT_NE(moved->peers[0], first->peers[0]);
  EXPECT_EQ(moved->peers[1], first->peers[1]);
  EXPECT_NE(*moved, *first);
}

}  // namespace
}  // namespace wardgate::tunnel
