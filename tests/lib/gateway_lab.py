"""gateway_lab: labs for wardgate as the VLAN's gateway (issue 12): default deny, 1:1 NAT.

Two topologies:

GatewayLab (one appliance, `wardgate-lab up` as in labkit): the lab's VLAN and core, plus IPv6 on
both (so an IPv6 scan has somewhere to go when nothing stops it), extra VLAN hosts on demand (an
unregistered address with a MAC of the test's choosing), and counters on the core hosts: an nft
table in each core namespace counts every packet that arrives there from the VLAN, so "nothing
reached the core" is measured where it matters, independently of wardgate.

NatLab (two appliances behind one concentrator), namespaces NAME-<role>:

    NAME-ct1 192.168.1.20 ─ vlan0 192.168.1.1 NAME-gw1 wan0 10.3.1.1 ─┐
                                              (wardgate, its own wg,  │ NAME-conc: wireguard-go,
                                               mapped 10.250.1.0/24)  ├ wan1/wan2 10.3.K.2,
    NAME-ct2 192.168.1.20 ─ vlan0 192.168.1.1 NAME-gw2 wan0 10.3.2.1 ─┘ core0 10.2.2.1/24
                                              (mapped 10.250.2.0/24)        │
                                                          NAME-pacs 10.2.2.10 (dcmqrscp)

Both VLANs use the same addresses; the core tells the appliances apart only by their mapped
prefixes. Each appliance runs wardgate with its own tunnel section (wireguard-go, UAPI backend);
the concentrator is wireguard-go configured with `wg setconf` from its own [Interface] and the two
[Peer] blocks `wardgate tunnel export --peer-block` prints, as the hospital's administrator would
paste them (tests/lib/tunnel_lab.py). wireguard-go's socket directory is shared by all namespaces,
so the interface names carry the lab's name.

Every process is started through labkit (stopped by PID); namespaces are named after the test.
"""

import ipaddress
import json
import shutil
import subprocess
import time
from pathlib import Path

from labkit import Lab, audit_records, utc_now, wait_for, wardgate_bin  # noqa: F401
from tunnel_lab import TunnelLab

VLAN_IF = "vlan0"
CORE_COUNTER_TABLE = "wgcount"

TCP_PROBE = """
import socket, sys
address, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
s.settimeout(timeout)
try:
    s.connect((address, port))
except ConnectionRefusedError:
    print("refused")
except ConnectionResetError:
    print("reset")
except OSError:
    print("timeout")
else:
    try:
        s.sendall(b"wardgate-lab probe\\n")
    except OSError:
        pass
    print("connected")
"""

# A TCP listener that prints one line per accepted connection (and what it read first).
LISTENER = """
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
print("listening", flush=True)
while True:
    c, peer = s.accept()
    c.settimeout(1.0)
    try:
        data = c.recv(64)
    except OSError:
        data = b""
    print("accepted", peer[0], data[:32], flush=True)
    c.close()
"""

# A UDP server that answers every datagram with "echo:" + the datagram and prints its source.
UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("listening", flush=True)
while True:
    data, peer = s.recvfrom(2048)
    print("datagram from", peer[0], flush=True)
    s.sendto(b"echo:" + data, peer)
"""

# One UDP request, one answer awaited: prints the answer or "timeout".
UDP_REQUEST = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(float(sys.argv[3]))
s.sendto(b"wardgate-lab request", (sys.argv[1], int(sys.argv[2])))
try:
    print(s.recvfrom(2048)[0].decode())
except OSError:
    print("timeout")
"""

UDP_PROBE = """
import socket, sys
address, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(count):
    s.sendto(b"wardgate-lab udp", (address, port))
"""


def nft_json(run, role, *args):
    """`nft -j ARGS` in the role's namespace, parsed."""
    out = run(role, ["nft", "-j", *args]).stdout
    return json.loads(out)["nftables"]


