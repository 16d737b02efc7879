#include "inspect/flow_audit.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "audit/memory_sink.h"
#include "audit_test_support.h"

namespace wardgate::inspect {
namespace {

using testing::events_of;
using testing::number_field;
using testing::text_field;

common::FlowObservation flow(const char* source, std::uint32_t source_v4, const char* destination,
                             std::uint32_t destination_v4, std::uint16_t port,
                             const char* reason = "deny-vlan") {
  common::FlowObservation f;
  f.reason = reason;
  f.family = 4;
  f.source = source;
  f.source_v4 = source_v4;
  f.destination = destination;
  f.destination_v4 = destination_v4;
  f.protocol = 6;
  f.protocol_name = "tcp";
  f.source_port = 49152;
  f.destination_port = port;
  f.tcp_flags = 0x02;
  f.has_mac = true;
  f.source_mac = {0x00, 0x1b, 0x21, 0x0a, 0x0b, 0x0c};
  f.in_ifindex = 4;
  f.in_ifname = "vlan0";
  return f;
}

constexpr std::uint32_t kCt = 0x0a010114;        // 10.1.1.20
constexpr std::uint32_t kStranger = 0x0a010163;  // 10.1.1.99
constexpr std::uint32_t kPacs = 0x0a020205;      // 10.2.2.5
constexpr std::uint32_t kCoreHost = 0x0a020207;  // 10.2.2.7

std::shared_ptr<const policy::DeviceRegistry> registry_with_ct() {
  policy::Device ct;
  ct.name = "ct";
  ct.address = kCt;
  ct.type = policy::DeviceType::kModality;
  return std::make_shared<const policy::DeviceRegistry>(std::vector<policy::Device>{ct});
}

class FlowAuditTest : public ::testing::Test {
 protected:
  audit::MemorySink sink_;
  policy::DeviceDirectory devices_{registry_with_ct()};
  common::ManualClock clock_;
  FlowAudit audit_{sink_, devices_, "wg-test-01", clock_};

