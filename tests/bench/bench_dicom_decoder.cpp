// Throughput of dicom::Decoder on one whole C-STORE association (DESIGN.md: >= 5 GB/s per core on
// P-DATA streams). The stream is synthesized here, no network: A-ASSOCIATE-RQ (CT Image Storage,
// Explicit VR Little Endian), A-ASSOCIATE-AC accepting it with a maximum PDU of 16 KiB (DCMTK's
// default) or 1 MiB, then per image a C-STORE-RQ command, a 512 x 512 x 16-bit CT data set in
// P-DATA-TF PDUs of the negotiated size, the C-STORE-RSP, and the release at the end.
//
// Three ways of handing the stream to the decoder (bytes/s always count the whole stream):
//   fed    every byte fed, in 64 KiB chunks: what an inspector on a copying relay pays.
//   relay  proxy/relay.cpp's zero-copy loop: a chunk of up to 64 KiB is read and fed whole; while
//          skippable() > 0 the bytes are spliced past the decoder (skip(), at most one 64 KiB pipe
//          at a time) and it is asked again.
//   ideal  the floor: only what the decoder must see is fed (PDU and PDV headers, command sets,
//          each data set's peek prefix), everything else skipped. The cut points come from the
//          synthesizer, not the decoder; the counter fed_fraction shows what each mode fed.
// Every iteration decodes a fresh association and checks the callbacks (200 C-STORE requests
// and responses, 200 data sets with their identifiers, no violation).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dicom/decoder.h"

namespace {

using wardgate::dicom::Command;
using wardgate::dicom::DataSetIdentifiers;
using wardgate::dicom::Decoder;
using wardgate::dicom::DecoderCallbacks;
using wardgate::dicom::Side;
using wardgate::dicom::Violation;

constexpr std::string_view kApplicationContext = "1.2.840.10008.3.1.1.1";
constexpr std::string_view kCtImageStorage = "1.2.840.10008.5.1.4.1.1.2";
constexpr std::string_view kExplicitLittle = "1.2.840.10008.1.2.1";
constexpr std::string_view kImplicitLittle = "1.2.840.10008.1.2";
constexpr std::string_view kImplementationClass = "1.2.276.0.7230010.3.0.3.6.7";  // DCMTK 3.6.7
constexpr std::string_view kImplementationVersion = "OFFIS_DCMTK_367";
constexpr std::string_view kStudyUid = "1.2.826.0.1.3680043.8.498.1";
constexpr std::string_view kSeriesUid = "1.2.826.0.1.3680043.8.498.1.1";
constexpr std::string_view kPatientId = "WG-BENCH-0001";
constexpr std::uint8_t kContextId = 1;
constexpr std::uint32_t kClientMaxPdu = 16384;  // storescu's default
constexpr std::size_t kPixelBytes = std::size_t{512} * 512 * 2;
constexpr std::size_t kChunk =
    std::size_t{64} * 1024;  // relay read size and splice pipe capacity here
constexpr std::size_t kPeekLimit = wardgate::dicom::DecoderLimits{}.data_set_peek;
constexpr int kImages = 200;

std::string instance_uid(int i) { return std::string(kSeriesUid) + "." + std::to_string(i + 1); }

class Writer {
 public:
  explicit Writer(std::vector<std::byte>& out) : out_(out) {}
  void u8(unsigned v) { out_.push_back(static_cast<std::byte>(v & 0xFF)); }
  void be16(unsigned v) {
    u8(v >> 8);
    u8(v);
  }
  void be32(std::uint32_t v) {
    be16(v >> 16);
    be16(v & 0xFFFF);
  }
  void le16(unsigned v) {
    u8(v);
    u8(v >> 8);
  }
  void le32(std::uint32_t v) {
    le16(v & 0xFFFF);
    le16(v >> 16);
  }
  void text(std::string_view s) {
    for (const char c : s) u8(static_cast<unsigned char>(c));
  }
  void zeros(std::size_t n) { out_.insert(out_.end(), n, std::byte{0}); }
  void bytes(const std::vector<std::byte>& b) { out_.insert(out_.end(), b.begin(), b.end()); }
  std::size_t size() const { return out_.size(); }
  void patch_be32(std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out_[at + i] = static_cast<std::byte>((v >> (24 - 8 * i)) & 0xFF);
  }
  void patch_be16(std::size_t at, unsigned v) {
    out_[at] = static_cast<std::byte>((v >> 8) & 0xFF);
    out_[at + 1] = static_cast<std::byte>(v & 0xFF);
  }

