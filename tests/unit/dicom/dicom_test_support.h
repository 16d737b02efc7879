#pragma once
// Shared by the DICOM decoder tests: loading recordings (tests/data/dicom/*.rec, written by
// tests/tools/record-dicom-streams), a callback sink that logs everything into one string (two
// runs are identical iff their logs are), feeding strategies, and builders for hand-made PDUs.
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "dicom/decoder.h"

namespace wardgate::dicom::testing {

struct Chunk {
  Side side;
  std::vector<std::byte> bytes;
};
using Recording = std::vector<Chunk>;

std::string data_dir();
// Reads a [1 byte side][4 bytes length BE][bytes]... file; empty on error (the test fails then).
Recording load_recording(const std::string& name);
std::vector<std::string> recording_names();
std::size_t total_bytes(const Recording& r);

// Logs every callback as one line.
class LogCallbacks : public DecoderCallbacks {
 public:
  std::string log;
  int violations = 0;
  std::uint64_t data_set_bytes = 0;

  void on_associate_request(const Associate& rq) override;
  void on_associate_accept(const Associate& ac) override;
  void on_associate_reject(const AssociateReject& rj) override;
  void on_release_request(Side from) override;
  void on_release_response(Side from) override;
  void on_abort(Side from, const Abort& abort) override;
  void on_command(Side from, const Command& command) override;
  void on_data_set_identifiers(Side from, std::uint8_t context_id,
                               const DataSetIdentifiers& ids) override;
  void on_data_set_end(Side from, std::uint8_t context_id, std::uint64_t bytes) override;
  void on_violation(Side from, Violation what, std::string_view detail) override;
};

struct RunResult {
  std::string log;
  int violations = 0;
  std::uint64_t skipped = 0;  // bytes passed with skip() instead of feed()
  std::size_t max_buffered = 0;
  bool in_sync = true;
};

// Feeds each recorded chunk whole.
RunResult feed_whole(const Recording& r, const DecoderLimits& limits = {});
// Feeds each chunk in pieces of the sizes `next_size` returns (>= 1).
template <typename NextSize>
RunResult feed_pieces(const Recording& r, NextSize next_size, const DecoderLimits& limits = {});
// Like a relay with zero-copy: before each piece, the bytes skippable() allows are skipped.
RunResult feed_skipping(const Recording& r, std::mt19937& rng, const DecoderLimits& limits = {});
// The whole recording with the chunk holding global offset `at` split there.
RunResult feed_split_at(const Recording& r, std::size_t at, const DecoderLimits& limits = {});

// Hand-made PDUs (PS3.8 9.3), for the malformed-input tests.
std::vector<std::byte> bytes_of(std::string_view s);
std::vector<std::byte> pdu(std::uint8_t type, const std::vector<std::byte>& body);
std::vector<std::byte> item(std::uint8_t type, const std::vector<std::byte>& value);
std::vector<std::byte> be16(std::uint16_t v);
std::vector<std::byte> be32(std::uint32_t v);
std::vector<std::byte> concat(std::initializer_list<std::vector<std::byte>> parts);
// A-ASSOCIATE-RQ/AC with the given items after the fixed fields.
std::vector<std::byte> associate(std::uint8_t type, const std::vector<std::byte>& items);
// An RQ proposing Verification (context 1, Implicit VR LE), and the AC accepting it.
std::vector<std::byte> echo_rq();
std::vector<std::byte> echo_ac();
// A P-DATA-TF with one PDV.
std::vector<std::byte> pdata(std::uint8_t context, std::uint8_t control,
                             const std::vector<std::byte>& fragment);
// An Implicit VR LE element.
std::vector<std::byte> element(std::uint16_t group, std::uint16_t elem,
                               const std::vector<std::byte>& value);
std::vector<std::byte> le16(std::uint16_t v);
// A C-ECHO-RQ command set (Message ID `id`).
std::vector<std::byte> echo_command(std::uint16_t id);

template <typename NextSize>
RunResult feed_pieces(const Recording& r, NextSize next_size, const DecoderLimits& limits) {
  LogCallbacks cb;
  Decoder decoder(cb, limits);
  RunResult result;
  for (const Chunk& c : r) {
    std::span<const std::byte> rest(c.bytes);
    while (!rest.empty()) {
      const std::size_t n = std::min<std::size_t>(next_size(), rest.size());
      decoder.feed(c.side, rest.first(n));
      rest = rest.subspan(n);
      result.max_buffered = std::max(result.max_buffered, decoder.buffered_bytes());
    }
  }
  result.log = cb.log;
  result.violations = cb.violations;
  result.in_sync = decoder.in_sync();
  return result;
}

}  // namespace wardgate::dicom::testing
