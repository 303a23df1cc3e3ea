#!/usr/bin/env bash
# Builds the first-party plugins (plugins/*/plugin.toml) as WebAssembly
# components and installs them with `fairdraw plugin install`, so
# `fairdraw fetch` and `fairdraw beacon` find them. `make run` calls it.
#
#   FAIRDRAW           the fairdraw binary (default: target/release/fairdraw;
#                      built when missing)
#   FAIRDRAW_DATA_DIR  where to install (default: $XDG_DATA_HOME/fairdraw,
#                      else ~/.local/share/fairdraw)
#   CARGO              cargo to use (default: cargo)
#
# The hostile test plugins under plugins/hostile/ are not installed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cargo=${CARGO:-cargo}
fairdraw=${FAIRDRAW:-$root/target/release/fairdraw}
case $fairdraw in /*) ;; *) fairdraw=$root/$fairdraw ;; esac

if [ ! -x "$fairdraw" ]; then
  echo "building $fairdraw" >&2
  (cd "$root" && "$cargo" build --release -p fairdraw-cli --bin fairdraw)
fi

# First-party plugins: a directory directly under plugins/ with a manifest.
dirs=()
packages=()
for manifest in "$root"/plugins/*/plugin.toml; do
  [ -f "$manifest" ] || continue
  dir=$(dirname "$manifest")
  package=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$dir/Cargo.toml" | head -n 1)
  if [ -z "$package" ]; then
    echo "error: $dir/Cargo.toml names no package" >&2
    exit 2
  fi
  dirs+=("$dir")
  packages+=(-p "$package")
done
if [ ${#dirs[@]} -eq 0 ]; then
  echo "error: no plugins/*/plugin.toml found" >&2
  exit 2
fi

if command -v rustup >/dev/null && ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2 >/dev/null
fi
echo "building ${#dirs[@]} plugins for wasm32-wasip2" >&2
"$cargo" build --manifest-path "$root/plugins/Cargo.toml" --target wasm32-wasip2 --release "${packages[@]}"

for dir in "${dirs[@]}"; do
  "$fairdraw" plugin install "$dir"
done
"$fairdraw" plugin list
