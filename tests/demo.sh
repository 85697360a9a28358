#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The demo: installs what is needed, builds amigo, starts a one-host lab
# (its own libvirtd in a network namespace), boots two real TCG guests (one
# burning a vCPU, one serving web traffic), runs amigod against that host on a
# private D-Bus and shows amigoctl's view of the guests' usage and their
# reservation requests. Tears
# everything down at the end. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

tests/deps.sh
build=${AMIGO_BUILD:-build}
[ -d "$build" ] || meson setup "$build"
ninja -C "$build"

lab=tests/lab/amigo-lab
export AMIGO_LAB_ID=${AMIGO_LAB_ID:-1}
work=$(mktemp -d /tmp/amigo-demo.XXXXXX)
amigod_pid=
bus_pid=
cleanup() {
  [ -n "$amigod_pid" ] && kill "$amigod_pid" 2>/dev/null && wait "$amigod_pid" 2>/dev/null
  [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null
  "$lab" down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== starting a lab host and two guests"
"$lab" up --hosts 1
"$lab" guest hosta demo-burn --class burn --memory 192
"$lab" guest hosta demo-web --class web --memory 192
uri=$("$lab" uri hosta)

echo "== starting amigod against $uri"
dbus-daemon --session --fork --print-address=3 --print-pid=4 \
  3>"$work/bus.addr" 4>"$work/bus.pid"
bus_addr=$(cat "$work/bus.addr")
bus_pid=$(cat "$work/bus.pid")
cat >"$work/amigod.conf" <<CONF
[daemon]
uri = $uri
interval = 2s
state_dir = $work/state
metadata_interval = 10s

[history]
raw_retention = 1h
step = 10s
CONF
"$build/src/daemon/amigod" --config "$work/amigod.conf" --bus-address "$bus_addr" \
  2>"$work/amigod.log" &
amigod_pid=$!

ctl() { "$build/src/cli/amigoctl" --bus-address "$bus_addr" "$@"; }
for _ in $(seq 1 50); do ctl status >/dev/null 2>&1 && break; sleep 0.2; done

echo "== letting amigod sample the guests for 30 s"
sleep 30
echo
echo "\$ amigoctl status"; ctl status
echo
echo "\$ amigoctl domains"; ctl domains
echo
echo "\$ amigoctl history demo-burn cpu --since 20s"; ctl history demo-burn cpu --since 20s
echo
echo "\$ amigoctl history demo-web net_tx --since 20s"; ctl history demo-web net_tx --since 20s
echo
echo "\$ amigoctl forecast demo-burn   # what a destination should reserve for it now"; ctl forecast demo-burn
echo
echo "\$ amigoctl forecast demo-web --window 10m --link 100M"; ctl forecast demo-web --window 10m --link 100M
echo
echo "== guest console (work the web guest completed)"
"$lab" console demo-web | tail -n 3
