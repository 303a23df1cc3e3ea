#!/usr/bin/env bash
# Builds the browser verifier and the widget into web-widget/dist (or $OUT):
# the fairdraw-web crate for wasm32 (profile `wasm`: opt-level z, LTO), JS
# glue from wasm-bindgen-cli of exactly the crate's wasm-bindgen version
# (installed into target/tools when missing), then build.mjs hashes the names
# and writes the pages and manifest.
#
# No wasm-opt: Debian's binaryen (108) made the module larger, not smaller
# (gzip 372 KB -> 390 KB with -Oz), and with --all-features it wrote type
# encodings Chromium refuses. WASM_OPT="wasm-opt -Oz ..." runs one anyway.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo=${CARGO:-cargo}
out=${OUT:-$root/web-widget/dist}
tools=$root/target/tools
version=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' web-widget/Cargo.toml)
[ -n "$version" ] || { echo "error: cannot read the pinned wasm-bindgen version from web-widget/Cargo.toml" >&2; exit 2; }

if ! command -v node >/dev/null; then
  echo "installing nodejs with apt-get"
  apt-get install -y nodejs >/dev/null 2>&1 || sudo apt-get install -y nodejs >/dev/null 2>&1 ||
    { echo "error: node is required (apt-get install -y nodejs)" >&2; exit 2; }
fi
if ! "$tools/bin/wasm-bindgen" --version 2>/dev/null | grep -qx "wasm-bindgen $version"; then
  echo "installing wasm-bindgen-cli $version into $tools"
  "$cargo" install wasm-bindgen-cli --version "$version" --root "$tools" --force
fi

"$cargo" build -p fairdraw-web --target wasm32-unknown-unknown --profile wasm --locked
bindgen=$root/target/widget-bindgen
rm -rf "$bindgen"
"$tools/bin/wasm-bindgen" target/wasm32-unknown-unknown/wasm/fairdraw_web.wasm \
  --target no-modules --no-typescript --remove-name-section --remove-producers-section --out-dir "$bindgen"
if [[ -n ${WASM_OPT:-} ]]; then
  $WASM_OPT "$bindgen/fairdraw_web_bg.wasm" -o "$bindgen/opt.wasm"
  mv "$bindgen/opt.wasm" "$bindgen/fairdraw_web_bg.wasm"
fi
node web-widget/build.mjs "$bindgen" "$out"
