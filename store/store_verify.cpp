#include "store/store_verify.h"

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <set>

#include "audit/event_decode.h"
#include "store/hash_chain.h"
#include "store/retention.h"
#include "store/store_schema.h"

namespace wardgate::store {
namespace {

constexpr std::size_t kWindow = 16;  // records looked ahead to tell inserted from reordered

struct Row {
  std::uint64_t seq = 0;
  std::int64_t time_us = 0;
  std::array<std::string, 6> columns;  // appliance, device, category, action, outcome, severity
  std::string canonical;
  ChainHash hash{};
  bool hash_well_formed = false;
};

bool links(const ChainHash& previous, const Row& row) {
  return row.hash_well_formed && chain_next(previous, row.canonical) == row.hash;
}

// What a retention-prune record says it removed (1..the value), if `row` is one.
std::optional<std::uint64_t> pruned_through(const Row& row) {
  const auto event = audit::event_from_json(row.canonical);
  if (!event || event->category != "audit" || event->action != kPruneAction) return std::nullopt;
  const auto* v = event->fields.find(kPrunedThroughField);
  if (v == nullptr) return std::nullopt;
  if (const auto* u = std::get_if<std::uint64_t>(v)) return *u;
  if (const auto* i = std::get_if<std::int64_t>(v); i != nullptr && *i > 0) {
    return static_cast<std::uint64_t>(*i);
  }
  return std::nullopt;
}

class Verifier {
 public:
  Verifier(Database& db, const VerifyOptions& options, VerifyReport& report)
      : db_(db), options_(options), report_(report) {}

  void run();

 private:
  void add(FindingKind kind, std::uint64_t seq, std::uint64_t seq_end, std::string detail);
  void load_checkpoints(std::uint64_t from, std::uint64_t to);
  bool fill(Statement& rows, std::deque<Row>& window);
  void check_columns(const Row& row);
  void passed(std::uint64_t seq, const ChainHash& chain);
  void find_prune_record(std::uint64_t anchor);
  void judge_prefix(std::uint64_t anchor);

