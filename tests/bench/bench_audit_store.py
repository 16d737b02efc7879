#!/usr/bin/python3
"""bench_audit_store: durable audit ingest with the hash chain, and event-to-committed latency.

Runs bench_audit_store (WARDGATE_BENCH_AUDIT_STORE, or build/release/tests/bench/bench_audit_store)
against a fresh store in a temporary directory on the build's file system:
  saturated  EVENTS events as fast as the store commits them (the producer waits while half the
             queue is waiting, so nothing is lost): the sustained durable rate
  paced      RATE events/s for PACED_SECONDS: latency from record() to the commit of the
             transaction holding the event, as an appliance under load sees it
Each event is a DICOM C-STORE operation event of about 480 bytes canonical; every commit is
synchronous=FULL (fsync of the WAL), BLAKE2b-256 chains every record, a checkpoint is signed every
10 000 records. Targets (DESIGN.md, issue 5): >= 200 000 events/s; group commit <= 50 ms.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from benchlib import BenchFailure  # noqa: E402

BENCH = "audit_store"
EVENTS = int(os.environ.get("WARDGATE_BENCH_AUDIT_EVENTS", "1000000"))
RATE = int(os.environ.get("WARDGATE_BENCH_AUDIT_RATE", "50000"))
PACED_SECONDS = 4


def binary():
    default = benchlib.BUILD / "release" / "tests" / "bench" / "bench_audit_store"
    return Path(os.environ.get("WARDGATE_BENCH_AUDIT_STORE", str(default)))


def drive(exe, workdir, name, *args):
    store = Path(workdir) / f"{name}.db"
    run = subprocess.run([str(exe), "--store", str(store), "--key", str(Path(workdir) / "key"),
                          *args], capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        raise BenchFailure(f"{exe} {name}: exit {run.returncode}: {run.stdout}{run.stderr}")
    result = json.loads(run.stdout.strip().splitlines()[-1])
    if result["records_lost"] != 0 or result["last_seq"] < result["events"]:
        raise BenchFailure(f"{name}: records lost: {result}")
    verify = subprocess.run([os.environ.get("WARDGATE_BIN", str(benchlib.BUILD / "release" /
                                                                "wardgate")),
                             "audit", "verify", "--store", str(store)],
                            capture_output=True, text=True, timeout=600)
    if verify.returncode != 0:
        raise BenchFailure(f"{name}: the store does not verify: {verify.stdout}{verify.stderr}")
    return result


def run():
    machine = benchlib.machine_note()
    exe = binary()
    if not exe.exists():
        raise BenchFailure(f"{exe} not built (target bench_audit_store)")
    report = benchlib.Report(BENCH)
    with tempfile.TemporaryDirectory(prefix="bench-audit-", dir=str(benchlib.BUILD)) as workdir:
        sat = drive(exe, workdir, "saturated", "--events", str(EVENTS))
        paced = drive(exe, workdir, "paced", "--events", str(RATE * PACED_SECONDS),
                      "--rate", str(RATE))
    report.add("ingest_events_s", round(sat["events_per_s"]), "events/s", ">= 200000",
               note=f"{EVENTS} events in {sat['seconds']:.2f} s, {sat['commits']} commits")
    report.add("ingest_events_per_writer_cpu_s", round(sat["events"] / sat["writer_cpu_s"]),
               "events/s", ">= 200000",
               note=f"writer thread busy {sat['writer_cpu_s']:.2f} s of {sat['seconds']:.2f} s: "
                    "the rate of one dedicated core")
    report.add("saturated_commit_latency_p99_ms", round(sat["latency_p99_us"] / 1000, 1), "ms",
               note="includes waiting in a queue kept half full on purpose")
    report.add(f"commit_latency_p50_ms_at_{RATE}_s", round(paced["latency_p50_us"] / 1000, 2),
               "ms")
    report.add(f"commit_latency_p99_ms_at_{RATE}_s", round(paced["latency_p99_us"] / 1000, 2),
               "ms", "<= 50", note=f"max {paced['latency_max_us'] / 1000:.1f} ms, "
                                   f"{paced['commits']} commits")
    report.print(notes=[
        machine,
        "one producer thread, one writer thread; synchronous=FULL, WAL, 16 KiB pages; "
        "each store verified with wardgate audit verify afterwards",
    ])


if __name__ == "__main__":
    benchlib.main(run)
