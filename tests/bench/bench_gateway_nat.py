#!/usr/bin/python3
"""bench_gateway_nat: pass-through throughput (iperf3) with the gateway's 1:1 NAT vs without.

wardgate runs with a gateway section whose pass-through flow lets the CT reach `iperf3 -s` on
the PACS at port 5201 (not an intercepted port: forwarded by the kernel, not proxied). Alternating,
ROUNDS times each: the same ruleset without `nat` (the PACS sees the CT's own address) and with
`nat.mapped_prefix` (the PACS sees the mapped address; snat/dnat prefix maps and conntrack in the
path). The best of each counts; each test checks where the PACS saw the connection come from.
Target (issue 12): NAT >= 0.95 x without NAT.
"""

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from benchlib import BenchFailure  # noqa: E402
from labkit import Lab  # noqa: E402

BENCH = "gateway_nat"
LAB = "bngwnat"
PORT = 5201
SECONDS = 5
ROUNDS = int(os.environ.get("WARDGATE_BENCH_ROUNDS", "3"))
MAPPED = "10.250.9"


def config(lab, mapped):
    c = lab.wardgate_config(gateway={
        "vlan_prefix": f"{lab.vlan_net}.0/24", "gateway_address": f"{lab.vlan_net}.1",
        "core_networks": [f"{lab.core_net}.0/24"],
        "pass_through": [{"name": "iperf", "devices": ["ct"], "protocol": "tcp",
                          "ports": [PORT], "destinations": [f"{lab.core_net}.0/24"]}]})
    if mapped:
        c["nat"] = {"mapped_prefix": f"{MAPPED}.0/24"}
    return c


def test(lab, server, label, mapped):
    wardgate = lab.start_wardgate(config(lab, mapped))
    try:
        seen_before = len(accepted_from(server))
        gbit, _ = benchlib.iperf3(lab, "ct", lab.ip("pacs"), PORT, SECONDS, label)
        sources = accepted_from(server)[seen_before:]
    finally:
        status = wardgate.stop()
        lab.procs.remove(wardgate)
        # The policy stays after wardgate stops (fail closed); the next run installs its own.
    if status != 0:
        raise BenchFailure(f"{label}: wardgate exited {status}:\n{wardgate.log()[-2000:]}")
    want = f"{MAPPED}.20" if mapped else lab.ip("ct")
    if not sources or any(s != want for s in sources):
        raise BenchFailure(f"{label}: the PACS saw connections from {sources}, expected {want}")
    return gbit


def accepted_from(server):
    return re.findall(r"Accepted connection from ([0-9.]+)", server.log())


def run():
    machine = benchlib.machine_note()
    plain, nat = [], []
    with Lab(LAB) as lab:
        server = lab.start("pacs", ["iperf3", "-s", "-p", str(PORT), "--forceflush"],
                            ready_port=PORT)
        for i in range(1, ROUNDS + 1):
            plain.append(test(lab, server, f"without NAT {i}", mapped=False))
            nat.append(test(lab, server, f"with NAT {i}", mapped=True))
            print(f"round {i}: without NAT {plain[-1]:.2f} Gbit/s, with NAT {nat[-1]:.2f} Gbit/s",
                  flush=True)
    best_plain, best_nat = max(plain), max(nat)
    runs = lambda xs: "runs " + ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    report = benchlib.Report(BENCH)
    report.add("pass_through_gbit_s", round(best_plain, 3), "Gbit/s",
               note=f"best of {len(plain)}; {runs(plain)}")
    report.add("pass_through_nat_gbit_s", round(best_nat, 3), "Gbit/s",
               note=f"best of {len(nat)}; {runs(nat)}")
    report.add("nat_over_plain_throughput", round(best_nat / best_plain, 4), "ratio", ">= 0.95")
    report.print(notes=[machine, f"iperf3 {SECONDS} s, ct -> pacs:{PORT}, forwarded by the "
                                 "gateway's ruleset (not proxied)"])


if __name__ == "__main__":
    benchlib.main(run)
