"""Malformed and hostile DICOM input through wardgate, end to end in a namespace lab.

What a security reviewer checks before an appliance parses traffic from unpatchable modalities:
garbage on a DICOM port (an HTTP request, a truncated or overrunning A-ASSOCIATE-RQ, a PDU header
claiming 4 GiB, P-DATA before any association, an odd PDV length, a second A-ASSOCIATE-RQ inside
an association) never crashes it, never makes it buffer what a length field claims, is reported
once as a protocol-violation audit event naming the violation, and is answered as documented
(dicom.enforce, the default: the association is aborted, with an A-ABORT PDU on each stream that
is at a PDU boundary, a reset otherwise) — while other devices' associations go on unaffected.

The offending peer is a small Python program (CLIENT_PY, Debian's /usr/bin/python3) in the CT's
namespace speaking raw TCP to the PACS address; it builds its own A-ASSOCIATE-RQ (application
context 1.2.840.10008.3.1.1.1, one presentation context: Verification 1.2.840.10008.1.1 with
Implicit VR Little Endian 1.2.840.10008.1.2, user information with max length 16384) and prints
one JSON line with what it observed. The PACS is storescp; the ultrasound runs stock echoscu
meanwhile.
"""

import json
import time
import unittest

from labkit import LabTestCase, wait_for

PY = "/usr/bin/python3"
A_ABORT_TYPE = 0x07

