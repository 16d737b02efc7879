#include "policy/device_section.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <span>
#include <string_view>

#include "common/json_reader.h"
#include "dicom/names.h"
#include "hl7/charset.h"
#include "policy/dicom_rules.h"
#include "policy/hl7_rules.h"

namespace wardgate::policy {
namespace {

using common::ObjectReader;
using common::shown;

std::optional<std::string> ae_title(const std::string& s) { return dicom::ae_title(s); }

std::optional<std::string> uid(const std::string& s) {
  if (!dicom::valid_uid(s)) return std::nullopt;
  return s;
}

std::optional<std::string> operation(const std::string& s) {
  const auto names = operation_names();
  if (std::find(names.begin(), names.end(), s) == names.end()) return std::nullopt;
  return s;
}

std::optional<std::string> message_type(const std::string& s) {
  if (!valid_message_type_pattern(s)) return std::nullopt;
  return s;
}

// An HD value as MSH-5 carries it (components joined by '^'): printable, no field separator.
std::optional<std::string> application(const std::string& s) {
  if (s.empty() || s.size() > 227) return std::nullopt;
  for (const unsigned char c : s) {
    if (c < 0x20 || c == 0x7F || c == '|') return std::nullopt;
  }
  return s;
}

// An optional list of strings, each checked (and normalised) by `check`; `what` says what an
// item must be. Repeated items are refused.
std::optional<std::vector<std::string>> read_list(
    ObjectReader& r, const std::string& key,
    std::optional<std::string> (*check)(const std::string&), const std::string& what) {
  const nlohmann::json* v = r.member(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_array()) r.fail(key, "must be an array (got " + shown(*v) + ")");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v->size(); ++i) {
    const auto& item = (*v)[i];
    const std::string item_key = key + "[" + std::to_string(i) + "]";
    std::optional<std::string> value;
    if (item.is_string()) value = check(item.get<std::string>());
    if (!value) r.fail(item_key, "must be " + what + " (got " + shown(item) + ")");
    if (std::find(out.begin(), out.end(), *value) != out.end()) {
      r.fail(item_key, *value + " is listed twice");
    }
    out.push_back(std::move(*value));
  }
  return out;
}

// The rule keys of a published service of each protocol, to name the misplaced ones.
constexpr std::array<std::string_view, 3> kDicomServiceKeys = {
    "allowed_calling_ae", "allowed_operations", "allowed_sop_classes"};
constexpr std::array<std::string_view, 1> kHl7ServiceKeys = {"allowed_message_types"};

// The rule keys present in `object` among `keys`, as an object for read_dicom_rules() or
// read_hl7_rules() (marked as known in `r`).
nlohmann::json rules_among(ObjectReader& r, std::span<const std::string_view> keys) {
  nlohmann::json rules = nlohmann::json::object();
  for (const auto key : keys) {
    if (const nlohmann::json* v = r.member(std::string(key))) rules[std::string(key)] = *v;
  }
  return rules;
}

}  // namespace

DicomRules read_dicom_rules(const nlohmann::json& object, const std::string& path) {
  ObjectReader r(object, path);
  const std::string ae =
      "an AE title: 1 to 16 printable ASCII characters, no backslash, not only spaces";
  std::string operations;
  for (auto name : operation_names()) {
    operations += (operations.empty() ? "" : ", ") + std::string(name);
  }
  DicomRules rules;
  rules.allowed_calling_ae = read_list(r, "allowed_calling_ae", ae_title, ae);
  rules.allowed_called_ae = read_list(r, "allowed_called_ae", ae_title, ae);
  rules.allowed_sop_classes = read_list(
      r, "allowed_sop_classes", uid,
      "a UID: up to 64 digits and dots, no empty component, no leading zero in a component");
  rules.allowed_operations = read_list(r, "allowed_operations", operation, "one of " + operations);
  rules.allowed_move_destinations = read_list(r, "allowed_move_destinations", ae_title, ae);
  r.reject_unknown_keys();
  return rules;
}

Hl7Rules read_hl7_rules(const nlohmann::json& object, const std::string& path) {
  ObjectReader r(object, path);
  Hl7Rules rules;
  rules.allowed_message_types =
      read_list(r, "allowed_message_types", message_type,
                "a message type and trigger such as \"ORU^R01\", or \"ADT\" / \"ADT^*\" for every "
                "trigger of a type");
  rules.allowed_receiving_applications =
      read_list(r, "allowed_receiving_applications", application,
                "an MSH-5 value or its first component: 1 to 227 printable characters, no '|'");
  rules.default_charset = r.string("default_charset", "");
  if (!rules.default_charset.empty() && !hl7::resolve_charset(rules.default_charset)) {
    r.fail("default_charset",
           "must be an MSH-18 character set such as \"ASCII\", \"8859/1\", \"UNICODE UTF-8\", "
           "\"GB 18030\" (got " +
               shown(nlohmann::json(rules.default_charset)) + ")");
  }
  r.reject_unknown_keys();
  return rules;
}

