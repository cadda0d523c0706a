#!/usr/bin/env bash
# The load run: builds the release binary, loads the 100,000-operator data set into SQLite
# and PostgreSQL, runs the five operations with wrk against each, runs the peer
# (PostGraphile, from ../shared/bench/peer) on the same data in the same run when npm and
# PostgreSQL are available, and writes a Markdown report with medians of RUNS runs.
#
#   tests/load/run.sh                 # RUNS=3 DUR=15s WARM=5s by default
#
# Env: RUNS, DUR, WARM, PEER_KIT (default ../shared/bench/peer next to the repo), PG_ADMIN
# (default postgres://postgres@127.0.0.1:5432/test), OUT (default tests/load/results/<time>).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
LOAD="$ROOT/tests/load"
RUNS="${RUNS:-3}"; DUR="${DUR:-15s}"; WARM="${WARM:-5s}"
PEER_KIT="${PEER_KIT:-$ROOT/../shared/bench/peer}"
PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}"
PG_BASE="${PG_ADMIN%/*}"
OUT="${OUT:-$LOAD/results/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
# The rate limit protects a shared service; the load run measures raw capacity.
export LOAD_WRK_DIR="$LOAD/wrk" RUST_LOG=warn SCOPE_REGISTRY_RATE_LIMIT_PER_MINUTE=0
BIN="$ROOT/target/release/scope-registry"
SQLITE_PORT=18181; PG_PORT=18182; PEER_PORT=5050

need() { command -v "$1" >/dev/null || { echo "load run needs $1 (e.g. apt-get install -y $2)"; exit 1; }; }
need wrk wrk; need python3 python3; need curl curl

echo "== building the release binary"
(cd "$ROOT" && cargo build --release -q)

pg_up() { command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -q; }
HAVE_PEER=0
if pg_up && [ -x "$PEER_KIT/00_create_db.sh" ]; then
  echo "== peer data set (PostgreSQL database \"peer\", 100,000 operators)"
  (cd "$PEER_KIT" && ./00_create_db.sh > "$OUT/peer-create.log" 2>&1)
  PGPASSWORD=peer psql -h 127.0.0.1 -U peer -d peer -qAt -f "$PEER_KIT/30_registry_csv.sql" > "$OUT/registry.csv"
  command -v npm >/dev/null && HAVE_PEER=1
else
  echo "== no peer kit or PostgreSQL: generating the data set"
  "$BIN" generate --operators 100000 --output "$OUT/registry.csv" 2>> "$OUT/generate.log"
fi
echo "data set: $(($(wc -l < "$OUT/registry.csv") - 1)) designation rows" | tee "$OUT/data.txt"

echo "== importing into SQLite"
SQLITE_URL="sqlite://$OUT/registry.db"
/usr/bin/time -f "%e" -o "$OUT/import-sqlite.time" "$BIN" import "$OUT/registry.csv" --database-url "$SQLITE_URL" 2> "$OUT/import-sqlite.log"
BACKENDS="sqlite"
if pg_up; then
  echo "== importing into PostgreSQL"
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS registry_load WITH (FORCE)" -c "CREATE DATABASE registry_load"
  PG_URL="$PG_BASE/registry_load"
  /usr/bin/time -f "%e" -o "$OUT/import-postgres.time" "$BIN" import "$OUT/registry.csv" --database-url "$PG_URL" 2> "$OUT/import-postgres.log"
  BACKENDS="sqlite postgres"
fi

