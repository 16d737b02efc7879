"""tunnel_lab: the lab of labkit with the core network behind a WireGuard concentrator.

`wardgate-lab up --tunnel` builds the topology: the appliance (NAME-gw) reaches the concentrator
(NAME-conc) over an underlay link only, and PACS and the HL7 engine hang off the concentrator's
core bridge, so whatever reaches them from the VLAN went through the tunnel. This module adds the
WireGuard part: the concentrator's keys, and its wireguard-go configured with `wg setconf` from the
[Peer] block that `wardgate tunnel export --peer-block` prints, as the hospital's administrator
would paste it. Interface names carry the lab's index because wireguard-go's socket directory is
shared by all namespaces.
"""

import json
import subprocess
from pathlib import Path

from labkit import Lab, wait_for, wardgate_bin


class TunnelLab(Lab):
    def __init__(self, name, index=None):
        super().__init__(name, index)
        k = int(self.vlan_net.split(".")[1]) - 110
        self.k = k
        self.underlay_net = f"10.{110 + k}.3"
        self.tunnel_net = f"10.{110 + k}.4"
        self.appliance_if = f"wga{k}"
        self.conc_if = f"wgc{k}"
        self.conc_port = 51820
        self.conc_private_key = None
        self.conc_public_key = None

    # -- topology -------------------------------------------------------------------------
    def topology_args(self):
        return ["--tunnel", "--underlay-net", self.underlay_net]

    def up(self):
        super().up()
        self.conc_private_key = self.wg(["genkey"]).strip()
        self.conc_public_key = self.wg(["pubkey"], input=self.conc_private_key).strip()
        return self

    def _sh(self, role, command):
        subprocess.run(["ip", "netns", "exec", self.ns(role), *command.split()], check=True,
                       capture_output=True, timeout=30)

    def wg(self, args, input=None, role=None):
        argv = ["wg", *args]
        if role is not None:
            argv = ["ip", "netns", "exec", self.ns(role), *argv]
        return subprocess.run(argv, check=True, capture_output=True, text=True, input=input,
                              timeout=30).stdout

    # -- wardgate's side ------------------------------------------------------------------
    def tunnel_section(self, **overrides):
        section = {
            "interface": self.appliance_if,
            "backend": "uapi",
            "private_key_file": str(self.workdir / "wg-private-key"),
            "listen_port": 51820,
            "addresses": [f"{self.tunnel_net}.2/32"],
            "advertised_networks": [f"{self.vlan_net}.0/24"],
            "peers": [{
                "name": "concentrator",
                "public_key": self.conc_public_key,
                "endpoint": f"{self.underlay_net}.2:{self.conc_port}",
                "persistent_keepalive_s": 5,
                "allowed_ips": [f"{self.core_net}.0/24", f"{self.tunnel_net}.1/32"],
            }],
            "monitor": {"interval_s": 1, "stale_after_s": 180},
        }
        section.update(overrides)
        return section

    def tunnel_config(self, plain_tcp=False, **tunnel_overrides):
        config = self.plain_tcp_config() if plain_tcp else self.wardgate_config()
        config["tunnel"] = self.tunnel_section(**tunnel_overrides)
        return config

    def wardgate_cli(self, args, config_path, check=True):
        result = subprocess.run([wardgate_bin(), *args, "--config", str(config_path)],
                                capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise RuntimeError(f"wardgate {args} exited {result.returncode}: {result.stderr}")
        return result

    def peer_block(self, config_path):
        """What the concentrator's administrator pastes: wardgate tunnel export --peer-block."""
        return self.wardgate_cli(["tunnel", "export", "--peer-block"], config_path).stdout

    # -- the concentrator -----------------------------------------------------------------
    def start_concentrator(self, peer_block, port=None, log_level="error"):
        """wireguard-go in the concentrator namespace, configured with wg setconf from its own
        [Interface] and the appliances' exported [Peer] blocks (one after the other in
        peer_block); routes concentrator_routes() into the tunnel."""
        if port is not None:
            self.conc_port = port
        conf = self.workdir / "concentrator.conf"
        conf.write_text(f"[Interface]\nPrivateKey = {self.conc_private_key}\n"
                        f"ListenPort = {self.conc_port}\n\n{peer_block}")
        conf.chmod(0o600)
        proc = self.start("conc", ["wireguard-go", "-f", self.conc_if],
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LOG_LEVEL": log_level})
        sock = Path(f"/var/run/wireguard/{self.conc_if}.sock")
        if not wait_for(sock.exists, 10):
            raise RuntimeError(f"concentrator's wireguard-go did not start:\n{proc.log()}")
        self.wg(["setconf", self.conc_if, str(conf)], role="conc")
        self._sh("conc", f"ip addr replace {self.tunnel_net}.1/24 dev {self.conc_if}")
        self._sh("conc", f"ip link set {self.conc_if} mtu 1420 up")
        for network in self.concentrator_routes():
            self._sh("conc", f"ip route replace {network} dev {self.conc_if}")
        return proc

    def concentrator_routes(self):
        """The networks the concentrator routes into its interface (wg picks the peer by its
        AllowedIPs): the appliance's VLAN here; a lab with several appliances lists theirs."""
        return [f"{self.vlan_net}.0/24"]

    def conc_dump(self):
        """wg show dump of the concentrator: {public_key: {endpoint, handshake, rx, tx}}."""
        lines = self.wg(["show", self.conc_if, "dump"], role="conc").splitlines()[1:]
        out = {}
        for line in lines:
            f = line.split("\t")
            out[f[0]] = {"endpoint": f[2], "allowed_ips": f[3], "handshake": int(f[4]),
                         "rx": int(f[5]), "tx": int(f[6])}
        return out

    def status(self, config_path):
        return json.loads(self.wardgate_cli(["tunnel", "status", "--json"], config_path).stdout)
