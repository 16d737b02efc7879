"""DICOM through wardgate, with stock DCMTK peers in a namespace lab.

The CT (VLAN side) talks to its usual PACS address; wardgate intercepts port 104 and 11112 and
relays. What the radiology/network engineer checks: C-ECHO works; a CT study stored through the
appliance arrives bit for bit; the PACS sees the CT's own address (not the appliance's), which is
what its AE/host access lists are built on; query (C-FIND) and retrieve (C-MOVE) work against an
archive that was filled through the appliance.

Peers (all Debian DCMTK 3.6.7):
  pacs:104    storescp -dhl +B          (-dhl: no reverse DNS, see DESIGN.md pitfalls;
                                          +B: bit-preserving, the data set is written exactly as
                                          it arrived on the wire)
  pacs:11112  dcmqrscp -dhl (forking)   (the archive for C-FIND / C-MOVE; its --single-process
                                          mode segfaults in ASC_dropAssociation after the first
                                          association in this DCMTK version, so it forks)
  ct          echoscu, storescu, findscu, movescu (+P: its own storage SCP for the C-MOVE
              sub-association, which the PACS opens towards the CT; that direction arrives on
              core0 and is routed, not intercepted)
"""

import re
import subprocess
import time
import unittest

from labkit import CT_STUDY_UID, LabTestCase, dataset_sha256, split_part10

STUDY_SIZE = 20
STUDY_UID = CT_STUDY_UID
PATIENT_ID = "PID0001"


def dump_value(path, tag):
    """A top-level element's value via dcmdump, e.g. dump_value(f, "0002,0010")."""
    out = subprocess.run(["dcmdump", "-q", "+P", tag, str(path)], capture_output=True,
                         text=True, check=True, timeout=30).stdout
    m = re.search(r"\[([^\]]*)\]|=(\S+)", out)
    return (m.group(1) or m.group(2)).strip() if m else None


