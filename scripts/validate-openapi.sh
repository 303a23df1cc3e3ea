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
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "openapi-spec-validator==0.7.2"
fi
"$venv/bin/openapi-spec-validator" "$root/host/server/openapi.json"
