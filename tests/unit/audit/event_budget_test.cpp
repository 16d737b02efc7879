#include "audit/event_budget.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "audit/event_budget_section.h"
#include "audit/memory_sink.h"
#include "common/json_reader.h"

namespace wardgate::audit {
namespace {

using std::chrono::seconds;

Event from(const std::string& device, const std::string& category, const std::string& action,
           Severity severity = Severity::kInfo) {
  Event e = make_event("gw", device, category, action, Outcome::kSuccess, severity);
  return e;
}

struct Budgeted {
  explicit Budgeted(EventBudgetOptions options) : sink(options, "gw", out, clock, metrics) {}
  common::ManualClock clock;
  common::MetricsRegistry metrics;
  MemorySink out;
  EventBudgetSink sink;

  std::vector<Event> of(const std::string& device, const std::string& action = "") const {
    std::vector<Event> r;
    for (auto& e : out.events()) {
      if (e.device == device && (action.empty() || e.action == action)) r.push_back(e);
    }
    return r;
  }
};

EventBudgetOptions budget(std::uint32_t rate, std::uint32_t burst) {
  EventBudgetOptions o;
  o.events_per_second = rate;
  o.burst = burst;
  o.summary_interval = seconds(10);
  return o;
}

std::map<std::string, std::string> counts_of(const Event& summary) {
  std::map<std::string, std::string> out;
  for (const auto& c : std::get<std::vector<std::string>>(*summary.fields.find("counts"))) {
    out[c.substr(0, c.find('='))] = c.substr(c.find('=') + 1);
  }
  return out;
}

std::uint64_t u(const Event& e, const char* key) {
  return std::get<std::uint64_t>(*e.fields.find(key));
}

TEST(EventBudget, EventsWithinTheBurstPassUnchanged) {
  Budgeted b(budget(5, 10));
  for (int i = 0; i < 10; ++i) {
    Event e = from("ct-1", "dicom", "operation");
    e.fields.set("n", i);
    b.sink.record(e);
  }
  b.sink.emit_due(true);
  const auto events = b.out.events();
  ASSERT_EQ(events.size(), 10u);
  EXPECT_EQ(std::get<std::int64_t>(*events[9].fields.find("n")), 9);
  EXPECT_EQ(b.sink.suppressed(), 0u);
}

// An association looping C-ECHOs plus a frame of MSH segments from one device: beyond its burst
// nothing is passed on one by one, everything is counted into one summary per window.
TEST(EventBudget, AFloodBecomesOneSummaryWithCountsByCategoryAndAction) {
  Budgeted b(budget(5, 10));
  for (int i = 0; i < 2000; ++i) b.sink.record(from("ct-1", "dicom", "operation"));
  for (int i = 0; i < 1000; ++i) b.sink.record(from("ct-1", "hl7", "message"));
  b.sink.record(from("ct-1", "dicom", "violation", Severity::kAlert));
  EXPECT_EQ(b.of("ct-1").size(), 10u) << "only the burst passed";
  EXPECT_EQ(b.sink.suppressed(), 2991u);
  EXPECT_EQ(b.metrics.value("wardgate_audit_events_over_budget_total"), 2991);

  b.clock.advance(seconds(9));
  b.sink.emit_due();
  EXPECT_TRUE(b.of("ct-1", "event-flood-summary").empty()) << "the window is still open";
  b.clock.advance(seconds(1));
  b.sink.emit_due();
  const auto summaries = b.of("ct-1", "event-flood-summary");
  ASSERT_EQ(summaries.size(), 1u);
  const Event& s = summaries[0];
  EXPECT_EQ(s.category, "audit");
  EXPECT_EQ(s.appliance_id, "gw");
  EXPECT_EQ(s.severity, Severity::kAlert) << "the most severe event counted";
  EXPECT_EQ(u(s, "events_suppressed"), 2991u);
  EXPECT_EQ(counts_of(s),
            (std::map<std::string, std::string>{
                {"dicom/operation", "1990"}, {"dicom/violation", "1"}, {"hl7/message", "1000"}}));
  EXPECT_EQ(u(s, "budget_events_per_second"), 5u);
  EXPECT_EQ(b.metrics.value("wardgate_audit_flood_summaries_total"), 1);
  b.sink.emit_due(true);
  EXPECT_EQ(b.of("ct-1", "event-flood-summary").size(), 1u) << "each window once";
}

TEST(EventBudget, OneDevicesFloodDoesNotCrowdOutAnother) {
  Budgeted b(budget(5, 10));
  for (int i = 0; i < 5000; ++i) b.sink.record(from("10.1.1.20", "dicom", "operation"));
  for (int i = 0; i < 8; ++i) b.sink.record(from("us-2", "dicom", "operation"));
  EXPECT_EQ(b.of("us-2").size(), 8u);
  EXPECT_EQ(b.of("10.1.1.20").size(), 10u);
}

TEST(EventBudget, TheBudgetRefillsAtItsRate) {
  Budgeted b(budget(5, 10));
  for (int i = 0; i < 20; ++i) b.sink.record(from("ct-1", "dicom", "operation"));
  EXPECT_EQ(b.of("ct-1", "operation").size(), 10u);
  b.clock.advance(seconds(1));  // five more
  for (int i = 0; i < 20; ++i) b.sink.record(from("ct-1", "dicom", "operation"));
  EXPECT_EQ(b.of("ct-1", "operation").size(), 15u);
  b.clock.advance(seconds(60));  // full again, not more than the burst
  for (int i = 0; i < 20; ++i) b.sink.record(from("ct-1", "dicom", "operation"));
  EXPECT_EQ(b.of("ct-1", "operation").size(), 25u);
  // The 10 + 15 + 10 held back are all in summaries: nothing lost without being counted.
  b.sink.emit_due(true);
  std::uint64_t summarised = 0;
  for (const auto& s : b.of("ct-1", "event-flood-summary")) summarised += u(s, "events_suppressed");
  EXPECT_EQ(summarised, 35u);
}

TEST(EventBudget, AnEndedWindowIsSummarisedByTheNextEventOfAnyDevice) {
  Budgeted b(budget(1, 1));
  b.sink.record(from("ct-1", "dicom", "operation"));
  b.sink.record(from("ct-1", "dicom", "operation"));
  b.clock.advance(seconds(11));
  b.sink.record(from("mon-3", "hl7", "message"));
  ASSERT_EQ(b.of("ct-1", "event-flood-summary").size(), 1u);
  EXPECT_EQ(u(b.of("ct-1", "event-flood-summary")[0], "events_suppressed"), 1u);
}

TEST(EventBudget, OpenWindowsAreSummarisedWhenTheSinkEnds) {
  MemorySink out;
  common::ManualClock clock;
  common::MetricsRegistry metrics;
  {
    EventBudgetSink sink(budget(1, 1), "gw", out, clock, metrics);
    sink.record(from("ct-1", "dicom", "operation"));
    sink.record(from("ct-1", "dicom", "operation"));
  }
  const auto events = out.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].action, "event-flood-summary");
}