CLIENT_PY = r'''
import argparse, json, socket, struct, time

def item(t, value):
    return struct.pack(">BBH", t, 0, len(value)) + value

def uid(u):
    b = u.encode()
    return b + b"\0" if len(b) % 2 else b

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"

def associate_rq(storage=False):
    """PS3.8 9.3.2: A-ASSOCIATE-RQ, CT01 -> PACS, Verification with Implicit VR Little Endian
    (context 1) and, with storage, CT Image Storage likewise (context 3)."""
    def context(pc_id, abstract):
        return item(0x20, struct.pack(">BBBB", pc_id, 0, 0, 0) + item(0x30, uid(abstract))
                    + item(0x40, uid("1.2.840.10008.1.2")))
    user = (item(0x51, struct.pack(">I", 16384)) + item(0x52, uid("2.25.1"))
            + item(0x55, b"WG_BADINPUT"))
    body = (struct.pack(">HH", 1, 0) + b"PACS".ljust(16) + b"CT01".ljust(16) + bytes(32)
            + item(0x10, uid("1.2.840.10008.3.1.1.1"))
            + context(1, "1.2.840.10008.1.1")
            + (context(3, CT_IMAGE_STORAGE) if storage else b"")
            + item(0x50, user))
    return struct.pack(">BBI", 0x01, 0, len(body)) + body

def pdata(context, flags, data):
    pdv = struct.pack(">IBB", len(data) + 2, context, flags) + data
    return struct.pack(">BBI", 0x04, 0, len(pdv)) + pdv

def command_set(*elements):
    """A command set (group 0000, Implicit VR Little Endian) with its group length first."""
    rest = b"".join(struct.pack("<HHI", 0, elem, len(value)) + value for elem, value in elements)
    return struct.pack("<HHI", 0, 0, 4) + struct.pack("<I", len(rest)) + rest

def echo_rq(message_id=1):
    """PS3.7 9.3.5: C-ECHO-RQ."""
    return command_set((0x0002, uid("1.2.840.10008.1.1")), (0x0100, struct.pack("<H", 0x30)),
                       (0x0110, struct.pack("<H", message_id)),
                       (0x0800, struct.pack("<H", 0x0101)))

def store_rq(message_id=1):
    """PS3.7 9.3.1: C-STORE-RQ of a CT image; its data set would follow (not sent)."""
    return command_set((0x0002, uid(CT_IMAGE_STORAGE)), (0x0100, struct.pack("<H", 0x01)),
                       (0x0110, struct.pack("<H", message_id)),
                       (0x0700, struct.pack("<H", 0)), (0x0800, struct.pack("<H", 0x0001)),
                       (0x1000, uid("2.25.42.1")))

def recv_exact(s, n):
    data = bytearray()
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError(bytes(data).hex())
        data += chunk
    return bytes(data)

def read_pdu(s):
    head = recv_exact(s, 6)
    return head + recv_exact(s, struct.unpack(">I", head[2:6])[0])

def associate(s, storage=False):
    s.sendall(associate_rq(storage))
    ac = read_pdu(s)
    if ac[0] != 0x02:
        raise SystemExit(f"expected A-ASSOCIATE-AC, got {ac[:10].hex()}")

def send(s, data):
    try:
        s.sendall(data)
        return None
    except OSError as e:
        return type(e).__name__

def drain(s, timeout):
    """What the peer sends until it ends the connection: (bytes, 'eof' | 'reset' | 'timeout')."""
    s.settimeout(timeout)
    data = bytearray()
    try:
        while len(data) < 65536:
            chunk = s.recv(65536)
            if not chunk:
                return bytes(data), "eof"
            data += chunk
        return bytes(data), "more"
    except ConnectionResetError:
        return bytes(data), "reset"
    except socket.timeout:
        return bytes(data), "timeout"

ap = argparse.ArgumentParser()
ap.add_argument("case")
ap.add_argument("host")
ap.add_argument("port", type=int)
ap.add_argument("--timeout", type=float, default=5)
ap.add_argument("--stream-bytes", type=int, default=8 << 20)
a = ap.parse_args()

s = socket.create_connection((a.host, a.port), timeout=a.timeout)
out = {"case": a.case, "local_port": s.getsockname()[1]}
rq = associate_rq()
error = None
if a.case == "echo":
    associate(s)
    s.sendall(pdata(1, 0x03, echo_rq()))
    rsp = read_pdu(s)
    out["echo_status"] = struct.unpack("<H", rsp[-2:])[0]  # Status, the last element
    s.sendall(b"\x05\x00\x00\x00\x00\x04\x00\x00\x00\x00")  # A-RELEASE-RQ
    out["release"] = read_pdu(s)[0]
    s.close()
    print(json.dumps(out), flush=True)
    raise SystemExit(0)
elif a.case == "http":
    error = send(s, b"GET / HTTP/1.1\r\nHost: pacs\r\nUser-Agent: curl/7.88.1\r\n"
                    b"Accept: */*\r\n\r\n")
elif a.case == "truncated-rq":
    error = send(s, rq[:40])  # the 6-byte header and 34 body bytes, then FIN
    time.sleep(0.2)
    s.shutdown(socket.SHUT_WR)
elif a.case == "huge-rq":
    error = send(s, b"\x01\x00\xff\xff\xff\xff" + rq[6:])
elif a.case == "overrun-rq":
    # The user information item (the last one) claims 64 bytes more than the PDU holds.
    bad = bytearray(rq)
    pos = bad.rindex(b"\x50\x00")
    (length,) = struct.unpack(">H", bad[pos + 2:pos + 4])
    bad[pos + 2:pos + 4] = struct.pack(">H", length + 64)
    error = send(s, bytes(bad))
elif a.case == "pdata-first":
    error = send(s, pdata(1, 0x03, echo_rq()))
elif a.case == "huge-pdata":
    associate(s)
    # A P-DATA-TF header claiming 4 GiB - 1 bytes, then body bytes for as long as they are taken.
    error = send(s, b"\x04\x00\xff\xff\xff\xff")
    block, streamed = bytes(range(256)) * 256, 0
    while error is None and streamed < a.stream_bytes:
        error = send(s, block)
        streamed += len(block) if error is None else 0
    out["streamed"] = streamed
elif a.case == "odd-pdv":
    associate(s)
    pdv = struct.pack(">IBB", 5, 1, 0x03) + b"\x00\x00\x00"  # PDV item length 5: odd
    error = send(s, struct.pack(">BBI", 0x04, 0, len(pdv)) + pdv)
elif a.case == "second-rq":
    associate(s)
    error = send(s, rq)
elif a.case == "store-command":
    associate(s, storage=True)
    error = send(s, pdata(3, 0x03, store_rq()))
else:
    raise SystemExit(f"unknown case {a.case}")
out["send_error"] = error
data, end = drain(s, a.timeout)
out["received"] = data.hex()
out["end"] = end
print(json.dumps(out), flush=True)
'''




def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


