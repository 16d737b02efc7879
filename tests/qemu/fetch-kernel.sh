#!/usr/bin/env bash
# Fetches Debian 12's current kernel package (linux-image-6.1.0-*-amd64, the one the
# linux-image-amd64 metapackage points at) into a cache under build/, unpacks it with dpkg -x and
# runs depmod on the unpacked tree. The kernel-backend test boots it under qemu: the machine's own
# kernel may lack wireguard.ko, and a fresh CI machine has no kernel package installed at all.
# Idempotent: a cache holding an unpacked, depmod'ed kernel is reused without any download.
#
#   tests/qemu/fetch-kernel.sh [CACHE_DIR]    (default: build/qemu-kernel)
# Prints the directory of the unpacked tree (holding boot/vmlinuz-* and lib/modules/*) last.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${1:-$repo/build/qemu-kernel}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"

# A previous run left a complete tree: reuse it (no apt look-up, works offline).
if [[ -f $cache/current ]]; then
  tree="$cache/$(cat "$cache/current")"
  if compgen -G "$tree/boot/vmlinuz-*" >/dev/null && compgen -G "$tree/lib/modules/*/modules.dep" >/dev/null; then
    echo "$tree"
    exit 0
  fi
fi

# The versioned package name, e.g. linux-image-6.1.0-56-amd64 (apt's lists must be current).
resolve() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -n1; }
pkg="$(resolve)"
if [[ -z $pkg ]]; then
  apt-get update -qq
  pkg="$(resolve)"
fi
[[ -n $pkg ]] || { echo "fetch-kernel: apt-cache knows no linux-image-6.1.0-*-amd64" >&2; exit 1; }

# As root into a directory _apt cannot write: no sandbox user, or apt warns on every fetch.
download() { (cd "$cache" && rm -f "${pkg}"_*.deb && apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null); }
if ! download; then
  # Stale lists name a kernel the archive has replaced since: refresh them once and retry.
  apt-get update -qq
  pkg="$(resolve)"
  [[ -n $pkg ]] || { echo "fetch-kernel: apt-cache knows no linux-image-6.1.0-*-amd64" >&2; exit 1; }
  download
fi
deb="$(compgen -G "$cache/${pkg}_*.deb" | head -n1)"
[[ -n $deb ]] || { echo "fetch-kernel: apt-get download $pkg left no .deb in $cache" >&2; exit 1; }

tree="$cache/$pkg"
rm -rf "$tree"
dpkg -x "$deb" "$tree"
version="$(basename "$(compgen -G "$tree/lib/modules/*" | head -n1)")"
depmod -b "$tree" "$version"
rm -f "$deb"
echo "$pkg" >"$cache/current"
echo "$tree"
