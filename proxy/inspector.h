#pragma once
// The seam between the relay and protocol understanding. An Inspector sees the bytes the relay
// forwards, in both directions, before they are forwarded, and the close of each direction. It may
// answer kClose to cut the session (the chunk it was shown is then not forwarded). Inspectors never
// modify bytes and never do I/O: the DICOM and HL7 decoders plug in here.
//
// An inspector that enforces a policy per message (HL7: a refused message is not forwarded)
// holds a message's bytes until it has seen all of it: it answers kForwardReleased and gives the
// bytes to forward now through released(), whole messages as they came, or nothing. It may also
// put a message of its own into a direction at a message boundary (wardgate's AR acknowledgement
// to the sender of a refused message) through injection_pending()/take_injection().
//
// An inspector that knows it does not need the next N bytes of a direction (pixel data inside a
// P-DATA fragment, or everything for a counting inspector) says so through opaque_bytes(); the
// relay then moves those bytes socket to socket in the kernel (splice) without copying them into
// wardgate, and only reports their count through on_opaque(). That is what keeps inspection from
// costing throughput.
#include <netinet/in.h>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace wardgate::proxy {

enum class Direction : std::uint8_t {
  kFromDevice,  // device -> core (client -> server)
  kToDevice,    // core -> device
};

enum class Verdict : std::uint8_t {
  kContinue,
  kClose,            // cut the session: both sides see a reset
  kRespondAndClose,  // send response() to each side (e.g. A-ASSOCIATE-RJ, A-ABORT), then close
  kForwardReleased,  // forward released() instead of the chunk (the inspector holds the rest)
};

// What wardgate itself says to each side when an inspector answers kRespondAndClose, before it
// closes that side with FIN. The chunk that caused it is not forwarded. No value (nullopt): that
// side is reset instead; an inspector chooses that when the side's stream is not at a message
// boundary, where a message of wardgate's own would be misread.
struct Response {
  std::optional<std::vector<std::byte>> to_device;
  std::optional<std::vector<std::byte>> to_upstream;
};

// Why one direction of a session ended.
enum class CloseCause : std::uint8_t {
  kEof,          // orderly FIN, propagated as a half-close
  kReset,        // the sender reset, propagated as a reset
  kWriteFailed,  // the receiving side went away; the sender is reset
  kIdleTimeout,
  kInspector,  // an inspector answered kClose
  kShutdown,   // wardgate stopped (drain deadline)
};

inline Direction opposite(Direction d) {
  return d == Direction::kFromDevice ? Direction::kToDevice : Direction::kFromDevice;
}

const char* to_string(Direction d);
const char* to_string(CloseCause c);

// What an inspector knows about the session it watches. Addresses are IPv4, host order ports.
struct SessionInfo {
  std::uint64_t id = 0;
  std::string service;   // configured name of the intercepted port, e.g. "pacs-dicom"
  std::string protocol;  // configured protocol of that port: "dicom", "hl7", "tcp"
  in_addr device_addr{};
  std::uint16_t device_port = 0;
  in_addr server_addr{};  // the original destination the device connected to
  std::uint16_t server_port = 0;
};

// "10.1.1.20" and "10.1.1.20:50123", for logs and audit events.
std::string ip_text(in_addr address);
std::string endpoint_text(in_addr address, std::uint16_t port);

// "10.1.1.20:50123 -> 10.2.2.10:104 (dicom)", for log lines.
std::string describe(const SessionInfo& info);

class Inspector {
 public:
  // opaque_bytes() value meaning "never show me bytes of this direction again".
  static constexpr std::uint64_t kAllOpaque = UINT64_MAX;

  virtual ~Inspector() = default;
  virtual Verdict on_data(Direction direction, std::span<const std::byte> chunk) = 0;
  // Asked once when on_data() answered kRespondAndClose.
  virtual Response response() { return {}; }
  // Asked when on_data() answered kForwardReleased: the bytes of `direction` to forward now, in
  // place of the chunk (earlier held bytes, part of the chunk, or none). Valid until the next
  // call on this inspector.
  virtual std::span<const std::byte> released(Direction /*direction*/) { return {}; }
  // A message of wardgate's own waits to be put into `direction`'s stream. The relay asks after
  // every write of that direction and after every chunk of the other one, at a moment when the
  // inspector has seen exactly the bytes of `direction` written so far.
  virtual bool injection_pending(Direction /*direction*/) const { return false; }
  // The bytes to write now; empty when `direction` is not at a message boundary yet (the
  // message then stays pending).
  virtual std::vector<std::byte> take_injection(Direction /*direction*/) { return {}; }
  // How many of the next bytes of `direction` need not be shown; asked at the start and again
  // after each on_data() and each exhausted opaque run.
  virtual std::uint64_t opaque_bytes(Direction /*direction*/) { return 0; }
  // `n` opaque bytes of `direction` have been relayed.
  virtual void on_opaque(Direction /*direction*/, std::size_t /*n*/) {}
  virtual void on_close(Direction direction, CloseCause cause) = 0;
};

class InspectorFactory {
 public:
  virtual ~InspectorFactory() = default;
  // Called on the session's thread when the upstream connection is established; may return null
  // (no inspection for this session).
  virtual std::unique_ptr<Inspector> create(const SessionInfo& info) = 0;
};

}  // namespace wardgate::proxy
