"""audit.store.on_failure end to end, in a namespace lab: while the audit store cannot keep
records (here: free space below audit.store.min_free_mb, set above what the disk has), fail-closed
refuses new DICOM associations and fail-open relays them, and in both cases the store holds the
security alert that says why, and still verifies. And with room on the disk, the DICOM events of
`wardgate run` are in the store, also after wardgate was killed with SIGKILL and started again.

Event floods (issue 13, item 3), AuditEventFloods: one device's flood of events (an association
looping 20000 C-ECHOs, an MLLP frame of thousands of messages) is held to its audit.event_budget and
counted into event-flood-summary records while another device's association is audited in full;
a record queue that overflows (audit.store.queue_capacity 16) makes the store degraded, so
fail-closed refuses new associations until it has drained, and the overflow is recorded; and a
stderr that is a pipe nobody reads does not stall the relay.

Peers: storescp on pacs:104 (Debian DCMTK), echoscu from the CT (and the US), a raw MLLP client
from the monitor, tests/peers/mllp_ack_server.py on hl7:2575.
"""

import json
import os
import select
import signal
import subprocess
import time
import unittest

from labkit import REPO, LabTestCase, Proc, wardgate_bin

DISK_NEVER_ENOUGH_MB = 1 << 20  # 1 TiB: the lab's file system has less free


class AuditFailClosed(LabTestCase):
    lab_name = "itaudfc"

    @classmethod
    def set_up_lab(cls, lab):
        cls.storescp = cls.lab.start("pacs", ["storescp", "-dhl", "-aet", "PACS", "104"],
                                     ready_port=104)

    def echo(self):
        return self.lab.run("ct", ["echoscu", "-to", "5", "-aet", "CT01", "-aec", "PACS",
                                   self.lab.ip("pacs"), "104"], timeout=60, check=False)

    def run_with(self, on_failure, name):
        store = self.lab.workdir / f"{name}.db"
        config = self.lab.wardgate_config()
        config["audit"]["store"].update({"path": str(store), "on_failure": on_failure,
                                         "min_free_mb": DISK_NEVER_ENOUGH_MB})
        config["audit"]["log"] = "off"
        gw = self.lab.start("gw", [wardgate_bin(), "run", "--config",
                                   self.lab.write_config(config, f"{name}.json")],
                            ready_text=" ready: ", timeout=15)
        gw.wait_log("below audit.store.min_free_mb", timeout=10)
        try:
            echo = self.echo()
        finally:
            gw.stop()
        alerts = subprocess.run([wardgate_bin(), "audit", "export", "--store", str(store),
                                 "--category", "audit"], capture_output=True, text=True,
                                check=True, timeout=60).stdout.splitlines()
        verify = subprocess.run([wardgate_bin(), "audit", "verify", "--store", str(store)],
                                capture_output=True, text=True, timeout=60)
        return echo, gw.log(), [json.loads(a)["record"] for a in alerts], verify

    def test_fail_closed_refuses_new_associations(self):
        echo, log, alerts, verify = self.run_with("fail-closed", "closed")
        self.assertNotEqual(echo.returncode, 0, "the association went through: " + log)
        self.assertIn("refusing dicom connection", log)
        self.assertIn("refused while the audit store failed closed", log)
        self.assertIn("store-disk-low", [a["fields"].get("alert") for a in alerts], alerts)
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)

    def test_fail_open_relays_and_counts_lost_records(self):
        echo, log, alerts, verify = self.run_with("fail-open", "open")
        out = echo.stdout.decode(errors="replace") + echo.stderr.decode(errors="replace")
        self.assertEqual(echo.returncode, 0, out + log)
        self.assertNotIn("refusing dicom connection", log)
        self.assertIn("store-disk-low", [a["fields"].get("alert") for a in alerts], alerts)
        # The association's events could not be kept: the store says so in the shutdown line.
        self.assertRegex(log, r"audit: \d+ events recorded, committed through seq \d+, [1-9]\d* lost")
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)

    def test_dicom_events_are_stored_and_survive_sigkill(self):
        store = self.lab.workdir / "normal.db"
        config = self.lab.wardgate_config()
        config["audit"]["store"].update({"path": str(store), "group_commit_ms": 5})
        path = self.lab.write_config(config, "normal.json")
        counts = []
        for round_ in range(2):
            gw = self.lab.start("gw", [wardgate_bin(), "run", "--config", path],
                                ready_text=" ready: ", timeout=15)
            try:
                echo = self.echo()
                self.assertEqual(echo.returncode, 0, gw.log())
                # The association's events are committed within group_commit_ms.
                before = counts[-1] if counts else 0
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    records = self.export(store, "--category", "dicom")
                    if any(r["action"] == "association-accepted" for r in records[before:]):
                        break
                    time.sleep(0.1)
            finally:
                # The first round ends with SIGKILL: no final checkpoint, no clean close.
                gw.stop(sig=signal.SIGKILL if round_ == 0 else signal.SIGTERM)
            counts.append(len(records))
            self.assertIn("association-accepted", [r["action"] for r in records], gw.log())
            verify = subprocess.run([wardgate_bin(), "audit", "verify", "--store", str(store)],
                                    capture_output=True, text=True, timeout=60)
            self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
        self.assertGreater(counts[1], counts[0], "the second run appends to the same chain")

    @staticmethod
    def export(store, *args):
        out = subprocess.run([wardgate_bin(), "audit", "export", "--store", str(store), *args],
                             capture_output=True, text=True, check=True, timeout=60).stdout
        return [json.loads(line)["record"] for line in out.splitlines()]


