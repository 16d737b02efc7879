#include "nat/gateway_section.h"

#include <gtest/gtest.h>

#include "common/json_reader.h"

namespace wardgate::nat {
namespace {

using nlohmann::json;

std::uint32_t ip(const char* s) { return parse_ipv4(s).value(); }

InterceptionOptions interception() {
  InterceptionOptions i;
  i.interfaces = {"vlan0"};
  i.services = {{"dicom", 104, "dicom"}, {"hl7", 2575, "hl7"}};
  return i;
}

std::vector<DeviceName> devices() {
  return {{"ct", "modality", ip("10.1.1.20"), {{11113}}},
          {"us", "modality", ip("10.1.1.21"), {}},
          {"monitor", "monitor", ip("10.1.1.30"), {{2576}}}};
}

json gateway() {
  return json::parse(R"({
    "vlan_prefix": "10.1.1.0/24",
    "gateway_address": "10.1.1.1",
    "core_networks": ["10.2.2.0/24"],
    "pass_through": [
      {"name": "ntp", "devices": ["ct"], "device_types": ["modality"], "protocol": "udp",
       "ports": [123], "destinations": ["10.2.2.5/32"]},
      {"name": "ping-gateway", "device_types": ["modality", "monitor"], "protocol": "icmp",
       "destinations": ["gateway"]}
    ],
    "vlan_services": [{"name": "ssh", "port": 22}],
    "log_group": 7901
  })");
}

// The message of the ConfigError reading throws, or "" if it reads.
std::string error_of(const json& g, const json* nat = nullptr,
                     const std::vector<DeviceName>& devs = devices(),
                     const InterceptionOptions& i = interception()) {
  try {
    read_gateway_section(&g, nat, devs, i);
  } catch (const common::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(GatewaySection, AbsentMeansInterceptionOnly) {
  EXPECT_FALSE(read_gateway_section(nullptr, nullptr, devices(), interception()).has_value());
  const json nat = {{"mapped_prefix", "10.250.3.0/24"}};
  try {
    read_gateway_section(nullptr, &nat, devices(), interception());
    FAIL() << "a nat section without a gateway was accepted";
  } catch (const common::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("nat:", 0), 0u) << e.what();
  }
}

TEST(GatewaySection, ReadsTheAgreedSchema) {
  const json g = gateway();
  const json nat = {{"mapped_prefix", "10.250.3.0/24"}};
  const auto o = read_gateway_section(&g, &nat, devices(), interception());
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->vlan_prefix.to_string(), "10.1.1.0/24");
  EXPECT_EQ(o->gateway_address, ip("10.1.1.1"));
  ASSERT_EQ(o->core_networks.size(), 1u);
  EXPECT_EQ(o->core_networks[0].to_string(), "10.2.2.0/24");
  EXPECT_EQ(o->unknown_devices, UnknownDevices::deny);
  ASSERT_EQ(o->pass_through.size(), 2u);
  const auto& ntp = o->pass_through[0];
  EXPECT_EQ(ntp.name, "ntp");
  EXPECT_EQ(ntp.devices, std::vector<std::string>{"ct"});
  EXPECT_EQ(ntp.device_types, std::vector<std::string>{"modality"});
  EXPECT_EQ(ntp.protocol, FlowProtocol::udp);
  EXPECT_EQ(ntp.ports, std::vector<std::uint16_t>{123});
  ASSERT_EQ(ntp.destinations.size(), 1u);
  EXPECT_EQ(ntp.destinations[0].to_string(), "10.2.2.5/32");
  EXPECT_FALSE(ntp.to_gateway);
  const auto& ping = o->pass_through[1];
  EXPECT_EQ(ping.protocol, FlowProtocol::icmp);
  EXPECT_TRUE(ping.ports.empty());
  EXPECT_TRUE(ping.destinations.empty());
  EXPECT_TRUE(ping.to_gateway);
  EXPECT_EQ(o->vlan_services, (std::vector<VlanService>{{"ssh", 22}}));
  EXPECT_EQ(o->log_group, 7901);
  ASSERT_TRUE(o->nat.has_value());
  EXPECT_EQ(o->nat->from.to_string(), "10.1.1.0/24");
  EXPECT_EQ(o->nat->to.to_string(), "10.250.3.0/24");
}

TEST(GatewaySection, DefaultsAreDenyNoServicesNoNat) {
  const json g = {{"vlan_prefix", "10.1.1.0/24"},
                  {"gateway_address", "10.1.1.1"},
                  {"core_networks", {"10.2.2.0/24"}}};
  const auto o = read_gateway_section(&g, nullptr, devices(), interception());
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->unknown_devices, UnknownDevices::deny);
  EXPECT_TRUE(o->pass_through.empty());
  EXPECT_TRUE(o->vlan_services.empty());
  EXPECT_EQ(o->log_group, 7900);
  EXPECT_FALSE(o->nat.has_value());
  json audit = g;
  audit["unknown_devices"] = "audit";
  EXPECT_EQ(read_gateway_section(&audit, nullptr, devices(), interception())->unknown_devices,
            UnknownDevices::audit);
}

