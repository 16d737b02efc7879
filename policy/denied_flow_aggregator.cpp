#include "policy/denied_flow_aggregator.h"

#include <algorithm>
#include <bitset>
#include <cmath>
#include <functional>
#include <unordered_set>

namespace wardgate::policy {
namespace {

// splitmix64's finaliser over the library's string hash: every bit of the result depends on
// every bit of the input, so the low 16 bits index the estimating map evenly.
std::uint64_t hash_of(const std::string& text) {
  std::uint64_t z = std::hash<std::string>{}(text) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// How many distinct hashes were added: exact (a set) up to `exact`, then estimated by linear
// counting (Whang et al., 1990) on a 65 536-bit map, which replaces the set.
class DistinctCounter {
 public:
  explicit DistinctCounter(std::size_t exact) : exact_(exact) {}

  // True when `hash` is certainly new (only known while counting exactly).
  bool add(std::uint64_t hash) {
    if (map_) {
      map_->set(hash & 0xffffU);
      return false;
    }
    if (!set_.insert(hash).second) return false;
    if (set_.size() > exact_) {
      map_ = std::make_unique<std::bitset<kBits>>();
      for (const std::uint64_t h : set_) map_->set(h & 0xffffU);
      set_ = {};
      return false;
    }
    return true;
  }
  bool exact() const { return !map_; }

  std::uint64_t count() const {
    if (!map_) return set_.size();
    const auto zeros = static_cast<double>(kBits - map_->count());
    const auto bits = static_cast<double>(kBits);
    // A full map says "at least m ln m": the estimator's limit.
    const double fraction = std::max(zeros, 1.0) / bits;
    return static_cast<std::uint64_t>(std::llround(-bits * std::log(fraction)));
  }

 private:
  static constexpr std::size_t kBits = 65536;
  std::size_t exact_;
  std::unordered_set<std::uint64_t> set_;
  std::unique_ptr<std::bitset<kBits>> map_;
};

// What makes two denied packets one flow: protocol, destination, and the destination port (or
// ICMP type). The source port is left out: a retried connection is the same attempt.
std::string flow_key(const common::FlowObservation& f) {
  std::string key = std::to_string(f.protocol);
  key += '|';
  key += f.destination;
  key += '|';
  const bool icmp = f.protocol_name == "icmp" || f.protocol_name == "icmpv6";
  key += std::to_string(icmp ? f.icmp_type : f.destination_port);
  return key;
}

void count(std::map<std::string, std::uint64_t>& counts, const std::string& name,
           std::size_t max_names) {
  auto it = counts.find(name);
  if (it == counts.end()) {
    it = counts.size() < max_names ? counts.emplace(name, 0).first
                                   : counts.emplace("other", 0).first;
  }
  ++it->second;
}

}  // namespace

struct DeniedFlowAggregator::Window {
  FlowSource source;
  Lru::iterator position;
  std::chrono::steady_clock::time_point start;
  DeniedFlowSummary summary;
  explicit Window(std::size_t exact) : flows(exact), destinations(exact) {}
  DistinctCounter flows;
  DistinctCounter destinations;
  std::unique_ptr<std::bitset<65536>> ports;  // allocated at the first port
  common::FlowObservation last;
};

DeniedFlowAggregator::DeniedFlowAggregator(const common::Clock& clock, DeniedFlowLimits limits)
    : clock_(clock), limits_(limits) {
  // Whether a flow is new is known only while flows are counted exactly.
  limits_.individual_flows = std::min(limits_.individual_flows, limits_.exact_distinct);
}

DeniedFlowAggregator::~DeniedFlowAggregator() = default;

void DeniedFlowAggregator::emit(DeniedFlowRecord record, std::vector<DeniedFlowRecord>& out) {
  ++stats_.records;
  out.push_back(std::move(record));
}

void DeniedFlowAggregator::note_first_seen(const FlowSource& source,
                                           const common::FlowObservation& flow,
                                           std::vector<DeniedFlowRecord>& out) {
  if (const auto it = unknown_.find(source.key); it != unknown_.end()) {
    unknown_order_.splice(unknown_order_.begin(), unknown_order_, it->second);
    return;
  }
  if (limits_.max_unknown_sources == 0) return;
  if (unknown_.size() >= limits_.max_unknown_sources) {
    unknown_.erase(unknown_order_.back());
    unknown_order_.pop_back();
    ++stats_.unknown_sources_forgotten;
  }
  unknown_order_.push_front(source.key);
  unknown_.emplace(source.key, unknown_order_.begin());
  DeniedFlowRecord r;
  r.kind = DeniedFlowRecord::Kind::kFirstSeen;
  r.source = source;
  r.flow = flow;
  emit(std::move(r), out);
}

void DeniedFlowAggregator::close_window(const Window& w, bool evicted,
                                        std::vector<DeniedFlowRecord>& out) {
  const std::uint64_t flows = w.flows.count();
  if (flows <= w.summary.recorded_flows) return;  // every flow has its own record
  DeniedFlowRecord r;
  r.kind = DeniedFlowRecord::Kind::kSummary;
  r.source = w.source;
  r.flow = w.last;
  r.summary = w.summary;
  r.summary.flows = flows;
  r.summary.distinct_destinations = w.destinations.count();
  r.summary.distinct_destination_ports = w.ports ? w.ports->count() : 0;
  r.summary.estimated = !w.flows.exact() || !w.destinations.exact();
  r.summary.evicted = evicted;
  emit(std::move(r), out);
}

void DeniedFlowAggregator::add(const FlowSource& source, const common::FlowObservation& flow,
                               std::vector<DeniedFlowRecord>& out) {
  ++stats_.observations;
  if (source.unregistered) note_first_seen(source, flow, out);
  const auto now = clock_.steady_now();

  auto it = sources_.find(source.key);
  if (it != sources_.end() && now - it->second->start >= limits_.window) {
    close_window(*it->second, false, out);
    order_.erase(it->second->position);
    sources_.erase(it);
    it = sources_.end();
  }
  if (it == sources_.end()) {
    if (limits_.max_sources == 0) return;
    if (sources_.size() >= limits_.max_sources) {
      const auto oldest = sources_.find(order_.back());
      close_window(*oldest->second, true, out);
      sources_.erase(oldest);
      order_.pop_back();
      ++stats_.sources_evicted;
    }
    order_.push_front(source.key);
    auto w = std::make_unique<Window>(limits_.exact_distinct);
    w->source = source;
    w->position = order_.begin();
    w->start = now;
    w->summary.first = flow.time;
    it = sources_.emplace(source.key, std::move(w)).first;
  } else {
    order_.splice(order_.begin(), order_, it->second->position);
  }

  Window& w = *it->second;
  DeniedFlowSummary& s = w.summary;
  ++s.packets;
  s.last = flow.time;
  w.last = flow;
  count(s.packets_per_protocol, flow.protocol_name, limits_.max_counted_names);
  count(s.packets_per_reason, flow.reason, limits_.max_counted_names);
  if (flow.destination_port != 0) {
    if (!w.ports) w.ports = std::make_unique<std::bitset<65536>>();
    w.ports->set(flow.destination_port);
  }
  w.destinations.add(hash_of(flow.destination));
  if (!w.flows.add(hash_of(flow_key(flow)))) return;  // a repeat, or past exact counting
  if (s.recorded_flows >= limits_.individual_flows) return;
  ++s.recorded_flows;
  DeniedFlowRecord r;
  r.kind = DeniedFlowRecord::Kind::kFlow;
  r.source = source;
  r.flow = flow;
  emit(std::move(r), out);
}

void DeniedFlowAggregator::expire(std::vector<DeniedFlowRecord>& out) {
  const auto now = clock_.steady_now();
  for (auto it = sources_.begin(); it != sources_.end();) {
    if (now - it->second->start < limits_.window) {
      ++it;
      continue;
    }
    close_window(*it->second, false, out);
    order_.erase(it->second->position);
    it = sources_.erase(it);
  }
}

void DeniedFlowAggregator::flush(std::vector<DeniedFlowRecord>& out) {
  // Oldest first, so the records come out in the order the windows were last active.
  while (!order_.empty()) {
    close_window(*sources_.at(order_.back()), false, out);
    order_.pop_back();
  }
  sources_.clear();
}

}  // namespace wardgate::policy
