"""Per-device HL7 rules in the lab: a patient monitor may send ORU^R01 to the HL7 engine only.

Peers: Debian's `mllp_send` (python3-hl7) in the monitor's and the CT's namespaces, and
tests/peers/mllp_ack_server.py as the HL7 engine. lab/wardgate.json gives the monitor
`hl7.allowed_message_types: ["ORU^R01"]` and `allowed_receiving_applications: ["HL7ENGINE"]`.

What the interface-engine administrator and the security auditor check:
- enforced (hl7.enforce: true): a refused message never reaches the engine; the monitor gets an
  AR acknowledgement from wardgate that names the refused message and the HL7 error code, on the
  same connection, and the messages after it go through as usual; each refusal is a security
  alert naming the rule; the CT, which has no HL7 rules, is never held up;
- audit only (the default): the same messages all reach the engine, and the alerts say so.
"""

import json
import time
import unittest

from labkit import REPO, Lab, wait_for

PY = "/usr/bin/python3"
CR = b"\r"


def message(i, msg_type="ORU^R01^ORU_R01", receiver="HL7ENGINE", sender="MONITOR"):
    control_id = f"MON{i:04d}"
    segments = [
        f"MSH|^~\\&|{sender}|WARD3|{receiver}|HOSPITAL|20261122080000||{msg_type}|{control_id}|P|2.5",
        f"PID|1||PID{i:04d}^^^HOSPITAL^MR||Synthetic^Patient{i}||19700101|F",
        "OBX|1|NM|8867-4^Heart rate^LN||72|/min^beats per minute^UCUM|||||F",
    ]
    return control_id, "\r".join(segments).encode("ascii")


def acks_of(stdout):
    """(MSH, MSA fields, ERR segment or None) of each ACK mllp_send printed."""
    out = []
    for frame in stdout.split(b"\x1c\r"):
        frame = frame.strip(b"\x0b\r\n")
        if not frame:
            continue
        segments = frame.split(CR)
        msa = next(s for s in segments if s.startswith(b"MSA|")).split(b"|")
        err = next((s for s in segments if s.startswith(b"ERR|")), None)
        out.append((segments[0], msa, err))
    return out


