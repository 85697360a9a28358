#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# amigod forecasts every domain, and what it forecasts reaches the admins
# and the destination. Two lab hosts (tests/lab/amigo-lab), an amigod for
# each (2 s interval, 10 s metadata interval, each on its own private bus;
# hosta's writes a Prometheus textfile); on hosta a guest burning one vCPU
# and an idle one. After a minute and a half of history:
# - `amigoctl forecast NAME --json` reserves for the burning guest at least
#   0.9 x the CPU libvirt measured for it over that history (cpu.time), and
#   for the idle one less than 0.3 cores and less than half the burning one's;
# - each memory reservation is at least the guest's balloon.rss;
# - the request is in the guest's live metadata; after `virsh migrate` to
#   hostb it is in the XML that reached hostb (a qemu hook keeps a copy) and
#   in the guest's live metadata there, with the administrator's label;
# - the Prometheus file passes `promtool check metrics`, and a real
#   node_exporter (textfile collector) serves the request amigoctl shows
#   (same computed time, same CPU and memory reserve) and about the CPU
#   `amigoctl domains` shows.
# Bad input over the bus: an unknown domain (exit 4), an absurd window
# (exit 2 / InvalidArgs naming it), a guest just started (exit 1, "no
# recorded usage yet", until its CPU is recorded; then a request with a CPU
# reservation), a label (class from "label", on hostb too).
# Prints the figures. Needs root, promtool and prometheus-node-exporter
# (exit 77 otherwise). Always tears the lab down.
#
# usage: test-amigod-forecast.sh AMIGOD AMIGOCTL
# Environment: AMIGO_FORECAST_HISTORY_S (seconds of history, default 90).
set -euo pipefail
AMIGOD=$1
AMIGOCTL=$2

PROMTOOL=$(command -v promtool || true)
NODE_EXPORTER=$(command -v prometheus-node-exporter || command -v node_exporter || true)
if [[ -z $PROMTOOL || -z $NODE_EXPORTER ]]; then
	echo "SKIP: promtool or prometheus-node-exporter not installed (Debian: prometheus, prometheus-node-exporter)"
	exit 77
fi
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
command -v gdbus >/dev/null || { echo "SKIP: gdbus not installed"; exit 77; }

. "$(dirname "$0")/../lab/lab-test-lib.sh"

BURN=fburn
IDLE=fidle
FRESH=ffresh
NS=http://amigo.dev/xmlns/domain/1
HISTORY_S=${AMIGO_FORECAST_HISTORY_S:-90}

WORK=$(mktemp -d /tmp/amigo-forecast-XXXXXX)
stop_all () {
	local rc=$?
	lab_stop_amigods "$rc" 30
	rm -rf "$WORK"
	(exit "$rc")
	lab_teardown
}
trap stop_all EXIT

# The destination's qemu hook keeps the XML of every incoming migration:
# what the destination (and its admission) really receives.
mkdir "$WORK/incoming" "$WORK/textfile"
cat >"$WORK/hook" <<EOF
#!/bin/sh
if [ "\$2" = migrate ] && [ "\$3" = begin ]; then
	tee "$WORK/incoming/\$1.xml"
else
	cat >/dev/null
fi
EOF
"$LAB" up --hosts 2 --hook "$WORK/hook"
A=$("$LAB" uri hosta)
B=$("$LAB" uri hostb)

# Guests first, amigod after: their history then holds their workloads,
# not their boot (a TCG boot burns a core for seconds, which would stay the
# idle guest's peak for a day).
"$LAB" guest hosta "$BURN" --class burn --memory 160 | sed 's/^/# /'
"$LAB" guest hosta "$IDLE" --class idle --memory 160 | sed 's/^/# /'

PROM=$WORK/textfile/amigo.prom
lab_start_amigod hosta "$(printf '[export]\nprometheus_textfile = %s' "$PROM")"
lab_start_amigod hostb
T_START=$(date +%s)
ctl () { local host=$1; shift; "$AMIGOCTL" --bus-address "${AMIGOD_BUS[$host]}" "$@"; }

# libvirt's own CPU time of a guest (ns), and its QEMU's resident size (KiB)
cpu_time () { stat_of hosta "$1" --cpu-total cpu.time; }
rss_kib () { stat_of hosta "$1" --balloon balloon.rss; }

