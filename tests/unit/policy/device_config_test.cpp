// The `devices` section read on its own (policy/device_section.h), and the directory that puts a
// re-read section in force at run time (policy::DeviceDirectory).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common/json_reader.h"
#include "policy/device_registry.h"
#include "policy/device_section.h"

namespace wardgate::policy {
namespace {

std::vector<Device> devices_of(const std::string& section) {
  const auto doc = common::parse_json(section, "test.json");
  return read_device_section(&doc);
}

const char* kTwo = R"([
  {"name": "ct-1", "address": "10.1.1.20", "type": "modality",
   "dicom": {"allowed_calling_ae": ["CT01"], "allowed_operations": ["C-STORE"]}},
  {"name": "mon-1", "address": "10.1.1.30", "type": "monitor",
   "hl7": {"allowed_message_types": ["ORU^R01"]}}])";

TEST(DeviceConfig, AbsentSectionIsNoDevices) { EXPECT_TRUE(read_device_section(nullptr).empty()); }

TEST(DeviceConfig, ErrorsNameTheKeyPath) {
  try {
    devices_of(R"([{"name": "d", "address": "10.0.0.1", "type": "printer"}])");
    FAIL() << "no error";
  } catch (const common::ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "devices[0].type: must be one of modality, monitor, workstation, other (got "
                 "\"printer\")");
  }
}

TEST(DeviceConfig, AReReadDeviceComparesEqualUntilItsRulesChange) {
  const auto first = devices_of(kTwo);
  EXPECT_EQ(devices_of(kTwo), first);
  std::string changed = kTwo;
  changed.replace(changed.find("C-STORE"), 7, "C-ECHO");
  const auto second = devices_of(changed);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_NE(second[0], first[0]);  // its DICOM rules changed
  EXPECT_EQ(second[1], first[1]);  // untouched
}

TEST(DeviceConfig, TheDirectoryReplacesTheRegistryWhole) {
  DeviceDirectory directory(std::make_shared<const DeviceRegistry>(devices_of(kTwo)));
  const auto before = directory.snapshot();
  ASSERT_NE(before->find(0x0a010114), nullptr);
  directory.replace(std::make_shared<const DeviceRegistry>(
      devices_of(R"([{"name": "us-1", "address": "10.1.1.21", "type": "modality"}])")));
  EXPECT_EQ(directory.snapshot()->find(0x0a010114), nullptr);
  EXPECT_EQ(directory.snapshot()->find(0x0a010115)->name, "us-1");
  // A snapshot taken before stays whole and usable.
  EXPECT_EQ(before->find(0x0a010114)->name, "ct-1");
  EXPECT_EQ(before->devices().size(), 2u);
}

TEST(DeviceConfig, ReadersSeeOneRegistryOrTheOtherWhileItIsReplaced) {
  // Registry A: ct-1 and mon-1; registry B: ct-1 renamed and mon-1 gone. A reader must never
  // see a mix (B's ct-1 with A's mon-1, or neither).
  const auto a = std::make_shared<const DeviceRegistry>(devices_of(kTwo));
  const auto b = std::make_shared<const DeviceRegistry>(
      devices_of(R"([{"name": "ct-1b", "address": "10.1.1.20", "type": "modality"}])"));
  DeviceDirectory directory(a);
  std::atomic<bool> stop{false};
  std::atomic<int> mixed{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const auto registry = directory.snapshot();
        const Device* ct = registry->find(0x0a010114);
        const Device* monitor = registry->find(0x0a01011e);
        const bool is_a = ct != nullptr && ct->name == "ct-1" && monitor != nullptr;
        const bool is_b = ct != nullptr && ct->name == "ct-1b" && monitor == nullptr;
        if (!is_a && !is_b) mixed.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  }
  // Replace while the readers read (bounded either way).
  for (int i = 0; i < 1000000 && reads.load() < 20000; ++i) directory.replace(i % 2 == 0 ? b : a);
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(mixed.load(), 0);
}

}  // namespace
}  // namespace wardgate::policy

