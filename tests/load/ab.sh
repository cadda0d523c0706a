#!/usr/bin/env bash
# A/B of two builds of the server on the same SQLite database (a load run's registry.db):
# look-up (-t2 -c32) and operatorStatuses of LOAD_STATUSES numbers (-t1 -c1) with wrk, and
# the server's CPU per request (perf stat -e task-clock), alternating A B ROUNDS times so
# that a noisy machine weighs on both alike. The index snapshot is off (both load alike).
#
#   tests/load/ab.sh tests/load/results/<run>/registry.db OLD_BINARY NEW_BINARY
#
# Env: ROUNDS (3), DUR (8s), WARM (3s), LOAD_OPERATORS (100000), LOAD_STATUSES (500),
# LOAD_NUMBERS (peer: the peer kit's numbers; generated for a generated data set).
set -euo pipefail
DB=$(readlink -f "$1"); A=$(readlink -f "$2"); B=$(readlink -f "$3")
LOAD="$(cd "$(dirname "$0")" && pwd)"
ROUNDS="${ROUNDS:-3}"; DUR="${DUR:-8s}"; WARM="${WARM:-3s}"; PORT=18190
export LOAD_WRK_DIR="$LOAD/wrk" LOAD_NUMBERS="${LOAD_NUMBERS:-peer}" LOAD_OPERATORS="${LOAD_OPERATORS:-100000}"
export LOAD_STATUSES="${LOAD_STATUSES:-500}" SCOPE_REGISTRY_RATE_LIMIT_PER_MINUTE=0 RUST_LOG=warn
export SCOPE_REGISTRY_INDEX_SNAPSHOT=off
WORK=$(mktemp -d); PID=""
trap '[ -z "$PID" ] || kill -- "-$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"
for round in $(seq 1 "$ROUNDS"); do
  for label in A B; do
    bin=$A; [ "$label" = B ] && bin=$B
    cp "$DB" "$WORK/ab.db"; rm -f "$WORK"/ab.db-*
    setsid "$bin" serve --bind "127.0.0.1:$PORT" --database-url "sqlite://$WORK/ab.db" > "$WORK/$label.log" 2>&1 &
    PID=$!
    until curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null; do kill -0 "$PID"; sleep 0.1; done
    export LOAD_TOKEN; LOAD_TOKEN=$("$bin" token issue --role reader --name ab --database-url "sqlite://$WORK/ab.db" 2>/dev/null)
    for op in lookup statuses; do
      args="-t2 -c32"; [ "$op" = statuses ] && args="-t1 -c1"
      # shellcheck disable=SC2086
      wrk $args -d"$WARM" -s "$LOAD/wrk/$op.lua" "http://127.0.0.1:$PORT/graphql" > /dev/null
      # shellcheck disable=SC2086
      perf stat -e task-clock -x, -p "$PID" -o "$WORK/perf.txt" -- \
        wrk $args -d"$DUR" --latency -s "$LOAD/wrk/$op.lua" "http://127.0.0.1:$PORT/graphql" > "$WORK/wrk.txt"
      requests=$(grep -o "[0-9]* requests in" "$WORK/wrk.txt" | cut -d' ' -f1)
      rps=$(awk '/Requests\/sec/{print $2}' "$WORK/wrk.txt")
      p50=$(awk '$1 == "50%" {print $2}' "$WORK/wrk.txt")
      ms=$(grep task-clock "$WORK/perf.txt" | cut -d, -f1)
      echo "round $round $label $op: $rps req/s, p50 $p50, server CPU $(awk "BEGIN{printf \"%.1f\", $ms * 1000 / $requests}") µs/request"
    done
    kill -- "-$PID"; wait "$PID" 2>/dev/null || true; PID=""
  done
done