// Each refused configuration names the offending key first.
void expect_refused(const std::string& message, const std::string& key) {
  EXPECT_EQ(message.rfind(key + ":", 0), 0u) << "expected the key " << key << " in: " << message;
}

TEST(GatewaySection, RefusesMappedPrefixOverlapsAndSizeMismatch) {
  json g = gateway();
  g["core_networks"] = {"10.2.2.0/24", "10.3.3.16/28"};
  for (const char* bad : {"10.2.2.0/24", "10.3.3.0/24"}) {
    const json nat = {{"mapped_prefix", bad}};
    const auto e = error_of(g, &nat);
    expect_refused(e, "nat.mapped_prefix");
    EXPECT_NE(e.find("core_networks"), std::string::npos) << e;
  }
  const json inside = {{"mapped_prefix", "10.1.1.0/24"}};
  EXPECT_NE(error_of(g, &inside).find("overlaps gateway.vlan_prefix"), std::string::npos);
  const json size = {{"mapped_prefix", "10.250.0.0/16"}};
  const auto e = error_of(g, &size);
  expect_refused(e, "nat.mapped_prefix");
  EXPECT_NE(e.find("length"), std::string::npos) << e;
  const json host_bits = {{"mapped_prefix", "10.250.3.1/24"}};
  expect_refused(error_of(g, &host_bits), "nat.mapped_prefix");
  const json extra = {{"mapped_prefix", "10.250.3.0/24"}, {"mapped", 1}};
  expect_refused(error_of(g, &extra), "nat.mapped");
}

TEST(GatewaySection, RefusesPassThroughNamingUnknownDevicesOrTypes) {
  json g = gateway();
  g["pass_through"][0]["devices"] = {"ct", "mri"};
  const auto e = error_of(g);
  expect_refused(e, "gateway.pass_through[0].devices[1]");
  EXPECT_NE(e.find("\"mri\""), std::string::npos) << e;
  g = gateway();
  g["pass_through"][1]["device_types"] = {"printer"};
  expect_refused(error_of(g), "gateway.pass_through[1].device_types[0]");
  g = gateway();
  g["pass_through"][0].erase("devices");
  g["pass_through"][0].erase("device_types");
  expect_refused(error_of(g), "gateway.pass_through[0].devices");
}

