"""HL7 v2 over MLLP through wardgate: a patient monitor sends results to the HL7 engine.

Peers: Debian's `mllp_send` (python3-hl7 0.4.5) in the monitor's namespace, and
tests/peers/mllp_ack_server.py (ACKs every message with AA, records each one) in the HL7 engine's
namespace. The monitor talks to the engine's address on 2575; wardgate intercepts and relays.

What the integration engineer checks: every ORU^R01 is acknowledged AA, in order, over one
connection; the engine received every message byte for byte, in order; the engine saw the
monitor's own address (its interface/ACL configuration is per sender address); wardgate logged
the session with exactly the bytes that crossed it.

mllp_send reads a file (it cannot take --loose input from stdin); with --loose it splits the file
at each "MSH|^~\\&|", turns newlines into segment separators (CR) and strips trailing CR/LF from
each message, then sends <SB>message<EB><CR> and waits for the answer before the next message.
"""

import hashlib
import json
import re
import time
import unittest

from labkit import REPO, LabTestCase

PY = "/usr/bin/python3"
COUNT = 200
SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"


def oru_r01(i):
    """A vital-signs ORU^R01 (HL7 2.5) with its control id; segments separated by CR."""
    control_id = f"MON{i:07d}"
    ts = f"20261122{8 + i // 3600:02d}{i // 60 % 60:02d}{i % 60:02d}"
    segments = [
        f"MSH|^~\\&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|{ts}||ORU^R01^ORU_R01|{control_id}|P|2.5",
        f"PID|1||PID{i % 17:04d}^^^HOSPITAL^MR||Synthetic^Patient{i % 17}||19700101|F",
        "PV1|1|I|WARD3^BED12",
        f"OBR|1||{control_id}-OBR|0002-8867-4^Vital signs^MDC|||{ts}",
        f"OBX|1|NM|8867-4^Heart rate^LN||{60 + i % 40}|/min^beats per minute^UCUM|||||F",
        f"OBX|2|NM|59408-5^SpO2^LN||{90 + i % 10}|%^percent^UCUM|||||F",
        f"OBX|3|NM|8480-6^Systolic blood pressure^LN||{110 + i % 30}|mm[Hg]^mmHg^UCUM|||||F",
        f"OBX|4|NM|8462-4^Diastolic blood pressure^LN||{70 + i % 20}|mm[Hg]^mmHg^UCUM|||||F",
    ]
    return control_id, "\r".join(segments).encode("ascii")


def mllp_frames(data):
    """Payloads of the MLLP frames in data (bytes between <SB> and <EB>)."""
    return re.findall(rb"\x0b(.*?)\x1c\r", data, re.S)


class Hl7RelayTests(LabTestCase):
    lab_name = "ithl7"

    @classmethod
    def set_up_lab(cls, lab):
        cls.received = lab.workdir / "received.jsonl"
        cls.engine = lab.start("hl7", [PY, REPO / "tests" / "peers" / "mllp_ack_server.py",
                                       "--port", "2575", "--out", cls.received,
                                       "--max-seconds", "600"],
                               ready_port=2575, ready_text="listening on")
        cls.wardgate = lab.start_wardgate()

    def test_oru_r01_batch_acked_in_order(self):
        lab = self.lab
        messages = [oru_r01(i) for i in range(COUNT)]
        ids = [cid for cid, _ in messages]
        batch = lab.workdir / "oru.hl7"
        # One message per line (segments separated by CR inside the line): --loose turns the
        # line feeds into CRs and strips them from each message's end again.
        batch.write_bytes(b"\n".join(m for _, m in messages) + b"\n")

        started = time.monotonic()
        result = lab.run("mon", ["mllp_send", "--loose", "--file", batch, "-p", "2575",
                                 lab.ip("hl7")], timeout=120, check=False)
        elapsed = time.monotonic() - started
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))

        # Every message answered AA, in order, each ACK naming its message's control id.
        acks = mllp_frames(result.stdout)
        self.assertEqual(len(acks), COUNT, result.stdout[:2000])
        acked = []
        for ack in acks:
            segments = ack.split(CR)
            self.assertTrue(segments[0].startswith(b"MSH|^~\\&|HL7ENGINE|HOSPITAL|MONITOR|WARD3|"),
                            segments[0])
            msa = [s for s in segments if s.startswith(b"MSA|")]
            self.assertEqual(len(msa), 1, ack)
            code, control_id = msa[0].split(b"|")[1:3]
            self.assertEqual(code, b"AA", ack)
            acked.append(control_id.decode())
        self.assertEqual(acked, ids)

        # The engine got every message byte for byte, in order, from the monitor's address.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
                not self.received.exists()
                or len(self.received.read_text().splitlines()) < COUNT):
            time.sleep(0.05)
        records = [json.loads(line) for line in self.received.read_text().splitlines()]
        self.assertEqual(len(records), COUNT)
        self.assertEqual([r["n"] for r in records], list(range(COUNT)))
        self.assertEqual([r["control_id"] for r in records], ids)
        for record, (_, message) in zip(records, messages):
            self.assertEqual(record["ack"], "AA")
            self.assertEqual(record["len"], len(message))
            self.assertEqual(record["sha256"], hashlib.sha256(message).hexdigest())
        peers = {r["peer"].rsplit(":", 1)[0] for r in records}
        self.assertEqual(peers, {lab.ip("mon")})
        self.assertEqual(len({r["peer"] for r in records}), 1, "expected one connection")

        # wardgate relayed it as one hl7 session and counted exactly the bytes on the wire.
        mon, hl7 = re.escape(lab.ip("mon")), re.escape(lab.ip("hl7"))
        pattern = re.compile(rf"session \d+: {mon}:\d+ -> {hl7}:2575 \(hl7\) closed after "
                             rf"[\d.]+ s: (\d+) bytes from device \((\w+)\), (\d+) bytes to "
                             rf"device \((\w+)\)")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not pattern.search(self.wardgate.log()):
            time.sleep(0.05)
        sessions = pattern.findall(self.wardgate.log())
        self.assertEqual(len(sessions), 1, self.wardgate.log())
        from_dev, from_end, to_dev, to_end = sessions[0]
        self.assertEqual(int(from_dev), sum(len(m) + 3 for _, m in messages))
        self.assertEqual(int(to_dev), sum(len(a) + 3 for a in acks))
        self.assertEqual((from_end, to_end), ("eof", "eof"))
        # 200 synchronous round trips; generous, only catches a relay that stalls each message.
        self.assertLess(elapsed, 30)

        # wardgate's audit: one event per message and one per acknowledgement, matched by
        # control ID with a latency; the monitor's patient ids kept as keyed hashes.
        events = self.lab.stored_events()
        hl7 = [e for e in events if e["category"] == "hl7"]
        sent = [e["fields"] for e in hl7 if e["action"] == "message"]
        self.assertEqual([f["control_id"] for f in sent], ids)
        for f in sent:
            self.assertEqual((f["from"], f["message_type"]), ("device", "ORU^R01"))
            self.assertTrue(f["patient_id"].startswith("b2:"), f)
        acked = [e for e in hl7 if e["action"] == "acknowledgement"]
        self.assertEqual([e["fields"]["acknowledged_control_id"] for e in acked], ids)
        for e in acked:
            self.assertEqual((e["outcome"], e["fields"]["code"], e["fields"]["from"]),
                             ("success", "AA", "server"))
            self.assertTrue(0 < e["fields"]["latency_ms"] < 5000, e)
        self.assertEqual([e for e in hl7 if e["action"] == "framing-error"], [])


if __name__ == "__main__":
    unittest.main()
