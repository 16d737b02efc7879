#pragma once
// P-DATA-TF bodies of one direction (PS3.8 9.3.5, Annex E): PDV item headers, and per
// presentation context the message being reassembled. Command fragments are reassembled whole
// (capped); data set fragments are counted, only the first limits.data_set_peek bytes of each
// data set are kept for the identifier peek. Pull-style: next() consumes input until something
// happened, so the decoder loop has no per-byte calls and no callbacks into it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "dicom/decoder.h"
#include "dicom/failure.h"

namespace wardgate::dicom {

class PdvStream {
 public:
  struct Event {
    enum class Kind : std::uint8_t {
      kNone,         // all input consumed, or the P-DATA-TF PDU ended
      kCommand,      // a complete command set: bytes; answer with command_done()
      kDataSetPeek,  // a data set's prefix is complete (or the data set ended first): bytes
      kDataSetEnd,   // the last fragment of a data set: total
      kViolation,    // see failure()
    };
    Kind kind = Kind::kNone;
    std::uint8_t context_id = 0;
    std::uint16_t command_field = 0;   // data set events: the command that announced it
    bool whole = false;                // kDataSetPeek: the prefix is the whole data set
    std::span<const std::byte> bytes;  // valid until the next call
    std::uint64_t total = 0;
  };

  explicit PdvStream(const DecoderLimits& limits);

  // The presentation contexts the A-ASSOCIATE-AC accepted; PDVs name no others.
  void set_accepted_contexts(std::span<const std::uint8_t> ids);
  // A P-DATA-TF body of `length` bytes follows.
  std::optional<Failure> begin_pdu(std::uint32_t length);
  // Inside a P-DATA-TF body or with events still to hand out: next() must be called.
  bool busy() const { return pdu_left_ > 0 || in_fragment_ || pending_end_ || release_pending_; }
  // Consumes from the front of `in` (never beyond the PDU) up to the next event.
  Event next(std::span<const std::byte>& in);
  const Failure& failure() const { return failure_; }
  // The decoder's answer to kCommand: whether a data set follows on that context, whether its
  // prefix should be kept for the peek, and the command's field (echoed in data set events).
  void command_done(std::uint8_t context_id, bool data_set, bool peek, std::uint16_t field);

  // Data set bytes beyond the peek prefix left in the current PDV (0 when the next bytes matter).
  std::uint64_t skippable() const;
  // `n` <= skippable() bytes went by unseen; call next() afterwards (the PDV may have ended).
  void skip(std::uint64_t n);

  std::size_t buffered_bytes() const { return buffered_; }
  // Out of sync: free every buffer.
  void release();

 private:
  enum class Phase : std::uint8_t { kIdle, kCommand, kDataSetExpected, kDataSet };
  struct Context {
    std::uint8_t id = 0;
    Phase phase = Phase::kIdle;
    bool peek = false;       // the current data set's prefix is wanted
    bool peek_done = false;  // the prefix was handed out (or is not wanted)
    std::uint16_t command_field = 0;
    std::uint64_t data_bytes = 0;
    std::vector<std::byte> buffer;  // command set being reassembled, or the peek prefix
  };

  Event start_fragment();
  Event finish_fragment();
  Event data_set_end(Context& c);
  Event fail(Violation what, std::string detail);
  void append(Context& c, std::span<const std::byte> bytes, std::size_t cap);
  void release_buffer(Context& c);
  Context& current() { return contexts_[current_]; }

  std::uint32_t max_command_set_;
  std::uint32_t peek_limit_;
  std::size_t budget_;  // bytes buffered across all contexts of this direction

  std::vector<Context> contexts_;
  std::array<std::uint8_t, 256> slot_{};  // context id -> index + 1 in contexts_, 0: not accepted

  std::uint32_t pdu_left_ = 0;  // bytes of the current P-DATA-TF body not consumed yet
  std::array<std::byte, 6> header_{};
  std::size_t header_have_ = 0;
  bool in_fragment_ = false;
  bool fragment_command_ = false;
  bool fragment_last_ = false;
  std::uint32_t fragment_left_ = 0;
  std::size_t current_ = 0;
  bool pending_end_ = false;      // a kDataSetEnd follows the kDataSetPeek just handed out
  bool release_pending_ = false;  // the handed-out prefix can be freed on the next call
  std::size_t buffered_ = 0;
  Failure failure_{Violation::kBadPdv, {}};
};

}  // namespace wardgate::dicom
