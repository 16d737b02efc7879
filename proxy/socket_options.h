#pragma once
// Socket tuning that makes the split-TCP relay faster than the routed path (DESIGN.md, Decisions):
// NODELAY on both legs, QUICKACK re-armed after every read, buffers sized for the path.
#include <string>
#include <system_error>

namespace wardgate::proxy {

// TCP keepalive: a peer that vanished (powered off, cable pulled) is noticed after
// idle + interval x count seconds instead of at the idle timeout, and its slot freed.
struct KeepAlive {
  int idle_s = 60;  // 0: no keepalive
  int interval_s = 10;
  int count = 6;
};

struct LegTuning {
  int buffer_bytes = 0;            // SO_SNDBUF/SO_RCVBUF; 0 keeps the kernel's autotuning
  std::string congestion_control;  // e.g. "bbr"; empty keeps the system default
  KeepAlive keepalive;
};

std::error_code set_nodelay(int fd);
// Linux clears TCP_QUICKACK after it sends an ACK, so it must be set again after each read.
std::error_code arm_quickack(int fd);
std::error_code set_buffers(int fd, int bytes);
std::error_code set_congestion_control(int fd, const std::string& algorithm);
std::error_code set_keepalive(int fd, const KeepAlive& keepalive);
// Applies nodelay, keepalive, buffers and congestion control; returns the first failure.
std::error_code tune_leg(int fd, const LegTuning& tuning);

// IP_TRANSPARENT: accept connections for, and bind to, addresses that are not the appliance's.
std::error_code set_transparent(int fd);
// Lets a transparent bind pick its port at connect time (4-tuple unique), so many sessions from
// the same device do not exhaust ephemeral ports at bind.
std::error_code set_bind_address_no_port(int fd);
// SO_LINGER {on, 0}: the next close sends RST instead of FIN (reset propagation).
std::error_code set_reset_on_close(int fd);

// Whether the kernel offers a congestion control algorithm (for config validation and warnings).
bool congestion_control_available(const std::string& algorithm);

}  // namespace wardgate::proxy
