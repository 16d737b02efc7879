#!/usr/bin/python3
"""A small real MLLP (HL7 v2 Minimal Lower Layer Protocol) receiver: the HL7 engine of the tests.

Each connection gets its own thread. Frames are <SB=0x0B> message <EB=0x1C><CR=0x0D>; a frame may
span several reads and several frames may arrive in one read. Bytes outside a frame are ignored.
Every message is answered with an HL7 ACK in an MLLP frame:

    MSH|^~\\&|<MSH-5>|<MSH-6>|<MSH-3>|<MSH-4>|<timestamp>||ACK^<trigger>|<id>|P|<MSH-12>\\r
    MSA|AA|<MSH-10>\\r

built with the field separator and encoding characters of the received MSH. A message without an
MSH segment is answered with MSA|AR and an empty control id.

With --code AE --text TEXT --err-text TEXT the engine refuses instead: MSA|AE|<MSH-10>|TEXT and
ERR|||207^TEXT^HL70357 (ERR-3, HL7 v2.5), as engines do that name the patient they cannot place.

With --out FILE, one JSON line per received message is appended to FILE (and flushed):
    {"n": <0-based index in order of receipt>, "len": <bytes without MLLP framing>,
     "sha256": <hex of those bytes>, "control_id": <MSH-10 or null>, "ack": "AA"|"AR",
     "peer": "<source ip>:<port>"}
The peer is the address the TCP connection came from, so a test can see whether a transparent
proxy kept the sender's address.

Prints "listening on HOST:PORT" (the real port when --port 0) on stdout at start. Exits 0 on
SIGTERM/SIGINT, and by itself after --max-seconds.
"""

import argparse
import hashlib
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import uuid

SB = 0x0B
EB = 0x1C
CR = 0x0D
MAX_FRAME = 64 * 1024 * 1024  # a frame larger than this is dropped (bounded memory)
DEFAULT_ENC = "^~\\&"
DEFAULT_VERSION = "2.5"


def split_frames(buf: bytearray):
    """Removes complete MLLP frames from buf and returns their payloads (without SB/EB/CR)."""
    out = []
    while True:
        start = buf.find(SB)
        if start < 0:
            buf.clear()  # nothing but inter-frame bytes (e.g. the CR after EB)
            return out
        end = buf.find(EB, start + 1)
        if end < 0:
            del buf[:start]  # keep the partial frame from its SB on
            if len(buf) > MAX_FRAME:
                buf.clear()
            return out
        out.append(bytes(buf[start + 1:end]))
        del buf[:end + 1]  # the CR after EB, if already here, is skipped as inter-frame junk


def field(fields, n):
    """MSH-n from the MSH split on its field separator (MSH-1 is the separator itself)."""
    i = n - 1
    return fields[i] if 0 <= i < len(fields) else ""


def build_ack(message: bytes, answer=None):
    """Returns (ack_bytes, control_id or None, ack_code); `answer` (code, MSA-3, ERR text)
    replaces MSA|AA."""
    text = message.decode("latin-1")
    segments = [s for s in text.replace("\r\n", "\r").replace("\n", "\r").split("\r") if s]
    msh = next((s for s in segments if s.startswith("MSH") and len(s) >= 8), None)
    now = time.strftime("%Y%m%d%H%M%S")
    ack_id = uuid.uuid4().hex[:20]
    if msh is None:
        fs, enc = "|", DEFAULT_ENC
        hdr = [f"MSH{fs}{enc}", "", "", "", "", now, "", "ACK", ack_id, "P", DEFAULT_VERSION]
        ack = fs.join(hdr) + "\r" + fs.join(["MSA", "AR", "", "no MSH segment"]) + "\r"
        return ack.encode("latin-1"), None, "AR"
    fs = msh[3]
    fields = msh.split(fs)  # fields[0] = "MSH", fields[1] = MSH-2 (encoding characters)
    enc = fields[1] if len(fields) > 1 and fields[1] else msh[4:8]
    comp = enc[0] if enc else "^"
    msg_type = field(fields, 9).split(comp)
    trigger = msg_type[1] if len(msg_type) > 1 else ""
    control_id = field(fields, 10)
    hdr = [
        "MSH", enc,
        field(fields, 5), field(fields, 6),  # sending app/facility = their receiving ones
        field(fields, 3), field(fields, 4),  # receiving app/facility = their sending ones
        now, "",
        "ACK" + (comp + trigger if trigger else ""),
        ack_id, "P", field(fields, 12),
    ]
    code, text, err_text = answer or ("AA", "", "")
    msa = ["MSA", code, control_id] + ([text] if text else [])
    ack = fs.join(hdr) + "\r" + fs.join(msa) + "\r"
    if err_text:
        ack += fs.join(["ERR", "", "", comp.join(["207", err_text, "HL70357"])]) + "\r"
    return ack.encode("latin-1"), control_id, code


