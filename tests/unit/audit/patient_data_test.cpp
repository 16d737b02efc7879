#include "audit/patient_data.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <numeric>

namespace wardgate::audit {
namespace {

Secret counting_key() {
  Secret key{};
  std::iota(key.begin(), key.end(), std::uint8_t{0});  // 00 01 02 ... 1f
  return key;
}

// Expected values computed independently with Python:
//   hashlib.blake2b(identifier, key=bytes(range(32)), digest_size=32).hexdigest()
TEST(PatientData, KeyedHashIsKeyedBlake2b256) {
  const PatientDataProtector p(PatientDataPolicy::kKeyedHash, counting_key());
  EXPECT_EQ(p.protect("PAT-0001"),
            "b2:241703f237ed76531893c12f7df1d82c8f00c46dbf4f72f6339a5716590475b2");
  EXPECT_EQ(p.protect("\xe5\xbc\xa0\xe4\xb8\x89-0042"),  // UTF-8 "张三-0042"
            "b2:bc9496f71d294bc719d5fb94f9bc447af3df3af54093fa3b1e6d763118f6a9bc");
}

TEST(PatientData, AnotherSecretGivesAnotherToken) {
  Secret key{};
  key.fill(0xa5);
  const PatientDataProtector p(PatientDataPolicy::kKeyedHash, key);
  EXPECT_EQ(p.protect("PAT-0001"),
            "b2:eadfa80b45d165bfa0c091a206e4f9a12c98cd0206fa95dde5ea1341521fd45f");
}

TEST(PatientData, PaddingDoesNotChangeTheToken) {
  const PatientDataProtector p(PatientDataPolicy::kKeyedHash, counting_key());
  const auto expected = p.protect("PAT-0001");
  EXPECT_EQ(p.protect("PAT-0001 "), expected);
  EXPECT_EQ(p.protect("  PAT-0001  "), expected);
  EXPECT_EQ(p.protect(std::string_view("PAT-0001\0", 9)), expected);
  EXPECT_NE(p.protect("PAT-00 01"), expected);
  EXPECT_NE(p.protect("pat-0001"), expected);
}

TEST(PatientData, PlainKeepsTheIdentifier) {
  const PatientDataProtector p(PatientDataPolicy::kPlain);
  EXPECT_EQ(p.protect("PAT-0001"), "PAT-0001");
  EXPECT_EQ(p.protect(" PAT-0001 "), "PAT-0001");
}

TEST(PatientData, OmitKeepsNothing) {
  const PatientDataProtector p(PatientDataPolicy::kOmit);
  EXPECT_EQ(p.protect("PAT-0001"), std::nullopt);
}

TEST(PatientData, AnEmptyIdentifierIsAbsentUnderEveryPolicy) {
  for (auto policy :
       {PatientDataPolicy::kPlain, PatientDataPolicy::kKeyedHash, PatientDataPolicy::kOmit}) {
    const PatientDataProtector p(policy, counting_key());
    EXPECT_EQ(p.protect(""), std::nullopt) << to_string(policy);
    EXPECT_EQ(p.protect("    "), std::nullopt) << to_string(policy);
    EXPECT_EQ(p.protect(std::string_view("\0\0", 2)), std::nullopt) << to_string(policy);
  }
}

TEST(PatientData, KeyedHashNeedsA32ByteSecret) {
  const std::array<std::uint8_t, 16> short_key{};
  EXPECT_THROW(PatientDataProtector(PatientDataPolicy::kKeyedHash, short_key),
               std::invalid_argument);
  EXPECT_THROW(PatientDataProtector{PatientDataPolicy::kKeyedHash}, std::invalid_argument);
  EXPECT_NO_THROW(PatientDataProtector{PatientDataPolicy::kPlain});
}

TEST(PatientData, PolicyNames) {
  for (auto policy :
       {PatientDataPolicy::kPlain, PatientDataPolicy::kKeyedHash, PatientDataPolicy::kOmit}) {
    EXPECT_EQ(parse_patient_data_policy(to_string(policy)), policy);
  }
  EXPECT_STREQ(to_string(PatientDataPolicy::kKeyedHash), "keyed-hash");
  EXPECT_EQ(parse_patient_data_policy("hash"), std::nullopt);
}

class SecretFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("wardgate-audit-secret-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "audit-secret").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write_file(const std::string& bytes, mode_t mode) {
    std::ofstream(path_, std::ios::binary) << bytes;
    ::chmod(path_.c_str(), mode);
  }

  std::string error_of_load() {
    try {
      load_or_create_secret(path_);
    } catch (const SecretError& e) {
      return e.what();
    }
    return "";
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(SecretFile, IsCreatedWithMode0600AndReused) {
  const Secret first = load_or_create_secret(path_);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  EXPECT_NE(first, Secret{});  // random, not zeros
  EXPECT_EQ(load_or_create_secret(path_), first);
  // The tokens of one appliance stay stable across restarts.
  EXPECT_EQ(PatientDataProtector(PatientDataPolicy::kKeyedHash, load_or_create_secret(path_))
                .protect("PAT-0001"),
            PatientDataProtector(PatientDataPolicy::kKeyedHash, first).protect("PAT-0001"));
}

TEST_F(SecretFile, AnExistingSecretIsReadAsIs) {
  write_file(std::string(32, '\x07'), 0600);
  Secret expected{};
  expected.fill(7);
  EXPECT_EQ(load_or_create_secret(path_), expected);
  write_file(std::string(32, '\x07'), 0400);  // read-only for the owner is fine
  EXPECT_EQ(load_or_create_secret(path_), expected);
}

TEST_F(SecretFile, WrongSizeIsRefused) {
  write_file(std::string(31, 'x'), 0600);
  EXPECT_EQ(error_of_load(), path_ +
                                 ": is 31 bytes, not 32: not a wardgate audit secret (restore the "
                                 "original; a new secret changes every patient token)");
  write_file("", 0600);
  EXPECT_EQ(error_of_load().rfind(path_ + ": is 0 bytes, not 32", 0), 0u);
}

TEST_F(SecretFile, PermissionsTooOpenAreRefused) {
  write_file(std::string(32, 'x'), 0644);
  EXPECT_EQ(error_of_load(), path_ +
                                 ": has mode 0644; the audit secret must not be accessible to "
                                 "group or others (chmod 600 " +
                                 path_ + ")");
  write_file(std::string(32, 'x'), 0620);
  EXPECT_EQ(error_of_load().rfind(path_ + ": has mode 0620", 0), 0u);
}

TEST_F(SecretFile, AMissingDirectoryIsNamed) {
  path_ = (dir_ / "nope" / "audit-secret").string();
  EXPECT_EQ(error_of_load(), path_ +
                                 ": cannot create the audit secret: No such file or directory "
                                 "(create the directory first)");
}

TEST_F(SecretFile, ADirectoryIsNotASecret) {
  std::filesystem::create_directories(path_);
  EXPECT_EQ(error_of_load(), path_ + ": is not a regular file");
}

TEST_F(SecretFile, ADanglingSymlinkIsNotFollowedOnCreation) {
  const std::string target = (dir_ / "elsewhere").string();
  std::filesystem::create_symlink(target, path_);
  EXPECT_EQ(error_of_load(), path_ +
                                 ": is a symbolic link to a missing file; restore its target "
                                 "or remove the link");
  EXPECT_FALSE(std::filesystem::exists(target));
}

}  // namespace
}  // namespace wardgate::audit
