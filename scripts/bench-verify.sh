#!/usr/bin/env bash
# Load test of `fairdraw verify` on big bundles, against `sha256sum` of the
# same file in the same run (engine/BENCHMARKS.md).
#
#   scripts/bench-verify.sh                 # 1M and 10M entries
#   SIZES=1M RUNS=10 scripts/bench-verify.sh
#   FAIRDRAW=/tmp/fairdraw scripts/bench-verify.sh   # a binary built elsewhere
#
# Generates target/bench-data/synth-<size>.json with the synth_bundle example
# when missing (about 20 s for 1M, 4-5 min and 9 GB of RAM for 10M), times
# both commands with hyperfine (apt-get install hyperfine) or else with
# repeated /usr/bin/time, takes the peak RSS of `fairdraw verify` with
# `/usr/bin/time -v`, and prints a markdown table with the ratios.
#
# Targets: verify(1M) <= 6x sha256sum(1M); peak RSS of verify(10M) < 2x the
# bundle's size. The machine may be busy: repeat and compare medians.
set -euo pipefail

cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1M 10M"}
RUNS=${RUNS:-5}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
DATA="$TARGET_DIR/bench-data"
SYNTH="$TARGET_DIR/release/examples/synth_bundle"

if [[ ! -x /usr/bin/time ]]; then
  echo "error: /usr/bin/time is needed (apt-get install time)" >&2
  exit 2
fi

# FAIRDRAW=/path/to/fairdraw measures a binary built elsewhere.
if [[ -z "${FAIRDRAW:-}" ]]; then
  cargo build --release --quiet -p fairdraw-cli --bin fairdraw
  FAIRDRAW="$TARGET_DIR/release/fairdraw"
fi
mkdir -p "$DATA"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Prints "median_sha median_verify" in seconds.
time_pair() {
  local file=$1 csv
  if command -v hyperfine >/dev/null; then
    csv=$(mktemp)
    hyperfine --style basic --runs "$RUNS" --export-csv "$csv" \
      -n sha256sum "sha256sum '$file'" \
      -n verify "'$FAIRDRAW' verify '$file'" >&2
    # command,mean,stddev,median,user,system,min,max
    awk -F, '$1 == "sha256sum" { s = $4 } $1 == "verify" { v = $4 } END { print s, v }' "$csv"
    rm -f "$csv"
  else
    # Interleaved, so both see the same load.
    local s=() v=() i
    for ((i = 0; i < RUNS; i++)); do
      s+=("$( { /usr/bin/time -f %e sha256sum "$file" >/dev/null; } 2>&1 )")
      v+=("$( { /usr/bin/time -f %e "$FAIRDRAW" verify "$file" >/dev/null; } 2>&1 )")
    done
    echo "$(printf '%s\n' "${s[@]}" | median) $(printf '%s\n' "${v[@]}" | median)"
  fi
}

rows=()
for size in $SIZES; do
  file="$DATA/synth-$size.json"
  if [[ ! -s "$file" ]]; then
    echo "generating $file" >&2
    cargo build --release --quiet -p fairdraw-engine --example synth_bundle
    "$SYNTH" --entries "$size" --out "$file"
  fi
  # Peak RSS first: this run also checks the bundle verifies and warms the
  # page cache for the timed runs.
  if ! rss_out=$( { /usr/bin/time -v "$FAIRDRAW" verify "$file" >/dev/null; } 2>&1 ); then
    echo "error: $file does not verify" >&2
    echo "$rss_out" | tail -n 5 >&2
    exit 1
  fi
  rss_kb=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' <<<"$rss_out")
  bytes=$(stat -c %s "$file")
  read -r sha verify < <(time_pair "$file")
  rows+=("$(awk -v size="$size" -v b="$bytes" -v s="$sha" -v v="$verify" -v r="$rss_kb" 'BEGIN {
    printf "| %s | %.0f MB | %.2f s | %.2f s | %.1fx | %.0f MB | %.2fx |", size, b / 1e6, s, v, v / s, r * 1024 / 1e6, r * 1024 / b }')")
done

echo
echo "Medians of $RUNS runs each ($(nproc) cores; $(command -v hyperfine >/dev/null && echo hyperfine || echo /usr/bin/time)):"
echo
echo "| entries | bundle | sha256sum | fairdraw verify | verify / sha256sum | peak RSS of verify | RSS / bundle |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
echo
echo "Targets: verify / sha256sum <= 6x at 1M; RSS / bundle < 2x at 10M."
