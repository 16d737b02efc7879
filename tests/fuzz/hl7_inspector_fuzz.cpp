// Fuzz target: the HL7 inspector as the relay drives it, with enforcement on, so the gate that
// holds a device's frames (hl7/frame_gate.h) and wardgate's own acknowledgements are exercised.
//
// Input: one configuration byte (bits 0-1: maximum message size; bits 2-3: the monitor's rules:
// none, ORU^R01 only, receiving application HL7ENGINE only, nothing allowed), then the records
// of tests/fuzz/fuzz_records.h.
// Oracles: a second inspector gets every record in one call; both must forward exactly the same
// bytes and refuse the same messages. What the device's side forwards must be whole MLLP
// frames with only CR/LF between them. Any crash or sanitizer report is a finding.
#include <arpa/inet.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

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
  if ((data[0] >> 2 & 3) != 0) check(whole_frames(whole.from_device), "forwarded a partial frame");
  return 0;
}