 private:
  std::vector<std::byte>& out_;
};

// An item whose 2-byte length is patched in when it is closed (PS3.8 9.3.2: item header).
std::size_t open_item(Writer& w, unsigned type) {
  w.u8(type);
  w.u8(0);
  w.be16(0);
  return w.size();
}
void close_item(Writer& w, std::size_t body_at) { w.patch_be16(body_at - 2, w.size() - body_at); }

void uid_item(Writer& w, unsigned type, std::string_view uid) {
  const std::size_t at = open_item(w, type);
  w.text(uid);
  close_item(w, at);
}

// PS3.8 9.3.2 / 9.3.3: A-ASSOCIATE-RQ (accept = false) or -AC.
std::vector<std::byte> associate_pdu(bool accept, std::uint32_t max_pdu) {
  std::vector<std::byte> pdu;
  Writer w(pdu);
  w.u8(accept ? 0x02 : 0x01);
  w.u8(0);
  w.be32(0);
  w.be16(1);  // protocol version
  w.zeros(2);
  w.text("PACS            ");  // called AE
  w.text("CT01            ");  // calling AE
  w.zeros(32);
  uid_item(w, 0x10, kApplicationContext);
  const std::size_t pc = open_item(w, accept ? 0x21 : 0x20);
  w.u8(kContextId);
  w.zeros(3);  // reserved; on the AC byte 2 is the result, 0 = acceptance
  if (!accept) uid_item(w, 0x30, kCtImageStorage);
  uid_item(w, 0x40, kExplicitLittle);
  if (!accept) uid_item(w, 0x40, kImplicitLittle);
  close_item(w, pc);
  const std::size_t user = open_item(w, 0x50);
  const std::size_t max = open_item(w, 0x51);
  w.be32(max_pdu);
  close_item(w, max);
  uid_item(w, 0x52, kImplementationClass);
  uid_item(w, 0x55, kImplementationVersion);
  close_item(w, user);
  w.patch_be32(2, static_cast<std::uint32_t>(pdu.size() - 6));
  return pdu;
}

std::vector<std::byte> fixed_pdu(unsigned type) {  // A-RELEASE-RQ / -RP (PS3.8 9.3.6, 9.3.7)
  std::vector<std::byte> pdu;
  Writer w(pdu);
  w.u8(type);
  w.u8(0);
  w.be32(4);
  w.zeros(4);
  return pdu;
}

// Implicit VR Little Endian elements (PS3.5 7.1.3); UIDs padded with NUL, text with spaces.
void implicit_element(Writer& w, unsigned group, unsigned element,
                      const std::vector<std::byte>& v) {
  w.le16(group);
  w.le16(element);
  w.le32(static_cast<std::uint32_t>(v.size()));
  w.bytes(v);
}
std::vector<std::byte> us_value(unsigned v) {
  std::vector<std::byte> b;
  Writer(b).le16(v);
  return b;
}
std::vector<std::byte> padded(std::string_view s, char pad) {
  std::vector<std::byte> b;
  Writer w(b);
  w.text(s);
  if (s.size() % 2 != 0) w.u8(static_cast<unsigned char>(pad));
  return b;
}

// PS3.7 9.3.1.1 (C-STORE-RQ) and 9.3.1.2 (C-STORE-RSP) command sets.
std::vector<std::byte> command_set(bool response, unsigned message_id, const std::string& sop) {
  std::vector<std::byte> rest;
  Writer w(rest);
  implicit_element(w, 0x0000, 0x0002, padded(kCtImageStorage, '\0'));
  implicit_element(w, 0x0000, 0x0100, us_value(response ? 0x8001 : 0x0001));
  if (response) {
    implicit_element(w, 0x0000, 0x0120, us_value(message_id));
    implicit_element(w, 0x0000, 0x0800, us_value(0x0101));  // no data set
    implicit_element(w, 0x0000, 0x0900, us_value(0x0000));  // success
  } else {
    implicit_element(w, 0x0000, 0x0110, us_value(message_id));
    implicit_element(w, 0x0000, 0x0700, us_value(0x0000));  // medium priority
    implicit_element(w, 0x0000, 0x0800, us_value(0x0000));  // a data set follows
  }
  implicit_element(w, 0x0000, 0x1000, padded(sop, '\0'));
  std::vector<std::byte> set;
  Writer s(set);
  std::vector<std::byte> length;
  Writer(length).le32(static_cast<std::uint32_t>(rest.size()));
  implicit_element(s, 0x0000, 0x0000, length);  // command group length
  s.bytes(rest);
  return set;
}

// Explicit VR Little Endian (PS3.5 7.1.2): short form for string VRs and US, long form for OW.
void explicit_element(Writer& w, unsigned group, unsigned element, std::string_view vr,
                      const std::vector<std::byte>& v) {
  w.le16(group);
  w.le16(element);
  w.text(vr);
  w.le16(static_cast<unsigned>(v.size()));
  w.bytes(v);
}

// A CT image as make-ct-study writes it, in short: identifiers, image geometry, pixel data.
std::vector<std::byte> ct_data_set(int index) {
  std::vector<std::byte> ds;
  Writer w(ds);
  explicit_element(w, 0x0008, 0x0016, "UI", padded(kCtImageStorage, '\0'));
  explicit_element(w, 0x0008, 0x0018, "UI", padded(instance_uid(index), '\0'));
  explicit_element(w, 0x0008, 0x0050, "SH", padded("ACC0001", ' '));
  explicit_element(w, 0x0008, 0x0060, "CS", padded("CT", ' '));
  explicit_element(w, 0x0010, 0x0010, "PN", padded("BENCH^PATIENT", ' '));
  explicit_element(w, 0x0010, 0x0020, "LO", padded(kPatientId, ' '));
  explicit_element(w, 0x0020, 0x000D, "UI", padded(kStudyUid, '\0'));
  explicit_element(w, 0x0020, 0x000E, "UI", padded(kSeriesUid, '\0'));
  explicit_element(w, 0x0020, 0x0013, "IS", padded(std::to_string(index + 1), ' '));
  explicit_element(w, 0x0028, 0x0002, "US", us_value(1));
  explicit_element(w, 0x0028, 0x0004, "CS", padded("MONOCHROME2", ' '));
  explicit_element(w, 0x0028, 0x0010, "US", us_value(512));
  explicit_element(w, 0x0028, 0x0011, "US", us_value(512));
  explicit_element(w, 0x0028, 0x0100, "US", us_value(16));
  explicit_element(w, 0x0028, 0x0101, "US", us_value(12));
  explicit_element(w, 0x0028, 0x0102, "US", us_value(11));
  explicit_element(w, 0x0028, 0x0103, "US", us_value(0));
  w.le16(0x7FE0);
  w.le16(0x0010);
  w.text("OW");
  w.zeros(2);
  w.le32(static_cast<std::uint32_t>(kPixelBytes));
  const std::size_t at = ds.size();
  ds.resize(at + kPixelBytes);
  for (std::size_t i = 0; i < kPixelBytes; i += 2) {  // a smooth 12-bit ramp, like a phantom
    const auto v = static_cast<unsigned>((i / 2 + static_cast<std::size_t>(index) * 7) & 0x0FFF);
    ds[at + i] = static_cast<std::byte>(v & 0xFF);
    ds[at + i + 1] = static_cast<std::byte>(v >> 8);
  }
  return ds;
}

// One direction's turn: contiguous bytes, with the offsets where a data set fragment's payload
// starts or the data set reaches the peek limit (the cut points of the "ideal" mode).
struct Turn {
  Side side = Side::kClient;
  std::size_t begin = 0;
  std::size_t end = 0;
};

struct Stream {
  std::vector<std::byte> bytes;
  std::vector<Turn> turns;
  std::vector<std::size_t> cuts;  // ascending
  int images = 0;
};

class StreamBuilder {
 public:
  explicit StreamBuilder(Stream& s) : s_(s), w_(s.bytes) {}
  void begin(Side side) {
    if (!s_.turns.empty() && s_.turns.back().end == s_.bytes.size() &&
        s_.turns.back().side == side) {
      return;
    }
    s_.turns.push_back(Turn{side, s_.bytes.size(), s_.bytes.size()});
  }
  void append(Side side, const std::vector<std::byte>& b) {
    begin(side);
    w_.bytes(b);
    s_.turns.back().end = s_.bytes.size();
  }
  // A message (PS3.8 annex E) in P-DATA-TF PDUs of at most max_pdu bytes, one PDV each.
  void message(Side side, bool command, const std::vector<std::byte>& m, std::uint32_t max_pdu) {
    begin(side);
    // As DCMTK fragments (tests/data/dicom recordings): PDUs of max_pdu - 6 bytes in all.
    const std::size_t max_fragment = (max_pdu - 12) & ~std::size_t{1};
    std::size_t done = 0;
    while (done < m.size()) {
      const std::size_t n = std::min(max_fragment, m.size() - done);
      const bool last = done + n == m.size();
      w_.u8(0x04);
      w_.u8(0);
      w_.be32(static_cast<std::uint32_t>(n + 6));
      w_.be32(static_cast<std::uint32_t>(n + 2));
      w_.u8(kContextId);
      w_.u8((command ? 0x01 : 0x00) | (last ? 0x02 : 0x00));
      if (!command) {
        s_.cuts.push_back(s_.bytes.size());
        if (done < kPeekLimit && kPeekLimit < done + n) {
          s_.cuts.push_back(s_.bytes.size() + (kPeekLimit - done));
        }
      }
      s_.bytes.insert(s_.bytes.end(), m.begin() + static_cast<std::ptrdiff_t>(done),
                      m.begin() + static_cast<std::ptrdiff_t>(done + n));
      done += n;
    }
    s_.turns.back().end = s_.bytes.size();
  }

