#!/usr/bin/python3
"""bench_hl7_roundtrip: HL7 message-to-ACK round trip, routed vs through wardgate.

A patient monitor (the mon namespace) sends ~1.1 KiB ORU^R01 messages over one MLLP connection,
each after the previous one's ACK, to an HL7 engine (the hl7 namespace, port 2575) that answers
each with an AA ACK. The sender measures each round trip: from handing <SB>message<EB><CR> to the
socket to having the whole ACK frame. First WARMUP messages of each connection are not counted.
Both ends are this file (`serve` and `send` modes): small blocking Python MLLP peers with
TCP_NODELAY and the garbage collector off, so their own cost is small and the same on both paths.
The routed path has wardgate not running (the gw namespace only forwards); the proxied path has
wardgate intercepting, decoding and auditing every message and ACK (audit log to a file).
Alternating, ROUNDS times each; the percentiles are over all counted round trips of a path.
Target (DESIGN.md): wardgate adds <= 100 us at p99.

    bench_hl7_roundtrip.py                      the benchmark (root: builds its own lab)
    bench_hl7_roundtrip.py serve --port P       the engine (used by the benchmark)
    bench_hl7_roundtrip.py send --host H ...    the monitor (used by the benchmark)
"""

import argparse
import array
import gc
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from benchlib import BenchFailure  # noqa: E402
from labkit import Lab  # noqa: E402

BENCH = "hl7_roundtrip"
LAB = "bhl7rt"
PORT = 2575
PY = "/usr/bin/python3"
ROUNDS = int(os.environ.get("WARDGATE_BENCH_ROUNDS", "4"))
MESSAGES = int(os.environ.get("WARDGATE_BENCH_HL7_MESSAGES", "5000"))  # counted, per run
WARMUP = 1000
TARGET_ADDED_P99_US = 100
SB, EB, CR = b"\x0b", b"\x1c", b"\r"


def oru_r01(i):
    """A vital-signs ORU^R01 of an IHE PCD-01 monitor (HL7 2.6, ~1.1 KiB): (control id, bytes)."""
    control_id = f"MON{i:07d}"
    sec = 8 * 3600 + i * 5
    ts = f"20261122{sec // 3600 % 24:02d}{sec // 60 % 60:02d}{sec % 60:02d}+0800"
    hr, spo2, rr = 62 + i % 37, 93 + i % 7, 12 + i % 9
    sys_, dia = 108 + i % 31, 64 + i % 19
    obx = [
        ("147842^MDC_ECG_HEART_RATE", hr, "264864^MDC_DIM_BEAT_PER_MIN", "50-120"),
        ("150456^MDC_PULS_OXIM_SAT_O2", spo2, "262688^MDC_DIM_PERCENT", "90-100"),
        ("151562^MDC_RESP_RATE", rr, "264928^MDC_DIM_RESP_PER_MIN", "8-30"),
        ("150021^MDC_PRESS_BLD_NONINV_SYS", sys_, "266016^MDC_DIM_MMHG", "90-160"),
        ("150022^MDC_PRESS_BLD_NONINV_DIA", dia, "266016^MDC_DIM_MMHG", "50-90"),
        ("150023^MDC_PRESS_BLD_NONINV_MEAN", (sys_ + 2 * dia) // 3, "266016^MDC_DIM_MMHG",
         "60-110"),
        ("150344^MDC_TEMP", f"{36.4 + i % 12 / 10:.1f}", "268192^MDC_DIM_DEGC", "36.0-37.5"),
    ]
    segments = [
        f"MSH|^~\\&|PDS^0019C8FFFE3A1B2C^EUI-64|WARD3|HL7ENGINE|HOSPITAL|{ts}||ORU^R01^ORU_R01|"
        f"{control_id}|P|2.6|||AL|NE||UNICODE UTF-8",
        f"PID|||{7000000 + i % 997}^^^HOSPITAL^MR||Synthetic^Patient{i % 997}^^^^^L||"
        f"19{50 + i % 50:02d}0{1 + i % 9}1{i % 10}|{'MF'[i % 2]}",
        f"PV1||I|WARD3^^BED{i % 24 + 1:02d}",
        f"OBR|1|{control_id}^PDS|{control_id}^PDS|182777000^monitoring of patient^SNOMED-CT|||{ts}",
    ]
    for k, (code, value, unit, ref) in enumerate(obx, 1):
        segments.append(f"OBX|{k}|NM|{code}^MDC|1.{k}.1.1|{value}|{unit}^MDC|{ref}||||R|||{ts}")
    return control_id, "\r".join(segments).encode("ascii")


