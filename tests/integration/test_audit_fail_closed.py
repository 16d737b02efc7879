"""audit.store.on_failure end to end, in a namespace lab: while the audit store cannot keep
records (here: free space below audit.store.min_free_mb, set above what the disk has), fail-closed
refuses new DICOM associations and fail-open relays them, and in both cases the store holds the
security alert that says why, and still verifies. And with room on the disk, the DICOM events of
`wardgate run` are in the store, also after wardgate was killed with SIGKILL and started again.

Peers: storescp on pacs:104 (Debian DCMTK), echoscu from the CT.
"""

import json
import signal
import subprocess
import time
import unittest

from labkit import LabTestCase, wardgate_bin

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


if __name__ == "__main__":
    unittest.main()
