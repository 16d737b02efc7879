#pragma once
// The process's metrics: counters, gauges and histograms, each a family (one name, help text,
// label names) of children (one per combination of label values), rendered as the Prometheus
// text exposition format 0.0.4 for the admin's /metrics page.
//
// A module registers its families once (at start-up) and keeps references to the children it
// updates: an update is one relaxed atomic operation, no lookup and no lock, so hot paths may
// count. Families and children live as long as the registry; references stay valid.
//
// Naming (https://prometheus.io/docs/practices/naming/): `wardgate_<module>_<what>_<unit>`, base
// units (seconds, bytes), counters end in `_total`, a pseudo-metric carrying text as labels ends
// in `_info` with the value 1. The registry checks the syntax, `_total` on counters and reserved
// names; the prefix is the caller's convention.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace wardgate::common {

// Monotonic: events, bytes, seconds. Whole increments (the hot path) are one integer add;
// fractional ones (seconds) go to a separate floating-point sum.
class Counter {
 public:
  void inc(std::uint64_t n = 1) { whole_.fetch_add(n, std::memory_order_relaxed); }
  void add(double v);  // v >= 0; negative values are ignored (a counter never goes down)
  double value() const;

 private:
  std::atomic<std::uint64_t> whole_{0};
  std::atomic<double> fraction_{0.0};
};

// A value that goes up and down: a state, a queue depth, a time stamp.
class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  void inc() { add(1.0); }
  void dec() { add(-1.0); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into fixed buckets (upper bounds, inclusive) plus their sum.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);

  struct Snapshot {
    std::vector<double> bounds;          // as given, ascending
    std::vector<std::uint64_t> buckets;  // cumulative counts per bound, then the +Inf bucket
    double sum = 0;
    std::uint64_t count() const { return buckets.empty() ? 0 : buckets.back(); }
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::vector<std::atomic<std::uint64_t>> counts_;  // per bucket, not cumulative; +Inf last
  std::atomic<double> sum_{0.0};
};

// Buckets for durations in seconds, 100 µs .. 10 s.
std::vector<double> latency_buckets_seconds();

enum class MetricType { kCounter, kGauge, kHistogram };

// A family's children by label values (in the order of the family's label names).
template <class Child>
class Family {
 public:
  // The child for these label values, created on first use. Throws std::invalid_argument when
  // the number of values differs from the number of label names (a programming error).
  Child& with(const std::vector<std::string>& label_values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Calls f(label_values, child) for every child, in label-value order.
  template <class F>
  void for_each(F&& f) const {
    std::lock_guard lock(mutex_);
    for (const auto& [values, child] : children_) f(values, *child);
  }

 private:
  friend class MetricsRegistry;
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds);

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;  // histograms only
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Child>> children_;
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registering a name again with the same type, help, label names (and buckets) returns the
  // existing family, so two instances of a component share it; anything else throws
  // std::invalid_argument (start-up only). Unlabelled forms return the family's single child.
  Family<Counter>& counter_family(const std::string& name, const std::string& help,
                                  const std::vector<std::string>& label_names);
  Family<Gauge>& gauge_family(const std::string& name, const std::string& help,
                              const std::vector<std::string>& label_names);
  Family<Histogram>& histogram_family(const std::string& name, const std::string& help,
                                      const std::vector<double>& bounds,
                                      const std::vector<std::string>& label_names);
  Counter& counter(const std::string& name, const std::string& help);
  Gauge& gauge(const std::string& name, const std::string& help);
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::vector<double>& bounds);

  // Every family, by name: # HELP, # TYPE, then one line per sample. A labelled family without
  // children yet shows only its HELP and TYPE lines.
  std::string render() const;

  // The current value of a counter or gauge child, for tests and command-line summaries (a
  // module keeps its children and never looks up). Empty when no such family or child exists
  // or the family is a histogram.
  std::optional<double> value(const std::string& name,
                              const std::vector<std::string>& label_values = {}) const;

  // The Content-Type of render()'s output.
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Entry {
    MetricType type;
    std::unique_ptr<Family<Counter>> counters;
    std::unique_ptr<Family<Gauge>> gauges;
    std::unique_ptr<Family<Histogram>> histograms;
  };
  Entry& entry(MetricType type, const std::string& name, const std::string& help,
               const std::vector<std::string>& label_names, const std::vector<double>& bounds);

  mutable std::mutex mutex_;
  std::map<std::string, Entry> families_;
};

}  // namespace wardgate::common