# -- the engine ------------------------------------------------------------------------------------
def serve(args):
    """Answers every message with MSA|AA|<its MSH-10>, one connection at a time; prints
    "connection from IP:PORT: N messages" when a connection ends."""
    gc.disable()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", args.port))
    listener.listen(8)
    print(f"listening on {args.port}", flush=True)
    head = (SB + b"MSH|^~\\&|HL7ENGINE|HOSPITAL|PDS|WARD3|20261122080000+0800||ACK^R01^ACK|")
    while True:
        conn, peer = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        count = 0
        while True:
            data = conn.recv(65536)
            if not data:
                break
            buf += data
            while True:
                end = buf.find(EB + CR)
                if end < 0:
                    break
                frame = buf[buf.find(SB) + 1:end]
                buf = buf[end + 2:]
                fields = frame.split(b"|", 10)
                control_id = fields[9] if len(fields) > 9 else b""
                conn.sendall(b"%sACK%07d|P|2.6\rMSA|AA|%s\r%s%s" % (head, count, control_id,
                                                                     EB, CR))
                count += 1
        conn.close()
        print(f"connection from {peer[0]}:{peer[1]}: {count} messages", flush=True)


# -- the monitor -----------------------------------------------------------------------------------
def send(args):
    """Sends warmup + count messages over one connection, each after the previous ACK; writes the
    counted round trips (nanoseconds, int64 native) to --out; prints a JSON summary."""
    total = args.warmup + args.count
    messages = [(cid.encode(), SB + m + EB + CR) for cid, m in map(oru_r01, range(total))]
    rtt = array.array("q")
    sock = socket.create_connection((args.host, args.port), timeout=10)
    sock.settimeout(None)  # plain blocking calls: no poll() before each recv
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    now = time.perf_counter_ns
    gc.disable()
    for i, (control_id, frame) in enumerate(messages):
        started = now()
        sock.sendall(frame)
        ack = sock.recv(4096)
        while not ack.endswith(EB + CR):
            more = sock.recv(4096)
            if not more:
                raise SystemExit(f"connection closed while waiting for the ACK of message {i}")
            ack += more
        elapsed = now() - started
        if b"\rMSA|AA|" + control_id + b"\r" not in ack:
            raise SystemExit(f"message {i} ({control_id.decode()}): unexpected answer {ack!r}")
        if i >= args.warmup:
            rtt.append(elapsed)
    sock.close()
    gc.enable()
    with open(args.out, "wb") as f:
        rtt.tofile(f)
    print(json.dumps({"sent": total, "acked_aa": total, "counted": len(rtt)}), flush=True)