class Hl7EnforcementTests(unittest.TestCase):
    def setUp(self):
        self.lab = Lab("ithl7enf").up()
        self.received = self.lab.workdir / "received.jsonl"
        self.lab.start("hl7", [PY, REPO / "tests" / "peers" / "mllp_ack_server.py", "--port",
                               "2575", "--out", self.received, "--max-seconds", "300"],
                       ready_port=2575, ready_text="listening on")

    def tearDown(self):
        self.lab.down()

    def send(self, role, messages, name):
        batch = self.lab.workdir / f"{name}.hl7"
        batch.write_bytes(b"\n".join(m for _, m in messages) + b"\n")
        result = self.lab.run(role, ["mllp_send", "--loose", "--file", batch, "-p", "2575",
                                     self.lab.ip("hl7")], timeout=60, check=False)
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        return acks_of(result.stdout)

    def engine_got(self, count):
        wait_for(lambda: self.received.exists()
                 and len(self.received.read_text().splitlines()) >= count, 10)
        time.sleep(0.2)  # anything more would show up now
        return [json.loads(line) for line in self.received.read_text().splitlines()]

    def hl7_events(self, wardgate, action):
        """The records of `action` in the durable store, everything emitted so far included."""
        self.assertTrue(wardgate.running(), wardgate.log()[-3000:])
        events = self.lab.stored_events()
        return [e for e in events if e["category"] == "hl7" and e["action"] == action]

    def monitor_traffic(self):
        return [message(1), message(2, "ADT^A08^ADT_A01"), message(3),
                message(4, receiver="BILLING"), message(5)]

    def test_enforced_refusals_are_answered_by_wardgate_and_never_reach_the_engine(self):
        wardgate = self.lab.start_wardgate(self.lab.wardgate_config(hl7={"enforce": True}))
        traffic = self.monitor_traffic()
        acks = self.send("mon", traffic, "monitor")

        codes = [(msa[1], msa[2]) for _, msa, _ in acks]
        self.assertEqual(codes, [(b"AA", b"MON0001"), (b"AR", b"MON0002"), (b"AA", b"MON0003"),
                                 (b"AR", b"MON0004"), (b"AA", b"MON0005")])
        # wardgate's ACKs read like the engine's: sender and receiver swapped, its own trigger.
        msh, msa, err = acks[1]
        self.assertTrue(msh.startswith(b"MSH|^~\\&|HL7ENGINE|HOSPITAL|MONITOR|WARD3|"), msh)
        self.assertIn(b"|ACK^A08^ACK|", msh)
        self.assertIn(b"message type not allowed", msa[3])
        self.assertEqual(err, b"ERR|||200^Unsupported message type^HL70357|E")
        self.assertIn(b"receiving application not allowed", acks[3][1][3])

        # The engine got exactly the allowed messages, byte for byte, over one connection.
        records = self.engine_got(3)
        self.assertEqual([r["control_id"] for r in records], ["MON0001", "MON0003", "MON0005"])
        allowed = {cid: m for cid, m in traffic}
        for r in records:
            self.assertEqual(r["len"], len(allowed[r["control_id"]]))
        self.assertEqual(len({r["peer"] for r in records}), 1)

        alerts = self.hl7_events(wardgate, "security-alert")
        self.assertEqual([(a["fields"]["rule"], a["fields"]["reaction"], a["outcome"])
                          for a in alerts],
                         [("allowed_message_types", "refused", "denied"),
                          ("allowed_receiving_applications", "refused", "denied")])
        self.assertEqual({a["severity"] for a in alerts}, {"alert"})
        refused = [m["fields"]["control_id"] for m in self.hl7_events(wardgate, "message")
                   if m["outcome"] == "denied"]
        self.assertEqual(refused, ["MON0002", "MON0004"])
        acks = [(e["fields"]["from"], e["fields"]["code"], e["fields"]["acknowledged_control_id"])
                for e in self.hl7_events(wardgate, "acknowledgement")]
        self.assertEqual(acks, [("server", "AA", "MON0001"), ("wardgate", "AR", "MON0002"),
                                ("server", "AA", "MON0003"), ("wardgate", "AR", "MON0004"),
                                ("server", "AA", "MON0005")])

        # The CT has no HL7 rules: its ADT goes through untouched.
        ct_acks = self.send("ct", [message(6, "ADT^A08^ADT_A01", sender="CT")], "ct")
        self.assertEqual([msa[1] for _, msa, _ in ct_acks], [b"AA"])
        self.assertEqual(self.engine_got(4)[-1]["control_id"], "MON0006")

    def test_what_a_message_holds_does_not_get_it_past_the_rules(self):
        # An ADT^A08 carrying an MSA segment is still an ADT^A08; "HL7ENGINE\S\X" names another
        # application than HL7ENGINE (the engine reads "HL7ENGINE^X" as one namespace ID).
        wardgate = self.lab.start_wardgate(self.lab.wardgate_config(hl7={"enforce": True}))
        cid, adt = message(1, "ADT^A08^ADT_A01")
        traffic = [(cid, adt + b"\rMSA|AA|ENG0001"), message(2, receiver="HL7ENGINE\\S\\X"),
                   message(3)]
        acks = self.send("mon", traffic, "disguised")
        self.assertEqual([(msa[1], msa[2]) for _, msa, _ in acks],
                         [(b"AR", b"MON0001"), (b"AR", b"MON0002"), (b"AA", b"MON0003")])
        self.assertEqual([r["control_id"] for r in self.engine_got(1)], ["MON0003"])
        alerts = self.hl7_events(wardgate, "security-alert")
        self.assertEqual([a["fields"]["rule"] for a in alerts],
                         ["allowed_message_types", "allowed_receiving_applications"])

    def test_bytes_wardgate_cannot_check_are_withheld_when_enforcing(self):
        # An ADT sent without MLLP framing (a lenient engine might still read it), then a frame
        # with a stray 0x1C (engines end the frame there), then a good ORU^R01, one connection.
        wardgate = self.lab.start_wardgate(self.lab.wardgate_config(hl7={"enforce": True}))
        unframed = message(1, "ADT^A08^ADT_A01")[1] + b"\r"
        _, stray = message(2)
        stray = stray.replace(b"\rOBX", b"\r\x1cOBX")
        _, good = message(3)
        sender = (
            "import socket, sys\n"
            "s = socket.create_connection((sys.argv[1], 2575), timeout=10)\n"
            f"s.sendall({unframed!r} + b'\\x0b' + {stray!r} + b'\\x1c\\r')\n"
            f"s.sendall(b'\\x0b' + {good!r} + b'\\x1c\\r')\n"
            "got = b''\n"
            "while got.count(b'\\x1c\\r') < 2:\n"
            "    chunk = s.recv(65536)\n"
            "    if not chunk: break\n"
            "    got += chunk\n"
            "sys.stdout.buffer.write(got)\n"
        )
        result = self.lab.run("mon", [PY, "-c", sender, self.lab.ip("hl7")], timeout=30)
        codes = [(msa[1], msa[2]) for _, msa, _ in acks_of(result.stdout)]
        self.assertEqual(codes, [(b"AR", b"MON0002"), (b"AA", b"MON0003")])
        self.assertEqual([r["control_id"] for r in self.engine_got(1)], ["MON0003"])
        errors = [e["fields"] for e in self.hl7_events(wardgate, "framing-error")]
        self.assertEqual([(f["error"], f["forwarded"]) for f in errors],
                         [("junk", False), ("bad-end-block", False)])

    def test_audit_only_forwards_and_alerts(self):
        wardgate = self.lab.start_wardgate()
        acks = self.send("mon", self.monitor_traffic(), "monitor")
        self.assertEqual([msa[1] for _, msa, _ in acks], [b"AA"] * 5)
        self.assertEqual(len(self.engine_got(5)), 5)
        alerts = self.hl7_events(wardgate, "security-alert")
        self.assertEqual([(a["fields"]["rule"], a["fields"]["reaction"], a["outcome"])
                          for a in alerts],
                         [("allowed_message_types", "none (audit only)", "warning"),
                          ("allowed_receiving_applications", "none (audit only)", "warning")])


if __name__ == "__main__":
    unittest.main()
