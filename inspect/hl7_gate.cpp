#include "inspect/hl7_gate.h"

#include <algorithm>

#include "hl7/spec.h"

namespace wardgate::inspect {
namespace {

constexpr auto kStart = std::byte{wardgate::hl7::spec::kStartBlock};
constexpr auto kEnd = std::byte{wardgate::hl7::spec::kEndBlock};
constexpr auto kCr = std::byte{wardgate::hl7::spec::kCarriageReturn};
constexpr auto kLf = std::byte{wardgate::hl7::spec::kLineFeed};

bool line_end(std::byte b) { return b == kCr || b == kLf; }

// The frame's first segment, as sent: after the start block, up to the first CR or LF.
std::string first_segment(std::span<const std::byte> frame) {
  std::string out;
  for (std::size_t i = 1; i < frame.size() && out.size() < Hl7Gate::kHeadBytes; ++i) {
    if (frame[i] == kCr || frame[i] == kLf || frame[i] == kEnd) break;
    out += static_cast<char>(frame[i]);
  }
  return out;
}

}  // namespace

std::span<const std::byte> Hl7Gate::feed(std::span<const std::byte> chunk) {
  out_.clear();
  std::size_t start = 0;
  while (start < chunk.size()) {
    // The piece ends before the next start block (after the first byte) or after an end block
    // and its CR, whichever comes first.
    std::size_t end = start;
    bool ends = false;
    while (end < chunk.size() && !ends) {
      const std::byte b = chunk[end];
      if (b == kStart && end > start) break;
      ++end;
      ends = after_end_block_ && b == kCr;
      after_end_block_ = b == kEnd;
    }
    piece(chunk.subspan(start, end - start));
    start = end;
  }
  if (out_.capacity() > std::size_t{256} * 1024 && out_.empty()) out_.shrink_to_fit();
  return out_;
}

void Hl7Gate::end_of_stream() {
  decoder_.end_of_stream(hl7::Side::kClient);
  if (discarding_) judge_.settle_too_long(head_);
  held_.clear();
  held_.shrink_to_fit();
  head_.clear();
  in_frame_ = discarding_ = after_end_block_ = after_frame_ = false;
}

void Hl7Gate::piece(std::span<const std::byte> bytes) {
  decoder_.feed(hl7::Side::kClient, bytes);
  if (bytes.front() == kStart) {
    // A start block inside a frame abandons the partial frame (the decoder reports it).
    held_.clear();
    if (discarding_) judge_.settle_too_long(head_);
    discarding_ = false;
    in_frame_ = true;
  }
  if (!in_frame_) {
    // Outside frames: only the line ends some senders put after a frame pass.
    if (!after_frame_) return;
    const auto end = std::find_if_not(bytes.begin(), bytes.end(), line_end);
    out_.insert(out_.end(), bytes.begin(), end);
    after_frame_ = end == bytes.end();
    return;
  }
  if (!discarding_) {
    held_.insert(held_.end(), bytes.begin(), bytes.end());
    if (held_.size() > max_frame_) {
      head_ = first_segment(held_);
      held_.clear();
      held_.shrink_to_fit();
      discarding_ = true;
    }
  }
  if (!decoder_.at_frame_boundary(hl7::Side::kClient)) return;
  // The frame ended (complete, or dropped by the decoder).
  in_frame_ = false;
  after_frame_ = true;
  if (discarding_) {
    discarding_ = false;
    judge_.settle_too_long(head_);
    head_.clear();
  } else if (judge_.settle_frame()) {
    out_.insert(out_.end(), held_.begin(), held_.end());
  }
  held_.clear();
  if (held_.capacity() > std::size_t{256} * 1024) held_.shrink_to_fit();
}

}  // namespace wardgate::inspect
