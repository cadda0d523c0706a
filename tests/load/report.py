#!/usr/bin/env python3
"""Turns the wrk outputs of one load run into a Markdown report (medians of the runs)."""
import glob
import os
import re
import statistics
import subprocess
import sys

out, runs = sys.argv[1], int(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {}
if os.path.exists(f"{out}/run.env"):
    for line in open(f"{out}/run.env"):
        key, _, value = line.strip().partition("=")
        ENV[key] = value
SCALE = int(ENV["SCALE"]) if ENV.get("SCALE") else None
STATUSES = ENV.get("LOAD_STATUSES", "500")
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    timeouts = re.search(r"Socket errors:.*timeout (\d+)", text)
    lat = {}
    for pct, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        lat[pct] = float(value) * UNITS[unit]
    cpu = re.search(r"server CPU seconds: ([\d.]+)", text)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if requests == 0:  # nothing answered within the run: no latency to report
        lat = {}
    cpu_s = float(cpu.group(1)) if cpu else None
    return {"rps": rps, "p50": lat.get("50"), "p99": lat.get("99"), "requests": requests,
            "cpu_us": cpu_s * 1e6 / requests if cpu_s is not None and requests else None,
            "cpu": float(cpu.group(1)) if cpu else None,
            "errors": (int(errors.group(1)) if errors else 0) + (int(timeouts.group(1)) if timeouts else 0)}


def median_of(label, op):
    results = [parse(p) for p in sorted(glob.glob(f"{out}/{label}-{op}-*.txt"))]
    if not results:
        return None
    med = lambda k: statistics.median([r[k] for r in results if r[k] is not None]) if any(r[k] is not None for r in results) else None
    return ({k: med(k) for k in ("rps", "p50", "p99", "cpu", "cpu_us")}
            | {"errors": sum(r["errors"] for r in results), "n": len(results), "requests": sum(r["requests"] for r in results)})


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def fmt(v, unit=""):
    return "—" if v is None else (f"{v:,.0f}{unit}" if v >= 100 else f"{v:.2f}{unit}")


def version_of(key):
    return ENV.get(key, "").split(" ")[0] or None


PG4 = f"PostGraphile {version_of('PG4_VERSION') or '4.14'} (peer)"
PG5 = f"PostGraphile {version_of('PG5_VERSION') or '5'}"
labels = [("sqlite", "Scope Registry, SQLite"), ("postgres", "Scope Registry, PostgreSQL"), ("peer", PG4),
          ("peer5", PG5), ("ceiling", "bare-HTTP ceiling (axum, fixed answer)")]
ops = [("lookup", "operator look-up (+ designations)"), ("sectors", "sectors with links and domains (anonymous)"),
       ("sectorswithtoken", "sectors, with a reader token"),
       ("statuses", f"operatorStatuses, {STATUSES} numbers"), ("overlap", "overlap(asOf), all operators"),
       ("operators100", "operators(first: 100) with designations and totalCount"),
       ("operators100filtered", "operators(first: 100), filter regimes [CI, ESPA] + sector finance")]


def lock_versions(path, names=("axum", "tokio", "mimalloc", "hyper")):
    try:
        text = open(path).read()
    except OSError:
        return {}
    return {n: v for n, v in re.findall(r'^name = "([^"]+)"\nversion = "([^"]+)"', text, re.M) if n in names}


print("# Load run report" + (f" at scale ({SCALE:,} operators)" if SCALE else "") + "\n")
COMMIT = sh("git -C " + out + " rev-parse --short HEAD")
DATE = sh("date -u +%Y-%m-%dT%H:%MZ")
CPU = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")
MEM = sh("free -g | awk '/Mem/{print $2}'")
PSQL = sh("psql --version")
WRK = sh("wrk --version 2>&1 | head -1")
print(f"- commit: `{COMMIT}`, date: {DATE}")
LOADAVG = ENV.get("LOADAVG") or " ".join(open("/proc/loadavg").read().split()[:3])
print(f"- machine: {sh('nproc')} cores ({CPU}), {MEM} GiB; {PSQL}; {WRK}; load average (1, 5, 15 min) "
      f"at the end of the run {LOADAVG.replace(' ', ', ')} (wrk, the server and PostgreSQL count in it; more is other work)")
print(f"- {open(out + '/data.txt').read().strip()}"
      + (f" ({SCALE:,} operators from `scope-registry generate`)" if SCALE else "")
      + f"; medians of {runs} run(s) of {ENV.get('DUR', '15s')} (warm-up {ENV.get('WARM', '5s')}); wrk -t2 -c32 "
      "for look-up and sectors, -t1 -c1 for the latency targets; wrk, the server and PostgreSQL share the same cores")


def time_file(path):  # "seconds [peak KB]" as /usr/bin/time -f "%e %M" wrote it
    if not os.path.exists(path):
        return None
    fields = open(path).read().split()
    return float(fields[0]), (int(fields[1]) / 1024 if len(fields) > 1 else None)


IMPORTS = {b: time_file(f"{out}/import-{b}.time") for b in ("sqlite", "postgres")}
for backend, t in IMPORTS.items():
    if t:
        print(f"- import of the data set into {backend}: {t[0]:.2f} s"
              + (f", importer's peak resident set {t[1]:.0f} MB" if t[1] is not None else ""))
if ENV.get("PG4_VERSION") or ENV.get("PG5_VERSION"):
    print("- peers on the peer kit's database (PostgreSQL, pool of 10, one process each): "
          + "; ".join(f"PostGraphile {ENV[k]}" for k in ("PG4_VERSION", "PG5_VERSION") if ENV.get(k)))
if glob.glob(f"{out}/ceiling-*.txt"):
    service, ceiling = lock_versions(f"{ROOT}/Cargo.lock"), lock_versions(f"{ROOT}/tests/load/ceiling/Cargo.lock")
    same = "the service's versions" if service == ceiling else f"**not** the service's ({service})"
    print("- bare-HTTP ceiling (tests/load/ceiling): " + ", ".join(f"{k} {v}" for k, v in sorted(ceiling.items()))
          + f" ({same}), mimalloc as global allocator; it answers the registry's own answer bytes: "
          + "; ".join(open(f"{out}/bodies.txt").read().split("\n")).strip("; "))
if ENV.get("WALL_SECONDS"):
    print(f"- wall time of the run: {int(ENV['WALL_SECONDS']) / 60:.1f} min")
print()
print("| operation | server | req/s | p50 | p99 | server CPU-s | non-2xx or timed out |")
print("|---|---|---:|---:|---:|---:|---:|")
results = {}
for op, op_name in ops:
    for label, name in labels:
        m = median_of(label, op)
        if m:
            results[(label, op)] = m
            print(f"| {op_name} | {name} | {fmt(m['rps'])} | {fmt(m['p50'], ' ms')} | {fmt(m['p99'], ' ms')} | {fmt(m['cpu'])} | {m['errors']} |")
print()
def kb_values(pattern):
    return [int(line) for p in glob.glob(f"{out}/{pattern}") for line in open(p).read().split() if line.isdigit()]

peak, rss = {}, {}
for backend in ("sqlite", "postgres"):
    if values := kb_values(f"{backend}-rss-[0-9]*.kb"):
        peak[backend] = max(values) / 1024
    if values := kb_values(f"{backend}-rss-samples-*.kb"):
        rss[backend] = max(values) / 1024
def medians_of_files(pattern, scale=1.0):
    values = [float(open(p).read().split()[0]) * scale for p in glob.glob(f"{out}/{pattern}") if open(p).read().split()]
    return (statistics.median(values), min(values), max(values)) if values else None


def ready_by_source(backend):
    """Start-up times by where the index came from (the database, or its snapshot)."""
    found = {}
    for path in glob.glob(f"{out}/{backend}-ready-[0-9]*.s"):
        source_file = path[:-2] + ".source"
        source = open(source_file).read().strip() if os.path.exists(source_file) else "database"
        found.setdefault(source, []).append(float(open(path).read().split()[0]))
    return {k: (statistics.median(v), min(v), max(v)) for k, v in found.items()}


ready, ready_sources, start_rss = {}, {}, {}
for backend in ("sqlite", "postgres"):
    if m := medians_of_files(f"{backend}-ready-[0-9]*.s"):
        ready[backend] = m
        ready_sources[backend] = ready_by_source(backend)
    if m := medians_of_files(f"{backend}-rss-start-[0-9]*.kb", 1 / 1024):
        start_rss[backend] = m
print("Resident set of the server under load (largest of the 1 s samples over every run): "
      + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items()))
