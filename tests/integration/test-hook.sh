#!/bin/bash
# amigo-hook against a stand-in amigod (test-hook-standin.py) on a private
# bus: every row of the hook's behaviour table (docs/hook.md), without
# libvirt. Needs dbus-daemon and python3-gi (exit 77 without them).
# With root and setpriv it also checks, on a system-type bus with amigo's
# bus policy, that AdmitMigration and ReleaseReservation are root-only.
# usage: test-hook.sh AMIGO_HOOK INTERFACE_XML [BUS_POLICY]
set -uo pipefail
HOOK=$(readlink -f "$1")
IFACE=$(readlink -f "$2")
POLICY=${3:-}
STANDIN=$(cd "$(dirname "$0")" && pwd)/test-hook-standin.py
FIXTURE=$(cd "$(dirname "$0")/../fixtures" && pwd)/domain-lab-guest.xml
command -v dbus-daemon >/dev/null || { echo "SKIP: no dbus-daemon"; exit 77; }
/usr/bin/python3 -c 'from gi.repository import Gio' 2>/dev/null || { echo "SKIP: no python3-gi"; exit 77; }

WORK=$(mktemp -d)
BUS_PID= STANDIN_PID= SYSBUS_PID= SYSSTANDIN_PID=
cleanup() {
	for p in $STANDIN_PID $BUS_PID $SYSSTANDIN_PID $SYSBUS_PID; do kill "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT

failures=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failures=$((failures + 1)); }

cat >"$WORK/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$WORK/bus</listen>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
CONF
dbus-daemon --config-file="$WORK/bus.conf" --nofork --nopidfile &
BUS_PID=$!
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$WORK/bus
export AMIGO_HOOK_CONF=$WORK/hook.conf
for ((t = 0; t < 50; t++)); do [[ -S $WORK/bus ]] && break; sleep 0.1; done

UUID=$(grep -o '<uuid>[^<]*' "$FIXTURE" | cut -d'>' -f2)
NAME=$(grep -o '<name>[^<]*' "$FIXTURE" | head -1 | cut -d'>' -f2)

# run_hook OP SUBOP [STDIN_FILE]: sets rc, out, err
run_hook() {
	local input=${3:-$FIXTURE}
	"$HOOK" "$NAME" "$1" "$2" - <"$input" >"$WORK/out" 2>"$WORK/err"
	rc=$?
	out=$(cat "$WORK/out")
	err=$(cat "$WORK/err")
}

# no amigod: fail open (no output: libvirt keeps its XML), or refuse if set
run_hook migrate begin
[[ $rc == 0 && -z $out && $err == *"admitting '$NAME' without a reservation: amigod is not running"* ]] &&
	ok "no amigod: admitted unchanged ($err)" || not_ok "no amigod: rc=$rc out=${out:0:80} err=$err"
AMIGO_HOOK_ON_UNAVAILABLE=refuse run_hook migrate begin
[[ $rc == 1 && $err == *"cannot admit '$NAME'"*"(on-unavailable=refuse)"* ]] &&
	ok "no amigod, on-unavailable=refuse: refused" || not_ok "on-unavailable=refuse: rc=$rc err=$err"
printf '[hook]\non-unavailable=refuse\n' >"$WORK/hook.conf"
run_hook migrate begin
[[ $rc == 1 ]] && ok "on-unavailable=refuse from the key file" || not_ok "key file: rc=$rc err=$err"
printf '[hook]\non-unavailable=maybe\ntimeout=forever\n' >"$WORK/hook.conf"
run_hook migrate begin
[[ $rc == 0 && $err == *"on-unavailable 'maybe' is not 'admit' or 'refuse', using 'admit'"* &&
   $err == *"timeout: "*"'forever'"*"using 10s"* ]] &&
	ok "bad settings are named and the defaults kept" || not_ok "bad settings: rc=$rc err=$err"
