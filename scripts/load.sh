#!/usr/bin/env bash
# Load test of the hosted API (`fairdraw serve`), on loopback, bounded in
# time, on SQLite and (when reachable) on PostgreSQL. `make load` runs it;
# it is never part of `make test`.
#
#   scripts/load.sh                      # both databases, RUNS=2
#   DBS=sqlite RUNS=3 scripts/load.sh
#   PG_URL=postgres://postgres@127.0.0.1:5432 scripts/load.sh
#   FAIRDRAW=/path/to/fairdraw scripts/load.sh   # a release binary built elsewhere
#
# Measures, against a release build:
#   1. public GETs of an executed 10k-entry draw (bundle and lock receipt),
#      with wrk: req/s and p99 latency, full bodies and conditional
#      (If-None-Match -> 304). Target >= 5,000 req/s, p99 <= 25 ms.
#   2. upload + lock + execute of a 100k-entry draw through the API
#      (commit-reveal: the server keeps the secret, so no network is
#      needed), end to end wall time. Target <= 3 s.
#   3. the server's RSS (/proc/PID/status VmRSS, VmHWM) before, during and
#      after 50 concurrent clients download a 1M-entry bundle, on a freshly
#      started server (first round: cold cache) and again (warm). Target:
#      flat, no per-request copy.
# Every measurement runs RUNS times (default 2); the table shows medians.
#
# The public routes' per-IP rate limit is raised for the run (wrk is one IP);
# everything else is `fairdraw serve --dev` as shipped. The client shares the
# machine with the server, so the figures are a floor, not a ceiling.
#
# Client: wrk (apt-get install wrk; installed here when missing). Where
# apt-get is unavailable, oha (cargo install oha) stands in.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${RUNS:-2}
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
CLIENTS=${CLIENTS:-50}
DBS=${DBS:-"sqlite postgres"}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18089}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
DATA="$TARGET_DIR/load-data"
HELPER="python3 $ROOT/scripts/load_helper.py"
BASE="http://127.0.0.1:$PORT"

die() { echo "error: $*" >&2; exit 1; }
note() { echo "== $*" >&2; }
median() { $HELPER median "$@"; }

# --- the client ---------------------------------------------------------------
CLIENT=wrk
if ! command -v wrk >/dev/null; then
  if command -v apt-get >/dev/null; then
    note "installing wrk (apt-get install -y wrk)"
    SUDO=; [[ $(id -u) -ne 0 ]] && SUDO=sudo
    $SUDO apt-get install -y wrk >/dev/null 2>&1 ||
      { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y wrk >/dev/null; } ||
      die "cannot install wrk"
  elif command -v oha >/dev/null || cargo install oha --locked; then
    CLIENT=oha
  else
    die "neither wrk (apt-get install wrk) nor oha (cargo install oha) is available"
  fi
fi
command -v curl >/dev/null || die "curl is needed"

# --- the server binary --------------------------------------------------------
if [[ -z "${FAIRDRAW:-}" ]]; then
  cargo build --release --quiet -p fairdraw-cli --bin fairdraw
  FAIRDRAW="$TARGET_DIR/release/fairdraw"
fi
FAIRDRAW=$(realpath "$FAIRDRAW")

# --- fixtures -----------------------------------------------------------------
mkdir -p "$DATA"
for n in 10000 100000 1000000; do
  [[ -s "$DATA/entries-$n.jsonl" ]] || { note "generating $n entries"; $HELPER gen "$n" "$DATA/entries-$n.jsonl"; }
