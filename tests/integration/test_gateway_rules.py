"""The gateway's forwarding policy (issue 12) against real traffic in the lab.

gateway_driver (tests/tools) reads a configuration through nat/'s section readers and installs the
ruleset in the lab's gateway namespace, as `wardgate run` will; no wardgate process runs, which is
the state the policy must hold on its own (fail closed). Peers are Python sockets in the device and
core namespaces; what reaches the core is what a listener there saw.
"""

import json
import os
import subprocess
import time
import unittest
from pathlib import Path

from labkit import REPO, LabTestCase

MAPPED = "10.251.77.0/24"


def driver():
    default = REPO / "build" / "release" / "tests" / "integration" / "gateway_driver"
    return Path(os.environ.get("WARDGATE_GATEWAY_DRIVER", str(default)))


def mapped(address):
    return MAPPED.rsplit(".", 1)[0] + "." + address.rsplit(".", 1)[1]


# A UDP and TCP listener in the core that prints "udp SRC PORT" / "tcp SRC PORT" for what arrives.
LISTENER = """
import selectors, socket, sys
sel = selectors.DefaultSelector()
for port in map(int, sys.argv[1:]):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", port))
    t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("0.0.0.0", port)); t.listen(16)
    sel.register(u, selectors.EVENT_READ, ("udp", port)); sel.register(t, selectors.EVENT_READ, ("tcp", port))
print("listening", flush=True)
while True:
    for key, _ in sel.select():
        kind, port = key.data
        if kind == "udp":
            _, peer = key.fileobj.recvfrom(2048)
        else:
            conn, peer = key.fileobj.accept(); conn.close()
        print(kind, peer[0], port, flush=True)
"""

SEND_UDP = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], int(sys.argv[4])))
s.sendto(b"probe", (sys.argv[2], int(sys.argv[3])))
"""

CONNECT = """
import socket, sys, time
s = socket.socket(); s.settimeout(float(sys.argv[4])); s.bind((sys.argv[1], 0))
start = time.monotonic()
try:
    s.connect((sys.argv[2], int(sys.argv[3]))); print("connected")
except Exception as e:
    print(type(e).__name__, round(time.monotonic() - start, 2))
"""


# A transparent relay standing in for wardgate's proxy (IP_TRANSPARENT on both legs, as proxy/
# does): device -> core connections leave from the device's mapped address, core -> published
# service connections reach the device from the core's address. Prints "relay PEER -> ORIGINAL".
RELAY = """
import socket, sys, threading
IP_TRANSPARENT = 19
vlan, mapped = sys.argv[1], sys.argv[2]   # "a.b.c." prefixes of two /24s
def swap(addr, frm, to):
    return to + addr.rsplit(".", 1)[1] if addr.startswith(frm) else addr
ls = socket.socket(); ls.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); ls.bind(("0.0.0.0", 15001)); ls.listen(16)
print("listening", flush=True)
def serve(conn, peer):
    original = conn.getsockname()
    print("relay", peer[0], "->", original[0], original[1], flush=True)
    up = socket.socket(); up.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1); up.settimeout(5)
    up.bind((swap(peer[0], vlan, mapped), 0))
    up.connect((swap(original[0], mapped, vlan), original[1]))
    up.sendall(conn.recv(100)); conn.sendall(up.recv(100)); up.close(); conn.close()
while True:
    conn, peer = ls.accept()
    threading.Thread(target=serve, args=(conn, peer), daemon=True).start()
"""

# A TCP server answering "hello from PEER" to one message per connection.
ECHO = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(16); print("listening", flush=True)
while True:
    c, peer = s.accept(); c.recv(100); c.sendall(("hello from " + peer[0]).encode()); c.close()
"""

CALL = """
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"hi"); print(s.recv(100).decode())
"""


