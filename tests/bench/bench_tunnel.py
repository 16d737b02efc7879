#!/usr/bin/python3
"""bench_tunnel: wardgate's WireGuard tunnel (Debian's wireguard-go), untuned vs tuned, in one run.

The lab is tests/lib/tunnel_lab.py: wardgate in the gw namespace brings up its tunnel (UAPI
backend, wireguard-go it starts and supervises) to a concentrator namespace running its own
wireguard-go; the core servers (iperf3, storescp) run in the PACS namespace on the concentrator's
core bridge, so every byte to them crosses the tunnel.

Each round runs both variants, alternating, so drift on a shared machine touches both alike:
  untuned  tunnel.tuning.enabled false, and a fresh concentrator daemon (Debian's defaults: 208 KiB
           UDP socket buffers, txqueuelen 500 on the TUN device)
  tuned    tunnel.tuning.enabled true (wardgate runs tune_path on its end), and the concentrator's
           daemon given the same tune_path by path_tuning_driver. The concentrator is not
           wardgate's to tune in a hospital (often kernel WireGuard, which has no socket queue to
           overflow); in the lab it is another wireguard-go, which would otherwise drop what the
           appliance sends.
  appliance_only  (after the two, each round) wardgate tunes its end only; the concentrator's
           daemon keeps Debian's defaults: what wardgate's tuning alone is worth against an
           untuned userspace concentrator. No routed C-STORE in this one.
In each variant:
  1. `wardgate tunnel up` (tunnel only): iperf3 appliance -> core and core -> appliance (-R),
     REPS tests of SECONDS each; then the C-STORE study routed through the tunnel (ct -> gw
     forwards -> tunnel -> PACS), stock DCMTK without the proxy.
  2. `wardgate run` (proxy + tunnel): the same C-STORE study through the proxy and the tunnel.
UdpRcvbufErrors (/proc/net/snmp of each namespace) and the TUN devices' tx drops are counted
around every iperf3 test. Finally, one path whose links (underlay and
core) carry 9000-byte frames: untuned (MTU 1420) against tuned with "mtu": "auto".

Target (issue 6): tuned >= 3 x untuned iperf3 throughput. Numbers are printed, never asserted;
the benchmark fails only when its workload failed (a peer exited with an error, a file did not
arrive, the tunnel did not come up, a tuned run that wardgate did not tune).
"""

import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from bench_dicom_store import ensure_study, send_study  # noqa: E402
from benchlib import BenchFailure  # noqa: E402
from labkit import wardgate_bin  # noqa: E402
from tunnel_lab import TunnelLab  # noqa: E402

BENCH = "tunnel"
LAB = "bntun"
IPERF_PORT = 5201
SECONDS = int(os.environ.get("WARDGATE_BENCH_TUNNEL_SECONDS", "5"))
REPS = int(os.environ.get("WARDGATE_BENCH_TUNNEL_REPS", "2"))
ROUNDS = int(os.environ.get("WARDGATE_BENCH_ROUNDS", "2"))
STORE_REPS = int(os.environ.get("WARDGATE_BENCH_TUNNEL_STORE_REPS", "1"))
JUMBO_UNDERLAY_MTU = 9000
JUMBO_TUNNEL_MTU = JUMBO_UNDERLAY_MTU - 60  # IPv4 underlay: 20 IP + 8 UDP + 32 WireGuard
DIRECTION = {False: "appliance -> core", True: "core -> appliance"}


def driver_bin():
    return os.environ.get("WARDGATE_PATH_TUNING_DRIVER",
                          str(benchlib.REPO / "build" / "release" / "tests" / "bench" /
                              "path_tuning_driver"))


# -- counters --------------------------------------------------------------------------------
def udp_rcvbuf_errors(lab, role):
    """Udp RcvbufErrors of the role's namespace (/proc/net/snmp is per namespace)."""
    text = lab.run(role, ["cat", "/proc/net/snmp"]).stdout.decode()
    rows = [line.split() for line in text.splitlines() if line.startswith("Udp:")]
    if len(rows) < 2:
        raise BenchFailure(f"/proc/net/snmp of {role} has no Udp rows")
    return int(rows[1][rows[0].index("RcvbufErrors")])


