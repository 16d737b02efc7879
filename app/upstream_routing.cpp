#include "app/upstream_routing.h"

namespace wardgate::app {
namespace {

using proxy::DeviceSide;
using proxy::tcp;
using proxy::UpstreamRoute;
using address_v4 = proxy::asio::ip::address_v4;

std::uint32_t mask(std::uint8_t length) {
  return length == 0 ? 0 : ~std::uint32_t{0} << (32 - length);
}

bool inside(std::uint32_t address, std::uint32_t network, std::uint8_t length) {
  return (address & mask(length)) == network;
}

std::uint32_t move_to(std::uint32_t address, std::uint32_t network, std::uint8_t length) {
  return network | (address & ~mask(length));
}

}  // namespace

std::optional<UpstreamRoute> route_upstream(const policy::DeviceRegistry& devices,
                                            const std::optional<PrefixMapping>& mapping,
                                            const tcp::endpoint& client,
                                            const tcp::endpoint& original) {
  if (!client.address().is_v4() || !original.address().is_v4()) return std::nullopt;
  const std::uint32_t from = client.address().to_v4().to_uint();
  const std::uint32_t to = original.address().to_v4().to_uint();
  const bool to_mapped = mapping && inside(to, mapping->to, mapping->length);
  const std::uint32_t device_address = to_mapped ? move_to(to, mapping->from, mapping->length) : to;
  const bool from_vlan =
      devices.find(from) != nullptr || (mapping && inside(from, mapping->from, mapping->length));

  if (const policy::Device* device = devices.find(device_address)) {
    if (from_vlan || device->published(original.port()) == nullptr) return std::nullopt;
    return UpstreamRoute{tcp::endpoint(address_v4(device->address), original.port()),
                         client.address().to_v4(), DeviceSide::kServer};
  }
  if (to_mapped) return std::nullopt;  // a mapped address no device has
  const address_v4 source(mapping && inside(from, mapping->from, mapping->length)
                              ? move_to(from, mapping->to, mapping->length)
                              : from);
  return UpstreamRoute{original, source, DeviceSide::kClient};
}

proxy::UpstreamRouter upstream_router(const policy::DeviceRegistry& devices,
                                      std::optional<PrefixMapping> mapping) {
  return [&devices, mapping](const tcp::endpoint& client, const tcp::endpoint& original) {
    return route_upstream(devices, mapping, client, original);
  };
}

}  // namespace wardgate::app
