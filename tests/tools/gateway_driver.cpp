// Driver of nat/'s gateway for tests/integration/test_gateway_rules.py, until app/ wires it into
// `wardgate run`: reads the interception, gateway and nat sections and the devices from one JSON
// file through the real section readers, and does what `wardgate run` and the maintenance
// commands will do to the kernel.
//
//   gateway_driver check|apply|remove|end-bypass|list-bypass CONFIG
//   gateway_driver bypass CONFIG INTERFACE MINUTES REASON
//
// CONFIG: {"interception": {...}, "gateway": {...}, "nat": {...},
//          "devices": [{"name", "type", "address", "published_ports": [...]}]}
// Exit status 0 on success, 2 for a refused configuration (message on stderr), 1 otherwise.
// list-bypass prints one JSON line per bypass: {"interface", "expires_in_seconds", "reason"}.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "common/json_reader.h"
#include "nat/gateway_setup.h"

namespace {

using namespace wardgate::nat;

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: gateway_driver check|apply|remove|end-bypass|list-bypass CONFIG\n"
               "       gateway_driver bypass CONFIG INTERFACE MINUTES REASON\n");
  std::exit(1);
}

std::vector<DeviceName> read_devices(const nlohmann::json& doc) {
  std::vector<DeviceName> out;
  for (const auto& d : doc.value("devices", nlohmann::json::array())) {
    DeviceName device{d.at("name").get<std::string>(),
                      d.at("type").get<std::string>(),
                      parse_ipv4(d.at("address").get<std::string>()).value(),
                      {}};
    for (const auto& p : d.value("published_ports", nlohmann::json::array())) {
      device.published_services.push_back({p.get<std::uint16_t>()});
    }
    out.push_back(device);
  }
  return out;
}

int fail(const std::string& error) {
  std::cerr << "gateway_driver: " << error << "\n";
  return 1;
}

int run(int argc, char** argv) {
  if (argc < 3) usage();
  const std::string command = argv[1];
  std::ifstream file(argv[2]);
  std::stringstream text;
  text << file.rdbuf();
  GatewayPlan plan;
  try {
    const auto doc = wardgate::common::parse_json(text.str(), argv[2]);
    const auto devices = read_devices(doc);
    const auto interception =
        read_interception_section(doc.at("interception"), {"tcp", "dicom", "hl7"});
    const auto* nat = doc.contains("nat") ? &doc["nat"] : nullptr;
    const auto gateway = read_gateway_section(doc.contains("gateway") ? &doc["gateway"] : nullptr,
                                              nat, devices, interception);
    if (!gateway) return fail("no gateway section");
    plan = make_gateway_plan(*gateway, devices, interception);
  } catch (const wardgate::common::ConfigError& e) {
    std::cerr << "invalid configuration, nothing applied: " << e.what() << "\n";
    return 2;
  }
  std::string error;
  if (command == "check") {
  } else if (command == "apply") {
    error = install_gateway(plan);
  } else if (command == "remove") {
    error = remove_gateway(plan.table, plan.route);
  } else if (command == "end-bypass") {
    error = end_bypass(plan.table);
  } else if (command == "bypass" && argc == 6) {
    error = add_bypass(plan.table, argv[3], std::atoll(argv[4]), argv[5]);
  } else if (command == "list-bypass") {
    const auto list = list_bypass(plan.table);
    error = list.error;
    for (const auto& b : list.entries) {
      std::cout << nlohmann::json{{"interface", b.interface},
                                  {"expires_in_seconds", b.expires_in_seconds},
                                  {"reason", b.reason}}
                       .dump()
                << "\n";
    }
  } else {
    usage();
  }
  return error.empty() ? 0 : fail(error);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // a malformed devices entry, for one
    std::fprintf(stderr, "gateway_driver: %s\n", e.what());
    return 1;
  }
}
