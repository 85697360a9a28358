#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Lab test allocation-admit: admission of incoming migrations by the real
# amigod on the destination, asked by amigo-hook (libvirt's qemu hook).
# 1. hostb's [allocation] reserve_memory leaves 0.10 GiB free; a 192 MiB guest
#    migrating from hosta is refused before any memory is copied, and
#    `virsh migrate` shows "memory: need 0.19 GiB, 0.10 GiB free after
#    reservations"; the guest stays on hosta, nothing reserved on hostb.
# 2. The same migration with plain libvirt (hostb's libvirtd restarted without
#    the hook): what happens is recorded and printed, whatever it is.
# 3. With room (no reserve) the migration is admitted and the guest arrives
#    with its reservation as tunables: 2 vCPUs of an unclassified guest = 2
#    cores = cpu.shares 2048, 192 MiB = memory.soft_limit_in_bytes, read back
#    from hostb's cgroups and from `virsh schedinfo` / `virsh memtune`; the
#    ledger holds it once it runs.
# Needs root (exit 77 otherwise). Always tears the lab down.
# usage: test-allocation-admit.sh AMIGOD AMIGOCTL AMIGO_HOOK BUS_POLICY
set -euo pipefail
AMIGOD=$(readlink -f "$1")
AMIGOCTL=$(readlink -f "$2")
HOOK=$(readlink -f "$3")
POLICY=$(readlink -f "$4")
. "$(dirname "$0")/../lab/lab-test-lib.sh"
WORK=$AMIGO_LAB_DIR/allocation-admit
rm -rf "$WORK"
mkdir -p "$WORK"
. "$(dirname "$0")/allocation-lab-lib.sh"
trap 'rc=$?; stop_amigods; (exit $rc); lab_teardown' EXIT

GUEST=adm1
GUEST_MIB=192
t_start=$(date +%s)
"$LAB" up --hosts 2 --hook "$HOOK" >/dev/null
A=$("$LAB" uri hosta)
B=$("$LAB" uri hostb)
ADDR_B=$("$LAB" addr hostb)
install_policy hostb

mem=$(node_memory_gib hostb)
reserve=$(awk -v m="$mem" 'BEGIN { printf "%.6f", m - 0.1 }')
note "hostb: libvirt reports $mem GiB; reserve_memory = $reserve leaves 0.10 GiB"
start_amigod hostb "reserve_memory = $reserve"
"$LAB" guest hosta "$GUEST" --class idle --vcpus 2 --memory "$GUEST_MIB" >/dev/null
uuid=$(virsh -c "$A" domuuid "$GUEST" | sed -n 1p)

# 1. refused through amigo
t0=$(date +%s.%N)
if out=$(virsh -c "$A" migrate --live "$GUEST" "$B" --migrateuri "tcp://$ADDR_B" 2>&1); then
	fail "the migration was admitted, expected a refusal: $out"
fi
t1=$(date +%s.%N)
note "through amigo: refused after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
note "virsh migrate said: $out"
grep -qF "amigo: memory: need 0.19 GiB, 0.10 GiB free after reservations" <<<"$out" ||
	fail "virsh migrate does not name memory and by how much"
[[ $(virsh -c "$A" domstate "$GUEST") == running ]] || fail "$GUEST is not running on hosta after the refusal"
! virsh -c "$B" domstate "$GUEST" >/dev/null 2>&1 || fail "$GUEST exists on hostb after the refusal"
[[ $(ledger_field hostb reserved memory) == 0.0 ]] || fail "the refusal left memory reserved on hostb"
grep -q "refusing incoming domain '$GUEST': memory: need" "$WORK/amigod-hostb.log" ||
	fail "amigod on hostb did not log the refusal"

