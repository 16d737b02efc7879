"""wardgate as the VLAN's gateway (issue 12): default deny, observed, fail closed, with an explicit
bypass. One appliance (`wardgate-lab up`, tests/lib/gateway_lab.py GatewayLab) with IPv6 on both
sides, real peers, and counters on the core hosts: an nft table in the PACS's and the HL7
engine's namespaces counts every packet that arrives there from the VLAN, so "nothing reached the
core" is counted where it matters and does not rely on wardgate's word. The set-up first shows
that, without wardgate's ruleset, a device's packets (TCP, UDP, IPv6, a spoofed source) do reach
those counters.

What the security officer checks:
- from a device: nmap TCP SYN (all 65 535 ports), connect, UDP and IPv6 scans, smbclient to 445 on
  a core host and a connection to an unlisted PACS port reach nothing on the core (the allowed
  NTP pass-through and the proxied DICOM ports aside), and the audit store holds a bounded number
  of records that say what happened, with a summary that counts it;
- an address nobody registered is denied, with a first-seen event carrying its MAC;
- spoofed sources (outside the VLAN, the gateway's own address) are dropped and recorded;
- kill -9 and SIGTERM leave the VLAN closed: during the downtime the intercepted ports are
  refused at once and no packet reaches the core; after a restart DICOM and HL7 work again with
  the devices untouched;
- `wardgate bypass` lets traffic through uninspected only while it lasts (a kernel timeout,
  read back from the set), and its start and end are audit events.
"""

import re
import signal
import time
import unittest
from shutil import which

from gateway_lab import GatewayLab, audit_records, delta, utc_now
from labkit import REPO, LabTestCase, wait_for, wardgate_bin

PY = "/usr/bin/python3"
UNLISTED_PORT = 4242
ROGUE_MAC = "02:00:5e:10:00:99"
SPOOFED_SOURCE = "10.200.0.5"
# What the aggregation promises for a whole scan (a few records per window plus summaries).
MAX_RECORDS_PER_SCAN = 50


def nmap_ports(grepable):
    """(open ports, number of closed ports, number of filtered ports) from nmap -oG output;
    ports in the "Ignored State" are only counted there."""
    open_ports, closed, filtered = set(), 0, 0
    for line in grepable.splitlines():
        if line.startswith("#"):
            continue
        m = re.search(r"Ignored State: (\S+) \((\d+)\)", line)
        if m:
            if m.group(1) == "closed":
                closed += int(m.group(2))
            else:
                filtered += int(m.group(2))
        m = re.search(r"\tPorts: ([^\t]*)", line)
        for entry in m.group(1).split(", ") if m and m.group(1).strip() else []:
            port, state = entry.split("/")[:2]
            if state == "open":
                open_ports.add(int(port))
            elif state == "closed":
                closed += 1
            else:
                filtered += 1
    return open_ports, closed, filtered


