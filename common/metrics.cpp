#include "common/metrics.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <type_traits>

namespace wardgate::common {
namespace {

bool valid_name(const std::string& s, bool colons) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colons && c == ':');
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void check_bounds(const std::vector<double>& bounds) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
      throw std::invalid_argument("histogram bounds must be finite and strictly ascending");
  }
}

// Go's strconv.FormatFloat(v, 'g', -1, 64) spelling as Prometheus clients write it: the
// shortest text that reads back as the same double, and +Inf, -Inf, NaN.
void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    std::array<char, 32> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out.append(buf.data(), r.ptr);
  }
}

void append_value(std::string& out, std::uint64_t v) { out += std::to_string(v); }

void append_escaped(std::string& out, const std::string& s, bool quotes) {
  for (const char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quotes && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// `{a="x",b="y"}` (nothing without labels), with an extra `le` for histogram buckets.
void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, const std::string* le = nullptr) {
  if (names.empty() && le == nullptr) return;
  out += '{';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    append_escaped(out, values[i], true);
    out += '"';
  }
  if (le != nullptr) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += *le;
    out += '"';
  }
  out += '}';
}

template <class T>
void append_sample(std::string& out, const std::string& name, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, T v, const std::string* le = nullptr) {
  out += name;
  append_labels(out, names, values, le);
  out += ' ';
  append_value(out, v);
  out += '\n';
}

template <class Child>
void append_header(std::string& out, const Family<Child>& f, const char* type) {
  out += "# HELP ";
  out += f.name();
  out += ' ';
  append_escaped(out, f.help(), false);
  out += "\n# TYPE ";
  out += f.name();
  out += ' ';
  out += type;
  out += '\n';
}

}  // namespace

void Counter::add(double v) {
  if (!(v > 0)) return;  // also drops NaN
  fraction_.fetch_add(v, std::memory_order_relaxed);
}

