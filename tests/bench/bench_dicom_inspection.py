#!/usr/bin/python3
"""bench_dicom_inspection: what DICOM inspection costs the proxy on the C-STORE workload.

The same study as bench_dicom_store (200 x 512 x 512 CT images, ~100 MiB, one stock storescu
association to `storescp -dhl`), sent three ways in one run: ROUNDS rounds, each of one routed
run and PAIRS inspected/uninspected pairs (their order alternating), medians over all runs:
  routed       wardgate not running (the gw namespace only forwards)
  inspected    through wardgate with the lab's configuration: port 104 is "protocol": "dicom"
               (decoder, audit events, device policy)
  uninspected  through wardgate with port 104 overridden to "protocol": "tcp" (byte counting)
Every wardgate is started for one timed association, after an untimed C-ECHO (warm-up: DCMTK loads
its data dictionary on first use). Each run must deliver all 200 files; each inspected run must log 200 successful C-STORE
"operation" audit events (JSON lines on wardgate's stderr) for device "ct" (the lab's devices are
moved to the lab's addresses, so the device policy runs too), each uninspected run no DICOM event.
Targets: inspected throughput >= 0.95 x uninspected; inspected time <= 0.1 x routed (DESIGN.md).
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from bench_dicom_store import IMAGES, COLS, ROWS, ensure_study, routed_run, send_study  # noqa: E402
from benchlib import BenchFailure  # noqa: E402
from labkit import Lab  # noqa: E402

BENCH = "dicom_inspection"
LAB = "bninspect"
ROUNDS = int(os.environ.get("WARDGATE_BENCH_ROUNDS", "3"))
# A proxied association takes ~0.35 s and varies by +-20 % on a shared machine: each round runs
# this many inspected/uninspected pairs for one (10 s) routed run.
PAIRS = int(os.environ.get("WARDGATE_BENCH_PAIRS", "3"))
DICOM_PORT = 104


def audit_events(log):
    """The audit events (JSON lines starting with '{') in a wardgate log."""
    events = []
    for line in log.splitlines():
        if not line.startswith("{"):
            continue
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


def configs(lab):
    """(inspected, uninspected) configurations: the lab's, with the lab's own addresses for the
    devices (so the policy checks run as on a real VLAN) and an audit secret of its own."""
    base = lab.wardgate_config()  # devices already placed at this lab's addresses
    if not any(d.get("address") == lab.ip("ct") for d in base.get("devices", [])):
        raise BenchFailure("lab/wardgate.json has no device at the lab's CT address")
    inspected = base
    services = base["interception"]["services"]
    if not any(s["port"] == DICOM_PORT and s.get("protocol") == "dicom" for s in services):
        raise BenchFailure(f"lab/wardgate.json does not inspect port {DICOM_PORT} as DICOM")
    tcp_services = [{**s, "protocol": "tcp"} if s["port"] == DICOM_PORT else s for s in services]
    uninspected = lab.wardgate_config(interception={"services": tcp_services})
    return inspected, uninspected


def check_inspected(events, label):
    stores = [e for e in events if e.get("action") == "operation"
              and e.get("fields", {}).get("command") == "C-STORE"]
    ok = [e for e in stores if e["fields"].get("status_class") == "success"]
    instances = {e["fields"].get("sop_instance_uid") for e in ok}
    if len(stores) != IMAGES or len(ok) != IMAGES or len(instances) != IMAGES:
        raise BenchFailure(f"{label}: {len(stores)} C-STORE operation events, {len(ok)} "
                           f"successful, {len(instances)} distinct instances; expected {IMAGES}")
    strangers = {e.get("device") for e in ok} - {"ct"}
    if strangers:
        raise BenchFailure(f"{label}: C-STORE events for device(s) {sorted(strangers)}, not 'ct': "
                           f"the device registry did not know the lab's CT")
    violations = [e for e in events if e.get("action") == "protocol-violation"]
    if violations:
        raise BenchFailure(f"{label}: protocol violation reported: {violations[0]}")


def check_uninspected(events, label):
    dicom = [e for e in events if e.get("category") == "dicom"]
    if dicom:
        raise BenchFailure(f"{label}: port {DICOM_PORT} as 'tcp' still produced {len(dicom)} DICOM "
                           f"events (first: {dicom[0].get('action')}); inspection was not off")


def proxied_run(lab, config, files, out_dir, label, inspected):
    """One timed association through a fresh wardgate (after an untimed C-ECHO association);
    returns (wall time, wardgate CPU seconds during the timed association)."""
    wardgate = lab.start_wardgate(config)
    try:
        pid = benchlib.wardgate_pid(wardgate)
        # Untimed warm-up: the first DICOM association of a wardgate process loads DCMTK's data
        # dictionary (~8 ms here); the figures are for a running appliance.
        echo = lab.run("ct", ["echoscu", "-aet", "CT01", "-aec", "PACS", lab.ip("pacs"),
                              str(DICOM_PORT)], timeout=30, check=False)
        if echo.returncode != 0 or not benchlib.wait_until(
                lambda: benchlib.sessions_closed(wardgate) >= 1, timeout=5):
            raise BenchFailure(f"{label}: warm-up C-ECHO failed ({echo.returncode}):\n"
                               f"{echo.stderr.decode(errors='replace')[-1000:]}\n"
                               f"{wardgate.log()[-2000:]}")
        cpu_before = benchlib.proc_cpu_seconds_precise(pid)
        elapsed = send_study(lab, files, out_dir, label)
        if not benchlib.wait_until(lambda: benchlib.sessions_closed(wardgate) >= 2, timeout=5):
            raise BenchFailure(f"{label}: wardgate logged no relayed session; not proxied:\n"
                               f"{wardgate.log()[-2000:]}")
        cpu = benchlib.proc_cpu_seconds_precise(pid) - cpu_before
    finally:
        status = wardgate.stop()
        lab.procs.remove(wardgate)
    if status != 0:
        raise BenchFailure(f"{label}: wardgate exited {status}:\n{wardgate.log()[-2000:]}")
    events = audit_events(wardgate.log())
    (check_inspected if inspected else check_uninspected)(events, label)
    return elapsed, cpu


def run():
    machine = benchlib.machine_note()
    files = ensure_study()
    total_mib = sum(p.stat().st_size for p in files) / (1 << 20)
    times = {"routed": [], "inspected": [], "uninspected": []}
    cpu = {"inspected": [], "uninspected": []}
    pairs = []  # uninspected / inspected time of each pair run back to back
    with Lab(LAB) as lab:
        inspected_config, uninspected_config = configs(lab)
        out_dir = lab.workdir / "pacs-in"
        out_dir.mkdir()
        lab.start("pacs", ["storescp", "-dhl", "-aet", "PACS", "-od", out_dir, str(DICOM_PORT)],
                  ready_port=DICOM_PORT)
        for i in range(1, ROUNDS + 1):
            times["routed"].append(routed_run(lab, files, out_dir, f"routed run {i}"))
            for j in range(1, PAIRS + 1):
                # The two proxied modes swap places each pair, so drift touches both alike.
                first = "inspected" if (i * PAIRS + j) % 2 else "uninspected"
                for mode in (first, "uninspected" if first == "inspected" else "inspected"):
                    config = inspected_config if mode == "inspected" else uninspected_config
                    t, c = proxied_run(lab, config, files, out_dir, f"{mode} run {i}.{j}",
                                       mode == "inspected")
                    times[mode].append(t)
                    cpu[mode].append(c)
                pairs.append(benchlib.ratio(times["uninspected"][-1], times["inspected"][-1]))
                print(f"round {i}.{j}: routed {times['routed'][-1]:.3f} s, inspected "
                      f"{times['inspected'][-1]:.3f} s, uninspected "
                      f"{times['uninspected'][-1]:.3f} s (wardgate CPU "
                      f"{cpu['inspected'][-1]:.2f} s inspected, "
                      f"{cpu['uninspected'][-1]:.2f} s uninspected)", flush=True)

    med = {m: benchlib.median(v) for m, v in times.items()}
    report = benchlib.Report(BENCH)
    runs = lambda xs: "runs " + ", ".join(f"{x:.3f}" for x in xs)  # noqa: E731
    for mode in times:
        report.add(f"{mode}_time_s", round(med[mode], 4), "s",
                   note=f"median of {len(times[mode])}; {runs(times[mode])}")
    for mode in cpu:
        report.add(f"{mode}_wardgate_cpu_s", round(benchlib.median(cpu[mode]), 3), "s",
                   note=f"wardgate user+system CPU per association; {runs(cpu[mode])}")
    report.add("inspected_over_uninspected_throughput",
               round(benchlib.ratio(med["uninspected"], med["inspected"]), 4), "ratio", ">= 0.95",
               note="uninspected time / inspected time (medians); paired runs: median "
               f"{benchlib.median(pairs):.3f}, range {min(pairs):.3f}-{max(pairs):.3f}")
    report.add("inspected_over_routed_time",
               round(benchlib.ratio(med["inspected"], med["routed"]), 4), "ratio", "<= 0.1")
    report.print(notes=[machine,
                        f"{IMAGES} x {ROWS}x{COLS} CT images, {total_mib:.1f} MiB, one storescu "
                        f"association per run, all {IMAGES} files verified at the PACS each run; "
                        f"each inspected run logged {IMAGES} successful C-STORE operation events, "
                        f"each uninspected run no DICOM event"])


if __name__ == "__main__":
    benchlib.main(run)
