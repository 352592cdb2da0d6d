#!/usr/bin/env bash
# The center benchmark of docs/benchmarks.md: 1,000 customers, 5,000 users, 100,000 audit
# entries; p50/p99 of the dashboard page and GET /api/v1/instructions under 200
# connections (wrk); on SQLite and on PostgreSQL. Then `audit verify` over 1,000,000
# entries. Loopback only; everything it starts, it stops.
#
# usage: crates/center/bench/run.sh [seconds-per-run]
# BENCH_ONLY=sqlite|postgres runs one database; BENCH_VERIFY=0 skips `audit verify`;
# BENCH_ONLY=verify runs only `audit verify` (both databases).
set -euo pipefail
cd "$(dirname "$0")/../../.."
SECS="${1:-15}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/mamori/target}"
cargo build --release -q -p mamori --bin mamori
cargo build --release -q -p mamori-center --example bench_seed
BIN="$CARGO_TARGET_DIR/release/mamori"
SEED="$CARGO_TARGET_DIR/release/examples/bench_seed"
WORK="$(mktemp -d /tmp/mamori-bench.XXXXXX)"
chmod 755 "$WORK"
PG=/usr/lib/postgresql/15/bin
PGPORT=$((20000 + RANDOM % 10000))
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -d "$WORK/pg" ]; then runuser -u postgres -- "$PG/pg_ctl" -D "$WORK/pg" -m fast -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

start_pg() {
  mkdir -p "$WORK/pg" && chown postgres:postgres "$WORK/pg" "$WORK"
  runuser -u postgres -- "$PG/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 >/dev/null
  runuser -u postgres -- "$PG/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w \
    -o "-p $PGPORT -k $WORK -c listen_addresses=127.0.0.1 -c max_connections=100" start >/dev/null
  runuser -u postgres -- "$PG/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE bench" >/dev/null
  runuser -u postgres -- "$PG/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE verify" >/dev/null
}

latency() { # url header -> "p50 p99 req/s"
  wrk -t2 -c200 -d"${SECS}s" --latency -H "$2" "$1" > "$WORK/wrk.txt"
  local p50 p99 rps non2xx
  p50=$(awk '$1=="50%"{print $2}' "$WORK/wrk.txt")
  p99=$(awk '$1=="99%"{print $2}' "$WORK/wrk.txt")
  rps=$(awk '/Requests\/sec/{print $2}' "$WORK/wrk.txt")
  non2xx=$(awk '/Non-2xx/{print $5}' "$WORK/wrk.txt")
  echo "$p50 $p99 $rps ${non2xx:-0}"
}

run_case() { # name database-url
  local name="$1" url="$2" token port pid
  token=$("$SEED" "$url" 1000 5 100000 2>"$WORK/seed.log")
  port=$((30000 + RANDOM % 10000))
  MAMORI_LOG=warn "$BIN" center --data-dir "$WORK/data-$name" --database-url "$url" --listen "127.0.0.1:$port" >/dev/null 2>&1 &
  pid=$!; pids+=("$pid")
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  # Baseline of the same run: the health endpoint (no database, no auth).
  printf '%-10s %-28s %s\n' "$name" "GET /healthz (baseline)" "$(latency "http://127.0.0.1:$port/healthz" "X-Bench: 1")"
  printf '%-10s %-28s %s\n' "$name" "GET / (dashboard)" "$(latency "http://127.0.0.1:$port/" "Cookie: mamori_session=$token")"
  printf '%-10s %-28s %s\n' "$name" "GET /api/v1/instructions" "$(latency "http://127.0.0.1:$port/api/v1/instructions" "Authorization: Bearer $token")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

ONLY="${BENCH_ONLY:-}"
if [ "$ONLY" != verify ]; then
  echo "database   request                      p50 p99 req/s non-2xx"
  if [ "$ONLY" != postgres ]; then run_case sqlite "sqlite://$WORK/bench.db?mode=rwc"; fi
fi
if [ "$ONLY" != sqlite ] || [ "${BENCH_VERIFY:-1}" != 0 ]; then start_pg; fi
if [ "$ONLY" != sqlite ] && [ "$ONLY" != verify ]; then run_case postgres "postgres://postgres@127.0.0.1:$PGPORT/bench"; fi
[ "${BENCH_VERIFY:-1}" != 0 ] || exit 0

echo
echo "audit verify over 1,000,000 entries"
for target in "sqlite://$WORK/verify.db?mode=rwc" "postgres://postgres@127.0.0.1:$PGPORT/verify"; do
  "$SEED" "$target" 1 1 1000000 >/dev/null 2>"$WORK/seed.log"
  start=$(date +%s.%N)
  "$BIN" center audit verify --data-dir "$WORK/data-verify" --database-url "$target"
  end=$(date +%s.%N)
  printf '%s: %.2f s\n' "${target%%:*}" "$(echo "$end - $start" | bc)"
done