# CPU seconds used so far by a process group (processes may exit while it reads).
cpu() { { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v g="$1" -v hz="$(getconf CLK_TCK)" '$5==g{s+=$14+$15} END{print s/hz+0}'; }

# run_wrk LABEL OP URL PGID SCRIPT [wrk args...]: warm-up, then the measured run.
run_wrk() {
  local label=$1 op=$2 url=$3 pgid=$4 script=$5; shift 5
  wrk "$@" -d"$WARM" -s "$script" "$url" > /dev/null
  local c0; c0=$(cpu "$pgid")
  wrk "$@" -d"$DUR" --latency -s "$script" "$url" > "$OUT/$label-$op-$RUN.txt"
  echo "server CPU seconds: $(awk "BEGIN{print $(cpu "$pgid") - $c0}")" >> "$OUT/$label-$op-$RUN.txt"
}

start_registry() {  # start_registry LABEL URL PORT
  local label=$1 url=$2 port=$3
  setsid "$BIN" serve --bind "127.0.0.1:$port" --database-url "$url" > "$OUT/$label-server.log" 2>&1 &
  echo $! > "$OUT/$label.pid"
  # Ready = migrated and the registry index loaded (as a load balancer would wait).
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && return 0; sleep 0.2; done
  echo "$label did not start"; cat "$OUT/$label-server.log"; exit 1
}

SECTORS='{ sectors { code nameJa nameEn links { relation domain { code nameJa nameEn } } } }'
OVERLAP='{ overlap { totals { both espaOnly ciOnly } cells { sector { code } domain { code } operatorCount } domainGaps { domain { code } operatorCount } } }'
PAGE='{ operators(first: 100) { totalCount edges { node { corporateNumber nameJa designations { regime sector { code } domain { code } } } } } }'

for RUN in $(seq 1 "$RUNS"); do
  for backend in $BACKENDS; do
    url=$SQLITE_URL; port=$SQLITE_PORT
    [ "$backend" = postgres ] && { url=$PG_URL; port=$PG_PORT; }
    start_registry "$backend" "$url" "$port"
    pid=$(cat "$OUT/$backend.pid")
    export LOAD_TOKEN; LOAD_TOKEN=$("$BIN" token issue --role reader --name load-run --database-url "$url" 2>/dev/null)
    endpoint="http://127.0.0.1:$port/graphql"
    echo "== run $RUN: $backend"
    # Resident set once a second while the load runs (the peak, VmHWM, also counts start-up).
    while kill -0 "$pid" 2>/dev/null; do awk '/VmRSS/{print $2}' "/proc/$pid/status"; sleep 1; done > "$OUT/$backend-rss-samples-$RUN.kb" 2>/dev/null &
    sampler=$!
    run_wrk "$backend" lookup "$endpoint" "$pid" "$LOAD/wrk/lookup.lua" -t2 -c32
    # Reference data is public: asked anonymously, as PostGraphile is; then with a token.
    LOAD_QUERY=$SECTORS LOAD_TOKEN="" run_wrk "$backend" sectors "$endpoint" "$pid" "$LOAD/wrk/static.lua" -t2 -c32
    LOAD_QUERY=$SECTORS run_wrk "$backend" sectorswithtoken "$endpoint" "$pid" "$LOAD/wrk/static.lua" -t2 -c32
    run_wrk "$backend" statuses "$endpoint" "$pid" "$LOAD/wrk/statuses.lua" -t1 -c1
    LOAD_QUERY=$OVERLAP run_wrk "$backend" overlap "$endpoint" "$pid" "$LOAD/wrk/static.lua" -t1 -c1
    LOAD_QUERY=$PAGE run_wrk "$backend" operators100 "$endpoint" "$pid" "$LOAD/wrk/static.lua" -t1 -c1
    grep VmHWM "/proc/$pid/status" | awk '{print $2}' > "$OUT/$backend-rss-$RUN.kb"
    kill "$sampler" 2>/dev/null || true
    kill -- "-$pid"; wait "$pid" 2>/dev/null || true
  done
  if [ "$HAVE_PEER" = 1 ]; then
    echo "== run $RUN: PostGraphile (peer)"
    export PEER_DIR="${PEER_DIR:-/tmp/peer}"
    if [ ! -x "$PEER_DIR/pg4/node_modules/.bin/postgraphile" ]; then (cd "$PEER_KIT" && ./10_install_postgraphile.sh > "$OUT/peer-install.log" 2>&1); fi
    (cd "$PEER_KIT" && ./11_start_postgraphile.sh > "$OUT/peer-start.log" 2>&1)
    pid=$(cat "$PEER_DIR/pg4/postgraphile.pid")
    run_wrk peer lookup "http://127.0.0.1:$PEER_PORT/graphql" "$pid" "$PEER_KIT/wrk/lookup.lua" -t2 -c32
    run_wrk peer sectors "http://127.0.0.1:$PEER_PORT/graphql" "$pid" "$PEER_KIT/wrk/sectors.lua" -t2 -c32
    (cd "$PEER_KIT" && ./19_stop_postgraphile.sh) || true
  fi
done

python3 "$LOAD/report.py" "$OUT" "$RUNS" | tee "$OUT/report.md"
cp "$OUT/report.md" "$LOAD/results/latest.md"
echo "report: $OUT/report.md"