  void observe(common::FlowObservation f) {
    f.time = clock_.system_now();
    audit_.on_observation(f);
  }
};

TEST_F(FlowAuditTest, PortScanGivesAFewEventsAndASummary) {
  for (std::uint32_t port = 1; port <= 65535; ++port) {
    observe(flow("10.1.1.20", kCt, "10.2.2.5", kPacs, static_cast<std::uint16_t>(port)));
  }
  const policy::DeniedFlowLimits limits;
  const auto denied = events_of(sink_, "flow-denied");
  ASSERT_EQ(denied.size(), limits.individual_flows);
  const audit::Event& e = denied.front();
  EXPECT_EQ(e.category, "network");
  EXPECT_EQ(e.device, "ct");
  EXPECT_EQ(e.appliance_id, "wg-test-01");
  EXPECT_EQ(e.outcome, audit::Outcome::kDenied);
  EXPECT_EQ(e.time, clock_.system_now());
  EXPECT_EQ(text_field(e, "reason"), "deny-vlan");
  EXPECT_EQ(text_field(e, "source"), "10.1.1.20");
  EXPECT_EQ(text_field(e, "destination"), "10.2.2.5");
  EXPECT_EQ(text_field(e, "protocol"), "tcp");
  EXPECT_EQ(number_field(e, "destination_port"), 1U);
  EXPECT_EQ(number_field(e, "source_port"), 49152U);
  EXPECT_EQ(text_field(e, "mac"), "00:1b:21:0a:0b:0c");
  EXPECT_EQ(text_field(e, "interface"), "vlan0");
  EXPECT_TRUE(events_of(sink_, "flow-denied-summary").empty());  // the window is still open

  clock_.advance(limits.window);
  audit_.tick();
  const auto summaries = events_of(sink_, "flow-denied-summary");
  ASSERT_EQ(summaries.size(), 1U);
  const audit::Event& s = summaries[0];
  EXPECT_EQ(s.device, "ct");
  EXPECT_EQ(s.severity, audit::Severity::kWarning);
  EXPECT_EQ(number_field(s, "packets"), 65535U);
  EXPECT_EQ(number_field(s, "distinct_destination_ports"), 65535U);
  EXPECT_EQ(number_field(s, "distinct_destinations"), 1U);
  EXPECT_EQ(number_field(s, "recorded_flows"), limits.individual_flows);
  EXPECT_NEAR(static_cast<double>(number_field(s, "flows")), 65535.0, 655.0);
  EXPECT_EQ(text_field(s, "estimated"), "true");
  const auto* protocols = std::get_if<std::vector<std::string>>(s.fields.find("protocols"));
  ASSERT_NE(protocols, nullptr);
  EXPECT_EQ(*protocols, std::vector<std::string>{"tcp:65535"});
  EXPECT_EQ(text_field(s, "first_time"), audit::format_time(clock_.system_now() - limits.window));
  EXPECT_EQ(sink_.events().size(), limits.individual_flows + 1);  // never thousands
}

TEST_F(FlowAuditTest, UnregisteredAddressIsFirstSeenOnce) {
  observe(flow("10.1.1.99", kStranger, "10.2.2.5", kPacs, 104, "unknown"));
  observe(flow("10.1.1.99", kStranger, "10.2.2.5", kPacs, 11112, "unknown"));
  const auto seen = events_of(sink_, "device-first-seen");
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(seen[0].device, "10.1.1.99");
  EXPECT_EQ(seen[0].category, "network");
  EXPECT_EQ(text_field(seen[0], "mac"), "00:1b:21:0a:0b:0c");
  EXPECT_EQ(text_field(seen[0], "source"), "10.1.1.99");
  EXPECT_EQ(text_field(seen[0], "destination"), "10.2.2.5");  // what it tried
  EXPECT_EQ(number_field(seen[0], "destination_port"), 104U);
  EXPECT_EQ(text_field(seen[0], "reason"), "unknown");
  EXPECT_EQ(events_of(sink_, "flow-denied").size(), 2U);
  EXPECT_EQ(sink_.events().front().action, "device-first-seen");
}

TEST_F(FlowAuditTest, AnUnregisteredAddressLetThroughIsFirstSeenButNotDenied) {
  // unknown_devices audit/allow: its proxied connections are logged as "unknown-seen".
  observe(flow("10.1.1.99", kStranger, "10.2.2.5", kPacs, 104, "unknown-seen"));
  observe(flow("10.1.1.99", kStranger, "10.2.2.5", kPacs, 104, "unknown-seen"));
  const auto seen = events_of(sink_, "device-first-seen");
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(text_field(seen[0], "mac"), "00:1b:21:0a:0b:0c");
  EXPECT_EQ(seen[0].severity, audit::Severity::kWarning);
  EXPECT_TRUE(events_of(sink_, "flow-denied").empty());
  clock_.advance(std::chrono::minutes(5));
  audit_.tick();
  EXPECT_TRUE(events_of(sink_, "flow-denied-summary").empty()) << "nothing was denied";
}

TEST_F(FlowAuditTest, RegisteredDeviceAndSpoofedSourcesAreNotFirstSeen) {
  observe(flow("10.1.1.20", kCt, "10.2.2.5", kPacs, 445));
  observe(flow("192.0.2.1", 0xc0000201, "10.2.2.5", kPacs, 445, "spoof"));
  EXPECT_TRUE(events_of(sink_, "device-first-seen").empty());
  const auto denied = events_of(sink_, "flow-denied");
  ASSERT_EQ(denied.size(), 2U);
  EXPECT_EQ(denied[1].device, "192.0.2.1");
  EXPECT_EQ(text_field(denied[1], "reason"), "spoof");
}

TEST_F(FlowAuditTest, FlowsFromTheCoreAreTheTargetDevicesAndBoundedPerCoreHost) {
  for (std::uint16_t port = 1; port <= 100; ++port) {
    observe(flow("10.2.2.7", kCoreHost, "10.1.1.20", kCt, port, "deny-core"));
  }
  const auto denied = events_of(sink_, "flow-denied");
  ASSERT_EQ(denied.size(), policy::DeniedFlowLimits{}.individual_flows);
  EXPECT_EQ(denied[0].device, "ct");  // the device the core tried to reach
  EXPECT_EQ(text_field(denied[0], "source"), "10.2.2.7");
  EXPECT_TRUE(events_of(sink_, "device-first-seen").empty());
  audit_.flush();
  const auto summaries = events_of(sink_, "flow-denied-summary");
  ASSERT_EQ(summaries.size(), 1U);
  EXPECT_EQ(summaries[0].device, "10.2.2.7");  // one core host, whatever it targeted
  EXPECT_EQ(number_field(summaries[0], "flows"), 100U);
}

TEST_F(FlowAuditTest, Ipv6IsRecordedUnderItsAddress) {
  common::FlowObservation f = flow("fe80::21b:21ff:fe0a:b0c", 0, "ff02::1:3", 0, 5355, "ipv6");
  f.family = 6;
  f.protocol = 17;
  f.protocol_name = "udp";
  observe(f);
  const auto denied = events_of(sink_, "flow-denied");
  ASSERT_EQ(denied.size(), 1U);
  EXPECT_EQ(denied[0].device, "fe80::21b:21ff:fe0a:b0c");
  EXPECT_EQ(text_field(denied[0], "protocol"), "udp");
  EXPECT_TRUE(events_of(sink_, "device-first-seen").empty());
}

TEST_F(FlowAuditTest, IcmpCarriesTypeNotPorts) {
  common::FlowObservation f = flow("10.1.1.20", kCt, "10.2.2.5", kPacs, 0);
  f.protocol = 1;
  f.protocol_name = "icmp";
  f.source_port = 0;
  f.icmp_type = 8;
  observe(f);
  const auto denied = events_of(sink_, "flow-denied");
  ASSERT_EQ(denied.size(), 1U);
  EXPECT_EQ(number_field(denied[0], "icmp_type"), 8U);
  EXPECT_EQ(number_field(denied[0], "icmp_code"), 0U);
  EXPECT_EQ(denied[0].fields.find("destination_port"), nullptr);
}

TEST_F(FlowAuditTest, ObserverSeesEveryObservationUnaggregated) {
  std::size_t seen = 0;
  std::size_t attributed_to_ct = 0;
  audit_.set_observer([&](const common::FlowObservation&, const policy::Device* device) {
    ++seen;
    if (device != nullptr && device->name == "ct") ++attributed_to_ct;
  });
  for (int i = 0; i < 500; ++i) observe(flow("10.1.1.20", kCt, "10.2.2.5", kPacs, 445));
  observe(flow("10.1.1.99", kStranger, "10.2.2.5", kPacs, 445, "unknown"));
  EXPECT_EQ(seen, 501U);
  EXPECT_EQ(attributed_to_ct, 500U);
  EXPECT_EQ(events_of(sink_, "flow-denied").size(), 2U);
}

TEST_F(FlowAuditTest, ReplacedRegistryIsUsedAtOnce) {
  policy::Device stranger;
  stranger.name = "new-us";
  stranger.address = kStranger;
  devices_.replace(
      std::make_shared<const policy::DeviceRegistry>(std::vector<policy::Device>{stranger}));
  observe(flow("10.1.1.99", kStranger, "10.2.2.5", kPacs, 445));
  const auto denied = events_of(sink_, "flow-denied");
  ASSERT_EQ(denied.size(), 1U);
  EXPECT_EQ(denied[0].device, "new-us");
  EXPECT_TRUE(events_of(sink_, "device-first-seen").empty());
}

}  // namespace
}  // namespace wardgate::inspect
