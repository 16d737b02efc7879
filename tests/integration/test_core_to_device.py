"""Connections from the core to a device (issue 12): a CT publishes its storage SCP
(devices[].published_services); the PACS's C-MOVE sub-association to it is intercepted, proxied,
inspected and audited under the service's rules, with stock DCMTK peers in a namespace lab.

What a PACS administrator and an auditor check: movescu on the CT retrieves a study from the
archive into the CT's own storescp and every object arrives bit for bit; the durable audit store
holds one C-STORE record per object, naming the CT as the device, the core as the initiator and
the retrieve that caused it (Move Originator AE title and Message ID, PS3.7 9.1.1.1), which is the
Message ID of the CT's own C-MOVE in the same store; a core AE title the service does not allow is
refused by wardgate, and the CT's storescp never hears of it.

Peers (Debian DCMTK 3.6.7):
  pacs:11112  dcmqrscp -dhl         the archive; its move destination CTSTORE is ct:11113
  ct:11113    storescp -dhl +B      the CT's storage SCP, published as "storescp"
  ct          storescu (fills the archive), movescu -aet CTMOVE -aem CTSTORE
  pacs        storescu -aet INTRUDER (a calling AE title the service does not allow)

Two labs: CoreToDeviceTests without a gateway section (the test adds the one nftables TPROXY rule
that diverts the published port arriving from the core, in a table of its own), and
CoreToDeviceThroughGatewayNatTests with the gateway's forwarding policy and 1:1 NAT: the archive
knows the CT only by its mapped address, the C-MOVE leaves from it and the sub-association comes
back to it, through the gateway's own diversion of published services.
"""

import json
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from labkit import CT_STUDY_UID, LabTestCase, dataset_sha256, wait_for, wardgate_bin  # noqa: E402

STUDY_SIZE = 12
PUBLISHED_PORT = 11113
DIVERT_TABLE = "itcore_published"