AMIGO_HOOK_TIMEOUT=1h run_hook migrate begin
[[ $err == *"timeout: '1h' is not between 100ms and 5m, using 10s"* ]] &&
	ok "an out-of-range timeout is named" || not_ok "timeout 1h: err=$err"
rm -f "$WORK/hook.conf"
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$WORK/nobus run_hook migrate begin
[[ $rc == 0 && $err == *"without a reservation: cannot reach the system bus: "* ]] &&
	ok "no system bus: fail open, named" || not_ok "no bus: rc=$rc err=$err"

echo "refuse memory: need 1.42 GiB, 0.90 GiB free after reservations" >"$WORK/mode"
/usr/bin/python3 "$STANDIN" "$IFACE" "$WORK/mode" "$WORK/calls.log" &
STANDIN_PID=$!
for ((t = 0; t < 50; t++)); do grep -q owned "$WORK/calls.log" 2>/dev/null && break; sleep 0.1; done

run_hook migrate begin
[[ $rc == 1 && -z $out && $err == "amigo: memory: need 1.42 GiB, 0.90 GiB free after reservations" ]] &&
	ok "refused: exit 1, the reason on stderr" || not_ok "refused: rc=$rc out=${out:0:80} err=$err"
grep -q "AdmitMigration uuid=$UUID bytes=$(wc -c <"$FIXTURE") " "$WORK/calls.log" &&
	ok "amigod got the whole XML from stdin" || not_ok "AdmitMigration call: $(tail -1 "$WORK/calls.log")"

echo "admit 2048" >"$WORK/mode"
run_hook migrate begin
[[ $rc == 0 && $out == *"<cputune><shares>2048</shares></cputune>"* && $out == *"<uuid>$UUID</uuid>"* ]] &&
	ok "admitted: the returned XML on stdout" || not_ok "admitted: rc=$rc out=${out:0:80} err=$err"

echo "fail the ledger is broken" >"$WORK/mode"
run_hook migrate begin
[[ $rc == 0 && $err == *"without a reservation: the ledger is broken"* ]] &&
	ok "amigod error other than Refused: fail open" || not_ok "amigod failure: rc=$rc err=$err"

echo "hang" >"$WORK/mode"
t0=$(date +%s%N)
AMIGO_HOOK_TIMEOUT=500ms run_hook migrate begin
ms=$((($(date +%s%N) - t0) / 1000000))
[[ $rc == 0 && $err == *"amigod did not answer within 500ms"* && $ms -lt 3000 ]] &&
	ok "amigod hangs: admitted after the timeout (${ms} ms)" || not_ok "hang: rc=$rc ms=$ms err=$err"

