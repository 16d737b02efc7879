"""The kernel WireGuard backend against a real kernel: Debian 12's 6.1 kernel, booted under qemu
(software emulation) from a busybox initramfs, with its wireguard.ko.

The test builds a network namespace holding a tap device (the VM's NIC) and a wireguard-go peer
configured with wg(8). In the VM, `wardgate tunnel up` (backend "auto", which must pick the
kernel) brings the tunnel up over tunnel::KernelBackend; it must complete a handshake with
wireguard-go, the VM pings the namespace and the namespace pings the VM across the tunnel. Then
the views are cross-checked: `wg show dump` in the VM against what wardgate was told,
`wardgate tunnel status --json` against that dump, and status reading back a peer that `wg set`
added. SIGTERM must take the link down. Last, tests/tools/wg_kernel_driver calls the backend
directly: create twice (the link is reused), a name held by another kind of link, a set of 200
peers plus one of 601 allowed IPs (split across messages, read back from a multi-message dump and
compared with wg's view), destroy.

qemu runs with software emulation (accel=tcg) on purpose: on this workplace /dev/kvm exists, but
a KVM guest hangs at boot (and -cpu max trips an MSR assertion), while TCG boots in ~4 s.

Needs root (namespace, tap), qemu-system-x86_64, busybox-static, cpio, kmod, wireguard-go and
wireguard-tools; tests/qemu/fetch-kernel.sh downloads the kernel package once into
build/qemu-kernel (WARDGATE_QEMU_CACHE).
"""

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
QEMU_DIR = REPO / "tests" / "qemu"
VM_IF = "wgk0"
NS_NET = "192.168.77"          # the tap's link, inside the test's namespace
TUN_VM, TUN_NS = "10.77.0.2", "10.77.0.1"
PORT = 51820
EXTRA_PEERS = 200              # the splitting check: peers of one allowed IP each ...
WIDE_PEER_IPS = 600            # ... and one peer with this many


