#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# amigod tracking 500 domains: CPU time and peak RSS.
#
# libvirt's test driver supplies 500 running domains (XML generated here);
# it reports only their state, so bench-amigod (tests/bench/bench-amigod.c:
# amigod's daemon library, built for this suite only) feeds each one the
# statistics of a real guest (tests/fixtures/domstats-guest-*.txt, scaled
# per domain, counters advancing every tick) through the collector's
# augment seam: the collector, the history store (flushed every tick), the
# reservation requests (every domain, every metadata interval) and the
# metadata writer all run as in production. It runs the ticks back to
# back on a simulated clock that advances by the interval (10 s) per tick,
# so TICKS ticks stand for TICKS x 10 s of real operation.
#
# The test driver runs inside libvirtd when one is reachable (URI
# test+unix:///FILE), as the real hypervisor does in production: amigod
# then pays the RPC like it would, and the test driver's own domain objects
# are not counted as amigod's memory. Without libvirtd it runs inside amigod
# (test:///FILE) and the figures include the driver; the output says which.
#
# Figures: CPU fraction = the daemon's CPU time (user + system, whole process,
# start-up included) / simulated seconds, and the steady state (every tick
# after the first, which creates each domain's files); peak RSS = max
# resident set size (the kernel's VmHWM, via getrusage). Goal: < 0.5 % of
# one core and < 40 MiB (forecasting included).
#
# usage: bench-amigod-500.sh BENCH_AMIGOD FIXTURE_DIR [DOMAINS] [TICKS]
set -u

BENCH_AMIGOD=$1
FIXTURES=$2
DOMAINS=${3:-500}
TICKS=${4:-360}
INTERVAL_SEC=10
MAX_CPU_PERCENT=0.5
MAX_RSS_KIB=$((40 * 1024))

WORK=$(mktemp -d /tmp/amigo-bench-XXXXXX)
DBUS_PID=
cleanup () {
  [ -n "$DBUS_PID" ] && kill "$DBUS_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 1" INT TERM

# 500 running domains for the test driver
{
  echo "<node>"
  i=0
  while [ $i -lt "$DOMAINS" ]; do
    printf "  <domain type='test'><name>bench-%03d</name><uuid>6a000000-0000-4000-8000-%012d</uuid>" $i $i
    printf "<memory>262144</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>\n"
    i=$((i + 1))
  done
  echo "</node>"
} >"$WORK/node.xml"

URI="test+unix://$WORK/node.xml"
DRIVER="libvirtd (remote, as in production)"
if ! timeout 20 virsh -q -c "$URI" list >/dev/null 2>&1; then
  URI="test://$WORK/node.xml"
  DRIVER="in-process (no libvirtd reachable: figures include the test driver's domain objects)"
fi

cat >"$WORK/amigod.conf" <<EOF
[daemon]
uri = $URI
interval = ${INTERVAL_SEC}s
state_dir = $WORK/state
metadata_interval = 5m
EOF

dbus-daemon --session --fork --nopidfile --print-address=3 --print-pid=4 \
  --address="unix:path=$WORK/bus" 3>"$WORK/address" 4>"$WORK/dbus.pid" 2>/dev/null
DBUS_PID=$(cat "$WORK/dbus.pid")
ADDR=$(head -n1 "$WORK/address")

STATS=
for f in "$FIXTURES"/domstats-guest-*.txt; do
  STATS="$STATS $f"
done

CMD="$BENCH_AMIGOD --config $WORK/amigod.conf --bus-address $ADDR --ticks $TICKS$STATS"
echo "# command: /usr/bin/time -f '%U %S %M %e' $CMD"
/usr/bin/time -o "$WORK/time" -f '%U %S %M %e' $CMD >"$WORK/amigod.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
  echo "not ok - bench-amigod exited $rc"
  sed 's/^/#   /' "$WORK/amigod.log"
  exit 1
fi

echo "# test driver: $DRIVER"
cpu_line=$(grep "simulation cpu:" "$WORK/amigod.log")
first_usec=$(echo "$cpu_line" | sed -n 's/.*first_tick_usec=\([0-9]*\).*/\1/p')
later_usec=$(echo "$cpu_line" | sed -n 's/.*later_usec=\([0-9]*\).*/\1/p')
tracked=$(sed -n 's/.*simulation done: .* \([0-9][0-9]*\) domains.*/\1/p' "$WORK/amigod.log")
stored=$(find "$WORK/state" -mindepth 1 -maxdepth 1 -type d | wc -l)
store_kib=$(du -sk "$WORK/state" | cut -f1)
read -r user sys rss_kib wall <"$WORK/time"

python3 - "$user" "$sys" "$rss_kib" "$wall" "$TICKS" "$INTERVAL_SEC" "$DOMAINS" "${tracked:-0}" "$stored" \
  "$store_kib" "$MAX_CPU_PERCENT" "$MAX_RSS_KIB" "${first_usec:-0}" "${later_usec:-0}" <<'EOF'
import sys
user, sys_, rss, wall = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
ticks, interval, domains, tracked, stored, store_kib = (int(x) for x in sys.argv[5:11])
max_cpu, max_rss = float(sys.argv[11]), int(sys.argv[12])
first_s, later_s = int(sys.argv[13]) / 1e6, int(sys.argv[14]) / 1e6
sim = ticks * interval
cpu = user + sys_
frac = 100.0 * cpu / sim
print(f"# domains tracked: {tracked} of {domains}; domains in the store: {stored}; store size: {store_kib} KiB")
print(f"# simulated time: {sim} s ({ticks} ticks x {interval} s); wall time: {wall:.2f} s")
print(f"# CPU time: {cpu:.2f} s (user {user:.2f} s, system {sys_:.2f} s) = {frac:.3f} % of one core"
      f" (goal < {max_cpu} %); per tick: {1000 * cpu / ticks:.1f} ms")
if ticks > 1:
  steady = 100.0 * later_s / ((ticks - 1) * interval)
  print(f"# start-up + first tick: {first_s:.2f} s CPU; steady state: {later_s:.2f} s over {ticks - 1} ticks"
        f" = {steady:.3f} % of one core, {1000 * later_s / (ticks - 1):.1f} ms per tick")
print(f"# peak RSS: {rss / 1024:.1f} MiB (goal < {max_rss / 1024:.0f} MiB)")
ok = [
  ("all domains tracked", tracked == domains and stored == domains),
  ("CPU fraction under the goal", frac < max_cpu),
  ("peak RSS under the goal", rss < max_rss),
]
for i, (what, good) in enumerate(ok, 1):
  print(("ok" if good else "not ok"), i, "-", what)
failed = sum(1 for _, g in ok if not g)
print(f"{len(ok) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
EOF
