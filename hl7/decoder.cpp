#include "hl7/decoder.h"

#include <utility>

#include "hl7/message_parser.h"

namespace wardgate::hl7 {
namespace {

class Direction final : public FramerCallbacks, public MessageSink {
 public:
  Direction(Side side, DecoderCallbacks& callbacks, MessageParser& parser, std::size_t max)
      : side_(side), callbacks_(callbacks), parser_(parser), framer_(*this, max) {}

  MllpFramer& framer() { return framer_; }
  const MllpFramer& framer() const { return framer_; }

  void on_frame(std::string_view content) override {
    const std::string error = parser_.parse(content, *this);
    if (!error.empty()) callbacks_.on_framing_error(side_, FramingError::kMalformedMessage, error);
  }
  void on_message(const Message& message) override { callbacks_.on_message(side_, message); }
  void on_commit_ack(bool positive) override { callbacks_.on_commit_ack(side_, positive); }
  void on_error(FramingError kind, std::string_view detail) override {
    callbacks_.on_framing_error(side_, kind, detail);
  }

 private:
  Side side_;
  DecoderCallbacks& callbacks_;
  MessageParser& parser_;
  MllpFramer framer_;
};

}  // namespace

class Decoder::Impl {
 public:
  Impl(DecoderCallbacks& callbacks, DecoderLimits limits)
      : limits_(std::move(limits)),
        parser_(limits_.default_charset),
        client_(Side::kClient, callbacks, parser_, limits_.max_message_size),
        server_(Side::kServer, callbacks, parser_, limits_.max_message_size) {}

  MllpFramer& framer(Side side) {
    return side == Side::kClient ? client_.framer() : server_.framer();
  }
  const MllpFramer& framer(Side side) const {
    return side == Side::kClient ? client_.framer() : server_.framer();
  }
  std::size_t buffered() {
    return client_.framer().buffered_bytes() + server_.framer().buffered_bytes();
  }

 private:
  DecoderLimits limits_;
  MessageParser parser_;
  Direction client_;
  Direction server_;
};

Decoder::Decoder(DecoderCallbacks& callbacks, DecoderLimits limits)
    : impl_(std::make_unique<Impl>(callbacks, std::move(limits))) {}

Decoder::~Decoder() = default;

void Decoder::feed(Side from, std::span<const std::byte> bytes) { impl_->framer(from).feed(bytes); }

void Decoder::feed(Side from, std::span<const std::byte> bytes, FrameBoundaries& boundaries) {
  impl_->framer(from).feed(bytes, &boundaries);
}

void Decoder::end_of_stream(Side from) { impl_->framer(from).end_of_stream(); }

std::size_t Decoder::buffered_bytes() const { return impl_->buffered(); }

bool Decoder::at_frame_boundary(Side from) const { return impl_->framer(from).at_frame_boundary(); }

}  // namespace wardgate::hl7
