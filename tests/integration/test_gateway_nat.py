"""1:1 NAT and connections from the core (issue 12), with two appliances whose VLANs use the same
addresses behind one WireGuard concentrator (tests/lib/gateway_lab.py, NatLab).

Both VLANs are 192.168.1.0/24 with a CT at 192.168.1.20; appliance 1 presents its VLAN to the core
as 10.250.1.0/24, appliance 2 as 10.250.2.0/24. The concentrator (wireguard-go) is configured from
the [Peer] blocks each appliance exports; the PACS (dcmqrscp at 10.2.2.10) hangs off its core
bridge. Each CT runs its own storage SCP (storescp on 11113), published to the core through its
appliance.

What the PACS administrator and the auditor check:
- the exported peer blocks carry the mapped prefixes (not the VLAN both appliances share), so the
  concentrator can route to each;
- dcmqrscp sees the two CTs at two distinct mapped addresses;
- movescu from each CT retrieves a study from dcmqrscp into that CT's own storescp: the
  sub-association goes back through the right appliance, is proxied, inspected and audited there
  (C-STORE records carrying the Move Originator AE title and Message ID of that CT's C-MOVE), and
  the data sets arrive byte-identical; the other CT gets nothing;
- a calling AE title the published service does not allow is refused, and the core reaches no
  other port of a device;
- pass-through flows (ICMP echo, UDP) leave under the mapped address and their answers come back
  to the right CT (conntrack and the prefix map on one box).
"""

import time
import unittest

from gateway_lab import (APPLIANCES, CT_STORE_PORT, DICOM_QR_PORT, NTP_PORT, NatLab,
                         audit_records, peer_block_networks)
from labkit import CT_STUDY_UID, LabTestCase, dataset_sha256, wait_for

STUDY_SIZE = 10