TEST(GatewaySection, RefusesBadProtocolsAndPorts) {
  const auto with = [](const char* key, const json& value, int flow = 0) {
    json g = gateway();
    g["pass_through"][flow][key] = value;
    return error_of(g);
  };
  expect_refused(with("protocol", "sctp"), "gateway.pass_through[0].protocol");
  expect_refused(with("ports", json::array()), "gateway.pass_through[0].ports");
  expect_refused(with("ports", {0}), "gateway.pass_through[0].ports[0]");
  expect_refused(with("ports", {123, 70000}), "gateway.pass_through[0].ports[1]");
  expect_refused(with("ports", {123, 123}), "gateway.pass_through[0].ports[1]");
  expect_refused(with("ports", {"123"}), "gateway.pass_through[0].ports[0]");
  expect_refused(with("ports", {7}, 1), "gateway.pass_through[1].ports");  // icmp has none
  expect_refused(with("destinations", {"gateway"}), "gateway.pass_through[0].destinations[0]");
  expect_refused(with("destinations", {"10.1.1.0/25"}), "gateway.pass_through[0].destinations[0]");
  expect_refused(with("destinations", {"10.2.2.5"}), "gateway.pass_through[0].destinations[0]");
  expect_refused(with("name", "ping-gateway"), "gateway.pass_through[1].name");
  json tcp = gateway();
  tcp["pass_through"][0]["protocol"] = "tcp";
  tcp["pass_through"][0]["ports"] = {443, 104};
  const auto e = error_of(tcp);
  expect_refused(e, "gateway.pass_through[0].ports[1]");
  EXPECT_NE(e.find("intercepted"), std::string::npos) << e;
}

TEST(GatewaySection, RefusesAddressesOutsideTheVlan) {
  json g = gateway();
  g["gateway_address"] = "10.1.2.1";
  expect_refused(error_of(g), "gateway.gateway_address");
  g["gateway_address"] = "10.1.1.01";
  expect_refused(error_of(g), "gateway.gateway_address");
  g = gateway();
  g["core_networks"] = {"10.2.2.0/24", "10.0.0.0/8"};
  expect_refused(error_of(g), "gateway.core_networks[1]");
  g = gateway();
  g["core_networks"] = json::array();
  expect_refused(error_of(g), "gateway.core_networks");
  g = gateway();
  g.erase("vlan_prefix");
  expect_refused(error_of(g), "gateway.vlan_prefix");

  auto devs = devices();
  devs[2].address = ip("10.1.9.30");
  auto e = error_of(gateway(), nullptr, devs);
  expect_refused(e, "devices[2].address");
  EXPECT_NE(e.find("10.1.9.30"), std::string::npos) << e;
  devs = devices();
  devs[0].address = ip("10.1.1.1");
  expect_refused(error_of(gateway(), nullptr, devs), "devices[0].address");
}

TEST(GatewaySection, RefusesEmptyInterfacesAndPublishedPortsThatAreIntercepted) {
  auto i = interception();
  i.interfaces.clear();
  expect_refused(error_of(gateway(), nullptr, devices(), i), "interception.interfaces");
  auto devs = devices();
  devs[2].published_services.push_back({2575});
  expect_refused(error_of(gateway(), nullptr, devs), "devices[2].published_services[1].port");
  devs = devices();
  devs[0].published_services[0].port = 15001;  // the listener itself
  expect_refused(error_of(gateway(), nullptr, devs), "devices[0].published_services[0].port");
}

TEST(GatewaySection, RefusesUnknownKeysAndBadValues) {
  json g = gateway();
  g["vlan_prefixes"] = "10.1.1.0/24";
  expect_refused(error_of(g), "gateway.vlan_prefixes");
  g = gateway();
  g["unknown_devices"] = "open";
  expect_refused(error_of(g), "gateway.unknown_devices");
  g = gateway();
  g["log_group"] = 65536;
  expect_refused(error_of(g), "gateway.log_group");
  g = gateway();
  g["vlan_services"] = {{{"name", "ssh"}, {"port", 22}}, {{"name", "ssh2"}, {"port", 22}}};
  expect_refused(error_of(g), "gateway.vlan_services[1].port");
}

}  // namespace
}  // namespace wardgate::nat