namespace wardgate::policy {
namespace {

// -- devices[].published_services -----------------------------------------------------------

std::string error_of(const std::string& section) {
  try {
    devices_of(section);
  } catch (const common::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

// A CT whose own rules restrict its SOP classes, with `services` as its published_services.
std::string ct_publishing(const std::string& services) {
  return R"([{"name": "ct", "address": "10.1.1.20", "type": "modality",
    "dicom": {"allowed_sop_classes": ["1.2.840.10008.5.1.4.1.1.2"]},
    "published_services": )" +
         services + "}]";
}

TEST(PublishedServices, ADicomServiceTakesItsRulesAndTheDefaults) {
  const auto devices = devices_of(ct_publishing(R"([
      {"name": "storescp", "port": 11113, "protocol": "dicom", "allowed_calling_ae": ["PACS"]},
      {"name": "echo-only", "port": 11114, "protocol": "dicom", "allowed_operations": ["C-ECHO"],
       "allowed_sop_classes": ["1.2.840.10008.1.1"]}])"));
  ASSERT_EQ(devices.size(), 1U);
  const Device& ct = devices[0];
  ASSERT_EQ(ct.published_services.size(), 2U);
  const PublishedService* store = ct.published(11113);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->name, "storescp");
  EXPECT_EQ(store->protocol, "dicom");
  EXPECT_EQ(store->dicom.allowed_calling_ae, std::vector<std::string>{"PACS"});
  // Defaults: the core may store and echo, objects of the SOP classes the device itself may send.
  EXPECT_EQ(store->dicom.allowed_operations, (std::vector<std::string>{"C-ECHO", "C-STORE"}));
  EXPECT_EQ(store->dicom.allowed_sop_classes,
            std::vector<std::string>{"1.2.840.10008.5.1.4.1.1.2"});
  const PublishedService* echo = ct.published(11114);
  ASSERT_NE(echo, nullptr);
  EXPECT_EQ(echo->dicom.allowed_operations, std::vector<std::string>{"C-ECHO"});
  EXPECT_EQ(echo->dicom.allowed_sop_classes, std::vector<std::string>{"1.2.840.10008.1.1"});
  EXPECT_EQ(ct.published(104), nullptr);
}

TEST(PublishedServices, AnHl7ServiceTakesItsMessageTypesAndTheDevicesCharset) {
  const auto devices = devices_of(R"([{"name": "mon", "address": "10.1.1.30", "type": "monitor",
    "hl7": {"default_charset": "8859/1"},
    "published_services": [{"name": "adt-in", "port": 2576, "protocol": "hl7",
                            "allowed_message_types": ["ADT^A01", "ADT^A08"]}]}])");
  const PublishedService* s = devices.at(0).published(2576);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->protocol, "hl7");
  EXPECT_EQ(s->hl7.allowed_message_types, (std::vector<std::string>{"ADT^A01", "ADT^A08"}));
  EXPECT_EQ(s->hl7.default_charset, "8859/1");
}

TEST(PublishedServices, MistakesAreRefusedNamingTheKey) {
  EXPECT_EQ(error_of(ct_publishing(R"([{"name": "a", "port": 11113, "protocol": "dicom"},
                                         {"name": "b", "port": 11113, "protocol": "dicom"}])")),
            "devices[0].published_services[1].port: 11113 is already the port of published "
            "service a");
  EXPECT_EQ(error_of(ct_publishing(R"([{"name": "a", "port": 11113, "protocol": "dicom"},
                                         {"name": "a", "port": 11114, "protocol": "dicom"}])")),
            "devices[0].published_services[1].name: a is already the name of "
            "devices[0].published_services[0].name");
  EXPECT_EQ(error_of(ct_publishing(R"([{"name": "a", "port": 0, "protocol": "dicom"}])")),
            "devices[0].published_services[0].port: must be an integer from 1 to 65535 (got 0)");
  EXPECT_EQ(error_of(ct_publishing(R"([{"name": "a", "port": 70000, "protocol": "dicom"}])")),
            "devices[0].published_services[0].port: must be an integer from 1 to 65535 (got "
            "70000)");
  EXPECT_EQ(error_of(ct_publishing(R"([{"name": "a", "protocol": "dicom"}])")),
            "devices[0].published_services[0].port: is required");
  EXPECT_EQ(error_of(ct_publishing(R"([{"name": "a", "port": 80, "protocol": "http"}])")),
            "devices[0].published_services[0].protocol: must be one of dicom, hl7 (got \"http\")");
  EXPECT_EQ(error_of(ct_publishing(R"([{"name": "a", "port": 80, "protocol": "hl7",
                                         "allowed_calling_ae": ["PACS"]}])")),
            "devices[0].published_services[0].allowed_calling_ae: applies to dicom services only "
            "(this one's protocol is hl7)");
  EXPECT_EQ(error_of(ct_publishing(R"([{"name": "a", "port": 80, "protocol": "dicom",
                                         "allowed_calling_ae": ["PACS\\1"]}])")),
            "devices[0].published_services[0].allowed_calling_ae[0]: must be an AE title: 1 to 16 "
            "printable ASCII characters, no backslash, not only spaces (got \"PACS\\\\1\")");
  EXPECT_EQ(error_of(ct_publishing(R"([{"name": "a", "port": 80, "protocol": "dicom",
                                         "allowed_called_ae": ["CT"]}])")),
            "devices[0].published_services[0].allowed_called_ae: unknown key");
  EXPECT_EQ(error_of(ct_publishing(R"({"name": "a"})")),
            "devices[0].published_services: must be an array of {\"name\", \"port\", "
            "\"protocol\"} (got {\"name\":\"a\"})");
}

TEST(PublishedServices, AChangedServiceMakesTheDeviceDiffer) {
  const auto a =
      devices_of(ct_publishing(R"([{"name": "s", "port": 11113, "protocol": "dicom"}])"));
  const auto b = devices_of(ct_publishing(
      R"([{"name": "s", "port": 11113, "protocol": "dicom", "allowed_calling_ae": ["PACS"]}])"));
  EXPECT_NE(a, b);
  EXPECT_EQ(a, devices_of(ct_publishing(R"([{"name": "s", "port": 11113, "protocol": "dicom"}])")));
}

}  // namespace
}  // namespace wardgate::policy
