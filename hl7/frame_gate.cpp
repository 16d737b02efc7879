#include "hl7/frame_gate.h"

#include "hl7/spec.h"

namespace wardgate::hl7 {
namespace {

// Where a frame's first segment ends (a start block cannot be part of it either).
bool ends_segment(std::byte b) {
  return b == std::byte{spec::kCarriageReturn} || b == std::byte{spec::kLineFeed} ||
         b == std::byte{spec::kEndBlock} || b == std::byte{spec::kStartBlock};
}

}  // namespace

std::span<const std::byte> FrameGate::feed(std::span<const std::byte> chunk) {
  out_.clear();
  chunk_ = chunk;
  taken_ = 0;
  decoder_.feed(Side::kClient, chunk, *this);
  take(chunk.size());
  chunk_ = {};
  // A big frame's output buffer is not kept for the small chunks that follow (it is charged to the
  // global held-bytes budget for as long as it is kept).
  if (out_.capacity() > std::size_t{256} * 1024 && out_.size() < out_.capacity() / 4) {
    out_.shrink_to_fit();
  }
  return out_;
}

std::size_t FrameGate::allocated_bytes_after(std::size_t n) const {
  // The frame grows by at most n and the output takes at most the frame and n; a buffer grows to
  // at most twice its capacity or what it must hold; the head stays within kHeadBytes.
  return 2 * held_.capacity() + n + 2 * out_.capacity() + held_.size() + n + 2 * kHeadBytes;
}

void FrameGate::end_of_stream() {
  decoder_.end_of_stream(Side::kClient);
  if (discarding_) judge_.settle_too_long(head_);
  held_.clear();
  held_.shrink_to_fit();
  head_.clear();
  in_frame_ = discarding_ = head_done_ = false;
}

void FrameGate::take(std::size_t to) {
  const auto bytes = chunk_.subspan(taken_, to - taken_);
  taken_ = to;
  if (!in_frame_) return;  // junk
  if (discarding_) {
    take_head(bytes);
  } else {
    held_.insert(held_.end(), bytes.begin(), bytes.end());
  }
}

void FrameGate::take_head(std::span<const std::byte> bytes) {
  for (std::size_t i = 0; i < bytes.size() && !head_done_; ++i) {
    head_done_ = ends_segment(bytes[i]) || head_.size() >= kHeadBytes;
    if (!head_done_) head_ += static_cast<char>(bytes[i]);
  }
}

void FrameGate::on_frame_start(std::size_t offset) {
  take(offset);
  // A start block inside a frame abandons the partial frame (the decoder reports it).
  held_.clear();
  in_frame_ = true;
}

void FrameGate::on_frame_too_long(std::size_t offset) {
  take(offset);
  head_.clear();
  head_done_ = false;
  if (held_.size() > 1) take_head(std::span(held_).subspan(1));  // after the start block
  held_.clear();
  held_.shrink_to_fit();
  discarding_ = true;
}

void FrameGate::on_frame_end(std::size_t offset) {
  take(offset);
  in_frame_ = false;
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

void FrameGate::on_line_ends(std::size_t from, std::size_t to) {
  take(from);
  out_.insert(out_.end(), chunk_.begin() + static_cast<std::ptrdiff_t>(from),
              chunk_.begin() + static_cast<std::ptrdiff_t>(to));
  taken_ = to;
}

}  // namespace wardgate::hl7
