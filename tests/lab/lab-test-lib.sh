# shellcheck shell=bash
# Helpers shared by the lab integration tests (tests/integration/test-lab-*.sh).
# Sourced, not run.  Sets LAB (the amigo-lab script), takes the machine-wide
# lab test lock, tears the lab down on exit and checks nothing is left.

[[ $(id -u) == 0 ]] || { echo "SKIP: the lab needs root"; exit 77; }

LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/amigo-lab
# the tests run their own lab (names amigo-lab9-*, bridge amigolab9,
# 10.77.9.0/24) so they never disturb a lab someone started by hand
export AMIGO_LAB_ID=${AMIGO_LAB_ID:-9}
export AMIGO_LAB_DIR=${AMIGO_LAB_DIR:-/var/tmp/amigo-lab$AMIGO_LAB_ID}
mkdir -p "$AMIGO_LAB_DIR"
LAB_PREFIX=amigo-lab$AMIGO_LAB_ID

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "# $*"; }

# one lab at a time on this machine (several build dirs may run tests)
exec 7>/run/lock/amigo-lab-tests.lock
flock -w 300 7 || fail "another lab test (or a lab it left up) held /run/lock/amigo-lab-tests.lock for 5 minutes"

lab_teardown() {
	local rc=$?
	"$LAB" down >/dev/null 2>&1 || true
	local left=
	left+=$(ip netns list 2>/dev/null | grep "^$LAB_PREFIX-" || true)
	left+=$(grep "$LAB_PREFIX-" /proc/mounts || true)
	left+=$(ls -d /sys/fs/cgroup/*/"$LAB_PREFIX"-* /sys/fs/cgroup/"$LAB_PREFIX"-* 2>/dev/null || true)
	left+=$(ip -br link 2>/dev/null | grep -E "^(alab$AMIGO_LAB_ID-|amigolab$AMIGO_LAB_ID)" || true)
	if [[ -n $left ]]; then
		echo "FAIL: lab leftovers after down: $left" >&2
		rc=1
	fi
	exit "$rc"
}
trap lab_teardown EXIT
trap 'exit 130' INT TERM

# a killed earlier run may have left a lab behind: take it down first
"$LAB" down >/dev/null 2>&1 || true

# domstats FIELD of guest NAME on HOST (one number)
stat_of() {
	local host=$1 name=$2 group=$3 field=$4
	virsh -c "$("$LAB" uri "$host")" domstats "$group" "$name" | awk -F= -v f="  $field" '$1 == f { print $2 }'
}

# the qemu process of guest NAME (it lives in the host's network namespace)
qemu_pid() {
	local host=$1 name=$2 p
	for p in $(ip netns pids "$LAB_PREFIX-$host"); do
		if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "guest=$name,"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

now_ns() { date +%s%N; }

# number of lines in guest NAME's console log so far
console_lines() {
	"$LAB" console "$1" | wc -l
}

# Fails if guest NAME's console, after its first SKIP lines, shows a guest
# kernel crash or a reboot (a panicking guest reboots at once: panic=-1, and
# would otherwise look like a short stall).  WHAT names the moment for the message.
check_no_guest_crash() {
	local name=$1 skip=$2 what=$3 bad
	bad=$("$LAB" console "$name" | tail -n +"$((skip + 1))" |
		grep -m 3 -E 'Kernel panic|BUG:|Oops|general protection fault|amigo-guest: init done|amigo-guest: workload exited' || true)
	[[ -z $bad ]] || fail "guest $name crashed or rebooted $what: $bad"
}

# Waits (at most TIMEOUT s, default 60) until guest NAME on HOST shows
# progress after console line SKIP: a new console line matching PATTERN
# (e.g. 'ops/s=[1-9]') and, with a block FIELD, that counter going up.
# A guest starved by a loaded machine may stall for a while after boot or
# a migration; a guest that does not progress within the bound fails.
# Prints "<seconds waited> <counter increase>".
wait_progress() {
	local host=$1 name=$2 skip=$3 pattern=$4 field=${5:-} timeout=${6:-60}
	local c0=0 c1=0 t0 waited=0 seen=0 grew=0
	[[ -n $field ]] && c0=$(stat_of "$host" "$name" --block "$field")
	t0=$(date +%s)
	while :; do
		"$LAB" console "$name" | tail -n +"$((skip + 1))" | grep -q -- "$pattern" && seen=1
		if [[ -n $field ]]; then
			c1=$(stat_of "$host" "$name" --block "$field")
			((c1 > c0)) && grew=1
		else
			grew=1
		fi
		waited=$(($(date +%s) - t0))
		((seen && grew)) && break
		((waited >= timeout)) && break
		sleep 1
	done
	echo "$waited $((c1 - c0))"
	((seen && grew))
}

# amigod for lab host HOST on a bus of its own, polling that host's libvirtd
# every 2 s (metadata every 10 s); EXTRA (optional) is appended to its
# configuration. Needs AMIGOD (the binary) and WORK (a directory): its
# files are WORK/amigod-HOST.{conf,log}, state-HOST, bus-HOST, address-HOST.
# Sets AMIGOD_PID[HOST] and AMIGOD_BUS[HOST] and adds its pids to PIDS,
# which lab_stop_amigods ends.
declare -A AMIGOD_PID=() AMIGOD_BUS=()
PIDS=()
lab_start_amigod () {
	local host=$1 extra=${2:-}
	dbus-daemon --session --fork --nopidfile --print-address=3 --print-pid=4 \
		--address="unix:path=$WORK/bus-$host" 3>"$WORK/address-$host" 4>"$WORK/dbus-$host.pid" 2>/dev/null
	PIDS+=("$(cat "$WORK/dbus-$host.pid")")
	AMIGOD_BUS[$host]=$(head -n1 "$WORK/address-$host")
	cat >"$WORK/amigod-$host.conf" <<-CONF
	[daemon]
	uri = $("$LAB" uri "$host")
	interval = 2s
	metadata_interval = 10s
	state_dir = $WORK/state-$host
	$extra
	CONF
	"$AMIGOD" --config "$WORK/amigod-$host.conf" --bus-address "${AMIGOD_BUS[$host]}" --verbose \
		>"$WORK/amigod-$host.log" 2>&1 &
	PIDS+=($!)
	AMIGOD_PID[$host]=$!
}

# Ends what lab_start_amigod started (and any other pid in PIDS); after a
# failure (RC != 0) first says whether each amigod still ran and shows the
# last LINES (default 20) of its log.
lab_stop_amigods () {
	local rc=$1 lines=${2:-20} p h
	if ((rc != 0)); then
		for h in "${!AMIGOD_PID[@]}"; do
			kill -0 "${AMIGOD_PID[$h]}" 2>/dev/null || echo "# amigod on $h is not running any more"
			echo "# --- amigod on $h (last lines) ---"
			tail -n "$lines" "$WORK/amigod-$h.log" | sed 's/^/#   /'
		done
	fi
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
