"""Malformed and hostile HL7 v2 / MLLP input through wardgate, end to end in a namespace lab.

What a security auditor and an integration engineer check before an appliance sits between the
ward's monitors and the HL7 engine: bad MLLP framing (a 0x1C inside a message, a frame that never
ends, a 100 MiB "message", binary junk, a blank line between two messages, an unframed ACK)

- is relayed byte for byte: wardgate is transparent for HL7 (audit only, no enforcement in the
  default configuration), so what the receiver gets is exactly what the sender sent;
- never makes wardgate buffer what the sender streams: its memory stays within its caps (the
  framer keeps at most hl7.max_message_size, 1 MiB by default, per direction) — measured as
  wardgate's peak RSS (VmHWM, reset before each case through /proc/PID/clear_refs);
- is reported once: exactly one hl7 "framing-error" event per fault (fields from, error,
  detail) naming it; a CR/LF trailer after a frame (a blank line between two messages) is
  tolerated by design and raises nothing;
- leaves other connections alone: while the 100 MiB and the never-ending senders are paused
  halfway through their frame, a well-behaved monitor (Debian's mllp_send --loose --file) on its
  own connection gets every ACK and its messages produce message and acknowledgement events.

Peers (all in the lab's namespaces):
- the offending monitor: CLIENT_PY, a raw-socket client run in the monitor's namespace ("mon");
- the HL7 engine: tests/peers/mllp_ack_server.py on 2575 in "hl7" (ACKs every MLLP frame AA and
  records each one), for the cases where the engine's reaction matters;
- a raw sink: SINK_PY on SINK_PORT in "hl7", intercepted as an extra hl7 service of wardgate; it
  records every byte of each connection (length, SHA-256, the first MiB), for the cases where the
  exact bytes matter (mllp_ack_server only keeps what it takes for frames, and drops frames over
  64 MiB).
"""

import hashlib
import json
import random
import re
import subprocess
import threading
import time
import unittest

from labkit import REPO, LabTestCase, wait_for, wardgate_bin

PY = "/usr/bin/python3"
ENGINE_PORT = 2575
SINK_PORT = 2576
SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"
DEFAULT_MAX_MESSAGE = 1024 * 1024  # hl7.max_message_size, the default
MIB = 1024 * 1024

# Peak RSS growth allowed while a sender streams 100 MiB (or 32 MiB without an end block).
# What wardgate may hold for such a session: the framer's buffer, at most hl7.max_message_size
# (1 MiB) per direction (a std::string growing by doubling: up to ~3 MiB while it reallocates),
# plus the relay's read chunk (128 KiB) and allocator slack (glibc keeps freed 1 MiB blocks once
# its mmap threshold has risen). Measured (4 runs): 2.4-2.7 MiB for the never-ending case, the
# first (buffers touched for the first time), 0.1-1.9 MiB for the 100 MiB one after it. 16 MiB
# leaves room for allocator and scheduling noise on a shared machine, and still catches a gateway
# that keeps the frame (>= 32 MiB here) or leaks what it discards.
RSS_GROWTH_BOUND_KIB = 16 * 1024
NEVER_ENDING_BYTES = 32 * MIB
HUGE_BYTES = 100 * MIB