def tx_dropped(lab, role, interface):
    out = lab.run(role, ["ip", "-s", "-j", "link", "show", "dev", interface]).stdout
    return json.loads(out)[0]["stats64"]["tx"]["dropped"]


def counters(lab):
    return {"rcvbuf_gw": udp_rcvbuf_errors(lab, "gw"),
            "rcvbuf_conc": udp_rcvbuf_errors(lab, "conc"),
            "txdrop_gw": tx_dropped(lab, "gw", lab.appliance_if),
            "txdrop_conc": tx_dropped(lab, "conc", lab.conc_if)}


# -- the variants ----------------------------------------------------------------------------
class Variant:
    """One bring-up of the tunnel: a fresh concentrator daemon and a wardgate, tuned or not."""

    def __init__(self, lab, tuned, mtu=None, tune_concentrator=None):
        self.lab, self.tuned, self.mtu = lab, tuned, mtu
        self.tune_concentrator = tuned if tune_concentrator is None else tune_concentrator
        self.name = ("untuned" if not tuned else
                     "tuned" if self.tune_concentrator else "appliance_only")
        self.conc = None
        self.wardgate = None
        self.tuning_lines = []

    def config_path(self, mode):
        overrides = {"tuning": {"enabled": self.tuned}}
        if self.mtu:
            overrides["mtu"] = self.mtu
        config = self.lab.tunnel_config(**overrides)
        return self.lab.write_config(config, f"wardgate-{mode}-{self.name}.json")

    def start_concentrator(self):
        path = self.config_path("tunnel")
        self.conc = self.lab.start_concentrator(self.lab.peer_block(path))
        if self.mtu:
            # The concentrator's administrator sets the MTU the path carries (wardgate's "auto"
            # finds the same number on its side).
            conc_mtu = JUMBO_TUNNEL_MTU if self.mtu == "auto" else self.mtu
            self.lab.run("conc", ["ip", "link", "set", self.lab.conc_if, "mtu", str(conc_mtu)])
        if not self.tune_concentrator:
            return
        result = self.lab.run("conc", [driver_bin(), "--interface", self.lab.conc_if, "--pid",
                                       str(self.conc.pid), "--port", str(self.lab.conc_port)],
                              check=False)
        out = result.stdout.decode(errors="replace")
        if result.returncode != 0 or "applied: UDP socket buffers" not in out:
            raise BenchFailure(f"tuning the concentrator failed ({result.returncode}):\n{out}"
                               f"{result.stderr.decode(errors='replace')}")
        self.tuning_lines += [f"concentrator {line}" for line in out.splitlines()]

    def stop_concentrator(self):
        if self.conc is not None:
            self.conc.stop()
            self.lab.procs.remove(self.conc)
            self.conc = None

    def start_wardgate(self, mode):
        """mode "tunnel": `wardgate tunnel up` (no proxy); "run": `wardgate run`."""
        path = self.config_path(mode)
        argv = [wardgate_bin(), *(["tunnel", "up"] if mode == "tunnel" else ["run"]),
                "--config", str(path)]
        try:
            self.wardgate = self.lab.start("gw", argv, ready_text=" ready: ", timeout=20)
        except RuntimeError as e:
            raise BenchFailure(f"{self.name}: wardgate {mode} did not come up: {e}") from e
        core = self.lab.ip("pacs")
        if not benchlib.wait_until(lambda: self.lab.run("gw", ["ping", "-c1", "-W1", core],
                                                        check=False).returncode == 0, timeout=15):
            raise BenchFailure(f"{self.name}: no ping through the tunnel to {core}:\n"
                               f"{self.wardgate.log()[-2000:]}")
        log = self.wardgate.log()
        lines = [line.split("tuning: ", 1)[1] for line in log.splitlines() if "tuning: " in line]
        if self.tuned and not any(line.startswith("applied: UDP socket buffers") for line in lines):
            raise BenchFailure(f"{self.name}: wardgate did not tune its UDP sockets:\n"
                               f"{log[-2000:]}")
        if not self.tuned and not any(line.startswith("off") for line in lines):
            raise BenchFailure(f"{self.name}: wardgate did not log tuning as off:\n{log[-2000:]}")
        if mode == "tunnel":
            self.tuning_lines += [f"wardgate {line}" for line in lines]

    def stop_wardgate(self):
        if self.wardgate is not None:
            status = self.wardgate.stop()
            self.lab.procs.remove(self.wardgate)
            log = self.wardgate.log()
            self.wardgate = None
            if status != 0:
                raise BenchFailure(f"{self.name}: wardgate exited {status}:\n{log[-2000:]}")


