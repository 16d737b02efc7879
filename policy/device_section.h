#pragma once
// Reads and validates the `devices` section of the configuration (docs/configuration.md): the
// devices of the imaging VLAN with their DICOM and HL7 rules and the services they publish to the
// core. Each Device is a value of its own
// (operator==), so a re-read section can be compared device by device with the one in force.
// Throws common::ConfigError naming the key by its full path ("devices[2].dicom...").
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "policy/device_registry.h"

namespace wardgate::policy {

// Empty when the section is absent. Names and addresses are unique.
std::vector<Device> read_device_section(const nlohmann::json* section);

// One device's published services (the array at `path`, "devices[0].published_services"); the
// device's own rules give the defaults (allowed_sop_classes, default_charset).
std::vector<PublishedService> read_published_services(const nlohmann::json& array,
                                                      const std::string& path,
                                                      const Device& device);

// One device's rules; `path` is the key path of the object ("devices[0].dicom").
DicomRules read_dicom_rules(const nlohmann::json& object, const std::string& path);
Hl7Rules read_hl7_rules(const nlohmann::json& object, const std::string& path);

}  // namespace wardgate::policy
