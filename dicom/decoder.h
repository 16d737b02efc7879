#pragma once
// Incremental DICOM Upper Layer decoder for one TCP connection, fed both directions in arbitrary
// chunks. Pure: no I/O, no exceptions, no clock of its own (the caller's TimeSource dates
// operations); memory bounded by DecoderLimits. Follows the
// Envoy/Suricata split: framing (pdu_framer, pdv_stream), parsing (association_parser,
// command_decoder and data_set_peek with DCMTK behind element_scanner), state (association_state,
// operation_tracker: the ledger of open operations, per-context reassembly in pdv_stream),
// emission (DecoderCallbacks, from decoder.cpp). A violation that loses the stream's framing
// (loses_sync()) is reported once through on_violation() and puts the whole connection out of
// sync: it interprets nothing more (the relay goes on; the policy decides whether to cut it). A
// violation inside a well-framed command set (a missing Message ID, a duplicate element, a SOP
// class other than its context's) is reported each time and decoding goes on, so that an
// audit-only deployment keeps auditing. Callbacks may query the decoder but must not feed() or
// skip() it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "dicom/model.h"

namespace wardgate::dicom {

struct DecoderLimits {
  // A PDU longer than the receiver's negotiated maximum plus this slack is a violation; before
  // negotiation, and when the maximum is 0 (unlimited), the absolute cap applies.
  std::uint32_t pdu_slack = 64 * 1024;
  std::uint32_t max_pdu_length = 16 * 1024 * 1024;
  std::uint32_t max_associate_pdu = 64 * 1024;    // A-ASSOCIATE-RQ/AC are buffered whole
  std::uint32_t max_command_set = 64 * 1024;      // command sets are reassembled whole
  std::uint32_t data_set_peek = 64 * 1024;        // prefix of each data set decoded for identifiers
  std::uint16_t max_presentation_contexts = 128;  // PS3.8 allows 128 (odd ids 1-255)
  // Items of any kind (sub-items included) in one association PDU. getscu alone proposes 128
  // contexts x 3 transfer syntaxes plus 128 role selections (over 800 items).
  std::uint16_t max_items = 4096;
  std::uint16_t max_outstanding_operations = 256;
};

enum class Violation : std::uint8_t {
  kUnknownPduType,
  kPduTooLong,     // beyond the negotiated maximum + slack, or the absolute cap
  kMalformedPdu,   // an item overruns its PDU, a length is inconsistent, ...
  kUnexpectedPdu,  // e.g. P-DATA before the association, a second A-ASSOCIATE-RQ
  kTooManyItems,
  kTooManyContexts,
  kBadPdv,  // PDV length odd, zero, or overrunning its PDU; unknown context id
  kCommandTooLong,
  kCommandUndecodable,  // DCMTK could not read the command set
  kTooManyOutstanding,
  // Inside a well-framed command set: reported, then the command itself (on_command()).
  kMissingMessageId,         // a request without Message ID (PS3.7 9.3)
  kDuplicateCommandElement,  // the same tag twice in one command set (PS3.5 7.1)
  kSopClassNotNegotiated,    // SOP class other than the context's abstract syntax (PS3.7 9.1.1)
};
const char* to_string(Violation v);
// Whether the decoder can no longer follow the stream after `v` (it goes out of sync for good).
bool loses_sync(Violation v);

class DecoderCallbacks {
 public:
  virtual ~DecoderCallbacks() = default;
  virtual void on_associate_request(const Associate& /*rq*/) {}
  virtual void on_associate_accept(const Associate& /*ac*/) {}
  virtual void on_associate_reject(const AssociateReject& /*rj*/) {}
  virtual void on_release_request(Side /*from*/) {}
  virtual void on_release_response(Side /*from*/) {}
  virtual void on_abort(Side /*from*/, const Abort& /*abort*/) {}
  // A complete command set; its data set (if any) follows in later PDVs.
  virtual void on_command(Side /*from*/, const Command& /*command*/) {}
  // Identifiers of a data set, once its peek prefix is complete (or the data set ended first).
  virtual void on_data_set_identifiers(Side /*from*/, std::uint8_t /*context_id*/,
                                       const DataSetIdentifiers& /*ids*/) {}
  // The last fragment of a data set: its total size.
  virtual void on_data_set_end(Side /*from*/, std::uint8_t /*context_id*/,
                               std::uint64_t /*bytes*/) {}
  // An operation's final response was decoded (right after its on_command()): the request with
  // what followed it. Operations still open are listed by Decoder::open_operations().
  virtual void on_operation(const Operation& /*op*/) {}
  // A violation that loses_sync() is reported once and nothing more follows for the connection;
  // the others come right before the on_command() of the command they concern.
  virtual void on_violation(Side /*from*/, Violation /*what*/, std::string_view /*detail*/) {}
};

// Loads what decoding needs once per process (DCMTK's data dictionary, about 8 ms) at start-up,
// so the first association does not pay for it on a proxy worker thread. Optional.
void prepare_decoding();

// The caller's clock, read when a command set is decoded, to date operations. Empty: every
// time is the steady clock's epoch.
using TimeSource = std::function<std::chrono::steady_clock::time_point()>;

class Decoder {
 public:
  Decoder(DecoderCallbacks& callbacks, DecoderLimits limits = {}, TimeSource now = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Feeds the next bytes of one direction.
  void feed(Side from, std::span<const std::byte> bytes);
  // How many of the next bytes from `from` the decoder does not need to see (data set bytes
  // beyond the peek prefix, within the current PDV): the relay may pass them unseen and report
  // them with skip(). 0 when the next bytes must be fed. Once out of sync: UINT64_MAX, i.e.
  // everything (the same value as proxy::Inspector::kAllOpaque): nothing is interpreted any more,
  // so the relay may splice the rest of the connection.
  std::uint64_t skippable(Side from) const;
  // `n` bytes (at most skippable(from)) were relayed without being fed.
  void skip(Side from, std::size_t n);
  // The direction `from` ended (FIN or reset). Ending inside a PDU is a violation (a truncated
  // PDU); ending between PDUs is not, whatever the association state.
  void end_of_stream(Side from);

  // Operations without a final response so far, by requester (client first) and Message ID.
  // Out of sync, the ones open at the violation.
  std::vector<Operation> open_operations() const;

  bool in_sync() const;
  // Whether the bytes of `from` fed so far end on a PDU boundary (so a PDU of our own, e.g. an
  // A-ABORT, can follow them without corrupting the stream). Out of sync, the answer stays the
  // one of the moment of the violation (bytes fed afterwards are not looked at): right inside
  // on_violation() for the other direction, stale once more of it was relayed. For the
  // violating direction it describes the stream before the violating PDU only if that PDU's
  // first byte was the violation (an unknown PDU type).
  bool at_pdu_boundary(Side from) const;
  // Bytes the decoder holds in buffers right now (PDU bodies, command sets, peek prefixes); for
  // tests and memory accounting. Bounded by the limits, whatever the input.
  std::size_t buffered_bytes() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wardgate::dicom
