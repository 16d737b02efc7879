// Where the proxy's upstream leg goes: device connections from the device's own or mapped
// address, core connections to a device's published service at the device's own address.
#include "app/upstream_routing.h"

#include <gtest/gtest.h>

namespace wardgate::app {
namespace {

using proxy::DeviceSide;
using proxy::tcp;
using address_v4 = proxy::asio::ip::address_v4;

tcp::endpoint at(const char* address, std::uint16_t port) {
  return {proxy::asio::ip::make_address_v4(address), port};
}

policy::DeviceRegistry lab_devices() {
  policy::Device ct;
  ct.name = "ct";
  ct.address = proxy::asio::ip::make_address_v4("10.1.1.20").to_uint();
  ct.type = policy::DeviceType::kModality;
  policy::PublishedService storescp;
  storescp.name = "storescp";
  storescp.port = 11113;
  storescp.protocol = "dicom";
  ct.published_services.push_back(storescp);
  policy::Device us;
  us.name = "us";
  us.address = proxy::asio::ip::make_address_v4("10.1.1.21").to_uint();
  return policy::DeviceRegistry({ct, us});
}

// VLAN 10.1.1.0/24 shown to the core as 10.250.3.0/24.
constexpr nat::PrefixMap kMapping{{0x0a010100, 24}, {0x0afa0300, 24}};

TEST(UpstreamRouting, WithoutMappingADeviceConnectsFromItsOwnAddress) {
  const auto devices = lab_devices();
  const auto r =
      route_upstream(devices, std::nullopt, at("10.1.1.20", 50000), at("10.2.2.10", 104));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->connect_to, at("10.2.2.10", 104));
  EXPECT_EQ(r->bind_from, proxy::asio::ip::make_address_v4("10.1.1.20"));
  EXPECT_EQ(r->device_side, DeviceSide::kClient);
}

TEST(UpstreamRouting, WithMappingADeviceConnectsFromItsMappedAddress) {
  const auto devices = lab_devices();
  const auto r = route_upstream(devices, kMapping, at("10.1.1.20", 50000), at("10.2.2.10", 104));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->connect_to, at("10.2.2.10", 104));
  EXPECT_EQ(r->bind_from, proxy::asio::ip::make_address_v4("10.250.3.20"));
  EXPECT_EQ(r->device_side, DeviceSide::kClient);
}

TEST(UpstreamRouting, TheCoreReachesAPublishedServiceAtTheDevicesOwnAddress) {
  const auto devices = lab_devices();
  for (const auto& [mapping, destination] :
       {std::pair{std::optional<nat::PrefixMap>{}, "10.1.1.20"},
        std::pair{std::optional<nat::PrefixMap>{kMapping}, "10.250.3.20"}}) {
    const auto r = route_upstream(devices, mapping, at("10.2.2.10", 40000), at(destination, 11113));
    ASSERT_TRUE(r.has_value()) << destination;
    EXPECT_EQ(r->connect_to, at("10.1.1.20", 11113)) << destination;
    EXPECT_EQ(r->bind_from, proxy::asio::ip::make_address_v4("10.2.2.10")) << destination;
    EXPECT_EQ(r->device_side, DeviceSide::kServer) << destination;
  }
}

TEST(UpstreamRouting, TheCoreReachesADeviceOnlyOnWhatItPublishes) {
  const auto devices = lab_devices();
  EXPECT_FALSE(route_upstream(devices, kMapping, at("10.2.2.10", 40000), at("10.250.3.20", 104)));
  EXPECT_FALSE(route_upstream(devices, std::nullopt, at("10.2.2.10", 40000), at("10.1.1.20", 104)));
  // us publishes nothing; 10.250.3.99 is no device's mapped address.
  EXPECT_FALSE(route_upstream(devices, kMapping, at("10.2.2.10", 40000), at("10.250.3.21", 11113)));
  EXPECT_FALSE(route_upstream(devices, kMapping, at("10.2.2.10", 40000), at("10.250.3.99", 11113)));
}

TEST(UpstreamRouting, DevicesDoNotReachEachOtherThroughWardgate) {
  const auto devices = lab_devices();
  EXPECT_FALSE(route_upstream(devices, kMapping, at("10.1.1.21", 40000), at("10.250.3.20", 11113)));
  EXPECT_FALSE(
      route_upstream(devices, std::nullopt, at("10.1.1.21", 40000), at("10.1.1.20", 11113)));
}

TEST(UpstreamRouting, TheRouterAsksTheRegistryItWasGiven) {
  const auto devices = lab_devices();
  const proxy::UpstreamRouter route = upstream_router(devices, kMapping);
  const auto r = route(at("10.2.2.10", 40000), at("10.250.3.20", 11113));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->connect_to, at("10.1.1.20", 11113));
}

}  // namespace
}  // namespace wardgate::app
