#pragma once
// A connected rtnetlink socket (libnl) for nat/'s route, rule, address and link changes.
#include <netlink/netlink.h>

#include <memory>
#include <string>

namespace wardgate::nat {

using RouteSocket = std::unique_ptr<nl_sock, decltype(&nl_socket_free)>;

// Null with `error` set when no socket could be opened.
RouteSocket connect_route_socket(std::string& error);

}  // namespace wardgate::nat
