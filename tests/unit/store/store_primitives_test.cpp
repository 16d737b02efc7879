#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "audit/event_decode.h"
#include "audit/patient_data.h"
#include "store/checkpoint_signer.h"
#include "store/hash_chain.h"
#include "store_test_support.h"

namespace wardgate::store {
namespace {

using testing::ScratchDir;

// Golden values from Python's hashlib.blake2b(digest_size=32), an implementation independent of
// libsodium.
TEST(HashChain, MatchesIndependentBlake2b) {
  EXPECT_EQ(to_hex(chain_next(kGenesisHash, "abc")),
            "5db827e5e925e6b933a86596a0446c345c0d74d77f55a751ade5d7c7162eead8");
  EXPECT_EQ(to_hex(chain_next(chain_next(kGenesisHash, R"({"a":1})"), "x")),
            "106183a43af3d6a04e9bd68bd9d14bd65ee22fd481dd31ad5d2ce07e7bc4156a");
}

TEST(HashChain, HexRoundTripAndRejects) {
  const ChainHash h = chain_next(kGenesisHash, "abc");
  EXPECT_EQ(chain_hash_from_hex(to_hex(h)), h);
  EXPECT_FALSE(chain_hash_from_hex("00"));
  EXPECT_FALSE(chain_hash_from_hex(std::string(64, 'g')));
}

void write_key(const std::string& path, mode_t mode) {
  std::string seed;
  for (int i = 0; i < 32; ++i) seed += static_cast<char>(i);
  std::ofstream(path, std::ios::binary) << seed;
  ::chmod(path.c_str(), mode);
}

// Golden signature from Python's cryptography (OpenSSL) Ed25519 with seed 00 01 .. 1f: RFC 8032
// signatures are deterministic.
TEST(CheckpointSigner, MatchesIndependentEd25519) {
  ScratchDir dir;
  write_key(dir.file("key"), 0600);
  const CheckpointSigner signer(dir.file("key"));
  EXPECT_EQ(format_public_key(signer.public_key()),
            "ed25519:03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  ChainHash hash{};
  hash.fill(0x11);
  const Checkpoint c = signer.sign(7, hash, 1795000000000000);
  const std::string expected =
      "999b308972750a2528e630a435d91a294331d8f9aebde85a8ba9b53eea59f6ceb1c6ccb14a688bdb3224be4054"
      "6022267dd9dffce4e3269ed3f4ce4e85ba2d0f";
  std::string got;
  for (auto b : c.signature) {
    constexpr std::string_view kHex = "0123456789abcdef";
    got += kHex[b >> 4];
    got += kHex[b & 0xf];
  }
  EXPECT_EQ(got, expected);
  EXPECT_TRUE(verify_checkpoint(c, signer.public_key()));
  Checkpoint other = c;
  other.seq = 8;
  EXPECT_FALSE(verify_checkpoint(other, signer.public_key()));
  other = c;
  other.hash[0] ^= 1;
  EXPECT_FALSE(verify_checkpoint(other, signer.public_key()));
  other = c;
  other.signed_at_us += 1;
  EXPECT_FALSE(verify_checkpoint(other, signer.public_key()));
}

TEST(CheckpointSigner, CreatesKeyWithMode0600AndRefusesReadableKey) {
  ScratchDir dir;
  const std::string path = dir.file("new-key");
  PublicKey first{};
  {
    const CheckpointSigner signer(path);
    first = signer.public_key();
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(CheckpointSigner(path).public_key(), first);  // same key on restart
  write_key(dir.file("open-key"), 0644);
  try {
    const CheckpointSigner signer(dir.file("open-key"));
    FAIL() << "a key readable by others was accepted";
  } catch (const audit::SecretError& e) {
    EXPECT_NE(std::string(e.what()).find("signing key"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("0644"), std::string::npos) << e.what();
  }
}

TEST(PublicKeyText, RoundTripAndRejects) {
  PublicKey k{};
  k.fill(0xab);
  EXPECT_EQ(parse_public_key(format_public_key(k) + "\n"), k);
  EXPECT_FALSE(parse_public_key("ed25519:abcd"));
  EXPECT_FALSE(parse_public_key(std::string(72, 'a')));
}

TEST(EventDecode, RoundTripsEveryFieldType) {
  audit::Event e = testing::sample_event(3);
  e.fields.set("text", "caf\xc3\xa9 \"quoted\"\n");
  e.fields.set("negative", -5);
  e.fields.set("big", std::uint64_t{18446744073709551615ull});
  e.fields.set("ratio", 0.25);
  e.fields.set("flag", true);
  e.fields.set("list", std::vector<std::string>{"a", "b"});
  const std::string canonical = audit::to_json(e);
  const auto back = audit::event_from_json(canonical);
  ASSERT_TRUE(back);
  EXPECT_EQ(audit::to_json(*back), canonical);
  EXPECT_EQ(back->time, e.time);
  EXPECT_EQ(back->device, e.device);
  EXPECT_EQ(back->outcome, e.outcome);
}

TEST(EventDecode, RefusesWhatToJsonNeverWrites) {
  std::string why;
  EXPECT_FALSE(audit::event_from_json("[]", &why));
  EXPECT_FALSE(audit::event_from_json(R"({"a":1})", &why));
  const std::string good = audit::to_json(testing::sample_event(1));
  std::string bad = good;
  bad.replace(bad.find("\"success\""), 9, "\"perhaps\"");
  EXPECT_FALSE(audit::event_from_json(bad, &why));
  std::string deep = good;
  deep.replace(deep.find("\"fields\":{"), 10, R"("fields":{"x":[[["deep"]]],)");
  EXPECT_FALSE(audit::event_from_json(deep, &why));
  EXPECT_FALSE(audit::event_from_json(std::string(audit::kMaxCanonicalBytes + 1, ' '), &why));
  EXPECT_NE(why.find("longer"), std::string::npos);
}

TEST(EventDecode, ParsesTimes) {
  using namespace std::chrono;
  const auto t = audit::parse_time("2026-11-22T02:03:04.123456Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(audit::format_time(*t), "2026-11-22T02:03:04.123456Z");
  EXPECT_EQ(audit::format_time(*audit::parse_time("2026-11-22T02:03:04.5Z")),
            "2026-11-22T02:03:04.500000Z");
  EXPECT_EQ(audit::format_time(*audit::parse_time("2026-11-22")), "2026-11-22T00:00:00.000000Z");
  EXPECT_FALSE(audit::parse_time("2026-13-01"));
  EXPECT_FALSE(audit::parse_time("2026-11-22T25:00:00Z"));
  EXPECT_FALSE(audit::parse_time("yesterday"));
}

}  // namespace
}  // namespace wardgate::store