 private:
  Stream& s_;
  Writer w_;
};

Stream make_stream(std::uint32_t server_max_pdu, int images) {
  Stream s;
  s.images = images;
  StreamBuilder b(s);
  b.append(Side::kClient, associate_pdu(false, kClientMaxPdu));
  b.append(Side::kServer, associate_pdu(true, server_max_pdu));
  for (int i = 0; i < images; ++i) {
    const auto id = static_cast<unsigned>(i % 0xFFFF + 1);
    const std::string sop = instance_uid(i);
    b.message(Side::kClient, true, command_set(false, id, sop), server_max_pdu);
    b.message(Side::kClient, false, ct_data_set(i), server_max_pdu);
    b.message(Side::kServer, true, command_set(true, id, sop), kClientMaxPdu);
  }
  b.append(Side::kClient, fixed_pdu(0x05));
  b.append(Side::kServer, fixed_pdu(0x06));
  return s;
}

const Stream& stream_for(std::uint32_t server_max_pdu) {
  static const Stream small = make_stream(16384, kImages);
  static const Stream large = make_stream(1024 * 1024, kImages);
  return server_max_pdu == 16384 ? small : large;
}

// Counts what the decoder reports, cheaply; checked after every iteration.
class Tally final : public DecoderCallbacks {
 public:
  void on_associate_accept(const wardgate::dicom::Associate& /*ac*/) override { ++accepted; }
  void on_release_response(Side /*from*/) override { ++released; }
  void on_command(Side /*from*/, const Command& c) override {
    if (c.command_field == 0x0001) ++store_requests;
    if (c.command_field == 0x8001 && c.status == 0) ++store_responses;
  }
  void on_data_set_identifiers(Side /*from*/, std::uint8_t /*context_id*/,
                               const DataSetIdentifiers& ids) override {
    if (ids.patient_id == kPatientId && ids.modality == "CT" &&
        ids.study_instance_uid == kStudyUid) {
      ++identified;
    }
  }
  void on_data_set_end(Side /*from*/, std::uint8_t /*context_id*/, std::uint64_t bytes) override {
    ++data_sets;
    data_bytes += bytes;
  }
  void on_violation(Side /*from*/, Violation what, std::string_view detail) override {
    violation = std::string(wardgate::dicom::to_string(what)) + ": " + std::string(detail);
  }