class Recorder:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.n = 0
        self.f = open(path, "a", encoding="utf-8") if path else None

    def record(self, message, control_id, code, peer):
        with self.lock:
            n = self.n
            self.n += 1
            if self.f:
                rec = {"n": n, "len": len(message), "sha256": hashlib.sha256(message).hexdigest(),
                       "control_id": control_id, "ack": code, "peer": peer}
                self.f.write(json.dumps(rec) + "\n")
                self.f.flush()
            return n

    def close(self):
        with self.lock:
            if self.f:
                self.f.close()
                self.f = None


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server
        peer = "%s:%d" % self.client_address[:2]
        if srv.verbose:
            log(f"connection from {peer}")
        buf = bytearray()
        sock = self.request
        while not srv.stopping.is_set():
            try:
                data = sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            buf += data
            for message in split_frames(buf):
                ack, control_id, code = build_ack(message, srv.answer)
                n = srv.recorder.record(message, control_id, code, peer)
                if srv.verbose:
                    log(f"#{n} from {peer}: {len(message)} bytes, control id {control_id!r}, {code}")
                try:
                    sock.sendall(bytes([SB]) + ack + bytes([EB, CR]))
                except OSError:
                    return
        if srv.verbose:
            log(f"connection from {peer} closed")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def log(msg):
    print(f"mllp_ack_server: {msg}", file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser(description="MLLP receiver that ACKs every HL7 v2 message")
    ap.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    ap.add_argument("--port", type=int, default=2575, help="TCP port (default 2575, 0 = any)")
    ap.add_argument("--out", help="append one JSON line per received message to this file")
    ap.add_argument("--max-seconds", type=float, default=3600.0,
                    help="exit by itself after this many seconds (default 3600)")
    ap.add_argument("--code", default="AA", help="MSA-1 of every answer (default AA)")
    ap.add_argument("--text", default="", help="MSA-3 of every answer")
    ap.add_argument("--err-text", default="", help="ERR-3.2 of an ERR segment in every answer")
    ap.add_argument("-v", "--verbose", action="store_true", help="log connections and messages to stderr")
    args = ap.parse_args()

    if ":" in args.host:
        Server.address_family = socket.AF_INET6
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    server = Server((args.host, args.port), Handler)
    server.verbose = args.verbose
    server.answer = (args.code, args.text, args.err_text)
    server.stopping = stop
    server.recorder = Recorder(args.out)
    host, port = server.server_address[:2]
    print(f"listening on {host}:{port}", flush=True)

    loop = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    loop.start()
    if not stop.wait(args.max_seconds) and args.verbose:
        log(f"--max-seconds {args.max_seconds:g} reached")
    stop.set()
    server.shutdown()
    server.server_close()
    server.recorder.close()
    sys.stdout.flush()
    # Connection threads are daemons blocked in recv(); leave without waiting for their peers.
    os._exit(0)


if __name__ == "__main__":
    main()
