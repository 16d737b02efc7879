"""syslog_lab: a real rsyslog collector and a test PKI for the syslog exporter's tests.

Everything lives in one temporary directory: an openssl CA (openssl ca, so certificates can be
back-dated and revoked, CRLs dated at will and OCSP responses made for staples), optionally an
intermediate CA under it, the collector's and wardgate's certificates, an rsyslogd started with
its own configuration and pid file (never the system service) listening on loopback for TLS
(mutual authentication, StreamDriver.AuthMode x509/name, PermitExpiredCerts off), plain TCP and
UDP, each input written to its own file as the raw message, and an `openssl s_server` collector
for what rsyslog cannot do (TLS 1.0, OCSP stapling, session resumption). Every process started
here is stopped by its PID.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from labkit import wait_for  # noqa: F401 (used here and by importers of this module)

REPO = Path(__file__).resolve().parents[2]
CLIENT_NAME = "wardgate-client"
COLLECTOR_NAME = "collector.test"
BOM = "\ufeff"

CA_CONFIG = """
[ ca ]
default_ca = testca
[ testca ]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}/newcerts
certificate = {dir}/ca.pem
private_key = {dir}/ca.key
serial = {dir}/serial
crlnumber = {dir}/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 30
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
[ server_ext ]
subjectAltName = DNS:{san}
extendedKeyUsage = serverAuth
[ client_ext ]
subjectAltName = DNS:{client}
extendedKeyUsage = clientAuth
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def driver_bin():
    return os.environ.get("WARDGATE_SYSLOG_DRIVER",
                          str(REPO / "build" / "release" / "tests" / "integration" /
                              "syslog_export_driver"))


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Pki:
    """A CA in `dir` issuing collector and client certificates with openssl: a root CA, or an
    intermediate CA issued by `parent` (a Pki)."""

    def __init__(self, directory, parent=None, cn="wardgate test CA"):
        self.dir = Path(directory)
        (self.dir / "newcerts").mkdir(parents=True, exist_ok=True)
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text("1000\n")
        (self.dir / "crlnumber").write_text("1000\n")
        if parent is None:
            self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                          "-nodes", "-keyout", self.dir / "ca.key", "-out", self.dir / "ca.pem",
                          "-days", "3650", "-subj", f"/CN={cn}")
        else:
            cert, key = parent.issue(self.dir.name, cn, "ca_ext", days=3000)
            shutil.copy(cert, self.dir / "ca.pem")
            shutil.copy(key, self.dir / "ca.key")
        self.ca = self.dir / "ca.pem"

    def _openssl(self, *args):
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)

    def _config(self, san):
        path = self.dir / f"ca-{san}.cnf"
        path.write_text(CA_CONFIG.format(dir=self.dir, san=san, client=CLIENT_NAME))
        return path

    def issue(self, name, cn, kind, san=COLLECTOR_NAME, start=None, end=None, days=365,
              rsa=False):
        """Issues name.pem / name.key; kind "server_ext", "client_ext" or "ca_ext"; start/end as
        YYYYMMDDHHMMSSZ to back-date; rsa: an RSA key (TLS 1.0 RSA key transport) instead of
        P-256. Returns (cert path, key path)."""
        key = self.dir / f"{name}.key"
        csr = self.dir / f"{name}.csr"
        cert = self.dir / f"{name}.pem"
        keyopts = (["rsa:2048"] if rsa else ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        self._openssl("req", "-newkey", *keyopts, "-nodes",
                      "-keyout", key, "-out", csr, "-subj", f"/CN={cn}")
        args = ["ca", "-batch", "-notext", "-config", self._config(san), "-in", csr, "-out",
                cert, "-extensions", kind]
        if start and end:
            args += ["-startdate", start, "-enddate", end]
        else:
            args += ["-days", str(days)]
        self._openssl(*args)
        return cert, key

    def revoke(self, cert):
        self._openssl("ca", "-config", self._config(COLLECTOR_NAME), "-revoke", cert)

    def crl(self, out, last_update=None, next_update=None):
        """This CA's CRL of the certificates revoked so far; last/next_update as
        YYYYMMDDHHMMSSZ (an expired CRL), else valid for 30 days from now."""
        args = ["ca", "-gencrl", "-config", self._config(COLLECTOR_NAME), "-out", out]
        if last_update:
            args += ["-crl_lastupdate", last_update]
        if next_update:
            args += ["-crl_nextupdate", next_update]
        self._openssl(*args)
        return out

    def ocsp_response(self, cert, out, signer=None):
        """A DER OCSP response about `cert` (one this CA issued) saying what the CA's database
        says (good or revoked), signed by the CA or by `signer` (another Pki, to forge one):
        what a collector staples."""
        signer = signer or self
        self._openssl("ocsp", "-index", self.dir / "index.txt", "-CA", self.ca, "-rsigner",
                      signer.ca, "-rkey", signer.dir / "ca.key", "-issuer", self.ca, "-cert",
                      cert, "-ndays", "1", "-respout", out)
        return out

    def sha256(self, cert):
        out = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-fingerprint",
                              "-sha256"], check=True, capture_output=True, text=True).stdout
        return out.strip().split("=", 1)[1]


