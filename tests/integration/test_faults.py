"""Fault handling of the transparent proxy, end to end in a namespace lab.

What a hospital network engineer checks before letting an appliance between the modalities and the
PACS: a dead or silent PACS is reported to the modality at once (reset) and logged once; a flood
of connections is relayed byte-exact or cut by the per-device limit with one log line, not
thousands; TCP semantics (half-close, reset) survive the split; SIGTERM drains and cleans up; a
crash leaves nothing that stacks up on restart; a bad configuration changes nothing; and the lab
tooling removes exactly its own namespaces.

The peers are small Python programs written into the lab's work directory and run with Debian's
/usr/bin/python3 inside the lab's namespaces: SERVER_PY (in the PACS namespace) and CLIENT_PY (in
a modality's namespace). Every client prints one JSON line with what it observed.
"""

import json
import re
import signal
import subprocess
import time
import unittest

from labkit import REPO, Lab, LabTestCase, wait_for, wardgate_bin

PY = "/usr/bin/python3"

SERVER_PY = r'''
import argparse, asyncio, hashlib, resource, socket, struct

def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

async def echo(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    writer.close()

async def halfclose(reader, writer):
    # Reads until the client's FIN, then answers and closes: works only if the proxy propagated
    # the client's half-close without closing the other direction.
    data = await reader.read()
    writer.write(b"RECEIVED %d %s\n" % (len(data), hashlib.sha256(data).hexdigest().encode()))
    writer.write(data[::-1])
    await writer.drain()
    writer.close()

async def rst(reader, writer):
    # Reads the first bytes, then aborts: SO_LINGER {1, 0} makes close() send RST, not FIN.
    await reader.read(1)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()

async def main(args):
    raise_nofile()
    handler = {"echo": echo, "halfclose": halfclose, "rst": rst}[args.mode]
    server = await asyncio.start_server(handler, "0.0.0.0", args.port, backlog=4096)
    print("listening", args.port, args.mode, flush=True)
    async with server:
        await asyncio.sleep(args.max_seconds)

ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=["echo", "halfclose", "rst"])
ap.add_argument("port", type=int)
ap.add_argument("--max-seconds", type=float, default=300)
asyncio.run(main(ap.parse_args()))
'''

