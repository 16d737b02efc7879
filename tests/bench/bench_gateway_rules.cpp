// Driver of the gateway ruleset benchmark (bench_gateway_rules.py): builds the gateway policy for N
// devices (each with two pass-through flows and a published service), renders it and applies it
// REPETITIONS times as one nft transaction each (every apply replaces the table, as a restart
// does), then does the same with the interception-only table of the no-gateway mode. Run it in a
// throw-away network namespace (`unshare -n`): it changes the namespace's nftables.
//
//   bench_gateway_rules [--devices N] [--repetitions R] [--mapped PREFIX] [--print-script]
//
// Prints one JSON line: devices, set_elements, script_bytes, render_ms (median),
// apply_ms_p50/apply_ms_max/apply_cpu_ms_p50 (gateway), tproxy_apply_ms_p50 and
// tproxy_apply_cpu_ms_p50 (reference); CPU = user + system time of this process. --print-script
// prints the gateway script instead and applies nothing.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "nat/gateway_rules.h"
#include "nat/nft_runner.h"
#include "nat/tproxy_rules.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace wardgate::nat;

struct Args {
  int devices = 1000;
  int repetitions = 20;
  std::string mapped;
  bool print_script = false;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: bench_gateway_rules [--devices N] [--repetitions R] "
               "[--mapped PREFIX] [--print-script]\n");
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
    if (arg == "--devices") {
      a.devices = std::atoi(value().c_str());
    } else if (arg == "--repetitions") {
      a.repetitions = std::atoi(value().c_str());
    } else if (arg == "--mapped") {
      a.mapped = value();
    } else if (arg == "--print-script") {
      a.print_script = true;
    } else {
      usage();
    }
  }
  if (a.devices < 1 || a.devices > 4000 || a.repetitions < 1) usage();
  return a;
}

Ipv4Prefix prefix(const char* s) { return *Ipv4Prefix::parse(s); }

// 10.1.0.0/20, devices from 10.1.0.10 on; NTP and DNS per device to the core's servers.
void build(int n, const std::string& mapped, GatewayOptions& g, std::vector<DeviceName>& devices,
           InterceptionOptions& i) {
  i.interfaces = {"vlan0"};
  i.services = {{"dicom", 104, "dicom"}, {"hl7", 2575, "hl7"}};
  g.vlan_prefix = prefix("10.1.0.0/20");
  g.gateway_address = g.vlan_prefix.address + 1;
  g.core_networks = {prefix("10.2.2.0/24")};
  if (!mapped.empty()) g.nat = PrefixMap{g.vlan_prefix, prefix(mapped.c_str())};
  for (int d = 0; d < n; ++d) {
    const std::string name = "d" + std::to_string(d);
    devices.push_back({name,
                       d % 2 == 0 ? "modality" : "monitor",
                       g.vlan_prefix.address + 10 + static_cast<std::uint32_t>(d),
                       {{11113}}});
    g.pass_through.push_back(
        {"ntp-" + name, {name}, {}, FlowProtocol::udp, {123}, {prefix("10.2.2.5/32")}, false});
    g.pass_through.push_back(
        {"dns-" + name, {name}, {}, FlowProtocol::udp, {53}, {prefix("10.2.2.53/32")}, false});
  }
}

double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Times {
  std::vector<double> wall;
  std::vector<double> cpu;  // user + system of this process: libnftables and the kernel's netlink
};

// Applies `script` `repetitions` times; the durations in ms, or exits on failure.
Times apply(const std::string& script, int repetitions, const char* what) {
  Times times;
  for (int r = 0; r < repetitions; ++r) {
    const auto start = Clock::now();
    const double cpu_start = cpu_ms();
    const NftResult result = run_nft_script(script);
    times.cpu.push_back(cpu_ms() - cpu_start);
    times.wall.push_back(ms_since(start));
    if (!result.ok) {
      std::fprintf(stderr, "%s: nft refused the script: %s\n", what, result.error.c_str());
      std::exit(1);
    }
  }
  return times;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  GatewayOptions g;
  std::vector<DeviceName> devices;
  InterceptionOptions interception;
  build(a.devices, a.mapped, g, devices, interception);

  std::vector<double> render_times;
  std::string script;
  GatewayPlan plan;
  for (int r = 0; r < a.repetitions; ++r) {
    const auto start = Clock::now();
    plan = make_gateway_plan(g, devices, interception);
    script = render_gateway_script(plan);
    render_times.push_back(ms_since(start));
  }
  if (a.print_script) {
    std::fputs(script.c_str(), stdout);
    return 0;
  }
  const auto gateway = apply(script, a.repetitions, "gateway");
  const auto tproxy =
      apply(render_install_script(interception.tproxy_rules()), a.repetitions, "interception-only");
  const std::size_t elements =
      plan.devices.size() + plan.published.size() + plan.pass_through.size() + plan.echo.size();
  std::printf(
      "{\"devices\": %d, \"set_elements\": %zu, \"script_bytes\": %zu, \"render_ms\": %.3f, "
      "\"apply_ms_p50\": %.3f, \"apply_ms_max\": %.3f, \"apply_cpu_ms_p50\": %.3f, "
      "\"tproxy_apply_ms_p50\": %.3f, \"tproxy_apply_cpu_ms_p50\": %.3f, \"repetitions\": %d}\n",
      a.devices, elements, script.size(), median(render_times), median(gateway.wall),
      *std::max_element(gateway.wall.begin(), gateway.wall.end()), median(gateway.cpu),
      median(tproxy.wall), median(tproxy.cpu), a.repetitions);
  return 0;
}
