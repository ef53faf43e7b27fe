# syncgate: one entry point for a fresh machine and for CI.
#
#   make test    installs what is missing (pinned), then runs every suite
#   make dev     builds pkg/ and runs a short sign-and-verify demo
#   make pkg     builds the npm package `syncgate` into pkg/
#   make bench   verifyRequest throughput next to the npm verifiers and node:crypto
#   make lint    rustfmt and clippy (native and wasm32)
#
# Tools come from crates.io, npm and Debian only: wasm-bindgen-cli (cargo install, the exact
# version Cargo.lock resolved), npm devDependencies pinned in package.json/package-lock.json
# (binaryen's wasm-opt, interop peers, playwright-core, typescript, wrangler, miniflare) and
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

# ---------------------------------------------------------------------------------------------
# Checks

fmt:
	cargo fmt --all

JS_SOURCES := $(wildcard scripts/*.mjs js/*.js js/*.mjs bench/*.mjs tests/js/*.mjs tests/js/support/*.mjs)

lint: install-rust
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p syncgate --lib --target $(WASM_TARGET) -- -D warnings
	@for f in $(JS_SOURCES); do node --check "$$f" || exit 1; done; echo "node --check: $(words $(JS_SOURCES)) files parse"

test-rust:
	cargo test --workspace

# wasm-bindgen-test runs in Node by default; the runner comes with wasm-bindgen-cli.
test-wasm: install-rust install-wasm-bindgen install-node
	$(WASM_TEST_RUNNER) cargo test -p syncgate --target $(WASM_TARGET) --lib --tests

test-js: pkg install-chromium
	node --test tests/js/

test: install install-chromium
	$(MAKE) lint
	$(MAKE) test-rust
	$(MAKE) test-wasm
	$(MAKE) test-js

# ---------------------------------------------------------------------------------------------
# Use

dev: pkg
	node js/demo.mjs

bench: pkg
	node bench/verify.mjs

clean:
	rm -rf pkg target/pkg-build target/js-test
