# fairdraw: the two set-up commands of the README.
#   make run   build the CLI and the first-party plugins (installed into the
#              data dir), run a complete demo draw and verify it, then serve
#              the hosted API with a demo draw until Ctrl-C
#   make test  the whole suite (unit, vectors, adversarial catalogue,
#              property tests, CLI end-to-end, wasm32 build of the engine)
# Both install what they need themselves.

CARGO ?= cargo
DEMO_DIR ?= demo

.PHONY: run test test-tools lint setup fuzz bench schema load widget browser-tools test-browser bench-widget

setup:
	@command -v rustup >/dev/null || { echo "error: rustup is required (https://rustup.rs)"; exit 2; }
	@rustup toolchain install >/dev/null 2>&1 || rustup show active-toolchain >/dev/null
	@rustup target add wasm32-unknown-unknown wasm32-wasip2 >/dev/null

# `make run`: the CLI demo in $(DEMO_DIR)/cli (recreated each run), then
# `fairdraw serve --dev --demo` on SQLite in $(DEMO_DIR)/server (kept: the
# demo draw is made on the first run and found again), in the foreground
# until Ctrl-C. The plugins go into the default data dir (for the CLI) and
# into the server's data dir (its `execute` fetches drand rounds through the
# drand plugin).
run: setup widget
	$(CARGO) build --release -p fairdraw-cli --bin fairdraw
	FAIRDRAW=target/release/fairdraw bash scripts/install-plugins.sh
	FAIRDRAW=target/release/fairdraw FAIRDRAW_DATA_DIR=$(DEMO_DIR)/server bash scripts/install-plugins.sh
	FAIRDRAW=target/release/fairdraw DEMO_DIR=$(DEMO_DIR)/cli bash scripts/demo.sh
	@echo
	@echo "Starting the hosted API with a demo draw (Ctrl-C stops it):"
	env -u DATABASE_URL target/release/fairdraw serve --dev --demo --data-dir $(DEMO_DIR)/server

test: setup test-tools lint
	$(CARGO) test --workspace --locked
	$(MAKE) test-browser
	$(CARGO) test -p fairdraw-engine --features schema --test all --locked rules::schema
	$(CARGO) test --manifest-path plugins/Cargo.toml --locked
	$(CARGO) build -p fairdraw-engine --target wasm32-unknown-unknown --locked
	$(CARGO) build --workspace --benches --locked   # benches compile (dev profile; `make bench` runs them)
	bash scripts/validate-openapi.sh
	for v in 1:draw_v1 2:draw_v2 2:draw_v2_secret_drand; do d=engine/tests/vectors/$${v#*:}; \
	  python3 scripts/reference/fairdraw_ref.py check $${v%%:*} $$d/input.json $$d/bundle.json $$d/intermediate.json || exit 1; done
	python3 scripts/reference/fairdraw_ref.py rfc3797 engine/tests/vectors/rfc3797.json engine/tests/vectors/commit_reveal.json
	git diff --exit-code -- engine/rules.schema.json host/server/openapi.json

# The in-browser verifier, <fairdraw-draw> and the pages into web-widget/dist
# (not committed): the wasm build, wasm-bindgen-cli of the crate's pinned
# version (cargo install into cargo's bin directory, once per machine) and node
# (installed with apt-get when missing).
widget: setup
	bash web-widget/build.sh

# What the browser tests need: node and npm, and Debian's chromium (never a
# browser downloaded by playwright).
browser-tools:
	@for pkg in node:nodejs npm:npm chromium:chromium; do tool=$${pkg%%:*}; deb=$${pkg#*:}; \
	  command -v $$tool >/dev/null || { echo "installing $$deb (apt-get)"; \
	  apt-get install -y $$deb >/dev/null 2>&1 || sudo apt-get install -y $$deb >/dev/null 2>&1 || \
	  { echo "error: $$tool is required (apt-get install -y $$deb)"; exit 2; }; }; done

# The widget, the verify page and the results page in headless Chromium
# (tests/browser; screenshots in target/browser-screenshots).
test-browser: browser-tools widget
	$(CARGO) build -p fairdraw-cli --bin fairdraw --locked
	$(CARGO) build -p fairdraw-web --example tamper --locked
	cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	cd tests/browser && node --test --test-concurrency=1 tests/

# The widget's budgets (README): gzip size, a 10k-entry bundle fetched,
# verified and rendered in Chromium, a 1M-entry bundle in Chromium vs native.
bench-widget: widget
	bash scripts/bench-widget.sh

# Tools the tests use beyond cargo: the README's API walk-through runs curl,
# jq and openssl; scripts/validate-openapi.sh runs python3.
test-tools:
	@for tool in curl jq openssl python3; do command -v $$tool >/dev/null || { \
	  echo "installing $$tool (apt-get)"; \
	  apt-get install -y $$tool >/dev/null 2>&1 || sudo apt-get install -y $$tool >/dev/null 2>&1 || \
	  { echo "error: $$tool is required (apt-get install -y $$tool)"; exit 2; }; }; done

# The gates: formatting, clippy with warnings as errors (the engine's
# clippy.toml keeps clock, filesystem, environment, threads, network and OS
# randomness out of it), for both workspaces.
lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) fmt --all --check --manifest-path plugins/Cargo.toml
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) clippy --manifest-path plugins/Cargo.toml --workspace --all-targets --locked -- -D warnings

# Regenerates engine/rules.schema.json from the Rules type.
schema:
	BLESS=1 $(CARGO) test -p fairdraw-engine --features schema --test all rules::schema

# A short coverage-guided fuzzing run of bundle parsing and verification.
fuzz: setup
	@rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || true
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz
	cd engine && $(CARGO) +nightly fuzz run verify_bundle -- -max_total_time=$${FUZZ_SECONDS:-60} -dict=fuzz/verify_bundle.dict

# The README's performance table (slow: generates 1M and 10M-entry bundles).
bench: setup
	bash scripts/bench-verify.sh
	$(CARGO) bench -p fairdraw-engine --bench engine
	$(CARGO) bench -p fairdraw-runtime --bench plugins

# The hosted API's load figures in the README (slow: a release build, wrk,
# 10k, 100k and 1M-entry draws on SQLite and, when reachable, PostgreSQL).
# Never part of `make test`.
load: setup
	bash scripts/load.sh