TEST(EventBudget, ZeroRateTurnsTheBudgetOff) {
  Budgeted b(budget(0, 1));
  for (int i = 0; i < 100; ++i) b.sink.record(from("ct-1", "dicom", "operation"));
  EXPECT_EQ(b.of("ct-1").size(), 100u);
}

TEST(EventBudget, DevicesBeyondTheTableShareOneBudget) {
  auto o = budget(1, 2);
  o.max_devices = 2;
  Budgeted b(o);
  for (const char* d : {"a", "b", "c", "d"}) {
    for (int i = 0; i < 3; ++i) b.sink.record(from(d, "dicom", "operation"));
  }
  // a and b are busy (their windows open): c and d share the budget of kOtherDevices.
  EXPECT_EQ(b.of("a", "operation").size(), 2u);
  EXPECT_EQ(b.of("c", "operation").size() + b.of("d", "operation").size(), 2u);
  b.sink.emit_due(true);
  const auto shared = b.of(kOtherDevices, "event-flood-summary");
  ASSERT_EQ(shared.size(), 1u);
  EXPECT_EQ(u(shared[0], "events_suppressed"), 4u);
}

TEST(EventBudgetSection, DefaultsAndLimits) {
  EXPECT_EQ(read_event_budget_section(nullptr), EventBudgetOptions{});
  const auto j = nlohmann::json::parse(
      R"({"events_per_second": 50, "burst": 100, "summary_interval_s": 5, "max_devices": 10})");
  const auto o = read_event_budget_section(&j);
  EXPECT_EQ(o.events_per_second, 50u);
  EXPECT_EQ(o.burst, 100u);
  EXPECT_EQ(o.summary_interval, seconds(5));
  EXPECT_EQ(o.max_devices, 10u);
  const auto bad = nlohmann::json::parse(R"({"burst": 0})");
  try {
    read_event_budget_section(&bad);
    FAIL() << "no error";
  } catch (const common::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("audit.event_budget.burst"), std::string::npos)
        << e.what();
  }
  const auto unknown = nlohmann::json::parse(R"({"rate": 5})");
  EXPECT_THROW(read_event_budget_section(&unknown), common::ConfigError);
}

}  // namespace
}  // namespace wardgate::audit