print("Peak resident set including start-up (VmHWM): " + ", ".join(f"{k} {v:.0f} MB" for k, v in peak.items()))
def sources(backend):
    return "; ".join(f"from the {source} {v[0]:.2f} s" for source, v in sorted(ready_sources[backend].items()))


if ready:
    print("Start to `/readyz` 200 (migrations checked, registry index loaded; median of the runs, by where the "
          "index came from): " + ", ".join(f"{k} ({sources(k)})" for k in ready)
          + "; resident set then: " + ", ".join(f"{k} {v[0]:.0f} MB" for k, v in start_rss.items()))
print()

REGISTRY = [("sqlite", "Scope Registry, SQLite"), ("postgres", "Scope Registry, PostgreSQL")]
PEERS = [("peer", PG4), ("peer5", PG5)]


def times(a, b):
    return f"{a / b:.2f}×" if a and b else "—"


if any((label, "lookup") in results for label in ("peer", "peer5", "ceiling")):
    print("## Against the peers and the ceiling\n")
    print("Req/s ratios of the same run (p99 ratios in brackets, below 1 = shorter tail). PostGraphile has no tokens: "
          "\"sectors, with a reader token\" is compared with its (anonymous) sectors. The ceiling is axum alone "
          "answering the registry's captured answer bytes with the same wrk script, the same connections and the "
          "same request (token header included). Server CPU per request (its process group's CPU time over the requests answered; PostgreSQL's "
          "own CPU not counted) depends less on what else the machine runs than req/s does.\n")
    print(f"| operation | server | req/s | p99 | server CPU per request | vs {PG4} | vs {PG5} | % of the ceiling |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for op, op_name in ops[:3]:
        ceiling = results.get(("ceiling", op))
        peer_op = "sectors" if op == "sectorswithtoken" else op
        shown = REGISTRY + (PEERS if op == peer_op else []) + [("ceiling", "bare-HTTP ceiling")]
        for label, name in shown:
            m = results.get((label, op))
            if not m:
                continue
            cells = []
            for peer, _ in PEERS:
                p = results.get((peer, peer_op))
                # Registry rows against both peers; PostGraphile 5 against 4.14.
                wanted = label in ("sqlite", "postgres") or (label == "peer5" and peer == "peer")
                cells.append(f"{times(m['rps'], p['rps'])} (p99 {times(m['p99'], p['p99'])})" if wanted and p else "")
            pct = f"{100 * m['rps'] / ceiling['rps']:.0f}%" if ceiling and label != "ceiling" else ""
            print(f"| {op_name} | {name} | {fmt(m['rps'])} | {fmt(m['p99'], ' ms')} | {fmt(m['cpu_us'], ' µs')} "
                  f"| {cells[0]} | {cells[1]} | {pct} |")
    print()

if SCALE:
    gen = time_file(f"{out}/generate.time")
    print(f"## Scale figures ({SCALE:,} operators)\n")
    print("| figure | SQLite | PostgreSQL |")
    print("|---|---:|---:|")
    def row(name, values):
        print(f"| {name} | " + " | ".join(values) + " |")
    if gen:
        row("generating the import file (`scope-registry generate`)", [f"{gen[0]:.1f} s", ""])
    row("import time", [f"{IMPORTS[b][0]:.1f} s" if IMPORTS.get(b) else "—" for b in ("sqlite", "postgres")])
    row("importer's peak resident set", [f"{IMPORTS[b][1]:.0f} MB" if IMPORTS.get(b) and IMPORTS[b][1] else "—" for b in ("sqlite", "postgres")])
    for source in ("database", "snapshot"):
        row(f"start to `/readyz` 200, index from the {source} (median, range)",
            [f"{v[0]:.2f} s ({v[1]:.2f}–{v[2]:.2f})" if (v := ready_sources.get(b, {}).get(source)) else "—"
             for b in ("sqlite", "postgres")])
    row("resident set after start (median)", [f"{start_rss[b][0]:.0f} MB" if b in start_rss else "—" for b in ("sqlite", "postgres")])
    row("resident set under load (largest 1 s sample)", [f"{rss[b]:.0f} MB" if b in rss else "—" for b in ("sqlite", "postgres")])
    row("peak resident set incl. start-up (VmHWM)", [f"{peak[b]:.0f} MB" if b in peak else "—" for b in ("sqlite", "postgres")])
    for op, op_name in ops:
        if op in ("sectors", "sectorswithtoken"):
            continue
        unit = "req/s" if op == "lookup" else "median (p50), p99"
        cells = []
        for b in ("sqlite", "postgres"):
            m = results.get((b, op))
            cells.append("—" if not m else (f"{fmt(m['rps'])} req/s, p99 {fmt(m['p99'], ' ms')}" if op == "lookup"
                                            else f"{fmt(m['p50'], ' ms')}, p99 {fmt(m['p99'], ' ms')} ({m['requests']:,} request{'s' if m['requests'] != 1 else ''})"))
        row(f"{op_name}: {unit}", cells)
    print()

def ratio(a, b, op):
    if (a, op) in results and (b, op) in results:
        return results[(a, op)]["rps"] / results[(b, op)]["rps"]
    return None

print("## Targets\n")
if SCALE:
    print(f"The targets are set for the 100,000-operator data set; here they are read against {SCALE:,} operators.\n")
print("| target | measured | met |")
print("|---|---|---|")
rows = []
r = ratio("postgres", "peer", "lookup")
if r is not None:
    p99_ok = results[("postgres", "lookup")]["p99"] <= results[("peer", "lookup")]["p99"]
    rows.append(("look-up ≥ 3× PostGraphile on PostgreSQL (2× minimum), p99 no worse",
                 f"{r:.2f}×, p99 {fmt(results[('postgres','lookup')]['p99'], ' ms')} vs {fmt(results[('peer','lookup')]['p99'], ' ms')}",
                 "yes" if r >= 3 and p99_ok else ("minimum (≥2×)" if r >= 2 and p99_ok else "no")))
s = ratio("sqlite", "postgres", "lookup")
if s is not None:
    rows.append(("look-up on SQLite ≥ PostgreSQL", f"{s:.2f}×", "yes" if s >= 1 else "no"))
r = ratio("postgres", "peer", "sectors")
if r is not None:
    rows.append(("sectors ≥ 5× PostGraphile", f"{r:.2f}×", "yes" if r >= 5 else "no"))
for backend in ("sqlite", "postgres"):
    if (backend, "statuses") in results:
        v = results[(backend, "statuses")]["p50"]
        rows.append((f"operatorStatuses({STATUSES}) median < 50 ms ({backend})", fmt(v, " ms"), "yes" if v < 50 else "no"))
    if (backend, "overlap") in results:
        v = results[(backend, "overlap")]["p50"]
        rows.append((f"overlap median < 150 ms ({backend})", fmt(v, " ms"), "yes" if v < 150 else "no"))
for backend, v in rss.items():
    rows.append((f"resident set < 150 MB under load ({backend})", f"{v:.0f} MB", "yes" if v < 150 else "no"))
rows.append(("operators(first: 100): constant SQL statements", "e2e test `a_page_of_operators_costs_the_same_statements_whatever_its_size`", "tested"))
for row in rows:
    print(f"| {row[0]} | {row[1]} | {row[2]} |")
