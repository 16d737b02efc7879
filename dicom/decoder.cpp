// The decoder proper: routes each direction's bytes through the PDU framer, the association
// parser and the PDV stream, keeps the association state, and turns what they find into
// callbacks. One violation puts the whole connection out of sync for good.
#include "dicom/decoder.h"

#include <array>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include "dicom/association_parser.h"
#include "dicom/association_state.h"
#include "dicom/command_decoder.h"
#include "dicom/data_set_peek.h"
#include "dicom/operation_tracker.h"
#include "dicom/pdu_framer.h"
#include "dicom/pdv_stream.h"
#include "dicom/spec.h"
#include "dicom/wire.h"

namespace wardgate::dicom {
namespace {

bool known_pdu_type(std::uint8_t type) {
  return type >= spec::kAssociateRq && type <= spec::kAbort;
}

std::string unknown_type_detail(std::uint8_t type) {
  // A printable first byte hints at another protocol on the port ('G' for HTTP GET, ...).
  std::array<char, 16> printable{};
  if (type >= 0x20 && type < 0x7F) {
    std::snprintf(printable.data(), printable.size(), " ('%c')", static_cast<char>(type));
  }
  std::array<char, 96> text{};
  std::snprintf(text.data(), text.size(),
                "PDU type 0x%02X%s is not a DICOM Upper Layer PDU (PS3.8 9.3)", type,
                printable.data());
  return text.data();
}

// UIDs may be padded with a trailing NUL to an even length (PS3.5 9.1).
std::string_view trim_uid(std::string_view uid) {
  while (!uid.empty() && (uid.back() == '\0' || uid.back() == ' ')) uid.remove_suffix(1);
  return uid;
}

// A request names the SOP class of the presentation context it travels on (PS3.7 9.1.1, 10.1):
// anything else lets a device send what the association never negotiated. Print management
// commands name the Meta SOP Class's component classes instead (PS3.4 H.3).
std::optional<Failure> check_sop_class(const Command& command, const AcceptedContext& context) {
  if (spec::is_response(command.command_field) || command.command_field == spec::kCCancelRq) {
    return std::nullopt;
  }
  const std::string_view negotiated = trim_uid(context.abstract_syntax);
  if (spec::is_meta_sop_class(negotiated)) return std::nullopt;
  const std::string_view named =
      trim_uid(command.affected_sop_class_uid.empty() ? command.requested_sop_class_uid
                                                      : command.affected_sop_class_uid);
  if (named == negotiated) return std::nullopt;
  std::array<char, 8> field{};
  std::snprintf(field.data(), field.size(), "0x%04X", command.command_field);
  return Failure{Violation::kSopClassNotNegotiated,
                 "request " + std::string(field.data()) + " of SOP class " +
                     (named.empty() ? std::string("(none)") : std::string(named)) +
                     " on presentation context " + std::to_string(context.id) + " negotiated for " +
                     std::string(negotiated)};
}

bool peekable(DataSetCoding coding) {
  return coding == DataSetCoding::kImplicitLittle || coding == DataSetCoding::kExplicitLittle ||
         coding == DataSetCoding::kExplicitBig;
}

// Data sets of these commands are query/retrieve identifiers (PS3.4 C.4): their keys are listed.
bool query_identifier(std::uint16_t command_field) {
  switch (command_field & ~spec::kResponseBit) {
    case spec::kCFindRq:
    case spec::kCMoveRq:
    case spec::kCGetRq:
      return true;
    default:
      return false;
  }
}

}  // namespace

const char* to_string(Violation v) {
  switch (v) {
    case Violation::kUnknownPduType:
      return "unknown-pdu-type";
    case Violation::kPduTooLong:
      return "pdu-too-long";
    case Violation::kMalformedPdu:
      return "malformed-pdu";
    case Violation::kUnexpectedPdu:
      return "unexpected-pdu";
    case Violation::kTooManyItems:
      return "too-many-items";
    case Violation::kTooManyContexts:
      return "too-many-contexts";
    case Violation::kBadPdv:
      return "bad-pdv";
    case Violation::kCommandTooLong:
      return "command-too-long";
    case Violation::kCommandUndecodable:
      return "command-undecodable";
    case Violation::kTooManyOutstanding:
      return "too-many-outstanding";
    case Violation::kMissingMessageId:
      return "missing-message-id";
    case Violation::kDuplicateCommandElement:
      return "duplicate-command-element";
    case Violation::kSopClassNotNegotiated:
      return "sop-class-not-negotiated";
  }
  return "unknown";
}

bool loses_sync(Violation v) {
  switch (v) {
    case Violation::kTooManyOutstanding:  // the command is whole: only the ledger is full
    case Violation::kMissingMessageId:
    case Violation::kDuplicateCommandElement:
    case Violation::kSopClassNotNegotiated:
      return false;
    default:
      return true;
  }
}

class Decoder::Impl {
 public:
  Impl(DecoderCallbacks& callbacks, DecoderLimits limits, TimeSource now)
      : callbacks_(callbacks),
        limits_(limits),
        now_(std::move(now)),
        directions_{Direction(limits_), Direction(limits_)},
        operations_(limits_.max_outstanding_operations) {}

