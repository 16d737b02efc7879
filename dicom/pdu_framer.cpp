#include "dicom/pdu_framer.h"

#include <algorithm>

#include "dicom/spec.h"
#include "dicom/wire.h"

namespace wardgate::dicom {
namespace {

// Bodies up to this size keep their buffer between PDUs; larger ones (an A-ASSOCIATE-RQ with many
// contexts) give it back, so an idle connection holds next to nothing.
constexpr std::size_t kKeptBodyCapacity = 256;

}  // namespace

std::uint32_t PduFramer::length() const { return wire::be32(header_.data() + 2); }

bool PduFramer::take_header(std::span<const std::byte>& in) {
  const std::size_t n = std::min(spec::kPduHeaderLength - header_have_, in.size());
  std::copy_n(in.data(), n, header_.data() + header_have_);
  header_have_ += n;
  in = in.subspan(n);
  return header_have_ == spec::kPduHeaderLength;
}

void PduFramer::begin_body() {
  in_body_ = true;
  body_.clear();
  body_.reserve(length());
}

bool PduFramer::take_body(std::span<const std::byte>& in) {
  const std::size_t n = std::min<std::size_t>(length() - body_.size(), in.size());
  body_.insert(body_.end(), in.data(), in.data() + n);
  in = in.subspan(n);
  return body_.size() == length();
}

void PduFramer::next_pdu() {
  header_have_ = 0;
  in_body_ = false;
  if (body_.capacity() > kKeptBodyCapacity) {
    release();
  } else {
    body_.clear();
  }
}

void PduFramer::release() { std::vector<std::byte>().swap(body_); }

}  // namespace wardgate::dicom