class GatewayTests(LabTestCase):
    lab_class = GatewayLab
    lab_name = "itgw"

    @classmethod
    def set_up_lab(cls, lab):
        cls.config = lab.gateway_config()
        cls.config_path = lab.write_config(cls.config)
        cls.store = cls.config["audit"]["store"]["path"]
        cls.counters = lab.install_core_counters(cls.config)
        cls.study = lab.make_ct_study(5)

        # The control: with no gateway ruleset yet, a device's packets reach the core's counters.
        # Neighbour discovery on a fresh lab can take a while (IPv6 most of all), and packets
        # sent before it finishes may be dropped, so first wait until both paths answer.
        for address in (lab.ip("pacs"), lab.ip6("pacs"), lab.ip("hl7")):
            assert lab.wait_reachable("ct", address, timeout=20), lab.neighbour_report(
                ["ct", "gw", "pacs"], f"{address} never answered a ping from the CT")
        before = cls.count()
        lab.udp_send("ct", lab.ip("pacs"), UNLISTED_PORT)
        lab.udp_send("ct", lab.ip6("pacs"), UNLISTED_PORT)
        lab.tcp_attempt("ct", lab.ip("hl7"), 445)
        if which("hping3"):
            lab.run("ct", ["hping3", "-q", "-c", "2", "-i", "u20000", "-S", "-p",
                           UNLISTED_PORT, "-a", SPOOFED_SOURCE, lab.ip("pacs")],
                    check=False, timeout=20)

        def control_seen():
            seen = delta(before, cls.count())
            return (seen["pacs"]["vlan_other"] >= 3 and seen["pacs"]["vlan_ipv6"] >= 3
                    and seen["hl7"]["vlan_other"] >= 1
                    and (not which("hping3") or seen["pacs"]["foreign"] >= 2))

        assert wait_for(control_seen, 10), lab.neighbour_report(
            ["ct", "gw", "pacs"], f"control packets missing: {delta(before, cls.count())}")

        # The core's peers: a PACS (storescp on 104), an HL7 engine, and listeners on an unlisted
        # PACS port and on the HL7 host's SMB port, which report every connection they accept.
        cls.pacs_dir = lab.workdir / "pacs"
        cls.pacs_dir.mkdir()
        lab.start("pacs", ["storescp", "-dhl", "+B", "+uf", "-od", cls.pacs_dir, "104"],
                  ready_port=104)
        cls.hl7_out = lab.workdir / "hl7.jsonl"
        lab.start("hl7", [PY, REPO / "tests" / "peers" / "mllp_ack_server.py", "--port", "2575",
                          "--out", cls.hl7_out, "--max-seconds", "1800"],
                  ready_port=2575, ready_text="listening on")
        cls.unlisted = lab.start_listener("pacs", UNLISTED_PORT)
        cls.smb = lab.start_listener("hl7", 445)
        cls.wardgate = lab.start_wardgate(cls.config)

    # -- helpers ----------------------------------------------------------------------------
    @classmethod
    def count(cls):
        """{core role: {counter: packets}}."""
        return {role: c.read() for role, c in cls.counters.items()}

    def assert_nothing_reached_core(self, before, allow_services=False, allow_pass_through=False):
        seen = delta(before, self.count())
        for role, counters in seen.items():
            self.assertEqual(counters["vlan_other"], 0, f"{role}: {seen}")
            self.assertEqual(counters["vlan_ipv6"], 0, f"{role}: {seen}")
            self.assertEqual(counters["foreign"], 0, f"{role}: {seen}")
            if not allow_services:
                self.assertEqual(counters["vlan_services"], 0, f"{role}: {seen}")
            if not allow_pass_through:
                self.assertEqual(counters["vlan_pass_through"], 0, f"{role}: {seen}")
        return seen

    def records(self, since, **filters):
        return audit_records(self.store, since=since, **filters)

    def wait_records(self, since, predicate, timeout, **filters):
        def matching():
            return [r for r in self.records(since, **filters) if predicate(r)]
        wait_for(lambda: bool(matching()), timeout, 0.5)
        return matching()

    def restart_wardgate(self):
        type(self).wardgate = self.lab.start_wardgate(self.config)

    def ensure_wardgate(self):
        if not self.wardgate.running():
            self.restart_wardgate()

    def setUp(self):
        self.ensure_wardgate()

    def echoscu(self, role="ct", timeout=10):
        return self.lab.run(role, ["echoscu", "-to", str(timeout), self.lab.ip("pacs"), "104"],
                            check=False, timeout=timeout + 20)

    def hl7_batch(self, tag, count=5):
        batch = self.lab.workdir / f"oru-{tag}.hl7"
        batch.write_bytes(b"".join(
            f"MSH|^~\\&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122080000||ORU^R01|{tag}{i:04d}|P|2.5"
            f"\rPID|1||PID{i}^^^HOSPITAL^MR||Synthetic^Patient\rOBX|1|NM|8867-4^HR^LN||72|/min"
            f"|||||F\n".encode() for i in range(count)))
        return batch

    def mllp_send(self, tag, count=5, timeout=30):
        return self.lab.run("mon", ["timeout", str(timeout), "mllp_send", "--loose", "--file",
                                    self.hl7_batch(tag, count), "-p", "2575", self.lab.ip("hl7")],
                            check=False, timeout=timeout + 10)

    # -- tests ------------------------------------------------------------------------------
    def test_a_scans_from_a_device_reach_nothing_and_are_recorded_bounded(self):
        lab = self.lab
        for tool in ("nmap", "smbclient"):
            if not which(tool):
                self.skipTest(f"{tool} not installed (scripts/install-deps.sh)")
        since = utc_now()
        before = self.count()
        pacs, pacs6 = lab.ip("pacs"), lab.ip6("pacs")
        common = ["nmap", "-n", "-Pn", "--max-retries", "0", "-T4", "-oG", "-"]
        scans = {
            # Below the ruleset's log rate (1 000 observations a second), so that every probe
            # is observed and the summary can count them all.
            "syn": common + ["-sS", "-p-", "--min-rate", "800", "--max-rate", "900", pacs],
            "connect": common + ["-sT", "-p", "1-1024,4242,11112", "--min-rate", "2000", pacs],
            "udp": common + ["-sU", "-p", "53,67,69,123,137,161,500,514,1900,5353", pacs],
            "ipv6": common + ["-6", "-sS", "-p", "1-1024,4242", "--min-rate", "5000", pacs6],
            "ipv6-connect": common + ["-6", "-sT", "-p", "22,80,104,445,4242", pacs6],
        }
        results = {}
        for name, argv in scans.items():
            result = lab.run("ct", argv, timeout=300, check=False)
            self.assertEqual(result.returncode, 0, f"nmap {name}: {result.stderr.decode()}")
            results[name] = nmap_ports(result.stdout.decode())
        smb = lab.run("ct", ["timeout", "30", "smbclient", "-N", "-L", lab.ip("hl7"), "-p",
                             "445", "-t", "5"], check=False, timeout=40)
        self.assertNotEqual(smb.returncode, 0)
        self.assertEqual(lab.tcp_attempt("ct", pacs, UNLISTED_PORT), "timeout")

        # Nothing reached the core but the proxied DICOM ports (nmap's connect scan of 104 and
        # 11112) and the NTP pass-through the UDP scan touched; no listener accepted anything.
        seen = self.assert_nothing_reached_core(before, allow_services=True,
                                                allow_pass_through=True)
        self.assertGreater(seen["pacs"]["vlan_pass_through"], 0, seen)
        self.assertNotIn("accepted", self.unlisted.log())
        self.assertNotIn("accepted", self.smb.log())

        # The audit trail says what happened, bounded: per source and aggregation window (about
        # a minute) a few individual flows, then a summary with counts. The CT's IPv4 flows are
        # the device's; its IPv6 ones carry its MAC (devices are registered by IPv4 address).
        ct_mac = lab.run("ct", ["cat", "/sys/class/net/eth0/address"]).stdout.decode().strip()

        def ct_records():
            return [r for r in self.records(since, category="network")
                    if r["device"] == "ct" or r["fields"].get("mac") == ct_mac]

        def reasons(records):
            out = {r["fields"]["reason"] for r in records if "reason" in r["fields"]}
            for r in records:
                out |= {c.split(":")[0] for c in r["fields"].get("reasons", [])}
            return out

        def ports_counted(records):
            return sum(r["fields"]["distinct_destination_ports"] for r in records
                       if r["action"] == "flow-denied-summary" and r["device"] == "ct")

        # The last window's summary comes up to a minute after the scans.
        wait_for(lambda: {"deny-vlan", "ipv6"} <= reasons(ct_records())
                 and ports_counted(ct_records()) > 60000, 150, 1)
        records = ct_records()
        self.assertLess(len(records), MAX_RECORDS_PER_SCAN,
                        [(r["action"], r["fields"]) for r in records])
        self.assertEqual(reasons(records), {"deny-vlan", "ipv6"}, records)
        flows = [r for r in records if r["action"] == "flow-denied"]
        self.assertTrue(flows, records)
        for r in flows:
            f = r["fields"]
            self.assertEqual(f["mac"], ct_mac, f)
            if ":" in f["source"]:
                # Any IPv6 the CT sends, its neighbour discovery towards the gateway included.
                self.assertEqual(f["reason"], "ipv6", f)
                continue
            self.assertEqual(f["source"], lab.ip("ct"), f)
            self.assertIn(f["destination"], (pacs, lab.ip("hl7")), f)
            self.assertIn(f["protocol"], ("tcp", "udp"), f)
            self.assertEqual(f["reason"], "deny-vlan", f)
        summaries = [r for r in records if r["action"] == "flow-denied-summary"]
        self.assertTrue(summaries, records)
        # The SYN scan alone tried 65 532 ports that are not intercepted: the CT's summaries (one
        # per window the scan spans) count them while the trail holds a few dozen records.
        packets = sum(s["fields"]["packets"] for s in summaries)
        self.assertGreater(ports_counted(records), 60000, summaries)
        self.assertGreater(packets, 60000, summaries)
        for s in summaries:
            self.assertEqual(s["fields"]["mac"], ct_mac)
            self.assertTrue(s["fields"]["protocols"], s)

        # What nmap saw over IPv4: only the intercepted ports answer (wardgate's listener); every
        # other port is filtered (dropped, no answer), none closed (a RST would be the PACS's).
        services = lab.service_ports(self.config)
        for name in ("syn", "connect"):
            open_ports, closed, _ = results[name]
            self.assertLessEqual(open_ports, services, name)
            self.assertEqual(closed, 0, name)
        self.assertGreaterEqual(results["syn"][2], 65535 - len(services))
        # Over IPv6 nothing answers at all.
        for name in ("ipv6", "ipv6-connect"):
            self.assertEqual(results[name][:2], (set(), 0), name)

    def test_b_unregistered_address_is_denied_with_a_first_seen_event(self):
        lab = self.lab
        since = utc_now()
        if "NS_ROGUE" not in lab.env:
            lab.add_vlan_host("rogue", 99, ROGUE_MAC)
        before = self.count()
        rogue = lab.ip("rogue")
        # It tries what a device would: the PACS's DICOM port, an unlisted port, NTP, SMB.
        self.assertNotEqual(lab.run("rogue", ["echoscu", "-to", "3", lab.ip("pacs"), "104"],
                                    check=False, timeout=30).returncode, 0)
        self.assertEqual(lab.tcp_attempt("rogue", lab.ip("pacs"), UNLISTED_PORT), "timeout")
        lab.udp_send("rogue", lab.ip("pacs"), 123)
        self.assertEqual(lab.tcp_attempt("rogue", lab.ip("hl7"), 445), "timeout")
        self.assert_nothing_reached_core(before)
        self.assertNotIn("accepted", self.unlisted.log())

        first = self.wait_records(since, lambda r: True, 15, category="network",
                                  action="device-first-seen")
        self.assertEqual(len(first), 1, first)
        f = first[0]["fields"]
        self.assertEqual(f["mac"], ROGUE_MAC)
        self.assertEqual(f["source"], rogue)
        self.assertIn(f["destination"], (lab.ip("pacs"), lab.ip("hl7")))
        self.assertIn("protocol", f)
        # The same address again: no second first-seen event.
        self.assertEqual(lab.tcp_attempt("rogue", lab.ip("pacs"), 5555), "timeout")
        time.sleep(2)
        self.assertEqual(len(self.records(since, category="network",
                                          action="device-first-seen")), 1)
        denied = [r for r in self.records(since, category="network", action="flow-denied")
                  if r["fields"].get("source") == rogue]
        self.assertTrue(denied)
        self.assertEqual({r["fields"]["reason"] for r in denied}, {"unknown"})

    def test_c_spoofed_sources_are_dropped_and_recorded(self):
        lab = self.lab
        if not which("hping3"):
            self.skipTest("hping3 not installed (scripts/install-deps.sh)")
        since = utc_now()
        before = self.count()
        for source in (SPOOFED_SOURCE, lab.ip("gw_vlan")):
            lab.run("ct", ["hping3", "-q", "-c", "3", "-i", "u20000", "-S", "-p", UNLISTED_PORT,
                           "-a", source, lab.ip("pacs")], check=False, timeout=20)
            lab.run("ct", ["hping3", "-q", "-c", "3", "-i", "u20000", "--udp", "-p", "123",
                           "-a", source, lab.ip("pacs")], check=False, timeout=20)
        self.assert_nothing_reached_core(before)
        for source in (SPOOFED_SOURCE, lab.ip("gw_vlan")):
            spoofed = self.wait_records(
                since, lambda r, s=source: r["fields"].get("source") == s
                and r["fields"].get("reason") == "spoof", 15, category="network")
            self.assertTrue(spoofed, f"no spoof record for {source}: "
                            f"{[r['fields'] for r in self.records(since, category='network')]}"
                            f"\n{lab.nft_table('gw').stdout.decode()}")

    def test_d_fail_closed_across_kill_and_restart(self):
        lab = self.lab
        for sig in (signal.SIGKILL, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                self.ensure_wardgate()
                self.assertEqual(self.echoscu().returncode, 0)
                self.wardgate.stop(sig)
                self.assertFalse(self.wardgate.running())
                # The forwarding policy stayed in the kernel.
                table = lab.nft_table("gw")
                self.assertEqual(table.returncode, 0, table.stderr.decode())
                before = self.count()
                # The devices keep trying while wardgate is down: the intercepted ports are
                # refused at once (no listener), everything else is dropped; nothing reaches
                # the core.
                self.assertEqual(lab.tcp_attempt("ct", lab.ip("pacs"), 104), "refused")
                self.assertNotEqual(self.echoscu(timeout=5).returncode, 0)
                self.assertEqual(lab.tcp_attempt("mon", lab.ip("hl7"), 2575), "refused")
                self.assertNotEqual(self.mllp_send(f"D{sig.value}", 1, timeout=10).returncode, 0)
                self.assertEqual(lab.tcp_attempt("ct", lab.ip("pacs"), UNLISTED_PORT), "timeout")
                lab.udp_send("ct", lab.ip("pacs"), UNLISTED_PORT)
                lab.udp_send("ct", lab.ip6("pacs"), UNLISTED_PORT)
                if which("nmap"):
                    lab.run("ct", ["nmap", "-n", "-Pn", "-sS", "--max-retries", "0", "-p",
                                   "1-2000", "--min-rate", "5000", lab.ip("pacs")],
                            check=False, timeout=120)
                self.assert_nothing_reached_core(before)
                self.assertNotIn("accepted", self.unlisted.log())

                # Restart: DICOM and HL7 work again, devices untouched (no ARP flush, no
                # route change on their side).
                self.restart_wardgate()
                self.assertTrue(wait_for(lambda: self.echoscu().returncode == 0, 20, 0.5),
                                self.wardgate.log()[-2000:])
                before_files = len(list(self.pacs_dir.iterdir()))
                store = lab.run("ct", ["storescu", "-nh", lab.ip("pacs"), "104", *self.study],
                                check=False, timeout=120)
                self.assertEqual(store.returncode, 0, store.stderr.decode(errors="replace"))
                self.assertEqual(len(list(self.pacs_dir.iterdir())),
                                 before_files + len(self.study))
                sent = self.mllp_send(f"R{sig.value}", 5)
                self.assertEqual(sent.returncode, 0, sent.stderr.decode(errors="replace"))
                self.assertEqual(sent.stdout.count(b"MSA|AA|"), 5)

    def test_e_bypass_only_for_its_duration_and_audited(self):
        lab = self.lab
        since = utc_now()
        reason = "PACS migration window, ticket 4711"
        before = self.count()
        self.assertEqual(lab.tcp_attempt("ct", lab.ip("pacs"), UNLISTED_PORT), "timeout")
        self.assert_nothing_reached_core(before)

        started = lab.wardgate_command("gw", ["bypass", "--minutes", "1", "--reason", reason],
                                       self.config_path)
        self.addCleanup(lab.wardgate_command, "gw", ["bypass", "--end"], self.config_path,
                        check=False)
        self.assertEqual(started.returncode, 0, started.stderr)
        # The kernel holds it, with its end: an element with a timeout of one minute.
        elements = lab.bypass_set("gw")
        self.assertEqual(len(elements), 1, elements)
        (element,) = elements
        self.assertEqual(element.get("timeout"), 60, element)
        self.assertTrue(0 < element.get("expires", 0) <= 60, element)
        self.assertIn("PACS migration", element.get("comment", ""))
        status = lab.wardgate_command("gw", ["bypass", "--status"], self.config_path)
        self.assertIn("PACS migration", status.stdout)

        # While it lasts, traffic flows: the unlisted port and UDP reach the PACS.
        before = self.count()
        self.assertEqual(lab.tcp_attempt("ct", lab.ip("pacs"), UNLISTED_PORT), "connected")
        self.assertTrue(wait_for(lambda: f"accepted {lab.ip('ct')}" in self.unlisted.log(), 5),
                        self.unlisted.log())
        lab.udp_send("ct", lab.ip("pacs"), UNLISTED_PORT)
        self.assertTrue(wait_for(
            lambda: delta(before, self.count())["pacs"]["vlan_other"] >= 3 + 3, 5),
            delta(before, self.count()))
        # ... and DICOM goes straight to the PACS, uninspected: wardgate records no association.
        mark = utc_now()
        self.assertEqual(self.echoscu().returncode, 0)
        time.sleep(1)
        self.assertEqual(self.records(mark, category="dicom"), [])

        ended = lab.wardgate_command("gw", ["bypass", "--end"], self.config_path)
        self.assertEqual(ended.returncode, 0, ended.stderr)
        self.assertEqual(lab.bypass_set("gw"), [])
        accepted = self.unlisted.log().count("accepted")
        before = self.count()
        self.assertEqual(lab.tcp_attempt("ct", lab.ip("pacs"), UNLISTED_PORT), "timeout")
        lab.udp_send("ct", lab.ip("pacs"), UNLISTED_PORT)
        self.assert_nothing_reached_core(before)
        self.assertEqual(self.unlisted.log().count("accepted"), accepted)

        # Both ends are audit events, the start with its reason.
        events = self.wait_records(since, lambda r: r["action"] == "bypass-ended", 15,
                                   category="gateway")
        self.assertTrue(events, self.wardgate.log()[-3000:])
        records = self.records(since, category="gateway")
        starts = [r for r in records if r["action"] == "bypass-started"]
        ends = [r for r in records if r["action"] == "bypass-ended"]
        self.assertEqual(len(starts), 1, records)
        self.assertEqual(len(ends), 1, records)
        self.assertEqual(starts[0]["fields"]["reason"], reason)
        self.assertIn("operator", ends[0]["fields"]["how"])

    def test_f_bad_configuration_refused_with_the_key_named_nothing_applied(self):
        lab = self.lab
        before = lab.nft_table("gw").stdout
        self.assertTrue(before)
        cases = {
            "nat.mapped_prefix": {"nat": {"mapped_prefix": f"{lab.core_net}.0/24"}},  # the core's
            "gateway.pass_through": {"gateway": lab.gateway_section(pass_through=[
                {"name": "x", "devices": ["nobody"], "protocol": "udp", "ports": [53],
                 "destinations": [f"{lab.ip('pacs')}/32"]}])},
        }
        for key, overrides in cases.items():
            with self.subTest(key=key):
                bad = lab.gateway_config()
                bad.update(overrides)
                path = lab.write_config(bad, f"bad-{key}.json")
                # wardgate run refuses it before it touches anything (the running wardgate's
                # ruleset stays as it was).
                run = lab.run("gw", ["timeout", "20", wardgate_bin(), "run", "--config", path],
                              check=False, timeout=40)
                out = (run.stdout + run.stderr).decode(errors="replace")
                self.assertNotIn(run.returncode, (0, 124), out)
                self.assertIn(key, out)
                self.assertEqual(lab.nft_table("gw").stdout, before)

if __name__ == "__main__":
    unittest.main()
