#pragma once
// Verification of an audit store (`wardgate audit verify`): recomputes the hash chain from its
// start (genesis, or the checkpoint retention left as anchor) and checks every checkpoint's
// Ed25519 signature and hash. Tampering is reported by sequence number:
//   modified   a record whose content (or hash, or an indexed column) no longer matches its chain
//   deleted    a gap in the sequence numbers, or records missing before a checkpoint; a missing
//              prefix 1..C counts as deleted unless a retention-prune record (retention.h),
//              itself intact and signed, says records 1..C were pruned with checkpoint C kept
//   inserted   a record the chain does not pass through (the records after it link past it)
//   reordered  records that are all there but in another order
// Records after the last checkpoint are chained but not signed: someone able to recompute BLAKE2b
// could rewrite them undetected; the report says how many there are.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/checkpoint_signer.h"

namespace wardgate::store {

enum class FindingKind : std::uint8_t {
  kModified,
  kDeleted,
  kInserted,
  kReordered,
  kChainBroken,         // a link fails in a way none of the above explains
  kCheckpointInvalid,   // bad signature (or malformed)
  kCheckpointMismatch,  // the chain at the checkpoint's seq is not the hash it signed
};
const char* to_string(FindingKind kind);

struct Finding {
  FindingKind kind;
  std::uint64_t seq = 0;      // first sequence number concerned
  std::uint64_t seq_end = 0;  // last one (== seq for a single record)
  std::string detail;
};

struct VerifyOptions {
  // Only records in [from_seq, to_seq] are reported on; the chain is still recomputed from the
  // last checkpoint before from_seq.
  std::optional<std::uint64_t> from_seq;
  std::optional<std::uint64_t> to_seq;
  std::optional<std::int64_t> from_time_us;  // converted to seqs through the time index
  std::optional<std::int64_t> to_time_us;
  // The key an auditor trusts (exported earlier); without it the store's own copy is used, which
  // proves only that the store is consistent with itself.
  std::optional<PublicKey> public_key;
};

struct VerifyReport {
  std::uint64_t first_seq = 0;  // first record checked (0: none)
  std::uint64_t last_seq = 0;
  std::uint64_t records = 0;
  std::uint64_t checkpoints = 0;              // checkpoints whose signature and hash were checked
  std::optional<std::uint64_t> anchor;        // checkpoint the chain started from (retention)
  std::optional<std::uint64_t> prune_record;  // the retention record covering 1..anchor
  std::uint64_t last_checkpoint = 0;          // records after it are not yet signed
  bool key_from_store = false;
  std::vector<Finding> findings;  // at most kMaxFindings
  std::uint64_t findings_not_listed = 0;
  bool intact() const { return findings.empty() && findings_not_listed == 0; }
};

constexpr std::size_t kMaxFindings = 10000;

// Throws StoreError if the store cannot be opened or read at all.
VerifyReport verify_store(const std::string& path, const VerifyOptions& options);

}  // namespace wardgate::store
