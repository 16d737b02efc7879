#!/usr/bin/python3
"""bench_dicom_store: 200 x 512 x 512 CT images (~100 MiB) with stock DCMTK, routed vs proxied.

storescu in the ct namespace sends the whole study in one association to `storescp -dhl` in the
pacs namespace, first over the routed path (wardgate not running: the gw namespace only forwards),
then through wardgate, alternating, ROUNDS times each. Debian's DCMTK never sets TCP_NODELAY, so
the routed path stalls on Nagle plus delayed ACK for every C-STORE; wardgate's split TCP does not.
Target (DESIGN.md): proxied time <= 0.1 x routed time, also with the gateway section on (issue 12:
the forwarding policy in the path). Each run must deliver all 200 files.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from benchlib import BenchFailure  # noqa: E402
from labkit import Lab  # noqa: E402

BENCH = "dicom_store"
LAB = "bnstore"
IMAGES = 200
ROWS = COLS = 512
ROUNDS = int(os.environ.get("WARDGATE_BENCH_ROUNDS", "3"))
STUDY = benchlib.BUILD / "bench-data" / f"ct{IMAGES}"
MAKE_STUDY = benchlib.REPO / "tests" / "tools" / "make-ct-study"
PIXEL_BYTES = ROWS * COLS * 2
STORESCU_TIMEOUT = 120  # a routed run takes ~10 s


def study_files(directory):
    return sorted(p for p in directory.glob("ct*.dcm") if p.is_file())


def study_is_complete(directory):
    files = study_files(directory)
    if len(files) != IMAGES:
        return False
    return all(p.stat().st_size > PIXEL_BYTES for p in files)


def ensure_study():
    """The reference study, generated once into build/bench-data and reused by later runs."""
    if study_is_complete(STUDY):
        return study_files(STUDY)
    partial = STUDY.with_name(STUDY.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    started = time.monotonic()
    subprocess.run([str(MAKE_STUDY), str(partial), str(IMAGES), str(ROWS), str(COLS)], check=True,
                   timeout=600, stdout=subprocess.DEVNULL)
    if not study_is_complete(partial):
        raise BenchFailure(f"make-ct-study did not produce {IMAGES} images in {partial}")
    shutil.rmtree(STUDY, ignore_errors=True)
    partial.rename(STUDY)  # only a complete study ever has the cache's name
    print(f"generated {IMAGES} images in {STUDY} in {time.monotonic() - started:.1f} s", flush=True)
    return study_files(STUDY)


def received(out_dir):
    return [p for p in out_dir.iterdir() if p.is_file()]


def send_study(lab, files, out_dir, label):
    """One storescu association carrying the whole study; returns its wall time in seconds."""
    for p in received(out_dir):
        p.unlink()
    argv = ["storescu", "-aet", "CT01", "-aec", "PACS", lab.ip("pacs"), "104", *map(str, files)]
    started = time.monotonic()
    result = lab.run("ct", argv, timeout=STORESCU_TIMEOUT, check=False)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise BenchFailure(f"{label}: storescu exited {result.returncode}:\n"
                           f"{result.stderr.decode(errors='replace')[-2000:]}")
    # storescp answers each C-STORE after saving the file; the wait only covers a slow close.
    benchlib.wait_until(lambda: len(received(out_dir)) >= len(files), timeout=5)
    got = received(out_dir)
    small = [p.name for p in got if p.stat().st_size <= PIXEL_BYTES]
    if len(got) != len(files) or small:
        raise BenchFailure(f"{label}: {len(got)} of {len(files)} files arrived"
                           f"{f', truncated: {small[:5]}' if small else ''}")
    for p in got:
        p.unlink()
    return elapsed


def nft_tables(lab):
    return lab.run("gw", ["nft", "list", "tables"], check=False).stdout.decode()


def routed_run(lab, files, out_dir, label):
    if "wardgate" in nft_tables(lab):
        raise BenchFailure(f"{label}: wardgate's nftables table is still installed; not routed")
    return send_study(lab, files, out_dir, label)


def gateway_config(lab):
    """The lab's configuration with wardgate owning forwarding (issue 12): default deny, the
    devices' intercepted services only."""
    return lab.wardgate_config(gateway={
        "vlan_prefix": f"{lab.vlan_net}.0/24", "gateway_address": f"{lab.vlan_net}.1",
        "core_networks": [f"{lab.core_net}.0/24"]})