# The offending monitor. Either --steps (a JSON list of {"send": hex} and {"frames": n}, the
# latter waiting until n MLLP frames came back in all), or --stream-bytes N: a start block and N
# bytes of an HL7 message that never contains 0x0B or 0x1C (an ORU^R01 with a base64 waveform),
# pausing halfway (prints HALF, waits for --go-file) and, with --end, an end block and CR, then
# the --then-hex bytes. Then half-closes and reads until the peer closes. Prints one JSON line.
CLIENT_PY = r'''
import argparse, base64, hashlib, json, os, re, socket, time

ap = argparse.ArgumentParser()
ap.add_argument("host")
ap.add_argument("port", type=int)
ap.add_argument("--steps")
ap.add_argument("--stream-bytes", type=int, default=0)
ap.add_argument("--end", action="store_true")
ap.add_argument("--then-hex", default="")
ap.add_argument("--go-file")
ap.add_argument("--timeout", type=float, default=30)
a = ap.parse_args()

s = socket.create_connection((a.host, a.port), timeout=a.timeout)
out = {"local_port": s.getsockname()[1]}
print(json.dumps(out), flush=True)
sent = hashlib.sha256()
sent_len = 0
received = bytearray()

def send(data):
    global sent_len
    s.sendall(data)
    sent.update(data)
    sent_len += len(data)

def frames():
    return len(re.findall(rb"\x0b.*?\x1c\x0d", bytes(received), re.S))

if a.steps:
    for step in json.load(open(a.steps)):
        if "send" in step:
            send(bytes.fromhex(step["send"]))
        else:
            deadline = time.monotonic() + a.timeout
            while frames() < step["frames"] and time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                received += chunk
elif a.stream_bytes:
    header = (b"MSH|^~\\&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122080000||ORU^R01^ORU_R01|"
              b"BIG0000001|P|2.5\rPID|1||PID0001^^^HOSPITAL^MR||Synthetic^Patient1||19700101|F\r"
              b"OBX|1|ED|WAVEFORM^ECG^L||^AP^Octet-stream^Base64^")
    block = base64.b64encode(bytes(range(256)) * 192)  # 64 KiB of base64 text
    send(b"\x0b" + header)
    content, paused = len(header), False
    while content < a.stream_bytes:
        if not paused and content >= a.stream_bytes // 2:
            paused = True
            print("HALF", flush=True)
            deadline = time.monotonic() + 60
            while a.go_file and not os.path.exists(a.go_file) and time.monotonic() < deadline:
                time.sleep(0.05)
        piece = block[:a.stream_bytes - content]
        send(piece)
        content += len(piece)
    if a.end:
        send(b"\x1c\x0d")
    if a.then_hex:
        send(bytes.fromhex(a.then_hex))

s.shutdown(socket.SHUT_WR)
end = "timeout"
try:
    while len(received) < (1 << 20):
        chunk = s.recv(65536)
        if not chunk:
            end = "eof"
            break
        received += chunk
except ConnectionResetError:
    end = "reset"
except socket.timeout:
    pass
s.close()
out.update(sent_len=sent_len, sent_sha256=sent.hexdigest(), received=bytes(received).hex(),
           end=end)
print(json.dumps(out), flush=True)
'''

# The raw sink: reads each connection to its end, then appends one JSON line (peer, len,
# sha256, the first MiB as hex) to --out and closes. Sends nothing. Exits after --max-seconds.
SINK_PY = r'''
import argparse, hashlib, json, socket, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--max-seconds", type=float, default=300)
a = ap.parse_args()
lock = threading.Lock()
KEEP = 1 << 20

def serve(conn, peer):
    h, n, kept, end = hashlib.sha256(), 0, bytearray(), "eof"
    conn.settimeout(60)
    try:
        while True:
            chunk = conn.recv(1 << 20)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
            if len(kept) < KEEP:
                kept += chunk[:KEEP - len(kept)]
    except OSError as e:
        end = type(e).__name__
    record = {"peer": "%s:%d" % peer[:2], "len": n, "sha256": h.hexdigest(), "end": end,
              "head": bytes(kept).hex()}
    with lock, open(a.out, "a") as f:
        f.write(json.dumps(record) + "\n")
    conn.close()

srv = socket.create_server(("0.0.0.0", a.port), backlog=16)
srv.settimeout(0.2)
print("listening", flush=True)
deadline = time.monotonic() + a.max_seconds
while time.monotonic() < deadline:
    try:
        conn, peer = srv.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(conn, peer), daemon=True).start()
'''