class DicomBadInputTests(LabTestCase):
    lab_name = "itbad"
    ECHO_ROUNDS = 40

    @classmethod
    def set_up_lab(cls, lab):
        cls.client_py = lab.workdir / "client.py"
        cls.client_py.write_text(CLIENT_PY)
        out = lab.workdir / "storescp"
        out.mkdir()
        cls.storescp = lab.start("pacs", ["storescp", "-v", "-dhl", "--fork", "-aet", "PACS",
                                          "-od", out, "104"], ready_port=104)
        cls.wardgate = lab.start_wardgate(lab.wardgate_config())
        assert open(f"/proc/{cls.wardgate.pid}/comm").read().strip() == "wardgate"
        # The ultrasound keeps associating (echoscu, one association each) while the CT
        # misbehaves; bounded: ECHO_ROUNDS rounds, 0.1 s apart.
        cls.echo_loop = lab.start("us", [
            "sh", "-c", f'for i in $(seq {cls.ECHO_ROUNDS}); do echoscu -aet US01 -aec PACS '
            f'"$0" 104 && echo ECHO-OK; sleep 0.1; done', lab.ip("pacs")])

    # -- helpers ---------------------------------------------------------------------------
    def events(self):
        """The audit records in the durable store (the record of authority; the stderr mirror may
        lose lines by design), everything emitted so far included."""
        return self.lab.stored_events()

    def client(self, case, **opts):
        argv = [PY, self.client_py, case, self.lab.ip("pacs"), 104]
        for key, value in opts.items():
            argv += [f"--{key.replace('_', '-')}", value]
        result = self.lab.run("ct", argv, timeout=60, check=False)
        lines = [line for line in result.stdout.decode().splitlines() if line.startswith("{")]
        self.assertTrue(lines, f"client {case} printed nothing: {result.stderr.decode()}")
        return json.loads(lines[-1])

    def session_events(self, local_port, timeout=10):
        """The events of the CT's connection from local_port, once its summary is there."""
        client = f"{self.lab.ip('ct')}:{local_port}"

        def mine():
            return [e for e in self.events() if e["fields"].get("client") == client]

        wait_for(lambda: any(e["action"] == "association-summary" for e in mine()), timeout)
        events = mine()
        self.assertTrue(any(e["action"] == "association-summary" for e in events),
                        f"no association-summary for {client}:\n{self.wardgate.log()[-3000:]}")
        return events

    def check_violation(self, result, violation):
        """Exactly one protocol-violation named `violation`, from the device, answered by an
        abort; wardgate still up."""
        self.assertTrue(self.wardgate.running(), self.wardgate.log()[-3000:])
        events = self.session_events(result["local_port"])
        violations = [e for e in events if e["action"] == "protocol-violation"]
        self.assertEqual(len(violations), 1, events)
        v = violations[0]
        self.assertEqual(v["fields"]["violation"], violation, v)
        self.assertEqual(v["fields"]["from"], "device")
        self.assertEqual(v["device"], "ct")
        self.assertEqual(v["severity"], "alert")
        self.assertEqual(v["fields"]["reaction"], "a-abort")
        self.assertTrue(v["fields"]["detail"])
        summary = [e for e in events if e["action"] == "association-summary"][0]
        self.assertEqual(summary["fields"]["ended"], "aborted-by-wardgate (protocol-violation)")
        return v

    def check_device_got_abort(self, result):
        """Documented (inspect/dicom_inspector.cpp abort_both; docs/configuration.md "A refusal
        aborts the association (A-ABORT to both sides)"): an A-ABORT on each stream that is at
        a PDU boundary, a reset otherwise. Nothing but whole PDUs had been sent to the device,
        so it must get one: type 0x07, length 4, source 2 (service provider), then the end of
        the connection (FIN)."""
        received = bytes.fromhex(result["received"])
        self.assertEqual(len(received), 10, result)
        self.assertEqual(received[0], A_ABORT_TYPE, result)
        self.assertEqual(received[2:6], b"\x00\x00\x00\x04", result)
        self.assertEqual(received[8], 2, result)
        self.assertEqual(result["end"], "eof", result)

    # -- the cases -------------------------------------------------------------------------
    def test_0_well_formed_raw_association(self):
        # The client's own A-ASSOCIATE-RQ and C-ECHO are valid DICOM: the baseline the other
        # cases break one thing of.
        result = self.client("echo")
        self.assertEqual(result["echo_status"], 0, result)
        self.assertEqual(result["release"], 0x06, result)
        events = self.session_events(result["local_port"])
        actions = [e["action"] for e in events]
        self.assertEqual(actions, ["association-requested", "association-accepted", "operation",
                                   "association-released", "association-summary"], events)
        self.assertEqual(events[2]["fields"]["command"], "C-ECHO")
        self.assertEqual(events[2]["fields"]["status_class"], "success")

    def test_1_http_request(self):
        result = self.client("http")
        v = self.check_violation(result, "unknown-pdu-type")
        self.assertIn("0x47", v["fields"]["detail"])  # 'G'
        self.check_device_got_abort(result)

    def test_2_truncated_associate_rq_then_close(self):
        result = self.client("truncated-rq")
        # The device closed inside its A-ASSOCIATE-RQ (after 40 of its bytes): a truncated PDU.
        self.check_violation(result, "malformed-pdu")

    def test_3_pdu_length_4_gib(self):
        rss_before = vm_rss_kib(self.wardgate.pid)
        # Before any association: an A-ASSOCIATE-RQ header claiming 4 GiB - 1 bytes.
        rq = self.client("huge-rq")
        self.check_violation(rq, "pdu-too-long")
        # Inside an association: a P-DATA-TF header claiming 4 GiB - 1 bytes, followed by
        # as much data as the relay takes. The device is cut off long before 4 GiB; whether
        # the A-ABORT reaches it before the reset depends on what it had in flight, so only the
        # end is checked.
        result = self.client("huge-pdata", stream_bytes=16 << 20)
        self.check_violation(result, "pdu-too-long")
        self.assertIn(result["end"], ("eof", "reset"), result)
        self.assertLess(result["streamed"], 16 << 20, result)
        time.sleep(0.2)
        rss_after = vm_rss_kib(self.wardgate.pid)
        self.assertLess(rss_after - rss_before, 4 * 1024,
                        f"VmRSS {rss_before} KiB -> {rss_after} KiB")
        self.check_device_got_abort(rq)

    def test_4_item_overruns_its_pdu(self):
        result = self.client("overrun-rq")
        v = self.check_violation(result, "malformed-pdu")
        self.assertIn("overrun", v["fields"]["detail"])
        self.check_device_got_abort(result)

    def test_5_pdata_before_association(self):
        result = self.client("pdata-first")
        self.check_violation(result, "unexpected-pdu")
        self.check_device_got_abort(result)

    def test_6_odd_pdv_length(self):
        aborted_before = self.storescp.log().count("Association Aborted")
        result = self.client("odd-pdv")
        self.check_violation(result, "bad-pdv")
        # The PACS's stream was at a PDU boundary too: it got an A-ABORT for its association.
        self.assertTrue(wait_for(lambda: self.storescp.log().count("Association Aborted")
                                 > aborted_before, 5), self.storescp.log()[-1000:])
        self.check_device_got_abort(result)

    def test_7_second_associate_rq(self):
        result = self.client("second-rq")
        v = self.check_violation(result, "unexpected-pdu")
        self.assertIn("A-ASSOCIATE-RQ", v["fields"]["detail"])
        self.check_device_got_abort(result)

    def test_8_refused_command_gets_a_abort(self):
        # Not malformed, but not allowed: the monitor may only C-ECHO. Here wardgate's decoder
        # is in sync, so the A-ABORT it sends the device on a refusal is observable: the same
        # answer the protocol violations above are documented to get.
        aborted_before = self.storescp.log().count("Association Aborted")
        argv = [PY, self.client_py, "store-command", self.lab.ip("pacs"), 104]
        result = json.loads(self.lab.run("mon", argv, timeout=60).stdout.decode().splitlines()[-1])
        client = f"{self.lab.ip('mon')}:{result['local_port']}"
        self.assertTrue(wait_for(lambda: any(
            e["action"] == "association-summary" and e["fields"].get("client") == client
            for e in self.events()), 10))
        events = [e for e in self.events() if e["fields"].get("client") == client]
        alerts = [e for e in events if e["action"] == "security-alert"]
        self.assertEqual(len(alerts), 1, events)
        self.assertEqual(alerts[0]["fields"]["alert"], "command-refused")
        self.assertEqual(alerts[0]["fields"]["rule"], "allowed_operations")
        self.assertEqual([e for e in events if e["action"] == "protocol-violation"], [])
        self.assertTrue(wait_for(lambda: self.storescp.log().count("Association Aborted")
                                 > aborted_before, 5), self.storescp.log()[-1000:])
        self.check_device_got_abort(result)

    def test_9_other_associations_unaffected(self):
        self.assertTrue(wait_for(lambda: not self.echo_loop.running(), 30),
                        "the ultrasound's echo loop did not finish")
        self.assertEqual(self.echo_loop.log().count("ECHO-OK"), self.ECHO_ROUNDS,
                         self.echo_loop.log()[-2000:])
        # And once more after everything.
        result = self.lab.run("us", ["echoscu", "-v", "-aet", "US01", "-aec", "PACS",
                                     self.lab.ip("pacs"), "104"], check=False)
        self.assertEqual(result.returncode, 0, result.stderr.decode())
        self.assertTrue(wait_for(lambda: len([e for e in self.events()
                                              if e["device"] == "us"
                                              and e["action"] == "association-summary"])
                                 == self.ECHO_ROUNDS + 1, 10))
        us = [e for e in self.events() if e["device"] == "us"]
        echoes = [e for e in us if e["action"] == "operation"]
        self.assertEqual(len(echoes), self.ECHO_ROUNDS + 1)
        self.assertTrue(all(e["fields"]["command"] == "C-ECHO"
                            and e["fields"]["status_class"] == "success" for e in echoes))
        self.assertEqual([e for e in us if e["action"] in ("protocol-violation",
                                                           "security-alert")], [])
        self.assertTrue(all(e["fields"]["ended"] == "released" for e in us
                            if e["action"] == "association-summary"))
        self.assertTrue(self.wardgate.running())
        self.assertTrue(self.storescp.running())


if __name__ == "__main__":
    unittest.main()