  void feed(Side from, std::span<const std::byte> bytes) {
    guarded(from, [&] { run(from, bytes); });
  }

  std::uint64_t skippable(Side from) const {
    if (!in_sync_) return UINT64_MAX;
    return direction(from).pdv.skippable();
  }

  void skip(Side from, std::size_t n) {
    if (!in_sync_ || n == 0) return;
    guarded(from, [&] {
      Direction& d = direction(from);
      const std::uint64_t allowed = d.pdv.skippable();
      if (n > allowed) {
        violate(from, Violation::kMalformedPdu,
                "skip of " + std::to_string(n) + " bytes where only " + std::to_string(allowed) +
                    " were skippable: the stream can no longer be followed");
        return;
      }
      d.pdv.skip(n);
      run(from, {});
    });
  }

  void end_of_stream(Side from) {
    if (in_sync_) guarded(from, [&] { check_closed_at_boundary(from); });
  }

  bool in_sync() const { return in_sync_; }

  std::vector<Operation> open_operations() const { return operations_.open(); }

  bool at_pdu_boundary(Side from) const {
    const Direction& d = direction(from);
    return d.framer.at_pdu_boundary() && !d.pdv.busy();
  }

  std::size_t buffered_bytes() const {
    std::size_t n = 0;
    for (const Direction& d : directions_) n += d.framer.buffered_bytes() + d.pdv.buffered_bytes();
    return n;
  }

 private:
  void check_closed_at_boundary(Side from) {
    const Direction& d = direction(from);
    if (d.pdv.busy()) {
      violate(from, Violation::kMalformedPdu, "connection closed inside a P-DATA-TF PDU");
    } else if (d.framer.in_body()) {
      violate(from, Violation::kMalformedPdu,
              std::string("connection closed inside an ") + spec::pdu_name(d.framer.type()) +
                  " after " + std::to_string(d.framer.body().size()) + " of its " +
                  std::to_string(d.framer.length()) + " bytes");
    } else if (d.framer.header_bytes() > 0) {
      violate(from, Violation::kMalformedPdu,
              "connection closed inside a PDU header (" + std::to_string(d.framer.header_bytes()) +
                  " of 6 bytes)");
    }
  }

  struct Direction {
    explicit Direction(const DecoderLimits& limits) : pdv(limits) {}
    PduFramer framer;
    PdvStream pdv;
  };

  Direction& direction(Side s) { return directions_[s == Side::kClient ? 0 : 1]; }
  const Direction& direction(Side s) const { return directions_[s == Side::kClient ? 0 : 1]; }

  // Nothing thrown below (an allocation failure, a callback's exception) leaves feed() or
  // skip(): it ends interpretation of the connection like any violation.
  template <typename F>
  void guarded(Side from, F&& body) {
    try {
      body();
    } catch (const std::exception& e) {
      internal_failure(from, e.what());
    } catch (...) {
      internal_failure(from, "unknown exception");
    }
  }

  void internal_failure(Side from, const char* what) {
    try {
      violate(from, Violation::kMalformedPdu, std::string("decoder failure: ") + what);
    } catch (...) {
      in_sync_ = false;
    }
  }

