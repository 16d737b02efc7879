#include "hl7/mllp_framer.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "hl7/byte_scan.h"
#include "hl7/spec.h"

namespace wardgate::hl7 {
namespace {

// Offset of the first start or end block in p[from, n), n if none: one pass over the frame.
std::size_t find_block(const std::uint8_t* p, std::size_t from, std::size_t n) {
  return detail::find_either(reinterpret_cast<const char*>(p), from, n,
                             static_cast<char>(spec::kStartBlock),
                             static_cast<char>(spec::kEndBlock));
}

bool is_line_end(std::uint8_t b) { return b == spec::kLineFeed || b == spec::kCarriageReturn; }

}  // namespace

const char* to_string(FramingError e) {
  switch (e) {
    case FramingError::kJunk:
      return "junk";
    case FramingError::kFrameTooLong:
      return "frame-too-long";
    case FramingError::kBadEndBlock:
      return "bad-end-block";
    case FramingError::kStartInFrame:
      return "start-in-frame";
    case FramingError::kTruncated:
      return "truncated";
    case FramingError::kMalformedMessage:
      return "malformed-message";
  }
  return "unknown";
}

void MllpFramer::add_junk(const std::uint8_t* p, std::size_t n) {
  if (junk_ < junk_head_.size()) {
    const std::size_t k = std::min<std::size_t>(junk_head_.size() - junk_, n);
    std::memcpy(junk_head_.data() + junk_, p, k);
  }
  junk_ += n;
}

void MllpFramer::flush_junk() {
  if (junk_ == 0) return;
  std::string detail = std::to_string(junk_) + " bytes outside MLLP frames";
  // A sender that forgot MLLP (or an ACK sent bare) shows up as junk: say so.
  if (junk_ >= junk_head_.size() && std::string_view(junk_head_.data(), 3) == "MSH") {
    detail += R"(, starting with "MSH" (an HL7 message sent without MLLP framing?))";
  }
  junk_ = 0;
  callbacks_.on_error(FramingError::kJunk, detail);
}

void MllpFramer::deliver(std::string_view content) {
  if (content.size() == 1 && static_cast<std::uint8_t>(content[0]) == spec::kCommitAck) {
    callbacks_.on_commit_ack(true);
  } else if (content.size() == 1 && static_cast<std::uint8_t>(content[0]) == spec::kCommitNak) {
    callbacks_.on_commit_ack(false);
  } else {
    callbacks_.on_frame(content);
  }
}

void MllpFramer::too_long(std::size_t offset) {
  buffer_.clear();
  buffer_.shrink_to_fit();
  state_ = State::kDiscarding;
  callbacks_.on_error(FramingError::kFrameTooLong,
                      "frame longer than " + std::to_string(max_frame_) + " bytes discarded");
  if (boundaries_ != nullptr) boundaries_->on_frame_too_long(offset);
}

void MllpFramer::frame_byte(std::uint8_t byte, std::size_t offset) {
  if (buffer_.size() >= max_frame_) {
    too_long(offset);
    return;
  }
  buffer_ += static_cast<char>(byte);
}

void MllpFramer::feed(std::span<const std::byte> bytes, FrameBoundaries* boundaries) {
  boundaries_ = boundaries;
  const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  while (i < n) {
    switch (state_) {
      case State::kIdle: {
        if (after_frame_) {
          const std::size_t from = i;
          while (i < n && is_line_end(p[i])) ++i;  // tolerated trailer
          if (boundaries_ != nullptr && i > from) boundaries_->on_line_ends(from, i);
          if (i == n) break;
          after_frame_ = false;
        }
        if (p[i] != spec::kStartBlock) {
          const void* start = std::memchr(p + i, spec::kStartBlock, n - i);
          const std::size_t j =
              start == nullptr
                  ? n
                  : static_cast<std::size_t>(static_cast<const std::uint8_t*>(start) - p);
          add_junk(p + i, j - i);
          i = j;
          break;
        }
        ++i;
        flush_junk();
        state_ = State::kInFrame;
        if (boundaries_ != nullptr) boundaries_->on_frame_start(i - 1);
        break;
      }
      case State::kInFrame: {
        const std::size_t j = find_block(p, i, n);
        // Fast path: a frame whole in this chunk is delivered without copying.
        if (buffer_.empty() && j + 1 < n && p[j] == spec::kEndBlock &&
            p[j + 1] == spec::kCarriageReturn && j - i <= max_frame_) {
          deliver(std::string_view(reinterpret_cast<const char*>(p + i), j - i));
          i = j + 2;
          state_ = State::kIdle;
          after_frame_ = true;
          if (boundaries_ != nullptr) boundaries_->on_frame_end(i);
          break;
        }
        const std::size_t room = max_frame_ - buffer_.size();
        if (j - i > room) {
          i += room + 1;
          too_long(i);
          break;
        }
        buffer_.append(reinterpret_cast<const char*>(p + i), j - i);
        i = j;
        if (i == n) break;
        if (p[i] == spec::kStartBlock) {
          ++i;
          buffer_.clear();
          callbacks_.on_error(FramingError::kStartInFrame,
                              "start block inside a frame: partial frame dropped");
          if (boundaries_ != nullptr) boundaries_->on_frame_start(i - 1);
          break;
        }
        ++i;  // end block
        state_ = State::kAfterEndBlock;
        break;
      }
      case State::kAfterEndBlock: {
        const std::uint8_t b = p[i];
        if (b == spec::kCarriageReturn) {
          ++i;
          state_ = State::kIdle;
          after_frame_ = true;
          deliver(buffer_);
          buffer_.clear();
          if (buffer_.capacity() > std::size_t{64} * 1024) buffer_.shrink_to_fit();
          if (boundaries_ != nullptr) boundaries_->on_frame_end(i);
          break;
        }
        callbacks_.on_error(FramingError::kBadEndBlock, "0x1C not followed by 0x0D in a frame");
        state_ = State::kInFrame;
        frame_byte(spec::kEndBlock, i);  // kept as content; `b` is looked at again in kInFrame
        break;
      }
      case State::kDiscarding: {
        const void* end = std::memchr(p + i, spec::kEndBlock, n - i);
        if (end == nullptr) {
          i = n;
        } else {
          i = static_cast<std::size_t>(static_cast<const std::uint8_t*>(end) - p) + 1;
          state_ = State::kDiscardingEnd;
        }
        break;
      }
      case State::kDiscardingEnd:
        if (p[i] == spec::kCarriageReturn) {
          ++i;
          state_ = State::kIdle;
          after_frame_ = true;
          if (boundaries_ != nullptr) boundaries_->on_frame_end(i);
        } else {
          state_ = State::kDiscarding;
        }
        break;
    }
  }
  boundaries_ = nullptr;
}

void MllpFramer::end_of_stream() {
  flush_junk();
  // A frame being discarded was reported as too long already: one fault, one event.
  if (state_ == State::kInFrame || state_ == State::kAfterEndBlock) {
    callbacks_.on_error(FramingError::kTruncated, "stream ended inside an MLLP frame");
  }
  state_ = State::kIdle;
  after_frame_ = false;
  buffer_.clear();
}

}  // namespace wardgate::hl7
