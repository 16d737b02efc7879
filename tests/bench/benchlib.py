"""benchlib: what every wardgate benchmark shares.

Each figure is appended as one JSON object to build/bench-results.jsonl (or the file named by
WARDGATE_BENCH_RESULTS), with exactly the keys bench, metric, value, unit and target:

    {"bench": "dicom_store", "metric": "proxied_over_routed_time", "value": 0.04,
     "unit": "ratio", "target": "<= 0.1"}

A benchmark never fails because of a number; it fails (exit 1, via BenchFailure) only when its
workload failed: files missing, a peer that exited with an error, traffic that was not proxied.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import labkit

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build"
NO_TARGET = "n/a"


class BenchFailure(Exception):
    """The workload itself failed: the benchmark's numbers mean nothing."""


def results_path():
    return Path(os.environ.get("WARDGATE_BENCH_RESULTS", str(BUILD / "bench-results.jsonl")))


def record(bench, metric, value, unit, target=NO_TARGET):
    """Appends one figure; target is a string such as "<= 0.1", or "n/a" for information only."""
    entry = {"bench": str(bench), "metric": str(metric), "value": value, "unit": str(unit),
             "target": str(target)}
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")
    return entry


def meets(value, target):
    """"yes"/"NO" for targets of the form "<= x", ">= x", "< x", "> x"; "" when there is none."""
    parts = str(target).split()
    if len(parts) != 2 or not isinstance(value, (int, float)):
        return ""
    op, raw = parts
    try:
        limit = float(raw)
    except ValueError:
        return ""
    ok = {"<=": value <= limit, ">=": value >= limit,
          "<": value < limit, ">": value > limit}.get(op)
    if ok is None:
        return ""
    return "yes" if ok else "NO"


def fmt(value):
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:.1f}"
        if abs(value) >= 1:
            return f"{value:.3f}"
        return f"{value:.4g}"
    return str(value)


def print_table(title, entries, notes=()):
    """Prints entries (dicts as returned by record, optionally with a "note") as a table."""
    header = ("metric", "value", "unit", "target", "met", "note")
    rows = [(e["metric"], fmt(e["value"]), e["unit"], e["target"], meets(e["value"], e["target"]),
             e.get("note", "")) for e in entries]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    line = "  ".join("{:<%d}" % w for w in widths)
    out = [f"== {title} ==", line.format(*header), line.format(*("-" * w for w in widths))]
    out += [line.format(*r) for r in rows]
    out += [f"  {n}" for n in notes]
    print("\n".join(o.rstrip() for o in out), flush=True)


class Report:
    """Collects the figures of one benchmark: records each at once, prints them together."""

    def __init__(self, bench):
        self.bench = bench
        self.entries = []

    def add(self, metric, value, unit, target=NO_TARGET, note=""):
        entry = record(self.bench, metric, value, unit, target)
        self.entries.append({**entry, "note": note})
        return entry

    def print(self, notes=()):
        print_table(self.bench, self.entries, notes)


def median(values):
    return statistics.median(values)


def ratio(numerator, denominator):
    return numerator / denominator if denominator else float("nan")


# -- iperf3 ------------------------------------------------------------------------------------
def iperf3(lab, role, server, port, seconds, label, extra=()):
    """One iperf3 client test from the role's namespace to server:port (-J); returns (Gbit/s
    received, its JSON). A test that failed or moved nothing is a BenchFailure."""
    argv = ["iperf3", "-c", server, "-p", str(port), "-t", str(seconds), "-J", *extra]
    result = lab.run(role, argv, timeout=seconds + 60, check=False)
    try:
        doc = json.loads(result.stdout.decode(errors="replace"))
    except json.JSONDecodeError:
        doc = {}
    if result.returncode != 0 or "error" in doc or "end" not in doc:
        raise BenchFailure(f"{label}: iperf3 exited {result.returncode}: "
                           f"{doc.get('error') or result.stderr.decode(errors='replace')[-2000:]}")
    bps = doc["end"]["sum_received"]["bits_per_second"]
    if bps <= 0:
        raise BenchFailure(f"{label}: iperf3 reports no data received")
    return bps / 1e9, doc


