#!/usr/bin/python3
"""bench_hl7_decoder: records what bench_hl7_decoder (Google Benchmark) measures.

Runs the binary (WARDGATE_BENCH_HL7_DECODER, or build/release/tests/bench/bench_hl7_decoder) with
REPETITIONS repetitions and takes each benchmark's median. The stream is 4096 MLLP-framed ORU^R01
vital-signs messages of about 1 KiB (MSH, PID, PV1, OBR, 8 OBX); the modes are explained at the top
of bench_hl7_decoder.cpp:
  chunked  16 KiB reads, frames cut anywhere (how the relay feeds it)
  whole    the whole stream in one feed() (every frame complete in its chunk)
Target (DESIGN.md): >= 1 M msg/s per core on 1 KiB ORU^R01 (MB = 10^6 bytes).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from benchlib import BenchFailure  # noqa: E402

BENCH = "hl7_decoder"
REPETITIONS = int(os.environ.get("WARDGATE_BENCH_REPETITIONS", "5"))
TARGET = ">= 1000000"
MODES = ["chunked_16k", "whole"]
MESSAGES = 4096  # kMessages in bench_hl7_decoder.cpp


def binary():
    default = benchlib.BUILD / "release" / "tests" / "bench" / "bench_hl7_decoder"
    return Path(os.environ.get("WARDGATE_BENCH_HL7_DECODER", str(default)))


def run():
    machine = benchlib.machine_note()
    exe = binary()
    if not exe.exists():
        raise BenchFailure(f"{exe} not built (target bench_hl7_decoder)")
    results = benchlib.google_benchmark(exe, repetitions=REPETITIONS)
    report = benchlib.Report(BENCH)
    size = 0.0
    for mode in MODES:
        stats = results.get(f"decoder_throughput/{mode}")
        if stats is None:
            continue
        size = stats.get("message_bytes", size)
        note = (f"median of {stats['repetitions']}, {stats['real_time_ms']:.2f} ms per "
                f"{MESSAGES} messages")
        report.add(f"decoder_{mode}_msg_s", round(stats["items_per_second"]), "msg/s", TARGET,
                   note=note)
        report.add(f"decoder_{mode}_mbyte_s", round(stats["bytes_per_second"] / 1e6, 1), "MB/s",
                   note="whole stream, MLLP blocks included")
    if not report.entries:
        raise BenchFailure(f"{exe} reported no decoder_throughput results")
    report.print(notes=[
        machine,
        f"one core; {MESSAGES} ORU^R01 of {size:.0f} bytes on average (MSH, PID, PV1, OBR, 8 OBX), "
        "synthesized in memory; every iteration checks every message's fields, no framing error",
        "chunked: 16 KiB feed() calls, frames cut anywhere; whole: one feed() for the stream",
    ])


if __name__ == "__main__":
    benchlib.main(run)