# both guests tracked: the history starts here
for ((t = 0; t < 50; t++)); do
	ctl hosta --json domains >"$WORK/domains.json" 2>/dev/null || true
	grep -q "\"$BURN\"" "$WORK/domains.json" && grep -q "\"$IDLE\"" "$WORK/domains.json" && break
	sleep 0.2
done
grep -q "\"$BURN\"" "$WORK/domains.json" && grep -q "\"$IDLE\"" "$WORK/domains.json" ||
	fail "hosta's amigod does not track $BURN and $IDLE after 10 s"
T0=$(now_ns)
BURN_C0=$(cpu_time "$BURN")
IDLE_C0=$(cpu_time "$IDLE")

# ---- bad input ----
set +e
out=$(ctl hosta forecast no-such-domain 2>&1); rc=$?
set -e
note "amigoctl forecast no-such-domain: exit $rc: $out"
((rc == 4)) || fail "forecast of an unknown domain exited $rc, expected 4"
set +e
out=$(ctl hosta forecast "$BURN" --window 30d 2>&1); rc=$?
set -e
note "amigoctl forecast $BURN --window 30d: exit $rc: $out"
((rc == 2)) && [[ $out == *--window* ]] || fail "forecast --window 30d exited $rc ('$out'), expected 2 naming --window"
set +e
out=$(gdbus call --address "${AMIGOD_BUS[hosta]}" --dest org.amigo.Daemon1 --object-path /org/amigo/Daemon1 \
	--method org.amigo.Daemon1.GetReservationRequest "$BURN" "{'window_usec': <int64 2592000000000>}" 2>&1); rc=$?
set -e
note "GetReservationRequest $BURN {window_usec: 30 days}: $out"
((rc != 0)) && [[ $out == *InvalidArgs* && $out == *window_usec* ]] ||
	fail "GetReservationRequest with a 30-day window was not refused with InvalidArgs naming window_usec"

# A guest that has just appeared has no recorded usage yet: asked from the
# moment it is defined until amigod has stored some, the answer is "not
# found", then "no recorded usage yet" (exit 1), never a request built on
# nothing; a request only once the samples are there.
"$LAB" guest hosta "$FRESH" --class idle --memory 64 --no-wait >/dev/null
seen_nohist=0 first_ok=
for ((t = 0; t < 200; t++)); do
	set +e
	out=$(ctl hosta --json forecast "$FRESH" 2>&1); rc=$?
	set -e
	if ((rc == 1)) && [[ $out == *"'$FRESH' has no recorded usage yet"* ]]; then
		((seen_nohist)) || note "amigoctl forecast $FRESH at $t x 0.1 s: exit 1: $out"
		seen_nohist=1
	elif ((rc == 0)); then
		first_ok=$out
		break
	elif ((rc != 4)); then
		fail "forecast of the new guest $FRESH exited $rc: $out"
	fi
	sleep 0.1
done
[[ -n $first_ok ]] || fail "no request for the new guest $FRESH after 20 s"
python3 - "$first_ok" <<'PY' || fail "the first request for the new guest $FRESH is built on nothing"
import json, sys
r = json.loads(sys.argv[1])
cpu = r.get('resources', {}).get('cpu', {}).get('reserve')
print(f"# first request for the new guest: cpu reserve {cpu}, memory reserve "
      f"{r.get('resources', {}).get('memory', {}).get('reserve')} GiB")
sys.exit(0 if cpu is not None else 1)
PY
# Its first poll has no CPU reading yet (a rate needs two): the window
# lasts a poll interval.
((seen_nohist)) || fail "the new guest $FRESH had a request from its first poll on, never 'no recorded usage yet'"
virsh -q -c "$A" destroy "$FRESH" >/dev/null

# ---- history ----
note "collecting ${HISTORY_S} s of history"
sleep "$HISTORY_S"

