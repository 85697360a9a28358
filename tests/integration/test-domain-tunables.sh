#!/bin/bash
# The tunables amigo writes into a domain XML are valid for libvirt: each
# fixture (a lab guest's `virsh dumpxml`), with an allocation applied, passes
# `virsh define --validate` (libvirt's schema and its own checks) on the test
# driver, which keeps everything in the virsh process.
# usage: test-domain-tunables.sh HELPER
set -uo pipefail
HELPER=$1
FIXTURES=$(cd "$(dirname "$0")/../fixtures" && pwd)
command -v virsh >/dev/null || { echo "SKIP: no virsh"; exit 77; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
for f in "$FIXTURES"/domain-lab-guest*.xml "$FIXTURES"/domain-migrate-begin.xml; do
	for args in "1.5 0.25 80 300" "0.01 0.001 0.001 1 cap" "64 512 100000 1000000 cap"; do
		out=$WORK/$(basename "$f" .xml)-${args// /_}.xml
		# shellcheck disable=SC2086
		if ! "$HELPER" "$f" $args >"$out"; then
			echo "not ok - $(basename "$f") [$args]: the helper failed"
			failures=$((failures + 1))
			continue
		fi
		# the test driver refuses a second domain with the same name
		if msg=$(virsh -q -c test:///default "define --validate $out; undefine $(grep -o '<name>[^<]*' "$f" | head -1 | cut -d'>' -f2)" 2>&1); then
			echo "ok - $(basename "$f") [$args] validates"
		else
			echo "not ok - $(basename "$f") [$args]: $msg"
			failures=$((failures + 1))
		fi
	done
done
((failures == 0)) && echo PASS || { echo "FAIL: $failures"; exit 1; }
