#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# amigod stays responsive while a guest migrates away from (and onto) its
# host. Two lab hosts (tests/lab/amigo-lab), an amigod for each (2 s
# interval, 10 s metadata interval, each on its own private bus); a guest
# that has amigo history on hosta migrates to hostb for at least 30 s
# (bandwidth-limited). Meanwhile a probe asks both amigods GetStatus /
# ListDomains every 200 ms. Every call must answer in under 250 ms and polls
# must keep their interval on both hosts (no gap between two polls longer
# than 1.5 intervals). The history summary written into the guest's live
# metadata on hosta must arrive on hostb with the guest and be imported.
# Prints the worst call latency and the longest poll gap of each host.
# Needs root (exit 77 otherwise). Always tears the lab down.
#
# With AMIGO_MIGRATING_VIA=amigod the migration is hosta's amigod's own
# (Migrate on its bus, followed to its MigrationFinished), so its threads
# for the migration call and the job statistics are measured too.
#
# usage: test-amigod-migrating.sh AMIGOD PROBE
# Environment: AMIGO_MIGRATING_BANDWIDTH (MiB/s, default 3),
# AMIGO_MIGRATING_VIA (virsh, the default, or amigod).
set -euo pipefail
AMIGOD=$1
PROBE=$2
. "$(dirname "$0")/../lab/lab-test-lib.sh"

BANDWIDTH=${AMIGO_MIGRATING_BANDWIDTH:-3}
VIA=${AMIGO_MIGRATING_VIA:-virsh}
GUEST=migr1
GUEST_MIB=512
MIN_MIGRATION_S=30
MAX_CALL_MS=250
INTERVAL_MS=2000
MAX_GAP_MS=$((INTERVAL_MS * 3 / 2))

WORK=$(mktemp -d /tmp/amigo-migrating-XXXXXX)
stop_all () {
	local rc=$?
	lab_stop_amigods "$rc"
	rm -rf "$WORK"
	(exit "$rc")
	lab_teardown
}
trap stop_all EXIT

"$LAB" up --hosts 2

lab_start_amigod hosta
lab_start_amigod hostb

"$LAB" guest hosta "$GUEST" --class idle --memory "$GUEST_MIB" >/dev/null
A=$("$LAB" uri hosta)
B=$("$LAB" uri hostb)

