#include "app/upstream_routing.h"

namespace wardgate::app {
namespace {

using proxy::DeviceSide;
using proxy::tcp;
using proxy::UpstreamRoute;
using address_v4 = proxy::asio::ip::address_v4;

}  // namespace

std::optional<UpstreamRoute> route_upstream(const policy::DeviceRegistry& devices,
                                            const std::optional<nat::PrefixMap>& mapping,
                                            const tcp::endpoint& client,
                                            const tcp::endpoint& original) {
  if (!client.address().is_v4() || !original.address().is_v4()) return std::nullopt;
  const std::uint32_t from = client.address().to_v4().to_uint();
  const std::uint32_t to = original.address().to_v4().to_uint();
  const bool to_mapped = mapping && mapping->in_to(to);
  const std::uint32_t device_address = to_mapped ? mapping->unmap(to) : to;
  const bool from_vlan = devices.find(from) != nullptr || (mapping && mapping->in_from(from));

  if (const policy::Device* device = devices.find(device_address)) {
    if (from_vlan || device->published(original.port()) == nullptr) return std::nullopt;
    return UpstreamRoute{tcp::endpoint(address_v4(device->address), original.port()),
                         client.address().to_v4(), DeviceSide::kServer};
  }
  if (to_mapped) return std::nullopt;  // a mapped address no device has
  const address_v4 source(mapping && mapping->in_from(from) ? mapping->map(from) : from);
  return UpstreamRoute{original, source, DeviceSide::kClient};
}

proxy::UpstreamRouter upstream_router(const policy::DeviceRegistry& devices,
                                      std::optional<nat::PrefixMap> mapping) {
  return [&devices, mapping](const tcp::endpoint& client, const tcp::endpoint& original) {
    return route_upstream(devices, mapping, client, original);
  };
}

}  // namespace wardgate::app