class CoreToDeviceTests(LabTestCase):
    lab_name = "itcore"

    @classmethod
    def sections(cls, lab):
        """Configuration sections beyond the lab's; none: no gateway, the test diverts."""
        return {}

    @classmethod
    def ct_seen_by_core(cls, lab):
        return lab.ip("ct")

    @classmethod
    def set_up_lab(cls, lab):
        work = lab.workdir
        cls.study_files = lab.make_ct_study(STUDY_SIZE)

        # The archive. Its only move destination is the CT's storage SCP.
        cls.db_dir = work / "qrdb"
        cls.db_dir.mkdir()
        cfg = work / "dcmqrscp.cfg"
        cfg.write_text(
            "NetworkTCPPort  = 11112\n"
            "MaxPDUSize      = 16384\n"
            "MaxAssociations = 16\n\n"
            "HostTable BEGIN\n"
            f"ctstore = (CTSTORE, {cls.ct_seen_by_core(lab)}, {PUBLISHED_PORT})\n"
            "HostTable END\n\n"
            "VendorTable BEGIN\nVendorTable END\n\n"
            "AETable BEGIN\n"
            f"ARCHIVE  {cls.db_dir}  RW (200, 1024mb)  ANY\n"
            "AETable END\n")
        cls.dcmqrscp = lab.start("pacs", ["dcmqrscp", "-v", "-dhl", "-c", cfg], ready_port=11112)

        # The CT's own storage SCP (+B: data sets written exactly as received).
        cls.ct_store = work / "ct-store"
        cls.ct_store.mkdir()
        cls.ct_storescp = lab.start("ct", ["storescp", "-v", "-dhl", "+B", "-aet", "CTSTORE",
                                           "-od", cls.ct_store, str(PUBLISHED_PORT)],
                                    ready_port=PUBLISHED_PORT)

        cls.store_path = work / "audit.db"
        config = lab.wardgate_config(**cls.sections(lab))
        config["audit"]["store"]["group_commit_ms"] = 5
        for device in config["devices"]:
            if device["name"] == "ct":
                device["published_services"] = [
                    {"name": "storescp", "port": PUBLISHED_PORT, "protocol": "dicom",
                     "allowed_calling_ae": ["ARCHIVE"]}]
        cls.wardgate = lab.start_wardgate(config)
        if "gateway" not in config:
            cls.divert_published_port(lab, config["interception"]["listen_port"])

        # Fill the archive through wardgate (the CT's own connection, as today).
        out = lab.run("ct", ["storescu", "-v", "-aet", "CT01", "-aec", "ARCHIVE", lab.ip("pacs"),
                             "11112", *cls.study_files], timeout=120).stderr.decode(errors="replace")
        assert out.count("Received Store Response (Success)") == STUDY_SIZE, out

    @classmethod
    def divert_published_port(cls, lab, listen_port):
        # Connections from the core (core0) to the published port go to wardgate's listener;
        # wardgate's own table marks the return traffic of its transparent sockets.
        ruleset = (f"table ip {DIVERT_TABLE} {{\n"
                   "  chain prerouting {\n"
                   "    type filter hook prerouting priority mangle; policy accept;\n"
                   f"    iifname \"core0\" tcp dport {PUBLISHED_PORT} "
                   f"tproxy to :{listen_port} meta mark set 1 accept\n"
                   "  }\n}\n")
        lab.run("gw", ["nft", "-f", "-"], input=ruleset.encode())

    # -- helpers ---------------------------------------------------------------------------
    def run_in(self, role, argv, timeout=120):
        result = self.lab.run(role, argv, timeout=timeout, check=False)
        return result.returncode, (result.stdout.decode(errors="replace") +
                                   result.stderr.decode(errors="replace"))

    def records(self):
        """The durable audit store's records (not the stderr mirror, which may drop lines)."""
        out = subprocess.run([wardgate_bin(), "audit", "export", "--store", str(self.store_path),
                              "--category", "dicom"],
                             capture_output=True, text=True, check=True, timeout=60).stdout
        return [json.loads(line)["record"] for line in out.splitlines()]

    def wait_records(self, predicate, timeout=15):
        wait_for(lambda: predicate(self.records()), timeout)
        return self.records()

    def with_hosts(self, argv):
        """movescu resolves peers and the lab has no DNS (a lookup waits ~15 s for the host's
        unreachable resolver): run it in a private mount namespace where /etc/hosts names the
        lab's hosts."""
        hosts = self.lab.workdir / "hosts"
        hosts.write_text(f"127.0.0.1 localhost\n{self.lab.ip('pacs')} pacs\n"
                         f"{self.lab.ip('ct')} ct\n")
        return ["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
                hosts, *argv]

    def ct_files(self):
        return sorted(p for p in self.ct_store.iterdir() if p.is_file())

    # -- tests -----------------------------------------------------------------------------
    def test_a_move_results_come_back_through_wardgate_and_name_their_retrieve(self):
        known = len(self.records())
        code, out = self.run_in("ct", self.with_hosts([
            "movescu", "-v", "-S", "-aet", "CTMOVE", "-aec", "ARCHIVE", "-aem", "CTSTORE",
            "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={CT_STUDY_UID}",
            self.lab.ip("pacs"), "11112"]), timeout=60)
        self.assertEqual(code, 0, out)
        self.assertIn("Received Final Move Response (Success)", out)

        # Bit for bit in the CT's own storage SCP.
        self.assertEqual({dataset_sha256(f) for f in self.ct_files()},
                         {dataset_sha256(f) for f in self.study_files})

        def complete(records):  # the C-MOVE's association and its sub-association
            return sum(1 for r in records[known:] if r["action"] == "association-summary") >= 2

        new = self.wait_records(complete)[known:]
        moves = [r for r in new if r["action"] == "operation" and r["fields"]["command"] == "C-MOVE"]
        self.assertEqual(len(moves), 1, moves)
        move = moves[0]
        self.assertEqual(move["device"], "ct")
        self.assertEqual(move["fields"]["initiator"], "device")
        self.assertEqual(move["fields"]["suboperations_completed"], STUDY_SIZE)

        stores = [r for r in new if r["action"] == "operation" and r["fields"]["command"] == "C-STORE"]
        self.assertEqual(len(stores), STUDY_SIZE, [r["action"] for r in new])
        for r in stores:
            f = r["fields"]
            self.assertEqual(r["device"], "ct")
            self.assertEqual(f["initiator"], "core")
            self.assertEqual(f["requested_by"], "core")
            self.assertEqual(f["calling_ae"], "ARCHIVE")
            self.assertEqual(f["called_ae"], "CTSTORE")
            self.assertEqual(f["client"].rsplit(":", 1)[0], self.lab.ip("pacs"))
            self.assertEqual(f["server"], f"{self.lab.ip('ct')}:{PUBLISHED_PORT}")
            self.assertEqual(f["status_class"], "success")
            self.assertEqual(f["study_instance_uid"], CT_STUDY_UID)
            # The retrieve that caused it: the CT's C-MOVE, by its requester and Message ID.
            self.assertEqual(f["move_originator_ae"], "CTMOVE")
            self.assertEqual(f["move_originator_message_id"], move["fields"]["message_id"])
        self.assertEqual(
            [r for r in new if r["action"] in ("security-alert", "protocol-violation")], [])

    def test_b_a_calling_ae_the_service_does_not_allow_is_refused(self):
        known = len(self.records())
        files_before = self.ct_files()
        code, out = self.run_in("pacs", [
            "storescu", "-v", "-aet", "INTRUDER", "-aec", "CTSTORE", self.ct_seen_by_core(self.lab),
            str(PUBLISHED_PORT), self.study_files[0]], timeout=60)
        self.assertNotEqual(code, 0, out)
        self.assertIn("Association Rejected", out)
        self.assertRegex(out, r"Reason: +Calling AE Title Not Recognized")
        self.assertEqual(self.ct_files(), files_before)

        def refused(records):
            return any(r["action"] == "association-rejected" for r in records[known:])

        new = self.wait_records(refused)[known:]
        rejected = [r for r in new if r["action"] == "association-rejected"]
        self.assertEqual(len(rejected), 1, new)
        self.assertEqual(rejected[0]["device"], "ct")
        self.assertEqual(rejected[0]["fields"]["rejected_by"], "wardgate")
        self.assertEqual(rejected[0]["fields"]["calling_ae"], "INTRUDER")
        self.assertEqual(rejected[0]["fields"]["initiator"], "core")
        alerts = [r for r in new if r["action"] == "security-alert"]
        self.assertEqual([a["fields"]["rule"] for a in alerts], ["allowed_calling_ae"])
        # The CT's storage SCP never saw the association.
        self.assertNotIn("INTRUDER", self.ct_storescp.log())


class CoreToDeviceThroughGatewayNatTests(CoreToDeviceTests):
    """The same, with the gateway's forwarding policy and the VLAN mapped 1:1 for the core."""
    lab_name = "itcorenat"
    mapped_net = "10.252.9"

    @classmethod
    def sections(cls, lab):
        return {"gateway": {"vlan_prefix": lab.env["VLAN_NET"] + ".0/24",
                            "gateway_address": lab.ip("gw_vlan"),
                            "core_networks": [lab.env["CORE_NET"] + ".0/24"]},
                "nat": {"mapped_prefix": cls.mapped_net + ".0/24"}}

    @classmethod
    def ct_seen_by_core(cls, lab):
        return cls.mapped_net + "." + lab.ip("ct").rsplit(".", 1)[1]

    def test_c_the_archive_sees_the_ct_only_under_its_mapped_address(self):
        log = self.dcmqrscp.log()
        self.assertIn(self.ct_seen_by_core(self.lab), log)
        self.assertNotIn(self.lab.ip("ct") + ":", log)
        self.assertNotIn(self.lab.ip("ct") + " ", log)


if __name__ == "__main__":
    unittest.main()