RSYSLOG_CONF = """
global(workDirectory="{dir}/work" maxMessageSize="64k"
       defaultNetstreamDriverCAFile="{ca}"
       defaultNetstreamDriverCertFile="{cert}"
       defaultNetstreamDriverKeyFile="{key}")
module(load="imtcp" maxSessions="200")
module(load="imudp")
template(name="raw" type="string" string="%rawmsg%\\n")
{tuning}
ruleset(name="tls") {{ action(type="omfile" file="{dir}/tls.log" template="raw"{omfile}) }}
ruleset(name="tcp") {{ action(type="omfile" file="{dir}/tcp.log" template="raw") }}
ruleset(name="udp") {{ action(type="omfile" file="{dir}/udp.log" template="raw") }}
input(type="imtcp" address="127.0.0.1" port="{tls_port}" ruleset="tls"
      streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="x509/name"
      streamDriver.permitExpiredCerts="off" permittedPeer=["{client}"]
      streamDriver.caFile="{ca}" streamDriver.certFile="{cert}" streamDriver.keyFile="{key}")
input(type="imtcp" address="127.0.0.1" port="{tcp_port}" ruleset="tcp")
input(type="imudp" address="127.0.0.1" port="{udp_port}" ruleset="udp" rcvbufSize="16m")
"""


class Collector:
    """rsyslogd with its own configuration, pid file and output files in `dir`."""

    # For the benchmark: a larger main queue batch and buffered file writes (flushed each second)
    # so that the collector, not only the exporter, keeps up on a small machine.
    TUNING = ('main_queue(queue.type="FixedArray" queue.size="200000" '
              'queue.dequeueBatchSize="2048")')
    OMFILE_TUNING = ' ioBufferSize="1m" asyncWriting="on" flushOnTXEnd="off" flushInterval="1"'

    def __init__(self, directory, pki, server_cert, server_key, tuned=False, netns=None):
        self.tuned = tuned
        # In a network namespace (e.g. a lab's appliance, to receive what wardgate exports).
        self.prefix = ["ip", "netns", "exec", netns] if netns else []
        self.dir = Path(directory)
        (self.dir / "work").mkdir(parents=True, exist_ok=True)
        self.pki = pki
        self.cert = server_cert
        self.key = server_key
        self.tls_port = free_port()
        self.tcp_port = free_port()
        self.udp_port = free_port(socket.SOCK_DGRAM)
        self.proc = None
        self.log = self.dir / "rsyslogd.out"

    def start(self):
        conf = self.dir / "rsyslog.conf"
        conf.write_text(RSYSLOG_CONF.format(dir=self.dir, ca=self.pki.ca, cert=self.cert,
                                            key=self.key, client=CLIENT_NAME,
                                            tls_port=self.tls_port, tcp_port=self.tcp_port,
                                            udp_port=self.udp_port,
                                            tuning=self.TUNING if self.tuned else "",
                                            omfile=self.OMFILE_TUNING if self.tuned else ""))
        pidfile = self.dir / "rsyslogd.pid"
        if pidfile.exists():
            pidfile.unlink()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [*self.prefix, "rsyslogd", "-n", "-f", str(conf), "-i", str(pidfile)],
                stdout=log, stderr=subprocess.STDOUT)
        ok = wait_for(lambda: self._listening(self.tls_port) and self._listening(self.tcp_port),
                      15)
        if not ok:
            self.stop()
            raise RuntimeError("rsyslogd did not start: " + self.log.read_text(errors="replace"))

    def _listening(self, port):
        if self.proc.poll() is not None:
            return False
        out = subprocess.run([*self.prefix, "ss", "-Htln", f"sport = :{port}"], capture_output=True,
                             text=True).stdout
        return str(port) in out

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def output(self, name):
        path = self.dir / f"{name}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


