// Driver of the durable audit store (store/audit_store.h) for the benchmark (bench_audit_store.py)
// and the integration tests (tests/integration/test_audit_store.py). One producer thread records
// DICOM-like operation events of about 450 bytes canonical.
//
//   bench_audit_store --store PATH --key PATH --events N [--rate EVENTS_PER_S]
//                     [--group-commit-ms MS] [--checkpoint-every N] [--print-commits]
//                     [--old-events N --old-age-days D] [--retention-days R]
//
// --rate 0 (default): as fast as the store keeps up (the producer waits while more than half of
// the queue is waiting, so nothing is lost and the figure is the sustained durable rate).
// --print-commits: a line "committed SEQ" on stdout after each commit (the durability test kills
// the process and checks every such SEQ is in the store). --events 0: until killed.
// --old-events/--old-age-days: the first N events are stamped D days ago (retention tests);
// --retention-days: the store's retention, run once more (prune_now) before the end.
// At the end one JSON line: events, seconds, events_per_s, latency_p50_us, latency_p99_us,
// latency_max_us (event recorded -> its transaction committed), commits, records_lost, last_seq,
// writer_cpu_s (CPU time of the writer thread).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/audit_store.h"

namespace {

using Clock = std::chrono::steady_clock;
using wardgate::audit::Event;
using wardgate::store::AuditStore;

struct Args {
  std::string store;
  std::string key;
  std::uint64_t events = 100000;
  double rate = 0;
  unsigned group_commit_ms = 50;
  std::uint64_t checkpoint_every = 10000;
  bool print_commits = false;
  std::uint64_t old_events = 0;
  unsigned old_age_days = 0;
  unsigned retention_days = 0;  // 0: the store's default, not run at the end
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: bench_audit_store --store PATH --key PATH [--events N] [--rate R] "
               "[--group-commit-ms MS] [--checkpoint-every N] [--print-commits] [--old-events N "
               "--old-age-days D] [--retention-days R]\n");
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (arg == "--store") {
      a.store = value();
    } else if (arg == "--key") {
      a.key = value();
    } else if (arg == "--events") {
      a.events = std::stoull(value());
    } else if (arg == "--rate") {
      a.rate = std::stod(value());
    } else if (arg == "--group-commit-ms") {
      a.group_commit_ms = static_cast<unsigned>(std::stoul(value()));
    } else if (arg == "--checkpoint-every") {
      a.checkpoint_every = std::stoull(value());
    } else if (arg == "--print-commits") {
      a.print_commits = true;
    } else if (arg == "--old-events") {
      a.old_events = std::stoull(value());
    } else if (arg == "--old-age-days") {
      a.old_age_days = static_cast<unsigned>(std::stoul(value()));
    } else if (arg == "--retention-days") {
      a.retention_days = static_cast<unsigned>(std::stoul(value()));
    } else {
      usage();
    }
  }
  if (a.store.empty() || a.key.empty()) usage();
  return a;
}

