#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How much can any reservation save on an on/off VM?

For each Bitbrains trace given, with the replay protocol's window (the next
hour = 12 samples of 5 minutes) at every sample: the VM's share of the pooled
window peaks (what `slack` is weighted by), and, for windows that follow an
hour in which the VM stayed below 15 % of its highest sample, how often the
window's peak still reaches 90 % of it. When that probability exceeds
1 - q (5 % at the default quantile 0.95), a reservation that is to cover q of
the windows must hold the VM's ceiling even while the VM is idle: the
24-hour peak is then close to the best any forecaster can do for that VM.

usage: window-peak-onoff.py FILE.csv...   (Bitbrains GWA-T-12 format)
"""
import sys

STEP = 300
WINDOW = 12


def load(path):
    by_time = {}
    with open(path) as f:
        next(f)
        for line in f:
            p = [x.strip() for x in line.split(";")]
            if len(p) < 5:
                continue
            cores, cap, mhz = int(float(p[1])), float(p[2]), float(p[3])
            if cores == 0 or cap <= 0:
                continue
            by_time[int(p[0])] = mhz / (cap / cores)
    times = sorted(by_time)
    t0 = times[0]
    series = [None] * (round((times[-1] - t0) / STEP) + 1)
    for t in times:
        series[round((t - t0) / STEP)] = by_time[t]
    return series


def window_max(series, start):
    w = series[start:start + WINDOW]
    if len(w) < WINDOW or any(v is None for v in w):
        return None
    return max(w)


def main(paths):
    rows = []
    for path in paths:
        s = load(path)
        top = max(v for v in s if v is not None)
        pooled = 0.0
        idle = hit = 0
        for o in range(WINDOW, len(s) - WINDOW):
            y = window_max(s, o)
            before = window_max(s, o - WINDOW)
            if y is None or before is None:
                continue
            pooled += y
            if before < 0.15 * top:
                idle += 1
                hit += y >= 0.9 * top
        rows.append((pooled, path, top, idle, hit / idle if idle else float("nan")))
    total = sum(r[0] for r in rows)
    print("%-44s %8s %9s %12s %s" % ("trace", "share", "ceiling", "idle hours", "P(peak >= 90% ceiling | idle hour)"))
    for pooled, path, top, idle, p in sorted(rows, reverse=True):
        print("%-44s %8.3f %9.2f %12d %.3f" % (path[-44:], pooled / total, top, idle, p))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
