#include "policy/denied_flow_aggregator.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace wardgate::policy {
namespace {

using Kind = DeniedFlowRecord::Kind;
using std::chrono::seconds;

common::FlowObservation tcp(const std::string& source, const std::string& destination,
                            std::uint16_t port, const std::string& reason = "deny-vlan") {
  common::FlowObservation f;
  f.reason = reason;
  f.family = 4;
  f.source = source;
  f.destination = destination;
  f.protocol = 6;
  f.protocol_name = "tcp";
  f.source_port = 40000;
  f.destination_port = port;
  f.has_mac = true;
  f.source_mac = {0x00, 0x1b, 0x21, 0x01, 0x02, 0x03};
  return f;
}

FlowSource device(const std::string& name) { return {name, name, false}; }
FlowSource unknown(const std::string& address) { return {address, "", true}; }

std::size_t count_kind(const std::vector<DeniedFlowRecord>& records, Kind kind) {
  std::size_t n = 0;
  for (const auto& r : records) n += r.kind == kind ? 1 : 0;
  return n;
}

const DeniedFlowRecord* find_kind(const std::vector<DeniedFlowRecord>& records, Kind kind) {
  for (const auto& r : records) {
    if (r.kind == kind) return &r;
  }
  return nullptr;
}

class Aggregator : public ::testing::Test {
 protected:
  common::ManualClock clock_;
  std::vector<DeniedFlowRecord> out_;

  // Each observation stamped with the manual clock's wall time.
  void add(DeniedFlowAggregator& a, const FlowSource& s, common::FlowObservation f) {
    f.time = clock_.system_now();
    a.add(s, f, out_);
  }
};

TEST_F(Aggregator, FullPortScanGivesAFewRecordsAndOneSummary) {
  DeniedFlowAggregator a(clock_);
  const DeniedFlowLimits limits;
  for (std::uint32_t port = 1; port <= 65535; ++port) {
    add(a, device("ct"), tcp("10.1.1.20", "10.2.2.5", static_cast<std::uint16_t>(port)));
    if (port % 1000 == 0) clock_.advance(std::chrono::milliseconds(100));  // a 6.5 s scan
  }
  EXPECT_EQ(out_.size(), limits.individual_flows);  // the first flows, then silence
  EXPECT_EQ(count_kind(out_, Kind::kFlow), limits.individual_flows);
  EXPECT_EQ(out_.front().flow.destination_port, 1);
  EXPECT_EQ(out_.front().source.device, "ct");

  a.expire(out_);  // the window is still open: nothing yet
  EXPECT_EQ(out_.size(), limits.individual_flows);
  clock_.advance(limits.window);
  a.expire(out_);
  ASSERT_EQ(out_.size(), limits.individual_flows + 1);
  const DeniedFlowRecord& summary = out_.back();
  ASSERT_EQ(summary.kind, Kind::kSummary);
  EXPECT_EQ(summary.source.key, "ct");
  EXPECT_EQ(summary.summary.packets, 65535U);
  EXPECT_EQ(summary.summary.recorded_flows, limits.individual_flows);
  EXPECT_EQ(summary.summary.distinct_destination_ports, 65535U);  // counted exactly
  EXPECT_EQ(summary.summary.distinct_destinations, 1U);
  // Beyond exact_distinct the flows are estimated: within 1 % of the truth.
  EXPECT_TRUE(summary.summary.estimated);
  EXPECT_NEAR(static_cast<double>(summary.summary.flows), 65535.0, 655.0);
  EXPECT_EQ(summary.summary.packets_per_protocol.at("tcp"), 65535U);
  EXPECT_EQ(summary.summary.packets_per_reason.at("deny-vlan"), 65535U);
  EXPECT_LT(summary.summary.first, summary.summary.last);
  EXPECT_FALSE(summary.summary.evicted);
  EXPECT_EQ(a.tracked_sources(), 0U);
}

TEST_F(Aggregator, SmallCountsAreExact) {
  DeniedFlowLimits limits;
  limits.individual_flows = 2;
  DeniedFlowAggregator a(clock_, limits);
  // 5 flows to 3 hosts, each sent twice (a retried connection is the same flow).
  for (int round = 0; round < 2; ++round) {
    add(a, device("us"), tcp("10.1.1.21", "10.2.2.5", 445));
    add(a, device("us"), tcp("10.1.1.21", "10.2.2.5", 139));
    add(a, device("us"), tcp("10.1.1.21", "10.2.2.6", 445));
    add(a, device("us"), tcp("10.1.1.21", "10.2.2.7", 3389));
    add(a, device("us"), tcp("10.1.1.21", "10.2.2.7", 3389, "no-listener"));
  }
  EXPECT_EQ(count_kind(out_, Kind::kFlow), 2U);
  a.flush(out_);
  const DeniedFlowRecord* s = find_kind(out_, Kind::kSummary);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->summary.flows, 4U);  // (tcp, 10.2.2.7, 3389) twice with two reasons: one flow
  EXPECT_EQ(s->summary.packets, 10U);
  EXPECT_EQ(s->summary.distinct_destinations, 3U);
  EXPECT_EQ(s->summary.distinct_destination_ports, 3U);
  EXPECT_EQ(s->summary.packets_per_reason.at("deny-vlan"), 8U);
  EXPECT_EQ(s->summary.packets_per_reason.at("no-listener"), 2U);
  EXPECT_FALSE(s->summary.estimated);
}