  Database& db_;
  const VerifyOptions& options_;
  VerifyReport& report_;
  PublicKey key_{};
  std::map<std::uint64_t, Checkpoint> checkpoints_;  // signature verified
  std::set<std::uint64_t> bad_checkpoints_;
  bool rows_done_ = false;
  std::uint64_t lo_ = 1;
  std::uint64_t hi_ = UINT64_MAX;
  // The retention record that should explain a missing prefix, and what the walk found of it:
  // it must link into the chain and be signed by the checkpoint written with it.
  std::uint64_t prune_record_ = 0;
  std::uint64_t prune_through_ = 0;
  bool prune_linked_ = false;
  bool prune_signed_ = false;
};

void Verifier::add(FindingKind kind, std::uint64_t seq, std::uint64_t seq_end, std::string detail) {
  if (seq_end < lo_ || seq > hi_) return;
  if (report_.findings.size() >= kMaxFindings) {
    ++report_.findings_not_listed;
    return;
  }
  report_.findings.push_back(Finding{kind, seq, seq_end, std::move(detail)});
}

void Verifier::load_checkpoints(std::uint64_t from, std::uint64_t to) {
  auto s = db_.prepare(
      "SELECT seq, hash, signed_at_us, signature FROM checkpoints WHERE seq >= ? AND seq <= ? "
      "ORDER BY seq");
  s.bind(1, static_cast<std::int64_t>(from)).bind(2, static_cast<std::int64_t>(to));
  while (s.step()) {
    Checkpoint c;
    c.seq = static_cast<std::uint64_t>(s.column_int(0));
    if (bad_checkpoints_.count(c.seq) != 0 || checkpoints_.count(c.seq) != 0) continue;
    const auto hash = s.column_blob(1);
    const auto signature = s.column_blob(3);
    c.signed_at_us = s.column_int(2);
    const bool well_formed = hash.size() == c.hash.size() && signature.size() == c.signature.size();
    if (well_formed) {
      std::copy(hash.begin(), hash.end(), c.hash.begin());
      std::copy(signature.begin(), signature.end(), c.signature.begin());
    }
    if (!well_formed || !verify_checkpoint(c, key_)) {
      bad_checkpoints_.insert(c.seq);
      add(FindingKind::kCheckpointInvalid, c.seq, c.seq,
          "checkpoint signature does not verify with " + format_public_key(key_));
      continue;
    }
    checkpoints_.emplace(c.seq, c);
  }
}

bool Verifier::fill(Statement& rows, std::deque<Row>& window) {
  // sqlite restarts a statement stepped after its end: remember the end.
  while (!rows_done_ && window.size() < kWindow) {
    if (!rows.step()) {
      rows_done_ = true;
      break;
    }
    Row r;
    r.seq = static_cast<std::uint64_t>(rows.column_int(0));
    r.time_us = rows.column_int(1);
    for (std::size_t i = 0; i < r.columns.size(); ++i) {
      r.columns[i] = std::string(rows.column_text(2 + static_cast<int>(i)));
    }
    const auto canonical = rows.column_text(8);
    r.canonical = std::string(canonical.substr(0, audit::kMaxCanonicalBytes + 1));
    const auto hash = rows.column_blob(9);
    r.hash_well_formed = hash.size() == r.hash.size();
    if (r.hash_well_formed) std::copy(hash.begin(), hash.end(), r.hash.begin());
    window.push_back(std::move(r));
  }
  return !window.empty();
}

void Verifier::check_columns(const Row& row) {
  std::string why;
  const auto event = audit::event_from_json(row.canonical, &why);
  if (!event) {
    add(FindingKind::kModified, row.seq, row.seq, "record is not a canonical event: " + why);
    return;
  }
  const std::array<std::string, 6> expected = {
      event->appliance_id,       event->device,
      event->category,           event->action,
      to_string(event->outcome), to_string(event->severity)};
  static constexpr std::array<const char*, 6> kNames = {"appliance", "device",  "category",
                                                        "action",    "outcome", "severity"};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (row.columns[i] != expected[i]) {
      add(FindingKind::kModified, row.seq, row.seq,
          std::string("column ") + kNames[i] + " differs from the hashed record");
      return;
    }
  }
  if (row.time_us != audit::to_unix_us(event->time)) {
    add(FindingKind::kModified, row.seq, row.seq, "column time_us differs from the hashed record");
  }
}

void Verifier::passed(std::uint64_t seq, const ChainHash& chain) {
  report_.records += 1;
  if (report_.first_seq == 0) report_.first_seq = seq;
  report_.last_seq = seq;
  const auto it = checkpoints_.find(seq);
  if (it == checkpoints_.end()) return;
  report_.checkpoints += 1;
  report_.last_checkpoint = seq;
  if (seq == prune_record_ && it->second.hash == chain) prune_signed_ = true;
  if (it->second.hash != chain) {
    add(FindingKind::kCheckpointMismatch, seq, seq,
        "the chain at this record is not the hash the checkpoint signed (records before it were "
        "renumbered, or rewritten with recomputed hashes)");
  }
}

void Verifier::find_prune_record(std::uint64_t anchor) {
  // The record removing the most, up to the anchor: it explains the prefix, or all but the end
  // of it.
  auto s = db_.prepare(
      "SELECT seq, json_extract(canonical, '$.fields.' || ?) AS through FROM records "
      "WHERE seq > ? AND category = 'audit' AND action = ? AND through <= ? "
      "ORDER BY through DESC, seq DESC LIMIT 1");
  s.bind(1, std::string_view(kPrunedThroughField));
  s.bind(2, static_cast<std::int64_t>(anchor)).bind(3, std::string_view(kPruneAction));
  s.bind(4, static_cast<std::int64_t>(anchor));
  if (!s.step()) return;
  prune_record_ = static_cast<std::uint64_t>(s.column_int(0));
}

void Verifier::judge_prefix(std::uint64_t anchor) {
  const bool authentic = prune_linked_ && prune_signed_;
  if (authentic && prune_through_ == anchor) {
    report_.anchor = anchor;
    report_.prune_record = prune_record_;
  } else if (authentic && prune_through_ < anchor) {
    add(FindingKind::kDeleted, prune_through_ + 1, anchor,
        "missing before signed checkpoint " + std::to_string(anchor) +
            "; retention (the record at seq " + std::to_string(prune_record_) +
            ") removed only 1-" + std::to_string(prune_through_));
  } else {
    add(FindingKind::kDeleted, 1, anchor,
        "missing before signed checkpoint " + std::to_string(anchor) +
            " and no intact retention-prune record covers them (removed outside retention)");
  }
}

void Verifier::run() {
  if (options_.public_key) {
    key_ = *options_.public_key;
  } else {
    const auto stored = read_meta(db_, kMetaPublicKey);
    const auto parsed = stored ? parse_public_key(*stored) : std::nullopt;
    if (!parsed) throw StoreError(db_.path() + ": holds no checkpoint public key");
    key_ = *parsed;
    report_.key_from_store = true;
  }
  if (options_.from_seq) lo_ = *options_.from_seq;
  if (options_.to_seq) hi_ = *options_.to_seq;
  if (options_.from_time_us) {
    lo_ = std::max(lo_, first_seq_at_or_after(db_, *options_.from_time_us).value_or(UINT64_MAX));
  }
  if (options_.to_time_us) {
    hi_ = std::min(hi_, last_seq_at_or_before(db_, *options_.to_time_us).value_or(0));
  }
  if (lo_ > hi_) return;

  std::uint64_t first_record = 0;
  std::uint64_t last_record = 0;
  {
    auto s = db_.prepare("SELECT min(seq), max(seq) FROM records");
    if (s.step() && !s.column_null(0)) {
      first_record = static_cast<std::uint64_t>(s.column_int(0));
      last_record = static_cast<std::uint64_t>(s.column_int(1));
    }
  }
  // Start: the last good checkpoint before the range (or before the first record), else genesis.
  std::uint64_t start_after = 0;
  ChainHash cur = kGenesisHash;
  const std::uint64_t begin = first_record == 0 ? lo_ : std::max(lo_, first_record);
  {
    auto s = db_.prepare("SELECT seq FROM checkpoints WHERE seq < ? ORDER BY seq DESC");
    s.bind(1, static_cast<std::int64_t>(std::min<std::uint64_t>(begin, INT64_MAX)));
    std::vector<std::uint64_t> candidates;
    while (s.step() && candidates.size() < 64) {
      candidates.push_back(static_cast<std::uint64_t>(s.column_int(0)));
    }
    load_checkpoints(candidates.empty() ? 0 : candidates.back(),
                     candidates.empty() ? 0 : candidates.front());
    for (const auto seq : candidates) {
      if (const auto it = checkpoints_.find(seq); it != checkpoints_.end()) {
        start_after = seq;
        cur = it->second.hash;
        break;
      }
    }
  }
  // Records before the checkpoint the chain starts from are missing: only retention may have
  // removed them, and then a record of it lies further on.
  const bool prefix_missing = start_after > 0 && start_after < first_record;
  if (prefix_missing) find_prune_record(start_after);
  load_checkpoints(start_after + 1, UINT64_MAX >> 1);

  auto rows = db_.prepare(
      "SELECT seq, time_us, appliance, device, category, action, outcome, severity, canonical, "
      "hash FROM records WHERE seq > ? AND seq <= ? ORDER BY seq");
  const std::uint64_t stop = std::max(hi_ == UINT64_MAX ? (UINT64_MAX >> 1) : hi_, prune_record_);
  rows.bind(1, static_cast<std::int64_t>(start_after)).bind(2, static_cast<std::int64_t>(stop));
  std::deque<Row> window;
  std::uint64_t expected = start_after + 1;
  if (start_after == 0 && first_record > 1) {
    add(FindingKind::kDeleted, 1, first_record - 1,
        "records missing at the start and no signed checkpoint anchors the rest");
    expected = first_record;
  }
  while (fill(rows, window)) {
    Row& r = window.front();
    if (r.seq != expected) {
      add(FindingKind::kDeleted, expected, r.seq - 1, "missing from the sequence");
      // The link of the record after a gap cannot be checked; the chain resumes from its hash.
      check_columns(r);
      cur = r.hash;
      passed(r.seq, cur);
      expected = r.seq + 1;
      window.pop_front();
      continue;
    }
    if (links(cur, r)) {
      if (r.seq == prune_record_) {
        const auto through = pruned_through(r);
        prune_linked_ = through.has_value();
        prune_through_ = through.value_or(0);
      }
      check_columns(r);
      cur = r.hash;
      passed(r.seq, cur);
      ++expected;
      window.pop_front();
      continue;
    }
    // The link fails: rebuild the chain through the window to see which records belong where.
    std::vector<std::size_t> order;
    std::vector<bool> used(window.size(), false);
    ChainHash c = cur;
    std::size_t prefix = 0;
    std::size_t highest = 0;
    while (order.size() < window.size()) {
      std::size_t k = 0;
      while (k < window.size() && (used[k] || !links(c, window[k]))) ++k;
      if (k == window.size()) break;
      used[k] = true;
      order.push_back(k);
      highest = std::max(highest, k);
      c = window[k].hash;
      if (highest + 1 == order.size()) {
        prefix = order.size();
        break;
      }
    }
    if (prefix >= 2) {
      for (std::size_t i = 0; i < prefix; ++i) {
        if (order[i] != i) {
          add(FindingKind::kReordered, window[i].seq, window[i].seq,
              "holds the record that belongs at seq " + std::to_string(window[order[i]].seq));
        }
      }
      for (std::size_t i = 0; i < prefix; ++i) {
        check_columns(window[i]);
        cur = window[order[i]].hash;
        passed(window[i].seq, cur);
      }
      expected += prefix;
      window.erase(window.begin(), window.begin() + static_cast<std::ptrdiff_t>(prefix));
      continue;
    }
    if (!order.empty()) {
      add(FindingKind::kInserted, r.seq, r.seq,
          "not part of the chain: the records after it link to the one before it");
      ++expected;
      window.pop_front();
      continue;
    }
    const ChainHash recomputed = chain_next(cur, r.canonical);
    if (window.size() > 1 && links(r.hash, window[1])) {
      add(FindingKind::kModified, r.seq, r.seq, "content does not match its hash");
      cur = r.hash;
    } else if (window.size() > 1 && links(recomputed, window[1])) {
      add(FindingKind::kModified, r.seq, r.seq, "hash altered (content intact)");
      cur = recomputed;
    } else if (window.size() == 1) {
      add(FindingKind::kModified, r.seq, r.seq,
          "last record does not match its hash (modified, or appended)");
      cur = r.hash;
    } else {
      add(FindingKind::kChainBroken, r.seq, r.seq, "does not link to the record before it");
      cur = r.hash;
    }
    check_columns(r);
    passed(r.seq, cur);
    ++expected;
    window.pop_front();
  }
  if (prefix_missing) judge_prefix(start_after);
  // Checkpoints past the last record: records were cut off the end.
  if (!checkpoints_.empty()) {
    const auto& [last_cp, cp] = *checkpoints_.rbegin();
    if (last_cp > last_record && last_cp <= stop) {
      add(FindingKind::kDeleted, last_record + 1, last_cp,
          "records up to signed checkpoint " + std::to_string(last_cp) + " are missing");
    }
  }
}

}  // namespace

const char* to_string(FindingKind kind) {
  switch (kind) {
    case FindingKind::kModified:
      return "modified";
    case FindingKind::kDeleted:
      return "deleted";
    case FindingKind::kInserted:
      return "inserted";
    case FindingKind::kReordered:
      return "reordered";
    case FindingKind::kChainBroken:
      return "chain-broken";
    case FindingKind::kCheckpointInvalid:
      return "checkpoint-invalid";
    case FindingKind::kCheckpointMismatch:
      return "checkpoint-mismatch";
  }
  return "unknown";
}

VerifyReport verify_store(const std::string& path, const VerifyOptions& options) {
  Database db(path, Database::Mode::kReadOnly);
  VerifyReport report;
  db.exec("BEGIN");  // one consistent snapshot while the writer goes on
  Verifier(db, options, report).run();
  db.exec("COMMIT");
  return report;
}

}  // namespace wardgate::store
