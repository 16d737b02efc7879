#pragma once
// The two sockets that make interception transparent: a listener that accepts connections
// diverted by nftables TPROXY (their local address is the device's original destination), and an
// upstream socket bound to the device's own address, so the server sees the device, not wardgate.
#include "proxy/asio.h"

namespace wardgate::proxy {

// Throws boost::system::system_error with the failing step in its message (start-up only).
tcp::acceptor open_listener(asio::io_context& io, const tcp::endpoint& at, bool transparent,
                            int backlog);

// An unconnected upstream socket; with `transparent`, bound to `source` (port chosen at connect).
boost::system::error_code open_upstream(tcp::socket& socket, const asio::ip::address_v4& source,
                                        bool transparent);

}  // namespace wardgate::proxy
