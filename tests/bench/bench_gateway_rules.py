#!/usr/bin/python3
"""bench_gateway_rules: applying the gateway's forwarding policy for 1 000 devices.

Runs bench_gateway_rules (WARDGATE_BENCH_GATEWAY_RULES, or build/release/tests/bench/
bench_gateway_rules) in a throw-away network namespace (unshare -n, root): 1 000 devices, each
with two pass-through flows (NTP, DNS) and a published service, 1:1 NAT to a mapped prefix. The
ruleset is rendered, then applied REPETITIONS times as one nft transaction each (every apply
replaces the table, as a restart does). The reference is today's interception-only table
(`table ip`, one TPROXY rule), applied the same way in the same run.
Target (issue 12): applying the rules for 1 000 devices < 100 ms.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from benchlib import BenchFailure  # noqa: E402

BENCH = "gateway_rules"
DEVICES = int(os.environ.get("WARDGATE_BENCH_GATEWAY_DEVICES", "1000"))
REPETITIONS = int(os.environ.get("WARDGATE_BENCH_REPETITIONS", "20"))


def binary():
    default = benchlib.BUILD / "release" / "tests" / "bench" / "bench_gateway_rules"
    return Path(os.environ.get("WARDGATE_BENCH_GATEWAY_RULES", str(default)))


def run():
    machine = benchlib.machine_note()
    exe = binary()
    if not exe.exists():
        raise BenchFailure(f"{exe} not built (target bench_gateway_rules)")
    argv = ["unshare", "-n", str(exe), "--devices", str(DEVICES), "--repetitions",
            str(REPETITIONS), "--mapped", "10.250.0.0/20"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise BenchFailure(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr[-2000:]}")
    r = json.loads(done.stdout.strip().splitlines()[-1])
    report = benchlib.Report(BENCH)
    report.add(f"apply_ms_{DEVICES}_devices", round(r["apply_ms_p50"], 1), "ms", "< 100",
               note=f"median of {r['repetitions']}, max {r['apply_ms_max']:.1f} ms; one "
                    f"transaction, {r['set_elements']} set elements, {r['script_bytes']} bytes")
    report.add(f"apply_cpu_ms_{DEVICES}_devices", round(r["apply_cpu_ms_p50"], 1), "ms", "< 100",
               note="user + system time of the applying process (libnftables and netlink)")
    report.add("render_ms", round(r["render_ms"], 2), "ms",
               note="plan and script from the configuration")
    report.add("reference_interception_only_apply_ms", round(r["tproxy_apply_ms_p50"], 1), "ms",
               note=f"today's table ip, one TPROXY rule; CPU {r['tproxy_apply_cpu_ms_p50']:.1f} ms")
    report.print(notes=[
        machine,
        "wall time includes waiting for a CPU on a loaded machine; the CPU figure does not",
    ])


if __name__ == "__main__":
    benchlib.main(run)