# hosta's amigod has history for the guest and has written its summary
for ((t = 0; t < 60; t++)); do
	meta=$(virsh -q -c "$A" metadata "$GUEST" http://amigo.dev/xmlns/domain/1 2>/dev/null || true)
	[[ $meta == *history* ]] && break
	sleep 1
done
[[ $meta == *history* ]] || fail "no history summary in $GUEST's metadata on hosta after 60 s"
note "summary in $GUEST's live metadata on hosta: ${#meta} bytes"
# only the live definition carries it (a persistent guest's inactive XML
# is the administrator's)
if virsh -q -c "$A" dominfo "$GUEST" 2>/dev/null | grep '^Persistent: *yes' >/dev/null; then
	cfg=$(virsh -q -c "$A" metadata "$GUEST" http://amigo.dev/xmlns/domain/1 --config 2>/dev/null || true)
	[[ $cfg != *history* ]] || fail "the summary was written into $GUEST's persistent definition"
	note "$GUEST is persistent on hosta: its inactive definition has no summary"
fi

"$PROBE" 200 "$(head -n1 "$WORK/address-hosta")" "$(head -n1 "$WORK/address-hostb")" >"$WORK/probe.out" 2>"$WORK/probe.err" &
PROBE_PID=$!
PIDS+=("$PROBE_PID")
sleep 3
# Migrate on hosta's amigod; prints its MigrationFinished, fails unless completed
migrate_via_amigod () {
	local addr=${AMIGOD_BUS[hosta]} reply id t
	reply=$(gdbus call --address "$addr" --dest org.amigo.Daemon1 --object-path /org/amigo/Daemon1 \
		--method org.amigo.Daemon1.Migrate "$GUEST" "$B" \
		"{'migrate_uri': <'tcp://$("$LAB" addr hostb)'>, 'bandwidth_mib_s': <$BANDWIDTH.0>}") || return 1
	id=$(sed -E "s/^\('([^']+)'.*/\1/" <<<"$reply")
	for ((t = 0; t < 3000; t++)); do
		grep -q "MigrationFinished ('$id'" "$WORK/signals" && break
		sleep 0.1
	done
	grep "MigrationFinished ('$id'" "$WORK/signals" | grep "'state': <'completed'>"
}
# the signal monitor starts here, not in migrate_via_amigod: that runs in a
# command substitution's subshell, whose PIDS the cleanup never sees
if [[ $VIA == amigod ]]; then
	gdbus monitor --address "${AMIGOD_BUS[hosta]}" --dest org.amigo.Daemon1 >"$WORK/signals" 2>&1 &
	PIDS+=($!)
	sleep 0.5
fi
t0=$(date +%s.%N)
if [[ $VIA == amigod ]]; then
	out=$(migrate_via_amigod) || fail "the migration through amigod failed: $out $(grep MigrationFinished "$WORK/signals")"
else
	out=$("$LAB" migrate "$GUEST" hosta hostb -- --bandwidth "$BANDWIDTH") || fail "migration failed: $out"
fi
t1=$(date +%s.%N)
sleep 5   # polls after the migration count too
kill -TERM "$PROBE_PID"
wait "$PROBE_PID" || fail "the probe failed: $(cat "$WORK/probe.err")"
head -1 <<<"$out"
cat "$WORK/probe.err" >&2
migration_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

ok=1
note "migration (through $VIA) of a $GUEST_MIB MiB guest at $BANDWIDTH MiB/s took $migration_s s"
awk -v m="$migration_s" -v min="$MIN_MIGRATION_S" 'BEGIN { exit !(m >= min) }' ||
	{ echo "FAIL: the migration took $migration_s s, less than the $MIN_MIGRATION_S s this test needs (lower AMIGO_MIGRATING_BANDWIDTH)" >&2; ok=0; }
i=0
for h in hosta hostb; do
	i=$((i + 1))
	line=$(sed -n "${i}p" "$WORK/probe.out")
	worst=$(sed -n 's/.* worst_ms=\([0-9.]*\).*/\1/p' <<<"$line")
	gap=$(sed -n 's/.* longest_poll_gap_ms=\([0-9.]*\).*/\1/p' <<<"$line")
	calls=$(sed -n 's/.* calls=\([0-9]*\).*/\1/p' <<<"$line")
	polls=$(sed -n 's/.* polls=\([0-9]*\).*/\1/p' <<<"$line")
	errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$line")
	worst_at=$(sed -n 's/.* worst_at=\([^ ]*\).*/\1/p' <<<"$line")
	note "$h: $calls D-Bus calls, worst $worst ms (sent at $worst_at); $polls polls, longest gap between polls $gap ms"
	[[ -n $worst && -n $gap ]] || { echo "FAIL: no figures for $h: '$line'" >&2; ok=0; continue; }
	((errors == 0)) || { echo "FAIL: $errors D-Bus calls to the amigod of $h failed" >&2; ok=0; }
	awk -v w="$worst" -v max="$MAX_CALL_MS" 'BEGIN { exit !(w < max) }' ||
		{ echo "FAIL: a D-Bus call to the amigod of $h took $worst ms (limit $MAX_CALL_MS ms)" >&2; ok=0; }
	awk -v g="$gap" -v max="$MAX_GAP_MS" 'BEGIN { exit !(g > 0 && g <= max) }' ||
		{ echo "FAIL: the amigod of $h went $gap ms between polls (interval $INTERVAL_MS ms, limit $MAX_GAP_MS ms)" >&2; ok=0; }
done

# the summary travelled with the guest and hostb's amigod imported it
[[ $(virsh -c "$B" domstate "$GUEST" 2>/dev/null) == running ]] || { echo "FAIL: $GUEST is not running on hostb" >&2; ok=0; }
meta=$(virsh -q -c "$B" metadata "$GUEST" http://amigo.dev/xmlns/domain/1 2>/dev/null || true)
[[ $meta == *history* ]] || { echo "FAIL: no history summary in $GUEST's metadata on hostb" >&2; ok=0; }
for ((t = 0; t < 10; t++)); do
	grep -q "imported the history summary from the metadata of '$GUEST'" "$WORK/amigod-hostb.log" && break
	sleep 1
done
grep -q "imported the history summary from the metadata of '$GUEST'" "$WORK/amigod-hostb.log" ||
	{ echo "FAIL: hostb's amigod did not import $GUEST's history summary" >&2; ok=0; }
((ok)) || exit 1
echo "PASS"
