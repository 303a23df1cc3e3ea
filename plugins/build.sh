#!/usr/bin/env bash
# Builds every plugin component (first-party and hostile) for wasm32-wasip2,
# release, into plugins/target/wasm32-wasip2/release/*.wasm, then checks that
# each plugin.toml's `component` names a file that exists.
#
#   bash plugins/build.sh            # from anywhere
#   CARGO=cargo bash plugins/build.sh
#
# Used by the host's build and tests. Prints one line per component.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cargo="${CARGO:-cargo}"

if command -v rustup >/dev/null 2>&1; then
    rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
fi

locked=()
if [[ -f "$here/Cargo.lock" ]]; then
    locked=(--locked)
fi

"$cargo" build --manifest-path "$here/Cargo.toml" --workspace \
    --target wasm32-wasip2 --release "${locked[@]}"

status=0
while IFS= read -r manifest; do
    dir="$(dirname "$manifest")"
    component="$(sed -n 's/^component *= *"\(.*\)".*/\1/p' "$manifest" | head -n1)"
    if [[ -z "$component" ]]; then
        echo "error: $manifest has no component" >&2
        status=1
        continue
    fi
    path="$dir/$component"
    if [[ ! -f "$path" ]]; then
        echo "error: $manifest: component $component was not built" >&2
        status=1
        continue
    fi
    size=$(wc -c <"$path")
    printf '%-40s %8d bytes  %s\n' "${manifest#"$here"/}" "$size" "$(cd "$(dirname "$path")" && pwd)/$(basename "$path")"
done < <(find "$here" -name plugin.toml -not -path "*/target/*" | sort)
exit $status
