#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what is needed, builds amigo twice (plain, and with AddressSanitizer
# + UndefinedBehaviorSanitizer) and runs the test suites: unit and integration
# on the plain build, unit on the sanitized one. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

tests/deps.sh
tests/services.sh

build=${AMIGO_BUILD:-build}
asan=${AMIGO_BUILD_ASAN:-build-asan}

# A failing suite does not stop the script: the closing line is printed
# over both runs whatever happened, and the exit status says if any failed.
# A stale log from an earlier run must not be counted.
status=0
rm -f "$build/meson-logs/testlog.json" "$asan/meson-logs/testlog.json"

[ -d "$build" ] || meson setup "$build" -Dwerror=true
ninja -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 2 || status=1

[ -d "$asan" ] || meson setup "$asan" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
ninja -C "$asan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C "$asan" --suite unit --print-errorlogs --num-processes 2 || status=1

# One closing line over both runs: "N passed, N failed, N skipped".
python3 - "$build/meson-logs/testlog.json" "$asan/meson-logs/testlog.json" <<'PY' || status=1
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).readlines()
    except OSError as e:
        print(f"run.sh: no test log: {e}", file=sys.stderr)
        failed += 1
        continue
    for line in lines:
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
exit $status