CLIENT_PY = r'''
import argparse, asyncio, hashlib, json, os, resource, socket, time

def out(obj):
    print(json.dumps(obj), flush=True)

def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

def probe(a):
    """Connects, then waits for what the proxy does with the connection: reset, EOF or silence."""
    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    local_port = s.getsockname()[1]
    s.settimeout(a.timeout)
    t0 = time.monotonic()
    try:
        s.connect((a.host, a.port))
    except ConnectionResetError:
        # The handshake completed and the reset followed so fast (well under a millisecond in
        # the lab) that it was already there when connect() collected the result. A peer that
        # refuses the SYN itself gives ConnectionRefusedError instead.
        return out({"connected": True, "local_port": local_port, "outcome": "reset",
                    "elapsed": time.monotonic() - t0})
    except OSError as e:
        return out({"connected": False, "error": type(e).__name__,
                    "elapsed": time.monotonic() - t0})
    try:
        if a.send:
            s.sendall(a.send.encode())
        data = s.recv(1024)
        outcome = "eof" if data == b"" else "data"
    except (ConnectionResetError, BrokenPipeError):
        outcome = "reset"
    except socket.timeout:
        outcome = "timeout"
    out({"connected": True, "local_port": local_port, "outcome": outcome,
         "elapsed": time.monotonic() - t0})

def payload(i, size):
    seed = hashlib.sha256(b"wardgate-%d" % i).digest()
    return (seed * (size // len(seed) + 1))[:size]

async def many(a):
    """Opens N connections at once, then each sends a distinct payload and reads its echo."""
    raise_nofile()
    deadline = a.timeout
    async def open_one(i):
        return await asyncio.wait_for(asyncio.open_connection(a.host, a.port), deadline)
    conns = await asyncio.gather(*(open_one(i) for i in range(a.n)), return_exceptions=True)
    opened = [c for c in conns if not isinstance(c, BaseException)]
    open_errors = [type(c).__name__ for c in conns if isinstance(c, BaseException)]
    async def exchange(i, conn):
        reader, writer = conn
        data = payload(i, a.size)
        writer.write(data)
        await writer.drain()
        echo = await asyncio.wait_for(reader.readexactly(a.size), deadline)
        writer.close()
        await writer.wait_closed()
        return echo == data
    results = await asyncio.gather(*(exchange(i, c) for i, c in enumerate(opened)),
                                   return_exceptions=True)
    out({"opened": len(opened), "open_errors": open_errors[:5],
         "exact": sum(1 for r in results if r is True),
         "mismatched": sum(1 for r in results if r is False),
         "errors": [type(r).__name__ for r in results if isinstance(r, BaseException)][:5]})

async def hold(a):
    """Opens N connections at once, classifies each as relayed (its echo came back) or refused
    (reset or closed by the proxy), keeps the relayed ones open until the release file appears."""
    raise_nofile()
    async def one(i):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(a.host, a.port), 5)
        except ConnectionResetError:
            return ("refused", None)  # accepted, then reset before connect() returned
        except (OSError, asyncio.TimeoutError):
            return ("connect-failed", None)
        data = payload(i, 32)
        try:
            writer.write(data)
            await writer.drain()
            echo = await asyncio.wait_for(reader.readexactly(32), 5)
        except (OSError, asyncio.IncompleteReadError):
            writer.close()
            return ("refused", None)
        except asyncio.TimeoutError:
            writer.close()
            return ("silent", None)  # neither relayed nor refused: a stuck connection
        return ("relayed" if echo == data else "corrupted", writer)
    results = await asyncio.gather(*(one(i) for i in range(a.n)))
    counts = {}
    for kind, _ in results:
        counts[kind] = counts.get(kind, 0) + 1
    out({"holding": counts})
    end = time.monotonic() + a.timeout
    while not os.path.exists(a.release) and time.monotonic() < end:
        await asyncio.sleep(0.05)
    for kind, writer in results:
        if writer is not None:
            writer.close()
    await asyncio.sleep(0.2)
    out({"released": True})

def halfclose(a):
    data = payload(7, a.size)
    s = socket.create_connection((a.host, a.port), timeout=a.timeout)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    reply = bytearray()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        reply += chunk
    header, _, body = bytes(reply).partition(b"\n")
    expected = b"RECEIVED %d %s" % (len(data), hashlib.sha256(data).hexdigest().encode())
    out({"header_ok": header == expected, "header": header.decode(errors="replace"),
         "body_ok": body == data[::-1], "body_len": len(body)})

def rst(a):
    s = socket.create_connection((a.host, a.port), timeout=a.timeout)
    s.sendall(b"hello")
    t0 = time.monotonic()
    try:
        data = s.recv(1)
        outcome = "eof" if data == b"" else "data"
    except ConnectionResetError:
        outcome = "reset"
    except socket.timeout:
        outcome = "timeout"
    out({"outcome": outcome, "elapsed": time.monotonic() - t0})

def slow(a):
    """A long transfer: one chunk every interval, each echoed back, so it is in progress for
    chunks x interval seconds. Prints a line after the first echo."""
    s = socket.create_connection((a.host, a.port), timeout=a.timeout)
    local_port = s.getsockname()[1]
    sent = received = 0
    try:
        for i in range(a.chunks):
            data = payload(i, a.size)
            s.sendall(data)
            sent += len(data)
            got = bytearray()
            while len(got) < len(data):
                chunk = s.recv(len(data) - len(got))
                if not chunk:
                    raise ConnectionError("EOF before the echo")
                got += chunk
            if bytes(got) != data:
                raise ValueError("echo differs")
            received += len(got)
            if i == 0:
                out({"started": True, "local_port": local_port})
            time.sleep(a.interval)
        s.shutdown(socket.SHUT_WR)
        tail = s.recv(1)
        out({"complete": tail == b"", "sent": sent, "received": received})
    except (OSError, ValueError) as e:
        out({"complete": False, "error": type(e).__name__, "sent": sent, "received": received})

async def idle(a):
    """Opens N connections that never send, then waits for each to be closed by the proxy."""
    raise_nofile()
    t0 = time.monotonic()
    async def one(i):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(a.host, a.port), 5)
        except (OSError, asyncio.TimeoutError) as e:
            return ("connect-failed", 0.0)
        try:
            data = await asyncio.wait_for(reader.read(1), a.timeout)
            kind = "eof" if data == b"" else "data"
        except ConnectionResetError:
            kind = "reset"
        except asyncio.TimeoutError:
            kind = "open"
        writer.close()
        return (kind, time.monotonic() - t0)
    results = await asyncio.gather(*(one(i) for i in range(a.n)))
    counts = {}
    for kind, _ in results:
        counts[kind] = counts.get(kind, 0) + 1
    closed = [t for kind, t in results if kind in ("eof", "reset")]
    out({"outcomes": counts, "first_closed": min(closed, default=None),
         "last_closed": max(closed, default=None)})

HL7_MSH = b"MSH|^~\\&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261203080000||ORU^R01^ORU_R01|%s|P|2.5"

def hl7_frame(control_id):
    return b"\x0b" + HL7_MSH % control_id + b"\rPID|1||PID001^^^HOSP^MR||Doe^Jane\r\x1c\r"

def read_frame(s):
    got = b""
    while not got.endswith(b"\x1c\r"):
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("EOF before the acknowledgement")
        got += chunk
    return got

def trickle(a):
    """One whole HL7 message (acknowledged), then the next one a byte at a time every interval:
    reports when the proxy closed the connection, counted from the first trickled byte."""
    s = socket.create_connection((a.host, a.port), timeout=a.timeout)
    s.sendall(hl7_frame(b"TRICKLE1"))
    ack = read_frame(s)
    rest = hl7_frame(b"TRICKLE2")
    t0 = time.monotonic()
    outcome, sent = "open", 0
    s.settimeout(a.interval)
    for byte in rest[:-3]:  # never the end of the frame
        try:
            s.sendall(bytes([byte]))
            sent += 1
            if s.recv(1) == b"":
                outcome = "eof"
                break
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            outcome = "reset"
            break
        if time.monotonic() - t0 > a.chunks:
            break
    out({"first_acked": b"MSA|AA|TRICKLE1" in ack, "outcome": outcome, "bytes_trickled": sent,
         "elapsed": time.monotonic() - t0})

async def hoard(a):
    """N connections, each sending an HL7 frame of SIZE bytes that never ends, then waiting:
    reports how many the proxy closed and how many it let hold their frame."""
    async def one(i):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(a.host, a.port), 5)
        except (OSError, asyncio.TimeoutError):
            return "connect-failed"
        body = b"\x0b" + HL7_MSH % (b"HOARD%d" % i) + b"\rNTE|1||" + b"x" * a.size
        try:
            for off in range(0, len(body), 65536):
                writer.write(body[off:off + 65536])
                await writer.drain()
                await asyncio.sleep(0.01)
            data = await asyncio.wait_for(reader.read(1), a.timeout)
            kind = "closed" if data == b"" else "data"
        except (ConnectionResetError, BrokenPipeError):
            kind = "closed"
        except asyncio.TimeoutError:
            kind = "holding"
        writer.close()
        return kind
    results = await asyncio.gather(*(one(i) for i in range(a.n)))
    out({kind: results.count(kind) for kind in set(results)})

ap = argparse.ArgumentParser()
ap.add_argument("cmd")
ap.add_argument("host")
ap.add_argument("port", type=int)
ap.add_argument("--n", type=int, default=1)
ap.add_argument("--size", type=int, default=1024)
ap.add_argument("--timeout", type=float, default=10)
ap.add_argument("--release")
ap.add_argument("--send", help="probe: send this text after connecting")
ap.add_argument("--chunks", type=int, default=10)
ap.add_argument("--interval", type=float, default=0.2)
a = ap.parse_args()
if a.cmd in ("many", "hold", "idle", "hoard"):
    asyncio.run({"many": many, "hold": hold, "idle": idle, "hoard": hoard}[a.cmd](a))
else:
    {"probe": probe, "halfclose": halfclose, "rst": rst, "slow": slow, "trickle": trickle}[a.cmd](a)
'''


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


