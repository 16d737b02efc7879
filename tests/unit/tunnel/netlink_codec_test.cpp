#include "tunnel/netlink_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <limits>
#include <stdexcept>

// Golden bytes are written out from the kernel UAPI layout, not from the codec: struct nlmsghdr
// (u32 len, u16 type, u16 flags, u32 seq, u32 pid), struct genlmsghdr (u8 cmd, u8 version, u16
// reserved), then struct nlattr (u16 len = 4 + payload, u16 type) with the payload padded to 4;
// nests carry NLA_F_NESTED (0x8000) as libmnl and therefore wg(8) set it. Numbers are
// little-endian (x86-64, arm64) except the port inside a sockaddr. The enum values are those of
// linux/wireguard.h, spelled as numbers here on purpose. The qemu test
// (tests/integration/test_tunnel_kernel.py) checks the same encoder against the real kernel and
// wg(8).

namespace wardgate::tunnel::wgnl {
namespace {

using B = std::vector<std::uint8_t>;

B cat(std::initializer_list<B> parts) {
  B out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
B pattern(std::uint8_t first, std::size_t n = 32) {
  B out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(first + i);
  return out;
}
Key key(std::uint8_t first) {
  Key k{};
  const B p = pattern(first);
  std::memcpy(k.data(), p.data(), k.size());
  return k;
}
IpPrefix prefix(const char* text) { return *IpPrefix::parse(text); }

DeviceConfig golden_config() {
  DeviceConfig config;
  config.private_key = key(0x01);
  config.listen_port = 51820;
  config.fwmark = 0x1234;
  config.replace_peers = true;
  PeerConfig a;
  a.public_key = key(0x40);
  a.preshared_key = key(0x80);
  a.endpoint = Endpoint::parse("192.0.2.1:51821");
  a.persistent_keepalive_s = 25;
  a.allowed_ips = {prefix("10.0.0.0/8"), prefix("fd00::/64")};
  PeerConfig b;
  b.public_key = key(0xc0);
  b.endpoint = Endpoint::parse("[2001:db8::1]:443");
  b.persistent_keepalive_s = 0;
  b.allowed_ips = {prefix("192.0.2.0/24")};
  config.peers = {a, b};
  return config;
}

TEST(NetlinkCodec, SetDeviceMatchesGoldenBytes) {
  const B expected = cat({
      // nlmsghdr: len 396 (0x018c), type 0x15 (family id), flags REQUEST|ACK, seq 7, pid 0
      {0x8c, 0x01, 0, 0, 0x15, 0, 0x05, 0, 7, 0, 0, 0, 0, 0, 0, 0},
      {1, 1, 0, 0},                    // genlmsghdr: WG_CMD_SET_DEVICE, version 1
      {8, 0, 2, 0, 'w', 'g', '0', 0},  // WGDEVICE_A_IFNAME "wg0\0"
      {36, 0, 3, 0},
      pattern(0x01),                   // WGDEVICE_A_PRIVATE_KEY
      {6, 0, 6, 0, 0x6c, 0xca, 0, 0},  // WGDEVICE_A_LISTEN_PORT 51820 = 0xca6c, padded
      {8, 0, 7, 0, 0x34, 0x12, 0, 0},  // WGDEVICE_A_FWMARK 0x1234
      {8, 0, 5, 0, 1, 0, 0, 0},        // WGDEVICE_A_FLAGS REPLACE_PEERS
      {0x34, 0x01, 8, 0x80},           // WGDEVICE_A_PEERS, len 4 + 184 + 120 = 308
      {184, 0, 0, 0x80},               // peer 0: 4+36+36+20+8+8+72
      {36, 0, 1, 0},
      pattern(0x40),  //   WGPEER_A_PUBLIC_KEY
      {36, 0, 2, 0},
      pattern(0x80),        //   WGPEER_A_PRESHARED_KEY
      {20,  0, 4,    0,     //   WGPEER_A_ENDPOINT, struct sockaddr_in:
       2,   0, 0xca, 0x6d,  //     AF_INET (host order), port 51821 big-endian
       192, 0, 2,    1,    0, 0, 0, 0, 0, 0, 0, 0},
      {6, 0, 5, 0, 25, 0, 0, 0},  //   WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL 25
      {8, 0, 3, 0, 2, 0, 0, 0},   //   WGPEER_A_FLAGS REPLACE_ALLOWEDIPS
      {72, 0, 9, 0x80},           //   WGPEER_A_ALLOWEDIPS: 4 + 28 + 40
      {28, 0, 0, 0x80},           //     allowed IP 0
      {6, 0, 1, 0, 2, 0, 0, 0},   //       WGALLOWEDIP_A_FAMILY AF_INET
      {8, 0, 2, 0, 10, 0, 0, 0},  //       WGALLOWEDIP_A_IPADDR 10.0.0.0
      {5, 0, 3, 0, 8, 0, 0, 0},   //       WGALLOWEDIP_A_CIDR_MASK 8
      {40, 0, 1, 0x80},           //     allowed IP 1
      {6, 0, 1, 0, 10, 0, 0, 0},  //       AF_INET6
      {20, 0, 2, 0, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},  // fd00::
      {5, 0, 3, 0, 64, 0, 0, 0},                                         //       /64
      {120, 0, 1, 0x80},  // peer 1: 4+36+32+8+8+32 (no preshared key)
      {36, 0, 1, 0},
      pattern(0xc0),                        //   WGPEER_A_PUBLIC_KEY
      {32,   0,    4,    0,                 //   WGPEER_A_ENDPOINT, struct sockaddr_in6:
       10,   0,    0x01, 0xbb, 0, 0, 0, 0,  //     AF_INET6, port 443, flowinfo 0
       0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,  // 2001:db8::1
       0,    0,    0,    0},                                        //     scope id 0
      {6, 0, 5, 0, 0, 0, 0, 0},                                     //   keepalive 0: turned off
      {8, 0, 3, 0, 2, 0, 0, 0},  //   WGPEER_A_FLAGS REPLACE_ALLOWEDIPS
      {32, 0, 9, 0x80},          //   WGPEER_A_ALLOWEDIPS: 4 + 28
      {28, 0, 0, 0x80},
      {6, 0, 1, 0, 2, 0, 0, 0},
      {8, 0, 2, 0, 192, 0, 2, 0},
      {5, 0, 3, 0, 24, 0, 0, 0},
  });
  ASSERT_EQ(expected.size(), 396u);
  const auto messages = encode_set_device("wg0", golden_config(), {0x15, 7});
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0], expected);
}

TEST(NetlinkCodec, SetDeviceWithNothingButFlagsOfAPeer) {
  DeviceConfig config;
  PeerConfig gone;
  gone.public_key = key(0x40);
  gone.remove = true;
  gone.replace_allowed_ips = false;
  config.peers = {gone};
  const B expected = cat({
      {80, 0, 0, 0, 0x15, 0, 0x05, 0, 1, 0, 0, 0, 0, 0, 0, 0},  // len 16+4+8+52
      {1, 1, 0, 0},
      {8, 0, 2, 0, 'w', 'g', '1', 0},
      {52, 0, 8, 0x80},  // WGDEVICE_A_PEERS: 4 + 48
      {48, 0, 0, 0x80},  // peer 0: 4 + 36 + 8
      {36, 0, 1, 0},
      pattern(0x40),
      {8, 0, 3, 0, 1, 0, 0, 0},  // WGPEER_A_FLAGS REMOVE_ME
  });
  EXPECT_EQ(encode_set_device("wg1", config, {0x15, 1}), std::vector<B>{expected});
}

TEST(NetlinkCodec, GetDeviceRequestMatchesGoldenBytes) {
  const B expected = cat({
      {28, 0, 0, 0, 0x15, 0, 0x01, 0x03, 9, 0, 0, 0, 0, 0, 0, 0},  // REQUEST|DUMP = 0x301
      {0, 1, 0, 0},                                                // WG_CMD_GET_DEVICE
      {8, 0, 2, 0, 'w', 'g', '0', 0},
  });
  EXPECT_EQ(encode_get_device("wg0", {0x15, 9}), expected);
}

TEST(NetlinkCodec, RefusesBadInterfaceNames) {
  EXPECT_THROW(encode_get_device("", {1, 1}), std::invalid_argument);
  EXPECT_THROW(encode_get_device("sixteen-chars-xx", {1, 1}), std::invalid_argument);
  EXPECT_THROW(encode_set_device("", DeviceConfig{}, {1, 1}), std::invalid_argument);
  EXPECT_NO_THROW(encode_get_device("fifteen-chars-x", {1, 1}));
}

// ---- an independent reader for the requests: walks attributes by their headers -----------------

struct Attr {
  std::uint16_t type;
  B payload;
};
std::vector<Attr> attrs(const B& block, std::size_t at = 0) {
  std::vector<Attr> out;
  while (at + 4 <= block.size()) {
    std::uint16_t len = 0;
    std::uint16_t type = 0;
    std::memcpy(&len, &block[at], 2);
    std::memcpy(&type, &block[at + 2], 2);
    EXPECT_GE(len, 4);
    EXPECT_LE(at + len, block.size());
    if (len < 4 || at + len > block.size()) break;
    out.push_back({static_cast<std::uint16_t>(type & 0x3fff),
                   B(block.begin() + at + 4, block.begin() + at + len)});
    at += (len + 3u) & ~3u;
  }
  EXPECT_EQ(at, block.size());
  return out;
}
const Attr* find(const std::vector<Attr>& list, std::uint16_t type) {
  for (const auto& a : list)
    if (a.type == type) return &a;
  return nullptr;
}
std::uint32_t u32(const B& b) {
  std::uint32_t v = 0;
  std::memcpy(&v, b.data(), 4);
  return v;
}

struct SentPeer {
  B key;
  std::uint32_t flags = 0;
  bool has_endpoint = false;
  std::size_t allowed_ips = 0;
};
// Every peer appearance of every message, in order, checking the device part as it goes.
std::vector<SentPeer> peers_of(const std::vector<B>& messages, std::uint32_t first_seq) {
  std::vector<SentPeer> out;
  for (std::size_t m = 0; m < messages.size(); ++m) {
    const B& msg = messages[m];
    EXPECT_LE(msg.size(), kDefaultMessageSize);
    EXPECT_EQ(u32(msg), msg.size());
    EXPECT_EQ(u32(B(msg.begin() + 8, msg.begin() + 12)), first_seq + m);
    const auto device = attrs(msg, 20);
    EXPECT_NE(find(device, 2), nullptr) << "every message names the interface";
    if (m > 0) {
      EXPECT_EQ(find(device, 3), nullptr) << "private key only in the first message";
      EXPECT_EQ(find(device, 5), nullptr) << "REPLACE_PEERS only in the first message";
    }
    const Attr* peers = find(device, 8);
    if (!peers) continue;
    for (const auto& p : attrs(peers->payload)) {
      const auto fields = attrs(p.payload);
      SentPeer sent;
      sent.key = find(fields, 1) ? find(fields, 1)->payload : B{};
      sent.flags = find(fields, 3) ? u32(find(fields, 3)->payload) : 0;
      sent.has_endpoint = find(fields, 4) != nullptr;
      if (const Attr* ips = find(fields, 9)) sent.allowed_ips = attrs(ips->payload).size();
      out.push_back(sent);
    }
  }
  return out;
}

TEST(NetlinkCodec, SplitsAThousandPeersAcrossMessages) {
  DeviceConfig config;
  config.private_key = key(1);
  config.replace_peers = true;
  for (int i = 0; i < 1000; ++i) {
    PeerConfig peer;
    peer.public_key = key(0);
    std::memcpy(peer.public_key.data(), &i, sizeof i);
    peer.endpoint = Endpoint::parse("192.0.2.1:51820");
    peer.allowed_ips = {prefix(("10.0." + std::to_string(i % 256) + ".0/24").c_str())};
    config.peers.push_back(peer);
  }
  const auto messages = encode_set_device("wg0", config, {0x15, 100});
  const auto first = attrs(messages[0], 20);
  EXPECT_NE(find(first, 3), nullptr);
  ASSERT_NE(find(first, 5), nullptr);
  EXPECT_EQ(u32(find(first, 5)->payload), 1u);  // REPLACE_PEERS
  // A peer here takes 4 + 36 + 20 + 8 + 32 = 100 bytes: about 40 per 4096-byte message.
  EXPECT_GE(messages.size(), 25u);
  EXPECT_LE(messages.size(), 30u);
  const auto sent = peers_of(messages, 100);
  ASSERT_EQ(sent.size(), 1000u) << "no peer cut in two: each fits whole";
  for (int i = 0; i < 1000; ++i) {
    int index = -1;
    std::memcpy(&index, sent[i].key.data(), sizeof index);
    EXPECT_EQ(index, i);
    EXPECT_EQ(sent[i].flags, 2u);  // REPLACE_ALLOWEDIPS with each peer's only appearance
    EXPECT_TRUE(sent[i].has_endpoint);
    EXPECT_EQ(sent[i].allowed_ips, 1u);
  }
}

TEST(NetlinkCodec, ContinuesAPeerWithManyAllowedIpsWithoutReplacingAgain) {
  DeviceConfig config;
  PeerConfig big;
  big.public_key = key(0x40);
  big.preshared_key = key(0x80);
  big.endpoint = Endpoint::parse("192.0.2.1:51820");
  big.update_only = true;
  for (int i = 0; i < 2000; ++i)
    big.allowed_ips.push_back(prefix(
        ("10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24").c_str()));
  PeerConfig small;
  small.public_key = key(0xc0);
  small.allowed_ips = {prefix("fd00::/64")};
  config.peers = {big, small};
  const auto messages = encode_set_device("wg0", config, {0x15, 1});
  ASSERT_GT(messages.size(), 10u);  // 2000 x 28 bytes of allowed IPs
  const auto sent = peers_of(messages, 1);
  // big's parts, one per message, then small (in big's last message when it fits there)
  ASSERT_GE(sent.size(), messages.size());
  ASSERT_LE(sent.size(), messages.size() + 1);
  std::size_t total = 0;
  for (std::size_t i = 0; i + 1 < sent.size(); ++i) {
    EXPECT_EQ(sent[i].key, pattern(0x40));
    // UPDATE_ONLY (4) goes with every part: a continuation must not create a peer either.
    EXPECT_EQ(sent[i].flags, i == 0 ? 2u | 4u : 4u) << "part " << i;
    EXPECT_EQ(sent[i].has_endpoint, i == 0);
    total += sent[i].allowed_ips;
  }
  EXPECT_EQ(total, 2000u);
  EXPECT_EQ(sent.back().key, pattern(0xc0));
  EXPECT_EQ(sent.back().flags, 2u);
}

TEST(NetlinkCodec, RefusesAMessageSizeThatCannotHoldAPeer) {
  DeviceConfig config;
  config.peers.resize(1);
  EXPECT_THROW(encode_set_device("wg0", config, {1, 1}, 48), std::invalid_argument);
  // Never a message that silently leaves a device attribute out.
  DeviceConfig keyed;
  keyed.private_key = key(1);
  EXPECT_THROW(encode_set_device("wg0", keyed, {1, 1}, 48), std::invalid_argument);
  EXPECT_EQ(encode_set_device("wg0", keyed, {1, 1}, 64).size(), 1u);  // 16 + 4 + 8 + 36
}

// ---- decoding a dump ----------------------------------------------------------------------------

B attr(std::uint16_t type, const B& payload) {
  B out(4);
  const auto len = static_cast<std::uint16_t>(4 + payload.size());
  std::memcpy(out.data(), &len, 2);
  std::memcpy(out.data() + 2, &type, 2);
  out.insert(out.end(), payload.begin(), payload.end());
  out.resize((out.size() + 3) & ~std::size_t{3}, 0);
  return out;
}
B nest(std::uint16_t type, std::initializer_list<B> children) {
  return attr(static_cast<std::uint16_t>(type | 0x8000), cat(children));
}
template <typename T>
B le(T value) {
  B out(sizeof value);
  std::memcpy(out.data(), &value, sizeof value);
  return out;
}
B message(std::uint16_t type, std::uint16_t flags, std::uint32_t seq, const B& payload) {
  return cat({le<std::uint32_t>(static_cast<std::uint32_t>(16 + payload.size())), le(type),
              le(flags), le(seq), le<std::uint32_t>(0), payload});
}
B dump_message(std::initializer_list<B> attributes) {
  return message(0x15, 0x2 /* NLM_F_MULTI */, 5, cat({{0, 1, 0, 0}, cat(attributes)}));
}
B allowed(std::uint16_t index, std::uint16_t family, const B& address, std::uint8_t cidr) {
  return nest(index, {attr(1, le(family)), attr(2, address), attr(3, le(cidr))});
}

// Decodes every message of the datagrams the way the kernel backend does.
std::string decode(const std::vector<B>& datagrams, DumpDecoder& decoder) {
  for (const auto& d : datagrams) {
    std::vector<Message> messages;
    if (auto error = split_messages(d, messages); !error.empty()) return error;
    for (const auto& m : messages) {
      auto error = m.type == 3 /* NLMSG_DONE */ ? decoder.finish(m) : decoder.add(m);
      if (!error.empty()) return error;
    }
  }
  return {};
}

TEST(NetlinkCodec, MergesADumpSpanningSeveralMessages) {
  const B sockaddr_in = {2, 0, 0xca, 0x6c, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  const B sockaddr_in6 = cat({{10, 0, 0x01, 0xbb, 0, 0, 0, 0},
                              {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                              {0, 0, 0, 0}});
  const B first = dump_message({
      attr(6, le<std::uint16_t>(51820)),
      attr(7, le<std::uint32_t>(0x1234)),
      attr(1, le<std::uint32_t>(4)),
      attr(2, {'w', 'g', '0', 0}),
      attr(3, pattern(0x01)),
      attr(4, pattern(0x20)),
      nest(8, {nest(0, {attr(1, pattern(0x40)), attr(2, pattern(0x80)), attr(4, sockaddr_in),
                        attr(5, le<std::uint16_t>(25)),
                        attr(6, cat({le<std::int64_t>(1700000000), le<std::int64_t>(123456789)})),
                        attr(7, le<std::uint64_t>(1ull << 33)), attr(8, le<std::uint64_t>(92)),
                        attr(10, le<std::uint32_t>(1)),
                        nest(9, {allowed(0, 2, {10, 0, 0, 0}, 8),
                                 allowed(1, 10, pattern(0xfd, 16), 64)})})}),
  });
  // The kernel goes on with the same peer (key and allowed IPs only), then the next peer.
  const B second = dump_message({
      nest(8, {nest(0, {attr(1, pattern(0x40)), nest(9, {allowed(0, 2, {192, 0, 2, 0}, 24)})}),
               nest(1, {attr(1, pattern(0xc0)), attr(2, B(32, 0)), attr(4, sockaddr_in6),
                        attr(5, le<std::uint16_t>(0)), attr(6, B(16, 0)),
                        attr(7, le<std::uint64_t>(0)), attr(8, le<std::uint64_t>(0)),
                        attr(10, le<std::uint32_t>(1))})}),
  });
  const B done = message(3, 0x2, 5, le<std::int32_t>(0));
  DumpDecoder decoder;
  ASSERT_EQ(decode({cat({first, second}), done}, decoder), "");
  ASSERT_TRUE(decoder.done());
  const DeviceState& s = decoder.state();
  EXPECT_EQ(s.interface, "wg0");
  EXPECT_EQ(s.listen_port, 51820);
  EXPECT_EQ(s.fwmark, 0x1234u);
  EXPECT_EQ(s.public_key, key(0x20));
  ASSERT_EQ(s.peers.size(), 2u);
  const PeerState& a = s.peers[0];
  EXPECT_EQ(a.public_key, key(0x40));
  EXPECT_TRUE(a.has_preshared_key);
  EXPECT_EQ(a.endpoint->to_string(), "192.0.2.1:51820");
  EXPECT_EQ(a.persistent_keepalive_s, 25);
  EXPECT_EQ(a.last_handshake_s, 1700000000);
  EXPECT_EQ(a.last_handshake_ns, 123456789);
  EXPECT_EQ(a.rx_bytes, 1ull << 33);
  EXPECT_EQ(a.tx_bytes, 92u);
  EXPECT_EQ(a.protocol_version, 1u);
  ASSERT_EQ(a.allowed_ips.size(), 3u);
  EXPECT_EQ(a.allowed_ips[0].to_string(), "10.0.0.0/8");
  EXPECT_EQ(a.allowed_ips[1].to_string(), "fdfe:ff00:102:304:506:708:90a:b0c/64");
  EXPECT_EQ(a.allowed_ips[2].to_string(), "192.0.2.0/24");
  const PeerState& b = s.peers[1];
  EXPECT_EQ(b.public_key, key(0xc0));
  EXPECT_FALSE(b.has_preshared_key);
  EXPECT_EQ(b.endpoint->to_string(), "[2001:db8::1]:443");
  EXPECT_EQ(b.last_handshake_s, 0);
  EXPECT_TRUE(b.allowed_ips.empty());
}

TEST(NetlinkCodec, ReportsTheErrorThatEndedADump) {
  DumpDecoder decoder;
  const auto error = decode({message(3, 0x2, 5, le<std::int32_t>(-19))}, decoder);
  EXPECT_EQ(error, "wireguard dump ended with an error: No such device");
}

TEST(NetlinkCodec, ParsesAcksAndErrorsWithTheirExtendedAckText) {
  const B request = message(0x15, 5, 3, {1, 1, 0, 0});
  std::vector<Message> messages;
  const B ack = message(2, 0x100 /* CAPPED */, 3, cat({le<std::int32_t>(0), request}));
  const B refused = message(2, 0x300 /* CAPPED | ACK_TLVS */, 3,
                            cat({le<std::int32_t>(-22), B(request.begin(), request.begin() + 16),
                                 attr(1, {'b', 'a', 'd', ' ', 'p', 'o', 'r', 't', 0})}));
  const B datagram = cat({ack, refused});  // the messages point into it
  ASSERT_EQ(split_messages(datagram, messages), "");
  ASSERT_EQ(messages.size(), 2u);
  int error = -1;
  std::string text;
  EXPECT_EQ(parse_error(messages[0], error, text), "");
  EXPECT_EQ(error, 0);
  EXPECT_EQ(parse_error(messages[1], error, text), "");
  EXPECT_EQ(error, 22);
  EXPECT_EQ(text, "bad port");
}

TEST(NetlinkCodec, MalformedEnvelopesGiveErrors) {
  std::vector<Message> messages;
  EXPECT_EQ(split_messages(B{1, 2, 3}, messages),
            "netlink: 3 trailing bytes, shorter than a message header");
  B long_header = message(0x15, 0, 1, B(16, 0));
  long_header[0] = 40;  // claims 40 bytes, the datagram holds 32
  EXPECT_EQ(split_messages(long_header, messages), "netlink: message length 40 with 32 bytes left");
  B short_header = message(0x15, 0, 1, {});
  short_header[0] = 8;
  EXPECT_EQ(split_messages(short_header, messages), "netlink: message length 8 with 16 bytes left");
  messages.clear();
  const B short_error = message(2, 0, 1, B(8, 0));
  ASSERT_EQ(split_messages(short_error, messages), "");
  int error = 0;
  std::string text;
  EXPECT_EQ(parse_error(messages[0], error, text), "netlink error message is 8 bytes, expected 20");
}

TEST(NetlinkCodec, ErrorCodesThatAreNoErrnoAreRefused) {
  // Found by netlink_dump_fuzz: a positive code became a negative "errno"; INT32_MIN would
  // overflow when negated. Only 0 and -1..-4095 are netlink's.
  const B request = message(0x15, 5, 3, {1, 1, 0, 0});
  for (const std::int32_t code : {22, std::numeric_limits<std::int32_t>::min(), -4096}) {
    const B datagram = message(2, 0x100 /* CAPPED */, 3, cat({le<std::int32_t>(code), request}));
    std::vector<Message> messages;
    ASSERT_EQ(split_messages(datagram, messages), "");
    int error = 0;
    std::string text;
    EXPECT_EQ(parse_error(messages[0], error, text),
              "netlink error message: " + std::to_string(code) + " is not 0 or a negative errno");
    EXPECT_EQ(error, 0) << "left as it was";
  }
  DumpDecoder decoder;
  EXPECT_EQ(decode({message(3, 0x2, 5, le<std::int32_t>(std::numeric_limits<std::int32_t>::min()))},
                   decoder),
            "wireguard dump ended with error code -2147483648");
}

// The first error of decoding one dump message made of these device attributes.
std::string decode_error(std::initializer_list<B> attributes) {
  DumpDecoder decoder;
  return decode({dump_message(attributes)}, decoder);
}

TEST(NetlinkCodec, MalformedAttributesGiveErrorsNotOverreads) {
  EXPECT_EQ(decode_error({attr(6, le<std::uint16_t>(1)), B{1, 0}}),
            "wireguard device: 2 trailing bytes, shorter than an attribute header");
  B past_end = attr(6, le<std::uint16_t>(1));
  past_end[0] = 100;  // length past the end of the message
  EXPECT_EQ(decode_error({past_end}),
            "wireguard device: attribute 6 has length 100 with 8 bytes left");
  EXPECT_EQ(decode_error({nest(8, {nest(0, {B{2, 0, 1, 0}})})}),
            "wireguard peer: attribute 1 has length 2 with 4 bytes left");
  EXPECT_EQ(decode_error({attr(7, le<std::uint16_t>(1))}), "fwmark is 2 bytes, expected 4");
  EXPECT_EQ(decode_error({nest(8, {nest(0, {attr(2, pattern(1))})})}),
            "wireguard peer without a public key");
  EXPECT_EQ(decode_error({nest(8, {nest(0, {attr(1, pattern(1, 31))})})}),
            "peer public key is 31 bytes, expected 32");
  EXPECT_EQ(decode_error({nest(8, {nest(0, {attr(1, pattern(1)), attr(4, B{2, 0, 0, 1, 1, 1})})})}),
            "peer endpoint: 6 bytes of address family 2 is neither sockaddr_in nor sockaddr_in6");
  // Found by netlink_dump_fuzz: a sockaddr_in with port 0 was shown as an endpoint.
  B port_zero(16, 0);
  port_zero[0] = 2;  // AF_INET, port 0, address 192.0.2.1
  port_zero[4] = 192;
  port_zero[6] = 2;
  port_zero[7] = 1;
  EXPECT_EQ(decode_error({nest(8, {nest(0, {attr(1, pattern(1)), attr(4, port_zero)})})}),
            "peer endpoint 192.0.2.1 with port 0");
  EXPECT_EQ(decode_error({nest(8, {nest(0, {attr(1, pattern(1)), attr(6, B(8, 0))})})}),
            "last handshake time is 8 bytes, expected 16");
  const auto with_ip = [](const B& allowed_ip) {
    return decode_error({nest(8, {nest(0, {attr(1, pattern(1)), nest(9, {allowed_ip})})})});
  };
  EXPECT_EQ(with_ip(nest(0, {attr(1, B{2}), attr(2, B(4, 0)), attr(3, B{8})})),
            "allowed IP family is 1 bytes, expected 2");
  EXPECT_EQ(with_ip(allowed(0, 2, B(16, 0), 8)), "allowed IP address is 16 bytes, expected 4");
  EXPECT_EQ(with_ip(allowed(0, 2, B(4, 0), 33)), "allowed IP 0.0.0.0 has cidr 33");
  EXPECT_EQ(with_ip(allowed(0, 7, B(4, 0), 8)),
            "allowed IP: address family 7 is neither IPv4 nor IPv6");
  EXPECT_EQ(with_ip(nest(0, {attr(1, le<std::uint16_t>(2)), attr(2, B(4, 0))})),
            "allowed IP 0.0.0.0 has no cidr mask");
  // A nested allowed IP whose own attribute is cut short.
  EXPECT_EQ(with_ip(nest(0, {B{6, 0, 1, 0}})),
            "allowed IP: attribute 1 has length 6 with 4 bytes left");
}

TEST(NetlinkCodec, DumpDecoderKeepsItsCaps) {
  DumpDecoder decoder;
  std::string error;
  for (std::size_t m = 0; error.empty() && m <= kMaxPeers / 1000 + 1; ++m) {
    B peers;
    for (std::uint32_t i = 0; i < 1000; ++i) {
      B pub = pattern(0);
      const auto n = static_cast<std::uint32_t>(m * 1000 + i);
      std::memcpy(pub.data(), &n, sizeof n);
      const B one = nest(static_cast<std::uint16_t>(i), {attr(1, pub)});
      peers.insert(peers.end(), one.begin(), one.end());
    }
    error = decode({dump_message({attr(static_cast<std::uint16_t>(8 | 0x8000), peers)})}, decoder);
  }
  EXPECT_EQ(error, "wireguard dump: more than 65536 peers");
  EXPECT_EQ(decoder.state().peers.size(), kMaxPeers);
}

TEST(NetlinkCodec, NothingIsAcceptedAfterTheEndOfADump) {
  DumpDecoder decoder;
  EXPECT_EQ(decode({message(3, 2, 5, le<std::int32_t>(0)), dump_message({})}, decoder),
            "wireguard dump: message after the end of the dump");
}

}  // namespace
}  // namespace wardgate::tunnel::wgnl
