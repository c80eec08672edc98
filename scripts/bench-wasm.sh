#!/usr/bin/env bash
# Engine speed in the browser: a release page build, served statically, opened in headless
# Chromium at `?bench=PRESET`; prints the page's JSON result (ms/image, GFLOP/s). ENGINE `cpu`
# is the CPU engine (one thread, wasm SIMD128); `gpu` is the WGSL engine on WebGPU (SwiftShader
# in headless Chromium here). EXTRA is added to the query: `matmul=1` times single products
# (1024³ and the preset's shapes) instead of forwards; with `gpu`, `kernels=reg|tiled`,
# `block=8|16|32` and `subgroups=0` force the kernel family, the matmul's register block and the
# plain (not subgroup) kernels (`&`-joined).
# Usage: bash scripts/bench-wasm.sh [PRESET] [BATCHES] [ITERS] [ENGINE] [EXTRA]
set -euo pipefail
# shellcheck source=scripts/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$WB_ROOT"
preset=${1:-crate-t}
batches=${2:-1,8}
iters=${3:-3}
engine=${4:-cpu}
extra=${5:+&$5}
wb_ensure_rust
wb_ensure_web_toolchain
wb_ensure_apt chromium chromium-driver
dist=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$dist"' EXIT
trunk build --release --dist "$dist" >/dev/null
ls -l "$dist"/*.wasm | awk '{print "wasm bytes:", $5}'
gzip -9 -c "$dist"/*.wasm | wc -c | awk '{print "wasm gzip bytes:", $1}'
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dist" >/dev/null 2>&1 &
server=$!
sleep 0.5
python3 scripts/browser-probe.py "http://127.0.0.1:$port/?bench=$preset&batch=$batches&iters=$iters&engine=$engine$extra" \
    --wait-selector '#bench-result' --text-selector '#bench-result' --timeout 1200 --no-require-webgpu |
    python3 -c 'import json,sys; r=json.load(sys.stdin); print(r.get("selected_text") or r); sys.exit(0 if r.get("loaded") else 1)'
