#include "tunnel/wg_quick.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "tunnel/key.h"
#include "tunnel/tunnel_config_reader.h"

namespace wardgate::tunnel {
namespace {

// Keys from `wg genkey`, `wg pubkey` and `wg genpsk` (see key_test.cpp).
constexpr const char* kPrivate = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
constexpr const char* kPeer1 = "mHanYiGvpDqWDCVyifzSB8GnV2xJVYYLfpu2mQVY0Hw=";
constexpr const char* kPeer2 = "+dqTApupfaG3VREDezLV87YOGbpLhdDeec7XHe/DtCY=";
constexpr const char* kPsk = "U9pQ/0U/TNfD+EL1GsCDVhVbx4EL8BjO9ntZFVm9t5U=";

Key b64(const char* text) { return *key_from_base64(text); }
IpPrefix prefix(const char* text) { return *IpPrefix::parse(text); }
std::vector<IpPrefix> prefixes(std::initializer_list<const char*> texts) {
  std::vector<IpPrefix> out;
  for (const char* t : texts) out.push_back(prefix(t));
  return out;
}

// What a concentrator's administrator typically sends: comments, wg-quick-only keys, a list
// with irregular spaces, an inline comment, mixed case.
const std::string kTypical = std::string(R"(# Exported by the hospital's concentrator for ward 7
[Interface]
PrivateKey = )") + kPrivate + R"(
Address = 10.99.0.2/24, fd99::2/64
ListenPort = 51820   # the default
MTU = 1420
DNS = 10.0.0.53
PostUp = iptables -A FORWARD -i %i -j ACCEPT

# concentrator
[Peer]
PublicKey = )" + kPeer1 + R"(
presharedkey = )" + kPsk + R"(
Endpoint = 192.0.2.10:51820
AllowedIPs = 10.20.0.0/16 , fd00:20::/64,10.30.0.0/24
PersistentKeepalive = 25

[peer]
publickey=)" + kPeer2 + R"(
ENDPOINT = [2001:db8::7]:51821
SaveConfig = true
)";

TEST(WgQuick, ParsesATypicalFile) {
  const WgQuickFile f = parse_wg_quick(kTypical);
  EXPECT_EQ(f.private_key, b64(kPrivate));
  EXPECT_EQ(f.listen_port, 51820);
  EXPECT_EQ(f.mtu, 1420u);
  EXPECT_FALSE(f.fwmark);
  EXPECT_EQ(f.addresses, prefixes({"10.99.0.2/24", "fd99::2/64"}));
  ASSERT_EQ(f.peers.size(), 2u);
  EXPECT_EQ(f.peers[0].comment, "concentrator");
  EXPECT_EQ(f.peers[0].public_key, b64(kPeer1));
  EXPECT_EQ(f.peers[0].preshared_key, b64(kPsk));
  EXPECT_EQ(f.peers[0].endpoint, "192.0.2.10:51820");
  EXPECT_EQ(f.peers[0].persistent_keepalive_s, 25);
  EXPECT_EQ(f.peers[0].allowed_ips, prefixes({"10.20.0.0/16", "fd00:20::/64", "10.30.0.0/24"}));
  EXPECT_EQ(f.peers[1].comment, "");
  EXPECT_EQ(f.peers[1].public_key, b64(kPeer2));
  EXPECT_FALSE(f.peers[1].preshared_key);
  EXPECT_EQ(f.peers[1].endpoint, "[2001:db8::7]:51821");
  EXPECT_FALSE(f.peers[1].persistent_keepalive_s);
  EXPECT_TRUE(f.peers[1].allowed_ips.empty());
  // What wardgate does not apply is reported, so import can tell the operator.
  EXPECT_EQ(f.ignored, (std::vector<std::string>{"[Interface] DNS", "[Interface] PostUp",
                                                 "[Peer] SaveConfig"}));
}

TEST(WgQuick, OffMeansZeroForFwMarkAndKeepalive) {
  const auto f = parse_wg_quick(std::string("[Interface]\nFwMark = off\n[Peer]\nPublicKey = ") +
                                kPeer1 + "\nPersistentKeepalive = off\n");
  EXPECT_EQ(f.fwmark, 0u);
  EXPECT_EQ(f.peers[0].persistent_keepalive_s, 0);
}

std::string error_of(const std::string& text) {
  try {
    parse_wg_quick(text);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(WgQuick, ErrorsNameTheLine) {
  EXPECT_EQ(error_of("PrivateKey = x\n"), "line 1: privatekey outside a section");
  EXPECT_EQ(error_of("# c\n[Interface]\n[Intreface]\n"), "line 3: unknown section [Intreface]");
  EXPECT_EQ(error_of("[Interface]\n\nPrivateKey\n"), "line 3: expected Key = Value");
  EXPECT_EQ(error_of("[Interface]\nPrivateKey = AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA\n"),
            "line 2: not a base64 WireGuard key");
  EXPECT_EQ(error_of("[Interface]\nListenPort = 70000\n"),
            "line 2: \"70000\" is not a number in range");
  EXPECT_EQ(error_of("[Interface]\nMTU = 1420x\n"), "line 2: \"1420x\" is not a number in range");
  EXPECT_EQ(error_of("[Interface]\nAddress = 10.99.0.2/24, 10.99.0.300/24\n"),
            "line 2: bad address 10.99.0.300/24");
  EXPECT_EQ(error_of(std::string("[Peer]\nPublicKey = ") + kPeer1 + "\nAllowedIPs = 10.0.0.0/40\n"),
            "line 3: bad allowed IP 10.0.0.0/40");
  EXPECT_EQ(error_of(std::string("[Peer]\nPublicKey = ") + kPeer1 + "\nPresharedKey = short\n"),
            "line 3: not a base64 WireGuard key");
  EXPECT_EQ(error_of(std::string("[Peer]\nPublicKey = ") + kPeer1 + "\n[Peer]\nEndpoint = a:1\n"),
            "[Peer] 2 has no PublicKey");
}

TEST(WgQuick, WriteThenParseGivesTheSameFile) {
  const WgQuickFile f = parse_wg_quick(kTypical);
  const std::string text = write_wg_quick(f);
  const WgQuickFile g = parse_wg_quick(text);
  EXPECT_EQ(g.private_key, f.private_key);
  EXPECT_EQ(g.listen_port, f.listen_port);
  EXPECT_EQ(g.mtu, f.mtu);
  EXPECT_EQ(g.addresses, f.addresses);
  ASSERT_EQ(g.peers.size(), f.peers.size());
  for (std::size_t i = 0; i < f.peers.size(); ++i) {
    EXPECT_EQ(g.peers[i].public_key, f.peers[i].public_key);
    EXPECT_EQ(g.peers[i].preshared_key, f.peers[i].preshared_key);
    EXPECT_EQ(g.peers[i].endpoint, f.peers[i].endpoint);
    EXPECT_EQ(g.peers[i].persistent_keepalive_s, f.peers[i].persistent_keepalive_s);
    EXPECT_EQ(g.peers[i].allowed_ips, f.peers[i].allowed_ips);
    EXPECT_EQ(g.peers[i].comment, f.peers[i].comment);
  }
  EXPECT_TRUE(g.ignored.empty()) << "DNS, PostUp etc. are not exported";
  EXPECT_EQ(write_wg_quick(g), text);
}

TunnelConfig appliance_config() {
  TunnelConfig c;
  c.addresses = prefixes({"10.99.0.2/24", "fd99::2/64"});
  c.advertised_networks = prefixes({"10.50.0.0/24"});
  c.listen_port = 51820;
  c.mtu = 1380;
  TunnelPeerConfig p;
  p.name = "concentrator";
  p.public_key = b64(kPeer1);
  p.endpoint = Endpoint::parse("192.0.2.10:51820");
  p.persistent_keepalive_s = 25;
  p.allowed_ips = prefixes({"10.20.0.0/16"});
  c.peers = {p};
  return c;
}

TEST(WgQuick, AppliancePeerBlockIsWhatTheConcentratorPastes) {
  // The appliance's addresses become host routes (the concentrator routes only that address
  // to us, not our whole tunnel subnet), then the device networks we advertise. This exact text
  // was accepted by `wg addconf` (wireguard-tools v1.0.20210914) on a wireguard-go interface,
  // which then listed the three prefixes for the peer.
  const auto pub = b64(kPeer2);
  EXPECT_EQ(appliance_peer_block(appliance_config(), pub, b64(kPsk), "ward-7"),
            std::string("# wardgate appliance ward-7\n"
                        "[Peer]\n"
                        "PublicKey = +dqTApupfaG3VREDezLV87YOGbpLhdDeec7XHe/DtCY=\n"
                        "PresharedKey = U9pQ/0U/TNfD+EL1GsCDVhVbx4EL8BjO9ntZFVm9t5U=\n"
                        "AllowedIPs = 10.99.0.2/32, fd99::2/128, 10.50.0.0/24\n"));
  // Without a preshared key there is no PresharedKey line (an empty one would be an error).
  const std::string no_psk = appliance_peer_block(appliance_config(), pub, std::nullopt, "w");
  EXPECT_EQ(no_psk.find("PresharedKey"), std::string::npos);
  // And it is a valid wg-quick [Peer] block for our own parser too.
  const auto parsed = parse_wg_quick(no_psk);
  ASSERT_EQ(parsed.peers.size(), 1u);
  EXPECT_EQ(parsed.peers[0].public_key, pub);
  EXPECT_EQ(parsed.peers[0].comment, "wardgate appliance w");
}

TEST(WgQuick, ApplianceSideExportsWithoutThePrivateKeyUnlessGiven) {
  const auto without = write_wg_quick(appliance_wg_quick(appliance_config(), std::nullopt));
  EXPECT_EQ(without.find("PrivateKey"), std::string::npos);
  const auto with =
      parse_wg_quick(write_wg_quick(appliance_wg_quick(appliance_config(), b64(kPrivate))));
  EXPECT_EQ(with.private_key, b64(kPrivate));
  EXPECT_EQ(with.listen_port, 51820);
  EXPECT_EQ(with.mtu, 1380u);
  EXPECT_EQ(with.addresses, prefixes({"10.99.0.2/24", "fd99::2/64"}));
  ASSERT_EQ(with.peers.size(), 1u);
  EXPECT_EQ(with.peers[0].comment, "concentrator");
  EXPECT_EQ(with.peers[0].endpoint, "192.0.2.10:51820");
  EXPECT_EQ(with.peers[0].persistent_keepalive_s, 25);
  EXPECT_EQ(with.peers[0].allowed_ips, prefixes({"10.20.0.0/16"}));
}

TEST(WgQuick, TunnelSectionJsonHasEveryImportedField) {
  const WgQuickFile f = parse_wg_quick(kTypical);
  const auto text = tunnel_section_json(f, "wg1", "/var/lib/wardgate/wg-private-key",
                                        {"/var/lib/wardgate/psk1", "/var/lib/wardgate/psk2"});
  const auto j = nlohmann::json::parse(text);
  const auto& t = j.at("tunnel");
  EXPECT_EQ(t.at("interface"), "wg1");
  EXPECT_EQ(t.at("private_key_file"), "/var/lib/wardgate/wg-private-key");
  EXPECT_EQ(t.at("listen_port"), 51820);
  EXPECT_EQ(t.at("mtu"), 1420);
  EXPECT_FALSE(t.contains("fwmark"));
  EXPECT_EQ(t.at("addresses"), nlohmann::json({"10.99.0.2/24", "fd99::2/64"}));
  ASSERT_EQ(t.at("peers").size(), 2u);
  const auto& p1 = t.at("peers")[0];
  EXPECT_EQ(p1.at("name"), "concentrator");
  EXPECT_EQ(p1.at("public_key"), kPeer1);
  EXPECT_EQ(p1.at("preshared_key_file"), "/var/lib/wardgate/psk1");
  EXPECT_EQ(p1.at("endpoint"), "192.0.2.10:51820");
  EXPECT_EQ(p1.at("persistent_keepalive_s"), 25);
  EXPECT_EQ(p1.at("allowed_ips"), nlohmann::json({"10.20.0.0/16", "fd00:20::/64", "10.30.0.0/24"}));
  const auto& p2 = t.at("peers")[1];
  EXPECT_EQ(p2.at("name"), "peer2");  // no comment: named by position
  EXPECT_FALSE(p2.contains("preshared_key_file")) << "peer 2 has no preshared key";
  EXPECT_EQ(p2.at("endpoint"), "[2001:db8::7]:51821");
  EXPECT_FALSE(p2.contains("persistent_keepalive_s"));
  // The private key itself never goes into the configuration.
  EXPECT_EQ(text.find(kPrivate), std::string::npos);
}

TEST(WgQuick, TunnelSectionJsonIsAcceptedByTheConfigReader) {
  // `wardgate tunnel import` prints a section the operator pastes into wardgate.json: it must
  // pass the same validation and describe the same tunnel.
  const WgQuickFile f = parse_wg_quick(kTypical);
  const auto j = nlohmann::json::parse(tunnel_section_json(
      f, "wg1", "/var/lib/wardgate/wg-private-key", {"/var/lib/wardgate/psk1", "/x/psk2"}));
  const auto c = tunnel::read_tunnel_section(&j.at("tunnel"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->interface, "wg1");
  EXPECT_EQ(c->listen_port, 51820);
  EXPECT_EQ(c->mtu, 1420u);
  EXPECT_EQ(c->addresses, f.addresses);
  ASSERT_EQ(c->peers.size(), 2u);
  EXPECT_EQ(c->peers[0].public_key, b64(kPeer1));
  EXPECT_EQ(c->peers[0].preshared_key_file, "/var/lib/wardgate/psk1");
  EXPECT_EQ(c->peers[0].endpoint, Endpoint::parse("192.0.2.10:51820"));
  EXPECT_EQ(c->peers[0].allowed_ips, f.peers[0].allowed_ips);
  EXPECT_EQ(c->peers[1].public_key, b64(kPeer2));
  // A file without PersistentKeepalive gets wardgate's default (25 s) rather than wg-quick's
  // (none): the appliance sits behind the hospital's NAT and must keep its mapping open.
  EXPECT_EQ(c->peers[1].persistent_keepalive_s, 25);
}

TEST(WgQuick, AnEndpointWithoutPortIsRefusedAtImport) {
  WgQuickFile f;
  f.peers.emplace_back().public_key = b64(kPeer1);
  f.peers[0].endpoint = "concentrator.example";
  EXPECT_THROW(tunnel_section_json(f, "wg0", "/k", {}), std::runtime_error);
}

}  // namespace
}  // namespace wardgate::tunnel