# The kept request (no options), the usage amigod and libvirt see, the rss.
ctl hosta --json forecast "$BURN" >"$WORK/burn.json" || fail "amigoctl forecast $BURN failed"
ctl hosta --json forecast "$IDLE" >"$WORK/idle.json" || fail "amigoctl forecast $IDLE failed"
ctl hosta --json domains >"$WORK/domains.json"
T1=$(now_ns)
BURN_C1=$(cpu_time "$BURN")
IDLE_C1=$(cpu_time "$IDLE")
BURN_RSS=$(rss_kib "$BURN")
IDLE_RSS=$(rss_kib "$IDLE")
ctl hosta forecast "$BURN" | sed 's/^/#   /'
python3 - "$WORK" "$BURN" "$IDLE" "$T0" "$T1" "$BURN_C0" "$BURN_C1" "$IDLE_C0" "$IDLE_C1" "$BURN_RSS" "$IDLE_RSS" <<'PY' ||
import json, sys, time
work, burn, idle = sys.argv[1:4]
t0, t1, bc0, bc1, ic0, ic1, brss, irss = (int(x) for x in sys.argv[4:12])
reqs = {burn: json.load(open(f"{work}/burn.json")), idle: json.load(open(f"{work}/idle.json"))}
doms = {d['name']: d for d in json.load(open(f"{work}/domains.json"))}
measured = {burn: (bc1 - bc0) / (t1 - t0), idle: (ic1 - ic0) / (t1 - t0)}
rss_gib = {burn: brss / 1048576, idle: irss / 1048576}
ok = True
res = {}
for name, r in reqs.items():
    cpu = r['resources']['cpu']
    mem = r['resources']['memory']
    res[name] = (cpu['reserve'], mem['reserve'])
    age = time.time() - r['computed_usec'] / 1e6
    print(f"# {name}: class {r['class']} ({r['class_source']}); cpu reserve {cpu['reserve']:.3f} cores "
          f"(bound {cpu['bound']:.3f}, mean {cpu['mean']:.3f}, overhead {cpu['overhead']:.3f}, {cpu['method']}); "
          f"libvirt measured {measured[name]:.3f} cores over {(t1 - t0) / 1e9:.0f} s, "
          f"amigoctl domains {doms[name]['metrics'].get('cpu')}; memory reserve {mem['reserve']:.4f} GiB "
          f"(bound {mem['bound']:.4f}, overhead {mem['overhead']:.4f}), balloon.rss {rss_gib[name]:.4f} GiB; "
          f"request {age:.1f} s old, stale {r['stale']}")
    if r['stale'] or not -1 <= age <= 60:
        print(f"FAIL: {name}'s request is {age:.1f} s old (stale {r['stale']})"); ok = False
    if not mem['reserve'] >= rss_gib[name]:
        print(f"FAIL: {name}'s memory reserve {mem['reserve']} GiB is below its balloon.rss {rss_gib[name]} GiB")
        ok = False
if measured[burn] < 0.5:
    print(f"FAIL: the burning guest got only {measured[burn]:.3f} cores: the machine is too loaded for this test")
    ok = False
if not res[burn][0] >= 0.9 * measured[burn]:
    print(f"FAIL: {burn}'s cpu reserve {res[burn][0]:.3f} does not cover 0.9 x its {measured[burn]:.3f} cores")
    ok = False
if not (res[idle][0] < 0.3 and res[idle][0] < res[burn][0] / 2):
    print(f"FAIL: {idle}'s cpu reserve {res[idle][0]:.3f} is not far below {burn}'s {res[burn][0]:.3f} (< 0.3, < half)")
    ok = False
sys.exit(0 if ok else 1)
PY
	fail "the reservation requests do not cover the guests' usage"

