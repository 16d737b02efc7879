#include "store/store_schema.h"

#include <fcntl.h>
#include <unistd.h>

namespace wardgate::store {
namespace {

// seq is the rowid: never reused because rows are only ever deleted from the start (retention).
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records(
  seq INTEGER PRIMARY KEY,
  time_us INTEGER NOT NULL,
  appliance TEXT NOT NULL,
  device TEXT NOT NULL,
  category TEXT NOT NULL,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL,
  severity TEXT NOT NULL,
  canonical TEXT NOT NULL,
  hash BLOB NOT NULL);
-- A zone map instead of an index on time_us (which costs a quarter of the ingest rate): each
-- row covers a run of consecutive records and the range of their times. Times are nearly in seq
-- order, so a time range maps to a short seq range that is then filtered exactly.
CREATE TABLE IF NOT EXISTS time_zones(
  first_seq INTEGER PRIMARY KEY,
  last_seq INTEGER NOT NULL,
  min_time_us INTEGER NOT NULL,
  max_time_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints(
  seq INTEGER PRIMARY KEY,
  hash BLOB NOT NULL,
  signed_at_us INTEGER NOT NULL,
  signature BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS cursors(destination TEXT PRIMARY KEY, seq INTEGER NOT NULL)
  WITHOUT ROWID;
)sql";

}  // namespace

Database::Database(const std::string& path, Mode mode) : path_(path) {
  if (mode == Mode::kReadWrite) {
    // sqlite creates files with 0644; audit records are not for every local user.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) throw StoreError(path + ": cannot open or create the audit store");
    ::close(fd);
  }
  const int flags = mode == Mode::kReadWrite ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
  if (sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(path + ": cannot open the audit store: " + why);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 2000);
  try {
    if (mode == Mode::kReadWrite) {
      exec("PRAGMA page_size=16384");  // before WAL and the first table; ignored later
      exec("PRAGMA journal_mode=WAL");
      // FULL: a committed transaction survives power loss, not only a crash of wardgate.
      exec("PRAGMA synchronous=FULL");
      // Fewer, larger WAL checkpoints (each one syncs the database file) and a bigger cache.
      exec("PRAGMA wal_autocheckpoint=8192");
      exec("PRAGMA cache_size=-32768");
      exec("BEGIN IMMEDIATE");
      exec(kSchema);
      auto version = read_meta(*this, "schema_version");
      if (!version) {
        write_meta(*this, "schema_version", std::to_string(kStoreSchemaVersion));
      } else if (*version != std::to_string(kStoreSchemaVersion)) {
        throw StoreError(path + ": audit store schema version " + *version + ", this wardgate " +
                         "reads version " + std::to_string(kStoreSchemaVersion));
      }
      exec("COMMIT");
    } else {
      auto version = read_meta(*this, "schema_version");
      if (!version || *version != std::to_string(kStoreSchemaVersion)) {
        throw StoreError(path + ": not a wardgate audit store of schema version " +
                         std::to_string(kStoreSchemaVersion));
      }
    }
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Database::~Database() { sqlite3_close(db_); }

void Database::fail(const std::string& what) const {
  throw StoreError(path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

void Database::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string why = message != nullptr ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    throw StoreError(path_ + ": " + why);
  }
}

Statement Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK) {
    fail("cannot prepare a statement (not a wardgate audit store?)");
  }
  return {*this, stmt};
}

Statement& Statement::bind(int index, std::int64_t v) {
  if (sqlite3_bind_int64(stmt_, index, v) != SQLITE_OK) db_->fail("bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view v) {
  if (sqlite3_bind_text64(stmt_, index, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8) !=
      SQLITE_OK) {
    db_->fail("bind");
  }
  return *this;
}

Statement& Statement::bind_static(int index, std::string_view v) {
  if (sqlite3_bind_text64(stmt_, index, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8) !=
      SQLITE_OK) {
    db_->fail("bind");
  }
  return *this;
}

Statement& Statement::bind_blob_static(int index, const void* data, std::size_t size) {
  if (sqlite3_bind_blob64(stmt_, index, data, size, SQLITE_STATIC) != SQLITE_OK) db_->fail("bind");
  return *this;
}

Statement& Statement::bind_blob(int index, const void* data, std::size_t size) {
  if (sqlite3_bind_blob64(stmt_, index, data, size, SQLITE_TRANSIENT) != SQLITE_OK) {
    db_->fail("bind");
  }
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_->fail("step");
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string_view Statement::column_text(int i) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
  if (p == nullptr) return {};
  return {p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i))};
}

std::string_view Statement::column_blob(int i) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, i));
  if (p == nullptr) return {};
  return {p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i))};
}

std::optional<std::uint64_t> first_seq_at_or_after(Database& db, std::int64_t time_us) {
  auto zone = db.prepare("SELECT min(first_seq) FROM time_zones WHERE max_time_us >= ?");
  zone.bind(1, time_us);
  if (!zone.step() || zone.column_null(0)) return std::nullopt;
  auto s = db.prepare("SELECT min(seq) FROM records WHERE seq >= ? AND time_us >= ?");
  s.bind(1, zone.column_int(0)).bind(2, time_us);
  if (!s.step() || s.column_null(0)) return std::nullopt;
  return static_cast<std::uint64_t>(s.column_int(0));
}

std::optional<std::uint64_t> last_seq_at_or_before(Database& db, std::int64_t time_us) {
  auto zone = db.prepare("SELECT max(last_seq) FROM time_zones WHERE min_time_us <= ?");
  zone.bind(1, time_us);
  if (!zone.step() || zone.column_null(0)) return std::nullopt;
  auto s = db.prepare("SELECT max(seq) FROM records WHERE seq <= ? AND time_us <= ?");
  s.bind(1, zone.column_int(0)).bind(2, time_us);
  if (!s.step() || s.column_null(0)) return std::nullopt;
  return static_cast<std::uint64_t>(s.column_int(0));
}

std::optional<std::string> read_meta(Database& db, std::string_view key) {
  sqlite3_stmt* raw = nullptr;
  // meta may not exist yet in a file that is not a store: a failed prepare means "absent".
  if (sqlite3_prepare_v2(db.handle(), "SELECT value FROM meta WHERE key=?", -1, &raw, nullptr) !=
      SQLITE_OK) {
    sqlite3_finalize(raw);
    return std::nullopt;
  }
  Statement s(db, raw);
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return std::string(s.column_text(0));
}

void write_meta(Database& db, std::string_view key, std::string_view value) {
  auto s = db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)");
  s.bind(1, key).bind(2, value);
  s.step();
}

}  // namespace wardgate::store
