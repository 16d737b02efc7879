#include "tunnel/key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace wardgate::tunnel {
namespace {

// Pairs produced on 2026-11-22 with wireguard-tools v1.0.20210914 (Debian 12):
//   k=$(wg genkey); echo "$k $(echo $k | wg pubkey)"
// wg is the reference implementation the concentrator's administrator uses, so wardgate must
// derive exactly the public key it derives.
struct GoldenPair {
  const char* private_key;
  const char* public_key;
};
constexpr GoldenPair kWgPairs[] = {
    {"wFDEFkCU2WvrR0Cf5wnmhcS4L1I92aSjZac4Vbt/K3I=",
     "mHanYiGvpDqWDCVyifzSB8GnV2xJVYYLfpu2mQVY0Hw="},
    {"MERkCCt2nUkWiyOO4q+qOC3BVu13pSJSPme6L9SM1Fo=",
     "+dqTApupfaG3VREDezLV87YOGbpLhdDeec7XHe/DtCY="},
    {"eHFENLkwlAeCrqV1SUYoTEx1PHns4Zy0is+37tJqd0c=",
     "GWtFPhirveeUXSMkNkBo/mND/Gjn9/XL7+hGIecBk0A="},
    {"iJyS22dlQ5H8srOZd2gpqq23gOo6oliVmHHWPH6/ang=",
     "K9dWygb3a1GKz5GymAoQa2IRz7SuUxzv2PYm+c96v00="},
    // Not clamped (bytes 01..20; `wg pubkey` clamps before multiplying):
    // echo AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA= | wg pubkey
    {"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
     "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9/AsrhtHHw="},
    // All bits set: echo //////////////////////////////////////////8= | wg pubkey
    {"//////////////////////////////////////////8=",
     "hHwNLDdSNPNl5mCVUYejc1oPdhPRYJ06ak2MU66qWiI="},
};

// The key with bytes 1, 2, ..., 32: its base64 and hex forms are easy to check by eye
// (python3 -c "import base64; print(base64.b64encode(bytes(range(1, 33))).decode())").
Key counting_key() {
  Key k;
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i + 1);
  return k;
}
constexpr const char* kCountingBase64 = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
constexpr const char* kCountingHex =
    "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "wg-key-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

void write_text(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Key, Base64AndHexOfAKnownKey) {
  EXPECT_EQ(to_base64(counting_key()), kCountingBase64);
  EXPECT_EQ(to_hex(counting_key()), kCountingHex);
  EXPECT_EQ(key_from_base64(kCountingBase64), counting_key());
  EXPECT_EQ(key_from_hex(kCountingHex), counting_key());
}

TEST(Key, RandomKeysRoundTripThroughBothForms) {
  for (int i = 0; i < 32; ++i) {
    const Key k = generate_preshared_key();
    EXPECT_EQ(key_from_base64(to_base64(k)), k);
    EXPECT_EQ(key_from_hex(to_hex(k)), k);
    EXPECT_EQ(to_base64(k).size(), 44u);
    EXPECT_EQ(to_hex(k).size(), 64u);
  }
}

TEST(Key, Base64AllowsSurroundingWhitespaceAsInAKeyFile) {
  EXPECT_EQ(key_from_base64(std::string(kCountingBase64) + "\n"), counting_key());
  EXPECT_EQ(key_from_base64(std::string("  ") + kCountingBase64 + "\r\n"), counting_key());
}