std::vector<PublishedService> read_published_services(const nlohmann::json& array,
                                                      const std::string& path,
                                                      const Device& device) {
  if (!array.is_array()) {
    throw common::ConfigError(path + R"(: must be an array of {"name", "port", "protocol"} (got )" +
                              shown(array) + ")");
  }
  std::vector<PublishedService> out;
  std::map<std::string, std::string> names;    // name -> its key path
  std::map<std::uint16_t, std::string> ports;  // port -> service name
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    ObjectReader r(array[i], item_path);
    PublishedService s;
    if (r.member("name") == nullptr) r.fail("name", "is required");
    s.name = r.string("name", "");
    if (!common::valid_name(s.name, 64)) {
      r.fail("name", "must be 1 to 64 letters, digits, '-', '_' or '.'");
    }
    if (r.member("port") == nullptr) r.fail("port", "is required");
    s.port = static_cast<std::uint16_t>(r.integer("port", 1, 65535, 0));
    if (r.member("protocol") == nullptr) r.fail("protocol", "is required: dicom or hl7");
    s.protocol = r.choice("protocol", std::vector<std::string>{"dicom", "hl7"}, "dicom");
    const bool dicom = s.protocol == "dicom";
    for (const auto key : dicom ? std::span<const std::string_view>(kHl7ServiceKeys)
                                : std::span<const std::string_view>(kDicomServiceKeys)) {
      if (array[i].contains(std::string(key))) {
        r.fail(std::string(key), std::string("applies to ") + (dicom ? "hl7" : "dicom") +
                                     " services only (this one's protocol is " + s.protocol + ")");
      }
    }
    // Same grammar as devices[].dicom and devices[].hl7, and the same key paths in errors.
    if (dicom) {
      s.dicom = read_dicom_rules(rules_among(r, kDicomServiceKeys), item_path);
      if (!s.dicom.allowed_operations) {
        s.dicom.allowed_operations = std::vector<std::string>{"C-ECHO", "C-STORE"};
      }
      if (!s.dicom.allowed_sop_classes) {
        s.dicom.allowed_sop_classes = device.dicom.allowed_sop_classes;
      }
    } else {
      s.hl7 = read_hl7_rules(rules_among(r, kHl7ServiceKeys), item_path);
      s.hl7.default_charset = device.hl7.default_charset;
    }
    r.reject_unknown_keys();
    if (const auto [it, fresh] = names.emplace(s.name, r.path_of("name")); !fresh) {
      r.fail("name", s.name + " is already the name of " + it->second);
    }
    if (const auto [it, fresh] = ports.emplace(s.port, s.name); !fresh) {
      r.fail("port",
             std::to_string(s.port) + " is already the port of published service " + it->second);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<Device> read_device_section(const nlohmann::json* section) {
  std::vector<Device> out;
  if (section == nullptr) return out;
  if (!section->is_array()) {
    throw common::ConfigError(R"(devices: must be an array of {"name", "address", "type"})");
  }
  std::map<std::string, std::string> names;      // name -> its key path
  std::map<std::uint32_t, std::string> holders;  // address -> device name
  for (std::size_t i = 0; i < section->size(); ++i) {
    const std::string path = "devices[" + std::to_string(i) + "]";
    ObjectReader r((*section)[i], path);
    Device d;
    if (r.member("name") == nullptr) r.fail("name", "is required");
    d.name = r.string("name", "");
    if (!common::valid_name(d.name, 64)) {
      r.fail("name", "must be 1 to 64 letters, digits, '-', '_' or '.'");
    }
    if (r.member("address") == nullptr) r.fail("address", "is required");
    const std::string address = r.string("address", "");
    const auto parsed = parse_ipv4(address);
    if (!parsed) {
      r.fail("address", "must be an IPv4 address such as \"10.1.1.20\" (got " +
                            shown(nlohmann::json(address)) + ")");
    }
    d.address = *parsed;
    if (r.member("type") == nullptr) {
      r.fail("type", "is required: modality, monitor, workstation or other");
    }
    d.type = r.choice(
        "type",
        {DeviceType::kModality, DeviceType::kMonitor, DeviceType::kWorkstation, DeviceType::kOther},
        d.type);
    if (const nlohmann::json* dicom = r.member("dicom")) {
      d.dicom = read_dicom_rules(*dicom, r.path_of("dicom"));
    }
    if (const nlohmann::json* hl7 = r.member("hl7")) d.hl7 = read_hl7_rules(*hl7, r.path_of("hl7"));
    if (const nlohmann::json* published = r.member("published_services")) {
      d.published_services =
          read_published_services(*published, r.path_of("published_services"), d);
    }
    r.reject_unknown_keys();
    if (const auto [it, fresh] = names.emplace(d.name, path); !fresh) {
      r.fail("name", d.name + " is already the name of " + it->second);
    }
    if (const auto [it, fresh] = holders.emplace(d.address, d.name); !fresh) {
      r.fail("address", address + " is already the address of device " + it->second);
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace wardgate::policy