class GatewayRulesTest(LabTestCase):
    lab_name = "gwrules"

    @classmethod
    def set_up_lab(cls, lab):
        if not driver().exists():
            raise unittest.SkipTest(f"{driver()} not built (target gateway_driver)")
        core = lab.env["CORE_NET"] + ".0/24"
        vlan = lab.env["VLAN_NET"] + ".0/24"
        cls.config = {
            "interception": {"interfaces": ["vlan0"],
                             "services": [{"name": "dicom", "port": 104, "protocol": "dicom"}]},
            "gateway": {
                "vlan_prefix": vlan,
                "gateway_address": lab.ip("gw_vlan"),
                "core_networks": [core],
                "pass_through": [
                    {"name": "ntp", "device_types": ["modality"], "protocol": "udp",
                     "ports": [123], "destinations": [lab.ip("pacs") + "/32"]},
                    {"name": "ping", "devices": ["mon"], "protocol": "icmp",
                     "destinations": ["gateway", core]},
                ],
            },
            "nat": {"mapped_prefix": MAPPED},
            "devices": [
                {"name": "ct", "type": "modality", "address": lab.ip("ct"),
                 "published_ports": [11113]},
                {"name": "us", "type": "modality", "address": lab.ip("us")},
                {"name": "mon", "type": "monitor", "address": lab.ip("mon")},
            ],
        }
        cls.config_path = lab.write_config(cls.config, "gateway.json")
        cls.gateway("apply")
        lab.run("gw", ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        cls.listener = lab.start("pacs", ["python3", "-c", LISTENER, "123", "124", "445"],
                                 ready_text="listening")

    @classmethod
    def gateway(cls, *args, check=True):
        command, *rest = args
        done = subprocess.run(["ip", "netns", "exec", cls.lab.ns("gw"), str(driver()), command,
                               str(cls.config_path), *rest],
                              capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            raise AssertionError(f"gateway_driver {command}: {done.returncode} {done.stderr}")
        return done

    def counter(self, chain):
        """Packets counted by the last counter of a chain of the gateway's table."""
        out = self.lab.run("gw", ["nft", "list", "chain", "inet", "wardgate", chain]).stdout.decode()
        counts = [int(w.split()[1]) for w in out.split("counter ")[1:]]
        return counts[-1]

    def arrived(self, since, kind, port):
        """Sources of what the core's listener saw of kind/port since line `since`."""
        time.sleep(0.5)
        lines = self.listener.log().splitlines()[since:]
        return [l.split()[1] for l in lines if l.startswith(f"{kind} ") and l.endswith(f" {port}")]

    def mark(self):
        return len(self.listener.log().splitlines())

    def udp(self, role, source, port, source_port=0):
        self.lab.run(role, ["python3", "-c", SEND_UDP, source, self.lab.ip("pacs"), port,
                            source_port])

    def connect(self, role, source, dest, port, timeout=2):
        return self.lab.run(role, ["python3", "-c", CONNECT, source, dest, port, timeout],
                            timeout=30).stdout.decode().strip()

    def test_pass_through_leaves_under_the_mapped_address(self):
        since = self.mark()
        self.udp("ct", self.lab.ip("ct"), 123)
        self.udp("us", self.lab.ip("us"), 123)
        self.assertEqual(sorted(self.arrived(since, "udp", 123)),
                         sorted([mapped(self.lab.ip("ct")), mapped(self.lab.ip("us"))]))

    def test_everything_else_from_a_device_is_dropped_and_counted(self):
        since = self.mark()
        before = self.counter("deny_vlan")
        self.udp("ct", self.lab.ip("ct"), 124)          # an unlisted port
        self.udp("mon", self.lab.ip("mon"), 123)        # NTP is for modalities only
        result = self.connect("ct", self.lab.ip("ct"), self.lab.ip("pacs"), 445)  # SMB
        self.assertTrue(result.startswith("TimeoutError"), result)
        self.assertEqual(self.arrived(since, "udp", 124), [])
        self.assertEqual(self.arrived(since, "udp", 123), [])
        self.assertEqual(self.arrived(since, "tcp", 445), [])
        self.assertGreaterEqual(self.counter("deny_vlan") - before, 3)

    def test_unknown_and_spoofed_sources_are_dropped(self):
        unknown = self.lab.env["VLAN_NET"] + ".99"
        self.lab.run("ct", ["ip", "addr", "replace", unknown + "/32", "dev", "eth0"], check=False)
        self.lab.run("ct", ["ip", "addr", "replace", "192.0.2.9/32", "dev", "eth0"], check=False)
        since = self.mark()
        unknown_before, spoof_before = self.counter("deny_unknown"), self.counter("deny_spoof")
        self.udp("ct", unknown, 123)
        self.udp("ct", "192.0.2.9", 123)
        self.assertEqual(self.arrived(since, "udp", 123), [])
        self.assertEqual(self.counter("deny_unknown") - unknown_before, 1)
        self.assertEqual(self.counter("deny_spoof") - spoof_before, 1)

    def test_ipv6_from_the_vlan_is_dropped_and_recorded(self):
        out = self.lab.run("gw", ["ip", "-6", "-o", "addr", "show", "dev", "vlan0", "scope",
                                  "link"]).stdout.decode()
        gw6 = out.split("inet6 ")[1].split("/")[0]
        before = self.counter("deny_ipv6")
        ping = self.lab.run("ct", ["ping", "-6", "-c1", "-W1", f"{gw6}%eth0"], check=False)
        self.assertNotEqual(ping.returncode, 0)
        self.assertGreaterEqual(self.counter("deny_ipv6") - before, 1)

    def test_intercepted_port_without_listener_is_refused_at_once(self):
        before = self.counter("no_listener")
        result = self.connect("ct", self.lab.ip("ct"), self.lab.ip("pacs"), 104, timeout=5)
        self.assertTrue(result.startswith("ConnectionRefusedError"), result)
        self.assertLess(float(result.split()[1]), 1.0)
        self.assertEqual(self.counter("no_listener") - before, 1)

    def test_the_core_reaches_no_device_service_that_is_not_published(self):
        before = self.counter("deny_core")
        for dest in (mapped(self.lab.ip("ct")), self.lab.ip("ct")):
            result = self.connect("pacs", self.lab.ip("pacs"), dest, 22, timeout=1)
            self.assertTrue(result.startswith("TimeoutError"), f"{dest}: {result}")
        self.assertGreaterEqual(self.counter("deny_core") - before, 2)

    def test_echo_only_where_a_flow_allows_it(self):
        gw = self.lab.ip("gw_vlan")
        self.assertEqual(self.lab.run("mon", ["ping", "-c1", "-W1", gw], check=False).returncode, 0)
        self.assertEqual(self.lab.run("mon", ["ping", "-c1", "-W1", self.lab.ip("pacs")],
                                      check=False).returncode, 0)
        self.assertNotEqual(self.lab.run("ct", ["ping", "-c1", "-W1", gw], check=False).returncode,
                            0)
        self.assertNotEqual(self.lab.run("ct", ["ping", "-c1", "-W1", self.lab.ip("pacs")],
                                         check=False).returncode, 0)

    def test_bypass_lets_traffic_through_only_while_it_lasts(self):
        self.gateway("bypass", "vlan0", "5", 'firmware update "CT"')
        listed = [json.loads(l) for l in self.gateway("list-bypass").stdout.splitlines()]
        self.assertEqual(len(listed), 1)
        self.assertEqual(listed[0]["interface"], "vlan0")
        self.assertEqual(listed[0]["reason"], "firmware update 'CT'")
        self.assertTrue(240 < listed[0]["expires_in_seconds"] <= 300, listed)
        since = self.mark()
        self.udp("ct", self.lab.ip("ct"), 124, source_port=40124)
        self.assertEqual(self.arrived(since, "udp", 124), [mapped(self.lab.ip("ct"))])
        self.gateway("end-bypass")
        self.assertEqual(self.gateway("list-bypass").stdout, "")
        since = self.mark()
        # The same flow (conntrack entry still alive) and a new one: both cut off.
        self.udp("ct", self.lab.ip("ct"), 124, source_port=40124)
        self.udp("ct", self.lab.ip("ct"), 124)
        self.assertEqual(self.arrived(since, "udp", 124), [])

    def test_proxied_connections_both_ways_with_nat_in_the_path(self):
        lab = self.lab
        relay = lab.start("gw", ["python3", "-c", RELAY, lab.env["VLAN_NET"] + ".",
                                 MAPPED.rsplit(".", 1)[0] + "."], ready_text="listening")
        servers = [lab.start("pacs", ["python3", "-c", ECHO, "104"], ready_text="listening"),
                   lab.start("ct", ["python3", "-c", ECHO, "11113"], ready_text="listening")]
        try:
            # Device -> core on an intercepted port: proxied, the PACS sees the mapped address.
            out = lab.run("ct", ["python3", "-c", CALL, lab.ip("pacs"), "104"]).stdout.decode()
            self.assertEqual(out.strip(), "hello from " + mapped(lab.ip("ct")))
            # Core -> the CT's published service at its mapped address: proxied, the CT sees the
            # PACS's own address, the PACS the answer from the address it called.
            out = lab.run("pacs", ["python3", "-c", CALL, mapped(lab.ip("ct")), "11113"])
            self.assertEqual(out.stdout.decode().strip(), "hello from " + lab.ip("pacs"))
            log = relay.log()
            self.assertIn(f"relay {lab.ip('ct')} -> {lab.ip('pacs')} 104", log)
            self.assertIn(f"relay {lab.ip('pacs')} -> {mapped(lab.ip('ct'))} 11113", log)
        finally:
            for proc in (relay, *servers):
                proc.stop()

    def test_a_bad_configuration_is_refused_and_the_policy_stays(self):
        bad = json.loads(json.dumps(self.config))
        bad["nat"]["mapped_prefix"] = self.lab.env["CORE_NET"] + ".0/24"
        path = self.lab.write_config(bad, "bad.json")
        done = subprocess.run(["ip", "netns", "exec", self.lab.ns("gw"), str(driver()), "apply",
                               str(path)], capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 2)
        self.assertIn("nat.mapped_prefix", done.stderr)
        since = self.mark()
        self.udp("ct", self.lab.ip("ct"), 123)
        self.assertEqual(self.arrived(since, "udp", 123), [mapped(self.lab.ip("ct"))])


if __name__ == "__main__":
    unittest.main()