TEST(Key, Base64RejectsWhatWgRejects) {
  const std::string good = kCountingBase64;
  EXPECT_FALSE(key_from_base64(""));
  EXPECT_FALSE(key_from_base64(good.substr(0, 43)));        // missing '='
  EXPECT_FALSE(key_from_base64(good.substr(1)));            // 43 characters
  EXPECT_FALSE(key_from_base64(good + "="));                // 45 characters
  EXPECT_FALSE(key_from_base64("A" + good.substr(0, 43)));  // 44 characters, no '=' at the end
  std::string bad_char = good;
  bad_char[10] = '!';
  EXPECT_FALSE(key_from_base64(bad_char));
  std::string inner_space = good;
  inner_space[10] = ' ';
  EXPECT_FALSE(key_from_base64(inner_space));
  // The last character before '=' carries 2 padding bits; wg refuses a key where they are not
  // zero ("echo ...eHyB= | wg pubkey" fails), so the same text must not be a key here either.
  std::string padding_bits = good;
  padding_bits[42] = 'B';
  EXPECT_FALSE(key_from_base64(padding_bits));
  // 32 bytes in URL-safe base64 are not what wg writes.
  EXPECT_FALSE(key_from_base64("__________________________________________8="));
}

TEST(Key, HexRejectsWrongLengthAndNonHexDigits) {
  const std::string good = kCountingHex;
  EXPECT_FALSE(key_from_hex(good.substr(1)));
  EXPECT_FALSE(key_from_hex(good + "0"));
  EXPECT_FALSE(key_from_hex(""));
  std::string g = good;
  g[5] = 'g';
  EXPECT_FALSE(key_from_hex(g));
  std::string space = good;
  space[63] = ' ';
  EXPECT_FALSE(key_from_hex(space));
  // Upper case is read (some tools print it), lower case is written.
  std::string upper = good;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(key_from_hex(upper), counting_key());
}

TEST(Key, PublicKeyMatchesWgPubkey) {
  for (const auto& pair : kWgPairs) {
    const auto priv = key_from_base64(pair.private_key);
    ASSERT_TRUE(priv) << pair.private_key;
    EXPECT_EQ(to_base64(public_key_of(*priv)), pair.public_key) << pair.private_key;
  }
}

TEST(Key, GeneratedPrivateKeysAreClampedAsWgGenkeyDoes) {
  // curve25519_clamp_secret: the low 3 bits of byte 0 cleared, bit 255 cleared, bit 254 set.
  // 64 keys: an unclamped generator passes all three checks by chance with probability 2^-320.
  Key previous{};
  for (int i = 0; i < 64; ++i) {
    const Key k = generate_private_key();
    EXPECT_EQ(k[0] & 7, 0) << to_hex(k);
    EXPECT_EQ(k[31] & 0x80, 0) << to_hex(k);
    EXPECT_EQ(k[31] & 0x40, 0x40) << to_hex(k);
    EXPECT_NE(k, previous);
    EXPECT_FALSE(is_zero(public_key_of(k)));
    previous = k;
  }
}

TEST(Key, ClampingDoesNotChangeThePublicKey) {
  // wg pubkey clamps; so a key and its clamped form name the same public key.
  Key k = counting_key();
  Key clamped = k;
  clamped[0] &= 248;
  clamped[31] = static_cast<std::uint8_t>((clamped[31] & 127) | 64);
  ASSERT_NE(k, clamped);
  EXPECT_EQ(public_key_of(k), public_key_of(clamped));
}

TEST(Key, IsZero) {
  EXPECT_TRUE(is_zero(Key{}));
  Key k{};
  k[31] = 1;
  EXPECT_FALSE(is_zero(k));
}

TEST(Key, ReadKeyFileReadsWhatWgGenkeyWrites) {
  TempDir dir;
  const auto path = dir.file("private");
  write_text(path, std::string(kWgPairs[0].private_key) + "\n", 0600);
  Key k{};
  EXPECT_EQ(read_key_file(path, k), "");
  EXPECT_EQ(to_base64(k), kWgPairs[0].private_key);
}

TEST(Key, ReadKeyFileRefusesAFileOthersCanRead) {
  TempDir dir;
  const auto path = dir.file("private");
  write_text(path, std::string(kWgPairs[0].private_key) + "\n", 0644);
  Key k{};
  const std::string error = read_key_file(path, k);
  // The operator must learn which file, what is wrong and what to do about it.
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_NE(error.find("readable by group or others"), std::string::npos) << error;
  EXPECT_NE(error.find("(mode 644)"), std::string::npos) << error;
  EXPECT_NE(error.find("chmod 600"), std::string::npos) << error;
  EXPECT_TRUE(is_zero(k)) << "the key must not be read from a refused file";

  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  EXPECT_NE(read_key_file(path, k), "");
  ASSERT_EQ(::chmod(path.c_str(), 0604), 0);
  EXPECT_NE(read_key_file(path, k), "");
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_EQ(read_key_file(path, k), "");
}