done

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/fairdraw-load.XXXXXX")
SERVER_PID=
PG_DB=
cleanup() {
  stop_server
  if [[ -n "$PG_DB" ]]; then
    psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    timeout 30 tail --pid="$SERVER_PID" -f /dev/null 2>/dev/null || kill -KILL "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}

# start_server DATA_DIR [DATABASE_URL]
start_server() {
  local dir=$1 url=${2:-}
  DATABASE_URL=$url "$FAIRDRAW" serve --dev --data-dir "$dir" --listen "127.0.0.1:$PORT" \
    --rate-per-ip 1000000000 --burst-per-ip 1000000000 \
    >>"$SCRATCH/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -fsS "$BASE/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$SCRATCH/server.log" >&2; die "the server exited"; }
    sleep 0.1
  done
  die "the server did not become ready in 10 s"
}

# load URL [HEADER] -> "req_per_s p99_ms"
load() {
  local url=$1 header=${2:-} out
  if [[ $CLIENT == wrk ]]; then
    local args=(-t2 "-c$CONNS" "-d${DURATION}s" --timeout 10s --latency)
    [[ -n "$header" ]] && args+=(-H "$header")
    out=$(timeout $((DURATION + 30)) wrk "${args[@]}" "$url")
    if grep -q "Non-2xx or 3xx" <<<"$out"; then echo "$out" >&2; die "wrk saw errors on $url"; fi
    awk '
      function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
      /Requests\/sec/ { rps = $2 }
      $1 == "99%" { p99 = ms($2) }
      END { printf "%.0f %.2f\n", rps, p99 }' <<<"$out"
  else
    local args=(-z "${DURATION}s" -c "$CONNS" --no-tui -j)
    [[ -n "$header" ]] && args+=(-H "$header")
    out=$(timeout $((DURATION + 30)) oha "${args[@]}" "$url")
    python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.0f %.2f" % (d["summary"]["requestsPerSec"], d["latencyPercentiles"]["p99"]*1000))' <<<"$out"
  fi
}

ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 |"); }

run_db() {
  local db=$1 url=${2:-} dir="$SCRATCH/$1"
  mkdir -p "$dir"
  note "$db: starting fairdraw serve"
  DATABASE_URL=$url "$FAIRDRAW" admin --dev --data-dir "$dir" create-org --name "Load test" >"$dir/org.txt" 2>/dev/null
  KEY=$(awk '/^API key:/ { print $3 }' "$dir/org.txt")
  [[ -n "$KEY" ]] || die "no API key from admin create-org"
  start_server "$dir" "$url"

  # 1. Public GETs of an executed 10k-entry draw.
  note "$db: 10k-entry draw"
  local d10 id etag_b etag_l
  d10=$(timeout 300 $HELPER draw "$BASE" "$KEY" "$DATA/entries-10000.jsonl")
  id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$d10")
  local bundle="$BASE/v1/public/draws/$id/bundle" receipt="$BASE/v1/public/draws/$id/lock-receipt"
  local bsize rsize
  bsize=$(curl -fsS -o /dev/null -w '%{size_download}' "$bundle")
  rsize=$(curl -fsS -o /dev/null -w '%{size_download}' "$receipt")
  etag_b=$(curl -fsS -D - -o /dev/null "$bundle" | awk -F': ' 'tolower($1) == "etag" { gsub(/\r/, "", $2); print $2 }')
  etag_l=$(curl -fsS -D - -o /dev/null "$receipt" | awk -F': ' 'tolower($1) == "etag" { gsub(/\r/, "", $2); print $2 }')
  local name u h rps p99 r
  for spec in "bundle|$bundle|" "bundle, If-None-Match (304)|$bundle|If-None-Match: $etag_b" \
              "lock receipt|$receipt|" "lock receipt, If-None-Match (304)|$receipt|If-None-Match: $etag_l"; do
    IFS='|' read -r name u h <<<"$spec"
    rps=(); p99=()
    for ((r = 0; r < RUNS; r++)); do
      note "$db: wrk $name (run $((r + 1)))"
      read -r a b < <(load "$u" "$h")
      rps+=("$a"); p99+=("$b")
    done
    local size=$bsize; [[ $name == lock* ]] && size=$rsize
    [[ $name == *304* ]] && size=0
    row "$db" "GET $name, 10k entries ($((size / 1024)) KiB), $CONNS conn." \
      "$(median "${rps[@]}") req/s, p99 $(median "${p99[@]}") ms" \
      "runs: ${rps[*]} req/s; p99 ${p99[*]} ms"
  done

  # 2. Upload + lock + execute of 100k entries, end to end.
  local totals=() parts=() out
  for ((r = 0; r < RUNS; r++)); do
    note "$db: 100k-entry draw (run $((r + 1)))"
    out=$(timeout 300 $HELPER draw "$BASE" "$KEY" "$DATA/entries-100000.jsonl")
    totals+=("$(python3 -c 'import json,sys; print(json.load(sys.stdin)["total_s"])' <<<"$out")")
    parts+=("$(python3 -c 'import json,sys; d=json.load(sys.stdin); print("%s/%s/%s" % (d["upload_s"], d["lock_s"], d["execute_s"]))' <<<"$out")")
  done
  row "$db" "upload + lock + execute, 100k entries" "$(median "${totals[@]}") s" \
    "runs: ${totals[*]} s (upload/lock/execute: ${parts[*]})"

  # 3. RSS while CLIENTS clients download a 1M-entry bundle.
  note "$db: 1M-entry draw"
  local d1m id1m
  d1m=$(timeout 900 $HELPER draw "$BASE" "$KEY" "$DATA/entries-1000000.jsonl")
  id1m=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$d1m")
  local m1 mb
  m1=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["total_s"])' <<<"$d1m")
  for ((r = 0; r < RUNS; r++)); do
    stop_server
    start_server "$dir" "$url"
    for phase in cold warm; do
      note "$db: $CLIENTS clients download the 1M bundle ($phase, run $((r + 1)))"
      out=$(timeout 600 $HELPER rss "$SERVER_PID" "$BASE/v1/public/draws/$id1m/bundle" "$CLIENTS")
      echo "$out" >"$dir/rss-$phase-$r.json"
      mb=$(python3 -c '
import json, sys
d = json.load(sys.stdin)
if d["ok"] != d["clients"] or d["errors"]:
    sys.exit("downloads failed: %s" % d["errors"])
m = lambda k: d[k] / 1024
print("%d MiB bundle x %d in %.1f s: RSS %.0f -> peak %.0f -> %.0f MiB (HWM %.0f MiB)" % (
    d["bundle_bytes"] / 2**20, d["clients"], d["seconds"],
    m("rss_before_kb"), m("rss_peak_kb"), m("rss_after_kb"), m("hwm_after_kb")))' <<<"$out")
      row "$db" "RSS, $CLIENTS clients x 1M-entry bundle ($phase cache, run $((r + 1)))" "$mb" \
        "1M draw end to end: ${m1} s"
    done
  done
  stop_server
}

for db in $DBS; do
  case $db in
    sqlite) run_db sqlite ;;
    postgres)
      if ! psql -q "$PG_URL/postgres" -c 'SELECT 1' >/dev/null 2>&1; then
        note "SKIPPED PostgreSQL: $PG_URL is not reachable"
        ROWS+=("| postgres | skipped: $PG_URL not reachable | | |")
        continue
      fi
      PG_DB="fairdraw_load_$$"
      psql -q "$PG_URL/postgres" -c "CREATE DATABASE $PG_DB" >/dev/null
      run_db postgres "$PG_URL/$PG_DB"
      psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
      PG_DB=
      ;;
    *) die "unknown database $db (sqlite, postgres)" ;;
  esac
done

echo
echo "fairdraw serve load test: $(nproc) cores, client ($CLIENT) and server on one machine, medians of $RUNS runs"
echo
echo "| database | measurement | median | detail |"
echo "| --- | --- | --- | --- |"
printf '%s\n' "${ROWS[@]}"
