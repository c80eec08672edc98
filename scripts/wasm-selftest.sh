#!/usr/bin/env bash
# Checks that the page's wasm build computes what the native build computes: serves dist/,
# reads `?selftest` (CPU engine in wasm) and `?selftest&engine=gpu` (the WGSL engine on WebGPU,
# SwiftShader here) in headless Chromium and compares both with the native `whitebox selftest`:
# CPU within 1e-5 relative; GPU within 1e-3 (sparsity 2e-3 absolute). Needs a built `dist/`
# unless --build is given. Prints "N passed, N failed".
set -euo pipefail
# shellcheck source=scripts/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$WB_ROOT"
[ "${1:-}" = "--build" ] && trunk build
[ -d dist ] || wb_die "no dist/: run trunk build first (or pass --build)"
out=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory dist >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$out"' EXIT
sleep 0.5
cargo run --quiet --bin whitebox -- selftest >"$out/native.json"
for engine in cpu gpu; do
    query="selftest"
    [ "$engine" = gpu ] && query="selftest&engine=gpu"
    python3 scripts/browser-probe.py "http://127.0.0.1:$port/?$query" --wait-selector '#selftest-result' \
        --timeout 300 --text-selector '#selftest-result' >"$out/$engine.json" || true
done
python3 - "$out/native.json" "$out/cpu.json" "$out/gpu.json" <<'PY'
import json, sys
native = json.load(open(sys.argv[1]))
def flat(v):
    return [x for y in v for x in flat(y)] if isinstance(v, list) else [v]
passed = failed = 0
for name, path, rel_tol, sparsity_abs in [("wasm cpu", sys.argv[2], 1e-5, 0.0), ("webgpu", sys.argv[3], 1e-3, 2e-3)]:
    probe = json.load(open(path))
    text = probe.get("selected_text")
    got = json.loads(text) if text else {"error": "the page gave no result: " + json.dumps(probe)[:1500]}
    if "error" in got:
        print(f"{name}: {got['error']}")
        failed += 1
        continue
    if name == "webgpu":
        print(f"webgpu adapter: {got.get('adapter')}")
    else:
        # crates/whitebox-gemm, the wasm build's own matrix kernel, on odd shapes vs f64.
        err = got.get("matmul_check")
        ok = isinstance(err, (int, float)) and err <= 1e-5
        passed, failed = passed + ok, failed + (not ok)
        print(f"{name} matrix kernel on odd shapes vs f64: largest relative error {err} {'ok' if ok else 'FAILED'}")
    for key in ["logits", "rc_in", "rc_out", "sparsity", "attention_mean"]:
        a, b = flat(got.get(key, [])), flat(native[key])
        if len(a) != len(b) or not b:
            err, ok = float("inf"), False
        elif key == "sparsity":
            err = max(abs(x - y) for x, y in zip(a, b))
            ok = err <= max(sparsity_abs, rel_tol)
        else:
            err = max(abs(x - y) for x, y in zip(a, b)) / (max(abs(x) for x in b) or 1.0)
            ok = err <= rel_tol
        passed, failed = passed + ok, failed + (not ok)
        print(f"{name} vs native {key}: {len(a)} values, max difference {err:.2e} {'ok' if ok else 'FAILED'}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