def iperf(lab, label, reverse):
    before = counters(lab)
    gbit, doc = benchlib.iperf3(lab, "gw", lab.ip("pacs"), IPERF_PORT, SECONDS, label,
                                ["-R"] if reverse else [])
    after = counters(lab)
    delta = {k: after[k] - before[k] for k in after}
    return {"gbit": gbit, "retransmits": doc["end"].get("sum_sent", {}).get("retransmits", 0),
            "rcvbuf_errors": delta["rcvbuf_gw"] + delta["rcvbuf_conc"],
            "tun_tx_drops": delta["txdrop_gw"] + delta["txdrop_conc"], **delta}


def describe(t):
    return (f"{t['gbit']:.3f} Gbit/s, {t['retransmits']} retransmits, UdpRcvbufErrors "
            f"gw +{t['rcvbuf_gw']} conc +{t['rcvbuf_conc']}, TUN tx drops gw +{t['txdrop_gw']} "
            f"conc +{t['txdrop_conc']}")


def store(lab, files, out_dir, label, wardgate=None):
    elapsed = send_study(lab, files, out_dir, label)
    if wardgate is not None and not benchlib.wait_until(
            lambda: benchlib.sessions_closed(wardgate) >= 1, timeout=5):
        raise BenchFailure(f"{label}: wardgate logged no relayed session; not proxied:\n"
                           f"{wardgate.log()[-2000:]}")
    return elapsed


def run_variant(lab, files, out_dir, results, tuned, rnd, tune_concentrator=None):
    v = Variant(lab, tuned, tune_concentrator=tune_concentrator)
    r = results[v.name]
    try:
        v.start_concentrator()
        v.start_wardgate("tunnel")
        for i in range(1, REPS + 1):
            for reverse, key in ((False, "up"), (True, "down")):
                label = f"round {rnd} {v.name} iperf3 {DIRECTION[reverse]} #{i}"
                t = iperf(lab, label, reverse)
                r[key].append(t)
                print(f"{label}: {describe(t)}", flush=True)
        # Routed C-STORE time is DCMTK's Nagle and delayed-ACK stalls more than the tunnel's
        # throughput; once per round for the two main variants is enough.
        for i in range(1, STORE_REPS + 1 if v.name != "appliance_only" else 1):
            label = f"round {rnd} {v.name} C-STORE routed through the tunnel #{i}"
            r["routed"].append(store(lab, files, out_dir, label))
            print(f"{label}: {r['routed'][-1]:.3f} s", flush=True)
        v.stop_wardgate()
        v.start_wardgate("run")
        for i in range(1, STORE_REPS + 1):
            label = f"round {rnd} {v.name} C-STORE through proxy + tunnel #{i}"
            r["proxied"].append(store(lab, files, out_dir, label, v.wardgate))
            print(f"{label}: {r['proxied'][-1]:.3f} s", flush=True)
        v.stop_wardgate()
    finally:
        try:
            v.stop_wardgate()
        finally:
            v.stop_concentrator()
    if rnd == 1:
        print(f"{v.name} tuning:\n  " + "\n  ".join(v.tuning_lines), flush=True)
        r["tuning"] = v.tuning_lines


# The links of the path from the appliance to PACS: the underlay (gw wan0 <-> conc eth0), then the
# concentrator's core bridge and its port to PACS (pacs eth0). A jumbo tunnel MTU only helps end
# to end when every one of them carries the frames, as in one data centre.
JUMBO_LINKS = (("gw", "wan0"), ("conc", "eth0"), ("conc", "pacs"), ("conc", "core0"),
               ("pacs", "eth0"))


def set_path_mtu(lab, mtu, check=True):
    # Ports before the bridge when growing, the bridge first when shrinking.
    links = JUMBO_LINKS if mtu > 1500 else tuple(reversed(JUMBO_LINKS))
    for role, link in links:
        lab.run(role, ["ip", "link", "set", link, "mtu", str(mtu)], check=check)