double Counter::value() const {
  return static_cast<double>(whole_.load(std::memory_order_relaxed)) +
         fraction_.load(std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {
  check_bounds(bounds_);
}

void Histogram::observe(double v) {
  // The first bound >= v (le is inclusive); NaN and values above every bound go to +Inf.
  const auto i = std::isnan(v)
                     ? bounds_.size()
                     : static_cast<std::size_t>(
                           std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  s.buckets.resize(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.buckets[i] = running;
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> latency_buckets_seconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

template <class Child>
Family<Child>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                      std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

template <class Child>
Child& Family<Child>::with(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names_.size())
    throw std::invalid_argument("metric " + name_ + ": " + std::to_string(label_values.size()) +
                                " label values for " + std::to_string(label_names_.size()) +
                                " label names");
  std::lock_guard lock(mutex_);
  auto& child = children_[label_values];
  if (!child) {
    if constexpr (std::is_same_v<Child, Histogram>) {
      child = std::make_unique<Histogram>(bounds_);
    } else {
      child = std::make_unique<Child>();
    }
  }
  return *child;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

MetricsRegistry::Entry& MetricsRegistry::entry(MetricType type, const std::string& name,
                                               const std::string& help,
                                               const std::vector<std::string>& label_names,
                                               const std::vector<double>& bounds) {
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument("metric " + name + ": " + why);
  };
  if (!valid_name(name, true)) fail("not a valid metric name");
  if (type == MetricType::kCounter && !ends_with(name, "_total")) fail("a counter ends in _total");
  for (const auto& l : label_names) {
    if (!valid_name(l, false) || l.rfind("__", 0) == 0) fail("label " + l + " is not valid");
    if (type == MetricType::kHistogram && l == "le") fail("label le is reserved for buckets");
    if (std::count(label_names.begin(), label_names.end(), l) > 1) fail("label " + l + " twice");
  }
  if (type == MetricType::kHistogram) check_bounds(bounds);

  std::lock_guard lock(mutex_);
  const auto it = families_.find(name);
  if (it != families_.end()) {
    const Entry& e = it->second;
    const auto same = [&](const auto& f) {
      return f.help() == help && f.label_names() == label_names && f.bounds_ == bounds;
    };
    const bool matches = e.type == type && (type == MetricType::kCounter ? same(*e.counters)
                                            : type == MetricType::kGauge ? same(*e.gauges)
                                                                         : same(*e.histograms));
    if (!matches) fail("registered before with another type, help, labels or buckets");
    return it->second;
  }
  Entry e{type, nullptr, nullptr, nullptr};
  switch (type) {
    case MetricType::kCounter:
      e.counters.reset(new Family<Counter>(name, help, label_names, {}));
      break;
    case MetricType::kGauge:
      e.gauges.reset(new Family<Gauge>(name, help, label_names, {}));
      break;
    case MetricType::kHistogram:
      e.histograms.reset(new Family<Histogram>(name, help, label_names, bounds));
      break;
  }
  return families_.emplace(name, std::move(e)).first->second;
}

Family<Counter>& MetricsRegistry::counter_family(const std::string& name, const std::string& help,
                                                 const std::vector<std::string>& label_names) {
  return *entry(MetricType::kCounter, name, help, label_names, {}).counters;
}

Family<Gauge>& MetricsRegistry::gauge_family(const std::string& name, const std::string& help,
                                             const std::vector<std::string>& label_names) {
  return *entry(MetricType::kGauge, name, help, label_names, {}).gauges;
}

Family<Histogram>& MetricsRegistry::histogram_family(const std::string& name,
                                                     const std::string& help,
                                                     const std::vector<double>& bounds,
                                                     const std::vector<std::string>& label_names) {
  return *entry(MetricType::kHistogram, name, help, label_names, bounds).histograms;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help) {
  return counter_family(name, help, {}).with({});
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help) {
  return gauge_family(name, help, {}).with({});
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      const std::vector<double>& bounds) {
  return histogram_family(name, help, bounds, {}).with({});
}

std::optional<double> MetricsRegistry::value(const std::string& name,
                                             const std::vector<std::string>& label_values) const {
  std::lock_guard lock(mutex_);
  const auto it = families_.find(name);
  if (it == families_.end()) return std::nullopt;
  std::optional<double> out;
  const auto pick = [&](const auto& values, const auto& child) {
    if (values == label_values) out = child.value();
  };
  if (it->second.type == MetricType::kCounter) it->second.counters->for_each(pick);
  if (it->second.type == MetricType::kGauge) it->second.gauges->for_each(pick);
  // Pairs with a writer's release fence before an update, so a reader that sees the update also
  // sees what the writer published before it.
  std::atomic_thread_fence(std::memory_order_acquire);
  return out;
}

std::string MetricsRegistry::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& family : families_) {
    const std::string& name =
        family.first;  // not structured bindings: clang 14 cannot capture them
    const Entry& e = family.second;
    switch (e.type) {
      case MetricType::kCounter:
        append_header(out, *e.counters, "counter");
        e.counters->for_each([&](const auto& values, const Counter& c) {
          append_sample(out, name, e.counters->label_names(), values, c.value());
        });
        break;
      case MetricType::kGauge:
        append_header(out, *e.gauges, "gauge");
        e.gauges->for_each([&](const auto& values, const Gauge& g) {
          append_sample(out, name, e.gauges->label_names(), values, g.value());
        });
        break;
      case MetricType::kHistogram: {
        append_header(out, *e.histograms, "histogram");
        const auto& names = e.histograms->label_names();
        e.histograms->for_each([&](const auto& values, const Histogram& h) {
          const auto s = h.snapshot();
          for (std::size_t i = 0; i < s.buckets.size(); ++i) {
            std::string le;
            if (i < s.bounds.size()) {
              append_value(le, s.bounds[i]);
            } else {
              le = "+Inf";
            }
            append_sample(out, name + "_bucket", names, values, s.buckets[i], &le);
          }
          append_sample(out, name + "_sum", names, values, s.sum);
          append_sample(out, name + "_count", names, values, s.count());
        });
        break;
      }
    }
  }
  return out;
}

}  // namespace wardgate::common
