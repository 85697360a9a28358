#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Prometheus textfile as real Prometheus tools see it: the helper writes
# a host's figures through amigo-export; `promtool check metrics` must find no
# problem; a real node_exporter with only its textfile collector must serve
# exactly the samples the helper says it wrote. No libvirt involved.
#
#   test-export-prometheus.sh HELPER
# Exits 77 when promtool or node_exporter is missing (Debian: prometheus,
# prometheus-node-exporter).
set -euo pipefail

helper=$1

promtool=$(command -v promtool || true)
node_exporter=$(command -v prometheus-node-exporter || command -v node_exporter || true)
if [ -z "$promtool" ] || [ -z "$node_exporter" ]; then
  echo "SKIP: promtool or prometheus-node-exporter not installed"
  exit 77
fi
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }

tmp=$(mktemp -d /tmp/amigo-export-XXXXXX)
exporter_pid=
cleanup() {
  if [ -n "$exporter_pid" ]; then
    kill "$exporter_pid" 2>/dev/null || true
    wait "$exporter_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir "$tmp/textfile"
"$helper" "$tmp/textfile/amigo.prom" > "$tmp/expected.json"
echo "== the file (head)"
head -n 12 "$tmp/textfile/amigo.prom"

echo "== promtool check metrics"
if ! "$promtool" check metrics < "$tmp/textfile/amigo.prom" > "$tmp/promtool.out" 2>&1; then
  cat "$tmp/promtool.out"
  echo "FAIL: promtool check metrics failed"
  exit 1
fi
if [ -s "$tmp/promtool.out" ]; then
  cat "$tmp/promtool.out"
  echo "FAIL: promtool reported lint problems"
  exit 1
fi
echo "no problems ($("$promtool" --version 2>&1 | head -n 1))"

# A free loopback port, chosen by the kernel.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$node_exporter" --web.listen-address="127.0.0.1:$port" \
  --collector.disable-defaults --collector.textfile \
  --collector.textfile.directory="$tmp/textfile" > "$tmp/node-exporter.log" 2>&1 &
exporter_pid=$!

echo "== scrape node_exporter on 127.0.0.1:$port"
python3 - "$port" "$tmp/expected.json" <<'EOF'
import json, re, sys, time, urllib.request

port, expected_path = sys.argv[1], sys.argv[2]

def scrape():
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                return r.read().decode("utf-8")
        except OSError:
            if time.monotonic() > deadline:
                sys.exit("FAIL: node_exporter did not answer within 15 s")
            time.sleep(0.2)

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')

def unescape(v):
    return re.sub(r'\\(.)', lambda m: {'n': '\n', '\\': '\\', '"': '"'}[m.group(1)], v)

def parse(text):
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        if not m:
            sys.exit(f"FAIL: cannot parse scraped line {line!r}")
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        pairs, pos = [], 0
        while pos < len(labels):
            lm = LABEL.match(labels, pos)
            if not lm:
                sys.exit(f"FAIL: cannot parse labels of {line!r}")
            pairs.append((lm.group(1), unescape(lm.group(2))))
            pos = lm.end()
        key = (name, tuple(sorted(pairs)))
        if key in samples:
            sys.exit(f"FAIL: series {key} served twice")
        samples[key] = float(value)
    return samples

text = scrape()
scraped = parse(text)
if scraped.get(("node_textfile_scrape_error", ())) != 0.0:
    sys.exit("FAIL: node_exporter reports node_textfile_scrape_error != 0")
amigo = {k: v for k, v in scraped.items() if k[0].startswith("amigo_")}
expected = {}
for e in json.load(open(expected_path)):
    expected[(e["name"], tuple(sorted(e["labels"].items())))] = float(e["value"])

missing = sorted(set(expected) - set(amigo))
extra = sorted(set(amigo) - set(expected))
differ = sorted(k for k in set(expected) & set(amigo) if expected[k] != amigo[k])
for k in missing:
    print("missing from the scrape:", k)
for k in extra:
    print("served but not written:", k)
for k in differ:
    print(f"differs: {k}: wrote {expected[k]!r}, served {amigo[k]!r}")
families = {k[0] for k in amigo}
print(f"{len(amigo)} amigo_* samples in {len(families)} families served, "
      f"{len(expected)} written; {len(missing)} missing, {len(extra)} extra, {len(differ)} differing")
for k in sorted(amigo):
    if k[0] == "amigo_domain_memory_bytes":
        print("  e.g.", k[0], dict(k[1])["domain"].__repr__(), amigo[k])
if missing or extra or differ:
    sys.exit("FAIL: the scrape does not match what was written")
print("PASS: node_exporter serves exactly what amigo wrote")
EOF

# The file is replaced while node_exporter reads it: every scrape must see a
# whole file (a torn one shows as node_textfile_scrape_error 1 or missing
# samples), which is what the temporary file and rename are for.
echo "== rewrite the file while scraping"
n_written=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$tmp/expected.json")
(
  trap 'touch "$tmp/writer.done"' EXIT
  for _ in $(seq 200); do
    "$helper" "$tmp/textfile/amigo.prom" > /dev/null
  done
) &
writer_pid=$!
python3 - "$port" "$n_written" "$tmp/writer.done" <<'EOF'
import os, sys, urllib.request

port, n_written, done = sys.argv[1], int(sys.argv[2]), sys.argv[3]
scrapes = bad = 0
while not os.path.exists(done) or scrapes == 0:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        lines = r.read().decode("utf-8").splitlines()
    scrapes += 1
    n = sum(1 for l in lines if l.startswith("amigo_"))
    if "node_textfile_scrape_error 0" not in lines or n != n_written:
        bad += 1
        print(f"scrape {scrapes}: {n} amigo_* samples, error line: "
              f"{[l for l in lines if l.startswith('node_textfile_scrape_error')]}")
print(f"{scrapes} scrapes during 200 rewrites, {bad} saw a partial or unreadable file")
sys.exit(1 if bad else 0)
EOF
wait "$writer_pid"
echo "PASS: every scrape saw a whole file"