# 2. plain libvirt: hostb's libvirtd without the hook, same guest, same host
restart_libvirtd () {
	local p
	for p in $(ip netns pids "$LAB_PREFIX-hostb"); do
		[[ $(cat "/proc/$p/comm" 2>/dev/null) == libvirtd ]] && kill "$p"
	done
	sleep 1
	"$LAB" exec hostb /bin/bash -c "$1; libvirtd -d --listen"
	for ((t = 0; t < 50; t++)); do virsh -c "$B" version >/dev/null 2>&1 && return 0; sleep 0.2; done
	fail "hostb's libvirtd did not come back"
}
restart_libvirtd "mv /etc/libvirt/hooks/qemu /etc/libvirt/hooks/qemu.off"
t0=$(date +%s.%N)
if out=$(timeout 300 virsh -c "$A" migrate --live "$GUEST" "$B" --migrateuri "tcp://$ADDR_B" 2>&1); then
	plain="succeeded"
else
	plain="failed"
fi
t1=$(date +%s.%N)
where="hosta $(virsh -q -c "$A" domstate "$GUEST" 2>/dev/null | sed -n 1p || echo absent), hostb $(virsh -q -c "$B" domstate "$GUEST" 2>/dev/null | sed -n 1p || echo absent)"
info=$(virsh -c "$B" domjobinfo "$GUEST" --completed 2>/dev/null | awk -F: '/Memory processed|Time elapsed:/ { gsub(/^ +/, "", $2); printf "%s=%s ", $1, $2 }' || true)
note "plain libvirt (no hook): migration $plain after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s; guest on $where; $info"
note "plain libvirt said: ${out:-(nothing)}"
if [[ $plain == succeeded ]]; then
	note "plain libvirt admitted a guest that amigo's ledger has no room for: it relies on the host really having the memory (TCG guests touch little of theirs)"
	# back to hosta (no amigod there: its hook fails open)
	virsh -c "$B" migrate --live "$GUEST" "$A" --migrateuri "tcp://$("$LAB" addr hosta)" >/dev/null ||
		fail "could not bring $GUEST back to hosta"
fi
restart_libvirtd "mv /etc/libvirt/hooks/qemu.off /etc/libvirt/hooks/qemu"

# 3. with room: admitted, tunables in place
kill_amigod hostb
start_amigod hostb ""
out=$("$LAB" migrate "$GUEST" hosta hostb) || fail "the admitted migration failed: $out $(tail -3 "$WORK/amigod-hostb.log")"
note "through amigo with room: $(head -1 <<<"$out")"
field() { awk -F: -v f="$1" '{ k = $1; gsub(/ /, "", k); v = $2; gsub(/ /, "", v) } k == f { print v }'; }
cg() { "$LAB" exec hostb /bin/bash -c "cat /sys/fs/cgroup/$1/machine/qemu-*-$GUEST.libvirt-qemu/$2"; }
shares=$(cg cpu cpu.shares)
soft=$(cg memory memory.soft_limit_in_bytes)
v_shares=$(virsh -c "$B" schedinfo "$GUEST" | field cpu_shares)
v_soft=$(virsh -c "$B" memtune "$GUEST" | field soft_limit)
note "on hostb: cgroup cpu.shares=$shares memory.soft_limit_in_bytes=$soft; virsh schedinfo cpu_shares=$v_shares, memtune soft_limit=$v_soft KiB"
[[ $shares == 2048 && $v_shares == 2048 ]] || fail "cpu shares on hostb: cgroup $shares, libvirt $v_shares; expected 2048"
[[ $soft == $((GUEST_MIB * 1024 * 1024)) && $v_soft == $((GUEST_MIB * 1024)) ]] ||
	fail "memory soft limit on hostb: cgroup $soft, libvirt $v_soft KiB; expected $GUEST_MIB MiB"
grep -q "reservation from its declared size and the 'unknown' class prior" "$WORK/amigod-hostb.log" ||
	fail "amigod did not log where the reservation came from"
# held once a poll sees it running
for ((t = 0; t < 20; t++)); do
	ctl hostb reservations | grep "$uuid .* held" >/dev/null && break
	sleep 0.5
done
ctl hostb reservations | sed 's/^/#   /'
ctl hostb reservations | grep "$uuid .* held" >/dev/null || fail "the ledger does not hold $GUEST after it arrived"
[[ $(ledger_field hostb held memory) == 0.1875 ]] || fail "held memory is $(ledger_field hostb held memory), expected 0.1875"

note "allocation-admit took $(($(date +%s) - t_start)) s"
echo "PASS"