PY = "/usr/bin/python3"
ENGINE_PORT = 2575
ECHOES = 3000
# The flood of the budget test: long enough (a few seconds) that the US's association surely
# overlaps it.
FLOOD_ECHOES = 20000
US_ECHOES = 50  # within the budget's burst
US_PORT = 11112

# The monitor: for --seconds (or once), one MLLP frame holding --messages ORU^R01 messages (each
# its own MSH), then waits for the engine's ACK of the frame.
FLOOD_PY = r"""
import argparse, socket, time
p = argparse.ArgumentParser()
p.add_argument("--host"); p.add_argument("--port", type=int); p.add_argument("--messages", type=int)
p.add_argument("--seconds", type=float, default=0)
a = p.parse_args()
msh = b"MSH|^~\\&|MON|WARD|HL7ENGINE|HOSP|20261203120000||ORU^R01|%d|P|2.5\r"
frame = b"\x0b" + b"".join(msh % i for i in range(a.messages)) + b"\x1c\r"
end = time.monotonic() + a.seconds
frames = 0
with socket.create_connection((a.host, a.port), timeout=60) as s:
    while True:
        s.sendall(frame)
        got = b""
        while b"\x1c" not in got:
            chunk = s.recv(65536)
            if not chunk:
                raise SystemExit("engine closed")
            got += chunk
        frames += 1
        if time.monotonic() >= end:
            break
print("frames", frames, flush=True)
"""


