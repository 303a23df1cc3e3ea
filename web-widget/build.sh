#!/usr/bin/env bash
# Builds the browser verifier and the widget into web-widget/dist (or $OUT):
# the fairdraw-web crate for wasm32 (profile `wasm`: opt-level z, LTO), JS
# glue from wasm-bindgen-cli of exactly the crate's wasm-bindgen version
# (installed with cargo install when missing), then build.mjs hashes the names
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
version=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' web-widget/Cargo.toml)
[ -n "$version" ] || { echo "error: cannot read the pinned wasm-bindgen version from web-widget/Cargo.toml" >&2; exit 2; }

if ! command -v node >/dev/null; then
  echo "installing nodejs with apt-get"
  apt-get install -y nodejs >/dev/null 2>&1 || sudo apt-get install -y nodejs >/dev/null 2>&1 ||
    { echo "error: node is required (apt-get install -y nodejs)" >&2; exit 2; }
fi
# wasm-bindgen-cli of exactly the crate's version: the one on PATH or in
# cargo's bin directory when it matches, else `cargo install` into cargo's bin
# directory (once per machine, not once per clone: it takes minutes to build).
cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
wasm_bindgen=
for candidate in "$(command -v wasm-bindgen || true)" "$cargo_bin/wasm-bindgen"; do
  if [[ -n $candidate ]] && "$candidate" --version 2>/dev/null | grep -qx "wasm-bindgen $version"; then
    wasm_bindgen=$candidate
    break
  fi
done
if [[ -z $wasm_bindgen ]]; then
  echo "installing wasm-bindgen-cli $version into $cargo_bin (cargo install, a few minutes, once)"
  "$cargo" install wasm-bindgen-cli --version "$version" --force
  wasm_bindgen=$cargo_bin/wasm-bindgen
fi

"$cargo" build -p fairdraw-web --target wasm32-unknown-unknown --profile wasm --locked
bindgen=$root/target/widget-bindgen
rm -rf "$bindgen"
"$wasm_bindgen" target/wasm32-unknown-unknown/wasm/fairdraw_web.wasm \
  --target no-modules --no-typescript --remove-name-section --remove-producers-section --out-dir "$bindgen"
if [[ -n ${WASM_OPT:-} ]]; then
  $WASM_OPT "$bindgen/fairdraw_web_bg.wasm" -o "$bindgen/opt.wasm"
  mv "$bindgen/opt.wasm" "$bindgen/fairdraw_web_bg.wasm"
fi
node web-widget/build.mjs "$bindgen" "$out"
