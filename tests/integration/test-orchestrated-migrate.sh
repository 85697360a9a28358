#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Lab test orchestrated-migrate: migrations started through amigo
# (`amigoctl migrate` -> amigod's Migrate on the source), with amigod on both
# hosts and amigo-hook as the destination's libvirt qemu hook.
# a. A guest migrates through `amigoctl migrate`: the plan, progress lines and
#    a completed summary (measured vs predicted); the guest runs on hostb.
# b. A bandwidth-limited migration cancelled mid-way by SIGINT to amigoctl:
#    exit 6 (cancelled), the guest still runs on hosta, hostb's ledger
#    (entries and amounts) as it was before.
# c. The destination short of memory: refused before any memory is copied,
#    exit 5, amigoctl shows the destination's reason.
# d. Bad input: unknown domain, malformed URI, unreachable destination, a
#    second migrate of a domain already migrating (Busy), options out of
#    range; both amigoctl's checks and amigod's (gdbus); nothing half-started
#    (the guest untouched on hosta, no record of a refused call, hostb's
#    ledger unchanged).
# Prints what it measured. Needs root (exit 77 otherwise). Always tears the
# lab down.
# usage: test-orchestrated-migrate.sh AMIGOD AMIGOCTL AMIGO_HOOK BUS_POLICY
set -euo pipefail
AMIGOD=$(readlink -f "$1")
AMIGOCTL=$(readlink -f "$2")
HOOK=$(readlink -f "$3")
POLICY=$(readlink -f "$4")
. "$(dirname "$0")/../lab/lab-test-lib.sh"
WORK=$AMIGO_LAB_DIR/orchestrated-migrate
rm -rf "$WORK"
mkdir -p "$WORK"
. "$(dirname "$0")/allocation-lab-lib.sh"
CTL_BG=
trap 'rc=$?; [[ -n $CTL_BG ]] && kill "$CTL_BG" 2>/dev/null; stop_amigods; (exit $rc); lab_teardown' EXIT

t_start=$(date +%s)
"$LAB" up --hosts 2 --hook "$HOOK" >/dev/null
A=$("$LAB" uri hosta)
B=$("$LAB" uri hostb)
ADDR_B=$("$LAB" addr hostb)
# what amigoctl and amigod on hosta call the destination
DEST=qemu+tcp://$ADDR_B/system
MIGRATE_URI=tcp://$ADDR_B
install_policy hosta
install_policy hostb
start_amigod hosta ""
start_amigod hostb ""

