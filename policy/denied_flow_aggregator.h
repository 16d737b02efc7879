#pragma once
// Bounded audit of denied flows. The ruleset logs every denied packet; a port scan is tens of
// thousands of them, and the audit trail must say what happened without becoming the scan. Per
// source (a registered device, else the source address), within a window:
//   - the first `individual_flows` distinct flows (protocol, destination, destination port or
//     ICMP type) become one record each (kFlow);
//   - the rest are only counted, and when the window ends one kSummary record gives the counts
//     (flows, packets, distinct destinations and destination ports, per protocol, per reason,
//     first and last time). A 65 535-port scan gives a few records plus one summary.
// An unregistered source address yields one kFirstSeen record the first time it is observed
// (with its MAC and what it tried), remembered in a bounded set.
//
// Memory is bounded: at most `max_sources` sources have an open window (the least recently seen
// one is evicted, its summary emitted early, and the eviction counted). Distinct flows and
// destinations are counted exactly up to `exact_distinct` each (64-bit hashes in a set), beyond
// that estimated by linear counting on a 65 536-bit map (8 KiB; standard error 0.3 % at 65 536,
// under 1 % up to about 300 000; the summary says `estimated`); destination ports are counted
// exactly (a 65 536-bit set). A source thus costs at most about 40 KiB: 10 MiB with the defaults.
// Pure logic on the injected clock; not thread-safe (one owner).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/flow_observation.h"

namespace wardgate::policy {

struct DeniedFlowLimits {
  std::size_t individual_flows = 8;  // per source and window
  std::chrono::seconds window{60};
  std::size_t max_sources = 256;           // with an open window
  std::size_t exact_distinct = 256;        // flows, destinations counted exactly (then estimated)
  std::size_t max_unknown_sources = 4096;  // remembered for first-seen
  std::size_t max_counted_names = 16;  // protocols / reasons named in a summary; the rest: "other"
};

// Who a denied flow is attributed to.
struct FlowSource {
  std::string key;     // the device name, else an address ("10.1.1.99", "core:10.2.2.7")
  std::string device;  // the registered device's name; empty when none
  // An address on the VLAN nobody registered: its first observation yields kFirstSeen.
  bool unregistered = false;
};

struct DeniedFlowSummary {
  std::uint64_t flows = 0;           // distinct flows in the window (including the recorded ones)
  std::uint64_t recorded_flows = 0;  // of which recorded individually
  std::uint64_t packets = 0;
  std::uint64_t distinct_destinations = 0;
  std::uint64_t distinct_destination_ports = 0;
  std::map<std::string, std::uint64_t> packets_per_protocol;
  std::map<std::string, std::uint64_t> packets_per_reason;
  std::chrono::system_clock::time_point first;  // observation times
  std::chrono::system_clock::time_point last;
  bool estimated = false;  // flows or destinations beyond exact_distinct: estimated counts
  bool evicted = false;    // emitted early: the source was evicted to make room for another
};

struct DeniedFlowRecord {
  enum class Kind : std::uint8_t { kFlow, kSummary, kFirstSeen };
  Kind kind = Kind::kFlow;
  FlowSource source;             // kSummary: as at the window's first packet
  common::FlowObservation flow;  // kFlow, kFirstSeen: that observation; kSummary: the last one
  DeniedFlowSummary summary;     // kSummary only
};

class DeniedFlowAggregator {
 public:
  struct Stats {
    std::uint64_t observations = 0;
    std::uint64_t records = 0;  // of every kind
    std::uint64_t sources_evicted = 0;
    std::uint64_t unknown_sources_forgotten = 0;  // evicted from the first-seen memory
  };

  explicit DeniedFlowAggregator(const common::Clock& clock, DeniedFlowLimits limits = {});
  ~DeniedFlowAggregator();
  DeniedFlowAggregator(const DeniedFlowAggregator&) = delete;
  DeniedFlowAggregator& operator=(const DeniedFlowAggregator&) = delete;

  // One denied packet; the records it gives (none, kFirstSeen, kFlow, or a kSummary of the
  // source's window that ended or of an evicted source) are appended to `out`.
  void add(const FlowSource& source, const common::FlowObservation& flow,
           std::vector<DeniedFlowRecord>& out);
  // A packet that was let through (an unregistered address whose intercepted connections are
  // proxied): only its kFirstSeen, if it is the address's first; nothing is counted as denied.
  void seen(const FlowSource& source, const common::FlowObservation& flow,
            std::vector<DeniedFlowRecord>& out) {
    if (source.unregistered) note_first_seen(source, flow, out);
  }
  // Ends the windows that have passed, appending their summaries: call it periodically (every
  // second or so), or summaries wait until the source's next packet.
  void expire(std::vector<DeniedFlowRecord>& out);
  // Ends every window now (shutdown).
  void flush(std::vector<DeniedFlowRecord>& out);

  // Sources with an open window.
  std::size_t tracked_sources() const { return sources_.size(); }
  const Stats& stats() const { return stats_; }

 private:
  struct Window;
  using Lru = std::list<std::string>;  // source keys, most recently seen first

  // Emits the window's summary if it suppressed flows.
  void close_window(const Window& w, bool evicted, std::vector<DeniedFlowRecord>& out);
  void note_first_seen(const FlowSource& source, const common::FlowObservation& flow,
                       std::vector<DeniedFlowRecord>& out);
  void emit(DeniedFlowRecord record, std::vector<DeniedFlowRecord>& out);

  const common::Clock& clock_;
  DeniedFlowLimits limits_;
  Lru order_;
  std::unordered_map<std::string, std::unique_ptr<Window>> sources_;
  std::list<std::string> unknown_order_;  // most recently seen first
  std::unordered_map<std::string, std::list<std::string>::iterator> unknown_;
  Stats stats_;
};

}  // namespace wardgate::policy