def oru_r01(control_id, i=0, obx_value=None):
    """A vital-signs ORU^R01 (HL7 2.5); segments separated by CR, the last one too."""
    ts = f"2026112208{i // 60 % 60:02d}{i % 60:02d}"
    value = obx_value if obx_value is not None else str(60 + i % 40).encode()
    return (f"MSH|^~\\&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|{ts}||ORU^R01^ORU_R01|{control_id}|P|2.5\r"
            f"PID|1||PID{i % 17:04d}^^^HOSPITAL^MR||Synthetic^Patient{i % 17}||19700101|F\r"
            f"PV1|1|I|WARD3^BED12\r"
            f"OBR|1||{control_id}-OBR|0002-8867-4^Vital signs^MDC|||{ts}\r"
            f"OBX|1|NM|8867-4^Heart rate^LN||").encode() + value + (
            b"|/min^beats per minute^UCUM|||||F\r"
            b"OBX|2|ST|8251-1^Nursing note^LN||patient resting|||||F\r")


def frame(message):
    return SB + message + EB + CR


def mllp_frames(data):
    return re.findall(rb"\x0b(.*?)\x1c\r", data, re.S)


def msa(ack):
    """(MSA-1, MSA-2) of an ACK's content."""
    fields = [s for s in ack.split(CR) if s.startswith(b"MSA|")][0].split(b"|")
    return fields[1].decode(), fields[2].decode()


