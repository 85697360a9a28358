# shellcheck shell=bash
# Helpers of the allocation lab tests (test-allocation-*.sh): the real amigod
# on a lab host's own system bus, under amigo's bus policy, as the libvirt
# hook (amigo-hook) reaches it there. Sourced after lab-test-lib.sh, with
# AMIGOD, AMIGOCTL, POLICY and WORK set.

mkdir -p "$WORK/system.d"
sed 's/group="[^"]*"/group="root"/' "$POLICY" >"$WORK/system.d/org.amigo.Daemon1.conf"
declare -A AMIGOD_PID=()

# install_policy HOST: amigo's bus policy on HOST's system bus
install_policy () {
	"$LAB" exec "$1" /bin/bash -c "
		mount --bind '$WORK/system.d' /etc/dbus-1/system.d
		dbus-send --system --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ReloadConfig >/dev/null"
}

# start_amigod HOST [ALLOCATION KEY=VALUE LINES]: amigod on HOST's system
# bus, polling HOST's libvirtd every 2 s, state in $WORK/state-HOST (kept
# across restarts); waits until it owns its name and knows the capacity
start_amigod () {
	local host=$1 extra=${2:-}
	printf '[daemon]\nuri = qemu:///system\ninterval = 2s\nstate_dir = %s\n[allocation]\n%s\n' \
		"$WORK/state-$host" "$extra" >"$WORK/amigod-$host.conf"
	"$LAB" exec "$host" /bin/bash -c "
		setsid '$AMIGOD' --config '$WORK/amigod-$host.conf' --verbose </dev/null >>'$WORK/amigod-$host.log' 2>&1 &
		echo \$! >'$WORK/amigod-$host.pid'"
	AMIGOD_PID[$host]=$(cat "$WORK/amigod-$host.pid")
	local t
	for ((t = 0; t < 100; t++)); do
		ctl "$host" --json ledger 2>/dev/null | grep -q '"capacity_known" : true' && return 0
		sleep 0.2
	done
	fail "amigod on $host did not come up: $(tail -5 "$WORK/amigod-$host.log")"
}

# kill_amigod HOST [SIGNAL]
kill_amigod () {
	local host=$1 sig=${2:-TERM} t
	kill "-$sig" "${AMIGOD_PID[$host]}" 2>/dev/null || true
	for ((t = 0; t < 50; t++)); do
		kill -0 "${AMIGOD_PID[$host]}" 2>/dev/null || break
		sleep 0.1
	done
	unset "AMIGOD_PID[$host]"
}

stop_amigods () {
	local h
	for h in "${!AMIGOD_PID[@]}"; do kill_amigod "$h"; done
}

# ctl HOST ARGS...: amigoctl on HOST's system bus
ctl () {
	local host=$1
	shift
	"$LAB" exec "$host" "$AMIGOCTL" "$@"
}

# ledger_field HOST GROUP RESOURCE: one amount of `amigoctl ledger --json`
ledger_field () {
	ctl "$1" --json ledger | python3 -c "import json, sys; print(json.load(sys.stdin)['$2']['$3'])"
}

# the host's memory as libvirt reports it, GiB
node_memory_gib () {
	virsh -c "$("$LAB" uri "$1")" nodeinfo | awk '/^Memory size:/ { printf "%.6f", $3 / 1048576 }'
}