class CoreCounters:
    """An nft table in a core host's namespace that counts what arrives from the VLAN, by kind:
    - vlan_services: TCP to the intercepted service ports (wardgate's upstream leg of a proxied
      connection keeps the device's source address, or its mapped one);
    - vlan_pass_through: the explicit pass-through flows (protocol, port) the test configured;
    - vlan_other: anything else from the VLAN, which must stay 0 under the gateway;
    - vlan_ipv6: IPv6 from the VLAN's prefix;
    - foreign: IPv4 from outside both the VLAN and the core (spoofed sources)."""

    def __init__(self, lab, role, vlan_prefixes, core_prefix, service_ports, vlan6_prefix=None,
                 pass_through=()):
        self.lab = lab
        self.role = role
        vlan = ", ".join(vlan_prefixes)
        ports = ", ".join(str(p) for p in sorted(service_ports))
        rules = [f"ip saddr {{ {vlan} }} tcp dport {{ {ports} }} counter name vlan_services accept"]
        rules += [f"ip saddr {{ {vlan} }} {proto} dport {port} "
                  "counter name vlan_pass_through accept" for proto, port in pass_through]
        rules += [f"ip saddr {{ {vlan} }} counter name vlan_other accept",
                  f"ip saddr != {{ {vlan}, {core_prefix} }} counter name foreign accept"]
        names = ["vlan_services", "vlan_pass_through", "vlan_other", "foreign"]
        if vlan6_prefix:
            rules.append(f"ip6 saddr {vlan6_prefix} counter name vlan_ipv6 accept")
            names.append("vlan_ipv6")
        # Priority -400: before conntrack, so every packet is seen, even one the host drops.
        script = (f"table inet {CORE_COUNTER_TABLE}\ndelete table inet {CORE_COUNTER_TABLE}\n"
                  f"table inet {CORE_COUNTER_TABLE} {{\n"
                  + "".join(f"  counter {n} {{}}\n" for n in names)
                  + "  chain pre {\n    type filter hook prerouting priority -400; policy accept;\n"
                  + "".join(f"    {r}\n" for r in rules) + "  }\n}\n")
        path = lab.workdir / f"counters-{role}.nft"
        path.write_text(script)
        lab.run(role, ["nft", "-f", path])

    def read(self):
        """{counter name: packets}."""
        out = {}
        for item in nft_json(self.lab.run, self.role, "list", "counters", "table", "inet",
                             CORE_COUNTER_TABLE):
            if "counter" in item:
                out[item["counter"]["name"]] = item["counter"]["packets"]
        return out


def delta(before, after):
    """after - before, key by key, of counter readings (nested dicts of numbers)."""
    return {k: delta(before.get(k, {}), v) if isinstance(v, dict) else v - before.get(k, 0)
            for k, v in after.items()}


class GatewayMixin:
    """What both labs share: wardgate's kernel state and audit store as a test reads them."""

    def nft_table(self, role, table="wardgate"):
        return self.run(role, ["nft", "list", "table", "inet", table], check=False)

    def bypass_set(self, role, table="wardgate"):
        """`nft -j list set inet TABLE bypass`: [{"elem": ..., "timeout": s, "expires": s,
        "comment": ...}] of its elements."""
        out = []
        for item in nft_json(self.run, role, "list", "set", "inet", table, "bypass"):
            for elem in item.get("set", {}).get("elem", []):
                if isinstance(elem, dict) and "elem" in elem:
                    out.append(elem["elem"])
                else:
                    out.append({"val": elem})
        return out

    def wardgate_command(self, role, args, config_path, check=True, timeout=60):
        """A wardgate CLI command in the appliance's namespace (the kernel state it reads and
        changes is that namespace's), as the operator runs it on the appliance."""
        result = self.run(role, [wardgate_bin(), *args, "--config", config_path],
                          timeout=timeout, check=False)
        out, err = result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
        if check and result.returncode != 0:
            raise RuntimeError(f"wardgate {args} exited {result.returncode}:\n{out}\n{err}")
        return subprocess.CompletedProcess(result.args, result.returncode, out, err)

    def tcp_attempt(self, role, address, port, timeout=2.0):
        """One TCP connection attempt from role, bounded: 'connected' (something answered the
        SYN; a line is sent), 'refused' (RST to the SYN), 'reset' (accepted, then reset before
        connect() returned) or 'timeout' (nothing came back)."""
        return self.run(role, ["python3", "-c", TCP_PROBE, address, port, timeout],
                        timeout=timeout + 10, check=False).stdout.decode().strip()

    def start_listener(self, role, port, address="0.0.0.0"):
        """LISTENER in role on port; its log has one "accepted" line per connection."""
        return self.start(role, ["python3", "-c", LISTENER, address, port], ready_port=port,
                          ready_text="listening")

    def start_udp_echo(self, role, port, address="0.0.0.0"):
        """UDP_ECHO in role on port; its log has one "datagram from" line per datagram."""
        return self.start(role, ["python3", "-c", UDP_ECHO, address, port],
                          ready_text="listening")

    def udp_request(self, role, address, port, timeout=2.0):
        """One UDP request from role: the answer, or 'timeout'."""
        return self.run(role, ["python3", "-c", UDP_REQUEST, address, port, timeout],
                        timeout=timeout + 10, check=False).stdout.decode().strip()

    def wait_reachable(self, role, address, timeout):
        """True once one ping from role to address is answered (bounded by timeout seconds)."""
        return wait_for(lambda: self.run(role, ["ping", "-n", "-c1", "-W1", address],
                                         check=False, timeout=10).returncode == 0,
                        timeout, interval=0.2)

    def neighbour_report(self, roles, headline):
        """headline plus each role's addresses, routes and neighbour tables: what a reader needs
        when a lab's own control traffic did not arrive."""
        parts = [headline]
        for role in roles:
            for cmd in (["ip", "-br", "addr"], ["ip", "-6", "route"], ["ip", "neigh"]):
                out = self.run(role, cmd, check=False, timeout=10).stdout.decode(errors="replace")
                parts.append(f"--- {role}: {' '.join(cmd)}\n{out}")
        return "\n".join(parts)

    def udp_send(self, role, address, port, count=3):
        """count UDP datagrams from role to address:port."""
        self.run(role, ["python3", "-c", UDP_PROBE, address, port, count], timeout=10)