class GatewayNatTests(LabTestCase):
    lab_class = NatLab
    lab_name = "itgwnat"

    @classmethod
    def set_up_lab(cls, lab):
        cls.study = lab.make_ct_study(STUDY_SIZE)
        work = lab.workdir

        # The PACS: dcmqrscp, whose move destinations are the two CTs' storage SCPs at their
        # mapped addresses (the only addresses the core knows them by).
        db = work / "qrdb"
        db.mkdir()
        cfg = work / "dcmqrscp.cfg"
        hosts = "".join(f"ct{k}store = (CT{k}STORE, {lab.mapped_ip(k)}, {CT_STORE_PORT})\n"
                        for k in APPLIANCES)
        cfg.write_text(f"NetworkTCPPort  = {DICOM_QR_PORT}\nMaxPDUSize      = 16384\n"
                       "MaxAssociations = 16\n\n"
                       f"HostTable BEGIN\n{hosts}HostTable END\n\n"
                       "VendorTable BEGIN\nVendorTable END\n\n"
                       f"AETable BEGIN\nARCHIVE  {db}  RW (200, 1024mb)  ANY\nAETable END\n")
        cls.dcmqrscp = lab.start("pacs", ["dcmqrscp", "-v", "-dhl", "-c", cfg],
                                 ready_port=DICOM_QR_PORT)
        # Filled locally, not through any appliance.
        lab.run("pacs", ["storescu", "-aet", "LOADER", "-aec", "ARCHIVE", "127.0.0.1",
                         DICOM_QR_PORT, *cls.study], timeout=120)

        # The tunnel: each appliance's exported [Peer] block, pasted into the concentrator.
        cls.blocks = lab.export_peer_blocks()
        lab.start_concentrator("\n".join(cls.blocks[k] for k in APPLIANCES))
        cls.wardgates = {k: lab.start_appliance(k) for k in APPLIANCES}
        assert lab.wait_handshakes(), lab.conc_dump()

        # Each CT's own storage SCP (published through its appliance as "storescp").
        cls.received = {}
        for k in APPLIANCES:
            cls.received[k] = work / f"ct{k}-received"
            cls.received[k].mkdir()
            lab.start(f"ct{k}", ["storescp", "-v", "-dhl", "+B", "-aet", f"CT{k}STORE",
                                 "-od", cls.received[k], CT_STORE_PORT], ready_port=CT_STORE_PORT)

    # -- helpers ----------------------------------------------------------------------------
    def records(self, k, **filters):
        return audit_records(self.lab.store_path(k), **filters)

    def wait_records(self, k, predicate, count, timeout=15, **filters):
        """The records of appliance k's store matching filters and predicate, once there are at
        least count of them (or the timeout passed)."""
        def matching():
            return [r for r in self.records(k, **filters) if predicate(r)]
        wait_for(lambda: len(matching()) >= count, timeout, 0.3)
        return matching()

    def movescu(self, k, aet):
        result = self.lab.run(f"ct{k}", [
            "movescu", "-v", "-S", "-aet", aet, "-aec", "ARCHIVE", "-aem", f"CT{k}STORE",
            "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={CT_STUDY_UID}",
            self.lab.ip("pacs"), DICOM_QR_PORT], timeout=120, check=False)
        return result.returncode, (result.stdout + result.stderr).decode(errors="replace")

    # -- tests --------------------------------------------------------------------------------
    def test_a_exported_peer_blocks_follow_the_mapping(self):
        lab = self.lab
        for k in APPLIANCES:
            nets = {str(n) for n in peer_block_networks(self.blocks[k])}
            self.assertIn(f"{lab.mapped_ip(k).rsplit('.', 1)[0]}.0/24", nets, self.blocks[k])
            self.assertNotIn("192.168.1.0/24", nets, self.blocks[k])
        # The concentrator holds both appliances, each with its own mapped prefix.
        allowed = sorted(p["allowed_ips"] for p in lab.conc_dump().values())
        self.assertEqual(len(allowed), 2, allowed)
        for k in APPLIANCES:
            self.assertTrue(any(f"10.250.{k}.0/24" in a for a in allowed), allowed)

    def test_b_pacs_sees_two_distinct_mapped_addresses(self):
        lab = self.lab
        mark = len(self.dcmqrscp.log())
        for k in APPLIANCES:
            # Both CTs use the same AE title and address: only the mapping tells them apart.
            result = lab.run(f"ct{k}", ["echoscu", "-to", "10", "-aet", "CT", "-aec", "ARCHIVE",
                                        lab.ip("pacs"), DICOM_QR_PORT], check=False, timeout=60)
            self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        log = self.dcmqrscp.log()[mark:]
        for k in APPLIANCES:
            self.assertIn(f"Association Received ({lab.mapped_ip(k)}:CT -> ARCHIVE)", log)
        self.assertNotIn("192.168.1.", log)
        # Each appliance recorded its own CT's association (proxied and inspected there).
        for k in APPLIANCES:
            echoes = self.wait_records(
                k, lambda r: r["fields"].get("command") == "C-ECHO", 1, category="dicom",
                action="operation")
            self.assertTrue(echoes, self.wardgates[k].log()[-3000:])
            self.assertEqual(echoes[-1]["device"], "ct")

    def test_c_move_returns_through_the_right_appliance(self):
        sent = {dataset_sha256(f) for f in self.study}
        for k in APPLIANCES:
            other = 3 - k
            before_other = set(self.received[other].iterdir())
            stores_before = {j: len(self.records(j, category="dicom", action="operation"))
                             for j in APPLIANCES}
            aet = f"CTMOVE{k}"
            code, out = self.movescu(k, aet)
            self.assertEqual(code, 0, out)
            self.assertIn("Received Final Move Response (Success)", out)

            # The files arrived at this CT's storescp, byte for byte; none at the other CT.
            self.assertTrue(wait_for(lambda: len(list(self.received[k].iterdir())) >= STUDY_SIZE,
                                     10))
            files = list(self.received[k].iterdir())
            self.assertEqual(len(files), STUDY_SIZE)
            self.assertEqual({dataset_sha256(f) for f in files}, sent)
            self.assertEqual(set(self.received[other].iterdir()), before_other)
            for f in files:
                f.unlink()

            # Appliance k recorded the C-MOVE and every C-STORE of its sub-association, tied to
            # it by the Move Originator AE title and Message ID.
            moves = self.wait_records(
                k, lambda r: r["fields"].get("command") == "C-MOVE"
                and r["fields"].get("move_destination") == f"CT{k}STORE", 1,
                category="dicom", action="operation")
            self.assertEqual(len(moves), 1, moves)
            move = moves[0]["fields"]
            self.assertEqual(move.get("suboperations_completed"), STUDY_SIZE, move)
            stores = self.wait_records(
                k, lambda r: r["fields"].get("command") == "C-STORE"
                and r["fields"].get("move_originator_ae") == aet, STUDY_SIZE,
                category="dicom", action="operation")
            self.assertEqual(len(stores), STUDY_SIZE, self.wardgates[k].log()[-4000:])
            self.assertEqual({r["device"] for r in stores}, {"ct"})
            self.assertEqual({r["fields"]["move_originator_message_id"] for r in stores},
                             {move["message_id"]})
            self.assertEqual({r["fields"]["sop_instance_uid"] for r in stores},
                             {f"{CT_STUDY_UID.rsplit('.', 1)[0]}.3.{i}"
                              for i in range(1, STUDY_SIZE + 1)})
            self.assertTrue(all(r["fields"].get("status_class") == "success" for r in stores))
            # The sub-association itself: the PACS called the CT's storage SCP, as recorded.
            calls = self.wait_records(
                k, lambda r: r["fields"].get("calling_ae") == "ARCHIVE"
                and r["fields"].get("called_ae") == f"CT{k}STORE", 1,
                category="dicom", action="association-requested")
            self.assertTrue(calls, self.wardgates[k].log()[-3000:])
            self.assertEqual(calls[-1]["device"], "ct")
            self.assertEqual(calls[-1]["fields"].get("initiator"), "core", calls[-1])
            # The other appliance saw none of it.
            time.sleep(0.5)
            self.assertEqual(len(self.records(other, category="dicom", action="operation")),
                             stores_before[other])

    def test_d_core_reaches_only_published_services_with_allowed_callers(self):
        lab = self.lab
        # An allowed caller (the PACS's AE title) reaches the published storage SCP ...
        ok = lab.run("pacs", ["echoscu", "-to", "10", "-aet", "ARCHIVE", "-aec", "CT1STORE",
                              lab.mapped_ip(1), CT_STORE_PORT], check=False, timeout=60)
        self.assertEqual(ok.returncode, 0, ok.stderr.decode(errors="replace"))
        # ... another calling AE title is refused at the association.
        refused = lab.run("pacs", ["echoscu", "-to", "10", "-aet", "INTRUDER", "-aec",
                                   "CT1STORE", lab.mapped_ip(1), CT_STORE_PORT],
                          check=False, timeout=60)
        self.assertNotEqual(refused.returncode, 0)
        out = (refused.stdout + refused.stderr).decode(errors="replace")
        self.assertRegex(out, r"(?i)reject|abort", out)
        rejected = self.wait_records(1, lambda r: r["fields"].get("calling_ae") == "INTRUDER", 1,
                                     category="dicom")
        self.assertTrue(rejected, self.wardgates[1].log()[-3000:])
        # A port of the CT that is not published: a listener there sees nothing from the core.
        listener = lab.start_listener("ct1", 8080)
        self.assertEqual(lab.tcp_attempt("pacs", lab.mapped_ip(1), 8080), "timeout")
        self.assertNotIn("accepted", listener.log())
        listener.stop()

    def test_e_pass_through_flows_are_mapped_both_ways(self):
        lab = self.lab
        # ICMP echo and UDP (NTP's port) to the PACS are forwarded, not proxied: the PACS sees
        # each CT at its mapped address (tcpdump on its link), and the answers find their way
        # back to the right CT through conntrack.
        capture = lab.start("pacs", ["tcpdump", "-n", "-l", "-i", "eth0", "-c", "4",
                                     "icmp[icmptype] == icmp-echo"])
        time.sleep(1)  # tcpdump attaches
        echo = lab.start_udp_echo("pacs", NTP_PORT)
        for k in APPLIANCES:
            ping = lab.run(f"ct{k}", ["ping", "-n", "-c", "2", "-W", "2", lab.ip("pacs")],
                           check=False, timeout=20)
            self.assertEqual(ping.returncode, 0, ping.stdout.decode())
            self.assertEqual(lab.udp_request(f"ct{k}", lab.ip("pacs"), NTP_PORT),
                             "echo:wardgate-lab request")
        self.assertEqual(capture.popen.wait(timeout=10), 0, capture.log())
        for k in APPLIANCES:
            self.assertIn(f"{lab.mapped_ip(k)} > {lab.ip('pacs')}: ICMP echo request",
                          capture.log())
            self.assertIn(f"datagram from {lab.mapped_ip(k)}", echo.log())
        self.assertNotIn("192.168.1.", capture.log() + echo.log())
        echo.stop()


if __name__ == "__main__":
    unittest.main()
