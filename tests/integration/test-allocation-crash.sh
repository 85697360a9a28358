#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Lab test allocation-crash: the destination's ledger through crashes, aborts
# and races (real amigod on hostb, amigo-hook as libvirt's qemu hook).
# 1. amigod on hostb is SIGKILLed in the middle of a bandwidth-limited
#    incoming migration (512 MiB guest at 3 MiB/s) and restarted: the pending
#    reservation is in the ledger after the restart exactly as before, the
#    migration completes, and the ledger then holds that guest once (nothing
#    lost, nothing leaked).
# 2. A migration aborted with `virsh domjobabort` on the source leaves hostb's
#    ledger as it was before it started (the hook's release path).
# 3. Two guests migrating to hostb together while it has room for one:
#    exactly one is admitted, the other refused naming memory.
# Prints the ledger figures (`amigoctl ledger --json`) before and after each.
# Needs root (exit 77 otherwise). Always tears the lab down.
# usage: test-allocation-crash.sh AMIGOD AMIGOCTL AMIGO_HOOK BUS_POLICY
set -euo pipefail
AMIGOD=$(readlink -f "$1")
AMIGOCTL=$(readlink -f "$2")
HOOK=$(readlink -f "$3")
POLICY=$(readlink -f "$4")
. "$(dirname "$0")/../lab/lab-test-lib.sh"
WORK=$AMIGO_LAB_DIR/allocation-crash
rm -rf "$WORK"
mkdir -p "$WORK"
. "$(dirname "$0")/allocation-lab-lib.sh"
MIGRATIONS=()
trap 'rc=$?; for p in "${MIGRATIONS[@]}"; do kill "$p" 2>/dev/null || true; done; stop_amigods; (exit $rc); lab_teardown' EXIT

BANDWIDTH=${AMIGO_CRASH_BANDWIDTH:-3}
t_start=$(date +%s)
"$LAB" up --hosts 2 --hook "$HOOK" >/dev/null
A=$("$LAB" uri hosta)
B=$("$LAB" uri hostb)
ADDR_B=$("$LAB" addr hostb)
install_policy hostb
# CPU is not what these guests compete for here
start_amigod hostb "overcommit_cpu = 8"

# the entries of hostb's ledger, one line each: uuid state amounts (no names:
# they are not saved across a restart)
entries () {
	ctl hostb --json reservations | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    a = e["amounts"]
    print(e["uuid"], e["state"], e["lease_expiry_usec"], " ".join("%s=%g" % (k, a[k]) for k in sorted(a)))'
}
summary () {
	ctl hostb --json ledger | python3 -c '
import json, sys
l = json.load(sys.stdin)
print("memory GiB: held=%g reserved=%g free=%g; cpu: held=%g reserved=%g; entries=%d" % (
    l["held"]["memory"], l["reserved"]["memory"], l["free"]["memory"], l["held"]["cpu"], l["reserved"]["cpu"], l["entries"]))'
}
migrate_bg () {   # NAME LOG [virsh migrate args]
	local name=$1 log=$2
	shift 2
	virsh -c "$A" migrate --live "$name" "$B" --migrateuri "tcp://$ADDR_B" "$@" >"$log" 2>&1 &
	MIGRATIONS+=($!)
}
wait_entry () {   # UUID STATE (a regex)
	local t
	for ((t = 0; t < 100; t++)); do
		entries | grep -E "^$1 $2 " >/dev/null && return 0
		sleep 0.2
	done
	return 1
}

"$LAB" guest hosta cr1 --class idle --memory 512 >/dev/null
"$LAB" guest hosta cr2 --class idle --memory 256 --no-wait >/dev/null
uuid1=$(virsh -c "$A" domuuid cr1 | sed -n 1p)
uuid2=$(virsh -c "$A" domuuid cr2 | sed -n 1p)

# 1. SIGKILL in the middle of an incoming migration
before=$(summary)
migrate_bg cr1 "$WORK/cr1.log" --bandwidth "$BANDWIDTH"
mig1=${MIGRATIONS[-1]}
# the incoming domain exists on hostb (paused) from the migration's prepare
# step, so a poll may already hold it
wait_entry "$uuid1" '(pending|held)' || fail "no pending reservation for cr1 on hostb: $(cat "$WORK/cr1.log")"
sleep 3
virsh -c "$A" domjobinfo cr1 | grep "Job type: *Unbounded" >/dev/null || fail "cr1's migration is not running any more"
pre_kill=$(entries)
note "before SIGKILL: $(summary)"
kill_amigod hostb KILL
start_amigod hostb "overcommit_cpu = 8"
post_restart=$(entries)
note "after restart:  $(summary)"
[[ $pre_kill == "$post_restart" ]] || fail "the ledger changed across the crash: before '$pre_kill', after '$post_restart'"
virsh -c "$A" domjobinfo cr1 | grep "Job type: *Unbounded" >/dev/null ||
	fail "cr1's migration ended before amigod was back: the crash was not in the middle of it"