class GatewayLab(GatewayMixin, Lab):
    """labkit's one-appliance lab with IPv6, extra VLAN hosts and core counters."""

    def __init__(self, name, index=None):
        super().__init__(name, index)
        k = int(self.vlan_net.split(".")[1])
        self.vlan6_net = f"fd00:{k}:1::"
        self.core6_net = f"fd00:{k}:2::"
        self.extra_roles = []

    def up(self):
        super().up()
        # IPv6 on both sides and forwarding on: without wardgate's ruleset, IPv6 from the VLAN
        # would reach the core (the set-up of a test shows that it does).
        self.run("gw", ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
        for dev, net in ((VLAN_IF, self.vlan6_net), ("core0", self.core6_net)):
            self.run("gw", ["ip", "-6", "addr", "add", f"{net}1/64", "dev", dev, "nodad"])
        for role, net, host in (("ct", self.vlan6_net, 20), ("us", self.vlan6_net, 21),
                                ("mon", self.vlan6_net, 30), ("pacs", self.core6_net, 10),
                                ("hl7", self.core6_net, 20)):
            self.run(role, ["ip", "-6", "addr", "add", f"{net}{host}/64", "dev", "eth0", "nodad"])
            self.run(role, ["ip", "-6", "route", "add", "default", "via", f"{net}1"])
            self.env[f"IP6_{role.upper()}"] = f"{net}{host}"
        return self

    def down(self):
        self.stop_all()
        for ns in self.extra_roles:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        self.extra_roles.clear()
        super().down()

    def ip6(self, role):
        return self.env[f"IP6_{role.upper()}"]

    def vlan_prefix(self):
        return f"{self.vlan_net}.0/24"

    def add_vlan_host(self, role, host, mac):
        """A host namespace NAME-<role> on the VLAN at VLAN.<host> with the given MAC address,
        default route via the gateway: a device nobody registered."""
        ns = f"{self.name}-{role}"
        subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True, timeout=30)
        self.extra_roles.append(ns)
        self.env[f"NS_{role.upper()}"] = ns
        self.env[f"IP_{role.upper()}"] = f"{self.vlan_net}.{host}"
        self.run("gw", ["ip", "link", "add", role, "type", "veth", "peer", "name", "eth0",
                        "netns", ns])
        self.run("gw", ["ip", "link", "set", role, "master", VLAN_IF, "up"])
        self.run(role, ["ip", "link", "set", "lo", "up"])
        self.run(role, ["ip", "link", "set", "eth0", "address", mac])
        self.run(role, ["ip", "addr", "add", f"{self.vlan_net}.{host}/24", "dev", "eth0"])
        self.run(role, ["ip", "link", "set", "eth0", "up"])
        self.run(role, ["ip", "route", "add", "default", "via", self.ip("gw_vlan")])
        return ns

    def service_ports(self, config):
        return {s["port"] for s in config["interception"]["services"]}

    def install_core_counters(self, config):
        """Counters on both core hosts (pacs, hl7); returns {role: CoreCounters}. The
        configuration's UDP/TCP pass-through ports are counted apart."""
        pass_through = [(flow["protocol"], port)
                        for flow in config.get("gateway", {}).get("pass_through", [])
                        for port in flow.get("ports", [])]
        return {role: CoreCounters(self, role, [self.vlan_prefix()], f"{self.core_net}.0/24",
                                   self.service_ports(config), f"{self.vlan6_net}/64",
                                   pass_through)
                for role in ("pacs", "hl7")}

    def gateway_section(self, **overrides):
        section = {
            "vlan_prefix": self.vlan_prefix(),
            "gateway_address": self.ip("gw_vlan"),
            "core_networks": [f"{self.core_net}.0/24"],
            "unknown_devices": "deny",
            "pass_through": [
                {"name": "ntp", "device_types": ["modality"], "protocol": "udp", "ports": [123],
                 "destinations": [f"{self.ip('pacs')}/32"]},
                {"name": "ping-gateway", "device_types": ["modality", "monitor"],
                 "protocol": "icmp", "destinations": ["gateway"]},
            ],
            "log_group": 7900,
        }
        section.update(overrides)
        return section

    def gateway_config(self, **gateway_overrides):
        config = self.wardgate_config()
        config["interception"]["interfaces"] = [VLAN_IF]
        config["gateway"] = self.gateway_section(**gateway_overrides)
        return config


