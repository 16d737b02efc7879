// Fuzz target: the wg-quick file parser (tunnel/wg_quick.h) behind `wardgate tunnel import`,
// which reads files the concentrator's administrator sends.
//
// Input: the file's text.
// Oracle: parse_wg_quick either throws std::runtime_error (any other exception escapes and
// aborts) or returns; when it returns, writing the result with write_wg_quick and parsing that
// again gives the same keys, ports, addresses, peers, endpoints and allowed IPs (an export of
// an import must not change what the tunnel does). Crashes and sanitizer reports are findings.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "fuzz_check.h"
#include "tunnel/wg_quick.h"

namespace {

using namespace wardgate::tunnel;

using wardgate::fuzz::check;

// wg-quick treats "0"/"off" and an absent key alike for FwMark and PersistentKeepalive, and the
// writer omits them: compare what the kernel would get.
template <typename T>
T or_zero(const std::optional<T>& v) {
  return v.value_or(T{0});
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry point
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  WgQuickFile first;
  try {
    first = parse_wg_quick(text);
  } catch (const std::runtime_error&) {
    return 0;
  }
  const std::string written = write_wg_quick(first);
  WgQuickFile second;
  try {
    second = parse_wg_quick(written);
  } catch (const std::runtime_error& e) {
    std::fprintf(stderr, "--- written\n%s--- error\n%s\n", written.c_str(), e.what());
    check(false, "the writer's output does not parse");
  }
  check(first.private_key == second.private_key, "PrivateKey changed");
  check(first.listen_port == second.listen_port, "ListenPort changed");
  check(or_zero(first.fwmark) == or_zero(second.fwmark), "FwMark changed");
  check(first.mtu == second.mtu, "MTU changed");
  check(first.addresses == second.addresses, "Address changed");
  check(second.ignored.empty(), "the writer wrote a key the parser ignores");
  check(first.peers.size() == second.peers.size(), "number of peers changed");
  for (std::size_t i = 0; i < first.peers.size(); ++i) {
    const auto& a = first.peers[i];
    const auto& b = second.peers[i];
    check(a.public_key == b.public_key, "PublicKey changed");
    check(a.preshared_key == b.preshared_key, "PresharedKey changed");
    check(a.endpoint == b.endpoint, "Endpoint changed");
    check(or_zero(a.persistent_keepalive_s) == or_zero(b.persistent_keepalive_s),
          "PersistentKeepalive changed");
    check(a.allowed_ips == b.allowed_ips, "AllowedIPs changed");
    check(a.comment == b.comment, "the peer's name comment changed");
  }
  // The writer's output is a fixed point: writing the re-parsed file gives the same text.
  check(write_wg_quick(second) == written, "write(parse(write(x))) != write(x)");
  return 0;
}
