#!/bin/bash
# Lab test: amigo-hook as the destination's libvirt qemu hook, against a
# stand-in amigod on the destination's system bus (test-hook-standin.py).
# 1. admission refused: `virsh migrate` fails at once with the refusal text,
#    before any memory is copied, and the guest stays on the source;
# 2. admitted with <cputune><shares>: the guest arrives and its cpu.shares on
#    the destination (libvirt and the cgroup) is that value;
# 3. no amigod on the destination: the hook fails open, the migration works;
# 4. admitted with the XML amigo's own code writes (test-domain-tunables-helper):
#    CPU shares, memory soft limit and disk IOPS read back from libvirt and
#    the cgroups on the destination.
# Needs root (exit 77 otherwise). Always tears the lab down.
# usage: test-hook-lab.sh AMIGO_HOOK BUS_POLICY INTERFACE_XML TUNABLES_HELPER
set -euo pipefail
HOOK=$(readlink -f "$1")
POLICY=$(readlink -f "$2")
IFACE=$(readlink -f "$3")
HELPER=$(readlink -f "$4")
STANDIN=$(cd "$(dirname "$0")" && pwd)/test-hook-standin.py
. "$(dirname "$0")/../lab/lab-test-lib.sh"

REFUSAL="memory: need 1.42 GiB, 0.90 GiB free after reservations"
SHARES=1536
WORK=$AMIGO_LAB_DIR/hook-test
rm -rf "$WORK"
mkdir -p "$WORK/system.d"
sed 's/group="[^"]*"/group="root"/' "$POLICY" >"$WORK/system.d/org.amigo.Daemon1.conf"

t_start=$(date +%s)
"$LAB" up --hosts 2 --hook "$HOOK" >/dev/null
A=$("$LAB" uri hosta)
B=$("$LAB" uri hostb)

# the stand-in on hostb's own system bus, allowed by amigo's bus policy
echo "refuse $REFUSAL" >"$WORK/mode"
"$LAB" exec hostb /bin/bash -c "
	mount --bind '$WORK/system.d' /etc/dbus-1/system.d
	dbus-send --system --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ReloadConfig >/dev/null
	setsid /usr/bin/python3 '$STANDIN' '$IFACE' '$WORK/mode' '$WORK/calls.log' </dev/null >'$WORK/standin.out' 2>&1 &
	echo \$! >'$WORK/standin.pid'"
for ((t = 0; t < 50; t++)); do
	grep -q owned "$WORK/calls.log" 2>/dev/null && break
	sleep 0.2
done
grep -q owned "$WORK/calls.log" 2>/dev/null || fail "the stand-in amigod did not own its name: $(cat "$WORK/standin.out")"

"$LAB" guest hosta hk1 --class idle --memory 128 --disk 16 >/dev/null
# AMIGO_HOOK_FIXTURES=DIR saves the guest's XML as libvirt writes it
# (tests/fixtures/domain-lab-guest*.xml were made so)
if [[ -n ${AMIGO_HOOK_FIXTURES:-} ]]; then
	virsh -c "$A" dumpxml hk1 >"$AMIGO_HOOK_FIXTURES/domain-lab-guest.xml"
	"$LAB" guest hosta hk2 --class database --memory 128 --no-wait >/dev/null
	virsh -c "$A" dumpxml hk2 >"$AMIGO_HOOK_FIXTURES/domain-lab-guest-disk.xml"
	virsh -c "$A" destroy hk2 >/dev/null
fi

# 1. refused
t0=$(date +%s.%N)
if out=$(virsh -c "$A" migrate --live hk1 "$B" --migrateuri "tcp://$("$LAB" addr hostb)" 2>&1); then
	fail "migration was admitted, expected a refusal: $out"
fi
t1=$(date +%s.%N)
note "refused migration: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
note "virsh migrate said: $out"
grep -qF "$REFUSAL" <<<"$out" || fail "virsh migrate does not show the refusal text"
[[ $(virsh -c "$A" domstate hk1) == running ]] || fail "hk1 is not running on hosta after the refusal"
! virsh -c "$B" domstate hk1 >/dev/null 2>&1 || fail "hk1 exists on hostb after the refusal"
grep -q "AdmitMigration uuid=$(virsh -c "$A" domuuid hk1 | sed -n 1p) " "$WORK/calls.log" ||
	fail "the stand-in saw no AdmitMigration for hk1: $(cat "$WORK/calls.log")"
