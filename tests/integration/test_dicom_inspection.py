"""DICOM inspection (issue 3): every association and DIMSE operation through wardgate is audited,
and each device's DICOM rules are enforced, with stock DCMTK peers in a namespace lab.

What a PACS administrator and an auditor check: every object a modality stores arrives bit for
bit and is recorded once, with the identifiers an investigation follows (SOP instance, study,
series, modality; the patient only as a keyed hash); queries are recorded with their level, the
keys asked and how many matches came back; retrieves with their destination and sub-operation
counts; rejections and aborts as they happened; a device that breaks its rules is refused at the
association or at the command, with a security alert, while the others go on; and Wireshark's
DICOM dissector (tshark), reading the same traffic independently, sees the same operations.

Peers (Debian DCMTK 3.6.7):
  pacs:104    storescp -dhl +B +xa +uf   (+B: data sets written exactly as received; +xa: every
              --fork                      transfer syntax accepted, so nothing is converted;
                                          +uf: unique file names, several test files share a SOP
                                          instance UID; -xcr/-xs: records "#a #f" per object;
                                          --fork: one process per association, so associations
                                          of several devices run at the same time)
  pacs:11112  dcmqrscp -dhl (forking)   (archive for C-FIND / C-MOVE / C-GET; rejects a called
                                          AE title it does not know)
  ct/us/mon   echoscu, storescu, findscu, movescu (+P 11113), getscu
  ct          tshark on eth0, the CT's own link (the oracle; dicom_oracle.py)

Audit events are JSON lines on wardgate's stderr (audit.log = stderr in lab/wardgate.json).
The lab's devices are configured at 10.1.1.x; each Lab has its own /24s, so the tests rewrite
the device addresses to the lab's VLAN net.
"""

import hashlib
import json
import re
import signal
import sys
import time
import unittest
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # dicom_oracle, however it is run
import dicom_oracle  # noqa: E402
from labkit import CT_STUDY_UID, LabTestCase, wait_for  # noqa: E402

PYDICOM_DATA = Path("/usr/lib/python3/dist-packages/pydicom/data")
STUDY_SIZE = 20
STUDY_UID = CT_STUDY_UID
SERIES_UID = "2.25.329800735698586629295641978511506172918.2"
PATIENT_ID = "PID0001"
DEFLATED = "1.2.840.10008.1.2.1.99"


# -- helpers shared by the tests ---------------------------------------------------------------


def devices_with(lab, name, **dicom_rules):
    """The lab's devices list with `name`'s dicom rules updated."""
    devices = lab.wardgate_config()["devices"]
    for device in devices:
        if device["name"] == name:
            device.setdefault("dicom", {}).update(dicom_rules)
    return devices


def split_part10(data):
    """(file meta information bytes, data set bytes) of a DICOM file's bytes. Only the data set
    travels over the network (PS3.7); a file without the DICM prefix is a bare data set."""
    if data[128:132] != b"DICM":
        return b"", data
    pos = 132
    # The meta information is Explicit VR Little Endian; walk it to its end rather than trusting
    # its group length (some test files have none).
    while pos + 8 <= len(data) and data[pos:pos + 2] == b"\x02\x00":
        vr = data[pos + 4:pos + 6]
        if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN"):
            length = int.from_bytes(data[pos + 8:pos + 12], "little")
            pos += 12 + length
        else:
            length = int.from_bytes(data[pos + 6:pos + 8], "little")
            pos += 8 + length
    return data[:pos], data[pos:]


def keyed_hash(secret, identifier):
    """audit.patient_data keyed-hash: b2: + BLAKE2b-256 keyed with the audit secret
    (libsodium crypto_generichash = BLAKE2b with key) of the identifier without padding."""
    return "b2:" + hashlib.blake2b(identifier, digest_size=32, key=secret).hexdigest()