TEST(Key, ReadKeyFileExplainsMissingAndMalformedFiles) {
  TempDir dir;
  Key k{};
  const std::string missing = read_key_file(dir.file("absent"), k);
  EXPECT_NE(missing.find("No such file"), std::string::npos) << missing;
  const auto path = dir.file("hex");
  write_text(path, std::string(kCountingHex) + "\n", 0600);  // the UAPI form, not wg's
  const std::string malformed = read_key_file(path, k);
  EXPECT_NE(malformed.find("not a base64 WireGuard key"), std::string::npos) << malformed;
  EXPECT_TRUE(is_zero(k));
}

TEST(Key, WriteKeyFileIsPrivateAndReadableBack) {
  TempDir dir;
  const auto path = dir.file("private");
  const Key k = generate_private_key();
  ASSERT_EQ(write_key_file(path, k), "");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read_text(path), to_base64(k) + "\n");  // the format of `wg genkey > file`
  Key back{};
  EXPECT_EQ(read_key_file(path, back), "");
  EXPECT_EQ(back, k);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(Key, WriteKeyFileReplacesAtomically) {
  // An existing, too open key file is replaced by a new file (rename), not rewritten in place:
  // a reader holding the old file sees the whole old key, never a truncated or mixed one, and
  // the new file is 0600 whatever the old one was.
  TempDir dir;
  const auto path = dir.file("private");
  const auto old_link = dir.file("old");
  write_text(path, std::string(kWgPairs[1].private_key) + "\n", 0644);
  ASSERT_EQ(::link(path.c_str(), old_link.c_str()), 0);
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);

  const Key k = generate_private_key();
  ASSERT_EQ(write_key_file(path, k), "");
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_NE(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mode & 0777, 0600u);
  EXPECT_EQ(read_text(path), to_base64(k) + "\n");
  EXPECT_EQ(read_text(old_link), std::string(kWgPairs[1].private_key) + "\n");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(Key, WriteKeyFileNeverWritesThroughWhatIsPlantedAtTheTemporaryPath) {
  // Someone able to write the key directory plants a symlink (or a hard link) at the temporary
  // path, to have the private key written into a file of their choice, or a file of ours
  // truncated. The key goes into a new file of its own; the targets stay as they were.
  for (const bool symbolic : {true, false}) {
    TempDir dir;
    const auto path = dir.file("private");
    const auto victim = dir.file("victim");
    write_text(victim, "victim\n", 0644);
    if (symbolic) {
      ASSERT_EQ(::symlink(victim.c_str(), (path + ".tmp").c_str()), 0);
    } else {
      ASSERT_EQ(::link(victim.c_str(), (path + ".tmp").c_str()), 0);
    }
    const Key k = generate_private_key();
    ASSERT_EQ(write_key_file(path, k), "") << (symbolic ? "symlink" : "hard link");
    EXPECT_EQ(read_text(victim), "victim\n") << (symbolic ? "symlink" : "hard link");
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode)) << "the key file is a link";
    EXPECT_EQ(st.st_nlink, 1U);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(read_text(path), to_base64(k) + "\n");
    ASSERT_EQ(::lstat(victim.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
  }
}

TEST(Key, WriteKeyFileReportsAnUnwritableDirectory) {
  TempDir dir;
  const auto path = dir.file("no-such-dir/private");
  const std::string error = write_key_file(path, generate_private_key());
  EXPECT_NE(error.find("no-such-dir"), std::string::npos) << error;
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
}

}  // namespace
}  // namespace wardgate::tunnel
