#!/usr/bin/env bash
# Builds the base initramfs (gzip'ed newc cpio) for the qemu kernel tests: busybox-static, the
# wireguard.ko chain of the fetched Debian kernel (tests/qemu/fetch-kernel.sh), the given
# binaries with every shared library ldd lists for them, and an /init that mounts the usual file
# systems, loads the modules, runs /test/run.sh and powers the VM off. A test puts its own
# uncompressed cpio holding /test/run.sh and its data in front of this one: the kernel unpacks
# concatenated archives, but finds no archive after a compressed one here (invalid magic).
#
#   tests/qemu/make-initramfs.sh KERNEL_TREE OUTPUT BINARY...
set -euo pipefail

(($# >= 2)) || { echo "usage: $0 KERNEL_TREE OUTPUT BINARY..." >&2; exit 2; }
tree="$1"
output="$2"
shift 2
version="$(basename "$(compgen -G "$tree/lib/modules/*" | head -n1)")"
moddir="$tree/lib/modules/$version"
[[ -f $moddir/modules.dep ]] || { echo "make-initramfs: no modules.dep in $moddir (run fetch-kernel.sh)" >&2; exit 1; }
# busybox-static's /bin/busybox: the VM has no C library of its own for it.
busybox=/bin/busybox
if [[ ! -x $busybox ]] || ldd "$busybox" >/dev/null 2>&1; then
  echo "make-initramfs: $busybox is missing or not static (install busybox-static)" >&2
  exit 1
fi

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,modules,etc}
cp "$busybox" "$root/bin/busybox"

# The modules in load order: each wanted module's dependencies as modules.dep lists them (deepest
# last, so loaded first), then the module. e1000 is the NIC qemu gives the VM.
modules=()
add_module() {
  local rel line
  line="$(grep -E "(^|/)$1\.ko(\.[a-z]+)?:" "$moddir/modules.dep")" ||
    { echo "make-initramfs: module $1 not in $moddir/modules.dep" >&2; exit 1; }
  rel="${line%%:*}"
  local deps=(${line#*:})
  local i
  for ((i = ${#deps[@]} - 1; i >= 0; i--)); do modules+=("${deps[i]}"); done
  modules+=("$rel")
}
add_module e1000
add_module wireguard
: >"$root/modules/order"
declare -A seen=()
for rel in "${modules[@]}"; do
  [[ -n ${seen[$rel]:-} ]] && continue
  seen[$rel]=1
  name="$(basename "$rel")"
  case "$name" in
    *.ko) cp "$moddir/$rel" "$root/modules/$name" ;;
    *.ko.xz) xz -dc "$moddir/$rel" >"$root/modules/${name%.xz}"; name="${name%.xz}" ;;
    *) echo "make-initramfs: cannot unpack $name" >&2; exit 1 ;;
  esac
  echo "$name" >>"$root/modules/order"
done

# Binaries and their shared libraries at the same paths as on this machine.
copy_with_parents() { mkdir -p "$root$(dirname "$1")" && cp -L "$1" "$root$1"; }
for bin in "$@"; do
  [[ -x $bin ]] || { echo "make-initramfs: $bin is not an executable" >&2; exit 1; }
  # Debug information only costs RAM in the VM (wardgate's RelWithDebInfo build is ~60 MB).
  strip --strip-debug -o "$root/bin/$(basename "$bin")" "$bin"
  while read -r lib; do
    [[ -e $root$lib ]] || copy_with_parents "$lib"
  done < <(ldd "$bin" | grep -oE '/[^ ]+' | sort -u)
done

cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /var && ln -s /run /var/run
echo "wardgate-vm: kernel $(uname -r)"
for m in $(cat /modules/order); do
  insmod "/modules/$m" || echo "wardgate-vm: insmod $m failed"
done
ip link set lo up
if [ -x /test/run.sh ]; then
  /test/run.sh
  echo "wardgate-vm: run.sh exited $?"
else
  echo "wardgate-vm: no /test/run.sh"
fi
poweroff -f
INIT
chmod +x "$root/init"

mkdir -p "$(dirname "$output")"
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$output.tmp"
mv "$output.tmp" "$output"
echo "$output"
