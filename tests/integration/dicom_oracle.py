"""dicom_oracle: Wireshark's DICOM dissector (tshark) as an independent reading of lab traffic.

wardgate's audit events say which DIMSE operations crossed it; this module says what tshark saw
on the wire, so a test can compare the two without trusting wardgate's own decoder:

    cap = start_capture(lab, "ct", path, probe_to=lab.ip("pacs"))   # tshark -i eth0 -w path
    ... run echoscu / storescu / findscu ...
    stop_capture(cap)                                                # SIGINT: pcap flushed
    streams = read_capture(path, ports=(104, 11112))
    for s in streams.values():   # one per TCP connection, in capture order
        s.client, s.server       # ("10.x.1.20", 51234), ("10.x.2.10", 104)
        s.pdus                   # [Pdu(type=1, ...), ...]
        s.messages               # [Message(command="C-ECHO-RQ", message_id=1, ...), ...]

tshark is Debian's 4.0 (package tshark). Its DICOM dissector decodes command sets into testable
fields only with the preference dicom.tag_tree on; the tree (PDML) keeps each tag together with
its value, which the flat `-T fields` output does not.
"""

import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

# PS3.7 E.1: Command Field values.
COMMANDS = {
    0x0001: "C-STORE-RQ", 0x8001: "C-STORE-RSP",
    0x0010: "C-GET-RQ", 0x8010: "C-GET-RSP",
    0x0020: "C-FIND-RQ", 0x8020: "C-FIND-RSP",
    0x0021: "C-MOVE-RQ", 0x8021: "C-MOVE-RSP",
    0x0030: "C-ECHO-RQ", 0x8030: "C-ECHO-RSP",
    0x0FFF: "C-CANCEL-RQ",
    0x0100: "N-EVENT-REPORT-RQ", 0x8100: "N-EVENT-REPORT-RSP",
    0x0110: "N-GET-RQ", 0x8110: "N-GET-RSP",
    0x0120: "N-SET-RQ", 0x8120: "N-SET-RSP",
    0x0130: "N-ACTION-RQ", 0x8130: "N-ACTION-RSP",
    0x0140: "N-CREATE-RQ", 0x8140: "N-CREATE-RSP",
    0x0150: "N-DELETE-RQ", 0x8150: "N-DELETE-RSP",
}

# Command set elements (group 0000) the oracle reports, by tag.
_COMMAND_TAGS = {
    0x00000002: "affected_sop_class_uid",
    0x00000003: "requested_sop_class_uid",
    0x00000100: "command_field",
    0x00000110: "message_id",
    0x00000120: "message_id_responded_to",
    0x00000600: "move_destination",
    0x00000800: "data_set_type",
    0x00000900: "status",
    0x00001000: "affected_sop_instance_uid",
    0x00001001: "requested_sop_instance_uid",
    0x00001020: "remaining_suboperations",
    0x00001021: "completed_suboperations",
    0x00001022: "failed_suboperations",
    0x00001023: "warning_suboperations",
}


@dataclass
class Pdu:
    frame: int
    src: tuple
    dst: tuple
    type: int                       # PS3.8 9.3: 1 A-ASSOCIATE-RQ ... 7 A-ABORT
    fields: dict = field(default_factory=dict)  # reject result/source/reason, abort source/reason


@dataclass
class Message:
    """One DIMSE command set tshark decoded (and, for data PDVs, the data set tags it saw)."""
    frame: int
    src: tuple
    dst: tuple
    context_id: int
    command: str
    values: dict


@dataclass
class Stream:
    client: tuple = None            # the side that sent A-ASSOCIATE-RQ (or the SYN)
    server: tuple = None
    pdus: list = field(default_factory=list)
    messages: list = field(default_factory=list)
    data_sets: list = field(default_factory=list)  # [(frame, src, {tag: text})] last fragments


PROBE_PORT = 9  # discard: nothing listens there in the lab, the probe's SYN is answered by RST


def start_capture(lab, role, path, probe_to, interface="eth0", timeout=20.0):
    """tshark capturing TCP on `interface` in the role's namespace into `path` (pcapng).

    "Capturing on ..." is printed before packets are really being captured, so the capture
    counts as started only once it has shown a probe: a TCP connection attempt from the role to
    probe_to:9, repeated until tshark prints it (-P -l: a summary line per packet while it
    writes the file). The probes are on port 9, which read_capture() does not decode."""
    proc = lab.start(role, ["tshark", "-n", "-l", "-P", "-i", interface, "-f", "tcp",
                            "-w", path], ready_text="Capturing on", timeout=timeout)
    probe = ("import socket, sys\n"
             "s = socket.socket()\n"
             "s.settimeout(1)\n"
             "s.connect_ex((sys.argv[1], int(sys.argv[2])))\n")
    marker = re.compile(rf"→ {re.escape(probe_to)}\s+TCP .* → {PROBE_PORT} \[SYN\]")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lab.run(role, ["/usr/bin/python3", "-c", probe, probe_to, PROBE_PORT], check=False)
        if marker.search(proc.log()):
            return proc
        time.sleep(0.1)
    proc.stop(signal.SIGINT)
    raise RuntimeError(f"tshark in {role} did not show its probe:\n{proc.log()[-2000:]}")