  void violate(Side from, Violation what, const std::string& detail) {
    if (!in_sync_) return;
    in_sync_ = false;
    for (Direction& d : directions_) {
      d.framer.release();
      d.pdv.release();
    }
    callbacks_.on_violation(from, what, detail);
  }

  void run(Side from, std::span<const std::byte> in) {
    Direction& d = direction(from);
    while (in_sync_) {
      if (d.pdv.busy()) {
        const PdvStream::Event e = d.pdv.next(in);
        if (e.kind == PdvStream::Event::Kind::kNone) {
          if (d.pdv.busy()) return;  // needs more input
          continue;                  // the P-DATA-TF PDU ended
        }
        on_pdv_event(from, d, e);
        continue;
      }
      if (in.empty()) return;
      if (d.framer.in_body()) {
        if (!d.framer.take_body(in)) return;
        on_body(from, d);
        continue;
      }
      if (d.framer.header_bytes() == 0) {
        const std::uint8_t type = wire::u8(in.data());
        if (!known_pdu_type(type)) {
          violate(from, Violation::kUnknownPduType, unknown_type_detail(type));
          return;
        }
      }
      if (!d.framer.take_header(in)) return;
      on_header(from, d);
    }
  }

  void on_header(Side from, Direction& d) {
    const std::uint8_t type = d.framer.type();
    const std::uint32_t length = d.framer.length();
    if (auto failure = association_.admit(from, type)) {
      violate(from, failure->what, failure->detail);
      return;
    }
    switch (type) {
      case spec::kAssociateRq:
      case spec::kAssociateAc: {
        const std::uint32_t cap = std::min(limits_.max_associate_pdu, limits_.max_pdu_length);
        if (length > cap) {
          violate(from, Violation::kPduTooLong,
                  std::string(spec::pdu_name(type)) + " of " + std::to_string(length) +
                      " bytes exceeds the cap of " + std::to_string(cap));
        } else if (length < spec::kAssociateFixedLength) {
          violate(from, Violation::kMalformedPdu,
                  std::string(spec::pdu_name(type)) + " of " + std::to_string(length) +
                      " bytes, shorter than its fixed fields");
        } else {
          d.framer.begin_body();
        }
        return;
      }
      case spec::kPDataTf: {
        const std::uint32_t max = association_.max_pdu_length(from, limits_);
        if (length > max) {
          violate(from, Violation::kPduTooLong,
                  "P-DATA-TF of " + std::to_string(length) + " bytes exceeds " +
                      std::to_string(max) +
                      " (the receiver's maximum PDU length plus slack, or the absolute cap)");
          return;
        }
        d.framer.next_pdu();
        if (auto failure = d.pdv.begin_pdu(length)) violate(from, failure->what, failure->detail);
        return;
      }
      default:  // A-ASSOCIATE-RJ, A-RELEASE-RQ/RP, A-ABORT: fixed 4-byte bodies
        if (length != spec::kFixedPduLength) {
          violate(from, Violation::kMalformedPdu,
                  std::string(spec::pdu_name(type)) + " of " + std::to_string(length) +
                      " bytes (PS3.8 9.3: exactly 4)");
          return;
        }
        d.framer.begin_body();
        return;
    }
  }

  void on_body(Side from, Direction& d) {
    const std::uint8_t type = d.framer.type();
    const std::span<const std::byte> body = d.framer.body();
    switch (type) {
      case spec::kAssociateRq: {
        Associate rq;
        if (auto failure = parse_associate(body, false, limits_, rq)) {
          violate(from, failure->what, failure->detail);
          return;
        }
        d.framer.next_pdu();
        association_.request(rq);
        callbacks_.on_associate_request(rq);
        return;
      }
      case spec::kAssociateAc: {
        Associate ac;
        auto failure = parse_associate(body, true, limits_, ac);
        if (!failure) failure = association_.accept(ac);
        if (failure) {
          violate(from, failure->what, failure->detail);
          return;
        }
        d.framer.next_pdu();
        std::vector<std::uint8_t> ids;
        for (const AcceptedContext& c : association_.accepted()) ids.push_back(c.id);
        for (Direction& each : directions_) each.pdv.set_accepted_contexts(ids);
        callbacks_.on_associate_accept(ac);
        return;
      }
      case spec::kAssociateRj: {
        const AssociateReject rj = parse_reject(body);
        d.framer.next_pdu();
        association_.reject();
        callbacks_.on_associate_reject(rj);
        return;
      }
      case spec::kReleaseRq:
        d.framer.next_pdu();
        association_.release_request(from);
        callbacks_.on_release_request(from);
        return;
      case spec::kReleaseRp:
        d.framer.next_pdu();
        association_.release_response(from);
        callbacks_.on_release_response(from);
        return;
      default: {  // A-ABORT (the framer only buffers the bodies above and this one)
        const Abort abort = parse_abort(body);
        d.framer.next_pdu();
        association_.abort(from);
        callbacks_.on_abort(from, abort);
        return;
      }
    }
  }

