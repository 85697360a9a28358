#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# allocation-contention: a web server migrates onto a host whose CPU is
# short, busy with a lower-priority neighbour. Two lab hosts confined to
# 1.5 cores each (amigo-lab up --cpus 1.5); on hostb a neighbour 'nb1'
# burning its vCPU, SLO class batch; on hosta 'web1', a web workload
# (always in a burst), SLO class web_server, whose own ops counter (the
# total= of its console lines) gives its work rate.
#
# 1. plain libvirt: no amigod; web1 migrates hosta -> hostb; its work rate
#    over the migration and the next 60 s as a fraction of its rate on
#    hosta just before. Then web1 is destroyed.
# 2. amigo: amigod (with its allocation loops) runs inside hostb; a fresh
#    web2 (the same workload) makes the same migration: the same figure.
#
# Prints both fractions; fails if the amigo one is below 0.90 (the goal),
# after printing them. Also checks that amigod capped the neighbour with
# the SLO protected named in the log, handed the values back to libvirt
# after the settle period, and that GetControllers answers (amigoctl
# controllers, a plot in meson-logs when gnuplot is there).
# Needs root (exit 77 otherwise). Always tears the lab down.
#
# usage: test-allocation-contention.sh AMIGOD AMIGOCTL
# Environment: AMIGO_CONTENTION_CPUS (host CPUs, default 1.5),
# AMIGO_CONTENTION_AFTER_S (seconds measured after the migration, default 60).
set -euo pipefail
AMIGOD=$1
AMIGOCTL=$2
. "$(dirname "$0")/../lab/lab-test-lib.sh"

CPUS=${AMIGO_CONTENTION_CPUS:-1.5}
AFTER_S=${AMIGO_CONTENTION_AFTER_S:-60}
PRE_S=30
GOAL=0.90
WEB=web1
WEB2=web2
NB=nb1
LOGDIR=${MESON_BUILD_ROOT:-$(pwd)}/meson-logs
[[ -d $LOGDIR ]] || LOGDIR=$(pwd)

WORK=$(mktemp -d /tmp/amigo-contention-XXXXXX)
PIDS=()
AMIGOD_PID=
stop_all () {
	local rc=$?
	local p
	if ((rc != 0)) && [[ -f $WORK/amigod.log ]]; then
		echo "# --- amigod on hostb (last lines) ---"
		tail -n 30 "$WORK/amigod.log" | sed 's/^/#   /'
	fi
	[[ -f $WORK/amigod.log ]] && cp "$WORK/amigod.log" "$LOGDIR/allocation-contention-amigod.log" 2>/dev/null || true
	[[ -n $AMIGOD_PID ]] && kill "$AMIGOD_PID" 2>/dev/null || true
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
	(exit "$rc")
	lab_teardown
}
trap stop_all EXIT

# total= and the wall time of the latest console line of guest NAME
total_of () {
	"$LAB" console "$1" | grep -a 'amigo-workload t=' | tail -1 | sed -n 's/.* total=\([0-9]*\).*/\1/p'
}
now_s () { date +%s.%N; }

# the work rate of NAME from total T0 at wall W0 to now
rate_since () {
	local name=$1 t0=$2 w0=$3 t1 w1
	t1=$(total_of "$name")
	w1=$(now_s)
	((t1 >= t0)) || fail "the ops counter of $name went back ($t0 -> $t1): its workload restarted"
	awk -v a="$t0" -v b="$t1" -v x="$w0" -v y="$w1" 'BEGIN { printf "%.1f", (b - a) / (y - x) }'
}

# CPU cores NAME on HOST uses (libvirt's cpu.time over 5 s)
cpu_of () {
	local c0 c1
	c0=$(stat_of "$1" "$2" --cpu-total cpu.time)
	sleep 5
	c1=$(stat_of "$1" "$2" --cpu-total cpu.time)
	awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", (b - a) / 5e9 }'
}

# one run of guest WEB: FROM -> TO, prints "PRE DURING FRACTION MIGRATION_S"
run_once () {
	local WEB=$1 from=$2 to=$3 t0 w0 pre during lines out m0 m1
	t0=$(total_of "$WEB")
	w0=$(now_s)
	sleep "$PRE_S"
	pre=$(rate_since "$WEB" "$t0" "$w0")
	lines=$(console_lines "$WEB")
	t0=$(total_of "$WEB")
	w0=$(now_s)
	m0=$w0
	out=$("$LAB" migrate "$WEB" "$from" "$to") || fail "migration $from -> $to failed: $out"
	m1=$(now_s)
	sleep "$AFTER_S"
	during=$(rate_since "$WEB" "$t0" "$w0")
	check_no_guest_crash "$WEB" "$lines" "after the migration to $to"
	awk -v p="$pre" -v d="$during" -v a="$m0" -v b="$m1" \
		'BEGIN { printf "%s %s %.3f %.1f\n", p, d, (p > 0 ? d / p : 0), b - a }'
}

"$LAB" up --hosts 2 --cpus "$CPUS"
A=$("$LAB" uri hosta)
B=$("$LAB" uri hostb)
"$LAB" guest hostb "$NB" --class burn >/dev/null
# a web server always in a burst: its rate is its CPU's
web_guest () {
	"$LAB" guest hosta "$1" --class web --arg burst=100000 --arg quiet=0.01 >/dev/null
	wait_progress hosta "$1" 0 'ops/s=[1-9]' '' 120 >/dev/null || fail "$1 does not make progress on hosta"
	note "$1 uses $(cpu_of hosta "$1") cores on hosta; $NB uses $(cpu_of hostb "$NB") cores on hostb"
}
web_guest "$WEB"