class DicomRelayTests(LabTestCase):
    lab_name = "itdcm"

    @classmethod
    def set_up_lab(cls, lab):
        work = lab.workdir
        cls.files = lab.make_ct_study(STUDY_SIZE)
        cls.study = cls.files[0].parent
        cls.sent = {dump_value(f, "0008,0018"): f for f in cls.files}

        # storescp on 104. -xcr runs a shell command after each stored object, with #r the
        # calling presentation address (the TCP peer's IP, with -dhl), #a the calling AE title
        # and #f the file name (storescp double-quotes each for the shell), so every stored
        # image records the address the PACS saw it come from. -xs (--exec-sync) runs the
        # command to completion before storescp goes on.
        cls.store_dir = work / "storescp"
        cls.store_dir.mkdir()
        cls.peers_file = work / "storescp-peers.txt"
        cls.storescp = lab.start("pacs", [
            "storescp", "-v", "-dhl", "+B", "-aet", "PACS", "-od", cls.store_dir,
            "-xcr", f"echo #r #a #f >> {cls.peers_file}", "-xs", "104"], ready_port=104)

        # dcmqrscp on 11112, with the CT's storage SCP as the only C-MOVE destination.
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

        cls.wardgate = lab.start_wardgate()

    # -- helpers ---------------------------------------------------------------------------
    def ct(self, argv, timeout=120):
        result = self.lab.run("ct", argv, timeout=timeout, check=False)
        out = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
        self.assertEqual(result.returncode, 0, f"{argv[0]} failed:\n{out}")
        return out

    def sessions(self, port):
        ct, pacs = re.escape(self.lab.ip("ct")), re.escape(self.lab.ip("pacs"))
        pattern = re.compile(rf"session \d+: {ct}:\d+ -> {pacs}:{port} \([a-z-]*dicom\) closed after "
                             rf"[\d.]+ s: (\d+) bytes from device \((\w+)\), (\d+) bytes to "
                             rf"device \((\w+)\)")
        return [m.groups() for m in pattern.finditer(self.wardgate.log())]

    def wait_sessions(self, port, count, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.sessions(port)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.sessions(port)

    # -- tests -----------------------------------------------------------------------------
    def test_1_echo(self):
        before = len(self.sessions(104))
        out = self.ct(["echoscu", "-v", "-aet", "CT01", "-aec", "PACS", self.lab.ip("pacs"), "104"])
        self.assertIn("Received Echo Response (Success)", out)
        sessions = self.wait_sessions(104, before + 1)
        self.assertEqual(len(sessions), before + 1, self.wardgate.log())
        from_dev, from_end, to_dev, to_end = sessions[-1]
        self.assertGreater(int(from_dev), 0)
        self.assertGreater(int(to_dev), 0)
        self.assertEqual((from_end, to_end), ("eof", "eof"))

    def test_2_store_study_bit_for_bit(self):
        before = len(self.sessions(104))
        # storescu -R proposes only the SOP class the files need (CT Image Storage), with its
        # default uncompressed transfer syntaxes; the files are Explicit VR Little Endian and
        # storescp prefers exactly that, so storescu sends each data set as it is in the file
        # (checked below from storescu's own log: "Converting ... X -> X" means no conversion).
        out = self.ct(["storescu", "-v", "-R", "-aet", "CT01", "-aec", "PACS",
                       self.lab.ip("pacs"), "104", *self.files])
        self.assertEqual(out.count("Received Store Response (Success)"), STUDY_SIZE, out)
        conversions = re.findall(r"Converting transfer syntax: (.+) -> (.+)", out)
        self.assertEqual(len(conversions), STUDY_SIZE, out)
        for source, target in conversions:
            self.assertEqual(source.strip(), target.strip())

        received = sorted(self.store_dir.iterdir())
        self.assertEqual(len(received), STUDY_SIZE, received)
        total = 0
        for path in received:
            uid = dump_value(path, "0008,0018")
            self.assertIn(uid, self.sent)
            original = self.sent[uid]
            self.assertEqual(dataset_sha256(path), dataset_sha256(original), path.name)
            self.assertEqual(dump_value(path, "0002,0010"), dump_value(original, "0002,0010"))
            total += len(split_part10(original)[1])
        self.assertEqual(len({dump_value(p, "0008,0018") for p in received}), STUDY_SIZE)

        # The PACS saw every image coming from the CT's own address.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
                not self.peers_file.exists()
                or len(self.peers_file.read_text().splitlines()) < STUDY_SIZE):
            time.sleep(0.05)
        records = self.peers_file.read_text().splitlines()
        self.assertEqual(len(records), STUDY_SIZE, records)
        for record in records:
            peer, calling_ae, _ = record.split(" ", 2)
            self.assertEqual(peer, self.lab.ip("ct"), record)
            self.assertEqual(calling_ae, "CT01")

        # And it went through wardgate: one session carrying at least every data set.
        sessions = self.wait_sessions(104, before + 1)
        self.assertEqual(len(sessions), before + 1, self.wardgate.log())
        from_dev, from_end, _, to_end = sessions[-1]
        self.assertGreater(int(from_dev), total)
        self.assertEqual((from_end, to_end), ("eof", "eof"))

    def test_3_query_retrieve(self):
        pacs, before = self.lab.ip("pacs"), len(self.sessions(11112))
        out = self.ct(["storescu", "-v", "-R", "-aet", "CT01", "-aec", "ARCHIVE", pacs, "11112",
                       *self.files])
        self.assertEqual(out.count("Received Store Response (Success)"), STUDY_SIZE, out)
        self.assertTrue(self.dcmqrscp.wait_log("Association Release", 10))
        # The archive logs the peer of each association: the CT, not the appliance.
        peers = re.findall(r"Association Received \(([\d.]+):(\w+) -> ARCHIVE\)",
                           self.dcmqrscp.log())
        self.assertTrue(peers, self.dcmqrscp.log())
        self.assertEqual({p for p, _ in peers}, {self.lab.ip("ct")})

        # C-FIND, patient level (patient root) and study level (study root).
        find_dir = self.lab.workdir / "find"
        for level, model, keys, wanted in [
                ("PATIENT", "-P", ["PatientID", "PatientName"], ("0010,0020", PATIENT_ID)),
                ("STUDY", "-S", ["PatientID=" + PATIENT_ID, "StudyInstanceUID"],
                 ("0020,000d", STUDY_UID))]:
            with self.subTest(level=level):
                out_dir = find_dir / level
                out_dir.mkdir(parents=True)
                argv = ["findscu", "-v", model, "-aet", "CT01", "-aec", "ARCHIVE", "-X",
                        "-od", out_dir, "-k", f"QueryRetrieveLevel={level}"]
                for k in keys:
                    argv += ["-k", k]
                out = self.ct(argv + [pacs, "11112"])
                self.assertIn("Received Final Find Response (Success)", out)
                responses = sorted(out_dir.glob("rsp*.dcm"))
                self.assertEqual(len(responses), 1, out)
                self.assertEqual(dump_value(responses[0], wanted[0]), wanted[1])

        # C-MOVE of the study to the CT's own storage SCP (movescu +P 11113). movescu cannot be
        # told not to resolve the sub-association's peer, and the lab has no DNS (each lookup
        # waits ~15 s for the host's unreachable resolver), so it runs in a private mount
        # namespace where /etc/hosts names the PACS: the lookup is answered from the file.
        hosts = self.lab.workdir / "hosts"
        hosts.write_text(f"127.0.0.1 localhost\n{pacs} pacs\n{self.lab.ip('ct')} ct\n")
        retrieved = self.lab.workdir / "retrieved"
        retrieved.mkdir()
        started = time.monotonic()
        out = self.ct(["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
                       hosts, "movescu", "-v", "-S", "-aet", "CTSTORE", "-aec", "ARCHIVE",
                       "-aem", "CTSTORE", "+P", "11113", "-od", retrieved,
                       "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={STUDY_UID}",
                       pacs, "11112"])
        self.assertIn("Received Final Move Response (Success)", out)
        self.assertLess(time.monotonic() - started, 30, "C-MOVE stalled")
        files = sorted(retrieved.iterdir())
        self.assertEqual(len(files), STUDY_SIZE, out)
        for path in files:
            uid = dump_value(path, "0008,0018")
            self.assertIn(uid, self.sent)
            self.assertEqual(dataset_sha256(path), dataset_sha256(self.sent[uid]), path.name)

        # Four associations from the CT to 11112 went through wardgate (store, 2 x find, move);
        # the sub-association (PACS -> CT:11113) is not intercepted.
        sessions = self.wait_sessions(11112, before + 4)
        self.assertEqual(len(sessions), before + 4, self.wardgate.log())
        self.assertNotIn(":11113 ", self.wardgate.log())


if __name__ == "__main__":
    unittest.main()
