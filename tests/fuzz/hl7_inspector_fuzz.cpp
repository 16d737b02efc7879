// Fuzz target: the HL7 inspector as the relay drives it, with enforcement on, so the gate that
// holds a device's frames (hl7/frame_gate.h) and wardgate's own acknowledgements are exercised.
//
// Input: one configuration byte (bits 0-1: maximum message size; bits 2-3: the monitor's rules:
// none, ORU^R01 only, receiving application HL7ENGINE only, nothing allowed), then the records
// of tests/fuzz/fuzz_records.h.
// Oracles: a second inspector gets every record in one call; both must forward exactly the same
// bytes and refuse the same messages. What the device's side forwards must be whole MLLP
// frames with only CR/LF between them. An independent reading of the forwarded frames, the way a
// receiving engine reads them (segments cut at CR, LF or CRLF; MSH fields cut at MSH-1, values
// compared as sent), must find no message header the monitor's rules refuse. Any crash or
// sanitizer report is a finding.
#include <arpa/inet.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "audit/memory_sink.h"
#include "fuzz_check.h"
#include "inspect/hl7_inspector.h"
#include "tests/fuzz/fuzz_records.h"

namespace {

using wardgate::proxy::Action;
using wardgate::proxy::Direction;

using wardgate::fuzz::check;

struct Relayed {
  std::string from_device;
  std::string to_device;
};

// What the relay does with one chunk: forward it or what the inspector released, then any
// message of wardgate's own.
void drive(wardgate::proxy::Inspector& inspector, Direction d, std::span<const std::byte> chunk,
           Relayed& out) {
  const Action a = inspector.on_data(d, chunk);
  check(a.kind != Action::Kind::kClose, "unexpected close");
  const std::span<const std::byte> fwd = a.kind == Action::Kind::kForward ? chunk : a.released;
  std::string& to = d == Direction::kFromDevice ? out.from_device : out.to_device;
  to.append(reinterpret_cast<const char*>(fwd.data()), fwd.size());
  if (a.kind == Action::Kind::kInject) {
    check(a.into == Direction::kToDevice, "an answer toward the server");
    out.to_device.append(reinterpret_cast<const char*>(a.message.data()), a.message.size());
  }
}

// Whole frames, <SB> ... <EB><CR>, with only CR/LF between them.
bool whole_frames(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '\r' || s[i] == '\n') {
      ++i;
      continue;
    }
    if (s[i] != '\x0b') return false;
    const std::size_t end = s.find("\x1c\r", i + 1);
    if (end == std::string::npos) return false;
    if (s.find('\x0b', i + 1) < end) return false;
    i = end + 2;
  }
  return true;
}

// The monitor's rules as the configuration byte chose them, written again without the policy
// module: 0 none, 1 ORU^R01 only, 2 receiving application HL7ENGINE only, 3 nothing allowed.
enum class Rules { kNone, kOruOnly, kEngineOnly, kNothing };

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (std::size_t pos = 0;;) {
    const std::size_t end = s.find(sep, pos);
    out.push_back(s.substr(pos, end - pos));
    if (end == std::string_view::npos) return out;
    pos = end + 1;
  }
}

// Would an engine that receives this MSH segment accept it under the rules? Segments with bytes
// above 0x7F in their header are skipped: a double-byte character set moves what counts as a
// separator, and telling which is the decoder's job, not an oracle's.
bool header_allowed(std::string_view msh, Rules rules) {
  if (rules == Rules::kNone) return true;
  if (msh.size() < 4) return true;  // not a header an engine could route
  for (const char c : msh) {
    if (static_cast<unsigned char>(c) > 0x7F) return true;
  }
  if (rules == Rules::kNothing) return false;
  const auto fields = split(msh, msh[3]);  // fields[k] is MSH-(k+1); fields[0] is "MSH"
  const auto field = [&](std::size_t n) { return n - 1 < fields.size() ? fields[n - 1] : ""; };
  const std::string_view encoding = field(2);
  const auto first_component = [&](std::string_view value) {
    return encoding.empty() ? value : value.substr(0, value.find(encoding[0]));
  };
  if (rules == Rules::kEngineOnly) return first_component(field(5)) == "HL7ENGINE";
  const std::string_view type = field(9);
  if (encoding.empty()) return false;  // no components: no trigger event, so not ORU^R01
  const auto parts = split(type, encoding[0]);
  return parts[0] == "ORU" && parts.size() > 1 && parts[1] == "R01";
}

