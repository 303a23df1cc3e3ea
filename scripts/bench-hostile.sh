#!/usr/bin/env bash
# Worst-case bundles at the caps of PROTOCOL.md §9.4 (engine/BENCHMARKS.md):
# wall time and peak memory of verifying each shape of
# engine/examples/hostile_bundles.rs with the engine's verify_bundle (what
# `fairdraw verify` runs), and of refusing the baseline for the wrong key.
#
#   scripts/bench-hostile.sh
#
# Target (issue 10): every bundle <= 10 MB verifies or is refused in <= 2 s
# with a peak RSS <= 20x its size. Prints a markdown table. The peak RSS
# includes the process and the bundle read into memory.
set -euo pipefail

cd "$(dirname "$0")/.."
TARGET_DIR=${CARGO_TARGET_DIR:-target}
DATA="$TARGET_DIR/bench-data/hostile"
BIN="$TARGET_DIR/release/examples/hostile_bundles"

if [[ ! -x /usr/bin/time ]]; then
  echo "error: /usr/bin/time is needed (apt-get install time)" >&2
  exit 2
fi
cargo build --release --quiet -p fairdraw-engine --example hostile_bundles
"$BIN" "$DATA" >/dev/null

echo "| bundle | size | verdict | verify_bundle | peak RSS | RSS / size |"
echo "|---|---|---|---|---|---|"
run() { # label file [--wrong-key]
  local out kb
  out=$( { /usr/bin/time -f 'RSS %M' "$BIN" --verify "$2" ${3:-}; } 2>&1 )
  kb=$(sed -n 's/^RSS \([0-9]*\)$/\1/p' <<<"$out")
  # "<path> <n> bytes <verdict...> <secs> s"
  awk -v label="$1" -v kb="$kb" '/ bytes / {
    n = $2; secs = $(NF - 1); verdict = ""
    for (i = 4; i <= NF - 2; i++) verdict = verdict (verdict ? " " : "") $i
    printf "| %s | %.1f MB | %s | %.2f s | %.0f MB | %.1fx |\n", label, n / 1e6, verdict, secs, kb / 1024, kb * 1024 / n }' <<<"$out"
}
for f in keywords_all keywords_any exclude_users require_in rfc3797_picks tiny_entries; do
  run "$f" "$DATA/$f.json"
done
run "tiny_entries, wrong key" "$DATA/tiny_entries.json" --wrong-key
