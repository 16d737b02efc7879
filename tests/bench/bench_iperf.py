#!/usr/bin/python3
"""bench_iperf: bulk TCP throughput (iperf3) through wardgate vs routed.

`iperf3 -s -p 11112` in the pacs namespace (11112 is an intercepted DICOM port, and iperf3 sends
its control and data connections to the same port), `iperf3 -c` in the ct namespace, 5 s tests,
alternating routed (wardgate not running) and proxied, ROUNDS times each; the best of each counts.
Then one parallel (-P 2) test each way, for information. While a proxied test runs, wardgate's CPU
time is sampled, since on a small machine the relay competes with both iperf3 ends for the cores.
Target (DESIGN.md): proxied >= 0.9 x routed throughput (single stream).
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from benchlib import BenchFailure  # noqa: E402
from labkit import Lab  # noqa: E402

BENCH = "iperf"
LAB = "bniperf"
PORT = 11112
SECONDS = 5
ROUNDS = int(os.environ.get("WARDGATE_BENCH_ROUNDS", "2"))


def machine_busy():
    """(busy, total) jiffies over all CPUs, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def iperf(lab, label, parallel=1):
    """One iperf3 test; returns (Gbit/s received, its JSON)."""
    extra = ["-P", str(parallel)] if parallel > 1 else []
    return benchlib.iperf3(lab, "ct", lab.ip("pacs"), PORT, SECONDS, label, extra)


def routed_test(lab, label, parallel=1):
    tables = lab.run("gw", ["nft", "list", "tables"], check=False).stdout.decode()
    if "wardgate" in tables:
        raise BenchFailure(f"{label}: wardgate's nftables table is still installed; not routed")
    busy0 = machine_busy()
    gbit, doc = iperf(lab, label, parallel)
    busy1 = machine_busy()
    return {"gbit": gbit, "doc": doc, "wardgate_cpu": 0.0, "wardgate_thread": 0.0,
            "machine_busy": (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])}


def proxied_test(lab, label, parallel=1):
    wardgate = lab.start_wardgate(lab.plain_tcp_config())  # iperf3 speaks no DICOM
    try:
        pid = benchlib.wardgate_pid(wardgate)
        closed_before = benchlib.sessions_closed(wardgate)
        cpu0, t0, busy0 = benchlib.proc_cpu_seconds(pid), time.monotonic(), machine_busy()
        threads0 = benchlib.thread_cpu_seconds(pid)
        gbit, doc = iperf(lab, label, parallel)
        cpu1, t1, busy1 = benchlib.proc_cpu_seconds(pid), time.monotonic(), machine_busy()
        threads1 = benchlib.thread_cpu_seconds(pid)
        # Control connection plus one data connection per stream, all through the relay.
        want = closed_before + 1 + parallel
        if not benchlib.wait_until(lambda: benchlib.sessions_closed(wardgate) >= want, timeout=5):
            raise BenchFailure(f"{label}: wardgate logged {benchlib.sessions_closed(wardgate)} "
                               f"relayed sessions, expected {want}; not proxied?\n"
                               f"{wardgate.log()[-2000:]}")
    finally:
        status = wardgate.stop()
        lab.procs.remove(wardgate)
    if status != 0:
        raise BenchFailure(f"{label}: wardgate exited {status}:\n{wardgate.log()[-2000:]}")
    return {"gbit": gbit, "doc": doc, "wardgate_cpu": (cpu1 - cpu0) / (t1 - t0),
            "wardgate_thread": benchlib.busiest_thread_share(threads0, threads1, t1 - t0),
            "machine_busy": (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])}


def describe(test):
    cpu = test["doc"]["end"].get("cpu_utilization_percent", {})
    retr = test["doc"]["end"].get("sum_sent", {}).get("retransmits", "?")
    return (f"{test['gbit']:.2f} Gbit/s, client CPU {cpu.get('host_total', 0):.0f}%, server CPU "
            f"{cpu.get('remote_total', 0):.0f}%, wardgate {100 * test['wardgate_cpu']:.0f}% of a "
            f"core (busiest thread {100 * test['wardgate_thread']:.0f}%), machine "
            f"{100 * test['machine_busy']:.0f}% busy, {retr} retransmits")


def run():
    machine = benchlib.machine_note()
    routed, proxied = [], []
    with Lab(LAB) as lab:
        lab.start("pacs", ["iperf3", "-s", "-p", str(PORT)], ready_port=PORT)
        for i in range(1, ROUNDS + 1):
            routed.append(routed_test(lab, f"routed test {i}"))
            print(f"routed  #{i}: {describe(routed[-1])}", flush=True)
            proxied.append(proxied_test(lab, f"proxied test {i}"))
            print(f"proxied #{i}: {describe(proxied[-1])}", flush=True)
        routed_p2 = routed_test(lab, "routed -P 2 test", parallel=2)
        print(f"routed  -P 2: {describe(routed_p2)}", flush=True)
        proxied_p2 = proxied_test(lab, "proxied -P 2 test", parallel=2)
        print(f"proxied -P 2: {describe(proxied_p2)}", flush=True)

    best_r = max(routed, key=lambda t: t["gbit"])
    best_p = max(proxied, key=lambda t: t["gbit"])
    runs = lambda ts: "runs " + ", ".join(f"{t['gbit']:.2f}" for t in ts)  # noqa: E731
    report = benchlib.Report(BENCH)
    report.add("routed_gbit_s", round(best_r["gbit"], 3), "Gbit/s",
               note=f"best of {len(routed)}; {runs(routed)}")
    report.add("proxied_gbit_s", round(best_p["gbit"], 3), "Gbit/s",
               note=f"best of {len(proxied)}; {runs(proxied)}")
    report.add("proxied_over_routed_throughput", round(best_p["gbit"] / best_r["gbit"], 4),
               "ratio", ">= 0.9", note="single stream")
    report.add("proxied_wardgate_cpu_percent", round(100 * best_p["wardgate_cpu"], 1),
               "% of one core", note="all threads, during the best proxied test")
    report.add("proxied_wardgate_busiest_thread_percent", round(100 * best_p["wardgate_thread"], 1),
               "% of one core", note="one relay thread near 100%: the relay is CPU-bound")
    report.add("routed_p2_gbit_s", round(routed_p2["gbit"], 3), "Gbit/s", note="-P 2, one test")
    report.add("proxied_p2_gbit_s", round(proxied_p2["gbit"], 3), "Gbit/s", note="-P 2, one test")
    report.add("proxied_over_routed_throughput_p2",
               round(proxied_p2["gbit"] / routed_p2["gbit"], 4), "ratio",
               note="-P 2, information only")
    report.print(notes=[machine,
                        f"iperf3 {SECONDS} s tests, ct -> pacs port {PORT}, sum_received; "
                        "the CPUs are shared by both iperf3 ends and wardgate"])


if __name__ == "__main__":
    benchlib.main(run)
