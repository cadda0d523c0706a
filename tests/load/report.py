#!/usr/bin/env python3
"""Turns the wrk outputs of one load run into a Markdown report (medians of the runs)."""
import glob
import os
import re
import statistics
import subprocess
import sys

out, runs = sys.argv[1], int(sys.argv[2])
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    lat = {}
    for pct, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        lat[pct] = float(value) * UNITS[unit]
    cpu = re.search(r"server CPU seconds: ([\d.]+)", text)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {"rps": rps, "p50": lat.get("50"), "p99": lat.get("99"),
            "cpu": float(cpu.group(1)) if cpu else None, "errors": int(errors.group(1)) if errors else 0}


def median_of(label, op):
    results = [parse(p) for p in sorted(glob.glob(f"{out}/{label}-{op}-*.txt"))]
    if not results:
        return None
    med = lambda k: statistics.median([r[k] for r in results if r[k] is not None]) if any(r[k] is not None for r in results) else None
    return {k: med(k) for k in ("rps", "p50", "p99", "cpu")} | {"errors": sum(r["errors"] for r in results), "n": len(results)}


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def fmt(v, unit=""):
    return "—" if v is None else (f"{v:,.0f}{unit}" if v >= 100 else f"{v:.2f}{unit}")


labels = [("sqlite", "Scope Registry, SQLite"), ("postgres", "Scope Registry, PostgreSQL"), ("peer", "PostGraphile 4.14 (peer)")]
ops = [("lookup", "operator look-up (+ designations)"), ("sectors", "sectors with links and domains (anonymous)"),
       ("sectorswithtoken", "sectors, with a reader token"),
       ("statuses", "operatorStatuses, 500 numbers"), ("overlap", "overlap(asOf), all operators"),
       ("operators100", "operators(first: 100) with designations")]
print("# Load run report\n")
COMMIT = sh("git -C " + out + " rev-parse --short HEAD")
DATE = sh("date -u +%Y-%m-%dT%H:%MZ")
CPU = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")
MEM = sh("free -g | awk '/Mem/{print $2}'")
PSQL = sh("psql --version")
WRK = sh("wrk --version 2>&1 | head -1")
print(f"- commit: `{COMMIT}`, date: {DATE}")
print(f"- machine: {sh('nproc')} cores ({CPU}), {MEM} GiB; {PSQL}; {WRK}")
print(f"- {open(out + '/data.txt').read().strip()}; medians of {runs} run(s); wrk -t2 -c32 for look-up and sectors, "
      "-t1 -c1 for the latency targets; wrk, the server and PostgreSQL share the same cores")
for backend in ("sqlite", "postgres"):
    t = f"{out}/import-{backend}.time"
    if os.path.exists(t):
        print(f"- import of the data set into {backend}: {open(t).read().strip()} s")
print()
print("| operation | server | req/s | p50 | p99 | server CPU-s | non-2xx |")
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
print("Resident set of the server under load (largest of the 1 s samples over every run): "
      + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items()))
print("Peak resident set including start-up (VmHWM): " + ", ".join(f"{k} {v:.0f} MB" for k, v in peak.items()) + "\n")

def ratio(a, b, op):
    if (a, op) in results and (b, op) in results:
        return results[(a, op)]["rps"] / results[(b, op)]["rps"]
    return None

print("## Targets\n")
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
        rows.append((f"operatorStatuses(500) median < 50 ms ({backend})", fmt(v, " ms"), "yes" if v < 50 else "no"))
    if (backend, "overlap") in results:
        v = results[(backend, "overlap")]["p50"]
        rows.append((f"overlap median < 150 ms ({backend})", fmt(v, " ms"), "yes" if v < 150 else "no"))
for backend, v in rss.items():
    rows.append((f"resident set < 150 MB under load ({backend})", f"{v:.0f} MB", "yes" if v < 150 else "no"))
rows.append(("operators(first: 100): constant SQL statements", "e2e test `a_page_of_operators_costs_the_same_statements_whatever_its_size`", "tested"))
for row in rows:
    print(f"| {row[0]} | {row[1]} | {row[2]} |")