# ---- the request in the live metadata on hosta ----
# check_request_xml XML WHAT: amigo's element in XML (metadata or a whole domain),
# its <amigo:reservation> checked; prints "COMPUTED_USEC WORKLOAD cpu=... ..."
check_request_xml () {
	python3 - "$1" "$2" "$T_START" <<'PY'
import json, sys, time, xml.etree.ElementTree as ET
text, what, t_start = sys.argv[1], sys.argv[2], int(sys.argv[3])
NS = '{http://amigo.dev/xmlns/domain/1}'
def bad(msg):
    print(msg)
    sys.exit(1)
def kid(el, name):
    for c in el:
        if c.tag.split('}')[-1] == name:
            return c
    return None
# a whole domain holds amigo's element in its namespace; virsh metadata
# prints that element alone, without it
root = ET.fromstring(text)
el = root.find(f'.//{NS}domain')
if el is None and kid(root, 'reservation') is not None:
    el = root
if el is None:
    bad(f"{what}: no amigo metadata element in {text[:200]!r}")
res = kid(el, 'reservation')
if res is None or not (res.text or '').strip():
    bad(f"{what}: no <amigo:reservation>")
r = json.loads(res.text)
wl = kid(el, 'workload')
if r.get('request_version') != 1:
    bad(f"{what}: request_version {r.get('request_version')}, expected 1")
c = r['computed_usec'] / 1e6
if not t_start - 1 <= c <= time.time() + 1:
    bad(f"{what}: computed_usec {r['computed_usec']} is not within this test's run")
cpu = r['reservation']['resources']['cpu']['amount']
mem = r['reservation']['resources']['memory']['amount']
print(f"{r['computed_usec']} {wl.get('class') if wl is not None else '-'} "
      f"cpu={cpu:.3f} memory_GiB={mem:.4f} age_s={time.time() - c:.1f} "
      f"has_history={kid(el, 'history') is not None}")
PY
}
meta=$(virsh -q -c "$A" metadata "$BURN" "$NS" 2>&1) || fail "no amigo metadata in $BURN on hosta: $meta"
line=$(check_request_xml "$meta" "$BURN on hosta") || fail "$line"
note "request in $BURN's live metadata on hosta: computed_usec $line"

# ---- Prometheus ----
echo "# promtool check metrics $PROM:"
"$PROMTOOL" check metrics <"$PROM" >"$WORK/promtool.out" 2>&1 || { cat "$WORK/promtool.out"; fail "promtool check metrics failed"; }
[[ -s $WORK/promtool.out ]] && { cat "$WORK/promtool.out"; fail "promtool reported lint problems"; }
note "  no problems ($("$PROMTOOL" --version 2>&1 | head -n 1)); $(grep -c '^amigo_' "$PROM") amigo_* samples"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$NODE_EXPORTER" --web.listen-address="127.0.0.1:$PORT" --collector.disable-defaults --collector.textfile \
	--collector.textfile.directory="$WORK/textfile" >"$WORK/node-exporter.log" 2>&1 &
PIDS+=($!)
# The kept request is recomputed every metadata interval and the file is
# written after every poll: compare a request and a scrape that show the
# same computed time.
scrape_ok=0
for ((try = 0; try < 8 && !scrape_ok; try++)); do
	ctl hosta --json forecast "$BURN" >"$WORK/burn.json"
	ctl hosta --json domains >"$WORK/domains.json"
	if python3 - "$PORT" "$WORK/burn.json" "$WORK/domains.json" "$BURN" <<'PY'; then
import json, re, sys, time, urllib.request
port, req_path, doms_path, burn = sys.argv[1:5]
deadline = time.monotonic() + 15
while True:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("FAIL: node_exporter did not answer within 15 s")
        time.sleep(0.2)
def sample(name, domain=None):
    for line in text.splitlines():
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$', line)
        if m and m.group(1) == name and (domain is None or f'domain="{domain}"' in (m.group(2) or '')):
            return float(m.group(3))
    return None
if sample("node_textfile_scrape_error") != 0.0:
    sys.exit("FAIL: node_exporter reports node_textfile_scrape_error != 0")
req = json.load(open(req_path))
doms = {d['name']: d for d in json.load(open(doms_path))}
ts = sample("amigo_domain_request_timestamp_seconds", burn)
cpu = sample("amigo_domain_request_reserve_cpu_cores", burn)
mem = sample("amigo_domain_request_reserve_memory_bytes", burn)
used = sample("amigo_domain_cpu_cores", burn)
if ts is None or cpu is None or mem is None or used is None:
    sys.exit(f"FAIL: the scrape lacks {burn}'s request or usage: timestamp {ts}, cpu reserve {cpu}, "
             f"memory reserve {mem}, cpu {used}")
if abs(ts - req['computed_usec'] / 1e6) > 1e-3:
    print(f"# scrape shows the request of {ts:.3f}, amigoctl that of {req['computed_usec'] / 1e6:.3f}: again")
    sys.exit(2)
ctl_cpu = req['resources']['cpu']['reserve']
ctl_mem = req['resources']['memory']['reserve'] * 2**30
ctl_used = doms[burn]['metrics'].get('cpu')
print(f"# scraped {burn}: request of {ts:.3f}: reserve cpu {cpu!r} cores (amigoctl {ctl_cpu!r}), "
      f"memory {mem!r} bytes (amigoctl {ctl_mem!r}); amigo_domain_cpu_cores {used!r} (amigoctl domains {ctl_used!r})")