def run_jumbo(lab):
    """The path's links raised to 9000 bytes (as in one data centre): untuned (wardgate's default
    MTU 1420, tuning off) against tuned with "mtu": "auto" (wardgate reads the path MTU towards
    the concentrator and sets the tunnel's MTU from it), one test per direction each."""
    out = {}
    set_path_mtu(lab, JUMBO_UNDERLAY_MTU)
    try:
        for name, variant in (("untuned", Variant(lab, False)),
                              ("tuned", Variant(lab, True, mtu="auto"))):
            try:
                variant.start_concentrator()
                variant.start_wardgate("tunnel")
                if name == "tuned" and f"MTU {JUMBO_TUNNEL_MTU} (auto" not in variant.wardgate.log():
                    raise BenchFailure(f"wardgate did not choose MTU {JUMBO_TUNNEL_MTU} on the "
                                       f"jumbo path:\n{variant.wardgate.log()[-2000:]}")
                for reverse, key in ((False, "up"), (True, "down")):
                    label = (f"jumbo path, {name}"
                             f"{' (MTU auto: ' + str(JUMBO_TUNNEL_MTU) + ')' if name == 'tuned' else ' (MTU 1420)'}"
                             f", iperf3 {DIRECTION[reverse]}")
                    out[(name, key)] = iperf(lab, label, reverse)
                    print(f"{label}: {describe(out[(name, key)])}", flush=True)
            finally:
                try:
                    variant.stop_wardgate()
                finally:
                    variant.stop_concentrator()
    finally:
        set_path_mtu(lab, 1500, check=False)
    return out


def median_of(tests, field):
    value = statistics.median(t[field] for t in tests)
    return round(value) if field != "gbit" else value


def runs(values, fmt="{:.3f}"):
    return "runs " + ", ".join(fmt.format(x) for x in values)