def stop_capture(proc, timeout=15.0):
    """SIGINT by PID, the way tshark finishes its file; returns its exit status."""
    return proc.stop(signal.SIGINT, timeout=timeout)


def _int(text):
    return int(text, 16) if text.startswith("0x") else int(text)


def _addr(packet, which):
    ip = packet.find(f".//field[@name='ip.{which}']")
    port = packet.find(f".//field[@name='tcp.{which}port']")
    return ip.get("show"), int(port.get("show"))


def _tags(pdv):
    """{tag: element} of the top-level elements of one PDV (sequences not descended)."""
    out = {}
    for element in pdv.findall("field"):
        tag = element.find("field[@name='dicom.tag']")
        if tag is None:
            continue
        out[_int(tag.get("show"))] = element
    return out


def _value(element):
    for name in ("dicom.tag.value.str", "dicom.tag.value.16u", "dicom.tag.value.32u",
                 "dicom.tag.value.16s", "dicom.tag.value.32s"):
        v = element.find(f"field[@name='{name}']")
        if v is not None:
            text = v.get("show")
            if name == "dicom.tag.value.str":
                # tshark appends the UID's name: "1.2.840.10008.1.1 (Verification SOP Class)"
                return text.split(" (", 1)[0].strip()
            return _int(text)
    return None


def read_capture(path, ports=(104, 11112), timeout=120):
    """{tcp.stream: Stream} of the DICOM traffic in a capture, as tshark decodes it."""
    argv = ["tshark", "-n", "-r", str(path), "-o", "dicom.tag_tree:TRUE",
            "-o", "dicom.pdv_reassemble:TRUE", "-Y", "dicom", "-T", "pdml"]
    for port in ports:
        argv += ["-d", f"tcp.port=={port},dicom"]
    result = subprocess.run(argv, capture_output=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"tshark -r {path} failed: {result.stderr.decode(errors='replace')}")
    streams = {}
    root = ET.fromstring(result.stdout)
    for packet in root.iter("packet"):
        frame = int(packet.find(".//field[@name='frame.number']").get("show"))
        stream_id = int(packet.find(".//field[@name='tcp.stream']").get("show"))
        src, dst = _addr(packet, "src"), _addr(packet, "dst")
        stream = streams.setdefault(stream_id, Stream())
        if stream.client is None:
            stream.client, stream.server = (src, dst) if dst[1] in ports else (dst, src)
        for proto in packet.findall("proto[@name='dicom']"):
            _read_dicom(proto, frame, src, dst, stream)
    return streams


def _read_dicom(proto, frame, src, dst, stream):
    pdu_types = proto.findall("field[@name='dicom.pdu.type']")
    for pdu_type in pdu_types:
        pdu = Pdu(frame, src, dst, _int(pdu_type.get("show")))
        for name in ("dicom.assoc.reject.result", "dicom.assoc.reject.source",
                     "dicom.assoc.reject.reason", "dicom.assoc.abort.source",
                     "dicom.assoc.abort.reason"):
            f = proto.find(f".//field[@name='{name}']")
            if f is not None:
                pdu.fields[name.removeprefix("dicom.assoc.")] = _int(f.get("show"))
        stream.pdus.append(pdu)
    for pdv in proto.iter("field"):
        flags = pdv.find("field[@name='dicom.pdv.flags']")
        if flags is None:
            continue
        context = _int(pdv.find("field[@name='dicom.pdv.ctx']").get("show"))
        flag_bits = _int(flags.get("show"))
        tags = _tags(pdv)
        if not tags:
            continue  # a fragment; the reassembled message shows in its last fragment's frame
        if flag_bits & 0x01:
            values = {}
            for tag, name in _COMMAND_TAGS.items():
                if tag in tags:
                    values[name] = _value(tags[tag])
            command = COMMANDS.get(values.get("command_field"), f"0x{values.get('command_field')}")
            stream.messages.append(Message(frame, src, dst, context, command, values))
        else:
            stream.data_sets.append((frame, src, {t: _value(e) for t, e in tags.items()}))


def operations(stream):
    """The stream's DIMSE operations as tshark saw them, in request order:
    [{"command": "C-STORE", "message_id": 1, "sop_instance_uid": ..., "status": 0,
      "pending": 2, "final": Message}], pairing each request with its responses."""
    ops, by_id = [], {}
    for m in stream.messages:
        if m.command.endswith("-RQ"):
            op = {"command": m.command[:-3], "message_id": m.values.get("message_id"),
                  "sop_class_uid": m.values.get("affected_sop_class_uid")
                  or m.values.get("requested_sop_class_uid"),
                  "sop_instance_uid": m.values.get("affected_sop_instance_uid")
                  or m.values.get("requested_sop_instance_uid"),
                  "move_destination": m.values.get("move_destination"),
                  "requested_by": m.src, "status": None, "pending": 0, "final": None}
            ops.append(op)
            by_id[(m.src, op["message_id"])] = op
        elif m.command.endswith("-RSP"):
            op = by_id.get((m.dst, m.values.get("message_id_responded_to")))
            if op is None:
                continue
            status = m.values.get("status")
            if status in (0xFF00, 0xFF01):
                op["pending"] += 1
            else:
                op["status"] = status
                op["final"] = m
    return ops
