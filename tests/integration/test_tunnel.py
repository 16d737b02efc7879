"""The WireGuard tunnel to the concentrator (issue 6), with the UAPI backend: wardgate starts and
supervises wireguard-go on the appliance; the concentrator is a separate wireguard-go configured
with `wg setconf` from the [Peer] block that `wardgate tunnel export --peer-block` prints, the way
the hospital's administrator would paste it. The appliance has no route into the core except the
tunnel (`wardgate-lab up --tunnel`, tests/lib/tunnel_lab.py), so every byte PACS and the HL7
engine see came through it.

What the network engineer checks:
- the tunnel handshakes, and DICOM (storescu -> storescp) and HL7 (mllp_send -> an ACK server)
  work end to end through wardgate's proxy and the tunnel, with their audit events;
- `wg show` on the appliance's interface shows exactly what wardgate was configured with;
- the concentrator's endpoint moves and traffic continues, with an endpoint-changed event;
- a wrong concentrator key never handshakes and is reported (stale, in the audit trail);
- a key rotation during a running C-STORE keeps the transfer alive;
- the concentrator restarts: the interruption and the recovery are events;
- wireguard-go dies: wardgate restarts it, with backend-failed / backend-recovered events;
- a peer somebody adds behind wardgate's back is an alert.
"""

import json
import os
import subprocess
import time
import unittest

from labkit import REPO, LabTestCase, dataset_sha256, wait_for, wardgate_bin
from tunnel_lab import TunnelLab

PY = "/usr/bin/python3"


def events(proc, action=None):
    """The tunnel audit events wardgate mirrored to its log (audit.log = stderr)."""
    out = []
    for line in proc.log().splitlines():
        if not line.startswith("{"):
            continue
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("category") == "tunnel" and (action is None or e["action"] == action):
            out.append(e)
    return out


