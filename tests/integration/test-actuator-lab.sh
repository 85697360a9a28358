#!/bin/bash
# Lab test: during a bandwidth-limited incoming migration the libvirt
# actuator defers, the direct cgroup actuator writes the destination's
# cgroup, the values survive the end of the migration and are handed back
# to libvirt so its live XML says them (docs/allocation.md, "Actuators: what
# libvirt allows during a migration"). Needs root (exit 77 otherwise).
# Usage: test-actuator-lab.sh HELPER
set -euo pipefail
. "$(dirname "$0")/../lab/lab-test-lib.sh"
helper=$1

"$LAB" up --hosts 2
"$LAB" guest hosta act1 --class ml --memory 512
out=$(mktemp)
"$LAB" exec hostb "$helper" act1 >"$out" 2>&1 &
pid=$!
sleep 0.5
rec=$("$LAB" migrate act1 hosta hostb -- --bandwidth 8) || { cat "$out"; fail "migration failed: $rec"; }
head -1 <<<"$rec"
rc=0
wait "$pid" || rc=$?
cat "$out"
rm -f "$out"
((rc == 0)) || fail "the actuator helper failed (exit $rc)"