# hostb's ledger entries, one line each: uuid state amounts
entries () {
	ctl hostb --json reservations | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    a = e["amounts"]
    print(e["uuid"], e["state"], " ".join("%s=%g" % (k, a[k]) for k in sorted(a)))'
}
summary () {
	ctl hostb --json ledger | python3 -c '
import json, sys
l = json.load(sys.stdin)
print("memory GiB held=%g reserved=%g free=%g, cpu held=%g reserved=%g, entries=%d" % (
    l["held"]["memory"], l["reserved"]["memory"], l["free"]["memory"], l["held"]["cpu"], l["reserved"]["cpu"], l["entries"]))'
}
n_migrations () {
	ctl hosta --json migrations | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
}
state_on () {   # HOST-URI NAME: its state, or "absent"
	virsh -q -c "$1" domstate "$2" 2>/dev/null | sed -n 1p | grep . || echo absent
}
# a guest paused by an aborted migration may take a moment to run again
wait_running () {   # HOST-URI NAME
	local t
	for ((t = 0; t < 40; t++)); do
		[[ $(state_on "$1" "$2") == running ]] && return 0
		sleep 0.25
	done
	return 1
}
# amigoctl migrate ARGS in the background on hosta, output to LOG; its pid
# (amigoctl's own, for the SIGINT) in CTL_PID
migrate_bg () {   # LOG ARGS...
	local log=$1 t
	shift
	rm -f "$WORK/ctl.pid"
	"$LAB" exec hosta /bin/bash -c 'echo $$ >"$0"; exec "$@"' "$WORK/ctl.pid" "$AMIGOCTL" migrate "$@" >"$log" 2>&1 &
	CTL_BG=$!
	for ((t = 0; t < 50; t++)); do [[ -s $WORK/ctl.pid ]] && break; sleep 0.1; done
	CTL_PID=$(cat "$WORK/ctl.pid")
}
# waits until LOG shows libvirt migrating (a pre-copy progress line)
wait_precopy () {   # LOG
	local t
	for ((t = 0; t < 120; t++)); do
		grep -q '^progress .* precopy' "$1" && return 0
		kill -0 "$CTL_BG" 2>/dev/null || return 1
		sleep 0.25
	done
	return 1
}
elapsed () { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

"$LAB" guest hosta om1 --class idle --memory 256 >/dev/null
"$LAB" guest hosta om2 --class idle --memory 192 >/dev/null


# a. through amigoctl, to the end
t0=$(date +%s.%N)
rc=0
ctl hosta migrate om1 "$DEST" --migrate-uri "$MIGRATE_URI" >"$WORK/a.out" 2>&1 || rc=$?
wall=$(elapsed "$t0")
sed 's/^/#   /' "$WORK/a.out"
progress=$(grep -c '^progress ' "$WORK/a.out" || true)
note "a: amigoctl migrate om1 exited $rc after $wall s, $progress progress lines; om1 on hosta: $(state_on "$A" om1), on hostb: $(state_on "$B" om1)"
((rc == 0)) || fail "a: amigoctl migrate om1 exited $rc, expected 0 (completed)"
grep -q '^Mode: ' "$WORK/a.out" || fail "a: no plan (Mode:) printed"
((progress >= 1)) || fail "a: no progress line"
grep -q "^Migration of 'om1' completed in " "$WORK/a.out" || fail "a: no completed summary"
grep -qE '^total time +[0-9.]+(ms|s)' "$WORK/a.out" || fail "a: no measured total time"
[[ $(state_on "$B" om1) == running ]] || fail "a: om1 does not run on hostb"
[[ $(state_on "$A" om1) != running ]] || fail "a: om1 still runs on hosta"

# b. cancelled mid-way by SIGINT to amigoctl
for ((t = 0; t < 20; t++)); do entries | grep -q ' pending ' || break; sleep 0.5; done
before=$(entries)
before_sum=$(summary)
note "b: hostb's ledger before: $before_sum"
t0=$(date +%s.%N)
migrate_bg "$WORK/b.out" om2 "$DEST" --migrate-uri "$MIGRATE_URI" --bandwidth 2
wait_precopy "$WORK/b.out" || fail "b: no pre-copy progress: $(cat "$WORK/b.out")"
sleep 2
during=$(summary)
kill -INT "$CTL_PID"
rc=0
wait "$CTL_BG" || rc=$?
CTL_BG=
sed 's/^/#   /' "$WORK/b.out"
wait_running "$A" om2 || true
for ((t = 0; t < 50; t++)); do [[ $(entries) == "$before" ]] && break; sleep 0.2; done
after_sum=$(summary)
note "b: amigoctl exited $rc $(elapsed "$t0") s after the start; om2 on hosta: $(state_on "$A" om2), on hostb: $(state_on "$B" om2)"
note "b: hostb's ledger during: $during"
note "b: hostb's ledger after:  $after_sum"
((rc == 6)) || fail "b: amigoctl exited $rc after SIGINT, expected 6 (cancelled)"
grep -q "cancelling migration" "$WORK/b.out" || fail "b: amigoctl did not say it cancels"
grep -q "migration of 'om2' cancelled" "$WORK/b.out" || fail "b: amigoctl did not report the cancellation"
[[ $(state_on "$A" om2) == running ]] || fail "b: om2 does not run on hosta after the cancel: $(state_on "$A" om2)"
[[ $(state_on "$B" om2) == absent ]] || fail "b: om2 exists on hostb after the cancel"
[[ $(entries) == "$before" ]] || fail "b: hostb's ledger changed: before '$before', after '$(entries)'"

# c. refused by the destination: hostb's reserve leaves 0.10 GiB free
mem=$(node_memory_gib hostb)
held=$(ledger_field hostb held memory)
reserve=$(awk -v m="$mem" -v h="$held" 'BEGIN { printf "%.6f", m - h - 0.1 }')
kill_amigod hostb
start_amigod hostb "reserve_memory = $reserve"
note "c: hostb: $(summary)"
t0=$(date +%s.%N)
rc=0
ctl hosta migrate om2 "$DEST" --migrate-uri "$MIGRATE_URI" >"$WORK/c.out" 2>&1 || rc=$?
sed 's/^/#   /' "$WORK/c.out"
note "c: amigoctl exited $rc after $(elapsed "$t0") s; om2 on hosta: $(state_on "$A" om2), on hostb: $(state_on "$B" om2)"
((rc == 5)) || fail "c: amigoctl exited $rc, expected 5 (refused)"
grep -qE "refused by the destination: memory: need [0-9.]+ GiB, 0.10 GiB free after reservations" "$WORK/c.out" ||
	fail "c: amigoctl does not show the destination's reason"
[[ $(state_on "$A" om2) == running ]] || fail "c: om2 does not run on hosta after the refusal"
[[ $(state_on "$B" om2) == absent ]] || fail "c: om2 exists on hostb after the refusal"
kill_amigod hostb
start_amigod hostb ""

# d. bad input
before=$(entries)
before_sum=$(summary)
n0=$(n_migrations)
expect_fail () {   # WHAT STATUS PATTERN ARGS...: amigoctl exits STATUS saying PATTERN
	local what=$1 want=$2 pattern=$3 rc=0 out
	shift 3
	out=$(ctl hosta "$@" 2>&1) || rc=$?
	note "d: $what: exit $rc: $out"
	((rc == want)) || fail "d: $what: amigoctl exited $rc, expected $want"
	grep -qE -- "$pattern" <<<"$out" || fail "d: $what: the message does not say '$pattern'"
}
# amigod's own checks, without amigoctl's in front: Migrate over the bus
expect_dbus_error () {   # WHAT ERROR-NAME DOMAIN URI OPTIONS
	local what=$1 name=$2 rc=0 out
	out=$("$LAB" exec hosta gdbus call --system --dest org.amigo.Daemon1 --object-path /org/amigo/Daemon1 \
		--method org.amigo.Daemon1.Migrate "$3" "$4" "$5" 2>&1) || rc=$?
	note "d: Migrate($3, '$4', $5) ($what): $out"
	((rc != 0)) || fail "d: $what: Migrate succeeded"
	grep -qF "$name" <<<"$out" || fail "d: $what: Migrate did not answer $name"
}
expect_fail "unknown domain" 4 "nosuchvm" migrate nosuchvm "$DEST"
expect_dbus_error "unknown domain" org.amigo.Error.NotFound nosuchvm "$DEST" '{}'
expect_fail "malformed URI" 2 "destination URI 'notauri' is not a URI" migrate om2 "notauri"
expect_fail "URI without a host" 2 "destination URI 'qemu\+tcp:///system' has no host" migrate om2 "qemu+tcp:///system"
expect_dbus_error "malformed URI" org.amigo.Error.InvalidArgs om2 'not a uri' '{}'
expect_dbus_error "URI without a host" org.amigo.Error.InvalidArgs om2 'qemu+tcp:///system' '{}'
expect_fail "--bandwidth 0" 2 "--bandwidth: '0' is out of range" migrate om2 "$DEST" --bandwidth 0
expect_fail "--downtime 999999" 2 "--downtime: '999999' is out of range" migrate om2 "$DEST" --downtime 999999
expect_dbus_error "bandwidth 0" org.amigo.Error.InvalidArgs om2 "$DEST" "{'bandwidth_mib_s': <0.0>}"
expect_dbus_error "downtime 999999 ms" org.amigo.Error.InvalidArgs om2 "$DEST" "{'downtime_limit_ms': <uint32 999999>}"
expect_dbus_error "unknown option" org.amigo.Error.InvalidArgs om2 "$DEST" "{'speed': <5>}"
n1=$(n_migrations)
note "d: migrations recorded on hosta before the refused calls: $n0, after: $n1"
[[ $n1 == "$n0" ]] || fail "d: a call answered with an error left a migration record"

# unreachable: nobody at 10.77.N.200 on the lab bridge
t0=$(date +%s.%N)
expect_fail "unreachable destination" 1 "failed: .+" migrate om2 "qemu+tcp://10.77.$AMIGO_LAB_ID.200/system"
note "d: the unreachable destination failed after $(elapsed "$t0") s"

# a second migrate of a domain already migrating
migrate_bg "$WORK/d-busy.out" om2 "$DEST" --migrate-uri "$MIGRATE_URI" --bandwidth 2
wait_precopy "$WORK/d-busy.out" || fail "d: no pre-copy progress: $(cat "$WORK/d-busy.out")"
expect_fail "second migrate while migrating" 1 "already migrating|busy" migrate om2 "$DEST"
kill -INT "$CTL_PID"
rc=0
wait "$CTL_BG" || rc=$?
CTL_BG=
note "d: the first migration, cancelled by SIGINT: exit $rc"
((rc == 6)) || fail "d: the first migration exited $rc after SIGINT, expected 6: $(cat "$WORK/d-busy.out")"

wait_running "$A" om2 || true
for ((t = 0; t < 50; t++)); do [[ $(entries) == "$before" ]] && break; sleep 0.2; done
note "d: om2 on hosta: $(state_on "$A" om2), on hostb: $(state_on "$B" om2); hostb's ledger before: $before_sum, after: $(summary)"
[[ $(state_on "$A" om2) == running ]] || fail "d: om2 does not run on hosta"
[[ $(state_on "$B" om2) == absent ]] || fail "d: om2 exists on hostb"
[[ $(entries) == "$before" ]] || fail "d: hostb's ledger changed: before '$before', after '$(entries)'"
ctl hosta migrations | sed 's/^/#   /'

note "orchestrated-migrate took $(($(date +%s) - t_start)) s"
echo "PASS"