TEST_F(Aggregator, NoSummaryWhenEveryFlowWasRecorded) {
  DeniedFlowAggregator a(clock_);
  for (int i = 0; i < 50; ++i) add(a, device("ct"), tcp("10.1.1.20", "10.2.2.5", 445));
  clock_.advance(seconds(61));
  a.expire(out_);
  ASSERT_EQ(out_.size(), 1U);  // one flow, retried 50 times: its record says it all
  EXPECT_EQ(out_[0].kind, Kind::kFlow);
}

TEST_F(Aggregator, ANewWindowRecordsAgain) {
  DeniedFlowLimits limits;
  limits.individual_flows = 1;
  DeniedFlowAggregator a(clock_, limits);
  add(a, device("ct"), tcp("10.1.1.20", "10.2.2.5", 445));
  add(a, device("ct"), tcp("10.1.1.20", "10.2.2.5", 139));
  clock_.advance(seconds(60));
  // No expire() call: the next packet of the source closes its window first.
  add(a, device("ct"), tcp("10.1.1.20", "10.2.2.5", 445));
  ASSERT_EQ(out_.size(), 3U);
  EXPECT_EQ(out_[0].kind, Kind::kFlow);
  EXPECT_EQ(out_[1].kind, Kind::kSummary);
  EXPECT_EQ(out_[1].summary.flows, 2U);
  EXPECT_EQ(out_[2].kind, Kind::kFlow);
  EXPECT_EQ(out_[2].flow.destination_port, 445);
}

TEST_F(Aggregator, SourcesAreBoundedAndEvictedWithTheirSummary) {
  DeniedFlowLimits limits;
  limits.individual_flows = 1;
  limits.max_sources = 3;
  DeniedFlowAggregator a(clock_, limits);
  for (int d = 0; d < 10; ++d) {
    const std::string name = "dev" + std::to_string(d);
    add(a, device(name), tcp("10.1.1." + std::to_string(d + 1), "10.2.2.5", 445));
    add(a, device(name), tcp("10.1.1." + std::to_string(d + 1), "10.2.2.5", 446));
    EXPECT_LE(a.tracked_sources(), 3U);
  }
  EXPECT_EQ(a.stats().sources_evicted, 7U);
  EXPECT_EQ(count_kind(out_, Kind::kFlow), 10U);
  EXPECT_EQ(count_kind(out_, Kind::kSummary), 7U);  // the evicted ones', early
  for (const auto& r : out_) {
    if (r.kind == Kind::kSummary) {
      EXPECT_TRUE(r.summary.evicted);
    }
  }
  a.flush(out_);
  EXPECT_EQ(count_kind(out_, Kind::kSummary), 10U);
  EXPECT_EQ(a.tracked_sources(), 0U);
}