  void on_pdv_event(Side from, Direction& d, const PdvStream::Event& e) {
    switch (e.kind) {
      case PdvStream::Event::Kind::kCommand: {
        Command command;
        std::optional<Failure> failure = decode_command(e.bytes, e.context_id, command);
        if (failure && loses_sync(failure->what)) {
          violate(from, failure->what, failure->detail);
          return;
        }
        const AcceptedContext* context = association_.context(e.context_id);
        if (!failure && context != nullptr) failure = check_sop_class(command, *context);
        const auto now = now_ ? now_() : std::chrono::steady_clock::time_point{};
        auto untracked = operations_.record(from, command, now);
        if (!failure) failure = std::move(untracked);
        const bool peek = context != nullptr && peekable(context->coding);
        d.pdv.command_done(e.context_id, command.has_data_set, peek, command.command_field);
        // The command is whole and framing intact: report, then go on decoding.
        if (failure) callbacks_.on_violation(from, failure->what, failure->detail);
        callbacks_.on_command(from, command);
        if (auto completed = operations_.take_completed()) callbacks_.on_operation(*completed);
        return;
      }
      case PdvStream::Event::Kind::kDataSetPeek: {
        const AcceptedContext* context = association_.context(e.context_id);
        PeekInput input;
        input.prefix = e.bytes;
        if (context != nullptr) {
          input.coding = context->coding;
          input.transfer_syntax = context->transfer_syntax;
        }
        input.query = query_identifier(e.command_field);
        input.whole = e.whole;
        const DataSetIdentifiers ids = peek_data_set(input);
        operations_.record_identifiers(from, ids);
        callbacks_.on_data_set_identifiers(from, e.context_id, ids);
        return;
      }
      case PdvStream::Event::Kind::kDataSetEnd:
        operations_.record_data_set_end(from, e.total);
        callbacks_.on_data_set_end(from, e.context_id, e.total);
        return;
      case PdvStream::Event::Kind::kViolation:
        violate(from, d.pdv.failure().what, d.pdv.failure().detail);
        return;
      case PdvStream::Event::Kind::kNone:
        return;
    }
  }

  DecoderCallbacks& callbacks_;
  DecoderLimits limits_;
  TimeSource now_;
  std::array<Direction, 2> directions_;
  AssociationState association_;
  OperationTracker operations_;
  bool in_sync_ = true;
};

Decoder::Decoder(DecoderCallbacks& callbacks, DecoderLimits limits, TimeSource now)
    : impl_(std::make_unique<Impl>(callbacks, limits, std::move(now))) {}

Decoder::~Decoder() = default;

void Decoder::feed(Side from, std::span<const std::byte> bytes) {
  if (impl_->in_sync()) impl_->feed(from, bytes);
}

std::uint64_t Decoder::skippable(Side from) const { return impl_->skippable(from); }

void Decoder::skip(Side from, std::size_t n) { impl_->skip(from, n); }

void Decoder::end_of_stream(Side from) { impl_->end_of_stream(from); }

std::vector<Operation> Decoder::open_operations() const { return impl_->open_operations(); }

bool Decoder::in_sync() const { return impl_->in_sync(); }

bool Decoder::at_pdu_boundary(Side from) const { return impl_->at_pdu_boundary(from); }

std::size_t Decoder::buffered_bytes() const { return impl_->buffered_bytes(); }

}  // namespace wardgate::dicom
