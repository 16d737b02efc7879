#include "policy/device_registry.h"

#include <gtest/gtest.h>

namespace wardgate::policy {
namespace {

Device device(std::string name, std::string_view address, DeviceType type) {
  Device d;
  d.name = std::move(name);
  d.address = *parse_ipv4(address);
  d.type = type;
  return d;
}

TEST(DeviceRegistry, FindsDevicesByAddress) {
  Device ct = device("ct-1", "10.1.1.20", DeviceType::kModality);
  ct.dicom.allowed_calling_ae = std::vector<std::string>{"CT01"};
  const DeviceRegistry registry({ct, device("monitor-icu-3", "10.1.1.30", DeviceType::kMonitor)});
  const Device* found = registry.find(0x0a010114);  // 10.1.1.20 in host byte order
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->name, "ct-1");
  EXPECT_EQ(found->dicom, ct.dicom);
  ASSERT_NE(registry.find(*parse_ipv4("10.1.1.30")), nullptr);
  EXPECT_EQ(registry.find(*parse_ipv4("10.1.1.30"))->type, DeviceType::kMonitor);
  EXPECT_EQ(registry.find(*parse_ipv4("10.1.1.21")), nullptr);  // unknown device
  EXPECT_EQ(registry.devices().size(), 2u);
}

TEST(DeviceRegistry, AnEmptyRegistryKnowsNoDevice) {
  EXPECT_EQ(DeviceRegistry().find(0x0a010114), nullptr);
}

TEST(DeviceRegistry, CopiesStayValid) {
  DeviceRegistry copy;
  {
    const DeviceRegistry original({device("us-1", "10.1.1.21", DeviceType::kModality)});
    copy = original;
  }
  ASSERT_NE(copy.find(0x0a010115), nullptr);
  EXPECT_EQ(copy.find(0x0a010115)->name, "us-1");
}

TEST(DeviceRegistry, RepeatedNamesOrAddressesAreRefused) {
  EXPECT_THROW(DeviceRegistry({device("a", "10.0.0.1", DeviceType::kOther),
                               device("a", "10.0.0.2", DeviceType::kOther)}),
               std::invalid_argument);
  EXPECT_THROW(DeviceRegistry({device("a", "10.0.0.1", DeviceType::kOther),
                               device("b", "10.0.0.1", DeviceType::kOther)}),
               std::invalid_argument);
}

TEST(DeviceRegistry, DeviceTypeNames) {
  for (auto t : {DeviceType::kModality, DeviceType::kMonitor, DeviceType::kWorkstation,
                 DeviceType::kOther}) {
    EXPECT_EQ(parse_device_type(to_string(t)), t);
  }
  EXPECT_EQ(parse_device_type("Modality"), std::nullopt);
}

TEST(Ipv4, ParsesDottedQuadsOnly) {
  EXPECT_EQ(parse_ipv4("10.1.1.20"), 0x0a010114u);
  EXPECT_EQ(parse_ipv4("0.0.0.0"), 0u);
  EXPECT_EQ(parse_ipv4("255.255.255.255"), 0xffffffffu);
  for (const char* bad : {"", "10.1.1", "10.1.1.20.5", "10.1.1.256", "10.1.1.020", "010.1.1.20",
                          "10.1.1.-1", "10..1.20", "10.1.1.20 ", " 10.1.1.20", "0x0a.1.1.20",
                          "10.1.1.2000", "1e1.1.1.1", "::1", "10.1.1.20/24"}) {
    EXPECT_EQ(parse_ipv4(bad), std::nullopt) << bad;
  }
}

TEST(Ipv4, FormatsDottedQuads) {
  EXPECT_EQ(format_ipv4(0x0a010114), "10.1.1.20");
  EXPECT_EQ(format_ipv4(0), "0.0.0.0");
  EXPECT_EQ(format_ipv4(0xffffffff), "255.255.255.255");
}

}  // namespace
}  // namespace wardgate::policy