TEST_F(Aggregator, LeastRecentlySeenSourceIsEvicted) {
  DeniedFlowLimits limits;
  limits.individual_flows = 0;
  limits.max_sources = 2;
  DeniedFlowAggregator a(clock_, limits);
  add(a, device("a"), tcp("10.1.1.1", "10.2.2.5", 1));
  add(a, device("b"), tcp("10.1.1.2", "10.2.2.5", 1));
  add(a, device("a"), tcp("10.1.1.1", "10.2.2.5", 2));  // a is now the most recent
  add(a, device("c"), tcp("10.1.1.3", "10.2.2.5", 1));  // evicts b
  ASSERT_EQ(out_.size(), 1U);
  EXPECT_EQ(out_[0].source.key, "b");
  EXPECT_TRUE(out_[0].summary.evicted);
}

TEST_F(Aggregator, FirstSeenOncePerUnknownAddress) {
  DeniedFlowAggregator a(clock_);
  add(a, unknown("10.1.1.99"), tcp("10.1.1.99", "10.2.2.5", 104, "unknown"));
  add(a, unknown("10.1.1.99"), tcp("10.1.1.99", "10.2.2.5", 445, "unknown"));
  add(a, device("ct"), tcp("10.1.1.20", "10.2.2.5", 445));
  ASSERT_EQ(count_kind(out_, Kind::kFirstSeen), 1U);
  const DeniedFlowRecord& first = out_[0];
  EXPECT_EQ(first.kind, Kind::kFirstSeen);  // before the flow's own record
  EXPECT_EQ(first.source.key, "10.1.1.99");
  EXPECT_TRUE(first.flow.has_mac);
  EXPECT_EQ(first.flow.destination_port, 104);  // what it tried
  clock_.advance(seconds(3600));
  add(a, unknown("10.1.1.99"), tcp("10.1.1.99", "10.2.2.5", 104, "unknown"));
  EXPECT_EQ(count_kind(out_, Kind::kFirstSeen), 1U);  // remembered across windows
}

TEST_F(Aggregator, FirstSeenMemoryIsBounded) {
  DeniedFlowLimits limits;
  limits.max_unknown_sources = 4;
  DeniedFlowAggregator a(clock_, limits);
  for (int i = 1; i <= 6; ++i) {
    const std::string address = "10.1.1." + std::to_string(100 + i);
    add(a, unknown(address), tcp(address, "10.2.2.5", 80, "unknown"));
  }
  EXPECT_EQ(count_kind(out_, Kind::kFirstSeen), 6U);
  EXPECT_EQ(a.stats().unknown_sources_forgotten, 2U);
  // .101 was forgotten (least recently seen): seen "first" again; .106 was not.
  add(a, unknown("10.1.1.106"), tcp("10.1.1.106", "10.2.2.5", 80, "unknown"));
  EXPECT_EQ(count_kind(out_, Kind::kFirstSeen), 6U);
  add(a, unknown("10.1.1.101"), tcp("10.1.1.101", "10.2.2.5", 80, "unknown"));
  EXPECT_EQ(count_kind(out_, Kind::kFirstSeen), 7U);
}

TEST_F(Aggregator, NamesInASummaryAreBounded) {
  DeniedFlowLimits limits;
  limits.individual_flows = 0;
  limits.max_counted_names = 2;
  DeniedFlowAggregator a(clock_, limits);
  for (const char* reason : {"deny-vlan", "no-listener", "vlan-input", "ipv6"}) {
    add(a, device("ct"), tcp("10.1.1.20", "10.2.2.5", 1, reason));
  }
  a.flush(out_);
  ASSERT_EQ(out_.size(), 1U);
  const auto& reasons = out_[0].summary.packets_per_reason;
  EXPECT_EQ(reasons.size(), 3U);
  EXPECT_EQ(reasons.at("other"), 2U);
}

TEST_F(Aggregator, ManyDestinationsAreEstimated) {
  DeniedFlowAggregator a(clock_);
  // A sweep of 10.2.0.0/16 on one port.
  for (int hi = 0; hi < 256; ++hi) {
    for (int lo = 0; lo < 256; ++lo) {
      add(a, device("ct"),
          tcp("10.1.1.20", "10.2." + std::to_string(hi) + "." + std::to_string(lo), 445));
    }
  }
  a.flush(out_);
  const DeniedFlowRecord* s = find_kind(out_, Kind::kSummary);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->summary.estimated);
  EXPECT_NEAR(static_cast<double>(s->summary.distinct_destinations), 65536.0, 655.0);
  EXPECT_EQ(s->summary.distinct_destination_ports, 1U);
}

}  // namespace
}  // namespace wardgate::policy
