"""HL7 v2 over MLLP through wardgate between npm HL7 peers, as an interface-engine administrator
checks a new interface: every message delivered unchanged and in order, every one acknowledged AA,
and an audit trail that accounts for each message and each acknowledgement, with the right text
in any character set.

Peers (tests/peers/npm, installed by scripts/install-deps.sh with `npm ci`):
- hl7-sender.js, simple-hl7's TcpClient: the patient monitor. Sends the messages of a file over one
  connection, each after the previous one's ACK, and records each ACK's code, control ID and round
  trip time.
- hl7-receiver.js, the HL7 engine: answers every message with its library's own AA ACK and
  records each message's bytes. simple-hl7's TcpServer in most tests; node-hl7-server in
  test_gb18030_declared_in_msh18 (it suits one message per connection only: hl7-receiver.js).
- Debian's `mllp_send` (python3-hl7) as a second sender.

The monitor sends to the engine's address on 2575; wardgate intercepts and relays. Each test
starts its own wardgate, its audit events written as JSON lines to a file of their own
(`audit.log`).

Character sets (HL7 v2.5.1 section 2.15.9, MSH-18): GB 18030 is a double-byte set whose trail
bytes can equal HL7 delimiters. The names used here are chosen for that: 東 is 96 7C (| field
separator), 誠 is D5 5C (\\ escape character), 瑋 is AC 7C, and 㛃 is the four-byte 82 30 B7 31.
"""

import base64
import json
import re
import subprocess
import time
import unittest

from labkit import REPO, LabTestCase, audit_records, utc_now, wardgate_bin

NODE = "node"
NPM_DIR = REPO / "tests" / "peers" / "npm"
SENDER = NPM_DIR / "hl7-sender.js"
RECEIVER = NPM_DIR / "hl7-receiver.js"
ACK_SERVER = REPO / "tests" / "peers" / "mllp_ack_server.py"
PORT = 2575
NPM_COUNT = 10_000
MLLP_SEND_COUNT = 10_000
LATENCY_LIMIT_MS = 3000  # "a few seconds": a relay that holds an ACK this long is broken

# GB 18030 test names (bytes checked in test_gb18030_names_are_delimiter_traps).
GB_FAMILY, GB_GIVEN, GB_MIDDLE = "東方", "誠瑋", "㛃"
GB_NAME = f"{GB_FAMILY}^{GB_GIVEN}^{GB_MIDDLE}"
GB_FACILITY = "東院"  # "east campus"
UTF8_NAME = "张^伟"
UTF8_FACILITY = "心内科"  # "cardiology"