ok = abs(cpu - ctl_cpu) <= 1e-9 * max(1.0, abs(ctl_cpu)) and abs(mem - ctl_mem) <= 1e-9 * ctl_mem
if not ok:
    print("FAIL: node_exporter serves another request than amigoctl shows")
if ctl_used is None or abs(used - ctl_used) > max(0.2, 0.2 * ctl_used):
    print("FAIL: node_exporter's amigo_domain_cpu_cores is far from amigoctl domains'"); ok = False
sys.exit(0 if ok else 1)
PY
		scrape_ok=1
	else
		rc=$?
		((rc == 2)) || fail "the scrape does not show what amigoctl shows"
		sleep 1
	fi
done
((scrape_ok)) || fail "amigoctl and the scrape never showed the same request in 8 tries"

# ---- the administrator's label ----
ctl hosta label "$BURN" database | sed 's/^/# /'
ctl hosta --json forecast "$BURN" >"$WORK/burn.json"
python3 - "$WORK/burn.json" <<'PY' || fail "the label is not in force"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"# after the label: class {r['class']} from {r['class_source']}, cpu reserve {r['resources']['cpu']['reserve']:.3f}")
sys.exit(0 if (r['class'], r['class_source']) == ('database', 'label') else 1)
PY
for ((t = 0; t < 50; t++)); do
	meta=$(virsh -q -c "$A" metadata "$BURN" "$NS" 2>/dev/null || true)
	[[ $meta == *'workload class="database"'* ]] && break
	sleep 0.2
done
[[ $meta == *'workload class="database"'* ]] || fail "the label did not reach $BURN's metadata on hosta in 10 s: $meta"
line=$(check_request_xml "$meta" "$BURN on hosta") || fail "$line"
SOURCE_COMPUTED=${line%% *}
note "before the migration, hosta's metadata: computed_usec $line"

# ---- migration: the request and the label travel ----
T_MIG=$(date +%s.%N)
out=$("$LAB" migrate "$BURN" hosta hostb) || fail "migration failed: $out"
note "$(head -n1 <<<"$out")"
meta_b=$(virsh -q -c "$B" metadata "$BURN" "$NS" 2>&1) || fail "no amigo metadata in $BURN on hostb: $meta_b"
[[ -s $WORK/incoming/$BURN.xml ]] || fail "hostb's hook did not see the incoming XML of $BURN"
line=$(check_request_xml "$(cat "$WORK/incoming/$BURN.xml")" "$BURN's XML arriving on hostb") || fail "$line"
note "request in the XML that arrived on hostb: computed_usec $line"
in_computed=${line%% *}
read -r _ in_class _ <<<"$line"
python3 -c "import sys; sys.exit(0 if int(sys.argv[1]) / 1e6 <= float(sys.argv[2]) else 1)" "$in_computed" "$T_MIG" ||
	fail "the request that arrived on hostb was computed after the migration started: not hosta's"
[[ $in_class == database ]] || fail "the label did not arrive on hostb with $BURN (workload '$in_class')"
((in_computed >= SOURCE_COMPUTED)) || fail "an older request than hosta's last arrived on hostb"
line=$(check_request_xml "$meta_b" "$BURN on hostb") || fail "$line"
note "request in $BURN's live metadata on hostb: computed_usec $line"
read -r _ b_class _ <<<"$line"
[[ $b_class == database ]] || fail "no label in $BURN's live metadata on hostb (workload '$b_class')"
# hostb's amigod takes the label from the metadata
for ((t = 0; t < 50; t++)); do
	ctl hostb --json forecast "$BURN" >"$WORK/burn-b.json" 2>/dev/null && break
	sleep 0.2
done
python3 - "$WORK/burn-b.json" <<'PY' || fail "hostb's amigod did not take $BURN's label from its metadata"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"# hostb's amigod: class {r['class']} from {r['class_source']}, cpu reserve {r['resources']['cpu']['reserve']:.3f}")
sys.exit(0 if (r['class'], r['class_source']) == ('database', 'label') else 1)
PY

for h in hosta hostb; do
	kill -0 "${AMIGOD_PID[$h]}" 2>/dev/null || fail "amigod on $h died"
done
note "run time $(($(date +%s) - T_START)) s since amigod started"
echo "PASS"