Event make_event(std::uint64_t n) {
  Event e;
  e.time = std::chrono::system_clock::now();
  e.appliance_id = "wardgate-ct-vlan";
  e.device = n % 4 == 0 ? "ct-1" : "us-2";
  e.category = "dicom";
  e.action = "operation";
  e.fields.set("session", n / 16);
  e.fields.set("operation", "C-STORE");
  e.fields.set("calling_ae", "CT01");
  e.fields.set("called_ae", "PACS");
  e.fields.set("sop_class_uid", "1.2.840.10008.5.1.4.1.1.2");
  e.fields.set("sop_instance_uid", "1.2.826.0.1.3680043.8.498." + std::to_string(n));
  e.fields.set("study_instance_uid", "1.2.826.0.1.3680043.8.498.1");
  e.fields.set("patient_id", "b2:5f0c1d7e2a9b8c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b");
  e.fields.set("status", 0);
  e.fields.set("bytes", 524288 + n % 1000);
  e.fields.set("n", n);
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  wardgate::store::StoreOptions options;
  options.path = args.store;
  options.signing_key_file = args.key;
  options.appliance_id = "wardgate-ct-vlan";
  options.group_commit = std::chrono::milliseconds(args.group_commit_ms);
  options.checkpoint_every_records = args.checkpoint_every;
  options.min_free_bytes = 0;
  if (args.retention_days > 0) options.retention = std::chrono::hours(24) * args.retention_days;

  // Latency: one producer, so the i-th event recorded is the i-th record after `base`.
  const std::size_t slots = args.events == 0 ? 0 : args.events;
  std::vector<Clock::time_point> recorded_at(slots);
  std::vector<std::uint32_t> latency_us;
  latency_us.reserve(slots);
  std::atomic<std::uint64_t> committed{0};
  std::uint64_t base = 0;
  std::uint64_t measured = 0;  // events whose latency is taken
  std::atomic<std::uint64_t> produced{0};

  // CPU time of the writer thread (it runs on_commit): on a shared machine, events per writer
  // CPU second is what one dedicated core would sustain.
  std::atomic<double> writer_cpu_s{0};
  options.on_commit = [&](std::uint64_t seq) {
    timespec cpu{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    writer_cpu_s.store(static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) / 1e9,
                       std::memory_order_relaxed);
    committed.store(seq, std::memory_order_release);
    if (args.print_commits) {
      std::printf("committed %llu\n", static_cast<unsigned long long>(seq));
      std::fflush(stdout);
    }
    const auto now = Clock::now();
    const std::uint64_t upto = std::min<std::uint64_t>(seq > base ? seq - base : 0,
                                                       produced.load(std::memory_order_acquire));
    for (; measured < upto && measured < slots; ++measured) {
      latency_us.push_back(static_cast<std::uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - recorded_at[measured])
              .count()));
    }
  };

  AuditStore store(options);
  base = store.last_seq();
  const std::uint64_t high_water = options.queue_capacity / 2;
  const auto start = Clock::now();
  for (std::uint64_t i = 0; args.events == 0 || i < args.events; ++i) {
    if (args.rate > 0) {
      const auto due =
          start + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(static_cast<double>(i) / args.rate));
      std::this_thread::sleep_until(due);
    } else {
      while (i - (committed.load(std::memory_order_acquire) - base) > high_water) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }
    Event e = make_event(i);
    if (i < args.old_events) e.time -= std::chrono::hours(24) * args.old_age_days;
    if (i < slots) recorded_at[i] = Clock::now();
    produced.store(i + 1, std::memory_order_release);
    store.record(std::move(e));
  }
  store.flush(std::chrono::minutes(5));
  if (args.retention_days > 0) store.prune_now();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const auto metric = [&store](const char* name) {
    return static_cast<unsigned long long>(store.metrics().value(name).value_or(0));
  };
  std::vector<std::uint32_t> sorted = latency_us;
  std::sort(sorted.begin(), sorted.end());
  const auto pct = [&](double p) -> std::uint32_t {
    if (sorted.empty()) return 0;
    return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(p * sorted.size()))];
  };
  std::printf(
      "{\"events\": %llu, \"seconds\": %.3f, \"events_per_s\": %.0f, \"latency_p50_us\": %u, "
      "\"latency_p99_us\": %u, \"latency_max_us\": %u, \"commits\": %llu, \"records_lost\": %llu, "
      "\"last_seq\": %llu, \"writer_cpu_s\": %.3f}\n",
      static_cast<unsigned long long>(args.events), seconds,
      static_cast<double>(args.events) / seconds, pct(0.5), pct(0.99),
      sorted.empty() ? 0 : sorted.back(), metric("wardgate_audit_store_commits_total"),
      metric("wardgate_audit_store_records_lost_total"),
      metric("wardgate_audit_store_committed_seq"), writer_cpu_s.load());
  return metric("wardgate_audit_store_records_lost_total") == 0 ? 0 : 1;
}
