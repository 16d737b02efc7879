#!/usr/bin/env bash
# The demo: brings the lab up with the core behind a WireGuard concentrator, starts wardgate in
# the appliance namespace (it brings the tunnel up), the concentrator (wireguard-go configured
# from the [Peer] block wardgate exports), a PACS (storescp) and an HL7 engine on the core side,
# then sends a CT study from the CT modality and vitals from the patient monitor through wardgate
# and the tunnel, and shows what wardgate saw. Everything keeps running until
# `make demo-stop` (scripts/demo.sh stop).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${WARDGATE_BUILD:-$repo/build/release}
lab="$repo/lab/wardgate-lab"
state=/run/wardgate-demo
name=${WARDGATE_LAB_NAME:-wlab}
export WARDGATE_LAB_NAME=$name

stop_demo() {
  if [[ -d $state ]]; then
    for pidfile in "$state"/*.pid; do
      [[ -e $pidfile ]] || continue
      pid=$(cat "$pidfile")
      if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
      fi
      rm -f "$pidfile"
    done
  fi
  "$lab" down
  echo "demo stopped; the lab '$name' is down"
}

if [[ ${1:-} == stop ]]; then
  stop_demo
  exit 0
fi

[[ -x $build/wardgate ]] || { echo "demo: $build/wardgate not built (run make build)" >&2; exit 1; }
if [[ -d $state ]] && compgen -G "$state/*.pid" >/dev/null; then
  echo "demo: a demo seems to be running already; stopping it first"
  stop_demo
fi
mkdir -p "$state"
"$lab" up --replace --tunnel
set -a  # exported: the configuration below reads them
eval "$("$lab" status --env)"
set +a

# start ROLE NAME CMD...: runs CMD in the role's namespace in the background, records its PID.
start() {
  local ns=$1 tag=$2; shift 2
  ip netns exec "$ns" "$@" >"$state/$tag.log" 2>&1 &
  echo $! >"$state/$tag.pid"
}
wait_port() {  # wait_port NS PORT: bounded wait until something listens
  for _ in $(seq 100); do
    ip netns exec "$1" ss -Htln "sport = :$2" | grep -q . && return 0
    sleep 0.05
  done
  echo "demo: nothing listens on port $2 in $1" >&2
  return 1
}

echo; echo "== starting the PACS (storescp) on $WARDGATE_LAB_IP_PACS:104 and the HL7 engine on $WARDGATE_LAB_IP_HL7:2575"
rm -rf "$state/pacs-store"; mkdir -p "$state/pacs-store"
start "$WARDGATE_LAB_NS_PACS" storescp storescp -dhl -od "$state/pacs-store" 104
start "$WARDGATE_LAB_NS_HL7" hl7engine "$repo/tests/peers/mllp_ack_server.py" --port 2575 \
  --out "$state/hl7-received.jsonl"
wait_port "$WARDGATE_LAB_NS_PACS" 104
wait_port "$WARDGATE_LAB_NS_HL7" 2575

echo; echo "== starting wardgate in the appliance namespace $WARDGATE_LAB_NS_GW"
# The lab configuration, with the monitor's HL7 rules enforced (they are audit-only by default).
# Its audit store and signing key live in the demo's state directory.
# The tunnel: the appliance's key is made by wardgate; the concentrator's by wg.
(umask 077; wg genkey >"$state/conc-private-key")
conc_public=$(wg pubkey <"$state/conc-private-key")
/usr/bin/python3 - "$repo/lab/wardgate.json" "$state" "$conc_public" <<'PY'
import json, os, sys
config = json.load(open(sys.argv[1]))
state, conc_public = sys.argv[2], sys.argv[3]
env = os.environ
config["hl7"] = {"enforce": True}
# wardgate owns the VLAN's forwarding: default deny, fail closed, denied flows recorded.
vlan, core = env["WARDGATE_LAB_VLAN_NET"], env["WARDGATE_LAB_CORE_NET"]
config["gateway"] = {
    "vlan_prefix": vlan + ".0/24", "gateway_address": vlan + ".1",
    "core_networks": [core + ".0/24"], "unknown_devices": "deny",
    "pass_through": [{"name": "ping-gateway", "device_types": ["modality", "monitor"],
                      "protocol": "icmp", "destinations": ["gateway"]}]}
config["audit"]["store"] = {"path": state + "/audit.db",
                            "signing_key_file": state + "/audit-signing-key"}
config["tunnel"] = {
    "interface": "wgdemo0", "backend": "auto", "private_key_file": state + "/wg-private-key",
    "addresses": ["10.99.0.2/32"],
    "advertised_networks": [env["WARDGATE_LAB_VLAN_NET"] + ".0/24"],
    "peers": [{"name": "concentrator", "public_key": conc_public,
               "endpoint": env["WARDGATE_LAB_IP_CONC"] + ":51820",
               "allowed_ips": [env["WARDGATE_LAB_CORE_NET"] + ".0/24", "10.99.0.1/32"]}]}
json.dump(config, open(state + "/wardgate.json", "w"), indent=2)
PY

echo; echo "== the concentrator ($WARDGATE_LAB_IP_CONC) gets the appliance's [Peer] block from wardgate tunnel export"
"$build/wardgate" tunnel export --peer-block --config "$state/wardgate.json" >"$state/appliance-peer.conf"
sed 's/^/   /' "$state/appliance-peer.conf"
{ printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n\n' "$(cat "$state/conc-private-key")"
  cat "$state/appliance-peer.conf"; } >"$state/concentrator.conf"
chmod 600 "$state/concentrator.conf"
LOG_LEVEL=error start "$WARDGATE_LAB_NS_CONC" concentrator wireguard-go -f wgdemo1
for _ in $(seq 100); do [[ -S /var/run/wireguard/wgdemo1.sock ]] && break; sleep 0.05; done
ip netns exec "$WARDGATE_LAB_NS_CONC" wg setconf wgdemo1 "$state/concentrator.conf"
ip -n "$WARDGATE_LAB_NS_CONC" addr add 10.99.0.1/24 dev wgdemo1
ip -n "$WARDGATE_LAB_NS_CONC" link set wgdemo1 mtu 1420 up
ip -n "$WARDGATE_LAB_NS_CONC" route add "$WARDGATE_LAB_VLAN_NET.0/24" dev wgdemo1
start "$WARDGATE_LAB_NS_GW" wardgate "$build/wardgate" run --config "$state/wardgate.json"
for _ in $(seq 100); do grep -q " ready: " "$state/wardgate.log" && break; sleep 0.05; done
grep -q " ready: " "$state/wardgate.log" || { cat "$state/wardgate.log"; exit 1; }
grep -E "tunnel wgdemo0: (backend|up,)" "$state/wardgate.log" | sed 's/^/   /'
for _ in $(seq 100); do
  "$build/wardgate" tunnel status --json --config "$state/wardgate.json" 2>/dev/null |
    grep -q '"last_handshake_age_s": [0-9]' && break
  sleep 0.1
done

study="$repo/build/demo-data/ct-study"
if [[ ! -d $study ]] || (($(find "$study" -name '*.dcm' | wc -l) < 20)); then
  "$repo/tests/tools/make-ct-study" "$study" 20
fi
echo; echo "== the CT ($WARDGATE_LAB_IP_CT) sends 20 CT images to the PACS with storescu"
start_ns=$(date +%s.%N)
ip netns exec "$WARDGATE_LAB_NS_CT" storescu -aet CT01 -aec PACS "$WARDGATE_LAB_IP_PACS" 104 "$study"/*.dcm
end_ns=$(date +%s.%N)
awk -v a="$start_ns" -v b="$end_ns" -v n="$(find "$state/pacs-store" -type f | wc -l)" \
  'BEGIN { printf "   sent in %.3f s; the PACS stored %d files\n", b - a, n }'

echo; echo "== the patient monitor ($WARDGATE_LAB_IP_MON) sends 10 ORU^R01 vitals messages with mllp_send"
msgs="$state/vitals.hl7"
: >"$msgs"
for i in $(seq 1 10); do
  printf 'MSH|^~\\&|MONITOR|ICU|HL7ENGINE|HOSP|20261122120%02d||ORU^R01^ORU_R01|VITALS%04d|P|2.5\rPID|||DEMO%04d^^^HOSP^MR||Demo^Patient\rOBX|1|NM|8867-4^Heart rate^LN||%d|/min|||||F\n' \
    "$i" "$i" "$i" $((60 + i)) >>"$msgs"
done
ip netns exec "$WARDGATE_LAB_NS_MON" mllp_send --loose --file "$msgs" --port 2575 "$WARDGATE_LAB_IP_HL7" | tr '\r' '\n' | grep -c '^MSA|AA' |
  xargs -I{} echo "   {} of 10 messages acknowledged (AA) by the HL7 engine"

echo; echo "== the patient monitor sends an ADT^A08: its HL7 rules allow ORU^R01 only"
printf 'MSH|^~\\&|MONITOR|ICU|HL7ENGINE|HOSP|20261122121000||ADT^A08^ADT_A01|ADT0001|P|2.5\rPID|||DEMO0001^^^HOSP^MR||Demo^Patient\n' \
  >"$state/adt.hl7"
ip netns exec "$WARDGATE_LAB_NS_MON" mllp_send --loose --file "$state/adt.hl7" --port 2575 "$WARDGATE_LAB_IP_HL7" |
  tr '\r' '\n' | grep '^MSA|' | sed 's/^/   answered by wardgate, never forwarded: /'

echo; echo "== the patient monitor tries to store an image on the PACS: its rules allow C-ECHO only"
ip netns exec "$WARDGATE_LAB_NS_MON" storescu -aet MONITOR -aec PACS "$WARDGATE_LAB_IP_PACS" 104 \
  "$study/ct0001.dcm" >/dev/null 2>&1 && echo "   stored (unexpected!)" || echo "   refused by wardgate (A-ABORT)"

echo; echo "== the CT tries SMB (445) and an unlisted PACS port (8080): the gateway drops and records both"
for port in 445 8080; do
  if ip netns exec "$WARDGATE_LAB_NS_CT" timeout 3 bash -c "exec 3<>/dev/tcp/$WARDGATE_LAB_IP_PACS/$port" 2>/dev/null; then
    echo "   port $port reached the core (unexpected!)"
  else
    echo "   port $port: no answer from the core (dropped at the gateway)"
  fi
done
sleep 1.5  # the denied-flow records are written within a second

echo; echo "== the tunnel, as wardgate tunnel status shows it"
ip netns exec "$WARDGATE_LAB_NS_GW" "$build/wardgate" tunnel status --config "$state/wardgate.json" |
  sed 's/^/   /'

echo; echo "== what wardgate saw: its log, $state/wardgate.log"
grep -vE '^\{' "$state/wardgate.log" | grep -E "ready|session" | sed 's/^/   /'
echo; echo "== and its audit events (JSON lines on the same stream; patient ids are keyed hashes)"
/usr/bin/python3 "$repo/scripts/audit-summary.py" "$state/wardgate.log" | sed 's/^/   /'
echo; echo "== the tamper-evident audit store ($state/audit.db): hash chain and signed checkpoints"
"$build/wardgate" audit verify --config "$state/wardgate.json" 2>&1 | sed 's/^/   /'
cat <<MSG

wardgate keeps running in the lab. Try it yourself, e.g.:
   ip netns exec $WARDGATE_LAB_NS_US echoscu -v $WARDGATE_LAB_IP_PACS 104
   tail -f $state/wardgate.log
   wardgate audit dump --config $state/wardgate.json --category network
   wardgate bypass --config $state/wardgate.json --status
Stop everything with:  make demo-stop
MSG