  // Empty when the association decoded as built.
  std::string problem(int images) const {
    if (!violation.empty()) return "violation " + violation;
    if (accepted != 1 || released != 1) return "association not accepted and released";
    if (store_requests != images || store_responses != images) {
      return std::to_string(store_requests) + " C-STORE-RQ, " + std::to_string(store_responses) +
             " C-STORE-RSP of " + std::to_string(images);
    }
    if (data_sets != images || identified != images) {
      return std::to_string(data_sets) + " data sets, " + std::to_string(identified) +
             " identified, of " + std::to_string(images);
    }
    return {};
  }

  int accepted = 0;
  int released = 0;
  int store_requests = 0;
  int store_responses = 0;
  int identified = 0;
  int data_sets = 0;
  std::uint64_t data_bytes = 0;
  std::string violation;
};

enum class Mode { kFed, kRelay, kIdeal };

// Decodes one association; returns the bytes fed (the rest were skipped).
std::uint64_t decode(const Stream& s, Mode mode, Decoder& d) {
  const std::byte* base = s.bytes.data();
  std::uint64_t fed = 0;
  auto cut = s.cuts.begin();
  for (const Turn& t : s.turns) {
    std::size_t at = t.begin;
    while (at < t.end) {
      if (mode != Mode::kFed) {
        const std::uint64_t opaque = d.skippable(t.side);
        if (opaque > 0) {
          const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(
              {opaque, t.end - at, mode == Mode::kRelay ? kChunk : t.end - at}));
          d.skip(t.side, n);
          at += n;
          continue;
        }
      }
      std::size_t n = std::min(kChunk, t.end - at);
      if (mode == Mode::kIdeal) {
        while (cut != s.cuts.end() && *cut <= at) ++cut;
        if (cut != s.cuts.end() && *cut < at + n) n = *cut - at;
      }
      d.feed(t.side, {base + at, n});
      fed += n;
      at += n;
    }
  }
  return fed;
}

