#pragma once
// Patient data minimisation (DESIGN.md): identifiers of patients in audit records are kept as
// configured: plain, a keyed hash (BLAKE2b-256 keyed with the appliance's audit secret, so the
// same patient gives the same token on every record without the identifier being readable, and
// nobody without the secret can confirm a guess), or omitted.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace wardgate::audit {

enum class PatientDataPolicy : std::uint8_t { kPlain, kKeyedHash, kOmit };

// "plain", "keyed-hash", "omit" (the configuration's names).
const char* to_string(PatientDataPolicy policy);
std::optional<PatientDataPolicy> parse_patient_data_policy(std::string_view name);

constexpr std::size_t kSecretBytes = 32;  // crypto_generichash_KEYBYTES
using Secret = std::array<std::uint8_t, kSecretBytes>;

class SecretError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PatientDataProtector {
 public:
  // `secret` is needed (exactly kSecretBytes) only for kKeyedHash; it is copied and wiped from
  // this object's memory on destruction. Throws std::invalid_argument on a wrong-sized secret.
  explicit PatientDataProtector(PatientDataPolicy policy,
                                std::span<const std::uint8_t> secret = {});
  ~PatientDataProtector();
  PatientDataProtector(const PatientDataProtector&) = default;
  PatientDataProtector& operator=(const PatientDataProtector&) = default;

  // The identifier as the audit record keeps it: kPlain the identifier, kKeyedHash "b2:" and 64
  // lower-case hex digits, kOmit nullopt. Leading and trailing spaces and trailing NULs are
  // padding in DICOM (PS3.5 6.2) and removed first, so a padded and an unpadded value give the
  // same token; an identifier empty after that is absent: nullopt under every policy.
  // Thread-safe (const, no shared state).
  std::optional<std::string> protect(std::string_view identifier) const;

  PatientDataPolicy policy() const { return policy_; }

 private:
  PatientDataPolicy policy_;
  Secret key_{};
};

// Reads the 32-byte secret at `path`, or creates it (mode 0600, random bytes, written and
// synced before use) if it does not exist. Throws SecretError naming the path and the fix if the
// file cannot be read or created, is not exactly 32 bytes, or is accessible to group or others.
// The directory must exist.
Secret load_or_create_secret(const std::string& path);

}  // namespace wardgate::audit
