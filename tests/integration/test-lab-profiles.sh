#!/bin/bash
# Lab test: every workload class produces the resource profile it claims,
# as seen from libvirt's own statistics on a lab host.
#  - database: dirty rate (domdirtyrate-calc) >= 10x the idle guest's, disk writes
#  - web: moves network bytes through its virtio-net link (domstats --interface)
#  - ml: keeps every vCPU busy (cpu.time / vcpu.N.time deltas)
# Needs root (exit 77 otherwise). Always tears the lab down.
set -euo pipefail
. "$(dirname "$0")/../lab/lab-test-lib.sh"

t_start=$(date +%s)
"$LAB" up --hosts 1
URI=$("$LAB" uri hosta)

# --- database vs idle: dirty rate and disk I/O --------------------------------
"$LAB" guest hosta idle1 --class idle --memory 192 >/dev/null &
p1=$!
"$LAB" guest hosta db1 --class database --memory 192 >/dev/null &
p2=$!
wait $p1 || fail "idle guest did not start"
wait $p2 || fail "database guest did not start"
# a guest starved by a loaded machine may need a while after boot before it
# works: wait (bounded) until it reports work and writes to its disk
r=$(wait_progress hosta db1 0 'class=database ops/s=[1-9]' block.0.wr.reqs 60) ||
	fail "database guest does no work or writes nothing to its disk within ${r%% *} s of boot (${r##* } writes)"
note "database guest: working and writing to its disk ${r%% *} s after boot"
n0=$(console_lines db1)
wr0=$(stat_of hosta db1 --block block.0.wr.reqs)
virsh -q -c "$URI" domdirtyrate-calc idle1 --seconds 1 >/dev/null
virsh -q -c "$URI" domdirtyrate-calc db1 --seconds 1 >/dev/null
for name in idle1 db1; do
	for ((i = 0; i < 100; i++)); do
		[[ $(stat_of hosta "$name" --dirtyrate dirtyrate.calc_status) == 2 ]] && break
		sleep 0.2
	done
done
d_idle=$(stat_of hosta idle1 --dirtyrate dirtyrate.megabytes_per_second)
d_db=$(stat_of hosta db1 --dirtyrate dirtyrate.megabytes_per_second)
wr1=$(stat_of hosta db1 --block block.0.wr.reqs)
note "dirty rate: database ${d_db} MiB/s, idle ${d_idle} MiB/s; database disk writes in the window: $((wr1 - wr0))"
[[ -n $d_db && -n $d_idle ]] || fail "no dirty rate from libvirt"
floor=$((d_idle > 1 ? d_idle : 1))
((d_db >= 10 * floor)) || fail "database dirty rate ${d_db} MiB/s is not 10x the idle guest's (${d_idle})"
check_no_guest_crash db1 "$n0" "while measured"
virsh -q -c "$URI" destroy db1 >/dev/null

# --- web: network bytes ---------------------------------------------------------
"$LAB" guest hosta web1 --class web --memory 128 >/dev/null
r=$(wait_progress hosta web1 0 'class=web ops/s=[1-9]') || fail "web guest does no work within ${r%% *} s of boot"
tx0=$(stat_of hosta web1 --interface net.0.tx.bytes)
rx0=$(stat_of hosta web1 --interface net.0.rx.bytes)
sleep 5
tx1=$(stat_of hosta web1 --interface net.0.tx.bytes)
rx1=$(stat_of hosta web1 --interface net.0.rx.bytes)
note "web guest network in 5 s: tx $((tx1 - tx0)) bytes, rx $((rx1 - rx0)) bytes"
(((tx1 - tx0) + (rx1 - rx0) > 64 * 1024)) || fail "web guest moved less than 64 KiB in 5 s"
virsh -q -c "$URI" destroy web1 >/dev/null

# --- ml: every vCPU busy -----------------------------------------------------------
vcpus=2
"$LAB" guest hosta ml1 --class ml --vcpus $vcpus --memory 256 >/dev/null
r=$(wait_progress hosta ml1 0 'class=ml ops/s=[1-9]') || fail "ml guest does no work within ${r%% *} s of boot"
load=$(cut -d' ' -f1 /proc/loadavg)
pid=$(qemu_pid hosta ml1) || fail "no qemu process for ml1"
sched_sum() {  # run + wait ns of the guest's vCPU threads
	local t s=0 a b
	for t in /proc/"$pid"/task/*; do
		grep -q '^CPU [0-9]*/TCG' "$t/comm" 2>/dev/null || continue
		read -r a b _ <"$t/schedstat"
		s=$((s + a + b))
	done
	echo "$s"
}
busy_ns() {  # CPU time the whole machine spent busy (all CPUs), ns
	awk '$1 == "cpu" { printf "%.0f\n", ($2 + $3 + $4 + $7 + $8 + $9) * 1e9 / '"$(getconf CLK_TCK)"' }' /proc/stat
}
c0=$(stat_of hosta ml1 --cpu-total cpu.time)
i0=$(stat_of hosta idle1 --cpu-total cpu.time)
s0=$(sched_sum)
b0=$(busy_ns)
w0=$(now_ns)
sleep 5
c1=$(stat_of hosta ml1 --cpu-total cpu.time)
i1=$(stat_of hosta idle1 --cpu-total cpu.time)
s1=$(sched_sum)
w1=$(now_ns)
b1=$(busy_ns)
wall=$((w1 - w0))
ml_cores=$(awk -v a=$((c1 - c0)) -v w=$wall 'BEGIN { printf "%.2f", a / w }')
idle_cores=$(awk -v a=$((i1 - i0)) -v w=$wall 'BEGIN { printf "%.2f", a / w }')
want_cores=$(awk -v a=$((s1 - s0)) -v w=$wall 'BEGIN { printf "%.2f", a / w }')
note "ml guest ($vcpus vCPUs): libvirt cpu.time = $ml_cores cores; vCPU threads runnable $want_cores cores; idle guest $idle_cores cores; load $load"
virsh -c "$URI" domstats --vcpu ml1 | grep -E 'vcpu\.[0-9]+\.time' | sed 's/^/# /'
awk -v w="$want_cores" -v n=$vcpus 'BEGIN { exit !(w >= 0.8 * n) }' ||
	fail "ml guest does not want all its vCPUs (runnable $want_cores of $vcpus)"
awk -v m="$ml_cores" -v i="$idle_cores" 'BEGIN { exit !(m >= 10 * (i > 0.02 ? i : 0.02)) }' ||
	fail "ml guest CPU ($ml_cores cores) is not far above the idle guest's ($idle_cores)"
# the machine is quiet only if, during the window itself, everything but the
# ml guest used less than half a core (the load average lags behind)
others=$(awk -v b=$((b1 - b0)) -v m=$((c1 - c0)) -v w=$wall 'BEGIN { o = (b - m) / w; printf "%.2f", o < 0 ? 0 : o }')
note "rest of the machine during the window: $others cores"
if awk -v l="$load" -v n="$(nproc)" -v o="$others" 'BEGIN { exit !(l < n + 1 && o < 0.5) }'; then
	awk -v m="$ml_cores" -v n=$vcpus 'BEGIN { exit !(m >= 0.6 * n) }' ||
		fail "ml guest got $ml_cores cores of $vcpus vCPUs on a quiet machine"
else
	note "machine busy (load $load on $(nproc) CPUs, others $others cores): absolute ml core count not checked"
fi
"$LAB" console ml1 | grep -q 'class=ml ops/s=[1-9]' || fail "ml guest reports no ops/s"

note "lab profiles test took $(($(date +%s) - t_start)) s"
echo "PASS"