def run():
    machine = benchlib.machine_note()
    files = ensure_study()
    total_mib = sum(p.stat().st_size for p in files) / (1 << 20)
    results = {name: {"up": [], "down": [], "routed": [], "proxied": [], "tuning": []}
               for name in ("untuned", "tuned", "appliance_only")}
    with TunnelLab(LAB) as lab:
        out_dir = lab.workdir / "pacs-in"
        out_dir.mkdir()
        core = lab.ip("pacs")
        lab.start("pacs", ["iperf3", "-s", "-B", core, "-p", str(IPERF_PORT)],
                  ready_port=IPERF_PORT)
        lab.start("pacs", ["storescp", "-dhl", "-aet", "PACS", "-od", out_dir, "104"],
                  ready_port=104)
        for rnd in range(1, ROUNDS + 1):
            # Alternating order per round, so neither variant always runs first.
            order = (False, True) if rnd % 2 else (True, False)
            for tuned in order:
                run_variant(lab, files, out_dir, results, tuned, rnd)
            # What wardgate's own tuning does when the concentrator's daemon keeps its defaults.
            run_variant(lab, files, out_dir, results, True, rnd, tune_concentrator=False)
        jumbo = run_jumbo(lab)

    u, t = results["untuned"], results["tuned"]
    report = benchlib.Report(BENCH)
    gb = lambda ts: [x["gbit"] for x in ts]  # noqa: E731
    for key, name, what in (("up", "tunnel_iperf_gbps", "appliance -> core"),
                            ("down", "tunnel_iperf_reverse_gbps", "core -> appliance")):
        mu, mt = median_of(u[key], "gbit"), median_of(t[key], "gbit")
        report.add(f"{name}_untuned", round(mu, 3), "Gbit/s",
                   note=f"{what}, median of {len(u[key])}; {runs(gb(u[key]))}")
        report.add(f"{name}_tuned", round(mt, 3), "Gbit/s",
                   note=f"{what}, median of {len(t[key])}; {runs(gb(t[key]))}")
        report.add(f"{name}_tuned_over_untuned", round(benchlib.ratio(mt, mu), 3), "ratio",
                   ">= 3", note=what)
        report.add(f"{name.replace('_gbps', '')}_udp_rcvbuf_errors_untuned",
                   median_of(u[key], "rcvbuf_errors"), "datagrams per test",
                   note=f"{what}, both namespaces, median")
        report.add(f"{name.replace('_gbps', '')}_udp_rcvbuf_errors_tuned",
                   median_of(t[key], "rcvbuf_errors"), "datagrams per test",
                   note=f"{what}, both namespaces, median")
        report.add(f"{name.replace('_gbps', '')}_tun_tx_drops_untuned",
                   median_of(u[key], "tun_tx_drops"), "packets per test",
                   note=f"{what}, both TUN devices, median")
        report.add(f"{name.replace('_gbps', '')}_tun_tx_drops_tuned",
                   median_of(t[key], "tun_tx_drops"), "packets per test",
                   note=f"{what}, both TUN devices, median")
    a = results["appliance_only"]
    for key, name, what in (("up", "tunnel_iperf_gbps", "appliance -> core"),
                            ("down", "tunnel_iperf_reverse_gbps", "core -> appliance")):
        report.add(f"{name}_tuned_appliance_only", round(median_of(a[key], "gbit"), 3), "Gbit/s",
                   note=f"{what}, concentrator untuned, median of {len(a[key])}; "
                        f"{runs(gb(a[key]))}; UdpRcvbufErrors median "
                        f"{int(median_of(a[key], 'rcvbuf_errors'))}")
    for key, name, what in (("up", "tunnel_iperf_gbps", "appliance -> core"),
                            ("down", "tunnel_iperf_reverse_gbps", "core -> appliance")):
        ju, jt = jumbo[("untuned", key)]["gbit"], jumbo[("tuned", key)]["gbit"]
        report.add(f"{name}_jumbo_path_untuned", round(ju, 3), "Gbit/s",
                   note=f"{what}, {JUMBO_UNDERLAY_MTU}-byte links, MTU 1420, one test")
        report.add(f"{name}_jumbo_path_tuned_mtu_auto", round(jt, 3), "Gbit/s",
                   note=f"{what}, {JUMBO_UNDERLAY_MTU}-byte links, MTU auto = "
                        f"{JUMBO_TUNNEL_MTU}, one test")
        report.add(f"{name}_jumbo_path_tuned_over_untuned", round(benchlib.ratio(jt, ju), 3),
                   "ratio", ">= 3", note=f"{what}, same jumbo path")
    for name, series in (("routed", "C-STORE routed through the tunnel"),
                         ("proxied", "C-STORE through proxy + tunnel")):
        mu, mt = statistics.median(u[name]), statistics.median(t[name])
        report.add(f"cstore_{name}_time_s_untuned", round(mu, 3), "s",
                   note=f"{series}, median of {len(u[name])}; {runs(u[name])}")
        report.add(f"cstore_{name}_time_s_tuned", round(mt, 3), "s",
                   note=f"{series}, median of {len(t[name])}; {runs(t[name])}")
        report.add(f"cstore_{name}_tuned_over_untuned_time", round(benchlib.ratio(mt, mu), 3),
                   "ratio", note=series)
    report.add("cstore_proxied_time_s_tuned_appliance_only",
               round(statistics.median(a["proxied"]), 3), "s",
               note=f"concentrator untuned, median of {len(a['proxied'])}; {runs(a['proxied'])}")
    report.add("cstore_proxied_over_routed_time_tuned",
               round(benchlib.ratio(statistics.median(t["proxied"]),
                                    statistics.median(t["routed"])), 4), "ratio", "<= 0.1",
               note="both through the tuned tunnel")
    report.print(notes=[machine,
                        f"iperf3 {SECONDS} s tests, {REPS} per direction per round, {ROUNDS} "
                        "rounds; gw namespace (wardgate) <-> PACS behind the concentrator",
                        f"C-STORE: {len(files)} CT images, {total_mib:.1f} MiB, one storescu "
                        "association per run, every file verified at the PACS",
                        "tuned = wardgate's tune_path on its wireguard-go, and the same on the "
                        "lab's concentrator (path_tuning_driver)",
                        "the CPUs are shared by both wireguard-go daemons and both iperf3 ends",
                        *[f"tuning: {line}" for line in results["tuned"]["tuning"]]])


if __name__ == "__main__":
    benchlib.main(run)
