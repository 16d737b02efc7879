#pragma once
// The audit store's database: a thin RAII layer over sqlite3 and the schema (one place for the
// table definitions, the pragmas and the schema version). Errors are StoreError carrying the
// sqlite message; the store's writer thread catches them, start-up and the CLI report them.
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace wardgate::store {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Statement;

class Database {
 public:
  enum class Mode { kReadWrite, kReadOnly };
  // Opens (kReadWrite: creating it with mode 0600 and the schema if missing) the store at `path`.
  Database(const std::string& path, Mode mode);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const char* sql);
  Statement prepare(std::string_view sql);
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }
  [[noreturn]] void fail(const std::string& what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Statement {
 public:
  Statement(const Database& db, sqlite3_stmt* stmt) : db_(&db), stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
    other.stmt_ = nullptr;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;

  Statement& bind(int index, std::int64_t v);
  Statement& bind(int index, std::string_view v);  // TEXT, copied
  // TEXT / BLOB not copied: the bytes must stay valid until the statement is stepped and reset.
  Statement& bind_static(int index, std::string_view v);
  Statement& bind_blob_static(int index, const void* data, std::size_t size);
  Statement& bind_blob(int index, const void* data, std::size_t size);
  // True while a row is available; false when done. Throws StoreError on an error.
  bool step();
  void reset();  // also clears bindings

  std::int64_t column_int(int i) const { return sqlite3_column_int64(stmt_, i); }
  bool column_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  std::string_view column_text(int i) const;
  std::string_view column_blob(int i) const;

 private:
  const Database* db_;
  sqlite3_stmt* stmt_;
};

// Version of the schema below; a store with another version is refused.
constexpr int kStoreSchemaVersion = 1;

// meta table keys.
constexpr const char* kMetaPublicKey = "public_key";  // format_public_key() of the signing key

// Records of at most this many consecutive seqs share a time_zones row.
constexpr std::uint64_t kTimeZoneRecords = 4096;

// The first record with time_us >= `time_us` / the last with time_us <= `time_us` (through the
// time_zones map), or nullopt if there is none.
std::optional<std::uint64_t> first_seq_at_or_after(Database& db, std::int64_t time_us);
std::optional<std::uint64_t> last_seq_at_or_before(Database& db, std::int64_t time_us);

std::optional<std::string> read_meta(Database& db, std::string_view key);
void write_meta(Database& db, std::string_view key, std::string_view value);

}  // namespace wardgate::store