class TunnelTests(LabTestCase):
    lab_class = TunnelLab
    lab_name = "itwg"

    @classmethod
    def set_up_lab(cls, lab):
        cls.study = lab.make_ct_study(60)

    def setUp(self):
        lab = self.lab
        self.out = lab.workdir / f"pacs-{self._testMethodName}"
        self.out.mkdir()
        key = lab.workdir / "wg-private-key"
        if key.exists():
            key.unlink()

    def tearDown(self):
        self.lab.stop_all()

    # -- helpers --------------------------------------------------------------------------
    def start(self, config=None, **tunnel_overrides):
        """wardgate with the tunnel, then the concentrator from wardgate's exported block."""
        lab = self.lab
        config = config or lab.tunnel_config(**tunnel_overrides)
        self.config_path = lab.write_config(config)
        self.block = lab.peer_block(self.config_path)
        self.concentrator = lab.start_concentrator(self.block)
        self.wardgate = lab.start_wardgate(config)
        return self.wardgate

    def wait_handshake(self, timeout=20):
        return wait_for(lambda: any(p["handshake"] > 0 for p in self.lab.conc_dump().values()),
                        timeout, 0.2)

    def start_pacs(self):
        return self.lab.start("pacs", ["storescp", "-dhl", "+B", "-od", self.out, "104"],
                              ready_port=104)

    def storescu(self, files, timeout=300):
        return self.lab.run("ct", ["storescu", "-nh", self.lab.ip("pacs"), "104", *files],
                            timeout=timeout, check=False)

    def assert_received(self, files):
        """PACS stored every data set byte for byte (storescp writes its own file meta)."""
        received = {dataset_sha256(p) for p in self.out.glob("*")}
        self.assertEqual(len(received), len(files))
        self.assertEqual(received, {dataset_sha256(p) for p in files})

    def wait_event(self, action, timeout, **fields):
        def found():
            return [e for e in events(self.wardgate, action)
                    if all(e["fields"].get(k) == v for k, v in fields.items())]
        wait_for(lambda: bool(found()), timeout, 0.2)
        return found()

    # -- tests ----------------------------------------------------------------------------
    def test_dicom_and_hl7_through_proxy_and_tunnel(self):
        lab = self.lab
        self.start()
        self.assertTrue(self.wait_handshake(), "no handshake with the concentrator")
        up = self.wait_event("up", 10, peer="concentrator")
        self.assertEqual(len(up), 1, events(self.wardgate))

        # DICOM: 20 CT images from the CT to PACS (behind the concentrator), byte for byte.
        self.start_pacs()
        files = self.study[:20]
        result = self.storescu(files)
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        self.assert_received(files)

        # HL7: the monitor's results to the engine behind the concentrator, all acknowledged.
        received = lab.workdir / f"hl7-{self._testMethodName}.jsonl"
        lab.start("hl7", [PY, REPO / "tests" / "peers" / "mllp_ack_server.py", "--port", "2575",
                           "--out", received, "--max-seconds", "300"],
                  ready_port=2575, ready_text="listening on")
        batch = lab.workdir / "oru.hl7"
        batch.write_bytes(b"".join(
            f"MSH|^~\\&|MONITOR|WARD3|HL7ENGINE|HOSPITAL|20261122080000||ORU^R01|T{i:05d}|P|2.5"
            f"\rPID|1||PID{i}^^^HOSPITAL^MR||Synthetic^Patient\rOBX|1|NM|8867-4^HR^LN||72|/min"
            f"|||||F\n".encode() for i in range(50)))
        result = lab.run("mon", ["mllp_send", "--loose", "--file", batch, "-p", "2575",
                                 lab.ip("hl7")], timeout=120, check=False)
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        self.assertEqual(result.stdout.count(b"MSA|AA|"), 50)
        self.assertTrue(wait_for(lambda: received.exists() and
                                 len(received.read_text().splitlines()) == 50, 10))

        # Both were inspected and audited by the proxy (the tunnel is below the proxy).
        log = self.wardgate.log()
        self.assertIn('"category":"dicom"', log)
        self.assertIn('"category":"hl7"', log)

        # The concentrator received at least the study's bytes from the appliance's peer.
        conc = lab.conc_dump()
        self.assertEqual(len(conc), 1)
        (appliance_key, peer), = conc.items()
        self.assertGreater(peer["rx"], sum(os.path.getsize(f) for f in files))
        self.assertEqual(peer["endpoint"], f"{lab.underlay_net}.1:51820")

        # `wg show` on the appliance's interface shows what wardgate configured.
        dump = lab.wg(["show", lab.appliance_if, "dump"], role="gw").splitlines()
        private, public, port, fwmark = dump[0].split("\t")
        key_file = (lab.workdir / "wg-private-key").read_text().strip()
        self.assertEqual(private, key_file)
        self.assertEqual(public, appliance_key)
        self.assertEqual(lab.wg(["pubkey"], input=key_file).strip(), public)
        self.assertEqual(port, "51820")
        self.assertEqual(fwmark, "off")
        self.assertEqual(len(dump), 2, dump)
        fields = dump[1].split("\t")
        self.assertEqual(fields[0], lab.conc_public_key)
        self.assertEqual(fields[1], "(none)")  # no preshared key configured
        self.assertEqual(fields[2], f"{lab.underlay_net}.2:51820")
        self.assertEqual(sorted(fields[3].split(",")),
                         sorted([f"{lab.core_net}.0/24", f"{lab.tunnel_net}.1/32"]))
        self.assertEqual(fields[7], "5")  # persistent keepalive
        mtu = lab.run("gw", ["cat", f"/sys/class/net/{lab.appliance_if}/mtu"]).stdout
        self.assertEqual(mtu.strip(), b"1420")
        routes = lab.run("gw", ["ip", "route", "show", "dev", lab.appliance_if]).stdout.decode()
        self.assertIn(f"{lab.core_net}.0/24", routes)
        clamp = lab.run("gw", ["nft", "list", "table", "inet", "wardgate_tunnel"]).stdout.decode()
        self.assertIn("maxseg size set 1380", clamp)

        # wardgate tunnel status agrees with wg.
        status = lab.status(self.config_path)
        self.assertEqual(status["backend"], "uapi")
        self.assertEqual(status["public_key"], public)
        (peer_status,) = status["peers"]
        self.assertEqual(peer_status["name"], "concentrator")
        self.assertEqual(peer_status["endpoint"], f"{lab.underlay_net}.2:51820")
        self.assertLess(peer_status["last_handshake_age_s"], 180)
        self.assertGreater(peer_status["tx_bytes"], 0)
        readable = lab.wardgate_cli(["tunnel", "status"], self.config_path).stdout
        self.assertIn("peer concentrator", readable)
        self.assertIn("backend: uapi", readable)
        self.assertNotIn(key_file, readable + json.dumps(status) + self.wardgate.log())

        # Stopped: the daemon, its interface and the clamping table are gone.
        self.wardgate.stop()
        gone = lab.run("gw", ["ip", "link", "show", lab.appliance_if], check=False)
        self.assertNotEqual(gone.returncode, 0)
        self.assertNotEqual(
            lab.run("gw", ["nft", "list", "table", "inet", "wardgate_tunnel"], check=False)
            .returncode, 0)

    def test_preshared_key(self):
        lab = self.lab
        psk_file = lab.workdir / "wg-psk"
        psk_file.write_text(lab.wg(["genpsk"]))
        psk_file.chmod(0o600)
        config = lab.tunnel_config()
        config["tunnel"]["peers"][0]["preshared_key_file"] = str(psk_file)
        self.start(config)
        # The exported block carries the preshared key for the concentrator ...
        self.assertIn(f"PresharedKey = {psk_file.read_text().strip()}", self.block)
        # ... both sides use it, and the tunnel carries traffic.
        self.assertTrue(self.wait_handshake())
        appliance = lab.wg(["show", lab.appliance_if, "dump"], role="gw").splitlines()[1]
        self.assertEqual(appliance.split("\t")[1], psk_file.read_text().strip())
        conc = lab.wg(["show", lab.conc_if, "dump"], role="conc").splitlines()[1]
        self.assertEqual(conc.split("\t")[1], psk_file.read_text().strip())
        self.start_pacs()
        result = lab.run("ct", ["echoscu", "-to", "5", lab.ip("pacs"), "104"], check=False)
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        self.assertTrue(lab.status(self.config_path)["peers"][0]["has_preshared_key"])
        # A group-readable preshared key file is refused with a clear error.
        psk_file.chmod(0o640)
        self.wardgate.stop()
        refused = lab.run("gw", [wardgate_bin(), "tunnel", "up", "--config", self.config_path],
                          check=False, timeout=30)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn(b"readable by group or others", refused.stderr + refused.stdout)

    def test_attaches_to_a_running_wireguard_go(self):
        lab = self.lab
        # Someone else runs the daemon (uapi.start: false); wardgate configures and watches it
        # and leaves it running when it stops.
        daemon = lab.start("gw", ["wireguard-go", "-f", lab.appliance_if],
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LOG_LEVEL": "error"})
        sock = f"/var/run/wireguard/{lab.appliance_if}.sock"
        self.assertTrue(wait_for(lambda: os.path.exists(sock), 10), daemon.log())
        self.start(uapi={"start": False})
        self.assertTrue(self.wait_handshake())
        self.assertIn("configured: uapi", self.wardgate.log())
        self.start_pacs()
        result = lab.run("ct", ["echoscu", "-to", "5", lab.ip("pacs"), "104"], check=False)
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        self.wardgate.stop()
        self.assertTrue(daemon.running(), "wardgate stopped a daemon it did not start")
        self.assertEqual(lab.run("gw", ["ip", "link", "show", lab.appliance_if],
                                 check=False).returncode, 0)
        daemon.stop()

    def test_concentrator_endpoint_moves(self):
        lab = self.lab
        self.start()
        self.assertTrue(self.wait_handshake())
        # The concentrator's endpoint moves (its public port changes, as when the NAT in front
        # of it rebinds) while the core keeps talking to the CT: its packets now come from the
        # new endpoint and the appliance follows (WireGuard roaming). The appliance's configured
        # endpoint is only where it starts.
        pinger = lab.start("pacs", ["ping", "-i", "0.2", "-c", "300", "-W", "1", lab.ip("ct")])
        self.assertTrue(wait_for(lambda: "bytes from" in pinger.log(), 10))
        lab.wg(["set", lab.conc_if, "listen-port", "51821"], role="conc")
        moved = self.wait_event("endpoint-changed", 15)
        self.assertTrue(moved, events(self.wardgate))
        self.assertEqual(moved[0]["fields"]["previous_endpoint"], f"{lab.underlay_net}.2:51820")
        self.assertEqual(moved[0]["fields"]["endpoint"], f"{lab.underlay_net}.2:51821")
        status = lab.status(self.config_path)
        self.assertEqual(status["peers"][0]["endpoint"], f"{lab.underlay_net}.2:51821")
        # Traffic continues after the move, both ways: the core's pings and a C-STORE.
        before = pinger.log().count("bytes from")
        self.assertTrue(wait_for(lambda: pinger.log().count("bytes from") > before + 5, 10))
        self.start_pacs()
        result = self.storescu(self.study[:5])
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        self.assert_received(self.study[:5])
        pinger.stop()

    def test_wrong_concentrator_key_never_handshakes_and_is_reported(self):
        lab = self.lab
        wrong = lab.wg(["pubkey"], input=lab.wg(["genkey"])).strip()
        config = lab.tunnel_config(monitor={"interval_s": 1, "stale_after_s": 3})
        config["tunnel"]["peers"][0]["public_key"] = wrong
        self.start(config)
        stale = self.wait_event("stale", 20, peer="concentrator")
        self.assertTrue(stale, events(self.wardgate))
        self.assertEqual(stale[0]["severity"], "alert")
        self.assertIn("never completed a handshake", stale[0]["fields"]["reason"])
        self.assertEqual(stale[0]["fields"]["handshake_age_s"], -1)
        self.assertFalse(events(self.wardgate, "up"))
        self.assertEqual(lab.status(self.config_path)["peers"][0]["last_handshake_age_s"], None)
        self.assertTrue(all(p["handshake"] == 0 for p in lab.conc_dump().values()))
        # Nothing reaches the core.
        self.start_pacs()
        result = lab.run("ct", ["echoscu", "-to", "3", lab.ip("pacs"), "104"], check=False)
        self.assertNotEqual(result.returncode, 0)

    def test_key_rotation_during_cstore_keeps_the_transfer(self):
        lab = self.lab
        self.start()
        self.assertTrue(self.wait_handshake())
        old_public = lab.status(self.config_path)["public_key"]
        self.start_pacs()
        files = self.study
        # The underlay limited to 40 Mbit/s, so the 30 MB study takes several seconds and the
        # switch happens in the middle of it whatever the machine's speed.
        lab._sh("gw", "tc qdisc add dev wan0 root tbf rate 40mbit burst 64kb latency 200ms")
        self.addCleanup(lab._sh, "gw", "tc qdisc del dev wan0 root")
        store = lab.start("ct", ["storescu", "-nh", lab.ip("pacs"), "104", *files])
        self.assertTrue(wait_for(lambda: len(list(self.out.glob("*"))) >= 5, 60, 0.05),
                        "the transfer did not start")
        # 1. a new key, its peer block for the concentrator's administrator
        prepared = lab.wardgate_cli(["tunnel", "rotate-key"], self.config_path).stdout
        new_public = prepared.split("new public key: ")[1].split()[0]
        self.assertNotEqual(new_public, old_public)
        self.assertIn(f"PublicKey = {new_public}", prepared)
        # 2. the concentrator takes the new key (its allowed IPs move to it) ...
        allowed = lab.conc_dump()[old_public]["allowed_ips"]
        lab.wg(["set", lab.conc_if, "peer", new_public, "allowed-ips", allowed], role="conc")
        lab.wg(["set", lab.conc_if, "peer", old_public, "remove"], role="conc")
        # 3. ... and the appliance switches at once.
        switched = lab.wardgate_cli(["tunnel", "rotate-key", "--commit"], self.config_path)
        self.assertIn(new_public, switched.stdout)
        self.assertTrue(store.running(), "the transfer ended before the switch: proves nothing")
        self.assertLess(len(list(self.out.glob("*"))), len(files))
        self.assertEqual(store.popen.wait(timeout=300), 0, store.log()[-2000:])
        self.assert_received(files)
        self.assertGreater(lab.conc_dump()[new_public]["handshake"], 0)
        self.assertEqual(lab.status(self.config_path)["public_key"], new_public)
        rotated = self.wait_event("key-rotated", 10)
        self.assertTrue(rotated, events(self.wardgate))
        self.assertEqual(rotated[0]["fields"]["previous_public_key"], old_public)
        self.assertEqual(rotated[0]["fields"]["public_key"], new_public)
        # The key file holds the new key, still 0600.
        key_file = lab.workdir / "wg-private-key"
        self.assertEqual(oct(key_file.stat().st_mode & 0o777), "0o600")
        self.assertEqual(lab.wg(["pubkey"], input=key_file.read_text()).strip(), new_public)

    def test_concentrator_restart_is_an_interruption_and_recovers(self):
        lab = self.lab
        self.start(monitor={"interval_s": 1, "stale_after_s": 180, "silence_after_s": 3})
        self.assertTrue(self.wait_handshake())
        self.wait_event("up", 10)
        pinger = lab.start("ct", ["ping", "-i", "0.2", "-c", "400", "-W", "1",
                                  f"{lab.core_net}.10"])
        time.sleep(1)
        self.concentrator.stop()
        interrupted = self.wait_event("interrupted", 20, peer="concentrator")
        self.assertTrue(interrupted, events(self.wardgate))
        self.assertEqual(interrupted[0]["severity"], "alert")
        self.concentrator = lab.start_concentrator(self.block)
        recovered = self.wait_event("up", 60, recovered=True)
        self.assertTrue(recovered, events(self.wardgate))
        # Pings answered again after the recovery.
        before = pinger.log().count("bytes from")
        self.assertTrue(wait_for(lambda: pinger.log().count("bytes from") > before + 5, 10))
        pinger.stop()

    def test_wireguard_go_dies_and_is_restarted(self):
        lab = self.lab
        self.start()
        self.assertTrue(self.wait_handshake())
        pids = lab.run("gw", ["pgrep", "-f", f"wireguard-go -f {lab.appliance_if}"]).stdout.split()
        self.assertEqual(len(pids), 1)
        os.kill(int(pids[0]), 9)
        failed = self.wait_event("backend-failed", 15)
        self.assertTrue(failed, events(self.wardgate))
        recovered = self.wait_event("backend-recovered", 30)
        self.assertTrue(recovered, events(self.wardgate))
        # Same key, same peer: the concentrator sees the appliance come back and traffic flows.
        self.start_pacs()
        self.assertTrue(wait_for(lambda: lab.run("ct", ["echoscu", "-to", "3", lab.ip("pacs"),
                                                        "104"], check=False).returncode == 0,
                                 40, 1))
        new_pids = lab.run("gw", ["pgrep", "-f",
                                  f"wireguard-go -f {lab.appliance_if}"]).stdout.split()
        self.assertEqual(len(new_pids), 1)
        self.assertNotEqual(new_pids, pids)

    def test_peer_added_behind_wardgates_back_is_an_alert(self):
        lab = self.lab
        self.start()
        self.wait_handshake()
        intruder = lab.wg(["pubkey"], input=lab.wg(["genkey"])).strip()
        lab.wg(["set", lab.appliance_if, "peer", intruder, "allowed-ips", "10.250.0.0/16"],
               role="gw")
        added = self.wait_event("peer-added", 10)
        self.assertTrue(added, events(self.wardgate))
        self.assertEqual(added[0]["fields"]["public_key"], intruder)
        self.assertIs(added[0]["fields"]["configured"], False)
        self.assertEqual(added[0]["severity"], "alert")

    def test_wg_quick_export_import_round_trip(self):
        lab = self.lab
        config = lab.tunnel_config()
        path = lab.write_config(config)
        exported = lab.wardgate_cli(["tunnel", "export", "--include-private-key"], path).stdout
        self.assertIn("[Interface]", exported)
        self.assertIn("MTU = 1420", exported)
        conf = lab.workdir / "exported.conf"
        conf.write_text(exported)
        key_out = lab.workdir / "imported-key"
        result = subprocess.run([wardgate_bin(), "tunnel", "import", str(conf),
                                 "--private-key-file", str(key_out), "--interface",
                                 lab.appliance_if], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        section = json.loads(result.stdout)["tunnel"]
        self.assertEqual(key_out.read_text(), (lab.workdir / "wg-private-key").read_text())
        self.assertEqual(oct(key_out.stat().st_mode & 0o777), "0o600")
        original = config["tunnel"]
        self.assertEqual(section["addresses"], original["addresses"])
        self.assertEqual(section["listen_port"], 51820)
        (peer,) = section["peers"]
        for key in ("name", "public_key", "endpoint", "persistent_keepalive_s", "allowed_ips"):
            self.assertEqual(peer[key], original["peers"][0][key], key)
        # Without --include-private-key the export holds no private key.
        public = lab.wardgate_cli(["tunnel", "export"], path).stdout
        self.assertNotIn("PrivateKey", public)
        self.assertNotIn(key_out.read_text().strip(), public)


if __name__ == "__main__":
    unittest.main()
