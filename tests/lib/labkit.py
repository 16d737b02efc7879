"""labkit: the network-namespace lab for wardgate's integration tests and benchmarks.

A Lab brings up the topology of lab/wardgate-lab under its own name and address ranges, starts
processes inside its namespaces (wardgate, DCMTK peers, MLLP peers, iperf3), remembers every PID
it started and stops each of them by PID, then removes the namespaces. Traffic stays inside the
namespaces the lab created.

    with Lab("itest") as lab:
        wg = lab.start_wardgate()
        lab.start("pacs", ["storescp", "-dhl", "-od", out, "104"], ready_port=104)
        lab.run("ct", ["storescu", lab.ip("pacs"), "104", *files])
"""

import hashlib
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import unittest
import uuid
import zlib
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB_SCRIPT = REPO / "lab" / "wardgate-lab"
BASE_CONFIG = REPO / "lab" / "wardgate.json"
CT_STUDY_UID = "2.25.329800735698586629295641978511506172918.1"  # fixed by make-ct-study


def wardgate_bin():
    return os.environ.get("WARDGATE_BIN", str(REPO / "build" / "release" / "wardgate"))


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def split_part10(path):
    """(file meta information bytes, data set bytes) of a DICOM Part 10 file.

    Only the data set travels over the network (PS3.7); the File Meta Information (group 0002)
    is written by whoever stores the file (storescp puts its own implementation version and the
    sender's AE title there), so "byte-identical" is a statement about the data set."""
    data = Path(path).read_bytes()
    if data[128:132] != b"DICM":
        raise ValueError(f"{path}: no DICM prefix")
    tag, vr = data[132:136], data[136:138]
    if tag != b"\x02\x00\x00\x00" or vr != b"UL":
        raise ValueError(f"{path}: file meta information does not start with its group length")
    (group_length,) = struct.unpack("<I", data[140:144])
    end = 144 + group_length
    return data[:end], data[end:]


def dataset_sha256(path):
    return hashlib.sha256(split_part10(path)[1]).hexdigest()


# The text of stored_events()'s barrier notes.
BARRIER_PREFIX = "test barrier "


def is_barrier(record):
    """A note of stored_events()'s, not something a test looks at."""
    return (record["action"] == "operator-note"
            and record["fields"].get("text", "").startswith(BARRIER_PREFIX))


def wait_for(predicate, timeout, interval=0.05):
    """Polls predicate until it is true or timeout seconds passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def utc_now():
    """Now as `wardgate audit dump --from` takes it."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def audit_records(store, category=None, action=None, device=None, since=None):
    """The records of a durable audit store (`wardgate audit dump`, read-only while wardgate
    writes), each the canonical event {"time", "device", "category", "action", "fields", ...};
    since: only those at or after this utc_now()."""
    argv = [wardgate_bin(), "audit", "dump", "--store", str(store)]
    for flag, value in (("--category", category), ("--action", action), ("--device", device),
                        ("--from", since)):
        if value is not None:
            argv += [flag, value]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        if not Path(store).exists():
            return []
        raise RuntimeError(f"audit dump of {store} exited {result.returncode}: {result.stderr}")
    return [json.loads(line)["record"] for line in result.stdout.splitlines() if line.strip()]


