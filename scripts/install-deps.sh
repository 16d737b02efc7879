#!/usr/bin/env bash
# Installs everything wardgate needs to build, run the lab and run its tests, from Debian 12
# packages only. Idempotent: installs only what is missing, so the README, CI and the lab all
# call it unconditionally.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ clang pkg-config make
  libboost1.81-dev libdcmtk-dev libsodium-dev libnl-3-dev libnl-genl-3-dev libnl-route-3-dev
  libsqlite3-dev libspdlog-dev libnftables-dev libssl-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # lab and test peers
  dcmtk sqlite3 nftables iproute2 iputils-ping iperf3 python3-hl7 python3-pydicom tshark procps psmisc openssl util-linux
  rsyslog rsyslog-openssl
  # the gateway's lab (issue 12): what a device on the VLAN may try, and what the core sees
  nmap hping3 smbclient tcpdump conntrack
  # WireGuard: the userspace backend and the tools; qemu and busybox boot Debian's kernel for the
  # kernel-backend test (its wireguard.ko)
  wireguard-go wireguard-tools qemu-system-x86 busybox-static cpio kmod
  nodejs
)
# A nodejs from outside Debian (NodeSource) bundles npm and conflicts with Debian's npm package.
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer for it.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all packages present"
fi

# npm HL7 peers of the integration tests (tests/peers/npm), exactly as pinned by its lockfile;
# node_modules/.package-lock.json is npm's record of the last completed install.
npm_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/peers/npm"
if [[ ! -f $npm_dir/node_modules/.package-lock.json ||
      $npm_dir/package-lock.json -nt $npm_dir/node_modules/.package-lock.json ]]; then
  echo "install-deps: npm ci in tests/peers/npm"
  (cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
