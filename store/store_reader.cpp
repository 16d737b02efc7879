#include "store/store_reader.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "audit/event_decode.h"
#include "store/store_error.h"

namespace wardgate::store {
namespace {

constexpr std::size_t kMaxReadBatch = 10000;

}  // namespace

StoreReader::StoreReader(const std::string& path, std::string appliance_id)
    : appliance_id_(std::move(appliance_id)),
      db_(std::make_unique<Database>(path, Database::Mode::kReadOnly)) {}

std::vector<StoredRecord> StoreReader::read_after(std::uint64_t after, std::size_t max,
                                                  std::uint64_t committed_seq,
                                                  std::error_code& ec) {
  ec.clear();
  std::vector<StoredRecord> out;
  max = std::min(max, kMaxReadBatch);
  if (max == 0) return out;
  const std::lock_guard lock(mutex_);
  try {
    auto s = db_->prepare(
        "SELECT seq, canonical FROM records WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?");
    s.bind(1, static_cast<std::int64_t>(after))
        .bind(2, static_cast<std::int64_t>(committed_seq))
        .bind(3, static_cast<std::int64_t>(max));
    while (s.step()) {
      StoredRecord r;
      r.seq = static_cast<std::uint64_t>(s.column_int(0));
      r.canonical = std::string(s.column_text(1));
      if (auto e = audit::event_from_json(r.canonical)) {
        r.event = std::move(*e);
      } else {
        // Damaged on disk (verify reports it); hand it on as such rather than stop the export.
        spdlog::warn("audit store {}: record {} cannot be decoded", db_->path(), r.seq);
        r.event.time = std::chrono::system_clock::now();
        r.event.appliance_id = appliance_id_;
        r.event.device = appliance_id_;
        r.event.category = "audit";
        r.event.action = "record-unreadable";
        r.event.outcome = audit::Outcome::kFailure;
        r.event.severity = audit::Severity::kAlert;
        r.event.fields.set("seq", r.seq);
      }
      out.push_back(std::move(r));
    }
  } catch (const StoreError& e) {
    spdlog::warn("audit store {}: reading records after {}: {}", db_->path(), after, e.what());
    ec = Errc::kReadFailed;
    out.clear();
  }
  return out;
}

std::uint64_t StoreReader::load_cursor(std::string_view destination) {
  const std::lock_guard lock(mutex_);
  auto s = db_->prepare("SELECT seq FROM cursors WHERE destination = ?");
  s.bind(1, destination);
  if (!s.step()) return 0;
  return static_cast<std::uint64_t>(s.column_int(0));
}

}  // namespace wardgate::store
