#!/usr/bin/python3
"""bench_dicom_decoder: records what bench_dicom_decoder (Google Benchmark) measures.

Runs the binary (WARDGATE_BENCH_DECODER, or build/release/tests/bench/bench_dicom_decoder) with
REPETITIONS repetitions and takes each benchmark's median. The stream is one C-STORE association
of 200 x 512 KiB CT images; the modes are explained at the top of bench_dicom_decoder.cpp:
  fed    every byte fed (64 KiB chunks)
  skip   the relay's zero-copy loop: feed a chunk, skip() while skippable() > 0 (how wardgate runs)
  ideal  only PDU/PDV headers, command sets and peek prefixes fed (the floor)
Target (DESIGN.md): >= 5 GB/s per core on P-DATA streams (GB = 10^9 bytes).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from benchlib import BenchFailure  # noqa: E402

BENCH = "dicom_decoder"
REPETITIONS = int(os.environ.get("WARDGATE_BENCH_REPETITIONS", "5"))
TARGET = ">= 5"
# Benchmark name (decoder_throughput/<mode>_<pdu>) -> metric mode, PDU label.
MODES = {"fed": "fed", "relay": "skip", "ideal": "ideal"}
PDUS = {"pdu16k": "16 KiB", "pdu1m": "1 MiB"}


def binary():
    default = benchlib.BUILD / "release" / "tests" / "bench" / "bench_dicom_decoder"
    return Path(os.environ.get("WARDGATE_BENCH_DECODER", str(default)))


def run():
    machine = benchlib.machine_note()
    exe = binary()
    if not exe.exists():
        raise BenchFailure(f"{exe} not built (target bench_dicom_decoder)")
    results = benchlib.google_benchmark(exe, repetitions=REPETITIONS)
    report = benchlib.Report(BENCH)
    runs = {}
    for name, stats in results.items():
        mode, _, pdu = name.partition("/")[2].partition("_")
        if mode in MODES and pdu in PDUS:
            runs[(list(PDUS).index(pdu), list(MODES).index(mode))] = (mode, pdu, stats)
    for _, (mode, pdu, stats) in sorted(runs.items()):
        metric = MODES[mode]
        gbyte_s = stats["bytes_per_second"] / 1e9
        fed = stats.get("fed_fraction", 1.0)
        note = (f"max PDU {PDUS[pdu]}; {fed:.1%} of the bytes fed; median of "
                f"{stats['repetitions']}, {stats['real_time_ms']:.2f} ms per association")
        report.add(f"decoder_{metric}_gbyte_s_{pdu}", round(gbyte_s, 2), "GB/s",
                   TARGET if metric != "ideal" else benchlib.NO_TARGET, note=note)
        report.add(f"decoder_{metric}_msg_s_{pdu}", round(stats["items_per_second"]), "msg/s",
                   note="C-STORE messages (RQ + 512 KiB data set + RSP) per second")
    if not report.entries:
        raise BenchFailure(f"{exe} reported no decoder_throughput results")
    report.print(notes=[
        machine,
        "one core; the stream (~100 MiB, one association of 200 CT images) is synthesized in "
        "memory; every iteration checks 200 C-STORE-RQ/RSP, 200 identified data sets, no "
        "violation",
        "fed: every byte fed in 64 KiB chunks; skip: relay.cpp's zero-copy loop (64 KiB reads "
        "fed whole, then skip() while skippable() > 0); ideal: only what the decoder must see",
    ])


if __name__ == "__main__":
    benchlib.main(run)
