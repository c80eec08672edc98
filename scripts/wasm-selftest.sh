#!/usr/bin/env bash
# Checks that the page's wasm build computes what the native build computes: builds the page,
# serves it, reads `?selftest` in headless Chromium and compares with `whitebox selftest`
# (relative 1e-5). Needs a built `dist/` unless --build is given. Prints "N passed, N failed".
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
python3 scripts/browser-probe.py "http://127.0.0.1:$port/?selftest" --wait-selector '#selftest-result' \
    --timeout 300 --no-require-webgpu --text-selector '#selftest-result' >"$out/probe.json" || true
python3 - "$out/native.json" "$out/probe.json" <<'PY'
import json, sys
native = json.load(open(sys.argv[1]))
probe = json.load(open(sys.argv[2]))
text = probe.get("selected_text")
if not text:
    print("wasm self-test: the page gave no result:", json.dumps(probe)[:2000])
    print("0 passed, 1 failed")
    sys.exit(1)
wasm = json.loads(text)
def flat(v):
    return [x for y in v for x in flat(y)] if isinstance(v, list) else [v]
passed = failed = 0
for key in ["logits", "rc_in", "rc_out", "sparsity", "attention_mean"]:
    a, b = flat(wasm.get(key, [])), flat(native[key])
    scale = max(abs(x) for x in b) or 1.0
    err = max((abs(x - y) for x, y in zip(a, b)), default=float("inf")) / scale if len(a) == len(b) else float("inf")
    ok = err <= 1e-5
    passed, failed = passed + ok, failed + (not ok)
    print(f"wasm vs native {key}: {len(a)} values, max relative difference {err:.2e} {'ok' if ok else 'FAILED'}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