def proxied_run(lab, files, out_dir, label, gateway=False):
    wardgate = lab.start_wardgate(gateway_config(lab) if gateway else None)
    try:
        benchlib.wardgate_pid(wardgate)
        elapsed = send_study(lab, files, out_dir, label)
        if not benchlib.wait_until(lambda: benchlib.sessions_closed(wardgate) >= 1, timeout=5):
            raise BenchFailure(f"{label}: wardgate logged no relayed session; not proxied:\n"
                               f"{wardgate.log()[-2000:]}")
    finally:
        status = wardgate.stop()
        lab.procs.remove(wardgate)
    if status != 0:
        raise BenchFailure(f"{label}: wardgate exited {status}:\n{wardgate.log()[-2000:]}")
    if gateway:
        # The forwarding policy stays after wardgate stops (fail closed); the routed runs need
        # it gone.
        if "wardgate" not in nft_tables(lab):
            raise BenchFailure(f"{label}: the gateway's table was not installed")
        lab.run("gw", ["nft", "delete", "table", "inet", "wardgate"])
    return elapsed


def run():
    machine = benchlib.machine_note()
    files = ensure_study()
    total_mib = sum(p.stat().st_size for p in files) / (1 << 20)
    routed, proxied, gated = [], [], []
    with Lab(LAB) as lab:
        out_dir = lab.workdir / "pacs-in"
        out_dir.mkdir()
        lab.start("pacs", ["storescp", "-dhl", "-aet", "PACS", "-od", out_dir, "104"],
                  ready_port=104)
        # Alternating, so drift on a shared machine touches both paths alike.
        for i in range(1, ROUNDS + 1):
            routed.append(routed_run(lab, files, out_dir, f"routed run {i}"))
            proxied.append(proxied_run(lab, files, out_dir, f"proxied run {i}"))
            gated.append(proxied_run(lab, files, out_dir, f"gateway run {i}", gateway=True))
            print(f"round {i}: routed {routed[-1]:.3f} s, proxied {proxied[-1]:.3f} s, "
                  f"proxied with the gateway's forwarding policy {gated[-1]:.3f} s", flush=True)

    r, p = benchlib.median(routed), benchlib.median(proxied)
    report = benchlib.Report(BENCH)
    runs = lambda xs: "runs " + ", ".join(f"{x:.3f}" for x in xs)  # noqa: E731
    report.add("routed_time_s", round(r, 4), "s", note=f"median of {len(routed)}; {runs(routed)}")
    report.add("proxied_time_s", round(p, 4), "s",
               note=f"median of {len(proxied)}; {runs(proxied)}")
    report.add("proxied_over_routed_time", round(benchlib.ratio(p, r), 4), "ratio", "<= 0.1")
    g = benchlib.median(gated)
    report.add("gateway_proxied_time_s", round(g, 4), "s",
               note=f"median of {len(gated)}; {runs(gated)}; gateway section on")
    report.add("gateway_proxied_over_routed_time", round(benchlib.ratio(g, r), 4), "ratio",
               "<= 0.1", note="the forwarding policy must not cost the split-TCP advantage")
    report.print(notes=[machine,
                        f"{IMAGES} x {ROWS}x{COLS} CT images, {total_mib:.1f} MiB, one storescu "
                        f"association per run, all {IMAGES} files verified at the PACS each run"])


if __name__ == "__main__":
    benchlib.main(run)
