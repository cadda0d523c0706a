#!/usr/bin/env python3
"""Captures real answer bodies from the registry for the bare-HTTP ceiling.

  capture.py lookup URL OUT   # asks LOOKUP_SAMPLES operators spread over 1..LOAD_OPERATORS
                              # (the wrk look-up's document and numbers) and writes the answer
                              # of median size, byte for byte
  capture.py static URL OUT   # writes the answer to LOAD_QUERY, byte for byte

Env as the wrk scripts: LOAD_TOKEN, LOAD_NUMBERS (peer | generated), LOAD_OPERATORS, LOAD_QUERY.
Prints one line saying what was captured; fails on a non-200 answer or a GraphQL error.
"""
import json
import os
import statistics
import sys
import urllib.request

LOOKUP = ("query L($cn: String!) { operator(corporateNumber: $cn) { corporateNumber nameJa "
          "designations { regime sector { code } domain { code } } } }")  # as wrk/lookup.lua


def with_check_digit(base):
    total = sum(int(d) * (1 if n % 2 == 1 else 2) for n, d in enumerate(reversed(base), start=1))
    return str(9 - total % 9) + base


def corporate_number(i):  # as wrk/common.lua
    if os.environ.get("LOAD_NUMBERS") == "generated":
        return with_check_digit(f"{800_000_000_000 + i:012d}")
    return with_check_digit(f"{(i % 47 + 1) * 100 + i % 7:04d}01{(i * 7919) % 1_000_000:06d}")


def post(url, document, variables=None):
    payload = {"query": document} | ({"variables": variables} if variables else {})
    headers = {"Content-Type": "application/json"}
    if os.environ.get("LOAD_TOKEN"):
        headers["Authorization"] = "Bearer " + os.environ["LOAD_TOKEN"]
    request = urllib.request.Request(url, json.dumps(payload).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    if b'"errors"' in body:
        sys.exit(f"capture: the answer has errors: {body[:300]!r}")
    return body


kind, url, out = sys.argv[1:4]
if kind == "lookup":
    n = int(os.environ.get("LOAD_OPERATORS", "100000"))
    samples = int(os.environ.get("LOOKUP_SAMPLES", "201"))
    bodies = [post(url, LOOKUP, {"cn": corporate_number(1 + k * (n - 1) // (samples - 1))}) for k in range(samples)]
    bodies.sort(key=len)
    body = bodies[len(bodies) // 2]
    nulls = sum(b'"operator":null' in b for b in bodies)
    note = (f"look-up answer of median size {len(body)} bytes (of {samples}: {len(bodies[0])}..{len(bodies[-1])}, "
            f"mean {statistics.mean(map(len, bodies)):.0f}; {nulls} null)")
else:
    body = post(url, os.environ["LOAD_QUERY"].replace('\\"', '"'))
    note = f"answer of {len(body)} bytes"
open(out, "wb").write(body)
print(f"{os.path.basename(out)}: {note}")
