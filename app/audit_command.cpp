// `wardgate audit verify | dump | tail | public-key`: read the durable audit store
// (store/audit_store.h) without the running wardgate's help; a read-only sqlite connection sees
// every committed record while wardgate goes on writing.
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "app/commands.h"
#include "app/config.h"
#include "audit/event_decode.h"
#include "store/hash_chain.h"
#include "store/store_schema.h"
#include "store/store_verify.h"

namespace wardgate::app {
namespace {

constexpr std::size_t kMaxTail = 100000;
constexpr std::size_t kMaxPublicKeyFile = 4096;

volatile std::sig_atomic_t g_stop = 0;
void on_stop_signal(int) { g_stop = 1; }

// The store's path: --store, else audit.store.path of --config. Empty after printing the reason.
std::string store_path(const AuditStoreSelection& where) {
  if (!where.store.empty()) return where.store;
  if (where.config.empty()) {
    std::cerr << "wardgate audit: give --store PATH or --config FILE\n";
    return "";
  }
  try {
    return load_config_file(where.config).audit.store.path;
  } catch (const ConfigError& e) {
    std::cerr << "wardgate: invalid configuration: " << e.what() << "\n";
    return "";
  }
}

// A sequence number (digits only) or a time (parse_time).
struct Bound {
  std::optional<std::uint64_t> seq;
  std::optional<std::int64_t> time_us;
};

std::optional<Bound> parse_bound(const std::string& text) {
  Bound b;
  if (text.empty()) return b;
  if (text.find_first_not_of("0123456789") == std::string::npos && text.size() <= 19) {
    b.seq = std::stoull(text);
    return b;
  }
  const auto t = audit::parse_time(text);
  if (!t) return std::nullopt;
  b.time_us = audit::to_unix_us(*t);
  return b;
}

std::optional<store::PublicKey> read_public_key(const std::string& path_or_text) {
  if (path_or_text.rfind("ed25519:", 0) == 0) return store::parse_public_key(path_or_text);
  std::ifstream in(path_or_text);
  if (!in) return std::nullopt;
  std::string text(kMaxPublicKeyFile, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return store::parse_public_key(text);
}

// RFC 4180 field; a cell that a spreadsheet would run as a formula gets a leading apostrophe.
std::string csv_field(std::string_view v) {
  std::string out = "\"";
  if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@')) out += '\'';
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

int audit_verify_command(const AuditStoreSelection& where, const std::string& from,
                         const std::string& to, const std::string& public_key) {
  const std::string path = store_path(where);
  if (path.empty()) return kExitBadConfig;
  store::VerifyOptions options;
  const auto lo = parse_bound(from);
  const auto hi = parse_bound(to);
  if (!lo || !hi) {
    std::cerr << "wardgate audit verify: --from/--to take a sequence number or a UTC time such as "
                 "2026-11-22T02:03:04Z\n";
    return kExitBadConfig;
  }
  options.from_seq = lo->seq;
  options.from_time_us = lo->time_us;
  options.to_seq = hi->seq;
  options.to_time_us = hi->time_us;
  if (!public_key.empty()) {
    options.public_key = read_public_key(public_key);
    if (!options.public_key) {
      std::cerr << "wardgate audit verify: " << public_key
                << ": not a public key (\"ed25519:\" and 64 hex digits)\n";
      return kExitBadConfig;
    }
  }
  store::VerifyReport report;
  try {
    report = store::verify_store(path, options);
  } catch (const store::StoreError& e) {
    std::cerr << "wardgate audit verify: " << e.what() << "\n";
    return kExitBadConfig;
  }
  std::cout << "store: " << path << "\n";
  if (report.anchor) {
    std::cout << "starts at signed checkpoint " << *report.anchor << " (records 1-"
              << *report.anchor << " removed by retention, recorded at seq "
              << report.prune_record.value_or(0) << ")\n";
  } else if (report.first_seq > 0) {
    std::cout << "starts at seq " << report.first_seq << "\n";
  }
  std::cout << "records checked: " << report.records;
  if (report.records > 0)
    std::cout << " (seq " << report.first_seq << "-" << report.last_seq << ")";
  std::cout << "\ncheckpoints checked: " << report.checkpoints << "\n";
  if (report.last_seq > report.last_checkpoint) {
    std::cout << "not yet signed: seq " << report.last_checkpoint + 1 << "-" << report.last_seq
              << " (chained; the next checkpoint signs them)\n";
  }
  if (report.key_from_store) {
    std::cout << "public key: the store's own copy (give --public-key for an independent check)\n";
  }
  for (const auto& f : report.findings) {
    std::cout << "seq " << f.seq;
    if (f.seq_end != f.seq) std::cout << "-" << f.seq_end;
    std::cout << ": " << store::to_string(f.kind) << ": " << f.detail << "\n";
  }
  if (report.findings_not_listed > 0) {
    std::cout << "... and " << report.findings_not_listed << " more findings\n";
  }
  std::cout << (report.intact() ? "INTACT" : "NOT INTACT") << "\n";
  return report.intact() ? kExitOk : kExitFailure;
}

int audit_dump_command(const AuditStoreSelection& where, const AuditDumpFilter& filter) {
  const std::string path = store_path(where);
  if (path.empty()) return kExitBadConfig;
  if (filter.format != "jsonl" && filter.format != "csv") {
    std::cerr << "wardgate audit dump: --format is jsonl or csv\n";
    return kExitBadConfig;
  }
  std::optional<std::int64_t> from_us;
  std::optional<std::int64_t> to_us;
  for (const auto& [text, out] : {std::pair{filter.from, &from_us}, std::pair{filter.to, &to_us}}) {
    if (text.empty()) continue;
    const auto t = audit::parse_time(text);
    if (!t) {
      std::cerr << "wardgate audit dump: " << text
                << ": not a UTC time such as 2026-11-22 or 2026-11-22T02:03:04Z\n";
      return kExitBadConfig;
    }
    *out = audit::to_unix_us(*t);
  }
  try {
    store::Database db(path, store::Database::Mode::kReadOnly);
    std::string sql =
        "SELECT seq, time_us, appliance, device, category, action, outcome, severity, canonical, "
        "hash FROM records WHERE 1";
    // The time range narrowed to a seq range through the time_zones map, then filtered exactly.
    std::int64_t lo = 1;
    std::int64_t hi = INT64_MAX;
    if (from_us) {
      lo =
          static_cast<std::int64_t>(store::first_seq_at_or_after(db, *from_us).value_or(INT64_MAX));
    }
    if (to_us) hi = static_cast<std::int64_t>(store::last_seq_at_or_before(db, *to_us).value_or(0));
    sql += " AND seq >= ? AND seq <= ?";
    if (from_us) sql += " AND time_us >= ?";
    if (to_us) sql += " AND time_us <= ?";
    if (!filter.device.empty()) sql += " AND device = ?";
    if (!filter.category.empty()) sql += " AND category = ?";
    if (!filter.action.empty()) sql += " AND action = ?";
    if (!filter.patient_hash.empty()) {
      sql += " AND json_extract(canonical, '$.fields.patient_id') = ?";
    }
    sql += " ORDER BY seq";
    auto s = db.prepare(sql);
    int index = 1;
    s.bind(index++, lo);
    s.bind(index++, hi);
    if (from_us) s.bind(index++, *from_us);
    if (to_us) s.bind(index++, *to_us);
    if (!filter.device.empty()) s.bind(index++, filter.device);
    if (!filter.category.empty()) s.bind(index++, filter.category);
    if (!filter.action.empty()) s.bind(index++, filter.action);
    if (!filter.patient_hash.empty()) s.bind(index++, filter.patient_hash);
    if (filter.format == "csv") {
      std::cout << "seq,time,appliance,device,category,action,outcome,severity,fields,hash\r\n";
    }
    while (s.step()) {
      const auto seq = s.column_int(0);
      const std::string_view canonical = s.column_text(8);
      const auto hash = s.column_blob(9);
      store::ChainHash h{};
      if (hash.size() == h.size()) std::copy(hash.begin(), hash.end(), h.begin());
      if (filter.format == "jsonl") {
        std::cout << R"({"seq":)" << seq << R"(,"hash":")" << store::to_hex(h) << R"(","record":)"
                  << canonical << "}\n";
        continue;
      }
      std::string fields = "{}";
      if (const auto f = canonical.find(R"("fields":)"); f != std::string_view::npos) {
        // Members are sorted: the fields object runs up to the top-level "outcome", the last
        // occurrence of that key (in a string value a quote would be escaped).
        const auto end = canonical.rfind(R"(,"outcome":)");
        if (end != std::string_view::npos && end > f)
          fields = std::string(canonical.substr(f + 9, end - f - 9));
      }
      std::cout << seq << "," << audit::format_time(audit::from_unix_us(s.column_int(1)));
      for (int i = 2; i < 8; ++i) std::cout << "," << csv_field(s.column_text(i));
      std::cout << "," << csv_field(fields) << "," << store::to_hex(h) << "\r\n";
    }
  } catch (const store::StoreError& e) {
    std::cerr << "wardgate audit dump: " << e.what() << "\n";
    return kExitBadConfig;
  }
  return std::cout.good() ? kExitOk : kExitFailure;
}

int audit_tail_command(const AuditStoreSelection& where, std::size_t count, bool follow,
                       unsigned poll_ms) {
  const std::string path = store_path(where);
  if (path.empty()) return kExitBadConfig;
  count = std::min(count, kMaxTail);
  try {
    store::Database db(path, store::Database::Mode::kReadOnly);
    std::int64_t after = 0;
    {
      auto s = db.prepare("SELECT coalesce(max(seq), 0) FROM records");
      s.step();
      after = std::max<std::int64_t>(0, s.column_int(0) - static_cast<std::int64_t>(count));
    }
    auto next = db.prepare("SELECT seq, canonical FROM records WHERE seq > ? ORDER BY seq LIMIT ?");
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    do {
      next.reset();
      next.bind(1, after).bind(2, static_cast<std::int64_t>(kMaxTail));
      while (next.step()) {
        after = next.column_int(0);
        std::cout << R"({"seq":)" << after << R"(,"record":)" << next.column_text(1) << "}\n";
      }
      std::cout.flush();
      if (!follow) break;
      for (unsigned waited = 0; waited < poll_ms && g_stop == 0; waited += 50) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    } while (g_stop == 0 && std::cout.good());
  } catch (const store::StoreError& e) {
    std::cerr << "wardgate audit tail: " << e.what() << "\n";
    return kExitBadConfig;
  }
  return kExitOk;
}

int audit_public_key_command(const AuditStoreSelection& where) {
  const std::string path = store_path(where);
  if (path.empty()) return kExitBadConfig;
  try {
    store::Database db(path, store::Database::Mode::kReadOnly);
    const auto key = store::read_meta(db, store::kMetaPublicKey);
    if (!key || !store::parse_public_key(*key)) {
      std::cerr << "wardgate audit public-key: " << path << ": holds no public key\n";
      return kExitFailure;
    }
    std::cout << *key << "\n";
  } catch (const store::StoreError& e) {
    std::cerr << "wardgate audit public-key: " << e.what() << "\n";
    return kExitBadConfig;
  }
  return kExitOk;
}

}  // namespace wardgate::app
