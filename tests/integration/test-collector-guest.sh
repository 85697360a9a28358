#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Integration test of the collector on real guests: boots one TCG guest that
# spins one vCPU and one idle guest on the machine's libvirtd (started here
# if it is not running), polls them with amigo_collector_poll() for ~20 s
# (the helper given as $1) and checks burn ~ 1 core, idle ~ 0. The guests
# are destroyed on every exit path.
#
# usage: test-collector-guest.sh HELPER [SECONDS]
#        test-collector-guest.sh --initramfs OUT.gz   (build the guest initramfs only)
set -euo pipefail

die() { echo "test-collector-guest: $*" >&2; exit 1; }
say() { echo "test-collector-guest: $*" >&2; }

# Busybox initramfs: /init loads the virtio modules it finds, then runs the
# load named by amigo_load= on the kernel command line (burn|idle|mixed).
build_initramfs() {
	local out=$1 kver=$2 root m f
	root=$(mktemp -d)
	mkdir -p "$root"/{bin,dev,proc,sys,mods}
	cp "$(command -v busybox)" "$root/bin/busybox"
	for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_balloon \
		virtio_blk failover net_failover virtio_net; do
		f=$(find "/lib/modules/$kver" -name "$m.ko*" 2>/dev/null | head -1)
		[[ -n $f ]] && cp "$f" "$root/mods/"
	done
	cat >"$root/init" <<'EOI'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_balloon virtio_blk failover net_failover virtio_net; do
  for f in /mods/$m.ko*; do [ -e "$f" ] && insmod "$f" 2>/dev/null; done
done
mode=idle
for a in $(cat /proc/cmdline); do case $a in amigo_load=*) mode=${a#amigo_load=};; esac; done
echo "amigo guest up, mode $mode"
case $mode in
  burn) while :; do :; done ;;
  mixed)
    (while :; do dd if=/dev/vda of=/dev/null bs=4096 count=256 iflag=direct 2>/dev/null; sleep 1; done) &
    while :; do :; done ;;
  *) while :; do sleep 3600; done ;;
esac
EOI
	chmod +x "$root/init"
	(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$out"
	rm -rf "$root"
}

guest_kernel() {
	local k
	k=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1)
	[[ -n $k ]] || k=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
	[[ -n $k ]] || die "no guest kernel in /boot (install linux-image-cloud-amd64)"
	echo "$k"
}

if [[ ${1:-} == --initramfs ]]; then
	k=$(guest_kernel)
	build_initramfs "$2" "${k#/boot/vmlinuz-}"
	exit 0
fi

if [[ $(id -u) != 0 ]]; then
	echo "test-collector-guest: needs root, skipping" >&2
	exit 77
fi

HELPER=${1:?usage: test-collector-guest.sh HELPER [SECONDS]}
SECONDS_TO_POLL=${2:-20}
for tool in virsh libvirtd virtlogd qemu-system-x86_64 qemu-img busybox gzip; do
	command -v "$tool" >/dev/null || die "'$tool' is not installed"
done

URI=qemu:///system
V() { timeout 60 virsh -q -c "$URI" "$@"; }

# The machine's own daemons, started only when not running.
mkdir -p /run/dbus
[[ -S /run/dbus/system_bus_socket ]] || dbus-daemon --system --fork
[[ -S /run/libvirt/virtlogd-sock ]] || virtlogd -d
if ! V uri >/dev/null 2>&1; then
	libvirtd -d
	for _ in $(seq 50); do V uri >/dev/null 2>&1 && break; sleep 0.2; done
	V uri >/dev/null 2>&1 || die "libvirtd did not come up"
fi

TMP=$(mktemp -d /tmp/collector-guest.XXXXXX)
chmod 0755 "$TMP"   # qemu runs as another user and must reach the files
BURN=collector-burn-$$
IDLE=collector-idle-$$
cleanup() {
	local d
	for d in "$BURN" "$IDLE"; do
		V destroy "$d" >/dev/null 2>&1 || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

KERNEL=$(guest_kernel)
build_initramfs "$TMP/initrd.gz" "${KERNEL#/boot/vmlinuz-}"
qemu-img create -q -f qcow2 "$TMP/disk.qcow2" 16M

domain_xml() {
	local name=$1 load=$2 disk=$3 balloon=$4
	cat <<EOX
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$KERNEL</kernel>
    <initrd>$TMP/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet amigo_load=$load</cmdline>
  </os>
  <devices>
    $disk
    $balloon
    <serial type='file'><source path='$TMP/$name.log'/></serial>
  </devices>
</domain>
EOX
}

DISK="<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$TMP/disk.qcow2'/><target dev='vda' bus='virtio'/></disk>"
# The idle guest has no statistics period: the collector asks for one.
domain_xml "$BURN" burn "$DISK" "<memballoon model='virtio'><stats period='2'/></memballoon>" >"$TMP/burn.xml"
domain_xml "$IDLE" idle "" "<memballoon model='virtio'/>" >"$TMP/idle.xml"
V create "$TMP/burn.xml" >/dev/null
V create "$TMP/idle.xml" >/dev/null

for d in "$BURN" "$IDLE"; do
	for _ in $(seq 225); do
		grep -q "amigo guest up" "$TMP/$d.log" 2>/dev/null && break
		sleep 0.2
	done
	grep -q "amigo guest up" "$TMP/$d.log" 2>/dev/null || die "guest '$d' did not reach /init in 45 s"
done
say "guests up: $BURN (burn), $IDLE (idle)"

"$HELPER" "$URI" "$BURN" "$IDLE" "$SECONDS_TO_POLL"
