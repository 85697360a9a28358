#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How lean can a reservation be, even with hindsight?

For Bitbrains traces, on the replay protocol of amigo-replay (origins every
4 h from one day after the first sample, window = the next hour, demand =
the window's peak, a window with a missing sample skipped), this computes
the pooled coverage and slack of reservations that know each VM's whole
month in advance (in-sample, so no forecaster can do better within the same
family):

  peak24      the 24-hour peak before the origin (amigo-replay's `peak`)
  static      one number per VM: the 0.95 quantile of its window peaks
  state       the 24-hour peak times a factor per VM and per *state* at the
              origin: level of the last sample and peak of the last hour
              (each in quarters of the 24-hour peak) and how many whole
              hours the VM has just spent below a quarter of it (0..6).
              The factors are chosen with hindsight to minimise the VM's
              total reservation while it still covers q of its windows
              (greedy: lower the factor of the state whose next step
              saves the most capacity per window given up).
  learned     the same factors without hindsight: fitted once a day on the
              week before (windows every 15 minutes), capped at the 24-hour
              peak; what a forecaster of this family could do.

First, per VM (CPU): its share of the pooled window peaks (what `slack` is
weighted by) and, for windows that follow an hour in which the VM stayed
below 15 % of its highest sample, how often the window's peak still reaches
90 % of it. Where that exceeds 1 - q, a reservation covering q of the VM's
windows must hold its ceiling even while it idles.

The goal of issue #5 is a slack of at most 0.6x peak24's at coverage >= q.
`state` shows what hindsight buys (one free factor per VM and state, ~110
of them for ~170 windows a VM); `learned` what is left of it when the
factors come from the week before, as they must.

usage: window-oracle.py [--quantile Q] FILE.csv|DIR...   (Bitbrains GWA-T-12;
       a directory stands for its *.csv files; exit 77 when none is found)
"""
import glob
import math
import os
import sys

STEP = 300
WINDOW = 12            # 1 h of 5-minute samples
DAY = 288
ORIGIN_EVERY = 48      # 4 h
IDLE_HOURS_MAX = 6


def load(path):
    """CPU cores and memory GiB on a 5-minute grid from the first sample
    (None = missing), as amigo-replay reads them."""
    rows = {}
    with open(path) as f:
        next(f, None)
        for line in f:
            p = [x.strip() for x in line.split(";")]
            if len(p) < 7:
                continue
            try:
                t = int(float(p[0]))
                cores, cap, mhz, mem = int(float(p[1])), float(p[2]), float(p[3]), float(p[6])
            except ValueError:
                continue
            if t in rows:
                continue
            cpu = mhz / (cap / cores) if cores > 0 and cap > 0 else None
            rows[t] = (cpu, mem / (1024.0 * 1024.0) if mem > 0 else None)
    times = sorted(rows)
    if not times:
        return {"cpu": [], "memory": []}
    t0 = times[0]
    n = round((times[-1] - t0) / STEP) + 1
    series = {"cpu": [None] * n, "memory": [None] * n}
    for t in times:
        i = round((t - t0) / STEP)
        series["cpu"][i], series["memory"][i] = rows[t]
    return series


def finite_max(values):
    m = None
    for v in values:
        if v is not None and (m is None or v > m):
            m = v
    return m


def window_at(s, o):
    """(peak or None, 24-hour peak, state) at origin o, or None."""
    w = s[o:o + WINDOW]
    y = None if len(w) < WINDOW or any(v is None for v in w) else max(w)
    p24 = finite_max(s[max(0, o - DAY):o])
    last = next((v for v in reversed(s[max(0, o - DAY):o]) if v is not None), None)
    if p24 is None or last is None:
        return None
    hour = finite_max(s[o - WINDOW:o])
    hour = last if hour is None else hour
    idle = 0
    while idle < IDLE_HOURS_MAX and o - (idle + 1) * WINDOW >= 0:
        h = finite_max(s[o - (idle + 1) * WINDOW:o - idle * WINDOW])
        if h is None or p24 <= 0 or h >= 0.25 * p24:
            break
        idle += 1

    def quarter(v):
        return min(3, int(4 * v / p24)) if p24 > 0 else 0
    return y, p24, (quarter(last), quarter(hour), idle)


def windows(s):
    """(peak, 24-hour peak, state) at every origin of the protocol."""
    out = []
    for o in range(DAY, len(s) - WINDOW + 1, ORIGIN_EVERY):
        w = window_at(s, o)
        if w is not None and w[0] is not None:
            out.append(w)
    return out


def learned_reservation(s, q):
    """The `state` factors learned without hindsight: once a day, on the
    windows of the week before (origins 15 minutes apart, windows complete
    before the origin), capped at the 24-hour peak; a state not seen that
    week gets the 24-hour peak."""
    out, factors, fitted = [], {}, None
    for o in range(DAY, len(s) - WINDOW + 1, ORIGIN_EVERY):
        w = window_at(s, o)
        if w is None or w[0] is None:
            continue
        if fitted is None or o - fitted >= DAY:
            past = [window_at(s, b) for b in range(max(DAY, o - 7 * DAY), o - WINDOW + 1, 3)]
            past = [x for x in past if x is not None and x[0] is not None]
            factors = {}
            for (y, p24, state), r in zip(past, state_reservation(past, q) if past else []):
                factors[state] = max(factors.get(state, 0.0), r / p24 if p24 > 0 else 0.0)
            fitted = o
        out.append(min(factors.get(w[2], 1.0), 1.0) * w[1])
    return out


def onoff_table(paths):
    """Share of the pooled CPU window peaks and P(peak >= 90 % of the
    ceiling | the hour before stayed below 15 % of it), per VM, at every
    sample."""
    rows = []
    for path in paths:
        s = load(path)["cpu"]
        top = finite_max(s) or 0.0
        pooled, idle, hit = 0.0, 0, 0
        for o in range(WINDOW, len(s) - WINDOW + 1):
            w, before = s[o:o + WINDOW], s[o - WINDOW:o]
            if any(v is None for v in w) or any(v is None for v in before):
                continue
            y = max(w)
            pooled += y
            if max(before) < 0.15 * top:
                idle += 1
                hit += y >= 0.9 * top
        rows.append((pooled, path, top, idle, hit / idle if idle else float("nan")))
    total = sum(r[0] for r in rows) or 1.0
    print("\ncpu: %-38s %6s %8s %10s  %s" % ("trace", "share", "ceiling", "idle hours",
                                            "P(peak >= 90% ceiling | idle hour)"))
    for pooled, path, top, idle, p in sorted(rows, reverse=True):
        name = "/".join(path.split("/")[-2:])
        print("     %-38s %6.3f %8.2f %10d  %.3f" % (name, pooled / total, top, idle, p))


def static_reservation(ws, q):
    peaks = sorted(y for y, _, _ in ws)
    k = min(len(peaks) - 1, max(0, math.ceil(q * len(peaks)) - 1))
    return [peaks[k]] * len(ws)


def state_reservation(ws, q):
    """Per-state factors on the 24-hour peak, chosen with hindsight."""
    groups = {}
    for i, (y, p24, state) in enumerate(ws):
        groups.setdefault(state, []).append(i)
    # each state starts at the factor that covers all its windows; a step
    # down to the next ratio gives up one more window
    ladders = {}
    for state, idx in groups.items():
        ratios = sorted(((ws[i][0] / ws[i][1] if ws[i][1] > 0 else (0.0 if ws[i][0] <= 0 else math.inf)), i)
                        for i in idx)
        ladders[state] = [r for r, _ in ratios]
    level = {state: len(l) - 1 for state, l in ladders.items()}
    weight = {state: sum(ws[i][1] for i in idx) for state, idx in groups.items()}
    budget = len(ws) - math.ceil(q * len(ws))
    for _ in range(budget):
        best, gain = None, 0.0
        for state, l in ladders.items():
            k = level[state]
            if k <= 0 and not (k == 0 and l[0] > 0):
                continue
            lower = l[k - 1] if k > 0 else 0.0
            g = (l[k] - lower) * weight[state]
            if math.isinf(l[k]) or g > gain:
                best, gain = state, (math.inf if math.isinf(l[k]) else g)
        if best is None:
            break
        level[best] -= 1
    factor = {state: (ladders[state][level[state]] if level[state] >= 0 else 0.0) for state in ladders}
    return [min(factor[state], 1e300) * p24 for _, p24, state in ws]


def main(argv):
    q = 0.95
    paths = []
    it = iter(argv)
    for a in it:
        if a == "--quantile":
            q = float(next(it))
        elif os.path.isdir(a):
            paths.extend(sorted(glob.glob(os.path.join(a, "*.csv"))))
        elif os.path.isfile(a):
            paths.append(a)
        else:
            print("%s: no such file or directory, skipped" % a, file=sys.stderr)
    if not argv:
        sys.exit(__doc__)
    if not paths:
        print("no trace found in %s: nothing to measure" % " ".join(argv))
        sys.exit(77)
    print("command: window-oracle.py --quantile %g %s" % (q, " ".join(paths)))
    onoff_table(paths)
    for resource in ("cpu", "memory"):
        names = ("peak24", "static", "state", "learned")
        total = {name: [0.0, 0, 0] for name in names}
        demand = 0.0
        for path in paths:
            s = load(path)[resource]
            ws = windows(s)
            if not ws:
                continue
            demand += sum(y for y, _, _ in ws)
            for name, res in (("peak24", [p24 for _, p24, _ in ws]),
                              ("static", static_reservation(ws, q)),
                              ("state", state_reservation(ws, q)),
                              ("learned", learned_reservation(s, q))):
                total[name][0] += sum(res)
                total[name][1] += sum(1 for (y, _, _), r in zip(ws, res) if y <= r)
                total[name][2] += len(ws)
        print("\n%s, %d traces, q = %g (static and state with hindsight, learned without)" % (resource, len(paths), q))
        if demand <= 0 or total["peak24"][0] <= demand:
            print("  no window with demand below its 24-hour peak: nothing to compare")
            continue
        print("  %-8s %9s %9s %13s %8s" % ("method", "coverage", "slack", "x peak24's", "windows"))
        base = total["peak24"][0] / demand - 1.0
        for name in names:
            r, c, n = total[name]
            slack = r / demand - 1.0
            print("  %-8s %9.3f %9.3f %13.2f %8d" % (name, c / n, slack, slack / base, n))


if __name__ == "__main__":
    main(sys.argv[1:])