# -------------------------------------------------------------------------------------------
# Two appliances with the same VLAN behind one concentrator.

VLAN_NET = "192.168.1"
CT_HOST = 20
CORE_NET = "10.2.2"
PACS_HOST = 10
TUNNEL_NET = "10.99.0"
MAPPED = {1: "10.250.1", 2: "10.250.2"}
APPLIANCES = (1, 2)
DICOM_QR_PORT = 11112
CT_STORE_PORT = 11113
NTP_PORT = 123


class NatLab(GatewayMixin, TunnelLab):
    """Two appliances (gw1, gw2) with identical VLANs, one concentrator (conc), the PACS."""

    ROLES = ("gw1", "ct1", "gw2", "ct2", "conc", "pacs")

    def __init__(self, name, index=None):
        super().__init__(name, index)
        self.vlan_net = VLAN_NET
        self.core_net = CORE_NET
        self.tunnel_net = TUNNEL_NET
        # wireguard-go's sockets share one directory across namespaces: names unique per lab.
        tag = name[-6:]
        self.conc_if = f"wg{tag}c"
        self.appliance_ifs = {k: f"wg{tag}{k}" for k in APPLIANCES}
        self.configs = {}
        for role in self.ROLES:
            self.env[f"NS_{role.upper()}"] = f"{name}-{role}"
        for k in APPLIANCES:
            self.env[f"IP_CT{k}"] = f"{VLAN_NET}.{CT_HOST}"
            self.env[f"IP_GW{k}_VLAN"] = f"{VLAN_NET}.1"
            self.env[f"IP_GW{k}_WAN"] = f"10.3.{k}.1"
            self.env[f"IP_CONC_WAN{k}"] = f"10.3.{k}.2"
        self.env["IP_PACS"] = f"{CORE_NET}.{PACS_HOST}"
        self.env["IP_CONC_CORE"] = f"{CORE_NET}.1"

    # -- topology -----------------------------------------------------------------------------
    def _ip(self, *args):
        subprocess.run(["ip", *map(str, args)], check=True, capture_output=True, timeout=30)

    def _sysctl(self, role, key, value):
        self.run(role, ["sysctl", "-qw", f"{key}={value}"])

    def _remove_namespaces(self):
        """Namespaces of this lab left by an earlier run: their processes are stopped by PID
        (SIGTERM, then SIGKILL after a bounded wait), then the namespaces are deleted."""
        existing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                                  timeout=30).stdout.split()
        mine = [self.ns(r) for r in self.ROLES if self.ns(r) in existing]
        for ns in mine:
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True,
                                  timeout=30).stdout.split()
            for sig in ("TERM", "KILL"):
                if pids:
                    subprocess.run(["kill", f"-{sig}", *pids], capture_output=True, timeout=10)
                    time.sleep(1)
                    pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                          text=True, timeout=30).stdout.split()
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)

    def up(self):
        self._remove_namespaces()
        try:
            self._build()
        except BaseException:
            self._remove_namespaces()
            raise
        self.conc_private_key = self.wg(["genkey"]).strip()
        self.conc_public_key = self.wg(["pubkey"], input=self.conc_private_key).strip()
        return self

    def _build(self):
        for role in self.ROLES:
            self._ip("netns", "add", self.ns(role))
            self.run(role, ["ip", "link", "set", "lo", "up"])
        for role in ("gw1", "gw2", "conc"):
            self._sysctl(role, "net.ipv4.ip_forward", 1)
            self._sysctl(role, "net.ipv4.conf.all.rp_filter", 0)
            self._sysctl(role, "net.ipv4.conf.default.rp_filter", 0)
            # As lab/wardgate-lab: with br_netfilter loaded on the host, frames entering a bridge
            # would meet the IP hooks in the bridge's context, where a TPROXY socket assignment
            # is lost (the kernel resets the device's SYN). Keep the lab the same either way.
            for family in ("iptables", "ip6tables", "arptables"):
                key = f"net.bridge.bridge-nf-call-{family}"
                self.run(role, ["sh", "-c", f"[ ! -e /proc/sys/{key.replace('.', '/')} ] || "
                                            f"sysctl -qw {key}=0"])
        # The concentrator's core bridge and the PACS on it.
        self.run("conc", ["ip", "link", "add", "core0", "type", "bridge", "stp_state", "0",
                          "forward_delay", "0"])
        self.run("conc", ["ip", "addr", "add", f"{CORE_NET}.1/24", "dev", "core0"])
        self.run("conc", ["ip", "link", "set", "core0", "up"])
        self._ip("-n", self.ns("pacs"), "link", "add", "eth0", "type", "veth", "peer", "name",
                 "pacs", "netns", self.ns("conc"))
        self.run("conc", ["ip", "link", "set", "pacs", "master", "core0", "up"])
        self.run("pacs", ["ip", "addr", "add", f"{CORE_NET}.{PACS_HOST}/24", "dev", "eth0"])
        self.run("pacs", ["ip", "link", "set", "eth0", "up"])
        self.run("pacs", ["ip", "route", "add", "default", "via", f"{CORE_NET}.1"])
        for k in APPLIANCES:
            gw, ct = f"gw{k}", f"ct{k}"
            # Underlay: gwK wan0 10.3.K.1 <-> conc wanK 10.3.K.2.
            self._ip("-n", self.ns(gw), "link", "add", "wan0", "type", "veth", "peer", "name",
                     f"wan{k}", "netns", self.ns("conc"))
            self.run(gw, ["ip", "addr", "add", f"10.3.{k}.1/24", "dev", "wan0"])
            self.run(gw, ["ip", "link", "set", "wan0", "up"])
            self.run("conc", ["ip", "addr", "add", f"10.3.{k}.2/24", "dev", f"wan{k}"])
            self.run("conc", ["ip", "link", "set", f"wan{k}", "up"])
            # The VLAN: bridge vlan0 = 192.168.1.1/24, the CT at .20.
            self.run(gw, ["ip", "link", "add", VLAN_IF, "type", "bridge", "stp_state", "0",
                          "forward_delay", "0"])
            self._sysctl(gw, f"net.ipv4.conf.{VLAN_IF}.rp_filter", 0)
            self.run(gw, ["ip", "addr", "add", f"{VLAN_NET}.1/24", "dev", VLAN_IF])
            self.run(gw, ["ip", "link", "set", VLAN_IF, "up"])
            self._ip("-n", self.ns(ct), "link", "add", "eth0", "type", "veth", "peer", "name",
                     "ct", "netns", self.ns(gw))
            self.run(gw, ["ip", "link", "set", "ct", "master", VLAN_IF, "up"])
            self.run(ct, ["ip", "addr", "add", f"{VLAN_NET}.{CT_HOST}/24", "dev", "eth0"])
            self.run(ct, ["ip", "link", "set", "eth0", "up"])
            self.run(ct, ["ip", "route", "add", "default", "via", f"{VLAN_NET}.1"])
        if not wait_for(lambda: self.run("gw1", ["ping", "-c1", "-W1", "10.3.1.2"],
                                         check=False).returncode == 0, 10, 0.2):
            raise RuntimeError("underlay gw1 -> conc does not answer")

    def down(self):
        self.stop_all()
        self._remove_namespaces()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def concentrator_routes(self):
        return [f"{MAPPED[k]}.0/24" for k in APPLIANCES]

    # -- the appliances -----------------------------------------------------------------------
    def mapped_ip(self, k, host=CT_HOST):
        return f"{MAPPED[k]}.{host}"

    def store_path(self, k):
        return self.workdir / f"gw{k}-audit.db"

    def appliance_config(self, k):
        """Appliance k's wardgate configuration: the gateway over its VLAN, 1:1 NAT to
        10.250.k.0/24, its tunnel to the concentrator, and the CT with its storage SCP published
        to the core (the PACS's C-MOVE sub-associations)."""
        work = self.workdir
        return {
            "log_level": "info",
            "appliance": {"id": f"{self.name}-gw{k}"},
            "interception": {
                "interfaces": [VLAN_IF],
                "services": [{"name": "pacs-dicom", "port": 104, "protocol": "dicom"},
                             {"name": "qr-dicom", "port": DICOM_QR_PORT, "protocol": "dicom"}],
                "listen_port": 15001,
            },
            "proxy": {"connect_timeout_ms": 3000, "idle_timeout_s": 600, "drain_timeout_s": 5},
            "audit": {
                "log": "stderr",
                "patient_data": "keyed-hash",
                "secret_file": str(work / f"gw{k}-audit-secret"),
                "store": {"path": str(self.store_path(k)),
                          "signing_key_file": str(work / f"gw{k}-audit-signing-key")},
            },
            "gateway": {
                "vlan_prefix": f"{VLAN_NET}.0/24",
                "gateway_address": f"{VLAN_NET}.1",
                "core_networks": [f"{CORE_NET}.0/24"],
                "unknown_devices": "deny",
                # Forwarded, not proxied: mapped by the kernel (prefix map), replies through
                # conntrack.
                "pass_through": [
                    {"name": "ping-gateway", "device_types": ["modality"], "protocol": "icmp",
                     "destinations": ["gateway"]},
                    {"name": "ping-pacs", "devices": ["ct"], "protocol": "icmp",
                     "destinations": [f"{CORE_NET}.{PACS_HOST}/32"]},
                    {"name": "ntp", "device_types": ["modality"], "protocol": "udp",
                     "ports": [NTP_PORT], "destinations": [f"{CORE_NET}.{PACS_HOST}/32"]},
                ],
                "log_group": 7900,
            },
            "nat": {"mapped_prefix": f"{MAPPED[k]}.0/24"},
            "devices": [{
                "name": "ct", "address": f"{VLAN_NET}.{CT_HOST}", "type": "modality",
                "dicom": {"allowed_operations": ["C-ECHO", "C-STORE", "C-FIND", "C-MOVE"]},
                "published_services": [{"name": "storescp", "port": CT_STORE_PORT,
                                        "protocol": "dicom", "allowed_calling_ae": ["ARCHIVE"]}],
            }],
            "tunnel": {
                "interface": self.appliance_ifs[k],
                "backend": "uapi",
                "private_key_file": str(work / f"gw{k}-wg-private-key"),
                "listen_port": 51820,
                "addresses": [f"{TUNNEL_NET}.{k + 1}/32"],
                # The VLAN as the appliance knows it; the exported peer block must carry the
                # mapped prefix instead (the tunnel follows the mapping).
                "advertised_networks": [f"{VLAN_NET}.0/24"],
                "peers": [{
                    "name": "concentrator",
                    "public_key": self.conc_public_key,
                    "endpoint": f"10.3.{k}.2:{self.conc_port}",
                    "persistent_keepalive_s": 5,
                    "allowed_ips": [f"{CORE_NET}.0/24", f"{TUNNEL_NET}.1/32"],
                }],
                "monitor": {"interval_s": 1, "stale_after_s": 180},
            },
        }

    def config_path(self, k):
        return self.workdir / f"gw{k}.json"

    def export_peer_blocks(self):
        """Writes both appliances' configurations and returns {k: the [Peer] block of
        `wardgate tunnel export --peer-block`}."""
        blocks = {}
        for k in APPLIANCES:
            self.configs[k] = self.appliance_config(k)
            path = self.write_config(self.configs[k], f"gw{k}.json")
            blocks[k] = self.peer_block(path)
        return blocks

    def start_appliance(self, k, timeout=20.0):
        path = self.write_config(self.configs.get(k) or self.appliance_config(k), f"gw{k}.json")
        return self.start(f"gw{k}", [wardgate_bin(), "run", "--config", path],
                          ready_text=" ready: ", timeout=timeout)

    def wait_handshakes(self, timeout=30):
        """Both appliances' peers handshook with the concentrator."""
        return wait_for(lambda: sum(p["handshake"] > 0 for p in self.conc_dump().values())
                        == len(APPLIANCES), timeout, 0.2)


def peer_block_networks(block):
    """The AllowedIPs of a [Peer] block, as ip_network objects."""
    nets = []
    for line in block.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "AllowedIPs":
            nets += [ipaddress.ip_network(v.strip()) for v in value.split(",") if v.strip()]
    return nets