# --- 1. plain libvirt ---
read -r pre_plain during_plain frac_plain mig_plain < <(run_once "$WEB" hosta hostb)
note "plain libvirt: $WEB $pre_plain ops/s on hosta before, $during_plain ops/s through the migration ($mig_plain s) and the next $AFTER_S s: fraction $frac_plain"
virsh -q -c "$B" destroy "$WEB" >/dev/null

# --- 2. amigo on the destination ---
dbus-daemon --session --fork --nopidfile --print-address=3 --print-pid=4 \
	--address="unix:path=$WORK/bus" 3>"$WORK/address" 4>"$WORK/dbus.pid" 2>/dev/null
PIDS+=("$(cat "$WORK/dbus.pid")")
BUS=$(head -n1 "$WORK/address")
cat >"$WORK/amigod.conf" <<EOF
[daemon]
uri = qemu:///system
interval = 1s
metadata_interval = 10s
state_dir = $WORK/state
[forecast]
settle = 30s
EOF
cat >"$WORK/slo.conf" <<EOF
[domain:$WEB]
class = web_server
[domain:$WEB2]
class = web_server
[domain:$NB]
class = batch
# a batch job may be taken down to 5 % of its size
[class:batch]
min = 0.05
EOF
# inside hostb: its libvirtd, its cgroups (the domains' cgroup files), its CPU
"$LAB" exec hostb /bin/sh -c 'echo $$ >"$0"; exec env AMIGOD_SLO_CONFIG="$1" "$2" --config "$3" --bus-address "$4" --verbose' \
	"$WORK/amigod.pid" "$WORK/slo.conf" "$AMIGOD" "$WORK/amigod.conf" "$BUS" >"$WORK/amigod.log" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 50; i++)); do [[ -s $WORK/amigod.pid ]] && break; sleep 0.1; done
AMIGOD_PID=$(cat "$WORK/amigod.pid")
for ((i = 0; i < 30; i++)); do
	grep -q "host capacity" "$WORK/amigod.log" && break
	sleep 1
done
grep "host capacity" "$WORK/amigod.log" | sed 's/^/# amigod: /' || fail "amigod on hostb did not size the host"

web_guest "$WEB2"
WEB=$WEB2
read -r pre_amigo during_amigo frac_amigo mig_amigo < <(run_once "$WEB" hosta hostb)
note "amigo: $WEB $pre_amigo ops/s on hosta before, $during_amigo ops/s through the migration ($mig_amigo s) and the next $AFTER_S s: fraction $frac_amigo"
echo "allocation-contention plain_libvirt=$frac_plain amigo=$frac_amigo goal=$GOAL cpus=$CPUS after_s=$AFTER_S" \
	"plain_pre_ops=$pre_plain plain_during_ops=$during_plain amigo_pre_ops=$pre_amigo amigo_during_ops=$during_amigo"

ok=1
grep -a -E "allocation loops of incoming domain '$WEB' started|capped|handed back|stopped|lifted" "$WORK/amigod.log" |
	sed 's/^/# amigod: /' | head -20 || true
grep -a -q "allocation loops of incoming domain '$WEB' started" "$WORK/amigod.log" ||
	{ echo "FAIL: amigod on hostb started no allocation loops for $WEB" >&2; ok=0; }
grep -a -q "cpu of '$NB' capped .* to serve the protected cpu of '$WEB'" "$WORK/amigod.log" ||
	{ echo "FAIL: amigod did not cap $NB's CPU for the protected CPU of $WEB" >&2; ok=0; }
grep -a -q "allocation of '$WEB' handed back to libvirt" "$WORK/amigod.log" ||
	{ echo "FAIL: the allocation of $WEB was not handed back to libvirt after the settle period" >&2; ok=0; }
virsh -c "$B" schedinfo "$WEB" --live | grep -E 'global_(quota|period)' | sed "s/^/# libvirt schedinfo $WEB: /" || true
virsh -c "$B" schedinfo "$NB" --live | grep -E 'global_quota' | sed "s/^/# libvirt schedinfo $NB: /" || true
note "$WEB uses $(cpu_of hostb "$WEB") cores on hostb now; $NB $(cpu_of hostb "$NB")"
if ! "$AMIGOCTL" --bus-address "$BUS" controllers "$WEB" >"$WORK/controllers.txt" 2>&1; then
	echo "FAIL: amigoctl controllers $WEB: $(cat "$WORK/controllers.txt")" >&2
	ok=0
else
	sed 's/^/# /' "$WORK/controllers.txt"
fi
if command -v gnuplot >/dev/null; then
	"$AMIGOCTL" --bus-address "$BUS" controllers "$WEB" --plot "$LOGDIR/allocation-contention.png" >/dev/null ||
		{ echo "FAIL: amigoctl controllers --plot failed" >&2; ok=0; }
fi
awk -v f="$frac_amigo" -v g="$GOAL" 'BEGIN { exit !(f >= g) }' ||
	{ echo "FAIL: with amigo $WEB kept $frac_amigo of its work rate (goal $GOAL; plain libvirt $frac_plain)" >&2; ok=0; }
((ok))