void decoder_throughput(benchmark::State& state, Mode mode, std::uint32_t max_pdu) {
  const Stream& s = stream_for(max_pdu);
  std::uint64_t fed = 0;
  for (auto _ : state) {
    Tally tally;
    Decoder d(tally);
    fed = decode(s, mode, d);
    benchmark::DoNotOptimize(tally.data_bytes);
    if (const std::string problem = tally.problem(s.images); !problem.empty() || !d.in_sync()) {
      state.SkipWithError(("stream not decoded as built: " + problem).c_str());
      break;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.bytes.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * s.images);
  state.counters["fed_fraction"] = static_cast<double>(fed) / static_cast<double>(s.bytes.size());
  state.counters["stream_mib"] = static_cast<double>(s.bytes.size()) / (1 << 20);
}

BENCHMARK_CAPTURE(decoder_throughput, fed_pdu16k, Mode::kFed, 16384)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(decoder_throughput, relay_pdu16k, Mode::kRelay, 16384)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(decoder_throughput, ideal_pdu16k, Mode::kIdeal, 16384)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(decoder_throughput, fed_pdu1m, Mode::kFed, 1024 * 1024)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(decoder_throughput, relay_pdu1m, Mode::kRelay, 1024 * 1024)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(decoder_throughput, ideal_pdu1m, Mode::kIdeal, 1024 * 1024)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
