"""wardgate run ships its audit store to a SIEM: rsyslog over mutual TLS (issue 5, end to end).

The lab's patient monitor sends ORU^R01 through wardgate; wardgate's store records the HL7 events
and its exporters (audit.export[]: mutual TLS, and plain TCP as a second destination) carry them
to an rsyslog started by the test in the appliance's namespace, which requires wardgate's client
certificate on the TLS port. What the SIEM operator
checks: every record arrives once, in sequence order from 1, with the store's sequence numbers
and the events' fields; after wardgate is killed (-9) and restarted, nothing is missing and
anything resent is in order; the store itself verifies.
"""

import signal
import subprocess
import time
import unittest

import syslog_lab as L
from labkit import REPO, Lab, wait_for, wardgate_bin

PY = "/usr/bin/python3"
COUNT = 50


class AuditExportLabTests(unittest.TestCase):
    def setUp(self):
        self.lab = Lab("itaudexp").up()
        self.tmp, self.pki, self.collector, self.tls = L.make_lab(netns=self.lab.ns("gw"))
        self.collector.start()

    def tearDown(self):
        self.lab.down()
        self.collector.stop()

    def test_store_records_reach_rsyslog_over_mutual_tls(self):
        lab = self.lab
        lab.start("hl7", [PY, REPO / "tests" / "peers" / "mllp_ack_server.py", "--port", "2575",
                          "--max-seconds", "300"], ready_port=2575, ready_text="listening on")
        config = lab.wardgate_config()
        config["audit"]["export"] = [{
            "name": "siem", "transport": "tls", "host": "127.0.0.1",
            "port": self.collector.tls_port, "server_name": L.COLLECTOR_NAME,
            "client_cert": str(self.tls["cert"]), "client_key": str(self.tls["key"]),
            "ca_bundle": str(self.tls["ca"])}, {
            # A second destination with its own cursor: plain TCP (octet counting).
            "name": "siem-tcp", "transport": "tcp", "host": "127.0.0.1",
            "port": self.collector.tcp_port}]
        wardgate = lab.start_wardgate(config)

        batch = lab.workdir / "oru.hl7"
        batch.write_text("".join(
            f"MSH|^~\\&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122080000||ORU^R01|EXP{i:04d}|P|2.5"
            f"\rPID|1||P{i}^^^H^MR||Doe^Jane\rOBX|1|NM|HR||72\n" for i in range(COUNT)))
        lab.run("mon", ["mllp_send", "--loose", "--file", batch, "-p", "2575", lab.ip("hl7")])

        def hl7_records():
            return [r for r in L.parse_lines(self.collector.output("tls"))
                    if r[2] is not None and r[2].get("category") == "hl7"]
        self.assertTrue(wait_for(lambda: len(hl7_records()) >= 2 * COUNT, 20),
                        f"{len(hl7_records())} hl7 records at the collector\n{wardgate.log()[-3000:]}")
        lines = L.parse_lines(self.collector.output("tls"))
        seqs = [seq for seq, *_ in lines]
        missing, out_of_order, duplicates = L.sequence_report(seqs, max(seqs))
        self.assertEqual((missing, out_of_order, duplicates), ([], 0, 0))
        self.assertEqual(min(seqs), 1)
        ids = [r[2]["fields"]["control_id"] for r in hl7_records() if r[2]["action"] == "message"]
        self.assertEqual(ids, [f"EXP{i:04d}" for i in range(COUNT)])
        self.assertTrue(all(r[2]["device"] == "monitor" for r in hl7_records()))

        # wardgate killed (-9) right after a second batch (its records committed: group commit is
        # 50 ms; the exporter may still be sending them), then started again on the same store:
        # the collector ends with every record, in order; resends only within the exporter's
        # unconfirmed window. (Kill -9 in the middle of a 100 000-record export: test_syslog_export.)
        batch2 = lab.workdir / "oru2.hl7"
        batch2.write_text("".join(
            f"MSH|^~\\&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122080000||ORU^R01|KIL{i:04d}|P|2.5"
            f"\rPID|1||P{i}^^^H^MR||Doe^Jane\rOBX|1|NM|HR||72\n" for i in range(COUNT)))
        lab.run("mon", ["mllp_send", "--loose", "--file", batch2, "-p", "2575", lab.ip("hl7")])
        time.sleep(0.3)
        wardgate.stop(signal.SIGKILL)
        wardgate = lab.start_wardgate(config)
        lab.run("mon", ["mllp_send", "--loose", "--file", batch, "-p", "2575", lab.ip("hl7")])
        self.assertTrue(wait_for(lambda: len(hl7_records()) >= 6 * COUNT, 30),
                        f"{len(hl7_records())} hl7 records at the collector")
        seqs = [seq for seq, *_ in L.parse_lines(self.collector.output("tls"))]
        missing, out_of_order, duplicates = L.sequence_report(seqs, max(seqs))
        self.assertEqual((missing, out_of_order), ([], 0))
        self.assertLessEqual(duplicates, 65536)
        ids = [r[2]["fields"]["control_id"] for r in hl7_records() if r[2]["action"] == "message"]
        self.assertTrue({f"KIL{i:04d}" for i in range(COUNT)} <= set(ids))

        # The TCP destination got the same records, by its own cursor.
        tcp_seqs = lambda: [seq for seq, *_ in L.parse_lines(self.collector.output("tcp"))]
        self.assertTrue(wait_for(lambda: set(seqs) <= set(tcp_seqs()), 20))
        missing, out_of_order, _ = L.sequence_report(tcp_seqs(), max(tcp_seqs()))
        self.assertEqual((missing, out_of_order), ([], 0))

        wardgate.stop(signal.SIGTERM)
        store = config["audit"]["store"]["path"]
        result = subprocess.run([str(wardgate_bin()), "audit", "verify", "--store", store],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main()