def describe_file(path):
    """What the test expects wardgate to report for a file, read with pydicom (independent of
    DCMTK and of wardgate): SOP class/instance, transfer syntax, identifiers (raw bytes of the
    patient ID, so padding is handled as bytes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's remarks on odd test files
        return _describe_file(path)


def _describe_file(path):
    import pydicom  # Debian python3-pydicom
    from pydicom.uid import (ExplicitVRBigEndian, ExplicitVRLittleEndian,
                             ImplicitVRLittleEndian)
    try:
        ds = pydicom.dcmread(str(path), stop_before_pixels=True)
    except Exception:  # noqa: BLE001 - no meta header: storescu reads a bare data set too
        try:
            ds = pydicom.dcmread(str(path), stop_before_pixels=True, force=True)
        except Exception:  # noqa: BLE001
            return None
    try:
        sop_class, sop_instance = str(ds.SOPClassUID), str(ds.SOPInstanceUID)
    except Exception:  # noqa: BLE001
        return None
    ts = getattr(ds.file_meta, "TransferSyntaxUID", None) if hasattr(ds, "file_meta") else None
    if not ts:
        ts = (ImplicitVRLittleEndian if ds.is_implicit_VR else
              ExplicitVRLittleEndian if ds.is_little_endian else ExplicitVRBigEndian)

    def text(keyword):
        try:
            value = ds.get(keyword)
        except Exception:  # noqa: BLE001
            return None
        value = str(value).strip(" \0") if value is not None else ""
        return value or None

    raw_pid = None
    try:
        element = ds.get_item(0x00100020)
        if element is not None and element.value is not None:
            raw = element.value if isinstance(element.value, bytes) else str(element.value).encode()
            raw_pid = raw.strip(b" \0") or None
    except Exception:  # noqa: BLE001
        raw_pid = None
    return {"sop_class_uid": sop_class.strip(" \0"), "sop_instance_uid": sop_instance.strip(" \0"),
            "transfer_syntax": str(ts), "study_instance_uid": text("StudyInstanceUID"),
            "series_instance_uid": text("SeriesInstanceUID"), "modality": text("Modality"),
            "patient_id": raw_pid}


def storescu_config(described, path):
    """A storescu association profile (-xf FILE All) proposing each (SOP class, transfer
    syntax) pair of the files exactly once, each transfer syntax in a context of its own: with
    storescp accepting everything (+xa), each data set travels in its own transfer syntax."""
    pairs = sorted({(d["sop_class_uid"], d["transfer_syntax"]) for d in described})
    syntaxes = sorted({ts for _, ts in pairs})
    lines = ["[[TransferSyntaxes]]"]
    for i, ts in enumerate(syntaxes):
        lines += [f"[TS{i}]", f"TransferSyntax1 = {ts}"]
    lines += ["[[PresentationContexts]]", "[Contexts]"]
    for n, (sop_class, ts) in enumerate(pairs, 1):
        lines.append(f"PresentationContext{n} = {sop_class}\\TS{syntaxes.index(ts)}")
    lines += ["[[Profiles]]", "[All]", "PresentationContexts = Contexts"]
    Path(path).write_text("\n".join(lines) + "\n")
    return len(pairs)


def storescu_blocks(log):
    """storescu -v output cut per file: [(path, block text)] in sending order."""
    parts = re.split(r"^I: Sending file: (.+)$", log, flags=re.M)
    return [(parts[i].strip(), parts[i + 1]) for i in range(1, len(parts), 2)]


class DicomInspectionTests(LabTestCase):
    lab_name = "itinsp"

    @classmethod
    def set_up_lab(cls, lab):
        work = lab.workdir

        cls.study_files = lab.make_ct_study(STUDY_SIZE)
        cls.study = cls.study_files[0].parent
        cls.study_by_uid = {f"{STUDY_UID.rsplit('.', 1)[0]}.3.{i}": f
                            for i, f in enumerate(cls.study_files, 1)}

        # storescp on 104; every stored object appends "<calling AE> <file>" to a list, in
        # reception order (-xs: the command runs before storescp goes on).
        cls.store_dir = work / "storescp"
        cls.store_dir.mkdir()
        cls.received_list = work / "received.txt"
        cls.received_list.touch()
        # While the file `slow` exists, storescp takes 50 ms more per object (a PACS under load),
        # so that a transfer is still in progress when a test acts on it.
        cls.slow_flag = work / "slow"
        cls.storescp = lab.start("pacs", [
            "storescp", "-v", "-dhl", "+B", "+xa", "+uf", "-aet", "PACS", "-od", cls.store_dir,
            "-xcr", f"echo #a #f >> {cls.received_list}; test -e {cls.slow_flag} && sleep 0.05",
            "-xs", "--fork", "104"], ready_port=104)

        # dcmqrscp on 11112: the archive. Its only move destination is the CT's storage SCP.
        cls.db_dir = work / "qrdb"
        cls.db_dir.mkdir()
        cfg = work / "dcmqrscp.cfg"
        cfg.write_text(
            "NetworkTCPPort  = 11112\n"
            "MaxPDUSize      = 16384\n"
            "MaxAssociations = 16\n\n"
            "HostTable BEGIN\n"
            f"ctstore = (CTSTORE, {lab.ip('ct')}, 11113)\n"
            "HostTable END\n\n"
            "VendorTable BEGIN\nVendorTable END\n\n"
            "AETable BEGIN\n"
            f"ARCHIVE  {cls.db_dir}  RW (200, 1024mb)  ANY\n"
            "AETable END\n")
        cls.dcmqrscp = lab.start("pacs", ["dcmqrscp", "-v", "-dhl", "-c", cfg], ready_port=11112)

        cls.secret_path = work / "audit-secret"
        cls.process_mark = 0  # records before this index are of earlier wardgate processes
        cls.wardgate = lab.start_wardgate(lab.wardgate_config())
        cls.secret = cls.secret_path.read_bytes()
        assert len(cls.secret) == 32, len(cls.secret)

        # Fill the archive through wardgate: the CT study plus two pydicom objects of other
        # patients (CT_small: patient 1CT1, MR_small: 4MR1).
        cls.archive_extra = [PYDICOM_DATA / "test_files" / "CT_small.dcm",
                             PYDICOM_DATA / "test_files" / "MR_small.dcm"]
        out = lab.run("ct", ["storescu", "-v", "-R", "-aet", "CT01", "-aec", "ARCHIVE",
                             lab.ip("pacs"), "11112", *cls.study_files, *cls.archive_extra],
                      timeout=120).stderr.decode(errors="replace")
        assert out.count("Received Store Response (Success)") == STUDY_SIZE + 2, out

    # -- helpers ---------------------------------------------------------------------------
    def run_in(self, role, argv, timeout=120, ok=True):
        result = self.lab.run(role, argv, timeout=timeout, check=False)
        out = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
        if ok:
            self.assertEqual(result.returncode, 0, f"{argv[0]} in {role} failed:\n{out}")
        return result.returncode, out

    def events(self):
        """The audit records in the durable store (the record of authority; the stderr mirror may
        lose lines by design), everything emitted so far included."""
        return self.lab.stored_events()

    def mark(self):
        return len(self.events())

    def since(self, mark, action=None, device=None, **fields):
        out = []
        for e in self.events()[mark:]:
            if action is not None and e["action"] != action:
                continue
            if device is not None and e["device"] != device:
                continue
            if any(e["fields"].get(k) != v for k, v in fields.items()):
                continue
            out.append(e)
        return out

    def wait_summaries(self, mark, count, device=None, timeout=15):
        wait_for(lambda: len(self.since(mark, "association-summary", device)) >= count, timeout)
        summaries = self.since(mark, "association-summary", device)
        self.assertEqual(len(summaries), count, self.wardgate.log()[-4000:])
        return summaries

    def session_events(self, session):
        """The records of one session of the running wardgate (session numbers start again at 1
        in each process, and the store keeps the records of earlier ones)."""
        return [e for e in self.events()[self.process_mark:]
                if e["fields"].get("session") == session]

    def received(self):
        return [line.split(" ", 1) for line in self.received_list.read_text().splitlines()]

    def slow_pacs(self):
        self.slow_flag.touch()
        self.addCleanup(self.slow_flag.unlink, missing_ok=True)

    def restart_wardgate(self, config):
        self.wardgate.stop()
        type(self).process_mark = len(self.lab.stored_events(barrier=False))
        type(self).wardgate = self.lab.start_wardgate(config)

    def with_config(self, **overrides):
        """Runs wardgate with overrides for the rest of this test; the lab's configuration is
        back for the next one."""
        self.restart_wardgate(self.lab.wardgate_config(**overrides))
        self.addCleanup(self.restart_wardgate, self.lab.wardgate_config())

    def assert_no_violations(self, mark, alerts_too=True):
        bad = self.since(mark, "protocol-violation")
        if alerts_too:
            bad += self.since(mark, "security-alert")
        self.assertEqual(len(bad), 0, [(e["action"], e["fields"].get("violation"),
                                        e["fields"].get("alert"), e["fields"].get("detail"))
                                       for e in bad])

    def find(self, model, level, keys, out_dir, role="ct", aet="CT01"):
        out_dir.mkdir(parents=True)
        argv = ["findscu", "-v", model, "-aet", aet, "-aec", "ARCHIVE", "-X", "-od", out_dir,
                "-k", f"QueryRetrieveLevel={level}"]
        for k in keys:
            argv += ["-k", k]
        _, out = self.run_in(role, argv + [self.lab.ip("pacs"), "11112"])
        self.assertIn("Received Final Find Response (Success)", out)
        return out, sorted(out_dir.glob("rsp*.dcm"))

    def with_hosts(self, argv):
        """movescu resolves the sub-association's peer and the lab has no DNS (a lookup waits
        ~15 s for the host's unreachable resolver): run it in a private mount namespace where
        /etc/hosts names the lab's hosts."""
        hosts = self.lab.workdir / "hosts"
        hosts.write_text(f"127.0.0.1 localhost\n{self.lab.ip('pacs')} pacs\n"
                         f"{self.lab.ip('ct')} ct\n")
        return ["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
                hosts, *argv]

    # -- (a) C-STORE of every pydicom test file --------------------------------------------
    def send_all_samples(self, role, host, port, files, profile):
        """storescu of every file (-nh: it goes on after a file it cannot send; it refuses some
        locally: not DICOM, no SOP instance UID, unreadable). Returns (number of C-STORE
        requests, [files whose C-STORE succeeded, in order])."""
        code, out = self.run_in(role, ["storescu", "-v", "-nh", "-xf", profile, "All",
                                       "-aet", "CT01", "-aec", "PACS", host, port, *files],
                                timeout=180, ok=False)
        self.assertIn(code, (0, 1), out[-3000:])
        sent = []
        for path, block in storescu_blocks(out):
            if "Received Store Response (Success)" not in block:
                continue
            conversion = re.search(r"Converting transfer syntax: (.+) -> (.+)", block)
            if conversion:
                self.assertEqual(conversion.group(1).strip(), conversion.group(2).strip(),
                                 f"{path}: storescu converted the data set")
            sent.append(Path(path))
        return out.count("Sending Store Request"), sent

    def test_a_store_every_sample_file(self):
        files = sorted(p for d in ("test_files", "charset_files")
                       for p in (PYDICOM_DATA / d).rglob("*") if p.is_file())
        self.assertGreater(len(files), 90, "python3-pydicom's test data is missing")
        described = {p: describe_file(p) for p in files}
        profile = self.lab.workdir / "storescu-all.cfg"
        storescu_config([d for d in described.values() if d], profile)

        # What storescu puts on the wire is not always the file's data set byte for byte: DCMTK
        # re-encodes what it read (it drops trailing padding, fixes odd lengths, ...). The
        # reference is therefore the same transfer without wardgate, storescu to a second
        # storescp over the PACS host's loopback; wardgate must deliver exactly those bytes.
        ref_dir = self.lab.workdir / "reference"
        ref_dir.mkdir()
        ref_list = self.lab.workdir / "reference.txt"
        ref_list.touch()
        ref_scp = self.lab.start("pacs", [
            "storescp", "-dhl", "+B", "+xa", "+uf", "-aet", "PACS", "-od", ref_dir,
            "-xcr", f"echo #a #f >> {ref_list}", "-xs", "24104"], ready_port=24104)
        self.addCleanup(ref_scp.stop)
        _, ref_sent = self.send_all_samples("pacs", "127.0.0.1", "24104", files, profile)
        ref_scp.stop()
        reference = [ref_dir / line.split(" ", 1)[1] for line in ref_list.read_text().splitlines()]
        self.assertEqual(len(reference), len(ref_sent))

        mark, before = self.mark(), len(self.received())
        requests, sent = self.send_all_samples("ct", self.lab.ip("pacs"), "104", files, profile)
        self.assertEqual(sent, ref_sent, "storescu sent other files through wardgate")
        self.assertGreaterEqual(len(sent), 100)

        summaries = self.wait_summaries(mark, 1, "ct")
        session = summaries[0]["fields"]["session"]
        self.assertEqual(summaries[0]["fields"]["ended"], "released")
        stores = [e for e in self.session_events(session)
                  if e["action"] == "operation" and e["fields"]["command"] == "C-STORE"]
        self.assertEqual(len(stores), requests, "one operation event per C-STORE request")
        succeeded = [e for e in stores if e["fields"]["status_class"] == "success"]
        received = self.received()[before:]
        # Every object storescp stored: recorded once, in order, as a success.
        self.assertEqual(len(received), len(sent))
        self.assertEqual(len(succeeded), len(received))
        self.assertEqual(summaries[0]["fields"]["objects"], len(received))

        unchanged_by_dcmtk = 0
        for (calling_ae, stored), original, ref, event in zip(received, sent, reference,
                                                             succeeded):
            with self.subTest(file=original.name):
                self.assertEqual(calling_ae, "CT01")
                expected = described[original]
                sent_set = split_part10(ref.read_bytes())[1]
                got_set = split_part10((self.store_dir / stored).read_bytes())[1]
                self.assertEqual(hashlib.sha256(got_set).hexdigest(),
                                 hashlib.sha256(sent_set).hexdigest(), "data set changed")
                unchanged_by_dcmtk += sent_set == split_part10(original.read_bytes())[1]
                f = event["fields"]
                self.assertEqual(event["outcome"], "success")
                self.assertEqual(f["status"], 0)
                self.assertEqual(f["requested_by"], "device")
                self.assertEqual(f["sop_instance_uid"], expected["sop_instance_uid"])
                self.assertEqual(f["sop_class_uid"], expected["sop_class_uid"])
                self.assertEqual(f["data_set_bytes"], len(sent_set))
                if expected["transfer_syntax"] == DEFLATED:
                    # Not decoded: the identifiers are missing and the event says why.
                    self.assertIn("identifiers_note", f)
                    self.assertNotIn("patient_id", f)
                    continue
                for key in ("study_instance_uid", "series_instance_uid", "modality"):
                    if expected[key] is not None:
                        self.assertEqual(f.get(key), expected[key], key)
                    else:
                        self.assertNotIn(key, f)
                if expected["patient_id"] is not None:
                    self.assertRegex(f["patient_id"], r"^b2:[0-9a-f]{64}$")
                    self.assertEqual(f["patient_id"], keyed_hash(self.secret,
                                                                 expected["patient_id"]))
                    self.assertNotIn(expected["patient_id"].decode(errors="replace"),
                                     json.dumps(event))
                else:
                    self.assertNotIn("patient_id", f)
        # Most files travel exactly as stored on disk, too.
        self.assertGreaterEqual(unchanged_by_dcmtk, len(sent) // 2)
        self.assert_no_violations(mark)

    # -- (b) C-FIND at three levels ---------------------------------------------------------
    def test_b_find_patient_study_series(self):
        cases = [
            ("-P", "PATIENT", ["PatientID", "PatientName"], 3),
            ("-S", "STUDY", [f"PatientID={PATIENT_ID}", "StudyInstanceUID", "StudyDate"], 1),
            ("-S", "SERIES", [f"StudyInstanceUID={STUDY_UID}", "SeriesInstanceUID",
                              "Modality"], 1),
        ]
        for model, level, keys, expected_matches in cases:
            with self.subTest(level=level):
                mark = self.mark()
                out, responses = self.find(model, level, keys,
                                           self.lab.workdir / "find" / level)
                pending = len(re.findall(r"Received Find Response \d+ \(Pending\)", out))
                self.assertEqual(pending, len(responses), out)
                self.assertEqual(len(responses), expected_matches, out)
                summary = self.wait_summaries(mark, 1, "ct")[0]
                finds = [e for e in self.session_events(summary["fields"]["session"])
                         if e["action"] == "operation"]
                self.assertEqual(len(finds), 1, finds)
                f = finds[0]["fields"]
                self.assertEqual(f["command"], "C-FIND")
                self.assertEqual(f["status_class"], "success")
                self.assertEqual(f["query_level"], level)
                self.assertEqual(f["matches"], len(responses))
                asked = {k.split("=", 1)[0] for k in keys} | {"QueryRetrieveLevel"}
                self.assertLessEqual(asked, set(f["query_keys"]), f["query_keys"])
                # Keys, never their values.
                self.assertNotIn(PATIENT_ID, json.dumps(finds[0]))
                self.assert_no_violations(mark)

    # -- (c) C-MOVE -------------------------------------------------------------------------
    def test_c_move_study(self):
        mark = self.mark()
        retrieved = self.lab.workdir / "moved"
        retrieved.mkdir()
        _, out = self.run_in("ct", self.with_hosts([
            "movescu", "-v", "-S", "-aet", "CTSTORE", "-aec", "ARCHIVE", "-aem", "CTSTORE",
            "+P", "11113", "-od", retrieved, "-k", "QueryRetrieveLevel=STUDY",
            "-k", f"StudyInstanceUID={STUDY_UID}", self.lab.ip("pacs"), "11112"]), timeout=60)
        self.assertIn("Received Final Move Response (Success)", out)
        files = sorted(retrieved.iterdir())
        self.assertEqual(len(files), STUDY_SIZE, out)
        sent_sets = {hashlib.sha256(split_part10(f.read_bytes())[1]).hexdigest()
                     for f in self.study_files}
        got_sets = {hashlib.sha256(split_part10(f.read_bytes())[1]).hexdigest() for f in files}
        self.assertEqual(got_sets, sent_sets)

        summary = self.wait_summaries(mark, 1, "ct")[0]
        moves = [e for e in self.session_events(summary["fields"]["session"])
                 if e["action"] == "operation"]
        self.assertEqual(len(moves), 1, moves)
        f = moves[0]["fields"]
        self.assertEqual(f["command"], "C-MOVE")
        self.assertEqual(f["status_class"], "success")
        self.assertEqual(f["move_destination"], "CTSTORE")
        self.assertEqual(f["query_level"], "STUDY")
        self.assertEqual(f["suboperations_completed"], STUDY_SIZE)
        self.assertEqual(f.get("suboperations_failed", 0), 0)
        # The sub-association (ARCHIVE -> CTSTORE at ct:11113) goes from the core to the VLAN:
        # the lab's CT publishes no service, so wardgate neither relays nor records it
        # (test_core_to_device.py: a published storage SCP is proxied and audited).
        self.assertEqual(len(self.since(mark, "association-requested")), 1)
        self.assertEqual(self.since(mark, "association-requested", calling_ae="ARCHIVE"), [])
        self.assertNotIn(":11113", self.wardgate.log())
        self.assert_no_violations(mark)

    # -- (d) C-GET: refused by the rules, then allowed ---------------------------------------
    def getscu(self, out_dir):
        out_dir.mkdir()
        return self.run_in("ct", ["getscu", "-v", "-S", "-aet", "CT01", "-aec", "ARCHIVE",
                                  "-od", out_dir, "-k", "QueryRetrieveLevel=STUDY",
                                  "-k", f"StudyInstanceUID={STUDY_UID}", self.lab.ip("pacs"),
                                  "11112"], timeout=60, ok=False)

    def test_d1_get_refused(self):
        # lab/wardgate.json: ct may C-ECHO, C-STORE, C-FIND, C-MOVE, not C-GET. Stock getscu
        # proposes 121 presentation contexts (Q/R GET plus every storage SOP class with the SCP
        # role), a large but valid A-ASSOCIATE-RQ that must pass: the refusal is at the command.
        mark = self.mark()
        refused_dir = self.lab.workdir / "get-refused"
        code, out = self.getscu(refused_dir)
        self.assertNotEqual(code, 0, out)
        self.assertNotIn("Received C-GET Response (Success)", out)
        self.assertEqual(list(refused_dir.iterdir()), [])
        summary = self.wait_summaries(mark, 1, "ct")[0]
        self.assert_no_violations(mark, alerts_too=False)
        self.assertTrue(summary["fields"]["accepted"], summary)
        alerts = self.since(mark, "security-alert", "ct")
        self.assertEqual(len(alerts), 1, alerts)
        self.assertEqual(alerts[0]["fields"]["alert"], "command-refused")
        self.assertEqual(alerts[0]["fields"]["rule"], "allowed_operations")
        self.assertEqual(alerts[0]["outcome"], "denied")
        self.assertIn("C-GET", alerts[0]["fields"]["reason"])
        self.assertEqual(summary["fields"]["ended"], "aborted-by-wardgate (command-refused)")
        self.assertEqual(summary["fields"]["objects"], 0)
        ops = [e for e in self.session_events(summary["fields"]["session"])
               if e["action"] == "operation"]
        self.assertEqual([(e["fields"]["command"], e["fields"]["status_class"], e["outcome"])
                          for e in ops], [("C-GET", "refused", "denied")])

    def test_d2_get_allowed(self):
        # Allowed for ct: the study comes back bit for bit, recorded as one C-GET whose
        # C-STORE sub-operations run on the same association, requested by the archive (with
        # Message IDs of its own, which may equal the C-GET's).
        self.with_config(devices=devices_with(
            self.lab, "ct", allowed_operations=["C-ECHO", "C-STORE", "C-FIND", "C-MOVE",
                                                "C-GET"]))
        mark = self.mark()
        got_dir = self.lab.workdir / "get-allowed"
        code, out = self.getscu(got_dir)
        self.assert_no_violations(mark)
        self.assertEqual(code, 0, out)
        self.assertIn("Received C-GET Response (Success)", out)
        files = sorted(got_dir.iterdir())
        self.assertEqual(len(files), STUDY_SIZE, out)
        sent_sets = {hashlib.sha256(split_part10(f.read_bytes())[1]).hexdigest()
                     for f in self.study_files}
        got_sets = {hashlib.sha256(split_part10(f.read_bytes())[1]).hexdigest() for f in files}
        self.assertEqual(got_sets, sent_sets)
        summary = self.wait_summaries(mark, 1, "ct")[0]
        ops = [e for e in self.session_events(summary["fields"]["session"])
               if e["action"] == "operation"]
        gets = [e for e in ops if e["fields"]["command"] == "C-GET"]
        stores = [e for e in ops if e["fields"]["command"] == "C-STORE"]
        self.assertEqual(len(gets), 1, [(e["fields"]["command"], e["fields"]["requested_by"],
                                         e["fields"]["status_class"]) for e in ops])
        f = gets[0]["fields"]
        self.assertEqual(f["status_class"], "success")
        self.assertEqual(f["requested_by"], "device")
        self.assertEqual(f["query_level"], "STUDY")
        self.assertEqual(f["suboperations_completed"], STUDY_SIZE)
        self.assertEqual(len(stores), STUDY_SIZE)
        self.assertEqual({e["fields"]["sop_instance_uid"] for e in stores},
                         set(self.study_by_uid))
        for e in stores:
            self.assertNotEqual(e["fields"]["requested_by"], "device")
            self.assertEqual(e["fields"]["status_class"], "success")
            self.assertEqual(e["fields"]["study_instance_uid"], STUDY_UID)
            self.assertEqual(e["fields"]["series_instance_uid"], SERIES_UID)
            self.assertEqual(e["fields"]["patient_id"],
                             keyed_hash(self.secret, PATIENT_ID.encode()))
        self.assert_no_violations(mark)

    # -- (e) C-ECHO -------------------------------------------------------------------------
    def test_e_echo(self):
        mark = self.mark()
        _, out = self.run_in("us", ["echoscu", "-v", "-aet", "US01", "-aec", "PACS",
                                    self.lab.ip("pacs"), "104"])
        self.assertIn("Received Echo Response (Success)", out)
        summary = self.wait_summaries(mark, 1, "us")[0]
        events = self.session_events(summary["fields"]["session"])
        self.assertEqual([e["action"] for e in events],
                         ["association-requested", "association-accepted", "operation",
                          "association-released", "association-summary"])
        op = events[2]
        self.assertEqual(op["device"], "us")
        self.assertEqual(op["fields"]["command"], "C-ECHO")
        self.assertEqual(op["fields"]["status"], 0)
        self.assertEqual(op["fields"]["status_class"], "success")
        self.assertEqual(op["fields"]["sop_class_uid"], "1.2.840.10008.1.1")
        self.assertEqual((op["fields"]["calling_ae"], op["fields"]["called_ae"]),
                         ("US01", "PACS"))
        self.assertEqual(op["fields"]["client"].split(":")[0], self.lab.ip("us"))
        self.assertEqual(op["fields"]["server"], f"{self.lab.ip('pacs')}:104")

    # -- (f) association rejected by the SCP ------------------------------------------------
    def test_f_association_rejected_by_scp(self):
        mark = self.mark()
        code, out = self.run_in("ct", ["echoscu", "-v", "-aet", "CT01", "-aec", "NOSUCHAE",
                                       self.lab.ip("pacs"), "11112"], ok=False)
        self.assertNotEqual(code, 0)
        # dcmqrscp does not know the called AE title: PS3.8 9.3.4 result 1 (rejected-permanent),
        # source 1 (service user), reason 7 (called-AE-title-not-recognized).
        self.assertRegex(out, r"Result: +Rejected Permanent")
        self.assertRegex(out, r"Source: +Service User")
        self.assertRegex(out, r"Reason: +Called AE Title Not Recognized")
        summary = self.wait_summaries(mark, 1, "ct")[0]
        rejected = [e for e in self.session_events(summary["fields"]["session"])
                    if e["action"] == "association-rejected"]
        self.assertEqual(len(rejected), 1, self.session_events(summary["fields"]["session"]))
        f = rejected[0]["fields"]
        self.assertEqual((f["result"], f["source"], f["reason"]), ("permanent", 1, 7))
        self.assertEqual(rejected[0]["outcome"], "failure")
        self.assertEqual(f["called_ae"], "NOSUCHAE")
        self.assertEqual(summary["fields"]["accepted"], False)
        self.assertEqual(summary["fields"]["ended"], "rejected")
        self.assert_no_violations(mark)

    # -- (g) aborts -------------------------------------------------------------------------
    def test_g_abort_and_killed_transfer(self):
        # A-ABORT from the device after its objects (storescu --abort).
        mark, before = self.mark(), len(self.received())
        _, out = self.run_in("ct", ["storescu", "-v", "-R", "--abort", "-aet", "CT01", "-aec",
                                    "PACS", self.lab.ip("pacs"), "104", *self.study_files[:2]])
        self.assertEqual(out.count("Received Store Response (Success)"), 2, out)
        summary = self.wait_summaries(mark, 1, "ct")[0]
        events = self.session_events(summary["fields"]["session"])
        aborted = [e for e in events if e["action"] == "association-aborted"]
        self.assertEqual(len(aborted), 1, events)
        self.assertEqual(aborted[0]["fields"]["aborted_by"], "device")
        self.assertEqual(aborted[0]["fields"]["source"], "service-user")
        self.assertEqual(aborted[0]["outcome"], "failure")
        self.assertEqual(summary["fields"]["ended"], "aborted")
        self.assertEqual(summary["fields"]["objects"], 2)
        self.assertEqual(summary["outcome"], "warning")
        self.assertEqual(len(self.received()) - before, 2)

        # The modality dies in the middle of a long transfer (SIGKILL): no A-ABORT, no release,
        # just the connection closing. The objects stored before are recorded, the one in flight
        # is recorded without a response, and the summary says how it ended.
        self.slow_pacs()
        mark, before = self.mark(), len(self.received())
        storescu = self.lab.start("ct", ["storescu", "-R", "--repeat", "20", "-aet", "CT01",
                                         "-aec", "PACS", self.lab.ip("pacs"), "104",
                                         *self.study_files])
        self.addCleanup(storescu.stop)
        self.assertTrue(wait_for(lambda: len(self.received()) - before >= 3, 30),
                        storescu.log())
        storescu.stop(signal.SIGKILL)
        summary = self.wait_summaries(mark, 1, "ct")[0]
        time.sleep(0.5)  # storescp finishes with the association
        stored = len(self.received()) - before
        self.assertLess(stored, 20 * STUDY_SIZE, "the transfer finished before the kill")
        f = summary["fields"]
        self.assertTrue(f["ended"].startswith("connection closed ("), f)
        self.assertTrue(f["accepted"])
        self.assertEqual(summary["outcome"], "warning")
        events = self.session_events(f["session"])
        self.assertEqual([e for e in events if e["action"] in ("association-released",
                                                                "association-aborted")], [])
        ops = [e for e in events if e["action"] == "operation"]
        successes = [e for e in ops if e["fields"]["status_class"] == "success"]
        unanswered = [e for e in ops if e["fields"]["status_class"] == "no-response"]
        self.assertEqual(len(successes) + len(unanswered), len(ops), ops[-3:])
        self.assertLessEqual(len(unanswered), 1)
        self.assertEqual(f["objects"], len(successes))
        # storescp may have stored the object in flight whose response never made it back.
        self.assertIn(stored - len(successes), (0, 1), (stored, len(successes)))
        if unanswered:
            self.assertIs(ops[-1], unanswered[0])
            self.assertEqual(unanswered[0]["outcome"], "failure")
        self.assertTrue(self.storescp.running())
        self.assertTrue(self.wardgate.running())

    # -- (h) policy refusals ----------------------------------------------------------------
    def test_h_policy_refusals(self):
        self.with_config(devices=devices_with(self.lab, "ct", allowed_calling_ae=["CT01"]))

        # A calling AE title ct may not use: wardgate answers A-ASSOCIATE-RJ itself, the PACS
        # never sees the association.
        mark, before = self.mark(), len(self.received())
        acked_before = self.storescp.log().count("Association Acknowledged")
        code, out = self.run_in("ct", ["storescu", "-v", "-R", "-aet", "WRONG", "-aec", "PACS",
                                       self.lab.ip("pacs"), "104", self.study_files[0]],
                                ok=False)
        self.assertNotEqual(code, 0, out)
        self.assertIn("Association Rejected", out)
        self.assertRegex(out, r"Result: +Rejected Permanent")
        self.assertRegex(out, r"Reason: +Calling AE Title Not Recognized")
        summary = self.wait_summaries(mark, 1, "ct")[0]
        alerts = self.since(mark, "security-alert", "ct")
        self.assertEqual(len(alerts), 1, alerts)
        self.assertEqual(alerts[0]["fields"]["alert"], "association-refused")
        self.assertEqual(alerts[0]["fields"]["rule"], "allowed_calling_ae")
        self.assertEqual(alerts[0]["fields"]["calling_ae"], "WRONG")
        self.assertEqual(alerts[0]["outcome"], "denied")
        self.assertEqual(summary["fields"]["ended"], "rejected-by-wardgate")
        self.assertFalse(summary["fields"]["accepted"])
        # The proxy had connected upstream (split TCP) but relayed nothing: storescp saw a TCP
        # connection close without an A-ASSOCIATE-RQ, and acknowledged nothing.
        session = summary["fields"]["session"]
        self.assertTrue(wait_for(lambda: re.search(
            rf"session {session}: .* closed after [\d.]+ s: 0 bytes from device ",
            self.wardgate.log()), 5), self.wardgate.log()[-2000:])
        time.sleep(0.3)
        self.assertEqual(self.storescp.log().count("Association Acknowledged"), acked_before,
                         self.storescp.log()[-2000:])
        self.assertEqual(len(self.received()), before)
        # The same device with its own title goes through.
        _, out = self.run_in("ct", ["storescu", "-v", "-R", "-aet", "CT01", "-aec", "PACS",
                                    self.lab.ip("pacs"), "104", self.study_files[0]])
        self.assertIn("Received Store Response (Success)", out)

        # The monitor may only C-ECHO: its C-STORE is aborted by wardgate, while the ultrasound
        # stores a long series through wardgate at the same time, untouched.
        self.slow_pacs()
        mark, before = self.mark(), len(self.received())
        repeat = 2
        us = self.lab.start("us", ["storescu", "-v", "-R", "--repeat", repeat, "-aet", "US01",
                                   "-aec", "PACS", self.lab.ip("pacs"), "104",
                                   *self.study_files])
        self.addCleanup(us.stop)
        self.assertTrue(wait_for(lambda: len(self.received()) > before, 20), us.log())
        code, out = self.run_in("mon", ["storescu", "-v", "-R", "-aet", "MON01", "-aec", "PACS",
                                        self.lab.ip("pacs"), "104", self.study_files[0]],
                                ok=False)
        self.assertNotEqual(code, 0, out)
        self.assertNotIn("Received Store Response", out)
        self.assertTrue(us.running(), f"the ultrasound's transfer did not overlap the refusal: "
                                      f"{us.popen.returncode} {us.log()[-1500:]}")
        self.assertTrue(wait_for(lambda: not us.running(), 60), "ultrasound transfer stalled")
        self.assertEqual(us.popen.returncode, 0, us.log()[-2000:])
        self.assertEqual(us.log().count("Received Store Response (Success)"),
                         repeat * STUDY_SIZE)

        mon_summary = self.wait_summaries(mark, 1, "monitor")[0]
        alerts = self.since(mark, "security-alert")
        self.assertEqual(len(alerts), 1, alerts)
        self.assertEqual(alerts[0]["device"], "monitor")
        self.assertEqual(alerts[0]["fields"]["alert"], "command-refused")
        self.assertEqual(alerts[0]["fields"]["rule"], "allowed_operations")
        self.assertIn("C-STORE", alerts[0]["fields"]["reason"])
        self.assertEqual(mon_summary["fields"]["ended"], "aborted-by-wardgate (command-refused)")
        self.assertEqual(mon_summary["fields"]["objects"], 0)
        mon_ops = [e for e in self.session_events(mon_summary["fields"]["session"])
                   if e["action"] == "operation"]
        self.assertEqual([(e["fields"]["command"], e["fields"]["status_class"], e["outcome"])
                          for e in mon_ops], [("C-STORE", "refused", "denied")])

        us_summary = self.wait_summaries(mark, 1, "us", timeout=30)[0]
        self.assertEqual(us_summary["fields"]["ended"], "released")
        self.assertEqual(us_summary["outcome"], "success")
        self.assertEqual(us_summary["fields"]["objects"], repeat * STUDY_SIZE)
        us_ops = [e for e in self.session_events(us_summary["fields"]["session"])
                  if e["action"] == "operation"]
        self.assertEqual(len(us_ops), repeat * STUDY_SIZE)
        self.assertTrue(all(e["fields"]["status_class"] == "success" for e in us_ops))
        # Only the ultrasound's objects reached the PACS.
        received = self.received()[before:]
        self.assertEqual(len(received), repeat * STUDY_SIZE)
        self.assertEqual({ae for ae, _ in received}, {"US01"})

    # -- (i) tshark as an independent oracle ------------------------------------------------
    def test_i_tshark_sees_the_same_operations(self):
        pcap = self.lab.workdir / "dicom.pcapng"
        # On the CT's own link: the device's end of each connection is what wardgate's events
        # name as "client" (the upstream leg uses another source port: split TCP).
        capture = dicom_oracle.start_capture(self.lab, "ct", pcap, probe_to=self.lab.ip("pacs"))
        self.addCleanup(capture.stop)
        mark = self.mark()
        pacs = self.lab.ip("pacs")
        self.run_in("ct", ["echoscu", "-aet", "CT01", "-aec", "PACS", pacs, "104"])
        self.run_in("ct", ["storescu", "-R", "-aet", "CT01", "-aec", "PACS", pacs, "104",
                           *self.study_files[:3], *self.archive_extra])
        out, responses = self.find("-P", "PATIENT", ["PatientID", "PatientName"],
                                   self.lab.workdir / "find-oracle")
        summaries = self.wait_summaries(mark, 3, "ct")
        time.sleep(0.3)
        self.assertEqual(dicom_oracle.stop_capture(capture), 0, capture.log())

        streams = dicom_oracle.read_capture(pcap)
        by_client = {f"{s.client[0]}:{s.client[1]}": s for s in streams.values()}
        self.assertEqual(len(by_client), 3, [s.client for s in streams.values()])
        compared = []
        for summary in summaries:
            session = summary["fields"]["session"]
            stream = by_client.get(summary["fields"]["client"])
            self.assertIsNotNone(stream, (summary["fields"]["client"], list(by_client)))
            seen = dicom_oracle.operations(stream)
            recorded = [e["fields"] for e in self.session_events(session)
                        if e["action"] == "operation"]
            self.assertEqual(len(recorded), len(seen), (recorded, seen))
            for ours, theirs in zip(recorded, seen):
                self.assertEqual(ours["command"], theirs["command"])
                self.assertEqual(ours["status"], theirs["status"])
                self.assertEqual(ours["sop_class_uid"], theirs["sop_class_uid"])
                if theirs["sop_instance_uid"]:
                    self.assertEqual(ours["sop_instance_uid"], theirs["sop_instance_uid"])
                if theirs["command"] == "C-FIND":
                    self.assertEqual(ours["matches"], theirs["pending"])
                compared.append(theirs["command"])
            # The association's own PDUs: request, accept, release.
            types = [p.type for p in stream.pdus if p.type != 4]
            self.assertEqual(types, [1, 2, 5, 6], types)
        self.assertEqual(compared, ["C-ECHO"] + ["C-STORE"] * 5 + ["C-FIND"])
        self.assertEqual(len(responses), 3)


if __name__ == "__main__":
    unittest.main()