// Every MSH segment of every frame in the forwarded stream passes header_allowed().
bool only_allowed_headers(const std::string& stream, Rules rules) {
  const std::string_view s(stream);
  for (std::size_t start = s.find('\x0b'); start != std::string_view::npos;
       start = s.find('\x0b', start + 1)) {
    const std::size_t end = s.find('\x1c', start);
    const std::string_view frame = s.substr(start + 1, end - start - 1);
    std::size_t pos = 0;
    while (pos <= frame.size()) {
      std::size_t stop = frame.find_first_of("\r\n", pos);
      if (stop == std::string_view::npos) stop = frame.size();
      const std::string_view segment = frame.substr(pos, stop - pos);
      if (segment.substr(0, 3) == "MSH" && !header_allowed(segment, rules)) return false;
      pos = stop + 1;
    }
  }
  return true;
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry point
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr std::array<std::size_t, 4> kSizes = {std::size_t{1024} * 1024, 64, 256, 4096};
  wardgate::policy::Device monitor;
  monitor.name = "monitor";
  monitor.address = 0x0A01011E;  // 10.1.1.30
  switch ((data[0] >> 2) & 3) {
    case 1:
      monitor.hl7.allowed_message_types = std::vector<std::string>{"ORU^R01"};
      break;
    case 2:
      monitor.hl7.allowed_receiving_applications = std::vector<std::string>{"HL7ENGINE"};
      break;
    case 3:
      monitor.hl7.allowed_message_types = std::vector<std::string>{};
      break;
    default:
      break;
  }
  const wardgate::policy::DeviceRegistry devices({monitor});
  wardgate::audit::MemorySink sink;
  wardgate::audit::MemorySink plain_sink;
  const wardgate::audit::PatientDataProtector patients(wardgate::audit::PatientDataPolicy::kOmit);
  wardgate::inspect::Hl7Inspection settings;
  settings.sink = &sink;
  settings.devices = &devices;
  settings.patients = &patients;
  settings.enforce = true;
  settings.limits.max_message_size = kSizes[data[0] & 3];
  wardgate::inspect::Hl7InspectorFactory factory(settings);
  settings.sink = &plain_sink;
  wardgate::inspect::Hl7InspectorFactory plain_factory(settings);
  wardgate::proxy::SessionInfo info;
  info.id = 1;
  info.client_addr.s_addr = htonl(monitor.address);
  const auto scripted = factory.create(info);
  const auto plain = plain_factory.create(info);

  Relayed by_piece;
  Relayed whole;
  wardgate::fuzzing::for_each_record(data + 1, size - 1, [&](const auto& r) {
    const Direction d = r.server ? Direction::kToDevice : Direction::kFromDevice;
    if (r.end) {
      scripted->on_close(d, wardgate::proxy::CloseCause::kEof);
      plain->on_close(d, wardgate::proxy::CloseCause::kEof);
      return;
    }
    for (auto piece : r.pieces) drive(*scripted, d, piece, by_piece);
    drive(*plain, d, r.bytes, whole);
  });
  // Answers are sent at the server's frame boundaries, which chunking moves; the refusals
  // themselves (wardgate's acknowledgement events) must not change.
  const auto refusals = [](const wardgate::audit::MemorySink& events) {
    std::size_t n = 0;
    for (const auto& e : events.events()) {
      const auto* from = e.fields.find("from");
      n += e.action == "acknowledgement" && from != nullptr &&
           std::get<std::string>(*from) == "wardgate";
    }
    return n;
  };
  check(by_piece.from_device == whole.from_device, "chunking changed what was forwarded");
  check(refusals(sink) == refusals(plain_sink), "chunking changed what was refused");
  const auto rules = static_cast<Rules>((data[0] >> 2) & 3);
  if (rules != Rules::kNone) {
    check(whole_frames(whole.from_device), "forwarded a partial frame");
    check(only_allowed_headers(whole.from_device, rules), "forwarded a message the rules refuse");
  }
  return 0;
}
