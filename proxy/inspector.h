#pragma once
// The seam between the relay and protocol understanding. An Inspector sees the bytes the relay
// forwards, in both directions, before they are forwarded, and the close of each direction.
// Inspectors never modify bytes and never do I/O: for each chunk they answer one Action, which
// the relay carries out. The protocol inspectors live in inspect/; proxy/ knows only this seam.
//
// - forward: the chunk goes on as shown.
// - forward released: an inspector that enforces a policy per message (HL7: a refused message is
//   not forwarded) holds a message's bytes until it has seen all of it, and gives the bytes to
//   forward now in place of the chunk: whole messages as they came, or nothing.
// - inject: as forward released, then a message of wardgate's own goes into a direction's
//   stream (wardgate's AR acknowledgement to the sender of a refused message). It is written
//   after every byte of that direction the inspector has been shown and before any it has not,
//   so an inspector that injects only where its view of that stream is at a message boundary
//   never splits a message of the peers.
// - close: the session ends; the chunk is not forwarded. Each side gets wardgate's response
//   (e.g. A-ASSOCIATE-RJ, A-ABORT) and then FIN, or a reset.
//
// An inspector that knows it does not need the next N bytes of a direction (pixel data inside a
// P-DATA fragment, or everything for a counting inspector) says so through opaque_bytes(); the
// relay then moves those bytes socket to socket in the kernel (splice) without copying them into
// wardgate, and only reports their count through on_opaque(). That is what keeps inspection from
// costing throughput. An inspector does not inject into a direction inside such a run.
#include <netinet/in.h>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace wardgate::proxy {

// The relay's two legs are the device's and its peer's. The device is the client of the
// connections it opens and the server of those the core opens to one of its published services
// (SessionInfo::device_side); directions are named from the device either way.
enum class Direction : std::uint8_t {
  kFromDevice,  // device -> core
  kToDevice,    // core -> device
};

// Which end of the TCP connection is the device.
enum class DeviceSide : std::uint8_t {
  kClient,  // the device opened the connection (to the PACS, the HL7 engine)
  kServer,  // the core opened it, to a service the device publishes (a C-MOVE's storage SCP)
};

// What wardgate itself says to each side when an inspector closes the session, before it closes
// that side with FIN. No value (nullopt): that side is reset instead; an inspector chooses that
// when the side's stream is not at a message boundary, where a message of wardgate's own would be
// misread. No value on either side: both are reset at once.
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
  kInspector,            // an inspector closed the session
  kShutdown,             // wardgate stopped (drain deadline)
  kFirstMessageTimeout,  // the connection's opener sent no complete first message in time
  kMessageTimeout,       // the device began a message and did not complete it in time
  kHeldBytesBudget,      // the inspector would have held more than the global budget has left
};

// How far an inspector has followed one direction's stream of messages (DICOM PDUs, MLLP frames),
// for the relay's message deadlines.
struct Progress {
  bool framed = false;          // false: not followed (no framing, or out of sync): no deadline
  std::uint64_t completed = 0;  // messages seen to complete so far (grows with each one seen)
  bool inside = false;          // a message has begun and not ended
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
  DeviceSide device_side = DeviceSide::kClient;
  in_addr client_addr{};  // who opened the connection
  std::uint16_t client_port = 0;
  // Where wardgate connects: the original destination, or where the upstream route sends it
  // (a device's own address for a connection the core made to its mapped address).
  in_addr server_addr{};
  std::uint16_t server_port = 0;
  in_addr upstream_source{};  // the address wardgate's upstream leg comes from

  // The device's own address on the VLAN.
  in_addr device_addr() const {
    return device_side == DeviceSide::kClient ? client_addr : server_addr;
  }
};

// "10.1.1.20" and "10.1.1.20:50123", for logs and audit events.
std::string ip_text(in_addr address);
std::string endpoint_text(in_addr address, std::uint16_t port);

const char* to_string(DeviceSide s);

// "10.1.1.20:50123 -> 10.2.2.10:104 (dicom)", for log lines; a connection the core opened to a
// device ends in "(storescp, opened by the core)".
std::string describe(const SessionInfo& info);

// An inspector's answer to one chunk of `direction`.
struct Action {
  enum class Kind : std::uint8_t {
    kForward,          // forward the chunk
    kForwardReleased,  // forward `released` in place of the chunk
    kInject,           // forward `released` in place of the chunk, then `message` into `into`
    kClose,            // forward nothing; `response` to each side, then end the session
  };

  static Action forward() { return {}; }
  // `bytes`: earlier held bytes, part of the chunk, the chunk itself, or none; they must stay
  // valid until the inspector's next on_data() of the same direction.
  static Action forward_released(std::span<const std::byte> bytes) {
    Action a;
    a.kind = Kind::kForwardReleased;
    a.released = bytes;
    return a;
  }
  static Action inject(std::span<const std::byte> bytes, Direction into,
                       std::vector<std::byte> message) {
    Action a;
    a.kind = Kind::kInject;
    a.released = bytes;
    a.into = into;
    a.message = std::move(message);
    return a;
  }
  static Action close(Response response) {
    Action a;
    a.kind = Kind::kClose;
    a.response = std::move(response);
    return a;
  }

  Kind kind = Kind::kForward;
  std::span<const std::byte> released;
  Direction into = Direction::kToDevice;
  std::vector<std::byte> message;
  Response response;
};

class Inspector {
 public:
  // opaque_bytes() value meaning "never show me bytes of this direction again".
  static constexpr std::uint64_t kAllOpaque = UINT64_MAX;

  virtual ~Inspector() = default;
  virtual Action on_data(Direction direction, std::span<const std::byte> chunk) = 0;
  // How many of the next bytes of `direction` need not be shown; asked at the start and again
  // after each on_data() and each exhausted opaque run.
  virtual std::uint64_t opaque_bytes(Direction /*direction*/) { return 0; }
  // `n` opaque bytes of `direction` have been relayed.
  virtual void on_opaque(Direction /*direction*/, std::size_t /*n*/) {}
  virtual void on_close(Direction direction, CloseCause cause) = 0;

  // Where `direction`'s stream stands after the bytes shown and skipped so far.
  virtual Progress progress(Direction /*direction*/) const { return {}; }
  // Memory the inspector holds for the session (its buffers' capacity), charged to the global
  // held-bytes budget; and the most it can hold after on_data() of `n` more bytes, which the relay
  // takes from the budget before showing them (so nothing is allocated past the budget).
  virtual std::size_t held_bytes() const { return 0; }
  virtual std::size_t held_bytes_after(std::size_t /*n*/) const { return 0; }
};

class InspectorFactory {
 public:
  virtual ~InspectorFactory() = default;
  // Called on the session's thread when the upstream connection is established; may return null
  // (no inspection for this session).
  virtual std::unique_ptr<Inspector> create(const SessionInfo& info) = 0;
};

}  // namespace wardgate::proxy