class Proc:
    """A process the lab started: its Popen, its log file and its role."""

    def __init__(self, popen, log_path, role, argv):
        self.popen = popen
        self.log_path = log_path
        self.role = role
        self.argv = argv

    @property
    def pid(self):
        return self.popen.pid

    def log(self):
        try:
            return Path(self.log_path).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def running(self):
        return self.popen.poll() is None

    def wait_log(self, text, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            if not self.running():
                break
            time.sleep(0.05)
        return text in self.log()

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Stops the process by its PID; returns its exit status."""
        if self.popen.poll() is None:
            try:
                os.kill(self.popen.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
        return self.popen.returncode


class Lab:
    def __init__(self, name, index=None):
        # Distinct /24s per lab name, so labs of different tests never share addresses.
        k = index if index is not None else zlib.crc32(name.encode()) % 100
        self.name = name
        self.vlan_net = f"10.{110 + k}.1"
        self.core_net = f"10.{110 + k}.2"
        self.env = {}
        self.procs = []
        self.workdir = Path(tempfile.mkdtemp(prefix=f"wardgate-{name}-"))

    # -- topology -------------------------------------------------------------------------
    def _script(self, *args, check=True):
        cmd = [str(LAB_SCRIPT), *args, "--name", self.name]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=60)

    def topology_args(self):
        """Extra arguments of `wardgate-lab up` (a subclass may build another topology)."""
        return []

    def up(self):
        self._script("up", "--replace", "--vlan-net", self.vlan_net, "--core-net", self.core_net,
                     *self.topology_args())
        out = self._script("status", "--env").stdout
        for line in out.splitlines():
            key, _, value = line.partition("=")
            self.env[key.removeprefix("WARDGATE_LAB_")] = value
        return self

    def down(self):
        self.stop_all()
        self._script("down", check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.up()

    def __exit__(self, *exc):
        self.down()
        return False

    def ns(self, role):
        return self.env[f"NS_{role.upper()}"]

    def ip(self, role):
        return self.env[f"IP_{role.upper()}"]

    # -- processes ------------------------------------------------------------------------
    def _argv(self, role, argv):
        return ["ip", "netns", "exec", self.ns(role), *map(str, argv)]

    def start(self, role, argv, ready_port=None, ready_text=None, timeout=10.0, env=None):
        """Starts argv in the role's namespace; waits until it listens on ready_port (TCP) or
        prints ready_text."""
        log_path = self.workdir / f"{role}-{len(self.procs)}-{Path(str(argv[0])).name}.log"
        log = open(log_path, "wb")
        popen = subprocess.Popen(self._argv(role, argv), stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        log.close()
        proc = Proc(popen, log_path, role, argv)
        self.procs.append(proc)
        if ready_port is not None and not self.wait_listening(role, ready_port, timeout):
            raise RuntimeError(f"{argv[0]} in {role} not listening on {ready_port}:\n{proc.log()}")
        if ready_text is not None and not proc.wait_log(ready_text, timeout):
            raise RuntimeError(f"{argv[0]} in {role} did not print {ready_text!r}:\n{proc.log()}")
        return proc

    def run(self, role, argv, timeout=120, check=True, input=None):
        """Runs argv to completion in the role's namespace."""
        result = subprocess.run(self._argv(role, argv), capture_output=True, timeout=timeout,
                                input=input)
        if check and result.returncode != 0:
            raise RuntimeError(f"{argv} in {role} exited {result.returncode}:\n"
                               f"{result.stdout.decode(errors='replace')}\n"
                               f"{result.stderr.decode(errors='replace')}")
        return result

    def wait_listening(self, role, port, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.run(role, ["ss", "-Htln", f"sport = :{port}"], check=False).stdout
            if out.strip():
                return True
            time.sleep(0.05)
        return False

    def stop_all(self):
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()

    def make_ct_study(self, count, name="study"):
        """tests/tools/make-ct-study into the lab's workdir: COUNT reproducible 512 x 512 CT
        images of one study (its Study Instance UID is CT_STUDY_UID); returns the sorted files."""
        folder = self.workdir / name
        subprocess.run([str(REPO / "tests" / "tools" / "make-ct-study"), str(folder), str(count)],
                       check=True, capture_output=True, timeout=120)
        files = sorted(folder.glob("*.dcm"))
        if len(files) != count:
            raise RuntimeError(f"make-ct-study wrote {len(files)} of {count} images in {folder}")
        return files

    # -- wardgate -------------------------------------------------------------------------
    def wardgate_config(self, **overrides):
        """lab/wardgate.json made this lab's: its device addresses (10.1.1.x) moved into this
        lab's VLAN net, an audit secret, store and signing key of the lab's own, then top-level
        sections merged from overrides."""
        config = json.loads(BASE_CONFIG.read_text())
        config.setdefault("audit", {})["secret_file"] = str(self.workdir / "audit-secret")
        config["audit"].setdefault("store", {}).update({
            "path": str(self.workdir / "audit.db"),
            "signing_key_file": str(self.workdir / "audit-signing-key")})
        for section, values in overrides.items():
            if isinstance(values, dict) and isinstance(config.get(section), dict):
                config[section].update(values)
            else:
                config[section] = values
        for device in config.get("devices", []):
            device["address"] = re.sub(r"^10\.1\.1\.", self.vlan_net + ".", device["address"])
        return config

    def plain_tcp_config(self, **overrides):
        """The lab's configuration with every service relayed as plain TCP (byte counting, no
        decoder): for peers that speak no DICOM or HL7 (echo servers, iperf3)."""
        config = self.wardgate_config(**overrides)
        for service in config["interception"]["services"]:
            service["protocol"] = "tcp"
        return config

    def write_config(self, config, name="wardgate.json"):
        path = self.workdir / name
        path.write_text(json.dumps(config, indent=2))
        return path

    def start_wardgate(self, config=None, timeout=10.0):
        config = config or self.wardgate_config()
        path = self.write_config(config)
        self.running_config = (path, config)
        return self.start("gw", [wardgate_bin(), "run", "--config", path],
                          ready_text=" ready: ", timeout=timeout)

    def stored_events(self, timeout=30.0, barrier=True):
        """Every record of the running wardgate's durable audit store, in the order written, once
        everything wardgate emitted before this call is in it: an operator note (`wardgate audit
        note`) goes through the same writer after those events, so when the note is in the store,
        they are too. The barrier notes themselves are left out. barrier=False: the store as it
        is (for a wardgate that has exited, which wrote everything before it did)."""
        path, config = self.running_config
        store = config["audit"]["store"]["path"]
        if not barrier:
            return [r for r in audit_records(store) if not is_barrier(r)]
        text = f"{BARRIER_PREFIX}{uuid.uuid4()}"
        subprocess.run([wardgate_bin(), "audit", "note", "--config", str(path), "--text", text],
                       check=True, capture_output=True, timeout=30)
        records = []

        def noted():
            records[:] = audit_records(store)
            return any(r["action"] == "operator-note" and r["fields"].get("text") == text
                       for r in records)

        if not wait_for(noted, timeout, interval=0.1):
            raise AssertionError(f"wardgate did not record the audit note {text!r} within "
                                 f"{timeout} s: is it running and writing {store}?")
        return [r for r in records if not is_barrier(r)]


class LabTestCase(unittest.TestCase):
    """A test class with one lab for all its tests: built in setUpClass (removed again if the set-up
    fails), removed in tearDownClass. Subclasses name it (lab_name), may choose its class
    (lab_class) and add their own set-up in set_up_lab(lab)."""
    lab_class = None  # default: Lab
    lab_name = None
    lab = None

    @classmethod
    def set_up_lab(cls, lab):
        pass

    @classmethod
    def setUpClass(cls):
        cls.lab = (cls.lab_class or Lab)(cls.lab_name)
        try:
            cls.lab.up()
            cls.set_up_lab(cls.lab)
        except BaseException:
            cls.lab.down()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.lab.down()
