#include "dicom/pdv_stream.h"

#include <algorithm>
#include <string>

#include "dicom/spec.h"
#include "dicom/wire.h"

namespace wardgate::dicom {
namespace {

// Buffers up to this size are kept for the next message of their context; larger ones (a peek
// prefix) are given back, so idle connections hold next to nothing.
constexpr std::size_t kKeptBufferCapacity = 1024;

std::string ctx_text(std::uint8_t id) { return "presentation context " + std::to_string(id); }

}  // namespace

PdvStream::PdvStream(const DecoderLimits& limits)
    : max_command_set_(limits.max_command_set),
      peek_limit_(limits.data_set_peek),
      budget_(std::size_t{limits.max_command_set} + limits.data_set_peek) {}

void PdvStream::set_accepted_contexts(std::span<const std::uint8_t> ids) {
  contexts_.clear();
  slot_.fill(0);
  for (const std::uint8_t id : ids) {
    if (id == 0 || slot_[id] != 0) continue;  // PS3.8 9.3.2.2: ids are odd, 1-255
    contexts_.push_back(Context{});
    contexts_.back().id = id;
    slot_[id] = static_cast<std::uint8_t>(contexts_.size());
  }
}

std::optional<Failure> PdvStream::begin_pdu(std::uint32_t length) {
  if (length == 0) return Failure{Violation::kBadPdv, "P-DATA-TF PDU without any PDV"};
  pdu_left_ = length;
  header_have_ = 0;
  return std::nullopt;
}

PdvStream::Event PdvStream::fail(Violation what, std::string detail) {
  failure_ = Failure{what, std::move(detail)};
  Event e;
  e.kind = Event::Kind::kViolation;
  return e;
}

void PdvStream::append(Context& c, std::span<const std::byte> bytes, std::size_t cap) {
  const std::size_t need = c.buffer.size() + bytes.size();
  if (need > c.buffer.capacity()) {
    // Grow geometrically but never past the cap, so capacity stays within what was checked.
    c.buffer.reserve(std::min(cap, std::max(need, 2 * c.buffer.capacity())));
  }
  c.buffer.insert(c.buffer.end(), bytes.begin(), bytes.end());
  buffered_ += bytes.size();
}

void PdvStream::release_buffer(Context& c) {
  buffered_ -= c.buffer.size();
  if (c.buffer.capacity() > kKeptBufferCapacity) {
    std::vector<std::byte>().swap(c.buffer);
  } else {
    c.buffer.clear();
  }
}

void PdvStream::release() {
  for (Context& c : contexts_) std::vector<std::byte>().swap(c.buffer);
  buffered_ = 0;
}

void PdvStream::command_done(std::uint8_t context_id, bool data_set, bool peek,
                             std::uint16_t field) {
  Context& c = contexts_[slot_[context_id] - 1];
  release_buffer(c);
  c.phase = data_set ? Phase::kDataSetExpected : Phase::kIdle;
  c.peek = peek;
  c.command_field = field;
}

std::uint64_t PdvStream::skippable() const {
  if (!in_fragment_ || fragment_command_ || !contexts_[current_].peek_done) return 0;
  return fragment_left_;
}

void PdvStream::skip(std::uint64_t n) {
  const auto k = static_cast<std::uint32_t>(n);
  fragment_left_ -= k;
  pdu_left_ -= k;
  contexts_[current_].data_bytes += k;
}

PdvStream::Event PdvStream::data_set_end(Context& c) {
  c.phase = Phase::kIdle;
  Event e;
  e.kind = Event::Kind::kDataSetEnd;
  e.context_id = c.id;
  e.command_field = c.command_field;
  e.total = c.data_bytes;
  return e;
}

PdvStream::Event PdvStream::start_fragment() {
  const std::uint32_t item_length = wire::be32(header_.data());
  const std::uint8_t id = wire::u8(header_.data() + 4);
  const std::uint8_t control = wire::u8(header_.data() + 5);
  if (item_length < spec::kPdvContextAndControlLength) {
    return fail(Violation::kBadPdv, "PDV item length " + std::to_string(item_length) +
                                        " leaves no room for its context id and control header");
  }
  if (item_length % 2 != 0) {
    return fail(Violation::kBadPdv, "PDV item length " + std::to_string(item_length) +
                                        " is odd (DICOM fragments have even lengths)");
  }
  const std::uint32_t fragment = item_length - spec::kPdvContextAndControlLength;
  if (fragment > pdu_left_) {
    return fail(Violation::kBadPdv, "PDV of " + std::to_string(fragment) +
                                        " bytes overruns its P-DATA-TF PDU (" +
                                        std::to_string(pdu_left_) + " bytes left)");
  }
  if (slot_[id] == 0) {
    return fail(Violation::kBadPdv,
                "PDV for " + ctx_text(id) + ", which the association did not accept");
  }
  current_ = slot_[id] - 1;
  Context& c = current();
  const bool command = (control & spec::kMchCommand) != 0;
  bool starts_data_set = false;
  if (command) {
    if (c.phase == Phase::kDataSetExpected || c.phase == Phase::kDataSet) {
      return fail(Violation::kBadPdv,
                  "command fragment on " + ctx_text(id) + " before its data set ended");
    }
    if (c.buffer.size() + fragment > max_command_set_) {
      return fail(Violation::kCommandTooLong, "command set on " + ctx_text(id) + " exceeds " +
                                                  std::to_string(max_command_set_) + " bytes");
    }
    if (buffered_ + fragment > budget_) {
      return fail(Violation::kBadPdv, "interleaved messages would buffer more than " +
                                          std::to_string(budget_) + " bytes");
    }
    c.phase = Phase::kCommand;
  } else {
    if (c.phase == Phase::kIdle || c.phase == Phase::kCommand) {
      return fail(Violation::kBadPdv, "data set fragment on " + ctx_text(id) +
                                          " without a command announcing a data set");
    }
    if (c.phase == Phase::kDataSetExpected) {
      c.phase = Phase::kDataSet;
      c.data_bytes = 0;
      c.peek_done = !c.peek || peek_limit_ == 0;
      starts_data_set = true;
    }
    if (!c.peek_done) {
      const std::size_t kept = std::min<std::size_t>(fragment, peek_limit_ - c.buffer.size());
      if (buffered_ + kept > budget_) {
        return fail(Violation::kBadPdv, "interleaved messages would buffer more than " +
                                            std::to_string(budget_) + " bytes");
      }
    }
  }
  in_fragment_ = true;
  fragment_command_ = command;
  fragment_last_ = (control & spec::kMchLastFragment) != 0;
  fragment_left_ = fragment;
  if (starts_data_set && c.peek_done) {  // nothing to keep: identifiers are due right away
    Event e;
    e.kind = Event::Kind::kDataSetPeek;
    e.context_id = c.id;
    e.command_field = c.command_field;
    return e;
  }
  return {};
}

PdvStream::Event PdvStream::finish_fragment() {
  in_fragment_ = false;
  if (!fragment_last_) return {};
  Context& c = current();
  Event e;
  e.context_id = c.id;
  if (fragment_command_) {
    e.kind = Event::Kind::kCommand;
    e.bytes = c.buffer;
    return e;
  }
  if (c.peek_done) return data_set_end(c);
  c.peek_done = true;
  pending_end_ = true;
  release_pending_ = true;
  e.kind = Event::Kind::kDataSetPeek;
  e.command_field = c.command_field;
  e.whole = true;
  e.bytes = c.buffer;
  return e;
}

PdvStream::Event PdvStream::next(std::span<const std::byte>& in) {
  if (release_pending_) {
    release_pending_ = false;
    release_buffer(current());
  }
  if (pending_end_) {
    pending_end_ = false;
    return data_set_end(current());
  }
  for (;;) {
    if (in_fragment_) {
      if (fragment_left_ == 0) {
        const Event e = finish_fragment();
        if (e.kind != Event::Kind::kNone) return e;
        continue;
      }
      if (in.empty()) return {};
      Context& c = current();
      std::size_t n = std::min<std::size_t>(in.size(), fragment_left_);
      bool prefix_full = false;
      if (fragment_command_) {
        append(c, in.first(n), max_command_set_);
      } else {
        if (!c.peek_done) {
          n = std::min<std::size_t>(n, peek_limit_ - c.buffer.size());
          append(c, in.first(n), peek_limit_);
          prefix_full = c.buffer.size() == peek_limit_;
        }
        c.data_bytes += n;
      }
      in = in.subspan(n);
      fragment_left_ -= static_cast<std::uint32_t>(n);
      pdu_left_ -= static_cast<std::uint32_t>(n);
      if (prefix_full) {
        c.peek_done = true;
        release_pending_ = true;
        Event e;
        e.kind = Event::Kind::kDataSetPeek;
        e.context_id = c.id;
        e.command_field = c.command_field;
        e.bytes = c.buffer;
        return e;
      }
      continue;
    }
    if (pdu_left_ == 0 || in.empty()) return {};
    if (header_have_ == 0 && pdu_left_ < spec::kPdvHeaderLength) {
      return fail(Violation::kBadPdv, "P-DATA-TF PDU ends with " + std::to_string(pdu_left_) +
                                          " bytes, too few for a PDV header");
    }
    const std::size_t n = std::min(spec::kPdvHeaderLength - header_have_, in.size());
    std::copy_n(in.data(), n, header_.data() + header_have_);
    header_have_ += n;
    in = in.subspan(n);
    pdu_left_ -= static_cast<std::uint32_t>(n);
    if (header_have_ < spec::kPdvHeaderLength) return {};
    header_have_ = 0;
    const Event e = start_fragment();
    if (e.kind != Event::Kind::kNone) return e;
  }
}

}  // namespace wardgate::dicom
