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
