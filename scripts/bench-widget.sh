#!/usr/bin/env bash
# The widget's budgets (README, "The widget"): `make bench-widget`.
#
#   1. script + worker + wasm, gzip -9 (web-widget/dist/manifest.json);
#   2. a 10k-entry bundle fetched, verified and rendered in Chromium;
#   3. a 1M-entry bundle: the wasm verify call in Chromium next to the same
#      call natively (the verify_native example: fairdraw-web's verify_json,
#      what the wasm exports) and, when a release CLI is built
#      (target/release/fairdraw, or FAIRDRAW=…), `fairdraw verify`.
#
# Bundles come from the engine's synth_bundle example (deterministic), in
# target/bench-data. RUNS (default 5) fresh browser contexts each for 10k,
# at most 3 for 1M; medians. Needs a built widget (make widget), node and
# chromium (make browser-tools). Never part of `make test`.
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
DATA=target/bench-data
mkdir -p "$DATA"
[[ -s web-widget/dist/manifest.json ]] || { echo "error: build the widget first (make widget)" >&2; exit 2; }

cargo build --release --quiet -p fairdraw-engine --example synth_bundle
cargo build --release --quiet -p fairdraw-web --example verify_native
for size in 10k 1M; do
  [[ -s $DATA/synth-$size.json ]] || target/release/examples/synth_bundle --entries "$size" --out "$DATA/synth-$size.json"
done
(cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)

sizes=$(node -e 'const m=require("./web-widget/dist/manifest.json").sizes; console.log(`${m.element.gzip} ${m.worker.gzip} ${m.wasm.gzip} ${m.total_gzip}`)')
read -r g_el g_worker g_wasm g_total <<<"$sizes"
browser=$(cd tests/browser && node bench.mjs "$PWD/../../$DATA/synth-10k.json" "$PWD/../../$DATA/synth-1M.json" "$RUNS")
native=$(target/release/examples/verify_native "$DATA/synth-1M.json" 3)
cli="not built (cargo build --release -p fairdraw-cli, or FAIRDRAW=…)"
FAIRDRAW=${FAIRDRAW:-target/release/fairdraw}
if [[ -x $FAIRDRAW ]]; then
  t=()
  for _ in 1 2 3; do t+=("$( { /usr/bin/time -f %e "$FAIRDRAW" verify "$DATA/synth-1M.json" >/dev/null; } 2>&1 )"); done
  cli="$(printf '%s\n' "${t[@]}" | sort -g | sed -n 2p) s (median of 3, process start and file read included)"
fi

node - "$browser" "$native" "$g_el" "$g_worker" "$g_wasm" "$g_total" "$cli" <<'JS'
const [browser, native, el, worker, wasm, total, cli] = process.argv.slice(2);
const b = JSON.parse(browser), n = JSON.parse(native);
const kb = (x) => (x / 1024).toFixed(1) + " KB";
console.log("| budget | measured |");
console.log("|---|---|");
console.log(`| script + worker + wasm ≤ 300 KB gzip | **${kb(total)}** (element ${kb(el)}, worker glue ${kb(worker)}, wasm ${kb(wasm)}) |`);
console.log(`| 10k-entry bundle fetched + verified + rendered in Chromium ≤ 500 ms | **${b["10k"].total_ms} ms** median of ${b["10k"].runs} cold loads (verify call ${b["10k"].verify_ms} ms) |`);
console.log(`| 1M-entry bundle: Chromium ≤ 1.5× native | wasm verify **${(b["1M"].verify_ms / 1000).toFixed(2)} s** (page total ${(b["1M"].total_ms / 1000).toFixed(2)} s) vs native verify_json **${(n.verify_ms / 1000).toFixed(2)} s**: **${(b["1M"].verify_ms / n.verify_ms).toFixed(2)}×**; \`fairdraw verify\`: ${cli} |`);
JS
