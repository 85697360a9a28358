#!/bin/bash
# Lab test: a plain `virsh migrate --live` between two lab hosts works (a web
# guest, then a database guest with a disk), the guests keep working on the
# destination, and the job statistics (total
# time, downtime, data transferred) are recorded (printed and appended to
# $AMIGO_LAB_RECORDS, meson-logs/lab-migrations.log under meson).
# Needs root (exit 77 otherwise). Always tears the lab down.
set -euo pipefail
. "$(dirname "$0")/../lab/lab-test-lib.sh"

t_start=$(date +%s)
"$LAB" up --hosts 2
A=$("$LAB" uri hosta)
B=$("$LAB" uri hostb)

"$LAB" guest hosta mig1 --class web --memory 192
sleep 2
out=$("$LAB" migrate mig1 hosta hostb) || fail "migration failed: $out"
echo "$out"
rec=$(head -1 <<<"$out")
for k in total_ms downtime_ms data_MiB; do
	v=$(grep -o " $k=[0-9.]*" <<<"$rec" | cut -d= -f2)
	[[ -n $v ]] || fail "migration record has no numeric $k: $rec"
done
[[ $(virsh -c "$B" domstate mig1 2>/dev/null) == running ]] || fail "mig1 is not running on hostb"
! virsh -c "$A" domstate mig1 >/dev/null 2>&1 || fail "mig1 is still on hosta"

# the guest keeps working (and reaching the sink) on the destination
n0=$("$LAB" console mig1 | grep -c '^amigo-workload t=')
tx0=$(stat_of hostb mig1 --interface net.0.tx.bytes)
sleep 4
n1=$("$LAB" console mig1 | grep -c '^amigo-workload t=')
tx1=$(stat_of hostb mig1 --interface net.0.tx.bytes)
note "after migration: $((n1 - n0)) new ops lines, $((tx1 - tx0)) bytes sent on hostb"
((n1 > n0)) || fail "guest console stopped after migration"
((tx1 > tx0)) || fail "guest sends no network traffic on hostb"
"$LAB" console mig1 | tail -1 | grep -q 'ops/s=[1-9]' || fail "guest does no work after migration"
# a database guest: its disk is on the lab's NBD storage server, so a plain
# live migration is allowed and the disk I/O goes on from the destination
"$LAB" guest hosta db1 --class database --memory 160 --arg mem=32 >/dev/null
sleep 2
out=$("$LAB" migrate db1 hosta hostb) || fail "database migration failed: $out"
head -1 <<<"$out"
# writes come in bursts (page cache flushes), and slower on a loaded machine:
# wait up to 30 s for the first one
w0=$(stat_of hostb db1 --block block.0.wr.reqs)
waited=0
while :; do
	sleep 3
	waited=$((waited + 3))
	w1=$(stat_of hostb db1 --block block.0.wr.reqs)
	((w1 > w0 || waited >= 30)) && break
done
note "database guest after migration: $((w1 - w0)) disk writes in $waited s on hostb"
((w1 > w0)) || fail "database guest does no disk I/O after migration"
"$LAB" console db1 | tail -1 | grep -q 'class=database ops/s=[1-9]' || fail "database guest does no work after migration"

if [[ -n ${AMIGO_LAB_RECORDS:-} ]]; then
	note "records: $AMIGO_LAB_RECORDS"
	grep -q "name=mig1 from=hosta to=hostb result=ok" "$AMIGO_LAB_RECORDS" || fail "no record in $AMIGO_LAB_RECORDS"
fi
note "lab migrate test took $(($(date +%s) - t_start)) s"
echo "PASS"