class AuditEventFloods(LabTestCase):
    lab_name = "itaudfl"

    @classmethod
    def set_up_lab(cls, lab):
        cls.storescp = lab.start("pacs", ["storescp", "-dhl", "-aet", "PACS", "104"],
                                 ready_port=104)
        # storescp serves one association at a time: the US gets a PACS port of its own
        # (intercepted as the qr-dicom service), so that it waits on wardgate only.
        cls.storescp_us = lab.start("pacs", ["storescp", "-dhl", "-aet", "PACS", str(US_PORT)],
                                    ready_port=US_PORT)
        cls.engine = lab.start("hl7", [PY, REPO / "tests" / "peers" / "mllp_ack_server.py",
                                       "--port", ENGINE_PORT, "--out", lab.workdir / "engine.jsonl",
                                       "--max-seconds", "900"],
                               ready_port=ENGINE_PORT, ready_text="listening on")
        cls.flood_py = lab.workdir / "flood.py"
        cls.flood_py.write_text(FLOOD_PY)

    def config(self, name, budget=None, **store):
        config = self.lab.wardgate_config()
        config["audit"]["store"].update({"path": str(self.lab.workdir / f"{name}.db"),
                                         "group_commit_ms": 5, **store})
        config["audit"]["log"] = "off"
        if budget is not None:
            config["audit"]["event_budget"] = budget
        return config

    def start_gw(self, config, name):
        return self.lab.start("gw", [wardgate_bin(), "run", "--config",
                                     self.lab.write_config(config, f"{name}.json")],
                              ready_text=" ready: ", timeout=15)

    def echo(self, role, aet, repeat=1, timeout=60):
        argv = ["echoscu", "-to", "5", "-td", "20", "-aet", aet, "-aec", "PACS"]
        if repeat > 1:
            argv += ["--repeat", str(repeat)]
        return self.lab.run(role, argv + [self.lab.ip("pacs"), "104"], timeout=timeout,
                            check=False)

    def echo_loop(self, role, aet, repeat, port=104):
        """An association of `repeat` C-ECHOs, started in the background."""
        return self.lab.start(role, ["echoscu", "-to", "5", "-td", "20", "-aet", aet, "-aec",
                                     "PACS", "--repeat", str(repeat), self.lab.ip("pacs"), port])

    def hl7_flood(self, messages, seconds=0):
        return self.lab.start("mon", [PY, self.flood_py, "--host", self.lab.ip("hl7"), "--port",
                                      ENGINE_PORT, "--messages", messages, "--seconds", seconds])

    @staticmethod
    def export(store):
        out = subprocess.run([wardgate_bin(), "audit", "export", "--store", str(store)],
                             capture_output=True, text=True, check=True, timeout=120).stdout
        return [json.loads(line)["record"] for line in out.splitlines()]

    def verify(self, store):
        verify = subprocess.run([wardgate_bin(), "audit", "verify", "--store", str(store)],
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)

    @staticmethod
    def counted(records, device, category, action):
        """Events of (category, action) from `device`: stored one by one plus counted in its
        event-flood-summary records."""
        one_by_one = sum(1 for r in records if r["device"] == device and
                         r["category"] == category and r["action"] == action)
        summarised = 0
        for r in records:
            if r["device"] == device and r["action"] == "event-flood-summary":
                for entry in r["fields"]["counts"]:
                    kind, _, n = entry.rpartition("=")
                    if kind == f"{category}/{action}":
                        summarised += int(n)
        return one_by_one, summarised

    def test_a_devices_flood_is_summarised_while_another_device_is_audited(self):
        store = self.lab.workdir / "budget.db"
        gw = self.start_gw(self.config("budget", {"events_per_second": 20, "burst": 100,
                                                  "summary_interval_s": 2}), "budget")
        try:
            ct = self.echo_loop("ct", "CT01", FLOOD_ECHOES)
            # The other device's association, while the CT's loop runs.
            us = self.echo_loop("us", "US01", US_ECHOES, port=US_PORT)
            monitor = self.hl7_flood(5000)
            self.assertEqual(us.popen.wait(timeout=600), 0, us.log() + gw.log())
            self.assertEqual(ct.popen.wait(timeout=600), 0, ct.log() + gw.log())
            self.assertEqual(monitor.popen.wait(timeout=120), 0, monitor.log() + gw.log())
        finally:
            self.assertEqual(gw.stop(timeout=30), 0, gw.log())
        records = self.export(store)
        us_actions = [r["action"] for r in records if r["device"] == "us"]
        for action in ("association-requested", "association-accepted", "association-released"):
            self.assertIn(action, us_actions, us_actions)
        self.assertEqual(us_actions.count("operation"), US_ECHOES, "each of the US's C-ECHOs")
        self.assertNotIn("event-flood-summary", us_actions)
        # ... and they overlapped the CT's flood: the US associated before the CT's last event
        # beyond its budget.
        us_accepted = next(r["time"] for r in records
                           if r["device"] == "us" and r["action"] == "association-accepted")
        ct_flood_end = max(r["fields"]["last_suppressed"] for r in records
                           if r["device"] == "ct" and r["action"] == "event-flood-summary")
        self.assertLess(us_accepted, ct_flood_end)
        # Nothing lost without being counted: every C-ECHO of the CT and every message of the
        # monitor's frame is stored or counted in a summary, and most were summarised.
        one_by_one, summarised = self.counted(records, "ct", "dicom", "operation")
        self.assertEqual(one_by_one + summarised, FLOOD_ECHOES, (one_by_one, summarised))
        self.assertGreater(summarised, FLOOD_ECHOES // 2)
        one_by_one, summarised = self.counted(records, "monitor", "hl7", "message")
        self.assertEqual(one_by_one + summarised, 5000, (one_by_one, summarised))
        self.assertLessEqual(one_by_one, 200)
        summaries = [r for r in records if r["action"] == "event-flood-summary"]
        self.assertTrue(all(r["category"] == "audit" and r["fields"]["budget_burst"] == 100
                            for r in summaries), summaries)
        self.verify(store)

    def test_queue_overflow_is_degraded_and_fail_closed_refuses_until_drained(self):
        store = self.lab.workdir / "overflow.db"
        # No budget: the monitor's frames of 12000 messages reach a queue of 16 records.
        gw = self.start_gw(self.config("overflow", {"events_per_second": 0},
                                       queue_capacity=16, on_failure="fail-closed"), "overflow")
        try:
            monitor = self.hl7_flood(12000, seconds=8)
            refused = None
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline and monitor.running():
                echo = self.echo("us", "US01")
                if echo.returncode != 0:
                    refused = echo
                    break
                time.sleep(0.2)
            self.assertIsNotNone(refused, "no association was refused during the overflow: " +
                                 gw.log())
            self.assertEqual(monitor.popen.wait(timeout=120), 0, monitor.log() + gw.log())
            # Drained and quiet again: associations are accepted again.
            self.assertTrue(gw.wait_log("overflowed", timeout=15), gw.log())
            after = self.echo("us", "US01")
            self.assertEqual(after.returncode, 0, after.stderr.decode(errors="replace") + gw.log())
        finally:
            gw.stop(timeout=30)
        log = gw.log()
        self.assertIn("refusing dicom connection", log)
        self.assertRegex(log, r"[1-9]\d* refused while the audit store failed closed")
        records = self.export(store)
        overflows = [r for r in records if r["fields"].get("alert") == "queue-overflow"]
        self.assertTrue(overflows, [r["action"] for r in records if r["category"] == "audit"])
        first = overflows[0]["fields"]
        self.assertGreater(first["records_dropped"], 0)
        self.assertEqual(first["queue_capacity"], 16)
        self.assertEqual(first["on_failure"], "fail-closed")
        self.assertLessEqual(first["first_dropped"], first["last_dropped"])
        self.assertIn("queue-overflow", [r["fields"].get("reason") for r in records
                                         if r["action"] == "store-recovered"])
        self.verify(store)

    def test_a_stderr_pipe_nobody_reads_does_not_stall_the_relay(self):
        store = self.lab.workdir / "pipe.db"
        config = self.config("pipe", {"events_per_second": 0})
        config["audit"]["log"] = "stderr"  # the mirror: a JSON line per event on the pipe
        path = self.lab.write_config(config, "pipe.json")
        argv = [wardgate_bin(), "run", "--config", path]
        popen = subprocess.Popen(self.lab._argv("gw", argv), stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        gw = Proc(popen, self.lab.workdir / "pipe-unread.log", "gw", argv)
        self.lab.procs.append(gw)
        try:
            # The pipe is read up to wardgate's " ready: " line (interception in place), then
            # never again.
            start = b""
            deadline = time.monotonic() + 15
            while b" ready: " not in start and time.monotonic() < deadline:
                if select.select([popen.stdout], [], [], 0.2)[0]:
                    chunk = os.read(popen.stdout.fileno(), 65536)
                    if not chunk:
                        break
                    start += chunk
            self.assertIn(b" ready: ", start, start.decode(errors="replace"))
            # 3000 C-ECHOs make ~1 MiB of mirror lines: the 64 KiB pipe is full after ~200.
            ct = self.echo("ct", "CT01", repeat=ECHOES, timeout=600)
            self.assertEqual(ct.returncode, 0, ct.stderr.decode(errors="replace"))
            us = self.echo("us", "US01", timeout=60)
            self.assertEqual(us.returncode, 0, us.stderr.decode(errors="replace"))
            # A stop still ends the process, the pipe still unread.
            self.assertEqual(gw.stop(timeout=30), 0)
        finally:
            gw.stop()
            popen.stdout.close()
        # The durable store has every operation: the mirror lost lines by design, the record
        # did not.
        records = self.export(store)
        ops = [r for r in records if r["device"] == "ct" and r["action"] == "operation"]
        self.assertEqual(len(ops), ECHOES)
        self.verify(store)


if __name__ == "__main__":
    unittest.main()
