#!/usr/bin/env bash
# The whole check: formatting, clippy (native and wasm32), native tests, a page build, the
# wasm self-test and the page's browser tests (screenshots in target/screenshots/).
# Installs, when missing: rustfmt/clippy, the wasm32 target, trunk, wasm-bindgen-cli, and the
# Debian packages the tests use (see WB_TEST_APT_PACKAGES in setup.sh). Idempotent.
# Stops at the first failing step; prints each step's time.
set -euo pipefail
# shellcheck source=scripts/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

cd "$WB_ROOT"

wb_ensure_rust
wb_step "rustfmt + clippy components" wb_ensure_rust_components
wb_step "web toolchain (wasm32 target, trunk $WB_TRUNK_VERSION, wasm-bindgen $WB_WASM_BINDGEN_VERSION, crates)" \
    wb_ensure_web_toolchain
wb_step "debian packages (${WB_TEST_APT_PACKAGES[*]})" wb_ensure_apt "${WB_TEST_APT_PACKAGES[@]}"
wb_step "browser-test tooling (hook)" wb_ensure_browser_test_tooling

wb_step "cargo fmt --check" cargo fmt --all --check
wb_step "clippy native (all targets)" cargo clippy --workspace --all-targets -- -D warnings
# wasm32: the library and both binaries, not --all-targets. Tests, benches and examples are
# native-only by design (they read /usr/share/datasets, run lavapipe, use rayon/native wgpu
# polling), and the tests/*.rs harness is not built for wasm32. The page's own browser tests
# run against a trunk build in Chromium instead.
wb_step "clippy wasm32 (lib + bins)" \
    cargo clippy --workspace --lib --bins --target "$WB_WASM_TARGET" -- -D warnings

wb_gpu_test_env
wb_step "cargo test (native)" cargo test

wb_step "trunk build" trunk build
wb_step "wasm self-test (headless Chromium vs native)" bash scripts/wasm-selftest.sh

wb_step "browser tests (headless Chromium, WebGPU and CPU fallback)" bash scripts/browser-tests.sh

wb_timing_summary
wb_log "all checks passed"
