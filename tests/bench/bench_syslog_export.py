#!/usr/bin/python3
"""bench_syslog_export: audit export over mutual TLS to a real rsyslog, and backlog drain.

rsyslogd (started here, loopback, its own configuration: ossl driver, x509/name client
authentication, omfile with the raw message) receives the syslog_export_driver's synthetic
~1 KiB RFC 5424 records (canonical JSON plus structured data) over one TLS 1.3 connection.

- export_rate: COUNT records available at once; records per second from the driver's start to
  the cursor reaching COUNT, i.e. carried (TCP-acknowledged, plus the exporter's 0.5 s
  confirmation delay) - the rate at which the audit trail becomes safe at the collector.
- collector_file_rate: the same run measured at rsyslog's output file (every line there).
- drain_rate: the collector is down while BACKLOG records accumulate (the exporter retries
  with capped backoff), then started; records per second from the exporter's reconnection to
  the cursor reaching BACKLOG (outage_recovery_time: from the collector's start, backoff
  included).
- The collector is tuned (syslog_lab.Collector.TUNING: main queue batches, buffered omfile);
  untuned rsyslog 8.2302 on this 2-CPU machine takes ~33 k/s and is then the bottleneck.
- exporter_cpu_per_event / collector_cpu_per_event: CPU time of each process over the export
  run, per record: which side limits the rate on a machine whose cores are shared.
Every run checks that all records arrived in order (a failed workload fails the benchmark).
Target (DESIGN.md): >= 50 k events/s.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from benchlib import BenchFailure  # noqa: E402
import syslog_lab as L  # noqa: E402

BENCH = "syslog_export"
COUNT = 300_000
BACKLOG = 200_000


def lines_in(collector):
    path = collector.dir / "tls.log"
    if not path.exists():
        return 0
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def check_complete(collector, count, what):
    time.sleep(1.0)
    lines = L.parse_lines(collector.output("tls"))
    missing, out_of_order, _ = L.sequence_report([l[0] for l in lines], count)
    if missing or out_of_order:
        raise BenchFailure(f"{what}: {len(missing)} missing, {out_of_order} out of order")


def run():
    report = benchlib.Report(BENCH)
    tmp, pki, collector, tls = L.make_lab(tuned=True)
    drivers = []
    try:
        collector.start()
        d = L.Driver(tmp, "rate")
        drivers.append(d)
        start = time.monotonic()
        d.start("tls", collector.tls_port, COUNT, tls=tls)
        file_done = None
        deadline = start + 300
        while time.monotonic() < deadline:
            if file_done is None and lines_in(collector) >= COUNT:
                file_done = time.monotonic() - start
            if d.status().get("cursor", 0) >= COUNT and file_done is not None:
                break
            time.sleep(0.05)
        status = d.status()
        if status.get("cursor", 0) < COUNT or file_done is None:
            raise BenchFailure(f"export did not finish: {status}")
        carried = status["done_after_s"]
        # Who spent the CPU: the driver (synthetic records, formatting, TLS) and the collector.
        driver_cpu = benchlib.proc_cpu_seconds(d.proc.pid)
        collector_cpu = benchlib.proc_cpu_seconds(collector.proc.pid)
        d.stop()
        check_complete(collector, COUNT, "export")
        report.add("export_rate", round(COUNT / carried), "events/s", ">= 50000",
                   f"{COUNT} records carried in {carried:.2f} s (incl. 0.5 s confirmation)")
        report.add("collector_file_rate", round(COUNT / file_done), "events/s", ">= 50000",
                   f"all {COUNT} in rsyslog's file after {file_done:.2f} s")
        report.add("exporter_cpu_per_event", round(driver_cpu / COUNT * 1e6, 2), "us", "n/a",
                   "driver process: record synthesis + to_json + RFC 5424 + TLS, one thread")
        report.add("collector_cpu_per_event", round(collector_cpu / COUNT * 1e6, 2), "us", "n/a",
                   "rsyslogd: TLS, parsing, omfile")

        # Backlog drain: a fresh collector output, the collector down while the backlog builds.
        collector.stop()
        (collector.dir / "tls.log").unlink()
        d2 = L.Driver(tmp, "drain")
        drivers.append(d2)
        d2.start("tls", collector.tls_port, BACKLOG, tls=tls)
        if not benchlib.wait_until(lambda: d2.status().get("backlog", 0) >= BACKLOG, 30):
            raise BenchFailure(f"backlog did not build: {d2.status()}")
        time.sleep(2.5)  # a few failed attempts: the exporter is in backoff, as after an outage
        up = time.monotonic()
        collector.start()
        connected = None
        deadline = up + 300
        while time.monotonic() < deadline:
            st = d2.status()
            if connected is None and st.get("connected"):
                connected = time.monotonic()
            if st.get("cursor", 0) >= BACKLOG:
                break
            time.sleep(0.02)
        done = time.monotonic()
        status = d2.status()
        if status.get("cursor", 0) < BACKLOG or connected is None:
            raise BenchFailure(f"backlog not drained: {status}")
        d2.stop()
        check_complete(collector, BACKLOG, "drain")
        report.add("drain_rate", round(BACKLOG / (done - connected)), "events/s", ">= 50000",
                   f"{BACKLOG} backlog from the reconnection to the cursor's end, "
                   f"{done - connected:.2f} s (incl. 0.5 s confirmation)")
        report.add("outage_recovery_time", round(done - up, 2), "s", "n/a",
                   f"collector start to backlog carried, incl. the exporter's backoff (<= 2 s "
                   f"in the driver); failures while down: {status.get('failures')}")
        report.print([benchlib.machine_note(), "rsyslog 8.2302 (ossl), TLS 1.3, loopback"])
    finally:
        for d in drivers:
            d.stop()
        collector.stop()


if __name__ == "__main__":
    benchlib.main(run)
