#pragma once
// Where the proxy's upstream leg goes (proxy::ProxyOptions::route), decided from the devices and
// the 1:1 NAT of the imaging VLAN (nat.mapped_prefix):
// - the core connects to a device's mapped (or own) address on a port the device publishes
//   (devices[].published_services): wardgate connects to the device's own address, from the core
//   peer's address; the device is the server;
// - any other connection to a device's address is refused: the core reaches a device only on
//   the services it publishes, and devices do not reach each other through wardgate;
// - a device's own connection goes to its original destination, from the device's mapped address
//   when a mapped prefix is set, else from its own.
#include <optional>

#include "nat/ipv4_prefix.h"
#include "policy/device_registry.h"
#include "proxy/proxy_options.h"

namespace wardgate::app {

// `mapping`: nat.mapped_prefix (the VLAN prefix shown to the core under another), if set.
std::optional<proxy::UpstreamRoute> route_upstream(const policy::DeviceRegistry& devices,
                                                   const std::optional<nat::PrefixMap>& mapping,
                                                   const proxy::tcp::endpoint& client,
                                                   const proxy::tcp::endpoint& original);

// route_upstream() over `devices`, which must outlive the proxy.
proxy::UpstreamRouter upstream_router(const policy::DeviceRegistry& devices,
                                      std::optional<nat::PrefixMap> mapping);

}  // namespace wardgate::app
