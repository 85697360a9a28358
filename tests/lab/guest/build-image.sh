#!/bin/bash
# Build the amigo lab guest image into OUTDIR:
#   vmlinuz          the Debian cloud kernel (copied from /boot)
#   initrd.cpio      busybox-static + virtio modules + /init + amigo-workload
#   amigo-workload   the static workload program (also used on lab hosts)
# Usage: build-image.sh OUTDIR KERNEL_VERSION
set -euo pipefail
out=$1
kver=$2
here=$(cd "$(dirname "$0")" && pwd)
src=$here/../workload/amigo-workload.c

tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

gcc -static -O2 -pthread -Wall -Wextra -Wno-unused-parameter -o "$tmp/amigo-workload" "$src" -lm

root=$tmp/root
mkdir -p "$root"/{bin,dev,proc,sys,etc,tmp,lib/modules}
cp /bin/busybox "$root/bin/busybox"
cp "$tmp/amigo-workload" "$root/bin/amigo-workload"
cp "$here/init" "$root/init"
chmod 755 "$root/init" "$root/bin/busybox" "$root/bin/amigo-workload"
mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3

# Modules the guest needs, with their dependencies first (modinfo depends).
declare -A seen=()
order=()
add_mod() {
	local m=$1 f dep
	[[ -n ${seen[$m]:-} ]] && return 0
	seen[$m]=1
	f=$(modinfo -k "$kver" -n "$m" 2>/dev/null) || return 0   # built in or absent
	[[ $f == /* ]] || return 0
	for dep in $(modinfo -k "$kver" -F depends "$m" | tr ',' ' '); do
		add_mod "$dep"
	done
	cp "$f" "$root/lib/modules/"
	order+=("$(basename "$f")")
}
for m in virtio virtio_ring virtio_pci virtio_net virtio_blk virtio_balloon virtio_console; do
	add_mod "$m"
done
printf '%s\n' "${order[@]}" >"$root/etc/modules.order"

(cd "$root" && find . -mindepth 1 | busybox cpio -o -H newc 2>/dev/null) >"$tmp/initrd.cpio"
cp "/boot/vmlinuz-$kver" "$tmp/vmlinuz"
mv "$tmp/vmlinuz" "$tmp/initrd.cpio" "$tmp/amigo-workload" "$out/"
