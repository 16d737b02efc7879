#pragma once
// The seam between the relay and protocol understanding. An Inspector sees every chunk the relay
// forwards, in both directions, before it is forwarded, and the close of each direction. It may
// answer kClose to cut the session (the chunk it was shown is then not forwarded). Inspectors never
// modify bytes and never do I/O: the DICOM and HL7 decoders plug in here.
#include <netinet/in.h>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace wardgate::proxy {

enum class Direction : std::uint8_t {
  kFromDevice,  // device -> core (client -> server)
  kToDevice,    // core -> device
};

enum class Verdict : std::uint8_t { kContinue, kClose };

// Why one direction of a session ended.
enum class CloseCause : std::uint8_t {
  kEof,          // orderly FIN, propagated as a half-close
  kReset,        // the sender reset, propagated as a reset
  kWriteFailed,  // the receiving side went away; the sender is reset
  kIdleTimeout,
  kInspector,  // an inspector answered kClose
  kShutdown,   // wardgate stopped (drain deadline)
};

const char* to_string(Direction d);
const char* to_string(CloseCause c);

// What an inspector knows about the session it watches. Addresses are IPv4, host order ports.
struct SessionInfo {
  std::uint64_t id = 0;
  std::string service;  // configured name of the intercepted port, e.g. "dicom"
  in_addr device_addr{};
  std::uint16_t device_port = 0;
  in_addr server_addr{};  // the original destination the device connected to
  std::uint16_t server_port = 0;
};

// "10.1.1.20:50123 -> 10.2.2.10:104 (dicom)", for log lines.
std::string describe(const SessionInfo& info);

class Inspector {
 public:
  virtual ~Inspector() = default;
  virtual Verdict on_data(Direction direction, std::span<const std::byte> chunk) = 0;
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
