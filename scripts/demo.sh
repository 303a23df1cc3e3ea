#!/usr/bin/env bash
# The demo behind `make run`: a complete draw with the CLI on the sample
# entries in tests/fixtures/giveaway, then its verification.
#
# 1. keygen -> lock (drand default-chain round 2634945, a real beacon) ->
#    execute -> verify, pinned to the organiser's key and published lock hash.
# 2. draw (commit-reveal, lock and execute at once) -> verify.
# 3. prove: one entrant's inclusion proof, one excluded entrant.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
fairdraw=${FAIRDRAW:-$root/target/release/fairdraw}
case $fairdraw in /*) ;; *) fairdraw=$root/$fairdraw ;; esac
fixtures=$root/tests/fixtures/giveaway
out=${DEMO_DIR:-demo}
case $out in /*) ;; *) out=$root/$out ;; esac

rm -rf "$out"
mkdir -p "$out"
cd "$out"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$fairdraw" keygen --out key.json
public_key=$(sed -n 's/.*"public_key": "\([0-9a-f]*\)".*/\1/p' key.json)

step "$fairdraw" lock \
  --entries "$fixtures/comments.jsonl" "$fixtures/likes.csv" \
  --rules "$fixtures/rules.json" --key key.json \
  --randomness drand:default:2634945 --at 2023-01-23T13:00:00Z \
  --title "ACME new year giveaway" --id acme-2023 --out lock.json | tee lock.txt
lock_hash=$(sed -n 's/^Lock hash: *\([0-9a-f]*\).*/\1/p' lock.txt)

step "$fairdraw" execute lock.json --key key.json \
  --beacon "$fixtures/beacon-default-2634945.json" --at 2023-01-23T13:10:00Z --out bundle.json

step "$fairdraw" verify bundle.json --key "$public_key" --lock-hash "$lock_hash"

step "$fairdraw" draw \
  --entries "$fixtures/comments.jsonl" "$fixtures/likes.csv" \
  --rules "$fixtures/rules.json" --key key.json --title "Quick draw" --out quick.json
step "$fairdraw" verify quick.json --key "$public_key"

step "$fairdraw" prove bundle.json --entrant @bea
set +e
step "$fairdraw" prove bundle.json --entrant @spammer
code=$?
set -e
if [ "$code" -ne 3 ]; then echo "expected exit 3 for an excluded entrant, got $code" >&2; exit 1; fi

printf '\nDemo files are in %s: bundle.json is the proof bundle anyone can verify.\n' "$out"