# -- Google Benchmark binaries ------------------------------------------------------------------
_TIME_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def google_benchmark(exe, repetitions=3, extra_args=(), timeout=600):
    """Runs a Google Benchmark binary; returns {run name: its median aggregate} where each value
    has the benchmark's counters (bytes_per_second, items_per_second, user counters), plus
    real_time_ms, cpu_time_ms and repetitions. A benchmark that reported an error (SkipWithError)
    or a binary that failed is a BenchFailure."""
    argv = [str(exe), "--benchmark_format=json", f"--benchmark_repetitions={repetitions}",
            "--benchmark_report_aggregates_only=true", *extra_args]
    result = subprocess.run(argv, capture_output=True, timeout=timeout)
    if result.returncode != 0:
        raise BenchFailure(f"{exe} exited {result.returncode}:\n"
                           f"{result.stderr.decode(errors='replace')[-2000:]}")
    try:
        report = json.loads(result.stdout)
    except ValueError as e:
        raise BenchFailure(f"{exe}: no JSON report ({e})") from e
    out = {}
    for b in report.get("benchmarks", []):
        name = b.get("run_name", b.get("name", "?"))
        if b.get("error_occurred"):
            raise BenchFailure(f"{name}: {b.get('error_message', 'error')}")
        if b.get("aggregate_name", "median") != "median" and repetitions > 1:
            continue
        scale = _TIME_UNIT_MS.get(b.get("time_unit", "ns"), 1e-6)
        stats = {k: v for k, v in b.items() if isinstance(v, (int, float))}
        stats["real_time_ms"] = b["real_time"] * scale
        stats["cpu_time_ms"] = b["cpu_time"] * scale
        stats["repetitions"] = b.get("repetitions", repetitions)
        out[name] = stats
    return out


# -- process measurements ------------------------------------------------------------------------
def proc_comm(pid):
    return Path(f"/proc/{pid}/comm").read_text().strip()


def proc_status_kib(pid, field="VmRSS"):
    """A kB field of /proc/PID/status (VmRSS, RssAnon, VmHWM, ...)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise BenchFailure(f"/proc/{pid}/status has no {field}")


def _stat_cpu_seconds(stat_path):
    stat = Path(stat_path).read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid):
    """User + system CPU time of all of the process's threads."""
    return _stat_cpu_seconds(f"/proc/{pid}/stat")


def proc_cpu_seconds_precise(pid):
    """CPU time of the process's current threads from /proc/PID/task/*/schedstat (nanoseconds,
    where /proc/PID/stat counts 10 ms ticks); threads that already exited are not counted."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            pass
    return total / 1e9


def thread_cpu_seconds(pid):
    """{thread id: user + system CPU seconds} for each of the process's threads."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[task.name] = _stat_cpu_seconds(task / "stat")
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def busiest_thread_share(before, after, seconds):
    """The largest per-thread CPU share (1.0 = one full core) between two thread_cpu_seconds."""
    deltas = [after[t] - before.get(t, 0.0) for t in after]
    return max(deltas, default=0.0) / seconds if seconds > 0 else 0.0


def wardgate_pid(proc):
    """The PID of the wardgate process a Lab started (ip netns exec execs, so it is the Popen's)."""
    comm = proc_comm(proc.pid)
    if comm != "wardgate":
        raise BenchFailure(f"PID {proc.pid} is {comm!r}, not wardgate")
    return proc.pid


def sessions_closed(wardgate_proc):
    """How many relay sessions wardgate has logged as closed so far."""
    return wardgate_proc.log().count(" closed after ")


def machine_note():
    """The machine's state, for the notes under a table: numbers from a busy machine are noisy."""
    load = Path("/proc/loadavg").read_text().split()[:3]
    return f"{os.cpu_count()} CPUs, load average {' '.join(load)} when the benchmark started"


# Polling with a deadline: the same helper the integration tests use.
wait_until = labkit.wait_for


def main(run):
    """Runs a benchmark's run() and turns its outcome into the exit status ctest sees."""
    try:
        run()
    except BenchFailure as e:
        print(f"BENCH FAILED (workload): {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    sys.exit(0)
