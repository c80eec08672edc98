#!/usr/bin/env bash
# Whitebox against ONNX Runtime (native) and onnxruntime-web (wasm and WebGPU in headless
# Chromium), measured side by side in one run, A B A B … (tools/bench_peers/run.py). A benchmark,
# not a test: it prints numbers and asserts nothing about time.
#
# Installs what it needs, idempotently, from the registries: a Python venv under target/peers/
# with ONNX Runtime, onnx, numpy and safetensors (PyPI), onnxruntime-web (npm). The peers run the
# same CRATE-T 224 model with random weights (`whitebox init --preset crate-t`), exported to ONNX by
# tools/bench_peers/export_onnx.py from the project's NumPy reference of the spec, and checked
# against tools/golden.py before any timing.
#
# Usage: bash scripts/bench-peers.sh [ROUNDS] [ITERS] [ROWS]
#   ROWS: comma-separated subset of native-1t,native-2t,native-b8,wasm,webgpu,first-map,b8-page,gallery,train
#   (default: all but webgpu, whose peer takes tens of seconds per forward on SwiftShader).
set -euo pipefail
# shellcheck source=scripts/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$WB_ROOT"
rounds=${1:-3}
iters=${2:-5}
rows=${3:-native-1t,native-2t,native-b8,wasm,first-map,b8-page,gallery,train}
ORT_VERSION=1.32.0
ORT_WEB_VERSION=1.30.0

wb_ensure_rust
wb_ensure_web_toolchain
wb_ensure_apt "${WB_TEST_APT_PACKAGES[@]}" python3-venv
# A Node.js from elsewhere (e.g. NodeSource's, which bundles npm) conflicts with Debian's npm.
command -v npm >/dev/null 2>&1 || wb_ensure_apt nodejs npm
peers=target/peers
mkdir -p "$peers"
if ! "$peers/venv/bin/python" -c "import onnxruntime, onnx, numpy, safetensors; assert onnxruntime.__version__ == '$ORT_VERSION'" 2>/dev/null; then
    wb_log "Python venv with onnxruntime $ORT_VERSION"
    python3 -m venv "$peers/venv"
    "$peers/venv/bin/pip" install -q "onnxruntime==$ORT_VERSION" onnx numpy safetensors
fi
if [ ! -f "$peers/npm/node_modules/onnxruntime-web/package.json" ] ||
    ! grep -q "\"version\": \"$ORT_WEB_VERSION\"" "$peers/npm/node_modules/onnxruntime-web/package.json"; then
    wb_log "onnxruntime-web $ORT_WEB_VERSION (npm)"
    npm install --prefix "$peers/npm" --no-audit --no-fund "onnxruntime-web@$ORT_WEB_VERSION" >/dev/null
fi

wb_log "release builds (native CLI and page)"
cargo build --release --quiet --bin whitebox
wb=target/release/whitebox
for preset in crate-t crate-b8-demo; do
    [ -f "$peers/$preset.safetensors" ] || "$wb" init --preset "$preset" --output "$peers/$preset.safetensors" >/dev/null
done
for b in 1 8; do
    if [ ! -f "$peers/crate-t-b$b.onnx" ]; then
        "$peers/venv/bin/python" tools/bench_peers/export_onnx.py "$peers/crate-t.safetensors" \
            "$peers/crate-t-b$b.onnx" --batch "$b" $([ "$b" = 1 ] && echo --check)
    fi
done
dist="$peers/dist"
trunk build --release --dist "$dist" >/dev/null
mkdir -p "$dist/peers"
cp "$peers"/npm/node_modules/onnxruntime-web/dist/{ort.all.min.js,ort-wasm-simd-threaded*.mjs,ort-wasm-simd-threaded*.wasm} \
    tools/bench_peers/ortweb.html "$peers/crate-t-b1.onnx" "$dist/peers/"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dist" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
sleep 0.5
wb_log "measuring ($rounds rounds × $iters iterations; rows $rows)"
"$peers/venv/bin/python" tools/bench_peers/run.py --whitebox "$wb" --url "http://127.0.0.1:$port/" \
    --onnx-dir "$peers" --rounds "$rounds" --iters "$iters" --rows "$rows"