def proc_status(pid):
    """VmRSS and VmHWM of pid, in KiB."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


class MemoryWatch:
    """wardgate's memory during a case: resets its peak RSS (clear_refs 5, Linux >= 4.0) and
    samples VmRSS every 10 ms in a thread (a fallback and a cross-check of VmHWM)."""

    def __init__(self, pid):
        self.pid = pid
        self.samples = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        deadline = time.monotonic() + 120  # bounded even if stop() is never called
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            self.samples.append(proc_status(self.pid)["VmRSS"])
            self.stop_event.wait(0.01)

    def __enter__(self):
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")
            self.hwm_reset = True
        except OSError:
            self.hwm_reset = False
        self.before = proc_status(self.pid)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join(5)
        self.after = proc_status(self.pid)
        return False

    def peak_growth_kib(self):
        peak = max([*self.samples, self.after["VmRSS"]])
        if self.hwm_reset:
            peak = max(peak, self.after["VmHWM"])
        return peak - self.before["VmRSS"]

    def summary(self):
        return (f"VmRSS before {self.before['VmRSS']} KiB, after {self.after['VmRSS']} KiB, "
                f"sampled peak {max(self.samples, default=0)} KiB, VmHWM after "
                f"{self.after['VmHWM']} KiB (reset: {self.hwm_reset}); peak growth "
                f"{self.peak_growth_kib()} KiB")


class Hl7BadInputTests(LabTestCase):
    lab_name = "ithl7bad"

    @classmethod
    def set_up_lab(cls, lab):
        cls.client_py = lab.workdir / "client.py"
        cls.client_py.write_text(CLIENT_PY)
        sink_py = lab.workdir / "sink.py"
        sink_py.write_text(SINK_PY)
        cls.engine_out = lab.workdir / "engine.jsonl"
        cls.sink_out = lab.workdir / "sink.jsonl"
        cls.engine = lab.start("hl7", [PY, REPO / "tests" / "peers" / "mllp_ack_server.py",
                                       "--port", ENGINE_PORT, "--out", cls.engine_out,
                                       "--max-seconds", "300"],
                               ready_port=ENGINE_PORT, ready_text="listening on")
        cls.sink = lab.start("hl7", [PY, sink_py, "--port", SINK_PORT, "--out",
                                     cls.sink_out, "--max-seconds", "300"],
                             ready_port=SINK_PORT, ready_text="listening")
        config = lab.wardgate_config()
        # The default configuration: transparent (hl7.enforce false), 1 MiB frame cap.
        hl7 = config.get("hl7", {})
        assert hl7.get("enforce", False) is False, "this test is about audit-only relaying"
        cls.max_message = hl7.get("max_message_size", DEFAULT_MAX_MESSAGE)
        config["interception"]["services"].append(
            {"name": "hl7-raw", "port": SINK_PORT, "protocol": "hl7"})
        cls.wardgate = lab.start_wardgate(config)
        with open(f"/proc/{cls.wardgate.pid}/comm") as comm:
            assert comm.read().strip() == "wardgate"

    # -- helpers ---------------------------------------------------------------------------
    def events(self):
        """The audit records in the durable store (the record of authority; the stderr mirror may
        lose lines by design), everything emitted so far included."""
        return self.lab.stored_events()

    def client_argv(self, port, steps=None, **opts):
        argv = [PY, self.client_py, self.lab.ip("hl7"), port]
        if steps is not None:
            path = self.lab.workdir / f"steps-{time.monotonic_ns()}.json"
            path.write_text(json.dumps(steps))
            argv += ["--steps", path]
        for key, value in opts.items():
            if value is None or value is False:
                continue
            option = f"--{key.replace('_', '-')}"
            argv += [option] if value is True else [option, value]
        return argv

    def client(self, port, steps):
        """Runs the offending monitor to its end; returns its JSON result."""
        result = self.lab.run("mon", self.client_argv(port, steps), timeout=60, check=False)
        lines = [line for line in result.stdout.decode().splitlines() if line.startswith("{")]
        self.assertEqual(len(lines), 2, f"client: {result.stdout!r} {result.stderr.decode()}")
        return json.loads(lines[-1])

    def session(self, local_port, server_port, timeout=15):
        """The monitor's connection from local_port once wardgate logged it closed: (its audit
        events, bytes from device, bytes to device)."""
        client = f"{self.lab.ip('mon')}:{local_port}"
        pattern = re.compile(rf"session \d+: {re.escape(client)} -> "
                             rf"{re.escape(self.lab.ip('hl7'))}:{server_port} \([\w-]+\) closed after "
                             rf"[\d.]+ s: (\d+) bytes from device \(\w+\), (\d+) bytes to device")
        wait_for(lambda: pattern.search(self.wardgate.log()), timeout)
        match = pattern.search(self.wardgate.log())
        self.assertIsNotNone(match, f"{client}: no session summary\n{self.wardgate.log()[-3000:]}")
        events = [e for e in self.events() if e["fields"].get("client") == client]
        return events, int(match.group(1)), int(match.group(2))

    def framing_errors(self, events):
        return [e for e in events if e["category"] == "hl7" and e["action"] == "framing-error"]

    def check_one_framing_error(self, events, error):
        """Exactly one framing-error event for the connection: from the device, naming
        `error`, with a detail."""
        errors = self.framing_errors(events)
        self.assertEqual([e["fields"]["error"] for e in errors], [error],
                         json.dumps(errors, indent=1))
        e = errors[0]
        self.assertEqual((e["outcome"], e["severity"], e["device"]),
                         ("failure", "warning", "monitor"), e)
        self.assertEqual(e["fields"]["from"], "device", e)
        self.assertTrue(e["fields"]["detail"], e)
        return e

    def sink_records(self):
        if not self.sink_out.exists():
            return []
        return [json.loads(line) for line in self.sink_out.read_text().splitlines()]

    def sink_record(self, seen, timeout=15):
        """The sink's record of the one connection made since it had `seen` records (the cases
        run one after the other). wardgate keeps the device's address, not its port, upstream,
        so the records are told apart by order and checked for the monitor's address."""
        wait_for(lambda: len(self.sink_records()) > seen, timeout)
        new = self.sink_records()[seen:]
        self.assertEqual(len(new), 1, f"sink records: {new}")
        self.assertEqual(new[0]["peer"].rsplit(":", 1)[0], self.lab.ip("mon"), new[0])
        return new[0]

    def engine_records(self, control_ids):
        """mllp_ack_server's records of the messages with these control ids, checked to come
        from the monitor's address."""
        if not self.engine_out.exists():
            return []
        records = [r for r in map(json.loads, self.engine_out.read_text().splitlines())
                   if r["control_id"] in control_ids]
        for r in records:
            self.assertEqual(r["peer"].rsplit(":", 1)[0], self.lab.ip("mon"), r)
        return records

    def check_wardgate_alive(self):
        self.assertTrue(self.wardgate.running(), self.wardgate.log()[-3000:])

    def well_behaved_monitor(self, tag, count=20):
        """Debian's mllp_send on its own connection: count ORU^R01 one after the other, each
        waiting for its ACK. Checks every ACK came back AA in order; returns the control ids."""
        ids = [f"{tag}{i:07d}" for i in range(count)]
        batch = self.lab.workdir / f"{tag}.hl7"
        batch.write_bytes(b"\n".join(oru_r01(cid, i).rstrip(CR) for i, cid in enumerate(ids))
                          + b"\n")
        result = self.lab.run("mon", ["mllp_send", "--loose", "--file", batch, "-p", ENGINE_PORT,
                                      self.lab.ip("hl7")], timeout=60, check=False)
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        acks = mllp_frames(result.stdout)
        self.assertEqual([msa(a) for a in acks], [("AA", cid) for cid in ids],
                         result.stdout[:2000])
        return ids

    def check_well_behaved_audit(self, ids):
        """The well-behaved monitor's messages: one session, a message and an AA
        acknowledgement (matched, with a latency) per message, no framing error."""
        def mine():
            return [e for e in self.events() if e["category"] == "hl7"
                    and (e["fields"].get("control_id") in ids
                         or e["fields"].get("acknowledged_control_id") in ids)]

        wait_for(lambda: len(mine()) >= 2 * len(ids), 10)
        sessions = {e["fields"]["session"] for e in mine()}
        self.assertEqual(len(sessions), 1, mine())
        events = [e for e in self.events() if e["fields"].get("session") in sessions]
        sent = [e["fields"] for e in events if e["action"] == "message"]
        self.assertEqual([(f["from"], f["control_id"]) for f in sent],
                         [("device", cid) for cid in ids])
        acked = [e for e in events if e["action"] == "acknowledgement"]
        self.assertEqual([(e["fields"]["from"], e["fields"]["code"],
                           e["fields"]["acknowledged_control_id"]) for e in acked],
                         [("server", "AA", cid) for cid in ids])
        self.assertTrue(all("latency_ms" in e["fields"] for e in acked), acked)
        self.assertEqual(self.framing_errors(events), [])

    def run_streaming_case(self, name, stream_bytes, end, then=b""):
        """The offending monitor streams one frame of stream_bytes content to the sink (with an
        end block if `end`, then the bytes `then`), paused halfway while the well-behaved monitor
        does its round; wardgate's memory watched throughout. Returns the client's result with
        "ids" (the well-behaved monitor's control ids), "watch" (the MemoryWatch), "seen" (for
        sink_record) and "too_long_at_half" (whether frame-too-long was reported by then)."""
        go = self.lab.workdir / f"go-{name}"
        argv = self.client_argv(SINK_PORT, stream_bytes=stream_bytes, go_file=go, timeout=60,
                                then_hex=then.hex() or None, end=end)
        seen = len(self.sink_records())
        watch = MemoryWatch(self.wardgate.pid)
        with watch:
            sender = self.lab.start("mon", argv)
            try:
                self.assertTrue(sender.wait_log("HALF", timeout=60), sender.log())
                client = (f"{self.lab.ip('mon')}:"
                          f"{json.loads(sender.log().splitlines()[0])['local_port']}")
                # The fault is reported when the frame outgrows the cap, not when it ends.
                too_long_at_half = wait_for(lambda: any(
                    e["action"] == "framing-error" and e["fields"]["error"] == "frame-too-long"
                    and e["fields"]["client"] == client for e in self.events()), 10)
                # Halfway through the frame (wardgate is discarding it by now): another monitor
                # on its own connection is served as usual.
                ids = self.well_behaved_monitor(name.upper()[:3])
            finally:
                go.touch()
            self.assertTrue(wait_for(lambda: not sender.running(), 90), "sender did not end")
        print(f"\n[{name}] {stream_bytes} bytes streamed; wardgate {watch.summary()}",
              flush=True)
        lines = [line for line in sender.log().splitlines() if line.startswith("{")]
        self.assertEqual(len(lines), 2, sender.log())
        return dict(json.loads(lines[-1]), ids=ids, watch=watch, seen=seen,
                    too_long_at_half=too_long_at_half)

    # -- the cases -------------------------------------------------------------------------
    def test_1_end_block_inside_message(self):
        # An OBX value holding a 0x1C (not followed by CR): not an end of frame for a strict
        # MLLP reader, but many receivers (mllp_ack_server among them) cut the frame there.
        message = oru_r01("EBIN000001", obx_value=b"72" + EB + b"extra")
        result = self.client(ENGINE_PORT, [{"send": frame(message).hex()}, {"frames": 1}])
        self.check_wardgate_alive()
        events, from_device, to_device = self.session(result["local_port"], ENGINE_PORT)
        print(f"\n[0x1C inside] events: {json.dumps(events)}", flush=True)

        # Transparent: every byte reached the engine, 0x1C included. The engine took the frame
        # to end at the 0x1C: it recorded (and acknowledged) exactly the bytes before it, the
        # same bytes the monitor sent.
        self.assertEqual(from_device, len(message) + 3)
        self.assertEqual(result["sent_len"], len(message) + 3)
        records = self.engine_records({"EBIN000001"})
        cut = message[:message.index(EB)]
        self.assertEqual([(r["len"], r["control_id"]) for r in records],
                         [(len(cut), "EBIN000001")], records)
        self.assertEqual(records[0]["sha256"], hashlib.sha256(cut).hexdigest())
        # The engine's ACK came back unchanged: one frame, AA for the control id.
        received = bytes.fromhex(result["received"])
        self.assertEqual(to_device, len(received))
        self.assertEqual([msa(a) for a in mllp_frames(received)], [("AA", "EBIN000001")])

        # One fault, one event: bad-end-block from the device.
        e = self.check_one_framing_error(events, "bad-end-block")
        self.assertIn("0x1C", e["fields"]["detail"])
        # wardgate keeps scanning (the 0x1C is content to it) and audits the whole frame as the
        # message, 0x1C included: size is the full content, although the engine took only the
        # part before the 0x1C. The bad-end-block event is what tells the auditor so.
        messages = [m["fields"] for m in events if m["action"] == "message"]
        self.assertEqual([(m["from"], m["control_id"], m["size"]) for m in messages],
                         [("device", "EBIN000001", len(message))], messages)
        # And the engine's ACK still matched to the monitor's control id.
        acks = [e for e in events if e["action"] == "acknowledgement"]
        self.assertEqual([(a["fields"]["code"], a["fields"]["acknowledged_control_id"])
                          for a in acks], [("AA", "EBIN000001")], acks)

    def test_2_never_ending_frame(self):
        result = self.run_streaming_case("never-ending", NEVER_ENDING_BYTES, end=False)
        self.check_wardgate_alive()
        self.check_well_behaved_audit(result["ids"])
        events, from_device, _ = self.session(result["local_port"], SINK_PORT)
        print(f"[never-ending] events: {json.dumps(events)}", flush=True)

        # Transparent: the sink got every byte the monitor streamed, unchanged.
        self.assertEqual(result["sent_len"], 1 + NEVER_ENDING_BYTES)
        record = self.sink_record(result["seen"])
        self.assertEqual((record["len"], record["sha256"], record["end"]),
                         (result["sent_len"], result["sent_sha256"], "eof"))
        self.assertEqual(from_device, result["sent_len"])

        # Bounded memory: the frame is discarded past the cap, not buffered.
        watch = result["watch"]
        self.assertLess(watch.peak_growth_kib(), RSS_GROWTH_BOUND_KIB, watch.summary())

        # One fault, one event: frame-too-long, raised while the frame was still streaming.
        # The stream then ends inside the discarded frame; that is the same fault, not a
        # second one ("truncated").
        self.assertTrue(result["too_long_at_half"], events)
        e = self.check_one_framing_error(events, "frame-too-long")
        self.assertIn(str(self.max_message), e["fields"]["detail"])
        self.assertEqual([e for e in events if e["action"] in ("message", "acknowledgement")],
                         [])

    def test_3_hundred_mib_message(self):
        # One frame of 100 MiB content, properly ended, then an ordinary message on the same
        # connection: the framer must be back in step after discarding the big one.
        after = oru_r01("AFTER00001")
        result = self.run_streaming_case("huge", HUGE_BYTES, end=True, then=frame(after))
        self.check_wardgate_alive()
        self.check_well_behaved_audit(result["ids"])
        events, from_device, _ = self.session(result["local_port"], SINK_PORT)
        print(f"[100 MiB] events: {json.dumps(events)}", flush=True)

        self.assertEqual(result["sent_len"], 1 + HUGE_BYTES + 2 + len(after) + 3)
        record = self.sink_record(result["seen"])
        self.assertEqual((record["len"], record["sha256"], record["end"]),
                         (result["sent_len"], result["sent_sha256"], "eof"))
        self.assertEqual(from_device, result["sent_len"])

        watch = result["watch"]
        self.assertLess(watch.peak_growth_kib(), RSS_GROWTH_BOUND_KIB, watch.summary())

        self.assertTrue(result["too_long_at_half"], events)
        e = self.check_one_framing_error(events, "frame-too-long")
        self.assertIn(str(self.max_message), e["fields"]["detail"])
        # The big message is not reported as a message; the one after it is (the sink never
        # acknowledges it: wardgate then reports it unacknowledged, which is right).
        messages = [m["fields"] for m in events if m["action"] == "message"]
        self.assertEqual([(m["from"], m["control_id"]) for m in messages],
                         [("device", "AFTER00001")], messages)

    def test_4_binary_junk(self):
        # 256 KiB of random bytes (fixed seed) without any start or end block.
        rng = random.Random(1729)
        junk = bytes(b for b in rng.randbytes(300 * 1024) if b not in (0x0B, 0x1C))[:256 * 1024]
        self.assertEqual(len(junk), 256 * 1024)
        seen = len(self.sink_records())
        result = self.client(SINK_PORT, [{"send": junk.hex()}])
        self.check_wardgate_alive()
        events, from_device, _ = self.session(result["local_port"], SINK_PORT)
        print(f"\n[binary junk] events: {json.dumps(events)}", flush=True)

        record = self.sink_record(seen)
        self.assertEqual((record["len"], record["end"]), (len(junk), "eof"))
        self.assertEqual(bytes.fromhex(record["head"]), junk)
        self.assertEqual(from_device, len(junk))

        # One run of junk, one event, when the run ends (here: at the end of the stream).
        e = self.check_one_framing_error(events, "junk")
        self.assertIn(str(len(junk)), e["fields"]["detail"])
        self.assertEqual([e for e in events if e["action"] != "framing-error"], [])

    def test_5_blank_line_between_messages(self):
        # Designed behaviour: line feeds and carriage returns right after a frame are a
        # tolerated trailer (some senders end each message with a line): no framing error.
        first, second = oru_r01("BLANK00001", 1), oru_r01("BLANK00002", 2)
        result = self.client(ENGINE_PORT, [{"send": (frame(first) + b"\r\n").hex()},
                                           {"frames": 1},
                                           {"send": frame(second).hex()}, {"frames": 2}])
        self.check_wardgate_alive()
        events, from_device, to_device = self.session(result["local_port"], ENGINE_PORT)
        print(f"\n[blank line] events: {json.dumps(events)}", flush=True)

        # Both messages delivered (byte for byte) and acknowledged.
        records = self.engine_records({"BLANK00001", "BLANK00002"})
        self.assertEqual([(r["control_id"], r["len"], r["sha256"], r["ack"]) for r in records],
                         [(m_id, len(m), hashlib.sha256(m).hexdigest(), "AA")
                          for m_id, m in (("BLANK00001", first), ("BLANK00002", second))])
        received = bytes.fromhex(result["received"])
        self.assertEqual([msa(a) for a in mllp_frames(received)],
                         [("AA", "BLANK00001"), ("AA", "BLANK00002")])
        self.assertEqual(from_device, len(first) + 3 + 2 + len(second) + 3)
        self.assertEqual(to_device, len(received))

        self.assertEqual(self.framing_errors(events), [])
        self.assertEqual([(e["fields"]["from"], e["fields"]["control_id"]) for e in events
                          if e["action"] == "message"],
                         [("device", "BLANK00001"), ("device", "BLANK00002")])
        self.assertEqual([(e["fields"]["code"], e["fields"]["acknowledged_control_id"])
                          for e in events if e["action"] == "acknowledgement"],
                         [("AA", "BLANK00001"), ("AA", "BLANK00002")])

    def test_6_unframed_ack(self):
        # An HL7 ACK sent without MLLP framing (no 0x0B, no 0x1C 0x0D): bytes outside frames.
        ack = (b"MSH|^~\\&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122080000||ACK^R01^ACK|"
               b"ACK0000001|P|2.5\rMSA|AA|ENG0000001\r")
        seen = len(self.sink_records())
        result = self.client(SINK_PORT, [{"send": ack.hex()}])
        self.check_wardgate_alive()
        events, from_device, _ = self.session(result["local_port"], SINK_PORT)
        print(f"\n[unframed ACK] events: {json.dumps(events)}", flush=True)

        record = self.sink_record(seen)
        self.assertEqual(bytes.fromhex(record["head"]), ack)
        self.assertEqual(from_device, len(ack))

        # Junk, but recognisably an HL7 message without its framing: the detail says so.
        e = self.check_one_framing_error(events, "junk")
        self.assertIn("hl7 message sent without mllp framing", e["fields"]["detail"].lower(), e)
        self.assertEqual([e for e in events if e["action"] != "framing-error"], [])

    def test_8_hostile_header_field_cannot_make_verify_report_tampering(self):
        # MSH-3 of 900 KiB of control bytes: JSON escaping grows each to six bytes, 5.4 MB,
        # beyond what the store's reader accepts. wardgate must record the message capped and
        # marked, and `audit verify` must still find the store intact.
        hostile = b"\x01" * (900 * 1024)
        message = oru_r01("HOSTILE001", 3).replace(b"|MONITOR|", b"|" + hostile + b"|", 1)
        self.assertLess(len(message), self.max_message)
        result = self.client(ENGINE_PORT, [{"send": frame(message).hex()}, {"frames": 1}])
        self.check_wardgate_alive()
        self.assertEqual([msa(a) for a in mllp_frames(bytes.fromhex(result["received"]))],
                         [("AA", "HOSTILE001")])
        (record,) = self.engine_records({"HOSTILE001"})
        self.assertEqual(record["sha256"], hashlib.sha256(message).hexdigest())  # not one byte changed

        events, _, _ = self.session(result["local_port"], ENGINE_PORT)
        (sent,) = [e for e in events if e["action"] == "message"]
        f = sent["fields"]
        self.assertEqual(f["control_id"], "HOSTILE001")
        self.assertLessEqual(len(f["sending_application"].encode()), 1024)
        self.assertTrue(set(f["sending_application"]) <= {"\x01"}, f["sending_application"][:40])
        self.assertIn(f"sending_application:{len(hostile)}", f["truncated_fields"])

        store = self.lab.running_config[1]["audit"]["store"]["path"]
        verify = subprocess.run([wardgate_bin(), "audit", "verify", "--store", store],
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(verify.returncode, 0, verify.stdout[-3000:] + verify.stderr[-2000:])
        self.assertTrue(verify.stdout.rstrip().endswith("INTACT"), verify.stdout[-2000:])

    def test_7_wardgate_still_serves(self):
        # After all of it, the well-behaved monitor once more.
        self.check_wardgate_alive()
        self.check_well_behaved_audit(self.well_behaved_monitor("FINAL", 5))
        self.assertTrue(self.engine.running())
        self.assertTrue(self.sink.running())


if __name__ == "__main__":
    unittest.main()