head -c $((16 * 1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$WORK/big"
run_hook migrate begin "$WORK/big"
[[ $rc == 0 && $err == *"larger than the limit of 16777216 bytes"* ]] &&
	ok "oversized stdin named, fail open" || not_ok "oversized: rc=$rc err=$err"

echo "admit 1" >"$WORK/mode"
for op in "release end" "stopped end" "migrate end"; do
	run_hook $op
	[[ $rc == 0 && -z $out ]] && grep -q "ReleaseReservation uuid=$UUID reason='$op'" "$WORK/calls.log" &&
		ok "$op: ReleaseReservation" || not_ok "$op: rc=$rc err=$err"
done
echo '<domain><name>x</name></domain>' >"$WORK/nouuid"
run_hook release end "$WORK/nouuid"
[[ $rc == 0 && $err == *"cannot release the reservation of '$NAME': the domain XML on stdin has no valid <uuid>"* ]] &&
	ok "release without a uuid: named, exit 0" || not_ok "release without uuid: rc=$rc err=$err"

n=$(wc -l <"$WORK/calls.log")
for op in "prepare begin" "start begin" "started begin" "stopped begin" "release begin" "reconnect begin"; do
	run_hook $op
	[[ $rc == 0 && -z $out && -z $err ]] || not_ok "$op: rc=$rc out=${out:0:80} err=$err"
done
[[ $(wc -l <"$WORK/calls.log") == "$n" ]] && ok "other operations: exit 0, no output, no call" ||
	not_ok "other operations called amigod: $(tail -2 "$WORK/calls.log")"

"$HOOK" >/dev/null 2>&1
[[ $? == 2 ]] && ok "no arguments: usage, exit 2" || not_ok "no arguments"

# --- the bus policy: Debian's system.conf with amigo's policy (its read
# group replaced by 'nogroup') ---
SYSTEM_CONF=/usr/share/dbus-1/system.conf
skipped=
if [[ -n $POLICY && -f $SYSTEM_CONF && $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
	mkdir -p "$WORK/system.d"
	chmod 755 "$WORK"
	sed 's/group="[^"]*"/group="nogroup"/' "$POLICY" >"$WORK/system.d/org.amigo.Daemon1.conf"
	sed -e "s|<listen>.*</listen>|<listen>unix:path=$WORK/sysbus</listen>|" -e '/<pidfile>/d' -e '/<user>/d' \
		-e "s|<includedir>system.d</includedir>|<includedir>$WORK/system.d</includedir>|" \
		-e '/<includedir>\/etc\/dbus-1\/system.d<\/includedir>/d' -e '/system-local.conf/d' \
		-e '/<servicedir>/d' -e '/<standard_system_servicedirs/d' "$SYSTEM_CONF" >"$WORK/sysbus.conf"
	dbus-daemon --config-file="$WORK/sysbus.conf" --fork --nopidfile --print-pid=4 4>"$WORK/sysbus.pid" 2>/dev/null
	SYSBUS_PID=$(cat "$WORK/sysbus.pid")
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$WORK/sysbus
	echo "admit 4096" >"$WORK/mode"
	/usr/bin/python3 "$STANDIN" "$IFACE" "$WORK/mode" "$WORK/sys-calls.log" &
	SYSSTANDIN_PID=$!
	for ((t = 0; t < 50; t++)); do grep -q owned "$WORK/sys-calls.log" 2>/dev/null && break; sleep 0.1; done
	chmod 644 "$FIXTURE" 2>/dev/null
	run_hook migrate begin
	[[ $rc == 0 && $out == *"<shares>4096</shares>"* ]] && ok "policy: root may call AdmitMigration" ||
		not_ok "policy, root: rc=$rc err=$err"
	for who in "nogroup:the read group" "daemon:anyone else"; do
		group=${who%%:*} label=${who#*:}
		setpriv --reuid=nobody --regid="$group" --clear-groups "$HOOK" "$NAME" migrate begin - \
			<"$FIXTURE" >"$WORK/out" 2>"$WORK/err"
		rc=$?
		[[ $rc == 0 && ! -s $WORK/out && $(cat "$WORK/err") == *"Rejected send message"*AdmitMigration* ]] &&
			ok "policy: $label may not call AdmitMigration" || not_ok "policy, $label: rc=$rc err=$(cat "$WORK/err")"
		setpriv --reuid=nobody --regid="$group" --clear-groups "$HOOK" "$NAME" release end - <"$FIXTURE" 2>"$WORK/err"
		[[ $(cat "$WORK/err") == *"Rejected send message"*ReleaseReservation* ]] &&
			ok "policy: $label may not call ReleaseReservation" || not_ok "policy release, $label: $(cat "$WORK/err")"
	done
	[[ $(grep -c "^.* AdmitMigration" "$WORK/sys-calls.log") == 1 && $(grep -c ReleaseReservation "$WORK/sys-calls.log") == 0 ]] &&
		ok "policy: only root's call reached amigod" || not_ok "policy: calls seen: $(cat "$WORK/sys-calls.log")"
else
	echo "# skipping the bus policy check (needs root, setpriv, $SYSTEM_CONF and the policy file)"
	skipped=bus-policy
fi

((failures == 0)) || { echo "FAIL: $failures"; exit 1; }
# a check that could not run is not a pass
[[ -z $skipped ]] || { echo "SKIP: not checked: $skipped"; exit 77; }
echo PASS
