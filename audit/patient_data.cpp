#include "audit/patient_data.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/unique_fd.h"

namespace wardgate::audit {
namespace {

static_assert(kSecretBytes == crypto_generichash_KEYBYTES);
constexpr std::size_t kHashBytes = 32;  // BLAKE2b-256
static_assert(kHashBytes >= crypto_generichash_BYTES_MIN &&
              kHashBytes <= crypto_generichash_BYTES_MAX);

void init_sodium() {
  // sodium_init() is thread-safe and idempotent; the static makes it once per process.
  static const int result = sodium_init();
  if (result < 0) throw std::runtime_error("libsodium could not be initialised");
}

using Fd = common::UniqueFd;

std::string errno_text() { return std::strerror(errno); }

std::string octal_mode(mode_t mode) {
  std::array<char, 8> buf{};
  std::snprintf(buf.data(), buf.size(), "%04o", static_cast<unsigned>(mode & 07777));
  return buf.data();
}

std::string parent_directory(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Secret read_secret(const std::string& path, int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw SecretError(path + ": cannot be examined: " + errno_text());
  if (!S_ISREG(st.st_mode)) throw SecretError(path + ": is not a regular file");
  if ((st.st_mode & 077) != 0) {
    throw SecretError(path + ": has mode " + octal_mode(st.st_mode) +
                      "; the audit secret must not be accessible to group or others (chmod 600 " +
                      path + ")");
  }
  if (st.st_size != static_cast<off_t>(kSecretBytes)) {
    throw SecretError(path + ": is " + std::to_string(st.st_size) + " bytes, not " +
                      std::to_string(kSecretBytes) +
                      ": not a wardgate audit secret (restore the original; a new secret "
                      "changes every patient token)");
  }
  Secret secret{};
  std::size_t got = 0;
  while (got < secret.size()) {
    const ssize_t n = ::read(fd, secret.data() + got, secret.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw SecretError(path + ": cannot be read: " + errno_text());
    if (n == 0)
      throw SecretError(path + ": shorter than " + std::to_string(kSecretBytes) + " bytes");
    got += static_cast<std::size_t>(n);
  }
  return secret;
}

// Returns nullopt if the file appeared meanwhile (another process created it first).
std::optional<Secret> create_secret(const std::string& path) {
  // O_EXCL: never follows a symlink planted at the path, never overwrites a secret.
  const Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    if (errno == EEXIST) return std::nullopt;
    throw SecretError(path + ": cannot create the audit secret: " + errno_text() +
                      (errno == ENOENT ? " (create the directory first)" : ""));
  }
  Secret secret{};
  randombytes_buf(secret.data(), secret.size());
  std::size_t put = 0;
  while (put < secret.size()) {
    const ssize_t n = ::write(fd.get(), secret.data() + put, secret.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    put += static_cast<std::size_t>(n);
  }
  if (put < secret.size()) {
    const std::string why = errno_text();
    ::unlink(path.c_str());
    throw SecretError(path + ": cannot write the audit secret: " + why);
  }
  // The secret must survive a crash: a lost secret changes every token from then on.
  if (::fsync(fd.get()) != 0) {
    const std::string why = errno_text();
    ::unlink(path.c_str());
    throw SecretError(path + ": cannot sync the audit secret: " + why);
  }
  const Fd dir(::open(parent_directory(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
  return secret;
}

}  // namespace

const char* to_string(PatientDataPolicy policy) {
  switch (policy) {
    case PatientDataPolicy::kPlain:
      return "plain";
    case PatientDataPolicy::kKeyedHash:
      return "keyed-hash";
    case PatientDataPolicy::kOmit:
      return "omit";
  }
  return "unknown";
}

std::optional<PatientDataPolicy> parse_patient_data_policy(std::string_view name) {
  for (auto p :
       {PatientDataPolicy::kPlain, PatientDataPolicy::kKeyedHash, PatientDataPolicy::kOmit}) {
    if (name == to_string(p)) return p;
  }
  return std::nullopt;
}

PatientDataProtector::PatientDataProtector(PatientDataPolicy policy,
                                           std::span<const std::uint8_t> secret)
    : policy_(policy) {
  if (policy_ != PatientDataPolicy::kKeyedHash) return;
  if (secret.size() != kSecretBytes) {
    throw std::invalid_argument("the keyed-hash patient data policy needs a " +
                                std::to_string(kSecretBytes) + "-byte secret, got " +
                                std::to_string(secret.size()));
  }
  init_sodium();
  std::memcpy(key_.data(), secret.data(), kSecretBytes);
}

PatientDataProtector::~PatientDataProtector() { sodium_memzero(key_.data(), key_.size()); }

std::optional<std::string> PatientDataProtector::protect(std::string_view identifier) const {
  const auto first = identifier.find_first_not_of(' ');
  if (first == std::string_view::npos) return std::nullopt;
  identifier.remove_prefix(first);
  identifier = identifier.substr(0, identifier.find_last_not_of(std::string_view(" \0", 2)) + 1);
  if (identifier.empty()) return std::nullopt;

  switch (policy_) {
    case PatientDataPolicy::kPlain:
      return std::string(identifier);
    case PatientDataPolicy::kOmit:
      return std::nullopt;
    case PatientDataPolicy::kKeyedHash:
      break;
  }
  std::array<unsigned char, kHashBytes> hash{};
  crypto_generichash(hash.data(), hash.size(),
                     reinterpret_cast<const unsigned char*>(identifier.data()), identifier.size(),
                     key_.data(), key_.size());
  std::string out = "b2:";
  std::array<char, kHashBytes * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), hash.data(), hash.size());
  out.append(hex.data(), kHashBytes * 2);
  return out;
}

Secret load_or_create_secret(const std::string& path) {
  init_sodium();
  // Two rounds at most: if another process creates the file between our open and our create,
  // read what it wrote.
  for (int round = 0; round < 2; ++round) {
    const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() >= 0) return read_secret(path, fd.get());
    if (errno != ENOENT) throw SecretError(path + ": cannot be opened: " + errno_text());
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      throw SecretError(path +
                        ": is a symbolic link to a missing file; restore its target or "
                        "remove the link");
    }
    if (auto created = create_secret(path)) return *created;
  }
  throw SecretError(path + ": appeared and vanished while being created; try again");
}

}  // namespace wardgate::audit
