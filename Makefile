# syncgate: one entry point for a fresh machine and for CI.
#
#   make test    installs what is missing (pinned), then runs every suite
#   make dev     builds pkg/ and runs a short sign-and-verify demo
#   make pkg     builds the npm package `syncgate` into pkg/
#   make bench   verify throughput, what the edge adds over a bare Worker, sizes (BENCHMARKS.md)
#   make lint    redocly lint openapi.yaml, rustfmt, clippy (native and wasm32), node --check
#   make chaos   the end-to-end load/fault/restart run at full size (CHAOS_OPS=2000)
#   make fuzz    every cargo-fuzz target for FUZZ_SECONDS (default 30) each; not part of `make test`
#
# Tools come from crates.io, npm and Debian only: wasm-bindgen-cli (cargo install, the exact
# version Cargo.lock resolved), npm devDependencies pinned in package.json/package-lock.json
# (binaryen's wasm-opt, interop peers, playwright-core, typescript, wrangler, miniflare) and
# Debian's chromium for the browser test. `make pkg` is cargo build + wasm-bindgen + wasm-opt
# (it assembles one package for Node and browsers); `make test-wasm-pack` runs wasm-pack itself
# (pinned, cargo install), as users of the repository run it: `wasm-pack build` and
# `wasm-pack test --node`, which are the wasm32 suites of `make test`.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

export PATH := $(HOME)/.cargo/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export CARGO_TERM_COLOR ?= never

