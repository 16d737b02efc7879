// Fuzz target: the gateway and nat sections (nat/gateway_section.h) and what is built from an
// accepted one (plan and nft script). Input: a JSON document {"gateway": ..., "nat": ...,
// "devices": [{"name", "type", "address"}]}; the interception section is fixed. Any input must end
// in a plan or a ConfigError; an accepted configuration must render a script naming the table.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/json_reader.h"
#include "nat/gateway_rules.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace wardgate::nat;

std::string string_of(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<DeviceName> devices_of(const nlohmann::json& doc) {
  std::vector<DeviceName> out;
  const auto it = doc.find("devices");
  if (it == doc.end() || !it->is_array()) return out;
  for (const auto& d : *it) {
    if (!d.is_object()) continue;
    DeviceName device;
    device.name = string_of(d, "name");
    device.type = string_of(d, "type");
    if (const auto a = parse_ipv4(string_of(d, "address")); a) device.address = *a;
    if (const auto port = d.find("port"); port != d.end() && port->is_number_unsigned()) {
      device.published_services.push_back({static_cast<std::uint16_t>(port->get<std::uint64_t>())});
    }
    out.push_back(device);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  InterceptionOptions interception;
  interception.interfaces = {"vlan0"};
  interception.services = {{"dicom", 104, "dicom"}, {"hl7", 2575, "hl7"}};
  try {
    const auto doc = wardgate::common::parse_json(text, "fuzz.json");
    if (!doc.is_object()) return 0;
    const auto devices = devices_of(doc);
    const auto* gateway = doc.contains("gateway") ? &doc["gateway"] : nullptr;
    const auto* nat = doc.contains("nat") ? &doc["nat"] : nullptr;
    const auto options = read_gateway_section(gateway, nat, devices, interception);
    if (!options) return 0;
    const GatewayPlan plan = make_gateway_plan(*options, devices, interception);
    const std::string script = render_gateway_script(plan);
    wardgate::fuzz::check(script.find("table inet wardgate {") != std::string::npos,
                          "an accepted configuration renders the table");
    for (const auto address : plan.devices) {
      wardgate::fuzz::check(options->vlan_prefix.contains(address),
                            "an accepted device address lies inside the VLAN prefix");
    }
  } catch (const wardgate::common::ConfigError&) {
  }
  return 0;
}