def oru_r01(i):
    """A vital-signs ORU^R01 as an IHE PCD-01 patient monitor sends it (HL7 2.6, ~1.1 KiB, seven
    OBX); returns (control id, bytes, OBX count). Segments are separated by CR."""
    control_id = f"MON{i:07d}"
    sec = 8 * 3600 + i * 5
    ts = f"20261122{sec // 3600 % 24:02d}{sec // 60 % 60:02d}{sec % 60:02d}+0800"
    hr, spo2, rr = 62 + i % 37, 93 + i % 7, 12 + i % 9
    sys_, dia = 108 + i % 31, 64 + i % 19
    mdc = "^MDC"
    segments = [
        f"MSH|^~\\&|PDS^0019C8FFFE3A1B2C^EUI-64|WARD3|HL7ENGINE|HOSPITAL|{ts}||ORU^R01^ORU_R01|"
        f"{control_id}|P|2.6|||AL|NE||UNICODE UTF-8",
        f"PID|||{7000000 + i % 997}^^^HOSPITAL^MR||Synthetic^Patient{i % 997}^^^^^L||"
        f"19{50 + i % 50:02d}0{1 + i % 9}1{i % 10}|{'MF'[i % 2]}",
        f"PV1||I|WARD3^^BED{i % 24 + 1:02d}",
        f"OBR|1|{control_id}^PDS|{control_id}^PDS|182777000^monitoring of patient^SNOMED-CT|||{ts}",
        f"OBX|1|NM|147842^MDC_ECG_HEART_RATE{mdc}|1.1.1.1|{hr}|264864^MDC_DIM_BEAT_PER_MIN{mdc}|"
        f"50-120||||R|||{ts}",
        f"OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2{mdc}|1.2.1.1|{spo2}|262688^MDC_DIM_PERCENT{mdc}|"
        f"90-100||||R|||{ts}",
        f"OBX|3|NM|151562^MDC_RESP_RATE{mdc}|1.3.1.1|{rr}|264928^MDC_DIM_RESP_PER_MIN{mdc}|"
        f"8-30||||R|||{ts}",
        f"OBX|4|NM|150021^MDC_PRESS_BLD_NONINV_SYS{mdc}|1.4.1.1|{sys_}|266016^MDC_DIM_MMHG{mdc}|"
        f"90-160||||R|||{ts}",
        f"OBX|5|NM|150022^MDC_PRESS_BLD_NONINV_DIA{mdc}|1.4.1.2|{dia}|266016^MDC_DIM_MMHG{mdc}|"
        f"50-90||||R|||{ts}",
        f"OBX|6|NM|150023^MDC_PRESS_BLD_NONINV_MEAN{mdc}|1.4.1.3|{(sys_ + 2 * dia) // 3}|"
        f"266016^MDC_DIM_MMHG{mdc}|60-110||||R|||{ts}",
        f"OBX|7|NM|150344^MDC_TEMP{mdc}|1.5.1.1|{36.4 + i % 12 / 10:.1f}|268192^MDC_DIM_DEGC{mdc}|"
        f"36.0-37.5||||R|||{ts}",
    ]
    return control_id, "\r".join(segments).encode("ascii"), 7


def charset_message(control_id, encoding, msh18, facility, name, patient_id):
    """An ORU^R01 from a Chinese hospital's monitor, its text encoded in `encoding`; MSH-18 is
    `msh18` (left empty when None). Returns its bytes."""
    msh = (f"MSH|^~\\&|MONITOR|{facility}|HL7ENGINE|HOSPITAL|20261122093000+0800||"
           f"ORU^R01^ORU_R01|{control_id}|P|2.5|||AL|NE|CHN|{msh18 or ''}")
    segments = [
        msh,
        f"PID|||{patient_id}^^^HOSPITAL^MR||{name}||19800304|M",
        "PV1||I|心内科^^12床",
        f"OBR|1|{control_id}|{control_id}|182777000^monitoring of patient^SNOMED-CT|||"
        "20261122093000+0800",
        "OBX|1|NM|8867-4^心率^LN||72|/min^次/分^UCUM|||||F",
        "OBX|2|NM|59408-5^血氧饱和度^LN||97|%^%^UCUM|||||F",
    ]
    return "\r".join(segments).encode(encoding)


# HL7 table 0211: (MSH-18 as sent, Python codec, family name, given name, wardgate's name of the
# set). The names are in each set's own script; several are delimiter traps: 五 is 38 5E ('^') and
# 亨 35 7C ('|') in JIS X 0208, 許 B3 5C and 功 A5 5C ('\\') in Big5, 東 96 7C in GB 18030.
TABLE_0211 = [
    ("ASCII", "ascii", "Smith", "John", "ASCII"),
    ("8859/1", "latin-1", "Müller", "Jürgen", "8859/1"),
    ("8859/2", "iso8859_2", "Dvořák", "Antonín", "8859/2"),
    ("8859/3", "iso8859_3", "Borġ", "Ġużeppi", "8859/3"),
    ("8859/4", "iso8859_4", "Ķēniņš", "Jānis", "8859/4"),
    ("8859/5", "iso8859_5", "Иванов", "Иван", "8859/5"),
    ("8859/6", "iso8859_6", "محمد", "علي", "8859/6"),
    ("8859/7", "iso8859_7", "Παπαδόπουλος", "Γιώργος", "8859/7"),
    ("8859/8", "iso8859_8", "כהן", "דוד", "8859/8"),
    ("8859/9", "iso8859_9", "Yılmaz", "Ayşe", "8859/9"),
    ("8859/15", "iso8859_15", "Lœuf", "Zoë", "8859/15"),
    ("ISO IR14", "shift_jis", "ﾔﾏﾀﾞ", "ﾀﾛｳ", "ISO IR14"),
    ("ISO IR87", "iso2022_jp", "五十嵐", "亨", "ISO IR87"),
    ("~ISO IR87", "iso2022_jp", "五十嵐", "亨", "ISO IR87"),
    ("ISO IR159", "iso2022_jp_2", "丂", "五十嵐", "ISO IR159"),
    ("GB 18030-2000", "gb18030", "東方", "誠瑋", "GB 18030"),
    ("KS X 1001", "euc_kr", "홍", "길동", "KS X 1001"),
    ("CNS 11643-1992", "EUC-TW", "王", "小明", "CNS 11643-1992"),
    ("BIG-5", "big5", "許", "功", "BIG-5"),
    ("UNICODE", "utf-8", "张", "伟", "UNICODE UTF-8"),
    ("UNICODE UTF-8", "utf-8", "Ωμέγα", "Ελένη", "UNICODE UTF-8"),
    ("UNICODE UTF-16", "utf-16-le", "山田", "花子", "UNICODE UTF-16"),
    ("UNICODE UTF-16", "utf-16-be", "Ng", "Wing Kai", "UNICODE UTF-16"),
    ("UNICODE UTF-32", "utf-32-le", "Øvregård", "Åse", "UNICODE UTF-32"),
]