WASM_TARGET := wasm32-unknown-unknown
# The CLI must be exactly the wasm-bindgen version in Cargo.lock (the schema is versioned).
WASM_BINDGEN_VERSION := $(or $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/^version = "\(.*\)"$$/\1/p;q;}' Cargo.lock 2>/dev/null),0.2.130)
WASM_TEST_RUNNER := CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
NPM_STAMP := node_modules/.package-lock.json
# worker-build is pinned to the `worker` crate's version.
WORKER_BUILD_VERSION := 0.8.7
export WASM_BINDGEN_BIN := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin/wasm-bindgen
export WASM_OPT_BIN := $(CURDIR)/node_modules/.bin/wasm-opt
export ESBUILD_BIN := $(CURDIR)/node_modules/.bin/esbuild
export WRANGLER_SEND_METRICS := false
# redocly lint runs offline: no telemetry, no update check.
export REDOCLY_TELEMETRY := off
export REDOCLY_SUPPRESS_UPDATE_NOTICE := true
JS_SOURCES := $(wildcard scripts/*.mjs js/*.js js/*.mjs js/*.cjs bench/*.mjs bench/support/*.mjs tests/js/*.mjs tests/js/support/*.mjs tests/e2e/*.mjs tests/e2e/support/*.mjs examples/browser/*.js tests/js/bundler/*.js)

.PHONY: help dev demo test pkg pkg-named worker origin bench lint fmt clean \
	install install-rust install-wasm-bindgen install-worker-build install-wasm-pack install-node install-chromium \
	install-python signing-examples \
	test-rust test-wasm test-wasm-pack test-js test-e2e test-deploy deploy chaos \
	install-cargo-fuzz fuzz fuzz-seeds fuzz-accepted

help:
	@echo "make test | dev | demo | pkg | worker | origin | bench | lint | fmt | install | fuzz | clean"

# ---------------------------------------------------------------------------------------------
# Installs (idempotent: each step checks first)

install: install-rust install-wasm-bindgen install-worker-build install-wasm-pack install-node install-python

install-rust:
	@command -v rustup >/dev/null || { echo "rustup is required"; exit 1; }
	@for c in rustfmt clippy; do \
	  rustup component list --installed | grep -q "^$$c" || rustup component add $$c; \
	done
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

install-wasm-bindgen:
	@if [ "$$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $(WASM_BINDGEN_VERSION)" ] \
	    && [ "$$(wasm-bindgen-test-runner --version 2>/dev/null)" = "wasm-bindgen-test-runner $(WASM_BINDGEN_VERSION)" ]; then \
	  echo "wasm-bindgen-cli $(WASM_BINDGEN_VERSION): present"; \
	else \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (about 5 minutes)"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); \
	fi

# wasm-pack uses the wasm-bindgen on PATH when its version matches Cargo.lock (installed above)
# and wasm-opt from node_modules/.bin (on PATH here), so it downloads nothing.
WASM_PACK_VERSION := 0.15.1
install-wasm-pack:
	@if [ "$$(wasm-pack --version 2>/dev/null)" = "wasm-pack $(WASM_PACK_VERSION)" ]; then \
	  echo "wasm-pack $(WASM_PACK_VERSION): present"; \
	else \
	  echo "installing wasm-pack $(WASM_PACK_VERSION) (about 7 minutes)"; \
	  cargo install --locked wasm-pack --version $(WASM_PACK_VERSION); \
	fi

# worker-build turns the worker crate into worker/build/ (it runs wasm-bindgen, wasm-opt and
# esbuild, found through the *_BIN variables below so it never tries to download them).
install-worker-build:
	@if [ "$$(worker-build --version 2>/dev/null)" = "$(WORKER_BUILD_VERSION)" ]; then \
	  echo "worker-build $(WORKER_BUILD_VERSION): present"; \
	else \
	  echo "installing worker-build $(WORKER_BUILD_VERSION) (about 6 minutes)"; \
	  cargo install --locked worker-build --version $(WORKER_BUILD_VERSION); \
	fi

install-node: $(NPM_STAMP)

$(NPM_STAMP): package.json package-lock.json
	@command -v node >/dev/null || { echo "Node >= 20 is required"; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

# The Python signing examples' libraries (examples/signing/python/requirements.txt: every
# package pinned with its hashes, installed with --require-hashes) in a venv under target/.
# Debian's python3-venv is installed when the venv module is missing.
PYTHON_VENV := target/python-venv
PYTHON_STAMP := $(PYTHON_VENV)/.requirements.txt
install-python: $(PYTHON_STAMP)

$(PYTHON_STAMP): examples/signing/python/requirements.txt
	@command -v python3 >/dev/null || { echo "python3 is required for the signing examples"; exit 1; }
	@python3 -m venv --help >/dev/null 2>&1 || { sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q python3-venv; }
	rm -rf $(PYTHON_VENV)
	python3 -m venv $(PYTHON_VENV)
	$(PYTHON_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
	  -r examples/signing/python/requirements.txt
	@cp $< $@

# Debian's chromium for the browser test (playwright-core drives it; no browser download).
# Outside CI a failed install only warns (the browser test then skips with a message); in CI
# (CI set) it is an error, so the browser test always runs there.
install-chromium:
	@if [ -x /usr/bin/chromium ]; then \
	  echo "chromium: present"; \
	elif sudo=""; { [ "$$(id -u)" = 0 ] || sudo=sudo; } \
	    && $$sudo apt-get update -q \
	    && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q chromium; then \
	  echo "chromium: installed"; \
	elif [ -n "$${CI:-}" ]; then \
	  echo "chromium could not be installed; the browser test must run in CI"; exit 1; \
	else \
	  echo "warning: chromium could not be installed; the browser test will be skipped"; \
	fi

# ---------------------------------------------------------------------------------------------
# Build

pkg: install-rust install-wasm-bindgen install-node
	node scripts/build-pkg.mjs

# pkg/ plus target/pkg-named/, the same package with function names in its .wasm, for
# `node --cpu-prof bench/profile-verify.mjs` (see that file); pkg/ is the shipped build.
pkg-named: install-rust install-wasm-bindgen install-node
	node scripts/build-pkg.mjs --named=target/pkg-named

# The edge worker as wrangler and Miniflare run it: worker/build/index.js + index_bg.wasm.
worker: install-rust install-wasm-bindgen install-worker-build install-node
	cd worker && worker-build --release
	node scripts/worker-strip.mjs
	@wasm=worker/build/index_bg.wasm; \
	  echo "worker wasm: $$(stat -c %s $$wasm) B ($$(gzip -9 -c $$wasm | wc -c) B gzip)"

# The reference origin CRM.
origin:
	cargo build -p syncgate-origin

# The signing examples of docs/signing.md: the TypeScript one compiled with the pinned tsc into
# target/signing-ts/, the Python one's libraries in target/python-venv.
signing-examples: install-node install-python
	tsc -p examples/signing/typescript

# The `syncgate` command line (target/debug/syncgate; docs/cli.md).
.PHONY: cli
cli:
	cargo build -p syncgate-cli

# ---------------------------------------------------------------------------------------------
# Checks

fmt:
	cargo fmt --all

lint: install-rust install-node
	redocly lint openapi.yaml
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p syncgate --lib --target $(WASM_TARGET) -- -D warnings
	cargo clippy -p syncgate --features ts --lib --tests -- -D warnings
	cargo clippy -p syncgate-worker --target $(WASM_TARGET) -- -D warnings
	@for f in $(JS_SOURCES); do node --check "$$f"; done; echo "node --check: $(words $(JS_SOURCES)) files parse"
	tsc --noEmit -p examples/signing/typescript
	python3 -c 'import ast, sys; [ast.parse(open(f).read(), f) for f in sys.argv[1:]]' examples/signing/python/*.py

test-rust:
	cargo test --workspace

# wasm-bindgen-test runs in Node by default; the runner comes with wasm-bindgen-cli.
test-wasm: install-rust install-wasm-bindgen install-node
	$(WASM_TEST_RUNNER) cargo test -p syncgate --target $(WASM_TARGET) --lib --tests

# The same wasm32 suites through wasm-pack, plus `wasm-pack build` checked against the public
# vectors. `make test` runs this one; `make test-wasm` is the quicker loop without wasm-pack.
WASM_PACK_OUT := target/wasm-pack
test-wasm-pack: install-rust install-wasm-bindgen install-wasm-pack install-node
	wasm-pack --quiet build . --target nodejs --release --out-dir $(WASM_PACK_OUT)/nodejs --out-name syncgate
	node scripts/wasm-pack-check.mjs $(WASM_PACK_OUT)/nodejs
	wasm-pack test --node .

# TypeScript declarations derived from the Rust types (ts-rs, feature `ts`, native only) into
# target/ts-types/generated.ts; tests/js/types.test.mjs checks js/index.d.ts against them.
.PHONY: ts-types
ts-types:
	cargo test -p syncgate --features ts --lib ts_types

test-js: pkg install-chromium ts-types
	node --test tests/js/

# The gateway end to end: the worker in workerd (Miniflare) with local KV and SQLite Durable
# Objects, in front of the reference origin, all on loopback. One file at a time: each starts
# its own gateway. `--test-force-exit` ends each file's process once its tests are done: a file
# whose tests all passed was once seen spinning in Node's own handle cleanup at exit (after a
# run with edge restarts and reset sockets), which would hold the run forever.
test-e2e: pkg worker origin cli signing-examples install-chromium
	node --test --test-force-exit --test-concurrency=1 tests/e2e/

# The load/fault/restart run of tests/e2e/chaos.test.mjs at full size; `make test-e2e` runs the
# same code short (300 operations). Summary: target/chaos/summary.json.
chaos: pkg worker origin
	CHAOS_OPS=$${CHAOS_OPS:-2000} nice -n 10 node --test --test-force-exit --test-concurrency=1 tests/e2e/chaos.test.mjs

# The production bundle as `wrangler deploy` would upload it, built offline (--dry-run), and
# its size against Cloudflare's limit for a Worker (3 MiB gzip on the free plan, 10 MiB paid).
DEPLOY_DIR := target/deploy
WORKER_GZIP_LIMIT := 3145728
test-deploy: install-worker-build install-node
	rm -rf $(DEPLOY_DIR)
	wrangler deploy --dry-run --env production --outdir $(DEPLOY_DIR)
	@raw=$$(cat $(DEPLOY_DIR)/*.wasm $(DEPLOY_DIR)/index.js | wc -c); \
	  gz=$$(cat $(DEPLOY_DIR)/*.wasm $(DEPLOY_DIR)/index.js | gzip -9 | wc -c); \
	  echo "production bundle: $$raw B ($$gz B gzip, limit $(WORKER_GZIP_LIMIT))"; \
	  [ "$$gz" -le $(WORKER_GZIP_LIMIT) ]

# Deploys to Cloudflare (needs `wrangler login` or CLOUDFLARE_API_TOKEN; see docs/deploy.md).
deploy: install-worker-build install-node
	wrangler deploy --env production

test: install install-chromium
	$(MAKE) lint
	$(MAKE) test-rust
	$(MAKE) test-wasm-pack
	$(MAKE) test-js
	$(MAKE) test-e2e
	$(MAKE) test-deploy

# ---------------------------------------------------------------------------------------------
# Use

# The whole gateway locally: edge on 127.0.0.1:8787 (wrangler dev), origin on 127.0.0.1:8788,
# a demo instance, and ready-to-paste commands. Ctrl-C stops everything.
dev: pkg install-worker-build
	bash scripts/dev.sh

# The first sign-and-verify demo of the npm package alone.
demo: pkg
	node js/demo.mjs

# Benchmarks (not part of `make test`; about 5 minutes): each script writes its part file in
# target/bench/, bench/summary.mjs merges them into target/bench/summary.json and prints the
# tables, ratios and targets (BENCHMARKS.md). The edge clients run with --no-opt: Node 20's
# optimising compiler intermittently aborts ("unreachable code" in the deoptimizer) in their long
# request loops. Only the measuring client is affected; edge, origin and Miniflare run apart.
bench: pkg worker origin
	rm -rf target/bench && mkdir -p target/bench
	node bench/verify.mjs
	node --no-opt bench/edge-latency.mjs
	node --no-opt bench/edge-floor.mjs
	node bench/edge-core.mjs
	node --no-opt --experimental-websocket --no-warnings bench/edge-profile.mjs
	node --no-opt bench/edge-native.mjs
	node bench/size.mjs
	node bench/summary.mjs

# ---------------------------------------------------------------------------------------------
# Fuzzing (not part of `make test`): cargo-fuzz + libFuzzer on the stable compiler, which takes
# cargo-fuzz's flags with RUSTC_BOOTSTRAP=1. The fuzz/ crate is its own workspace. Each target
# runs FUZZ_SECONDS; FUZZ_TARGETS picks some, FUZZ_SANITIZER=address runs under ASan (slower).
# Corpora grow in fuzz/corpus/<target>/, findings land in fuzz/artifacts/<target>/, full logs
# in fuzz/target/logs/. A finding fails the run.

CARGO_FUZZ_VERSION := 0.13.2
FUZZ_SECONDS ?= 30
FUZZ_SANITIZER ?= none
FUZZ_TARGETS ?= rfc9421_fields webhook_headers sync_payload customer_write tenant_policy verify_request modules provider_hooks

install-cargo-fuzz:
	@if [ "$$(cargo fuzz --version 2>/dev/null)" = "cargo-fuzz $(CARGO_FUZZ_VERSION)" ]; then \
	  echo "cargo-fuzz $(CARGO_FUZZ_VERSION): present"; \
	else \
	  echo "installing cargo-fuzz $(CARGO_FUZZ_VERSION) (about 2 minutes)"; \
	  cargo install --locked cargo-fuzz --version $(CARGO_FUZZ_VERSION); \
	fi

# Seed corpora from tests/vectors/public.json, the tests' JSON fixtures and requests signed with
# the fuzz policy's keys (fuzz/examples/seeds.rs). Existing corpus files are kept.
fuzz-seeds:
	cargo run --quiet --manifest-path fuzz/Cargo.toml --example seeds

# How many inputs of the verify_request corpus the verifier accepts (each re-checked by the
# target's independent MAC oracle).
fuzz-accepted:
	cargo run --quiet --manifest-path fuzz/Cargo.toml --example accepted

fuzz: install-rust install-cargo-fuzz fuzz-seeds
	@mkdir -p fuzz/target/logs
	@for t in $(FUZZ_TARGETS); do \
	  log=fuzz/target/logs/$$t.log; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s (-s $(FUZZ_SANITIZER))"; \
	  if RUSTC_BOOTSTRAP=1 nice -n 10 cargo fuzz run $$t -s $(FUZZ_SANITIZER) -- \
	      -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 >$$log 2>&1; then \
	    grep -E '^(#[0-9]+.*DONE|stat::(number_of_executed_units|average_exec_per_sec))' $$log; \
	  else \
	    tail -n 40 $$log; echo "fuzz: $$t found a problem (full log: $$log)"; exit 1; \
	  fi; \
	done

clean:
	rm -rf pkg target/pkg-build target/js-test worker/build
