// Fuzz target: the HL7/MLLP decoder fed both directions as a relay would.
//
// Input: one configuration byte (bits 0-1: maximum message size, bits 2-4: default charset),
// then the records of tests/fuzz/fuzz_records.h (side, bytes, and the pieces they go in as).
// Oracle: a second decoder gets the same bytes, each record in one feed() call; both must report
// exactly the same callbacks. Any divergence, a crash, a sanitizer report, text that is not
// valid UTF-8 or a buffer beyond the cap is a finding. Dictionary: hl7_decoder_fuzz.dict.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "hl7/decoder.h"
#include "tests/fuzz/fuzz_records.h"

namespace {

using wardgate::hl7::Side;

using wardgate::fuzz::check;

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 1;
    if (c >= 0x80) {
      if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
      } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
      } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
      } else {
        return false;
      }
      if (s.size() - i < n) return false;
      for (std::size_t k = 1; k < n; ++k) {
        if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
      }
    }
    i += n;
  }
  return true;
}

class Log final : public wardgate::hl7::DecoderCallbacks {
 public:
  std::string text;

  void on_message(Side s, const wardgate::hl7::Message& m) override {
    std::string line = side(s) + "MSG " + m.sending_application + "|" + m.sending_facility + "|" +
                       m.receiving_application + "|" + m.receiving_facility + "|" + m.date_time +
                       "|" + m.message_type + "^" + m.trigger_event + "^" + m.message_structure +
                       "|" + m.control_id + "|" + m.version + "|" + m.character_set + "|" +
                       m.charset_used + "|" + m.patient_name + "|" +
                       std::to_string(m.patient_identifiers.size()) + "|" +
                       std::to_string(m.segment_count) + "|" + std::to_string(m.size);
    for (const auto& pi : m.patient_identifiers) line += "|" + pi.id + "@" + pi.assigning_authority;
    if (m.ack) line += "|" + m.ack->code_text + "|" + m.ack->control_id + "|" + m.ack->error_text;
    for (const auto& n : m.notes) line += "|" + n;
    check(valid_utf8(line), "extracted text is not UTF-8");
    text += line + "\n";
  }
  void on_commit_ack(Side s, bool positive) override {
    text += side(s) + (positive ? "ACK\n" : "NAK\n");
  }
  void on_framing_error(Side s, wardgate::hl7::FramingError kind,
                        std::string_view detail) override {
    text += side(s) + "ERR " + wardgate::hl7::to_string(kind) + " " + std::string(detail) + "\n";
  }

 private:
  static std::string side(Side s) { return s == Side::kClient ? "c " : "s "; }
};

wardgate::hl7::DecoderLimits limits_for(std::uint8_t config) {
  static constexpr std::array<std::size_t, 4> kSizes = {std::size_t{1024} * 1024, 64, 256, 4096};
  // One of each way of finding delimiters (single byte, lead byte, ISO 2022 shifts, wide).
  static constexpr std::array<const char*, 8> kCharsets = {
      "",         "GB 18030", "UNICODE UTF-8",  "8859/1",
      "ISO IR87", "BIG-5",    "UNICODE UTF-16", "KS X 1001"};
  wardgate::hl7::DecoderLimits limits;
  limits.max_message_size = kSizes[config & 3];
  limits.default_charset = kCharsets[(config >> 2) & 7];
  return limits;
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry point
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const wardgate::hl7::DecoderLimits limits = limits_for(data[0]);
  const std::size_t cap = 2 * limits.max_message_size;
  Log scripted_log;
  Log plain_log;
  wardgate::hl7::Decoder scripted(scripted_log, limits);
  wardgate::hl7::Decoder plain(plain_log, limits);

  wardgate::fuzzing::for_each_record(data + 1, size - 1, [&](const wardgate::fuzzing::Record& r) {
    const Side side = r.server ? Side::kServer : Side::kClient;
    if (r.end) {
      scripted.end_of_stream(side);
      plain.end_of_stream(side);
      return;
    }
    plain.feed(side, r.bytes);
    for (auto piece : r.pieces) {
      scripted.feed(side, piece);
      check(scripted.buffered_bytes() <= cap, "buffered beyond the cap");
    }
    check(plain.buffered_bytes() <= cap, "buffered beyond the cap");
  });
  scripted.end_of_stream(Side::kClient);
  scripted.end_of_stream(Side::kServer);
  plain.end_of_stream(Side::kClient);
  plain.end_of_stream(Side::kServer);
  if (scripted_log.text != plain_log.text) {
    std::fprintf(stderr, "--- scripted\n%s--- plain\n%s", scripted_log.text.c_str(),
                 plain_log.text.c_str());
    check(false, "chunking changed what was reported");
  }
  return 0;
}