class OpensslCollector:
    """`openssl s_server` as a TLS collector, for what rsyslog 8.2302 cannot do: offer only TLS
    1.0, staple an OCSP response, offer session resumption (its default). Received records go
    to its output file; it does not ask for a client certificate. Stopped by its PID."""

    def __init__(self, directory, name="s_server"):
        self.dir = Path(directory)
        self.port = free_port()
        self.out = self.dir / f"{name}.out"
        self.proc = None

    def start(self, cert, key, *extra):
        with open(self.out, "ab") as out:
            # stdin stays open: its EOF would end the session.
            self.proc = subprocess.Popen(
                ["openssl", "s_server", "-accept", f"127.0.0.1:{self.port}", "-cert", str(cert),
                 "-key", str(key), *map(str, extra)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.PIPE)
        if not wait_for(self._listening, 10):
            self.stop()
            raise RuntimeError("s_server did not start: " + self.out.read_text(errors="replace"))
        return self

    def _listening(self):
        if self.proc.poll() is not None:
            return False
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def seqs(self):
        text = self.out.read_text(errors="replace") if self.out.exists() else ""
        return [int(m) for m in SEQ_RE.findall(text)]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc is not None:
            self.proc.stdin.close()
        self.proc = None


SEQ_RE = re.compile(r'\[wardgate@32473 seq="(\d+)"')
META_RE = re.compile(r'\[meta sequenceId="(\d+)"\]')


def parse_lines(text):
    """[(seq, sequenceId, message JSON or None, line)] of each received message."""
    out = []
    for line in text.splitlines():
        m = SEQ_RE.search(line)
        if not m:
            continue
        meta = META_RE.search(line)
        body = line.split(BOM, 1)[1] if BOM in line else None
        try:
            record = json.loads(body) if body and body.startswith("{") else None
        except ValueError:
            record = None
        out.append((int(m.group(1)), int(meta.group(1)) if meta else None, record, line))
    return out


def sequence_report(seqs, expected_last):
    """Checks at-least-once in order: every seq first appears right after the highest seen so
    far (a resend goes back, never skips ahead). Returns (missing, out_of_order, duplicates)."""
    seen = set()
    highest = 0
    out_of_order = 0
    duplicates = 0
    for s in seqs:
        if s in seen:
            duplicates += 1
            continue
        if s != highest + 1:
            out_of_order += 1
        seen.add(s)
        highest = max(highest, s)
    missing = [s for s in range(1, expected_last + 1) if s not in seen]
    return missing, out_of_order, duplicates


class Driver:
    """The syslog_export_driver: one exporter with an in-memory source."""

    def __init__(self, directory, name="collector"):
        self.dir = Path(directory)
        self.name = name
        self.cursor_dir = self.dir / f"cursors-{name}"
        self.status_path = self.dir / f"status-{name}.json"
        self.events_path = self.dir / f"events-{name}.jsonl"
        self.proc = None
        self.log = self.dir / f"driver-{name}.out"

    def start(self, transport, port, count, rate=0, tls=None, extra=()):
        argv = [driver_bin(), "--transport", transport, "--host", "127.0.0.1", "--port",
                str(port), "--count", str(count), "--rate", str(rate), "--cursor-dir",
                str(self.cursor_dir), "--name", self.name, "--status", str(self.status_path),
                "--events", str(self.events_path), *extra]
        if tls:
            argv += ["--cert", str(tls["cert"]), "--key", str(tls["key"]), "--ca",
                     str(tls["ca"]), "--server-name", tls.get("server_name", COLLECTOR_NAME)]
            if tls.get("crl"):
                argv += ["--crl", str(tls["crl"])]
            if tls.get("pin"):
                argv += ["--pin", tls["pin"]]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        return self

    def status(self):
        try:
            return json.loads(self.status_path.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def wait_done(self, count, timeout):
        return wait_for(lambda: self.status().get("cursor", 0) >= count, timeout, 0.1)

    def events(self):
        if not self.events_path.exists():
            return []
        return [json.loads(l) for l in self.events_path.read_text().splitlines() if l.strip()]

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None


def make_lab(tuned=False, netns=None):
    """(tmpdir, pki, collector with a valid server certificate, client tls dict)."""
    tmp = Path(tempfile.mkdtemp(prefix="wardgate-syslog-"))
    pki = Pki(tmp / "pki")
    server_cert, server_key = pki.issue("server", COLLECTOR_NAME, "server_ext")
    client_cert, client_key = pki.issue("client", CLIENT_NAME, "client_ext")
    collector = Collector(tmp / "collector", pki, server_cert, server_key, tuned, netns)
    tls = {"cert": client_cert, "key": client_key, "ca": pki.ca}
    return tmp, pki, collector, tls
