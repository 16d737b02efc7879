#pragma once
// Shared by the audit store tests: a scratch directory and events.
#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "audit/event.h"
#include "store/audit_store.h"

namespace wardgate::store::testing {

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "wardgate-store-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline audit::Event sample_event(std::uint64_t n, std::chrono::system_clock::time_point time =
                                                      std::chrono::system_clock::time_point(
                                                          std::chrono::seconds(1'795'000'000))) {
  audit::Event e;
  e.time = time + std::chrono::microseconds(n);
  e.appliance_id = "gw-1";
  e.device = n % 2 == 0 ? "ct-1" : "10.1.1.21";
  e.category = n % 3 == 0 ? "hl7" : "dicom";
  e.action = "operation";
  e.outcome = n % 5 == 0 ? audit::Outcome::kFailure : audit::Outcome::kSuccess;
  e.severity = audit::Severity::kInfo;
  e.fields.set("n", n);
  e.fields.set("patient_id", "b2:" + std::to_string(n % 7));
  return e;
}

inline StoreOptions store_options(const ScratchDir& dir) {
  StoreOptions o;
  o.path = dir.file("audit.db");
  o.signing_key_file = dir.file("signing-key");
  o.appliance_id = "gw-1";
  o.group_commit = std::chrono::milliseconds(5);
  o.free_bytes = [](const std::string&) { return std::uint64_t{1} << 40; };
  return o;
}

// Runs SQL on the store file as an attacker with the sqlite3 CLI would.
inline void tamper(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string why = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error("tamper: " + why);
}

}  // namespace wardgate::store::testing
