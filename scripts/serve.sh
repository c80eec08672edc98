#!/usr/bin/env bash
# Serve the page at http://127.0.0.1:8080/ (Trunk.toml), rebuilding on change.
# Installs, when missing: the wasm32 target, trunk 0.21.14, wasm-bindgen-cli 0.2.130.
# Idempotent. Extra arguments go to `trunk serve` (e.g. --release, --port 8081).
set -euo pipefail
# shellcheck source=scripts/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

wb_ensure_rust
wb_step "toolchain (wasm32 target, trunk $WB_TRUNK_VERSION, wasm-bindgen $WB_WASM_BINDGEN_VERSION, crates)" \
    wb_ensure_web_toolchain
cd "$WB_ROOT"
wb_log "trunk serve $*"
exec trunk serve "$@"
