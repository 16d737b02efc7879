// Throughput of hl7::Decoder on a stream of MLLP-framed 1 KiB ORU^R01 messages (DESIGN.md:
// >= 1 M msg/s per core). The stream is synthesized here, no network: kMessages vital-signs
// results as a patient monitor sends them (MSH with MSH-18, PID with two PID-3 identifiers and
// PID-5, PV1, OBR, eight OBX), each with its own control ID, patient and values, one per frame.
//
// Two ways of handing the stream to the decoder (bytes/s count the whole stream):
//   chunked  16 KiB reads, as the relay hands them over: frames cut anywhere.
//   whole    the whole stream in one feed() call: every frame complete in its chunk (the floor).
// Every iteration decodes the stream with a fresh decoder and checks the callbacks (every
// message, its control ID, patient and counts; no framing error).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hl7/decoder.h"

namespace {

using wardgate::hl7::Decoder;
using wardgate::hl7::DecoderCallbacks;
using wardgate::hl7::FramingError;
using wardgate::hl7::Message;
using wardgate::hl7::Side;

constexpr int kMessages = 4096;
constexpr std::size_t kChunk = std::size_t{16} * 1024;

std::string number(const char* format, int value) {
  std::array<char, 32> buffer{};
  std::snprintf(buffer.data(), buffer.size(), format, value);
  return buffer.data();
}

// One ORU^R01 of about 1 KiB; `i` varies the control ID, the patient and the values.
std::string oru(int i) {
  const std::string time = "20240101" + number("%06d", 120000 + i % 5000);
  const auto obx = [&](int set, const char* code, const char* name, int value, const char* unit,
                       const char* range) {
    return "OBX|" + std::to_string(set) + "|NM|" + code + "^" + name + "^LN||" +
           std::to_string(value) + "|" + unit + "^" + unit + "^UCUM|" + range + "|N|||F\r";
  };
  std::string m =
      "MSH|^~\\&|PHILIPS_MX800^0001A1B2C3D4^EUI-64|ICU^1.2.276.0.7230010.3.1^ISO|HIS|GENERAL "
      "HOSPITAL|" +
      time + "||ORU^R01^ORU_R01|MON" + number("%010d", i) + "|P|2.5.1|||AL|NE||UNICODE UTF-8\r";
  m += "PID|1||" + number("%08d", 4000000 + i) + "^^^HOSP^MR~" + number("%09d", 700000000 + i) +
       "^^^NATION^NI||M\xc3\xbcller^Hans^Peter^^Dr.||19650312|M|||Hauptstr. 1^^Berlin^^10115^DE\r";
  m += "PV1|1|I|ICU^BED" + number("%02d", i % 24) +
       "^1^GENERAL HOSPITAL||||1234^Smith^John|||||||||||V" + number("%07d", i) + "\r";
  m += "OBR|1|ORD" + number("%07d", i) + "|FIL" + number("%07d", i) +
       "|182777000^monitoring of patient^SCT|||" + time + "|||||||||||||||" + time + "|||F\r";
  m += obx(1, "8867-4", "Heart rate", 60 + i % 40, "/min", "60-100");
  m += obx(2, "8480-6", "Systolic blood pressure", 100 + i % 40, "mm[Hg]", "90-140");
  m += obx(3, "8462-4", "Diastolic blood pressure", 60 + i % 30, "mm[Hg]", "60-90");
  m += obx(4, "8478-0", "Mean blood pressure", 70 + i % 30, "mm[Hg]", "70-105");
  m += obx(5, "59408-5", "SpO2", 90 + i % 10, "%", "94-100");
  m += obx(6, "9279-1", "Respiratory rate", 10 + i % 15, "/min", "12-20");
  m += obx(7, "8310-5", "Body temperature", 36 + i % 3, "Cel", "36-38");
  m += obx(8, "19889-5", "End tidal CO2", 30 + i % 15, "mm[Hg]", "35-45");
  return m;
}

struct Stream {
  std::vector<std::byte> bytes;
  std::size_t message_bytes = 0;  // content bytes, without MLLP blocks
};

const Stream& stream() {
  static const Stream s = [] {
    Stream out;
    for (int i = 0; i < kMessages; ++i) {
      const std::string m = oru(i);
      out.message_bytes += m.size();
      const std::string frame = "\x0b" + m + "\x1c\r";
      for (const char c : frame) out.bytes.push_back(static_cast<std::byte>(c));
    }
    return out;
  }();
  return s;
}

// Checks what the decoder reports, cheaply: every message must arrive whole and in order.
class Tally final : public DecoderCallbacks {
 public:
  void on_message(Side /*from*/, const Message& m) override {
    const bool ok = m.message_type == "ORU" && m.trigger_event == "R01" &&
                    m.control_id.size() == 13 && m.patient_identifiers.size() == 2 &&
                    m.patient_name == "M\xc3\xbcller^Hans^Peter^^Dr." && m.obx_count == 8 &&
                    m.segment_count == 12 && m.notes.empty() && !m.header.empty();
    if (ok) ++good;
    ++messages;
  }
  void on_framing_error(Side /*from*/, FramingError kind, std::string_view detail) override {
    error = std::string(wardgate::hl7::to_string(kind)) + ": " + std::string(detail);
  }

  int messages = 0;
  int good = 0;
  std::string error;
};

void decoder_throughput(benchmark::State& state, std::size_t chunk) {
  const Stream& s = stream();
  for (auto _ : state) {
    Tally tally;
    Decoder d(tally);
    std::span<const std::byte> rest(s.bytes);
    while (!rest.empty()) {
      const std::size_t n = std::min(chunk, rest.size());
      d.feed(Side::kClient, rest.first(n));
      rest = rest.subspan(n);
    }
    d.end_of_stream(Side::kClient);
    benchmark::DoNotOptimize(tally.good);
    if (!tally.error.empty() || tally.messages != kMessages || tally.good != kMessages) {
      state.SkipWithError(("stream not decoded as built: " + std::to_string(tally.good) + " of " +
                           std::to_string(kMessages) + " messages " + tally.error)
                              .c_str());
      break;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.bytes.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kMessages);
  state.counters["message_bytes"] =
      static_cast<double>(s.message_bytes) / static_cast<double>(kMessages);
}

BENCHMARK_CAPTURE(decoder_throughput, chunked_16k, kChunk)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(decoder_throughput, whole, SIZE_MAX)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