def run(argv, timeout=60, check=True, input=None):
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                            timeout=timeout, input=input)
    if check and result.returncode != 0:
        raise RuntimeError(f"{argv} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def wg(*args, input=None):
    return run(["wg", *args], input=input).stdout.strip()


def wardgate_bin():
    return os.environ.get("WARDGATE_BIN", str(REPO / "build" / "release" / "wardgate"))


def driver_bin():
    return os.environ.get("WARDGATE_WG_KERNEL_DRIVER",
                          str(REPO / "build" / "release" / "tests" / "integration" /
                              "wg_kernel_driver"))


def parse_dump(text):
    """`wg show IF dump`: the interface line, then one line per peer (tab separated)."""
    lines = [line.split("\t") for line in text.strip().splitlines()]
    private_key, public_key, port, fwmark = lines[0]
    peers = {}
    for f in lines[1:]:
        peers[f[0]] = {"preshared_key": f[1], "endpoint": None if f[2] == "(none)" else f[2],
                       "allowed_ips": [] if f[3] == "(none)" else f[3].split(","),
                       "latest_handshake": int(f[4]), "rx": int(f[5]), "tx": int(f[6]),
                       "keepalive": 0 if f[7] == "off" else int(f[7])}
    return {"private_key": private_key, "public_key": public_key, "listen_port": int(port),
            "fwmark": 0 if fwmark == "off" else int(fwmark, 0), "peers": peers}


VM_SCRIPT = r"""#!/bin/sh
# Sections framed by markers the test parses: ==BEGIN name== ... ==END name rc=N==
section() { name=$1; shift; echo "==BEGIN $name=="; "$@" 2>&1; echo "==END $name rc=$?=="; }
ip link set eth0 up
ip addr add {ns_net}.2/24 dev eth0
section available wg_kernel_driver available

# wardgate itself: the tunnel manager over the kernel backend ("backend": "kernel").
wardgate tunnel up --config /test/wardgate.json >/tmp/up.log 2>&1 &
up=$!
i=0
while [ $i -lt 600 ] && ! grep -q " ready: tunnel" /tmp/up.log && kill -0 $up 2>/dev/null; do
  sleep 0.1; i=$((i + 1))
done
section up-log cat /tmp/up.log
section ping ping -c 3 -w 60 {tun_ns}
section dump wg show {vm_if} dump
section status wardgate tunnel status --config /test/wardgate.json --json
echo "==READY=="
read -t 120 line
section wg-set sh -c 'wg set {vm_if} peer "$(cat /test/peer2.pub)" preshared-key /test/peer2.psk endpoint [fd00::9]:1234 persistent-keepalive 7 allowed-ips 10.99.0.0/16,fd99::/64'
section status-after-wg-set wardgate tunnel status --config /test/wardgate.json --json
kill -TERM $up
i=0
while [ $i -lt 100 ] && kill -0 $up 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
kill -0 $up 2>/dev/null && kill -KILL $up
wait $up
echo "==UP-EXIT rc=$?=="
section alive-after-down wg_kernel_driver alive {vm_if}

# The backend on its own: create twice, a name of another kind, many peers, destroy.
section create wg_kernel_driver create wgk1
section create-again wg_kernel_driver create wgk1
section create-other-kind wg_kernel_driver create eth0
section many-peers wg_kernel_driver set wgk1 /test/many.json
section many-dump wg show wgk1 dump
section many-get wg_kernel_driver get wgk1
section destroy wg_kernel_driver destroy wgk1
section alive-after-destroy wg_kernel_driver alive wgk1
"""


class KernelBackendUnderQemu(unittest.TestCase):
    sections = {}

    @classmethod
    def setUpClass(cls):
        cls.started = time.monotonic()
        cls.workdir = Path(tempfile.mkdtemp(prefix="wardgate-qemu-"))
        cls.ns = f"wgkq-{os.getpid()}"
        cls.ns_if = f"wgkq{os.getpid() % 100000}"  # wireguard-go's socket dir is shared
        cls.procs = []
        try:
            cls._prepare_keys()
            cls._start_namespace_peer()
            cls._run_vm()
        except BaseException:
            cls._cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._cleanup()
        print(f"\nqemu kernel test: {time.monotonic() - cls.started:.1f} s in all", flush=True)

    # -- set-up ---------------------------------------------------------------------------------
    @classmethod
    def _key_pair(cls, name):
        private = wg("genkey")
        (cls.workdir / f"{name}.key").write_text(private + "\n")
        (cls.workdir / f"{name}.key").chmod(0o600)
        return private, wg("pubkey", input=private + "\n")

    @classmethod
    def _prepare_keys(cls):
        cls.vm_private, cls.vm_public = cls._key_pair("vm")
        cls.ns_private, cls.ns_public = cls._key_pair("ns")
        cls.psk = wg("genpsk")
        (cls.workdir / "psk").write_text(cls.psk + "\n")
        cls.peer2_public = cls._key_pair("peer2")[1]
        cls.peer2_psk = wg("genpsk")
        # What wardgate is told (the tunnel section, backend "auto"; the rest is the lab's configuration with
        # the audit store in the VM's /tmp): the namespace peer, reached over the tap link.
        cls.tunnel = {"interface": VM_IF, "backend": "auto", "private_key_file": "/test/vm.key",
                      "listen_port": PORT, "fwmark": 7, "addresses": [f"{TUN_VM}/24"],
                      "mss_clamp": False,
                      "peers": [{"name": "namespace", "public_key": cls.ns_public,
                                 "preshared_key_file": "/test/ns.psk",
                                 "endpoint": f"{NS_NET}.1:{PORT}", "persistent_keepalive_s": 25,
                                 "allowed_ips": [f"{TUN_NS}/32", "fd77::/64"]}],
                      "monitor": {"interval_s": 1}}
        config = json.loads((REPO / "lab" / "wardgate.json").read_text())
        config["audit"].update({"secret_file": "/tmp/audit-secret",
                                "store": {"path": "/tmp/audit.db",
                                          "signing_key_file": "/tmp/audit-signing-key"}})
        config["tunnel"] = cls.tunnel
        cls.config = config
        # Peers only configured, never talked to: any 32 bytes make a public key the kernel takes.
        def random_key():
            return base64.b64encode(os.urandom(32)).decode()
        many = [{"public_key": random_key(), "endpoint": f"192.0.2.{i % 250 + 1}:{1000 + i}",
                 "allowed_ips": [f"10.{100 + i // 250}.{i % 250}.0/24"]}
                for i in range(EXTRA_PEERS)]
        wide = [f"172.{16 + i // 256}.{i % 256}.0/24" for i in range(WIDE_PEER_IPS)]
        many.append({"public_key": random_key(), "allowed_ips": wide + ["fd55::/48"]})
        cls.many = many

    @classmethod
    def _ns(cls, *argv, **kw):
        return run(["ip", "netns", "exec", cls.ns, *argv], **kw)

    @classmethod
    def _start_namespace_peer(cls):
        run(["ip", "netns", "add", cls.ns])
        cls._ns("ip", "link", "set", "lo", "up")
        cls._ns("ip", "tuntap", "add", "dev", "tap0", "mode", "tap")
        cls._ns("ip", "addr", "add", f"{NS_NET}.1/24", "dev", "tap0")
        cls._ns("ip", "link", "set", "tap0", "up")
        log = open(cls.workdir / "wireguard-go.log", "wb")
        proc = subprocess.Popen(["ip", "netns", "exec", cls.ns, "wireguard-go", "-f", cls.ns_if],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        log.close()
        cls.procs.append(proc)
        sock = Path("/var/run/wireguard") / f"{cls.ns_if}.sock"
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        if not sock.exists():
            raise RuntimeError("wireguard-go did not create its socket:\n" +
                               (cls.workdir / "wireguard-go.log").read_text())
        cls._ns("wg", "set", cls.ns_if, "private-key", cls.workdir / "ns.key", "listen-port", PORT,
                "peer", cls.vm_public, "preshared-key", cls.workdir / "psk",
                "endpoint", f"{NS_NET}.2:{PORT}", "allowed-ips", f"{TUN_VM}/32")
        cls._ns("ip", "addr", "add", f"{TUN_NS}/24", "dev", cls.ns_if)
        cls._ns("ip", "link", "set", cls.ns_if, "up")

    @classmethod
    def _initramfs(cls):
        cache = os.environ.get("WARDGATE_QEMU_CACHE", str(REPO / "build" / "qemu-kernel"))
        tree = Path(run([QEMU_DIR / "fetch-kernel.sh", cache], timeout=600)
                    .stdout.strip().splitlines()[-1])
        cls.vmlinuz = next((tree / "boot").glob("vmlinuz-*"))
        base = cls.workdir / "base.cpio.gz"
        run([QEMU_DIR / "make-initramfs.sh", tree, base, wardgate_bin(), driver_bin(),
             shutil.which("wg")],
            timeout=120)
        test = cls.workdir / "vm" / "test"
        test.mkdir(parents=True)
        (test / "run.sh").write_text(VM_SCRIPT.replace("{vm_if}", VM_IF)
                                     .replace("{ns_net}", NS_NET).replace("{tun_vm}", TUN_VM)
                                     .replace("{tun_ns}", TUN_NS).replace("{port2}", "51999"))
        (test / "run.sh").chmod(0o755)
        (test / "wardgate.json").write_text(json.dumps(cls.config, indent=1))
        for name, text in (("vm.key", cls.vm_private), ("ns.psk", cls.psk)):
            (test / name).write_text(text + "\n")
            (test / name).chmod(0o600)
        (test / "many.json").write_text(json.dumps({"peers": cls.many}))
        (test / "peer2.pub").write_text(cls.peer2_public + "\n")
        (test / "peer2.psk").write_text(cls.peer2_psk + "\n")
        (test / "peer2.psk").chmod(0o600)
        files = subprocess.run(["find", "."], cwd=cls.workdir / "vm", capture_output=True,
                               check=True).stdout
        extra = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=cls.workdir / "vm",
                               input=files, capture_output=True, check=True).stdout
        # The uncompressed archive first: the kernel finds none after a compressed one.
        initrd = cls.workdir / "initrd"
        initrd.write_bytes(extra + base.read_bytes())
        return initrd

    @classmethod
    def _run_vm(cls):
        initrd = cls._initramfs()
        argv = ["ip", "netns", "exec", cls.ns, "qemu-system-x86_64", "-machine", "accel=tcg",
                "-m", "512", "-smp", "1", "-display", "none", "-monitor", "none",
                "-serial", "stdio", "-no-reboot", "-kernel", str(cls.vmlinuz),
                "-initrd", str(initrd), "-append", "console=ttyS0 quiet loglevel=1 panic=-1",
                "-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
                "-device", "e1000,netdev=n0"]
        boot = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        cls.procs.append(proc)
        lines = []
        reader = threading.Thread(target=cls._read_lines, args=(proc, lines), daemon=True)
        reader.start()
        deadline = time.monotonic() + 240
        while "==READY==" not in lines and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        cls.vm_ready_s = time.monotonic() - boot
        if "==READY==" in lines:
            # Across the tunnel from the namespace's side, while the VM waits.
            cls.ping_from_ns = cls._ns("ping", "-c", "3", "-W", "5", TUN_VM, check=False)
            cls.ns_dump = parse_dump(cls._ns("wg", "show", cls.ns_if, "dump").stdout)
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
        try:
            proc.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        reader.join(timeout=10)
        cls.vm_total_s = time.monotonic() - boot
        cls.console = "\n".join(lines)
        (cls.workdir / "console.log").write_text(cls.console)
        cls.sections = {}
        for m in re.finditer(r"^==BEGIN (\S+)==\n(.*?)^==END \1 rc=(\d+)==$", cls.console,
                             re.S | re.M):
            cls.sections[m.group(1)] = (int(m.group(3)), m.group(2))
        print(f"\nqemu kernel test: VM ready after {cls.vm_ready_s:.1f} s, "
              f"done after {cls.vm_total_s:.1f} s", flush=True)

    @staticmethod
    def _read_lines(proc, lines):
        for raw in proc.stdout:
            lines.append(raw.decode(errors="replace").rstrip("\r\n"))

    @classmethod
    def _cleanup(cls):
        for proc in reversed(cls.procs):
            for stream in (proc.stdin, proc.stdout):
                if stream:
                    stream.close()
            if proc.poll() is None:
                os.kill(proc.pid, 15)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, 9)
                    proc.wait(timeout=5)
        cls.procs = []
        run(["ip", "netns", "del", cls.ns], check=False)
        shutil.rmtree(cls.workdir, ignore_errors=True)

    # -- checks ---------------------------------------------------------------------------------
    def section(self, name, rc=0):
        self.assertIn(name, self.sections, f"VM never ran {name}; console:\n{self.console[-4000:]}")
        got_rc, text = self.sections[name]
        if rc is not None:
            self.assertEqual(got_rc, rc, f"{name} exited {got_rc}:\n{text}")
        return text

    def status(self, name):
        return json.loads(self.section(name))

    def test_wardgate_brings_the_tunnel_up_on_the_kernel_backend(self):
        self.assertEqual(json.loads(self.section("available")), {"available": True, "why": ""})
        log = self.section("up-log")
        self.assertIn(" ready: tunnel", log)
        # "auto" finds the kernel's wireguard family (wireguard-go is not even in the VM).
        self.assertIn("backend kernel (auto: the kernel has the wireguard link type)", log)
        self.assertNotIn(self.vm_private, log)
        status = self.status("status")
        self.assertEqual((status["interface"], status["backend"]), (VM_IF, "kernel"))

    def test_handshake_and_ping_both_ways(self):
        ping = self.section("ping")
        self.assertRegex(ping, r"3 packets transmitted, 3 packets received")
        self.assertEqual(self.ping_from_ns.returncode, 0, self.ping_from_ns.stdout)
        self.assertIn("3 received", self.ping_from_ns.stdout)
        peer = self.ns_dump["peers"][self.vm_public]
        self.assertGreater(peer["latest_handshake"], 0)
        self.assertEqual(peer["endpoint"], f"{NS_NET}.2:{PORT}")

    def test_wg_dump_shows_what_wardgate_was_told(self):
        dump = parse_dump(self.section("dump"))
        self.assertEqual(dump["private_key"], self.vm_private)
        self.assertEqual(dump["public_key"], self.vm_public)
        self.assertEqual(dump["listen_port"], PORT)
        self.assertEqual(dump["fwmark"], 7)
        told = self.tunnel["peers"][0]
        self.assertEqual(list(dump["peers"]), [told["public_key"]])
        peer = dump["peers"][told["public_key"]]
        self.assertEqual(peer["preshared_key"], self.psk)
        self.assertEqual(peer["endpoint"], told["endpoint"])
        self.assertEqual(peer["allowed_ips"], told["allowed_ips"])
        self.assertEqual(peer["keepalive"], 25)
        self.assertGreater(peer["latest_handshake"], 0)

    def test_wardgate_status_matches_wg_dump(self):
        dump = parse_dump(self.section("dump"))
        status = self.status("status")
        self.assertNotIn(self.vm_private, self.section("status"))
        self.assertEqual(status["public_key"], dump["public_key"])
        self.assertEqual((status["listen_port"], status["fwmark"]), (PORT, 7))
        (peer,) = status["peers"]
        want = dump["peers"][peer["public_key"]]
        self.assertEqual(peer["name"], "namespace")
        self.assertTrue(peer["has_preshared_key"])
        self.assertEqual(peer["endpoint"], want["endpoint"])
        self.assertEqual(peer["allowed_ips"], want["allowed_ips"])
        self.assertEqual(peer["persistent_keepalive_s"], want["keepalive"])
        self.assertEqual(peer["last_handshake_unix"], want["latest_handshake"])
        # status ran just after the dump: the counters only grew (keepalives), and the ping's
        # bytes are in them.
        self.assertGreaterEqual(peer["rx_bytes"], want["rx"])
        self.assertGreaterEqual(peer["tx_bytes"], want["tx"])
        self.assertGreater(want["rx"], 3 * 84)

    def test_wardgate_reads_back_what_wg_set_configured(self):
        self.section("wg-set")
        status = self.status("status-after-wg-set")
        peers = {p["public_key"]: p for p in status["peers"]}
        self.assertEqual(set(peers), {self.ns_public, self.peer2_public})
        peer2 = peers[self.peer2_public]
        self.assertEqual(peer2["name"], "(not configured)")
        self.assertTrue(peer2["has_preshared_key"])
        self.assertEqual(peer2["endpoint"], "[fd00::9]:1234")
        self.assertEqual(peer2["persistent_keepalive_s"], 7)
        self.assertEqual(peer2["allowed_ips"], ["10.99.0.0/16", "fd99::/64"])
        self.assertEqual(peer2["last_handshake_unix"], 0)

    def test_sigterm_takes_the_link_down(self):
        self.assertIn("==UP-EXIT rc=0==", self.console)
        self.assertEqual(json.loads(self.section("alive-after-down", rc=1)), {"alive": False})

    def test_create_reuses_a_wireguard_link_and_refuses_another_kind(self):
        self.section("create")
        self.section("create-again")
        self.assertIn("link eth0 exists and is not a wireguard link", self.section("create-other-kind", rc=1))

    def test_many_peers_are_split_and_merged_against_the_kernel(self):
        self.section("many-peers")
        dump = parse_dump(self.section("many-dump"))
        got = json.loads(self.section("many-get"))
        self.assertEqual(len(dump["peers"]), EXTRA_PEERS + 1)
        self.assertEqual(len(got["peers"]), len(dump["peers"]))
        self.assertEqual(len({p["public_key"] for p in got["peers"]}), len(got["peers"]))
        for told in self.many:
            shown = dump["peers"][told["public_key"]]
            self.assertEqual(shown["endpoint"], told.get("endpoint"))
            self.assertEqual(sorted(shown["allowed_ips"]), sorted(told["allowed_ips"]))
        for peer in got["peers"]:
            shown = dump["peers"][peer["public_key"]]
            self.assertEqual(peer["endpoint"], shown["endpoint"])
            self.assertEqual(sorted(peer["allowed_ips"]), sorted(shown["allowed_ips"]))
        self.assertEqual(max(len(p["allowed_ips"]) for p in got["peers"]), WIDE_PEER_IPS + 1)

    def test_destroy_removes_the_link(self):
        self.section("destroy")
        self.assertEqual(json.loads(self.section("alive-after-destroy", rc=1)), {"alive": False})


if __name__ == "__main__":
    unittest.main()