# (tests/fixtures/domain-migrate-begin.xml is such an XML, as libvirt gave it)
[[ -n ${AMIGO_HOOK_FIXTURES:-} ]] && cp "$WORK/calls.log.last.xml" "$AMIGO_HOOK_FIXTURES/domain-migrate-begin.xml"

# 2. admitted with cpu shares
echo "admit $SHARES" >"$WORK/mode"
out=$("$LAB" migrate hk1 hosta hostb) || fail "admitted migration failed: $out"
note "admitted: $(head -1 <<<"$out")"
got=$(virsh -c "$B" schedinfo hk1 | awk '$1 == "cpu_shares" { print $3 }')
[[ $got == "$SHARES" ]] || fail "schedinfo cpu_shares on hostb is '$got', expected $SHARES"
cg=$("$LAB" exec hostb /bin/bash -c 'cat /sys/fs/cgroup/cpu/machine/qemu-*-hk1.libvirt-qemu/cpu.shares')
[[ $cg == "$SHARES" ]] || fail "the cgroup's cpu.shares on hostb is '$cg', expected $SHARES"
note "on hostb: schedinfo cpu_shares=$got, cgroup cpu.shares=$cg"

# 3. back to hosta, which runs no amigod: fail open
out=$("$LAB" migrate hk1 hostb hosta) || fail "migration to a host without amigod failed: $out"
[[ $(virsh -c "$A" domstate hk1) == running ]] || fail "hk1 is not running on hosta"
note "without amigod: $(head -1 <<<"$out")"
# the source's stop after the migration away released the reservation
grep -q "ReleaseReservation uuid=.* reason='release end'" "$WORK/calls.log" ||
	fail "hostb's hook did not release the reservation: $(cat "$WORK/calls.log")"

# 4. amigo's tunables: 0.75 cores, 0.125 GiB, 200 IOPS; no bandwidth: these
# machines' kernels lack the sfq qdisc libvirt puts under a <bandwidth>, and
# the incoming domain then fails to start ("tc qdisc add ... sfq ...:
# Specified qdisc kind is unknown"), failing the migration after admission
echo "apply $HELPER 0.75 0.125 nan 200" >"$WORK/mode"
out=$("$LAB" migrate hk1 hosta hostb) || fail "migration with amigo's tunables failed: $out $(tail -1 "$WORK/calls.log")"
note "with amigo's tunables: $(head -1 <<<"$out")"
# FIELD of `virsh CMD ... ` output lines "field   : value"
field() { awk -F: -v f="$1" '{ k = $1; gsub(/ /, "", k); v = $2; gsub(/ /, "", v) } k == f { print v }'; }
cg() { "$LAB" exec hostb /bin/bash -c "cat /sys/fs/cgroup/$1/machine/qemu-*-hk1.libvirt-qemu/$2"; }
[[ $(cg cpu cpu.shares) == 768 ]] || fail "cpu.shares on hostb is '$(cg cpu cpu.shares)', expected 768"
[[ $(cg memory memory.soft_limit_in_bytes) == $((128 * 1024 * 1024)) ]] ||
	fail "memory.soft_limit_in_bytes on hostb is '$(cg memory memory.soft_limit_in_bytes)', expected $((128 * 1024 * 1024))"
[[ $(virsh -c "$B" memtune hk1 | field soft_limit) == 131072 ]] ||
	fail "virsh memtune soft_limit on hostb: $(virsh -c "$B" memtune hk1)"
[[ $(virsh -c "$B" blkdeviotune hk1 vda | field total_iops_sec) == 200 ]] ||
	fail "virsh blkdeviotune total_iops_sec on hostb: $(virsh -c "$B" blkdeviotune hk1 vda)"
note "on hostb: cpu.shares=768, memory soft limit 128 MiB, total_iops_sec=200"

kill "$(cat "$WORK/standin.pid")" 2>/dev/null || true
note "hook lab test took $(($(date +%s) - t_start)) s"
echo "PASS"