def table_0211_message(n, msh18, codec, family, given):
    """An ORU^R01 whose PID-5 is family^given, the whole message in `codec`. Text in a set other
    than UTF-16/32 is encoded piece by piece between delimiters, so that ISO 2022 text shifts back
    to ASCII before each delimiter as the standard wants. Python has no EUC-TW: iconv encodes it."""
    text = (f"MSH|^~\\&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122093000||ORU^R01^ORU_R01|"
            f"CS{n:02d}|P|2.5||||||{msh18}\rPID|||P{n:02d}^^^HOSP^MR||{family}^{given}||19800304|M"
            "\rOBX|1|NM|8867-4^HR^LN||72|/min|||||F\r")
    if codec.startswith(("utf-16", "utf-32")):
        return text.encode(codec)

    def encode(part):
        if codec == "EUC-TW":
            return subprocess.run(["iconv", "-f", "UTF-8", "-t", "EUC-TW"], input=part.encode(),
                                  capture_output=True, check=True).stdout
        return part.encode(codec)
    return b"".join(p.encode() if p in ("|", "^", "\r") else encode(p)
                    for p in re.split(r"([|^\r])", text) if p)


class Hl7PeersTests(LabTestCase):
    lab_name = "ithl7np"

    @classmethod
    def setUpClass(cls):
        if not (NPM_DIR / "node_modules" / "simple-hl7").is_dir():
            raise RuntimeError(f"npm peers not installed in {NPM_DIR}: run scripts/install-deps.sh")
        super().setUpClass()

    # -- helpers --------------------------------------------------------------------------------
    def start(self, role, argv, **kw):
        """lab.start, with the process stopped (by PID) when the test ends."""
        proc = self.lab.start(role, argv, **kw)

        def stop():
            proc.stop()
            if proc in self.lab.procs:
                self.lab.procs.remove(proc)
        self.addCleanup(stop)
        return proc

    def start_receiver(self, name, library="simple-hl7", charset=None):
        out = self.lab.workdir / f"{name}-received.jsonl"
        argv = [NODE, RECEIVER, "--port", PORT, "--out", out, "--library", library,
                "--max-seconds", 600]
        if charset:
            argv += ["--charset", charset]
        proc = self.start("hl7", argv, ready_port=PORT, ready_text="listening on")
        return proc, out

    def start_wardgate(self, name, patient_data="keyed-hash", devices_hl7=None):
        """wardgate with its audit events in a file of this test's own; devices_hl7 maps a device
        name to settings added to its devices[].hl7 section."""
        audit_log = self.lab.workdir / f"{name}-audit.jsonl"
        config = self.lab.wardgate_config(audit={"log": str(audit_log),
                                                 "patient_data": patient_data})
        for device in config["devices"]:
            if devices_hl7 and device["name"] in devices_hl7:
                device.setdefault("hl7", {}).update(devices_hl7[device["name"]])
        path = self.lab.write_config(config, f"{name}-wardgate.json")
        # The store is the lab's for all tests: this run's records are those from now on.
        self.store, self.started_at = config["audit"]["store"]["path"], utc_now()
        wardgate = self.start("gw", [wardgate_bin(), "run", "--config", path],
                              ready_text=" ready: ")
        return wardgate, audit_log

    def write_batch(self, name, messages):
        """One message per line, segments separated by CR: what hl7-sender.js and
        `mllp_send --loose` read."""
        path = self.lab.workdir / f"{name}.hl7"
        for m in messages:
            self.assertNotIn(b"\n", m)
        path.write_bytes(b"\n".join(messages) + b"\n")
        return path

    def npm_send(self, role, name, batch, timeout):
        """hl7-sender.js in the role's namespace: the batch over one connection; returns its
        per-message records (ACK code, ACK control ID, round trip) and the wall time."""
        acks = self.lab.workdir / f"{name}-acks.jsonl"
        argv = [NODE, SENDER, "--host", self.lab.ip("hl7"), "--port", PORT, "--in", batch,
                "--out", acks]
        started = time.monotonic()
        result = self.lab.run(role, argv, timeout=timeout, check=False)
        elapsed = time.monotonic() - started
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace")[-3000:])
        return self.read_jsonl(acks), elapsed

    @staticmethod
    def read_jsonl(path):
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    @staticmethod
    def wait_for_lines(path, count, timeout=15):
        """Waits until `path` holds `count` complete lines (the receiver writes one per message
        before it sends the message's ACK, so this is only a safety margin)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if path.exists() and path.read_bytes().count(b"\n") >= count:
                return
            time.sleep(0.05)

    def finish_wardgate(self, wardgate, audit_log, sessions):
        """Waits until wardgate logged `sessions` closed sessions, stops it (every event is then
        in the durable store) and returns this run's hl7 records from the store, and its log."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and wardgate.log().count(" closed after ") < sessions:
            time.sleep(0.05)
        self.assertEqual(wardgate.log().count(" closed after "), sessions, wardgate.log()[-3000:])
        self.assertEqual(wardgate.stop(), 0, wardgate.log()[-3000:])
        # The audit log file (the mirror) holds audit events only, never the operational log.
        self.assertTrue(all({"time", "category", "action", "outcome", "fields"} <= e.keys()
                            for e in self.read_jsonl(audit_log)))
        events = audit_records(self.store, category="hl7", since=self.started_at)
        return events, wardgate.log()

    def assert_delivered(self, received, messages, sender_ip, connections=1):
        """The engine got every message byte for byte, in order, from the device's own address."""
        records = self.read_jsonl(received)
        self.assertEqual(len(records), len(messages))
        self.assertEqual([r["n"] for r in records], list(range(len(messages))))
        for record, (control_id, message) in zip(records, messages):
            got = base64.b64decode(record["b64"])
            if got != message:
                at = next((k for k, (a, b) in enumerate(zip(got, message)) if a != b),
                          min(len(got), len(message)))
                self.fail(f"message {record['n']} ({control_id}) differs at byte {at}: sent "
                          f"{message[max(0, at - 16):at + 16]!r}, received "
                          f"{got[max(0, at - 16):at + 16]!r} ({len(message)} vs {len(got)} bytes)")
            self.assertEqual(record["control_id"], control_id)
        self.assertEqual({r["peer"].rsplit(":", 1)[0] for r in records}, {sender_ip})
        self.assertEqual(len({r["peer"] for r in records}), connections)

    def assert_acks_at_sender(self, acks, ids):
        self.assertEqual(len(acks), len(ids))
        self.assertEqual([a["n"] for a in acks], list(range(len(ids))))
        self.assertEqual({a["ack_code"] for a in acks}, {"AA"})
        self.assertEqual([a["ack_control_id"] for a in acks], ids)

    def assert_audit_trail(self, hl7, ids, sizes, obx_counts, charset, sessions=1):
        """Exactly one `message` event per message and one `acknowledgement` (AA, matched, with
        a plausible latency) per message, in order, control IDs matching; nothing else."""
        lab = self.lab
        actions = {}
        for e in hl7:
            actions[e["action"]] = actions.get(e["action"], 0) + 1
        self.assertEqual(actions, {"message": len(ids), "acknowledgement": len(ids)})

        sent = [e for e in hl7 if e["action"] == "message"]
        self.assertEqual([e["fields"]["control_id"] for e in sent], ids)
        for e, size, obx in zip(sent, sizes, obx_counts):
            f = e["fields"]
            self.assertEqual((e["device"], e["outcome"], f["from"], f["message_type"]),
                             ("monitor", "success", "device", "ORU^R01"), e)
            self.assertEqual((f["size"], f["obx_count"], f["charset"]), (size, obx, charset), e)
            self.assertEqual(f["client"].rsplit(":", 1)[0], lab.ip("mon"), e)
            self.assertEqual(f["server"], f"{lab.ip('hl7')}:{PORT}", e)
            self.assertNotIn("notes", f, e)

        acked = [e for e in hl7 if e["action"] == "acknowledgement"]
        self.assertEqual([e["fields"]["acknowledged_control_id"] for e in acked], ids)
        latencies = []
        for e in acked:
            f = e["fields"]
            self.assertEqual((e["outcome"], f["code"], f["from"]), ("success", "AA", "server"), e)
            self.assertNotIn("matched", f, e)
            self.assertIsInstance(f.get("latency_ms"), (int, float), e)
            self.assertTrue(0 < f["latency_ms"] < LATENCY_LIMIT_MS, e)
            latencies.append(f["latency_ms"])
        self.assertEqual(len({e["fields"]["session"] for e in hl7}), sessions)
        return sorted(latencies)

    def assert_bytes_relayed(self, log, messages, connections=1):
        mon, hl7 = re.escape(self.lab.ip("mon")), re.escape(self.lab.ip("hl7"))
        pattern = re.compile(rf"session \d+: {mon}:\d+ -> {hl7}:{PORT} \(hl7\) closed after "
                             rf"[\d.]+ s: (\d+) bytes from device \((\w+)\)")
        sessions = pattern.findall(log)
        self.assertEqual(len(sessions), connections, log[-3000:])
        self.assertEqual(sum(int(b) for b, _ in sessions), sum(len(m) + 3 for _, m in messages))
        self.assertEqual({end for _, end in sessions}, {"eof"})

    # -- (a) npm sender -> wardgate -> npm receiver ---------------------------------------------
    def test_npm_sender_to_npm_receiver_10000_oru_r01(self):
        lab = self.lab
        _, received = self.start_receiver("npm")
        wardgate, audit_log = self.start_wardgate("npm")
        generated = [oru_r01(i) for i in range(NPM_COUNT)]
        messages = [(cid, m) for cid, m, _ in generated]
        ids = [cid for cid, _ in messages]
        batch = self.write_batch("npm", [m for _, m in messages])

        acks, elapsed = self.npm_send("mon", "npm", batch, timeout=150)
        self.assert_acks_at_sender(acks, ids)
        self.wait_for_lines(received, NPM_COUNT)
        self.assert_delivered(received, messages, lab.ip("mon"))

        hl7, log = self.finish_wardgate(wardgate, audit_log, sessions=1)
        latencies = self.assert_audit_trail(hl7, ids, [len(m) for _, m in messages],
                                            [obx for _, _, obx in generated], "UNICODE UTF-8")
        self.assert_bytes_relayed(log, messages)
        for e in hl7:
            if e["action"] == "message":  # keyed-hash (the default): no identifier in the clear
                self.assertRegex(e["fields"]["patient_id"], r"^b2:[0-9a-f]{64}$")
                self.assertRegex(e["fields"]["patient_name"], r"^b2:[0-9a-f]{64}$")
        rtt = sorted(a["rtt_us"] for a in acks)
        print(f"\n  {NPM_COUNT} ORU^R01 in {elapsed:.1f} s; sender round trip p50 "
              f"{rtt[len(rtt) // 2]} us, p99 {rtt[len(rtt) * 99 // 100]} us; wardgate latency_ms "
              f"p50 {latencies[len(latencies) // 2]:.3f}, max {latencies[-1]:.3f}", flush=True)

    # -- (b) mllp_send (python3-hl7) -> wardgate -> npm receiver --------------------------------
    def test_mllp_send_to_npm_receiver(self):
        lab = self.lab
        _, received = self.start_receiver("mllp")
        wardgate, audit_log = self.start_wardgate("mllp")
        generated = [oru_r01(i) for i in range(MLLP_SEND_COUNT)]
        messages = [(cid, m) for cid, m, _ in generated]
        ids = [cid for cid, _ in messages]
        batch = self.write_batch("mllp", [m for _, m in messages])

        result = lab.run("mon", ["mllp_send", "--loose", "--file", batch, "-p", PORT,
                                 lab.ip("hl7")], timeout=150, check=False)
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace")[-3000:])
        frames = re.findall(rb"\x0b(.*?)\x1c\r", result.stdout, re.S)
        self.assertEqual(len(frames), MLLP_SEND_COUNT, result.stdout[:2000])
        acked = []
        for frame in frames:
            msa = [s for s in frame.split(b"\r") if s.startswith(b"MSA|")]
            self.assertEqual(len(msa), 1, frame)
            code, control_id = msa[0].split(b"|")[1:3]
            self.assertEqual(code, b"AA", frame)
            acked.append(control_id.decode())
        self.assertEqual(acked, ids)

        self.wait_for_lines(received, MLLP_SEND_COUNT)
        self.assert_delivered(received, messages, lab.ip("mon"))
        hl7, log = self.finish_wardgate(wardgate, audit_log, sessions=1)
        self.assert_audit_trail(hl7, ids, [len(m) for _, m in messages],
                                [obx for _, _, obx in generated], "UNICODE UTF-8")
        self.assert_bytes_relayed(log, messages)

    # -- (c) character sets ----------------------------------------------------------------------
    def test_gb18030_names_are_delimiter_traps(self):
        """The GB 18030 names carry trail bytes equal to '|' and '\\', and a four-byte code."""
        self.assertEqual(GB_FAMILY.encode("gb18030"), bytes.fromhex("967c b7bd"))
        self.assertEqual(GB_GIVEN.encode("gb18030"), bytes.fromhex("d55c ac7c"))
        self.assertEqual(GB_MIDDLE.encode("gb18030"), bytes.fromhex("8230b731"))
        self.assertEqual(GB_FACILITY.encode("gb18030"), bytes.fromhex("967c d4ba"))

    def charset_case(self, name, cases, devices_hl7=None, library="simple-hl7",
                     receiver_charset=None):
        """Sends each (role, message) of `cases` through wardgate (audit.patient_data plain), one
        connection per message, to the npm receiver; checks delivery, ACKs and one message and
        one acknowledgement event per message; returns the message events' fields in order."""
        lab = self.lab
        _, received = self.start_receiver(name, library, receiver_charset)
        wardgate, audit_log = self.start_wardgate(name, patient_data="plain",
                                                  devices_hl7=devices_hl7)
        for k, (role, message) in enumerate(cases):
            batch = self.write_batch(f"{name}-{k}", [message])
            acks, _ = self.npm_send(role, f"{name}-{k}", batch, timeout=30)
            control_id = re.search(rb"\|ORU\^R01\^ORU_R01\|([^|]*)\|", message).group(1).decode()
            self.assert_acks_at_sender(acks, [control_id])
        self.wait_for_lines(received, len(cases))
        records = self.read_jsonl(received)
        self.assertEqual([base64.b64decode(r["b64"]) for r in records], [m for _, m in cases])
        self.assertEqual([r["peer"].rsplit(":", 1)[0] for r in records],
                         [lab.ip(role) for role, _ in cases])

        hl7, _ = self.finish_wardgate(wardgate, audit_log, sessions=len(cases))
        self.assertEqual(sorted(e["action"] for e in hl7),
                         ["acknowledgement"] * len(cases) + ["message"] * len(cases),
                         "\n".join(json.dumps(e, ensure_ascii=False) for e in hl7))
        for e in hl7:
            if e["action"] == "acknowledgement":
                self.assertEqual((e["fields"]["code"], e["outcome"]), ("AA", "success"), e)
                self.assertTrue(0 < e["fields"]["latency_ms"] < LATENCY_LIMIT_MS, e)
        return [e["fields"] for e in hl7 if e["action"] == "message"]

    def assert_chinese_event(self, f, control_id, charset, facility, name, patient_id, size):
        expected = {"control_id": control_id, "charset": charset, "sending_application": "MONITOR",
                    "sending_facility": facility, "receiving_application": "HL7ENGINE",
                    "receiving_facility": "HOSPITAL", "message_type": "ORU^R01",
                    "message_time": "20261122093000+0800", "processing_id": "P", "version": "2.5",
                    "patient_id": patient_id, "patient_name": name, "obx_count": 2, "size": size}
        self.assertEqual({k: f.get(k) for k in expected}, expected, f)
        self.assertNotIn("notes", f)

    def test_gb18030_declared_in_msh18(self):
        message = charset_message("GB0000001", "gb18030", "GB 18030", "WARD3", GB_NAME, "GB7001")
        self.assertIn(b"\x96\x7c\xb7\xbd^\xd5\x5c\xac\x7c^\x82\x30\xb7\x31|", message)
        (f,) = self.charset_case("gbdecl", [("mon", message)], library="node-hl7-server")
        self.assert_chinese_event(f, "GB0000001", "GB 18030", "WARD3", GB_NAME, "GB7001",
                                  len(message))

    def test_gb18030_declared_with_chinese_sending_facility(self):
        """GB 18030 text before MSH-18 (MSH-4 "東院", 96 7C D4 BA): where MSH-18 is depends on
        the character set it declares. (The engine reads GB 18030 too: simple-hl7 alone would
        take MSH-9 for MSH-10.)"""
        message = charset_message("GB0000002", "gb18030", "GB 18030", GB_FACILITY, GB_NAME,
                                  "GB7002")
        (f,) = self.charset_case("gbfac", [("mon", message)], receiver_charset="gb18030")
        self.assert_chinese_event(f, "GB0000002", "GB 18030", GB_FACILITY, GB_NAME, "GB7002",
                                  len(message))

    def test_utf8_declared_in_msh18(self):
        message = charset_message("U80000001", "utf-8", "UNICODE UTF-8", UTF8_FACILITY,
                                  UTF8_NAME, "U87001")
        (f,) = self.charset_case("utf8", [("mon", message)])
        self.assert_chinese_event(f, "U80000001", "UNICODE UTF-8", UTF8_FACILITY, UTF8_NAME,
                                  "U87001", len(message))

    def test_gb18030_undeclared_from_device_with_default_charset(self):
        """A monitor that sends GB 18030 without MSH-18 (common with Chinese devices): its
        devices[].hl7.default_charset tells wardgate how to read it. The same bytes from a device
        without that setting are read as ASCII (the HL7 default), so the setting is per device."""
        message = charset_message("GB0000003", "gb18030", None, "WARD3", GB_NAME, "GB7003")
        self.assertIn(b"|CHN|\r", message)
        try:
            fields = self.charset_case("gbdefault", [("mon", message), ("us", message)],
                                       devices_hl7={"monitor": {"default_charset": "GB 18030"}})
        except RuntimeError as e:
            if "unknown key" in str(e):
                self.fail(f"this wardgate does not accept devices[].hl7.default_charset:\n{e}")
            raise
        self.assert_chinese_event(fields[0], "GB0000003", "GB 18030", "WARD3", GB_NAME, "GB7003",
                                  len(message))
        self.assertEqual(fields[1]["charset"], "ASCII", fields[1])
        self.assertNotEqual(fields[1].get("patient_name"), GB_NAME, fields[1])

    # -- (d) the record of authority -------------------------------------------------------------
    def store_records(self, category="hl7"):
        """The durable store's records (`wardgate audit export`), not the mirror."""
        out = subprocess.run([wardgate_bin(), "audit", "export", "--store",
                              str(self.lab.workdir / "audit.db"), "--category", category],
                             capture_output=True, text=True, check=True, timeout=60).stdout
        return out, [json.loads(line)["record"] for line in out.splitlines()]

    def start_ack_server(self, *extra):
        return self.start("hl7", ["python3", ACK_SERVER, "--port", PORT, "--max-seconds", 600,
                                  *extra], ready_port=PORT, ready_text="listening on")

    def test_table_0211_names_reach_the_store_decoded(self):
        """Every value of HL7 table 0211, a patient name in its script from the monitor through
        wardgate to a real engine; the durable store (patient_data plain) holds the name decoded."""
        self.start_ack_server()
        wardgate, audit_log = self.start_wardgate("t0211", patient_data="plain")
        messages = [table_0211_message(n, *case[:4]) for n, case in enumerate(TABLE_0211)]
        for m in messages:  # bytes the MLLP framing or the sender's file would misread
            self.assertFalse({0x0A, 0x0B, 0x1C} & set(m), m)
        batch = self.write_batch("t0211", messages)
        acks, _ = self.npm_send("mon", "t0211", batch, timeout=60)
        self.assertEqual(len(acks), len(messages))
        self.finish_wardgate(wardgate, audit_log, sessions=1)
        _, records = self.store_records()
        by_id = {r["fields"].get("control_id"): r["fields"] for r in records
                 if r["action"] == "message"}
        for n, (msh18, codec, family, given, reported) in enumerate(TABLE_0211):
            with self.subTest(msh18=msh18, codec=codec):
                f = by_id.get(f"CS{n:02d}")
                self.assertIsNotNone(f, sorted(i for i in by_id if i))
                self.assertEqual((f["patient_name"], f["charset"], f["patient_id"]),
                                 (f"{family}^{given}", reported, f"P{n:02d}"), f)
                self.assertNotIn("notes", f)

    def test_engine_refusal_naming_the_patient_stays_out_of_store_and_journal(self):
        """An engine that refuses with the patient's name in MSA-3 and ERR: under the default
        configuration (keyed-hash store, mirror on stderr) neither the store nor the journal
        holds the name, and the journal holds no patient identifier at all."""
        lab = self.lab
        self.start_ack_server("--code", "AE", "--text", "No visit for SMITH^JOHN MRN 4711",
                              "--err-text", "Unknown patient SMITH JOHN")
        config = lab.wardgate_config()  # audit.log "stderr", patient_data "keyed-hash"
        self.assertEqual(config["audit"].get("log"), "stderr")
        self.assertNotIn("log_patient_data", config["audit"])
        path = lab.write_config(config, "refusal-wardgate.json")
        wardgate = self.start("gw", [wardgate_bin(), "run", "--config", path],
                              ready_text=" ready: ")
        control_id, message, _ = oru_r01(4711)
        self.assertIn(b"|Synthetic^Patient", message)
        acks, _ = self.npm_send("mon", "refusal", self.write_batch("refusal", [message]),
                                timeout=30)
        self.assertEqual([a["ack_code"] for a in acks], ["AE"])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and " closed after " not in wardgate.log():
            time.sleep(0.05)
        self.assertEqual(wardgate.stop(), 0, wardgate.log()[-3000:])
        journal = wardgate.log()

        exported, records = self.store_records()
        acked = [r for r in records if r["action"] == "acknowledgement"
                 and r["fields"].get("acknowledged_control_id") == control_id]
        self.assertEqual(len(acked), 1, exported[-3000:])
        f = acked[0]["fields"]
        self.assertEqual(f["code"], "AE")
        self.assertRegex(f["text"], r"^b2:[0-9a-f]{64}$")
        self.assertRegex(f["error_text"], r"^b2:[0-9a-f]{64}$")
        self.assertNotIn("SMITH", exported)

        mirrored = [json.loads(line[line.index("{"):]) for line in journal.splitlines()
                    if '"category":"hl7"' in line]
        actions = {e["action"] for e in mirrored}
        self.assertTrue({"message", "acknowledgement"} <= actions, journal[-3000:])
        self.assertNotIn("SMITH", journal)
        self.assertNotIn("Synthetic", journal)
        for e in mirrored:
            self.assertFalse({"patient_id", "patient_name", "text", "error_text"} & e["fields"].keys(),
                             e)


if __name__ == "__main__":
    unittest.main()
