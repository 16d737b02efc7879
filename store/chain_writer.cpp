#include "store/chain_writer.h"

#include <algorithm>

#include "audit/event_decode.h"

namespace wardgate::store {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kRowsPerInsert = 16;
constexpr int kRecordColumns = 10;

}  // namespace

ChainWriter::ChainWriter(Database& db, const CheckpointSigner& signer, Schedule schedule)
    : db_(db), signer_(signer), schedule_(schedule) {
  Position& p = position_;
  {
    auto last = db_.prepare("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1");
    auto anchor = db_.prepare("SELECT seq, hash FROM checkpoints ORDER BY seq DESC LIMIT 1");
    p.prev_hash = kGenesisHash;
    p.next_seq = 1;
    if (last.step()) {
      const auto blob = last.column_blob(1);
      if (blob.size() != kChainHashBytes) {
        throw StoreError(db_.path() +
                         ": the last record's hash is damaged; run wardgate audit "
                         "verify and move the store aside");
      }
      std::copy(blob.begin(), blob.end(), p.prev_hash.begin());
      p.next_seq = static_cast<std::uint64_t>(last.column_int(0)) + 1;
    }
    if (anchor.step()) {
      p.last_checkpoint_seq = static_cast<std::uint64_t>(anchor.column_int(0));
      if (p.last_checkpoint_seq >= p.next_seq) {
        const auto blob = anchor.column_blob(1);
        if (blob.size() != kChainHashBytes) throw StoreError(db_.path() + ": damaged checkpoint");
        std::copy(blob.begin(), blob.end(), p.prev_hash.begin());
        p.next_seq = p.last_checkpoint_seq + 1;
      }
    }
  }
  {
    auto zone = db_.prepare(
        "SELECT first_seq, last_seq, min_time_us, max_time_us FROM time_zones "
        "ORDER BY first_seq DESC LIMIT 1");
    if (zone.step()) {
      p.zone = TimeZone{static_cast<std::uint64_t>(zone.column_int(0)),
                        static_cast<std::uint64_t>(zone.column_int(1)), zone.column_int(2),
                        zone.column_int(3), false};
    }
  }
  p.last_checkpoint_time = Clock::now();
  const std::string insert =
      "INSERT INTO records(seq, time_us, appliance, device, category, action, outcome, severity, "
      "canonical, hash) VALUES(?,?,?,?,?,?,?,?,?,?)";
  insert_one_ = std::make_unique<Statement>(db_.prepare(insert));
  std::string many = insert;
  for (std::size_t i = 1; i < kRowsPerInsert; ++i) many += ",(?,?,?,?,?,?,?,?,?,?)";
  insert_many_ = std::make_unique<Statement>(db_.prepare(many));
  staged_.reserve(kRowsPerInsert);
}

ChainWriter::~ChainWriter() = default;

void ChainWriter::append(const PendingRecord& record) {
  Position& p = position_;
  const ChainHash hash = chain_next(p.prev_hash, record.canonical());
  if (p.zone.first_seq == 0 || p.next_seq - p.zone.first_seq >= kTimeZoneRecords) {
    save_zone();
    p.zone = TimeZone{p.next_seq, p.next_seq, record.time_us, record.time_us, true};
  }
  p.zone.last_seq = p.next_seq;
  p.zone.min_time_us = std::min(p.zone.min_time_us, record.time_us);
  p.zone.max_time_us = std::max(p.zone.max_time_us, record.time_us);
  p.zone.dirty = true;
  staged_.push_back(Staged{&record, p.next_seq, hash});
  p.prev_hash = hash;
  ++p.next_seq;
  if (staged_.size() == kRowsPerInsert) flush();
  if (schedule_.every_records > 0 &&
      last_seq() - p.last_checkpoint_seq >= schedule_.every_records) {
    sign_checkpoint();
  }
}

void ChainWriter::bind(Statement& s, int first, const Staged& row) {
  const PendingRecord& r = *row.record;
  s.bind(first, static_cast<std::int64_t>(row.seq))
      .bind(first + 1, r.time_us)
      .bind_static(first + 2, r.part(0))
      .bind_static(first + 3, r.part(1))
      .bind_static(first + 4, r.part(2))
      .bind_static(first + 5, r.part(3))
      .bind_static(first + 6, audit::to_string(r.outcome))
      .bind_static(first + 7, audit::to_string(r.severity))
      .bind_static(first + 8, r.canonical())
      .bind_blob_static(first + 9, row.hash.data(), row.hash.size());
}

void ChainWriter::flush() {
  if (staged_.size() == kRowsPerInsert) {
    auto& s = *insert_many_;
    for (std::size_t i = 0; i < staged_.size(); ++i) {
      bind(s, 1 + static_cast<int>(i) * kRecordColumns, staged_[i]);
    }
    s.step();
    s.reset();
  } else {
    auto& s = *insert_one_;
    for (const auto& row : staged_) {
      bind(s, 1, row);
      s.step();
      s.reset();
    }
  }
  staged_.clear();
}

void ChainWriter::save_zone() {
  TimeZone& z = position_.zone;
  if (!z.dirty) return;
  auto s = db_.prepare(
      "INSERT OR REPLACE INTO time_zones(first_seq, last_seq, min_time_us, max_time_us) "
      "VALUES(?,?,?,?)");
  s.bind(1, static_cast<std::int64_t>(z.first_seq))
      .bind(2, static_cast<std::int64_t>(z.last_seq))
      .bind(3, z.min_time_us)
      .bind(4, z.max_time_us);
  s.step();
  z.dirty = false;
}

bool ChainWriter::checkpoint_due() const {
  const std::uint64_t last = last_seq();
  const Position& p = position_;
  if (last <= p.last_checkpoint_seq) return false;
  if (schedule_.every_records > 0 && last - p.last_checkpoint_seq >= schedule_.every_records) {
    return true;
  }
  return schedule_.every.count() > 0 && Clock::now() - p.last_checkpoint_time >= schedule_.every;
}

void ChainWriter::sign_checkpoint() {
  const std::uint64_t seq = last_seq();
  const Checkpoint c =
      signer_.sign(seq, position_.prev_hash, audit::to_unix_us(std::chrono::system_clock::now()));
  auto s = db_.prepare(
      "INSERT OR REPLACE INTO checkpoints(seq, hash, signed_at_us, signature) VALUES(?,?,?,?)");
  s.bind(1, static_cast<std::int64_t>(c.seq))
      .bind_blob(2, c.hash.data(), c.hash.size())
      .bind(3, c.signed_at_us)
      .bind_blob(4, c.signature.data(), c.signature.size());
  s.step();
  position_.last_checkpoint_seq = seq;
  position_.last_checkpoint_time = Clock::now();
  checkpoints_.fetch_add(1, std::memory_order_relaxed);
}

ChainWriter::Position ChainWriter::position() const { return position_; }

void ChainWriter::rewind(const Position& p) {
  staged_.clear();
  position_ = p;
}

}  // namespace wardgate::store
