#!/usr/bin/env bash
# Validates host/server/openapi.json against the OpenAPI 3.1 specification
# with openapi-spec-validator (the OpenAPI Initiative's JSON Schemas for 3.0
# and 3.1, plus the spec's rules a schema cannot express, such as unique
# operationIds). The server's own test checks that the committed copy is what
# the code generates; this checks that what it generates is valid OpenAPI.
# `make test` runs it. The validator is installed once into target/openapi-venv.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/target/openapi-venv
if [ ! -x "$venv/bin/openapi-spec-validator" ]; then
  command -v python3 >/dev/null || { echo "error: python3 is required to validate the OpenAPI document (apt-get install -y python3)"; exit 2; }
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian's python3 keeps venv in a package of its own.
    rm -rf "$venv"
    apt-get install -y python3-venv >/dev/null 2>&1 || sudo apt-get install -y python3-venv >/dev/null 2>&1 || true
    python3 -m venv "$venv" || { echo "error: cannot create a Python venv (apt-get install -y python3-venv)"; exit 2; }
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "openapi-spec-validator==0.7.2"
fi
"$venv/bin/openapi-spec-validator" "$root/host/server/openapi.json"