# -- the benchmark ---------------------------------------------------------------------------------
def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    k = max(0, min(len(sorted_values) - 1, -(-len(sorted_values) * p // 100) - 1))
    return sorted_values[int(k)]


def summary_us(ns_values):
    v = sorted(ns_values)
    return {"p50": percentile(v, 50) / 1e3, "p90": percentile(v, 90) / 1e3,
            "p99": percentile(v, 99) / 1e3, "max": v[-1] / 1e3,
            "mean": sum(v) / len(v) / 1e3}


def run_sender(lab, label):
    out = lab.workdir / f"rtt-{label.replace(' ', '-')}.bin"
    argv = [PY, Path(__file__).resolve(), "send", "--host", lab.ip("hl7"), "--port", PORT,
            "--warmup", WARMUP, "--count", MESSAGES, "--out", out]
    result = lab.run("mon", argv, timeout=300, check=False)
    if result.returncode != 0:
        raise BenchFailure(f"{label}: sender exited {result.returncode}:\n"
                           f"{result.stderr.decode(errors='replace')[-2000:]}")
    rtt = array.array("q")
    with open(out, "rb") as f:
        rtt.frombytes(f.read())
    if len(rtt) != MESSAGES:
        raise BenchFailure(f"{label}: {len(rtt)} of {MESSAGES} round trips recorded")
    return list(rtt)


def engine_saw(lab, engine, label, connections):
    """The engine logged `connections` finished connections, the last one from the monitor's own
    address with every message."""
    line = f"connection from {lab.ip('mon')}:"
    if not benchlib.wait_until(lambda: engine.log().count("connection from ") >= connections, 5):
        raise BenchFailure(f"{label}: the engine did not see the connection end:\n{engine.log()}")
    last = engine.log().strip().splitlines()[-1]
    if not (last.startswith(line) and last.endswith(f": {WARMUP + MESSAGES} messages")):
        raise BenchFailure(f"{label}: the engine logged {last!r}")


def routed_run(lab, engine, label, connections):
    if "wardgate" in lab.run("gw", ["nft", "list", "tables"], check=False).stdout.decode():
        raise BenchFailure(f"{label}: wardgate's nftables table is still installed; not routed")
    rtt = run_sender(lab, label)
    engine_saw(lab, engine, label, connections)
    return rtt


def proxied_run(lab, engine, label, connections):
    audit_log = lab.workdir / f"audit-{label.replace(' ', '-')}.jsonl"
    wardgate = lab.start_wardgate(lab.wardgate_config(audit={"log": str(audit_log)}))
    try:
        benchlib.wardgate_pid(wardgate)
        rtt = run_sender(lab, label)
        engine_saw(lab, engine, label, connections)
        if not benchlib.wait_until(lambda: benchlib.sessions_closed(wardgate) >= 1, timeout=5):
            raise BenchFailure(f"{label}: wardgate logged no relayed session; not proxied:\n"
                               f"{wardgate.log()[-2000:]}")
    finally:
        status = wardgate.stop()
        lab.procs.remove(wardgate)
    if status != 0:
        raise BenchFailure(f"{label}: wardgate exited {status}:\n{wardgate.log()[-2000:]}")
    # wardgate inspected the traffic: one message and one AA acknowledgement event per message.
    counts = {}
    for line in audit_log.read_text().splitlines():
        e = json.loads(line)
        if e["category"] == "hl7":
            key = (e["action"], e["fields"].get("code"))
            counts[key] = counts.get(key, 0) + 1
    expected = {("message", None): WARMUP + MESSAGES, ("acknowledgement", "AA"): WARMUP + MESSAGES}
    if counts != expected:
        raise BenchFailure(f"{label}: wardgate's hl7 audit events {counts}, expected {expected}")
    return rtt


def run():
    machine = benchlib.machine_note()
    routed, proxied = [], []
    with Lab(LAB) as lab:
        engine = lab.start("hl7", [PY, Path(__file__).resolve(), "serve", "--port", PORT],
                           ready_port=PORT, ready_text="listening on")
        connections = 0
        added_p99 = []  # per round, to show how much one noisy run moves the pooled figure
        # Alternating, so drift on a shared machine touches both paths alike.
        for i in range(1, ROUNDS + 1):
            connections += 1
            r = routed_run(lab, engine, f"routed run {i}", connections)
            connections += 1
            p = proxied_run(lab, engine, f"proxied run {i}", connections)
            routed += r
            proxied += p
            rs, ps = summary_us(r), summary_us(p)
            added_p99.append(ps["p99"] - rs["p99"])
            print(f"round {i}: p50/p99 routed {rs['p50']:.1f}/{rs['p99']:.1f} us, proxied "
                  f"{ps['p50']:.1f}/{ps['p99']:.1f} us", flush=True)

    r, p = summary_us(routed), summary_us(proxied)
    cols = ("p50", "p90", "p99", "max", "mean")
    print(f"\n{'round trip (us)':<18}" + "".join(f"{c:>10}" for c in cols))
    for name, s in (("routed", r), ("through wardgate", p)):
        print(f"{name:<18}" + "".join(f"{s[c]:>10.1f}" for c in cols))
    print(f"{'added by wardgate':<18}" + "".join(f"{p[c] - r[c]:>10.1f}" for c in cols), flush=True)

    report = benchlib.Report(BENCH)
    n = f"{len(routed)} round trips"
    for c in ("p50", "p90", "p99", "max"):
        report.add(f"routed_rtt_{c}_us", round(r[c], 1), "us", note=n)
    for c in ("p50", "p90", "p99", "max"):
        report.add(f"proxied_rtt_{c}_us", round(p[c], 1), "us", note=f"{len(proxied)} round trips")
    report.add("added_rtt_p50_us", round(p["p50"] - r["p50"], 1), "us")
    report.add("added_rtt_p99_us", round(p["p99"] - r["p99"], 1), "us",
               f"<= {TARGET_ADDED_P99_US}",
               note="proxied p99 - routed p99; per round " +
               ", ".join(f"{a:.1f}" for a in added_p99))
    report.print(notes=[machine,
                        f"{ROUNDS} rounds x {MESSAGES} counted ORU^R01 (~1.1 KiB, after {WARMUP} "
                        f"warm-up) per path, one MLLP connection per run, every ACK AA and "
                        f"matching; wardgate audited every message and ACK"])


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("serve", "send"):
        parser = argparse.ArgumentParser(prog="bench_hl7_roundtrip.py")
        sub = parser.add_subparsers(dest="mode", required=True)
        s = sub.add_parser("serve")
        s.add_argument("--port", type=int, default=PORT)
        c = sub.add_parser("send")
        c.add_argument("--host", required=True)
        c.add_argument("--port", type=int, default=PORT)
        c.add_argument("--warmup", type=int, default=WARMUP)
        c.add_argument("--count", type=int, default=MESSAGES)
        c.add_argument("--out", required=True)
        args = parser.parse_args()
        (serve if args.mode == "serve" else send)(args)
        return
    benchlib.main(run)


if __name__ == "__main__":
    main()
