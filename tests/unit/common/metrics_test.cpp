#include "common/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

namespace wardgate::common {
namespace {

TEST(Metrics, CounterCountsWholeAndFractionalIncrements) {
  Counter c;
  EXPECT_EQ(c.value(), 0);
  c.inc();
  c.inc(41);
  EXPECT_EQ(c.value(), 42);
  c.add(0.25);
  c.add(-5);  // never down
  c.add(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(c.value(), 42.25);
}

TEST(Metrics, GaugeGoesUpAndDown) {
  Gauge g;
  g.set(3);
  g.inc();
  g.dec();
  g.dec();
  g.add(0.5);
  EXPECT_EQ(g.value(), 2.5);
}

TEST(Metrics, HistogramBucketsAreInclusiveAndCumulative) {
  Histogram h({0.1, 1, 10});
  for (const double v : {0.05, 0.1, 0.5, 1.0, 5.0, 50.0}) h.observe(v);
  h.observe(std::numeric_limits<double>::quiet_NaN());
  const auto s = h.snapshot();
  EXPECT_EQ(s.bounds, (std::vector<double>{0.1, 1, 10}));
  EXPECT_EQ(s.buckets, (std::vector<std::uint64_t>{2, 4, 5, 7}));
  EXPECT_EQ(s.count(), 7u);
  EXPECT_TRUE(std::isnan(s.sum));  // as Prometheus clients do: NaN poisons the sum
}

TEST(Metrics, HistogramRejectsBoundsOutOfOrder) {
  EXPECT_THROW(Histogram({1, 1}), std::invalid_argument);
  EXPECT_THROW(Histogram({2, 1}), std::invalid_argument);
  EXPECT_THROW(Histogram({1, std::numeric_limits<double>::infinity()}), std::invalid_argument);
  MetricsRegistry r;
  EXPECT_THROW(r.histogram("wardgate_x_seconds", "x", {0.5, 0.1}), std::invalid_argument);
}

TEST(Metrics, ChildrenAreCreatedOnceAndKeptStable) {
  MetricsRegistry r;
  auto& f = r.counter_family("wardgate_test_events_total", "Events.", {"kind", "peer"});
  Counter& a = f.with({"up", "concentrator"});
  Counter& b = f.with({"stale", "concentrator"});
  EXPECT_NE(&a, &b);
  for (int i = 0; i < 100; ++i) f.with({"peer" + std::to_string(i), "x"});  // the map grows
  EXPECT_EQ(&a, &f.with({"up", "concentrator"}));
  EXPECT_THROW(f.with({"up"}), std::invalid_argument);
}

TEST(Metrics, RegisteringTheSameFamilyAgainSharesIt) {
  MetricsRegistry r;
  Counter& a = r.counter("wardgate_test_polls_total", "Polls.");
  Counter& b = r.counter("wardgate_test_polls_total", "Polls.");
  EXPECT_EQ(&a, &b);
  auto& g1 = r.gauge_family("wardgate_test_up", "Up.", {"interface"});
  auto& g2 = r.gauge_family("wardgate_test_up", "Up.", {"interface"});
  EXPECT_EQ(&g1, &g2);
  // Anything different is a mistake.
  EXPECT_THROW(r.gauge("wardgate_test_polls_total", "Polls."), std::invalid_argument);
  EXPECT_THROW(r.counter("wardgate_test_polls_total", "Other help."), std::invalid_argument);
  EXPECT_THROW(r.gauge_family("wardgate_test_up", "Up.", {"peer"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("wardgate_test_h_seconds", "h", {1});
               r.histogram("wardgate_test_h_seconds", "h", {2}), std::invalid_argument);
}

TEST(Metrics, NamesFollowThePrometheusRules) {
  MetricsRegistry r;
  EXPECT_THROW(r.counter("wardgate_test_polls", "no _total"), std::invalid_argument);
  EXPECT_THROW(r.gauge("9lives", "starts with a digit"), std::invalid_argument);
  EXPECT_THROW(r.gauge("wardgate-test", "dash"), std::invalid_argument);
  EXPECT_THROW(r.gauge("", "empty"), std::invalid_argument);
  EXPECT_THROW(r.gauge_family("wardgate_test_a", "a", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.gauge_family("wardgate_test_b", "b", {"a:b"}), std::invalid_argument);
  EXPECT_THROW(r.gauge_family("wardgate_test_c", "c", {"x", "x"}), std::invalid_argument);
  EXPECT_THROW(r.histogram_family("wardgate_test_d_seconds", "d", {1}, {"le"}),
               std::invalid_argument);
  EXPECT_NO_THROW(r.gauge("wardgate:recorded_rule", "colons are allowed in names"));
}

// The exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
// families sorted by name, HELP then TYPE, label values and help escaped, histogram buckets
// cumulative with le, +Inf, _sum and _count.
TEST(Metrics, RendersTheTextExpositionFormat) {
  MetricsRegistry r;
  auto& events = r.counter_family("wardgate_tunnel_events_total", "Tunnel events by action.",
                                  {"interface", "action"});
  events.with({"wg0", "up"}).inc(3);
  events.with({"wg0", "backend-failed"}).inc();
  r.gauge("wardgate_tunnel_backend_alive", "1 while the backend runs.").set(1);
  r.gauge_family("wardgate_test_info", "Help with a backslash \\ and a\nnew line.", {"reason"})
      .with({"say \"hi\"\\\n"})
      .set(1);
  auto& h =
      r.histogram_family("wardgate_test_duration_seconds", "Durations.", {0.005, 0.25, 1}, {"op"});
  h.with({"store"}).observe(0.00390625);
  h.with({"store"}).observe(0.25);
  h.with({"store"}).observe(3);
  r.histogram("wardgate_test_size_bytes", "Sizes.", {1024});
  r.counter_family("wardgate_test_unused_total", "No child yet.", {"x"});
  r.counter("wardgate_test_seconds_total", "Fractional.").add(1.5);

  EXPECT_EQ(r.render(),
            "# HELP wardgate_test_duration_seconds Durations.\n"
            "# TYPE wardgate_test_duration_seconds histogram\n"
            "wardgate_test_duration_seconds_bucket{op=\"store\",le=\"0.005\"} 1\n"
            "wardgate_test_duration_seconds_bucket{op=\"store\",le=\"0.25\"} 2\n"
            "wardgate_test_duration_seconds_bucket{op=\"store\",le=\"1\"} 2\n"
            "wardgate_test_duration_seconds_bucket{op=\"store\",le=\"+Inf\"} 3\n"
            "wardgate_test_duration_seconds_sum{op=\"store\"} 3.25390625\n"
            "wardgate_test_duration_seconds_count{op=\"store\"} 3\n"
            "# HELP wardgate_test_info Help with a backslash \\\\ and a\\nnew line.\n"
            "# TYPE wardgate_test_info gauge\n"
            "wardgate_test_info{reason=\"say \\\"hi\\\"\\\\\\n\"} 1\n"
            "# HELP wardgate_test_seconds_total Fractional.\n"
            "# TYPE wardgate_test_seconds_total counter\n"
            "wardgate_test_seconds_total 1.5\n"
            "# HELP wardgate_test_size_bytes Sizes.\n"
            "# TYPE wardgate_test_size_bytes histogram\n"
            "wardgate_test_size_bytes_bucket{le=\"1024\"} 0\n"
            "wardgate_test_size_bytes_bucket{le=\"+Inf\"} 0\n"
            "wardgate_test_size_bytes_sum 0\n"
            "wardgate_test_size_bytes_count 0\n"
            "# HELP wardgate_test_unused_total No child yet.\n"
            "# TYPE wardgate_test_unused_total counter\n"
            "# HELP wardgate_tunnel_backend_alive 1 while the backend runs.\n"
            "# TYPE wardgate_tunnel_backend_alive gauge\n"
            "wardgate_tunnel_backend_alive 1\n"
            "# HELP wardgate_tunnel_events_total Tunnel events by action.\n"
            "# TYPE wardgate_tunnel_events_total counter\n"
            "wardgate_tunnel_events_total{interface=\"wg0\",action=\"backend-failed\"} 1\n"
            "wardgate_tunnel_events_total{interface=\"wg0\",action=\"up\"} 3\n");
}

TEST(Metrics, RendersSpecialAndLargeValues) {
  MetricsRegistry r;
  auto& g = r.gauge_family("wardgate_test_value", "Values.", {"case"});
  g.with({"a_inf"}).set(std::numeric_limits<double>::infinity());
  g.with({"b_minus_inf"}).set(-std::numeric_limits<double>::infinity());
  g.with({"c_nan"}).set(std::numeric_limits<double>::quiet_NaN());
  g.with({"d_small"}).set(1e-7);
  g.with({"e_large"}).set(1.5e300);
  g.with({"f_negative"}).set(-2);
  g.with({"g_timestamp"}).set(1800000000.25);
  EXPECT_EQ(r.render(),
            "# HELP wardgate_test_value Values.\n"
            "# TYPE wardgate_test_value gauge\n"
            "wardgate_test_value{case=\"a_inf\"} +Inf\n"
            "wardgate_test_value{case=\"b_minus_inf\"} -Inf\n"
            "wardgate_test_value{case=\"c_nan\"} NaN\n"
            "wardgate_test_value{case=\"d_small\"} 1e-07\n"
            "wardgate_test_value{case=\"e_large\"} 1.5e+300\n"
            "wardgate_test_value{case=\"f_negative\"} -2\n"
            "wardgate_test_value{case=\"g_timestamp\"} 1800000000.25\n");
}

TEST(Metrics, ConcurrentUpdatesAndRendersLoseNothing) {
  MetricsRegistry r;
  auto& family = r.counter_family("wardgate_test_bytes_total", "Bytes.", {"direction"});
  auto& h = r.histogram("wardgate_test_chunk_bytes", "Chunks.", {100, 1000});
  auto& g = r.gauge("wardgate_test_sessions", "Sessions.");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter& mine = family.with({t % 2 == 0 ? "up" : "down"});
      for (int i = 0; i < kPerThread; ++i) {
        mine.inc(2);
        h.observe(i % 3 == 0 ? 50 : 500);
        g.inc();
        g.dec();
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 50; ++i) EXPECT_FALSE(r.render().empty());
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(family.with({"up"}).value(), 2.0 * 2 * kPerThread);
  EXPECT_EQ(family.with({"down"}).value(), 2.0 * 2 * kPerThread);
  EXPECT_EQ(h.snapshot().count(), std::uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(g.value(), 0);
}

TEST(Metrics, LatencyBucketsAreUsable) {
  MetricsRegistry r;
  EXPECT_NO_THROW(r.histogram("wardgate_test_latency_seconds", "x", latency_buckets_seconds()));
}

}  // namespace
}  // namespace wardgate::common