class FaultTests(LabTestCase):
    lab_name = "itflt"

    @classmethod
    def set_up_lab(cls, lab):
        cls.server_py = cls.lab.workdir / "server.py"
        cls.client_py = cls.lab.workdir / "client.py"
        cls.server_py.write_text(SERVER_PY)
        cls.client_py.write_text(CLIENT_PY)

    # -- helpers ---------------------------------------------------------------------------
    def start_wardgate(self, **proxy):
        # These faults are about TCP itself: the peers speak no DICOM, so the ports are plain
        # "tcp" services (on a "dicom" port, the decoder would rightly abort them).
        config = self.lab.plain_tcp_config(proxy=proxy)
        wg = self.lab.start_wardgate(config)
        self.addCleanup(wg.stop)
        return wg

    def start_server(self, mode, port=104):
        proc = self.lab.start("pacs", [PY, self.server_py, mode, port], ready_port=port)
        self.addCleanup(proc.stop)
        return proc

    def client(self, role, cmd, port=104, timeout=10, **opts):
        """Runs a client to completion; `timeout` is the client's own socket timeout, the
        process gets a little more."""
        argv = [PY, self.client_py, cmd, self.lab.ip("pacs"), port, "--timeout", timeout]
        for key, value in opts.items():
            argv += [f"--{key}", value]
        result = self.lab.run(role, argv, timeout=timeout + 30)
        lines = json_lines(result.stdout.decode())
        self.assertTrue(lines, f"client {cmd} printed nothing: {result.stderr.decode()}")
        return lines[-1]

    def start_client(self, role, cmd, port=104, **opts):
        argv = [PY, self.client_py, cmd, self.lab.ip("pacs"), port]
        for key, value in opts.items():
            argv += [f"--{key}", value]
        proc = self.lab.start(role, argv)
        self.addCleanup(proc.stop)
        return proc

    def session_lines(self, wg, port=104, role="ct"):
        pattern = re.compile(
            rf"session \d+: {re.escape(self.lab.ip(role))}:\d+ -> "
            rf"{re.escape(self.lab.ip('pacs'))}:{port} \([\w-]+\) closed after ")
        return [line for line in wg.log().splitlines() if pattern.search(line)]

    def gw_state(self):
        """wardgate's kernel state in the appliance namespace: nft tables, fwmark rules and the
        routes of its routing table (100)."""
        def lines(argv):
            out = self.lab.run("gw", argv).stdout.decode()
            return [line.strip() for line in out.splitlines() if line.strip()]
        return (lines(["nft", "list", "tables"]),
                [r for r in lines(["ip", "-4", "rule", "show"]) if "fwmark" in r],
                lines(["ip", "-4", "route", "show", "table", "100"]))

    # -- (a) upstream refuses ---------------------------------------------------------------
    def test_a_upstream_refused_resets_device_promptly(self):
        # "Promptly" without a stopwatch: the connect timeout is far beyond the client's patience,
        # so a reset the client sees comes from the PACS's RST, never from the timeout.
        wg = self.start_wardgate(connect_timeout_ms=60000)
        # Nothing listens on pacs:104: the PACS answers the proxy's SYN with RST.
        self.assertEqual(self.lab.run("pacs", ["ss", "-Htln", "sport = :104"]).stdout, b"")
        r = self.client("ct", "probe", 104, timeout=10)
        self.assertTrue(r["connected"], f"the proxy should accept the diverted connection: {r}")
        self.assertEqual(r["outcome"], "reset", r)
        ct, pacs = self.lab.ip("ct"), self.lab.ip("pacs")
        self.assertTrue(wg.wait_log("did not accept", 5), wg.log())
        warnings = [line for line in wg.log().splitlines() if "did not accept the connection" in line]
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn(f"upstream {pacs}:104 ", warnings[0])
        self.assertIn(f"from device {ct}:{r['local_port']} -> {pacs}:104", warnings[0])
        self.assertIn("resetting the device's connection", warnings[0])

    # -- (b) upstream silent ----------------------------------------------------------------
    def test_b_upstream_silent_times_out_and_resets(self):
        # The PACS host drops SYNs to 11112 silently (a firewall), in its own namespace.
        table = "itfltdrop"
        self.lab.run("pacs", ["nft", "-f", "-"], input=(
            f"table ip {table} {{\n"
            f"  chain input {{\n"
            f"    type filter hook input priority 0; policy accept;\n"
            f"    tcp dport 11112 drop\n"
            f"  }}\n"
            f"}}\n").encode())
        self.addCleanup(self.lab.run, "pacs", ["nft", "delete", "table", "ip", table], check=False)
        wg = self.start_wardgate(connect_timeout_ms=500)
        r = self.client("ct", "probe", 11112, timeout=20)
        self.assertTrue(r["connected"], r)
        # Reset by the connect timeout: never before it (a timer cannot fire early); the client's
        # own 20 s patience stands in for "soon after", without a bound a busy machine could miss.
        self.assertIn(r["outcome"], ("reset", "eof"), r)
        self.assertGreaterEqual(r["elapsed"], 0.45, r)
        self.assertTrue(wg.wait_log("did not accept", 5), wg.log())
        warnings = [line for line in wg.log().splitlines() if "did not accept the connection" in line]
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn(f"upstream {self.lab.ip('pacs')}:11112 ", warnings[0])
        self.assertIn(f"from device {self.lab.ip('ct')}:{r['local_port']} ", warnings[0])
        self.assertIn("no answer within connect timeout", warnings[0])

    # -- (c) 1 000 simultaneous connections --------------------------------------------------
    def test_c_thousand_simultaneous_connections(self):
        n = 1000
        # All from one device: the default per-device limit (256) would cut them.
        wg = self.start_wardgate(max_connections_per_device=2000)
        self.start_server("echo")
        r = self.client("ct", "many", 104, timeout=30, n=n, size=1024)
        self.assertEqual(r["opened"], n, r)
        self.assertEqual(r["exact"], n, r)
        self.assertEqual(r["mismatched"], 0, r)
        self.assertTrue(wait_for(lambda: len(self.session_lines(wg)) >= n, 20),
                        f"{len(self.session_lines(wg))} session lines")
        lines = self.session_lines(wg)
        self.assertEqual(len(lines), n)
        for line in lines:
            self.assertIn("1024 bytes from device (eof), 1024 bytes to device (eof)", line)
        self.assertNotIn("connection limit", wg.log())

    # -- (d) per-device limit ----------------------------------------------------------------
    def test_d_per_device_limit(self):
        wg = self.start_wardgate(max_connections_per_device=50)
        self.start_server("echo")
        release = self.lab.workdir / "release-d"
        holder = self.start_client("ct", "hold", 104, n=200, release=release, timeout=60)
        self.assertTrue(wait_for(lambda: '"holding"' in holder.log(), 30), holder.log())
        counts = json_lines(holder.log())[0]["holding"]
        self.assertEqual(counts, {"relayed": 50, "refused": 150})

        ct = self.lab.ip("ct")
        hits = [line for line in wg.log().splitlines() if "reached its limit" in line]
        self.assertEqual(len(hits), 1, hits)
        self.assertIn(f"device {ct} reached its limit of 50 concurrent connections", hits[0])

        # Another device is not starved while the CT holds its 50.
        r = self.client("us", "many", 104, n=5, size=1024)
        self.assertEqual(r["exact"], 5, r)

        release.write_text("go")
        self.assertTrue(holder.wait_log('"released"', 30), holder.log())
        self.assertTrue(wg.wait_log("below its connection limit again", 10), wg.log())
        summary = [line for line in wg.log().splitlines() if "below its connection limit again" in line]
        self.assertEqual(len(summary), 1, summary)
        self.assertIn(f"device {ct} is below its connection limit again: 150 connections were "
                      "refused", summary[0])
        self.assertEqual(len([line for line in wg.log().splitlines() if "reached its limit" in line]), 1)
        self.assertTrue(wait_for(lambda: len(self.session_lines(wg, role="ct")) >= 50, 10))
        self.assertEqual(len(self.session_lines(wg, role="ct")), 50)
        self.assertEqual(wg.stop(), 0)
        self.assertRegex(wg.log(), r"stopped: 55 sessions, 150 refused by connection limits")

    # -- (e) half-close ----------------------------------------------------------------------
    def test_e_half_close_is_propagated(self):
        wg = self.start_wardgate()
        self.start_server("halfclose")
        r = self.client("ct", "halfclose", 104, size=256 * 1024)
        self.assertTrue(r["header_ok"], r)
        self.assertTrue(r["body_ok"], r)
        self.assertTrue(wait_for(lambda: self.session_lines(wg), 5), wg.log())
        line = self.session_lines(wg)[0]
        self.assertIn(f"{256 * 1024} bytes from device (eof)", line)
        self.assertRegex(line, r"\d+ bytes to device \(eof\)")

    # -- (f) reset propagation ---------------------------------------------------------------
    def test_f_reset_is_propagated(self):
        wg = self.start_wardgate()
        self.start_server("rst")
        r = self.client("ct", "rst", 104, timeout=10)
        # A reset, not the client's timeout nor an orderly end: the PACS's RST went through.
        self.assertEqual(r["outcome"], "reset", r)
        self.assertTrue(wait_for(lambda: self.session_lines(wg), 5), wg.log())
        self.assertIn("bytes to device (reset)", self.session_lines(wg)[0])

    # -- (g) graceful SIGTERM ----------------------------------------------------------------
    def test_g_sigterm_drains_and_cleans_up(self):
        wg = self.start_wardgate(drain_timeout_s=10)
        self.start_server("echo")
        # About 4 s of transfer: 20 chunks, one every 0.2 s.
        slow = self.start_client("ct", "slow", 104, chunks=20, interval=0.2, size=4096)
        self.assertTrue(slow.wait_log('"started"', 10), slow.log())
        tables, rules, routes = self.gw_state()
        self.assertIn("table ip wardgate", tables)
        self.assertEqual(len(rules), 1, rules)

        t_term = time.monotonic()
        wg.popen.send_signal(signal.SIGTERM)
        self.assertTrue(wg.wait_log("draining", 5), wg.log())
        self.assertRegex(wg.log(), r"draining 1 open sessions? for up to 10 s")
        # A new device connection during the drain must be refused: neither relayed nor let
        # around wardgate. Outcome "data" means the PACS itself echoed the probe, i.e. the
        # connection was routed past the proxy. Asserted last, so the drain checks run anyway.
        during_drain = self.client("us", "probe", 104, send="are you wardgate?", timeout=2)

        self.assertTrue(slow.wait_log('"complete"', 15), slow.log())
        result = json_lines(slow.log())[-1]
        self.assertTrue(result["complete"], result)
        self.assertEqual(result["received"], 20 * 4096)
        wg.popen.wait(timeout=15)
        self.assertEqual(wg.popen.returncode, 0, wg.log())
        self.assertLess(time.monotonic() - t_term, 10 + 3)
        self.assertNotIn("drain deadline reached", wg.log())
        lines = self.session_lines(wg)
        self.assertEqual(len(lines), 1, wg.log())
        self.assertIn(f"{20 * 4096} bytes from device (eof)", lines[0])

        tables, rules, routes = self.gw_state()
        self.assertFalse([t for t in tables if "wardgate" in t], tables)
        self.assertEqual(rules, [])
        self.assertEqual(routes, [])

        self.assertFalse(self.session_lines(wg, role="us"))
        refused = (during_drain.get("error") == "ConnectionRefusedError"
                   or during_drain.get("outcome") in ("reset", "eof"))
        self.assertTrue(refused, f"a new connection during the drain was not refused promptly: "
                                 f"{during_drain}")

    # -- (h) kill -9, then restart -----------------------------------------------------------
    def test_h_restart_after_kill_replaces_stale_state(self):
        wg = self.start_wardgate()
        wg.stop(signal.SIGKILL)
        tables, rules, routes = self.gw_state()
        self.assertIn("table ip wardgate", tables, "kill -9 cannot clean up; the state is stale")
        self.assertEqual(len(rules), 1, rules)

        wg2 = self.start_wardgate()
        tables, rules, routes = self.gw_state()
        self.assertEqual([t for t in tables if "wardgate" in t], ["table ip wardgate"])
        self.assertEqual(len(rules), 1, rules)
        self.assertIn("fwmark 0x1 lookup 100", rules[0])
        self.assertEqual(routes, ["local default dev lo proto static scope host"])

        self.start_server("echo")
        r = self.client("ct", "many", 104, n=3, size=1024)
        self.assertEqual(r["exact"], 3, r)
        self.assertTrue(wait_for(lambda: len(self.session_lines(wg2)) == 3, 5), wg2.log())

        self.assertEqual(wg2.stop(), 0)
        tables, rules, routes = self.gw_state()
        self.assertFalse([t for t in tables if "wardgate" in t], tables)
        self.assertEqual(rules, [])
        self.assertEqual(routes, [])

    # -- (i) invalid configuration -----------------------------------------------------------
    def test_i_invalid_config_applies_nothing(self):
        base = self.lab.wardgate_config()
        unknown = json.loads(json.dumps(base))
        unknown["proxy"]["max_conections"] = 10
        bad_value = json.loads(json.dumps(base))
        bad_value["proxy"]["connect_timeout_ms"] = 5
        bad_port = json.loads(json.dumps(base))
        bad_port["interception"]["services"][1]["port"] = 70000
        cases = [
            ("unknown-key.json", json.dumps(unknown), "proxy.max_conections", "unknown key"),
            ("bad-value.json", json.dumps(bad_value), "proxy.connect_timeout_ms", "from 100 to"),
            ("bad-port.json", json.dumps(bad_port), "interception.services[1].port", "65535"),
            ("bad-json.json", json.dumps(base)[:-12], "bad-json.json", "not valid JSON"),
        ]
        for name, text, key, reason in cases:
            with self.subTest(name):
                path = self.lab.workdir / name
                path.write_text(text)
                result = self.lab.run("gw", [wardgate_bin(), "run", "--config", path],
                                      check=False, timeout=10)
                self.assertEqual(result.returncode, 2)
                self.assertEqual(result.stdout, b"")
                err = result.stderr.decode().strip().splitlines()
                self.assertEqual(len(err), 1, err)
                self.assertIn(key, err[0])
                self.assertIn(reason, err[0])
                check = subprocess.run([wardgate_bin(), "config", "check", str(path)],
                                       capture_output=True, text=True, timeout=10)
                self.assertEqual(check.returncode, 2)
                self.assertIn(key, check.stderr)
                tables, rules, routes = self.gw_state()
                self.assertEqual(tables, [])
                self.assertEqual(rules, [])
                self.assertEqual(routes, [])
                listening = self.lab.run("gw", ["ss", "-Htln"]).stdout.decode().strip()
                self.assertEqual(listening, "")

    # -- (j) lab down ------------------------------------------------------------------------
    def test_j_lab_down_removes_only_its_lab(self):
        # "itfj" is a prefix of "itfj2": a sloppy match would take both down.
        doomed, other = Lab("itfj"), Lab("itfj2")
        self.addCleanup(other.down)
        self.addCleanup(doomed.down)
        doomed.up()
        other.up()
        sleeper = doomed.start("ct", ["sleep", "60"])
        roles = ["gw", "ct", "us", "mon", "pacs", "hl7"]

        def namespaces():
            out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                                 check=True).stdout
            return {line.split()[0] for line in out.splitlines() if line.strip()}

        before = namespaces()
        result = subprocess.run([wardgate_bin(), "lab", "down", "--name", "itfj"],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        after = namespaces()
        self.assertEqual(before - after, {f"itfj-{r}" for r in roles})
        for lab in (other, self.lab):
            for r in roles:
                self.assertIn(f"{lab.name}-{r}", after)
        self.assertTrue(wait_for(lambda: not sleeper.running(), 5),
                        "a process of the removed lab survived")
        status = subprocess.run([wardgate_bin(), "lab", "status", "--name", "itfj2"],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(status.returncode, 0, status.stdout)
        # The surviving lab still routes CT -> PACS through its appliance namespace: the PACS
        # host answers a SYN to a closed port with RST (ECONNREFUSED, 111).
        probe = other.run("ct", [PY, "-c", "import socket,sys; s=socket.socket(); s.settimeout(2);"
                                 "sys.exit(0 if s.connect_ex((sys.argv[1], 9)) == 111 else 1)",
                                 other.ip("pacs")], check=False)
        self.assertEqual(probe.returncode, 0, "the other lab lost its routing")

    # -- (k) bulk transfers that end with a reset ------------------------------------------
    def test_k_bulk_transfers_ending_in_resets_leave_wardgate_running(self):
        # iperf3's server resets its data connection at the end of each test; the zero-copy path
        # once died of the SIGPIPE that splice(2) into such a socket raises.
        wg = self.start_wardgate()
        server = self.lab.start("pacs", ["iperf3", "-s", "-p", "11112"], ready_port=11112)
        self.addCleanup(server.stop)
        for run in range(3):
            result = self.lab.run("ct", ["iperf3", "-c", self.lab.ip("pacs"), "-p", "11112",
                                         "-t", "1", "-J"], timeout=30, check=False)
            self.assertEqual(result.returncode, 0, result.stdout[-500:])
            self.assertTrue(wg.running(), f"wardgate died in run {run}:\n{wg.log()}")
            # Control and data connection of this run, both through wardgate.
            self.assertTrue(wait_for(lambda: len(self.session_lines(wg, port=11112)) >= 2 * (run + 1),
                                     5), wg.log())
        self.assertEqual(wg.stop(), 0)


    # -- (l)-(o) deadlines, the held-bytes budget, descriptors (issue 13, item 4) ------------
    def start_clinical_wardgate(self, **sections):
        """The lab's configuration with its DICOM and HL7 services inspected."""
        wg = self.lab.start_wardgate(self.lab.wardgate_config(**sections))
        self.addCleanup(wg.stop)
        return wg

    def start_engine(self):
        received = self.lab.workdir / f"engine-{self._testMethodName}.jsonl"
        proc = self.lab.start("hl7", [PY, REPO / "tests" / "peers" / "mllp_ack_server.py",
                                      "--port", "2575", "--out", received, "--max-seconds", "120"],
                              ready_port=2575, ready_text="listening on")
        self.addCleanup(proc.stop)
        return received

    def hl7_client(self, role, cmd, timeout=10, **opts):
        argv = [PY, self.client_py, cmd, self.lab.ip("hl7"), 2575, "--timeout", timeout]
        for key, value in opts.items():
            argv += [f"--{key}", value]
        result = self.lab.run(role, argv, timeout=timeout + 60)
        lines = json_lines(result.stdout.decode())
        self.assertTrue(lines, f"client {cmd} printed nothing: {result.stderr.decode()}")
        return lines[-1]

    def test_l_connections_that_never_send_are_closed_at_the_first_message_deadline(self):
        self.start_server("echo")
        wg = self.start_clinical_wardgate(proxy={"first_message_timeout_s": 2})
        # 40 connections to the PACS's DICOM port that never send an A-ASSOCIATE-RQ.
        r = self.client("ct", "idle", 104, timeout=15, n=40)
        self.assertEqual(r["outcomes"], {"eof": 40}, r)
        self.assertGreaterEqual(r["first_closed"], 1.9, r)
        self.assertLess(r["last_closed"], 8, r)
        self.assertTrue(wait_for(lambda: wg.log().count(
            "closed by wardgate: no complete first message within the first-message timeout")
            == 40, 5), wg.log()[-3000:])

    def test_m_a_device_trickling_one_message_is_closed_at_the_message_deadline(self):
        received = self.start_engine()
        wg = self.start_clinical_wardgate(proxy={"message_timeout_s": 3,
                                                 "first_message_timeout_s": 30})
        r = self.hl7_client("mon", "trickle", timeout=30, interval=1.0, chunks=20)
        self.assertTrue(r["first_acked"], r)  # a whole message passes as before
        self.assertIn(r["outcome"], ("eof", "reset"), r)
        self.assertGreaterEqual(r["elapsed"], 2.5, r)
        self.assertLess(r["elapsed"], 7, r)
        self.assertTrue(wait_for(lambda: "a message from the device was not completed within the "
                                 "message timeout" in wg.log(), 5), wg.log()[-3000:])
        got = [json.loads(line) for line in received.read_text().splitlines()]
        self.assertEqual([m["control_id"] for m in got], ["TRICKLE1"])

    def test_n_held_bytes_budget_refuses_hoarders_and_lets_a_good_device_through(self):
        received = self.start_engine()
        wg = self.start_clinical_wardgate(proxy={"held_bytes_budget_mib": 4,
                                                 "message_timeout_s": 60},
                                          hl7={"enforce": True})
        # Two devices, three connections each, each holding a 1 000 000-byte frame that never
        # ends (under the 1 MiB maximum message size, so it must be held): 6 MB wanted, 4 MiB
        # allowed.
        hoarders = [self.lab.start(role, [PY, self.client_py, "hoard", self.lab.ip("hl7"), 2575,
                                          "--n", 3, "--size", 1_000_000, "--timeout", 8])
                    for role in ("ct", "us")]
        for proc in hoarders:
            self.addCleanup(proc.stop)
        self.assertTrue(wait_for(lambda: all(json_lines(p.log()) for p in hoarders), 40))
        # While the hoarders that fit still hold their frames, the monitor's message gets through.
        r = self.hl7_client("mon", "trickle", timeout=10, interval=0.2, chunks=1)
        self.assertTrue(r["first_acked"], r)
        results = [json_lines(p.log())[-1] for p in hoarders]
        closed = sum(x.get("closed", 0) for x in results)
        holding = sum(x.get("holding", 0) for x in results)
        self.assertGreaterEqual(closed, 2, results)  # 6 x 1 MB do not fit in 4 MiB
        self.assertGreaterEqual(holding, 1, results)  # and the budget is not refused to all
        self.assertEqual(closed + holding, 6, results)
        self.assertEqual(wg.log().count("the held-bytes budget shared by all sessions is spent"),
                         closed, wg.log()[-3000:])
        got = [json.loads(line) for line in received.read_text().splitlines()]
        self.assertEqual([m["control_id"] for m in got], ["TRICKLE1"])  # no hoarded frame
        self.assertIsNone(wg.popen.poll())

    def test_o_a_descriptor_limit_too_low_for_max_connections_refuses_to_start(self):
        def nft_tables():
            return self.lab.run("gw", ["nft", "list", "tables"]).stdout
        before = nft_tables()
        config = self.lab.wardgate_config(proxy={"max_connections": 10000, "threads": 1})
        path = self.lab.write_config(config, "nofile.json")
        result = self.lab.run("gw", ["sh", "-c", f"ulimit -n 512 && exec {wardgate_bin()} run "
                                     f"--config {path}"], timeout=30, check=False)
        err = result.stderr.decode()
        self.assertEqual(result.returncode, 1, err)
        self.assertIn("the descriptor limit (RLIMIT_NOFILE) is 512 (hard limit 512)", err)
        # Two sockets per session, a listener, and 256 for the rest of the process.
        self.assertIn("proxy.max_connections 10000 needs up to 20257", err)
        self.assertEqual(nft_tables(), before)  # nothing applied
        # The same limit is enough for fewer connections: the soft limit alone is raised.
        config["proxy"].update({"max_connections": 20, "max_connections_per_device": 20})
        path = self.lab.write_config(config, "nofile-ok.json")
        wg = self.lab.start("gw", ["sh", "-c", f"ulimit -Sn 64 && ulimit -Hn 512 && exec "
                                   f"{wardgate_bin()} run --config {path}"],
                            ready_text=" ready: ", timeout=15)
        wg.stop()
        # Left at its default, max_connections is fitted to the limit instead (a gateway that
        # refuses to start would cut every device off), with a warning naming the limit.
        del config["proxy"]["max_connections"], config["proxy"]["max_connections_per_device"]
        path = self.lab.write_config(config, "nofile-default.json")
        wg = self.lab.start("gw", ["sh", "-c", f"ulimit -n 512 && exec {wardgate_bin()} run "
                                   f"--config {path}"], ready_text=" ready: ", timeout=15)
        self.addCleanup(wg.stop)
        # (512 - 1 worker - 256 for the rest) / 2 sockets per session.
        self.assertIn("the descriptor limit (RLIMIT_NOFILE) is 512: proxy.max_connections lowered "
                      "from its default 5000 to 127", wg.log())


if __name__ == "__main__":
    unittest.main()
