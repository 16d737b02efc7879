#include "tunnel/key.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace wardgate::tunnel {
namespace {

void ensure_sodium() {
  // sodium_init is idempotent and thread-safe; it only fails without a random source.
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not initialise");
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace

Key generate_preshared_key() {
  ensure_sodium();
  Key key;
  randombytes_buf(key.data(), key.size());
  return key;
}

Key generate_private_key() {
  // Curve25519 clamping, as wg genkey does (curve25519_clamp_secret in wireguard-tools).
  Key key = generate_preshared_key();
  key[0] &= 248;
  key[31] = static_cast<std::uint8_t>((key[31] & 127) | 64);
  return key;
}

Key public_key_of(const Key& private_key) {
  ensure_sodium();
  Key pub;
  // crypto_scalarmult_base clamps internally, so an unclamped key gives wg pubkey's answer too.
  if (crypto_scalarmult_base(pub.data(), private_key.data()) != 0) pub.fill(0);
  return pub;
}

std::string to_base64(const Key& key) {
  ensure_sodium();
  std::array<char, sodium_base64_ENCODED_LEN(kKeyLength, sodium_base64_VARIANT_ORIGINAL)> out{};
  sodium_bin2base64(out.data(), out.size(), key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  return out.data();
}

std::optional<Key> key_from_base64(const std::string& text) {
  ensure_sodium();
  const std::string t = trim(text);
  if (t.size() != 44 || t[43] != '=') return std::nullopt;
  Key key;
  std::size_t length = 0;
  if (sodium_base642bin(key.data(), key.size(), t.data(), t.size(), nullptr, &length, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      length != kKeyLength)
    return std::nullopt;
  return key;
}

std::string to_hex(const Key& key) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (auto b : key) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::optional<Key> key_from_hex(const std::string& text) {
  if (text.size() != 64) return std::nullopt;
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Key key;
  for (std::size_t i = 0; i < kKeyLength; ++i) {
    const int hi = nibble(text[2 * i]);
    const int lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    key[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return key;
}

bool is_zero(const Key& key) { return sodium_is_zero(key.data(), key.size()) == 1; }

std::string read_key_file(const std::string& path, Key& key) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return path + ": " + std::strerror(errno);
  if ((st.st_mode & 077) != 0)
    return path + ": readable by group or others (mode " + [&] {
      std::ostringstream o;
      o << std::oct << (st.st_mode & 0777);
      return o.str();
    }() + "); chmod 600 it";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return path + ": unreadable";
  const auto parsed = key_from_base64(text.str());
  if (!parsed) return path + ": not a base64 WireGuard key (44 characters, as wg genkey writes)";
  key = *parsed;
  return {};
}

std::string write_key_file(const std::string& path, const Key& key) {
  const std::string tmp = path + ".tmp";
  // Always a new file: whatever is at the temporary path (a symlink or a hard link planted
  // there to have the key written elsewhere, or a file left by a crash) is unlinked, never
  // followed nor written through. A name that reappears in between makes the write fail.
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::open(tmp.c_str(), kFlags, 0600);
  if (fd < 0 && errno == EEXIST && ::unlink(tmp.c_str()) == 0)
    fd = ::open(tmp.c_str(), kFlags, 0600);
  if (fd < 0) return tmp + ": " + std::strerror(errno);
  const std::string line = to_base64(key) + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                  ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return path + ": " + std::strerror(ok ? errno : saved);
  }
  return {};
}

}  // namespace wardgate::tunnel