t0=$(date +%s)
wait "$mig1" || fail "cr1's migration failed: $(cat "$WORK/cr1.log")"
note "cr1's migration finished $(($(date +%s) - t0)) s after amigod's restart"
wait_entry "$uuid1" held || fail "cr1 runs on hostb but the ledger does not hold it: $(entries)"
[[ $(entries | wc -l) == 1 ]] || fail "after the migration the ledger holds more than cr1: $(entries)"
note "after cr1 arrived: $(summary) (before: $before)"

# 2. aborted with domjobabort: the ledger as it was
before=$(entries)
before_sum=$(summary)
migrate_bg cr2 "$WORK/cr2.log" --bandwidth "$BANDWIDTH"
mig2=${MIGRATIONS[-1]}
wait_entry "$uuid2" '(pending|held)' || fail "no pending reservation for cr2 on hostb: $(cat "$WORK/cr2.log")"
note "cr2 admitted: $(summary)"
sleep 2
virsh -c "$A" domjobabort cr2 >/dev/null || fail "domjobabort cr2 failed"
! wait "$mig2" || fail "cr2's migration succeeded after domjobabort"
note "virsh migrate cr2 said: $(tr '\n' ' ' <"$WORK/cr2.log")"
for ((t = 0; t < 50; t++)); do
	[[ $(entries) == "$before" ]] && break
	sleep 0.2
done
note "after domjobabort: $(summary) (before: $before_sum)"
[[ $(entries) == "$before" ]] || fail "the aborted migration changed hostb's ledger: before '$before', after '$(entries)'"
grep -q "released the reservation of domain $uuid2" "$WORK/amigod-hostb.log" ||
	fail "amigod did not log the release of cr2's reservation"
note "released by: $(grep -o "released the reservation of domain $uuid2: .*" "$WORK/amigod-hostb.log" | sed -n 1p)"

# 3. two at once, room for one: reserve memory so that one 256 MiB guest fits
"$LAB" guest hosta cr3 --class idle --memory 256 --no-wait >/dev/null
mem=$(node_memory_gib hostb)
held=$(ledger_field hostb held memory)
reserve=$(awk -v m="$mem" -v h="$held" 'BEGIN { printf "%.6f", m - h - 0.4 }')
kill_amigod hostb
start_amigod hostb "overcommit_cpu = 8
reserve_memory = $reserve"
note "room for one: $(summary)"
# the aborted source may stay paused a moment; a guest paused by the abort
# is resumed (libvirt leaves that to the administrator)
for ((t = 0; t < 20; t++)); do virsh -c "$A" domstate cr2 2>/dev/null | grep running >/dev/null && break; sleep 0.5; done
state=$(virsh -c "$A" domstate cr2 --reason 2>&1 | sed -n 1p)
note "cr2 on hosta after the abort: $state"
[[ $state == paused* ]] && virsh -c "$A" resume cr2 >/dev/null
virsh -c "$A" domstate cr2 | grep running >/dev/null || fail "cr2 is not running on hosta: $state"
for ((t = 0; t < 60; t++)); do virsh -c "$A" domstate cr3 2>/dev/null | grep running >/dev/null && break; sleep 0.5; done
migrate_bg cr2 "$WORK/race-cr2.log"
p2=${MIGRATIONS[-1]}
migrate_bg cr3 "$WORK/race-cr3.log"
p3=${MIGRATIONS[-1]}
ok2=0 ok3=0
wait "$p2" && ok2=1
wait "$p3" && ok3=1
note "cr2: $([[ $ok2 == 1 ]] && echo admitted || tr '\n' ' ' <"$WORK/race-cr2.log")"
note "cr3: $([[ $ok3 == 1 ]] && echo admitted || tr '\n' ' ' <"$WORK/race-cr3.log")"
((ok2 + ok3 == 1)) || fail "$((ok2 + ok3)) of two migrations were admitted, with room for one"
grep -qh "memory: need 0.25 GiB" "$WORK/race-cr2.log" "$WORK/race-cr3.log" || fail "the refusal does not name memory"
note "after the race: $(summary)"

note "allocation-crash took $(($(date +%s) - t_start)) s"
echo "PASS"
