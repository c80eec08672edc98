# Whitebox set-up helpers. Sourced by scripts/serve.sh and scripts/test.sh; not run directly.
#
# Every `wb_ensure_*` helper checks what is already there (and its version) first, so
# re-running costs seconds. Targets Debian 12 as root, with Rust installed through rustup.

# Pinned tool versions. wasm-bindgen must equal the `=0.2.130` pin in Cargo.toml and
# `[tools] wasm_bindgen` in Trunk.toml; trunk 0.21.14 is the newest that builds on Rust 1.95.
WB_TRUNK_VERSION="0.21.14"
WB_WASM_BINDGEN_VERSION="0.2.130"
WB_WASM_TARGET="wasm32-unknown-unknown"

# Debian packages the test suite needs: lavapipe (CPU Vulkan) for native GPU tests, headless
# Chromium + chromedriver for browser tests, NumPy (the drawing pad's browser test computes the
# rollout reference with it), Fashion-MNIST for data tests, GNU time (peak memory of the
# hostile-input tests' child processes).
WB_TEST_APT_PACKAGES=(python3 python3-numpy mesa-vulkan-drivers chromium chromium-driver dataset-fashion-mnist time)

WB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# trunk must never reach the network (Trunk.toml sets `offline = true`, which stops tool
# downloads and passes --offline to cargo); this also stops its background update check.
export TRUNK_SKIP_VERSION_CHECK=true

wb_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
wb_die() {
    printf '\033[31merror:\033[0m %s\n' "$*" >&2
    exit 1
}

# wb_step NAME CMD...: runs CMD in a subshell (so it cannot change this shell's environment),
# prints how long it took, and stops everything if it fails.
WB_TIMINGS=()
wb_step() {
    local name="$1"
    shift
    wb_log "$name"
    local start=$SECONDS rc=0
    # A subshell with its own errexit: bash ignores `set -e` inside functions called from a
    # `cmd || ...` context, so `"$@" || rc=$?` would let a failing helper carry on.
    set +e
    (
        set -e
        "$@"
    )
    rc=$?
    set -e
    local took=$((SECONDS - start))
    WB_TIMINGS+=("$(printf '%6ss  %s' "$took" "$name")")
    if [ "$rc" -ne 0 ]; then
        wb_timing_summary
        wb_die "step '$name' failed (exit $rc) after ${took}s: $*"
    fi
    wb_log "$name: ok (${took}s)"
}

wb_timing_summary() {
    [ "${#WB_TIMINGS[@]}" -gt 0 ] || return 0
    printf '\nTimings:\n' >&2
    printf '  %s\n' "${WB_TIMINGS[@]}" >&2
}

wb_ensure_rust() {
    if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
        # shellcheck disable=SC1091
        . "$HOME/.cargo/env"
    fi
    command -v rustup >/dev/null 2>&1 ||
        wb_die "rustup not found: install Rust through rustup first (https://rustup.rs), then re-run."
    command -v cargo >/dev/null 2>&1 || wb_die "cargo not found on PATH (is ~/.cargo/bin on PATH?)"
    case ":$PATH:" in
    *":$HOME/.cargo/bin:"*) ;;
    *) export PATH="$HOME/.cargo/bin:$PATH" ;;
    esac
}

# The rustfmt and clippy components (a `minimal` rustup profile lacks them).
wb_ensure_rust_components() {
    local missing=()
    cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
    if [ "${#missing[@]}" -gt 0 ]; then
        wb_log "rustup component add ${missing[*]}"
        rustup component add "${missing[@]}"
    fi
}

wb_ensure_wasm_target() {
    if rustup target list --installed | grep -qx "$WB_WASM_TARGET"; then
        return 0
    fi
    wb_log "rustup target add $WB_WASM_TARGET"
    rustup target add "$WB_WASM_TARGET"
}

# wb_tool_version BIN: prints "X.Y.Z" from `BIN --version`, or nothing if BIN is absent.
wb_tool_version() {
    "$1" --version 2>/dev/null | head -n1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1 || true
}

wb_ensure_trunk() {
    local have
    have="$(wb_tool_version trunk)"
    if [ "$have" = "$WB_TRUNK_VERSION" ]; then
        return 0
    fi
    wb_log "cargo install trunk $WB_TRUNK_VERSION (found: ${have:-none}); about 15 minutes on 2 cores"
    cargo install trunk --version "$WB_TRUNK_VERSION" --locked --force
}

wb_ensure_wasm_bindgen() {
    local have
    have="$(wb_tool_version wasm-bindgen)"
    if [ "$have" = "$WB_WASM_BINDGEN_VERSION" ]; then
        return 0
    fi
    # No --locked: its lock file pins a yanked dependency.
    wb_log "cargo install wasm-bindgen-cli $WB_WASM_BINDGEN_VERSION (found: ${have:-none})"
    cargo install wasm-bindgen-cli --version "$WB_WASM_BINDGEN_VERSION" --force
}

# trunk runs cargo with --offline (Trunk.toml `offline = true`), so every crate, for every
# target, must already be in the local registry. `cargo fetch` is a no-op when it is.
wb_fetch_crates() {
    (cd "$WB_ROOT" && cargo fetch --quiet) ||
        wb_die "cargo fetch failed: crates.io must be reachable the first time (afterwards it is cached)"
}

# Everything `trunk serve` / `trunk build` need.
wb_ensure_web_toolchain() {
    wb_ensure_rust
    wb_ensure_wasm_target
    wb_ensure_trunk
    wb_ensure_wasm_bindgen
    wb_fetch_crates
}

# wb_ensure_apt PKG...: installs the missing ones; `apt-get update` only when any are missing.
wb_ensure_apt() {
    local missing=() pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || wb_die "missing packages ${missing[*]} and no apt-get (Debian 12 expected)"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || wb_die "missing packages ${missing[*]}: run as root (or install them)"
        sudo=(sudo)
    fi
    wb_log "apt-get install ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# ---------------------------------------------------------------------------------------
# Browser-test tooling: the browser tests (scripts/browser-tests.py, scripts/wbdriver.py) use
# Python's standard library, NumPy (scripts/browser-draw.py) and Debian's chromium +
# chromedriver (in WB_TEST_APT_PACKAGES); this checks they are there. Where the `python3` on
# PATH is not Debian's (pyenv, a venv) and lacks NumPy, NumPy is installed into it with pip.
# ---------------------------------------------------------------------------------------
wb_ensure_browser_test_tooling() {
    local tool
    for tool in python3 chromium chromedriver; do
        command -v "$tool" >/dev/null || wb_die "$tool is missing after the package install"
    done
    if ! python3 -c 'import numpy' 2>/dev/null; then
        wb_log "pip install numpy (for $(command -v python3))"
        python3 -m pip install --quiet numpy || wb_die "cannot install NumPy for $(command -v python3)"
    fi
    python3 -c 'import numpy' 2>/dev/null || wb_die "python3 has no NumPy after the install"
}

# ---------------------------------------------------------------------------------------
# HOOK: environment for native GPU tests. Without a hardware GPU they run on Mesa's lavapipe
# (mesa-vulkan-drivers; adapter name contains "llvmpipe"). Fill in when src/gpu lands, e.g.
# WGPU_BACKEND=vulkan. Caller-set values win.
# ---------------------------------------------------------------------------------------
wb_gpu_test_env() {
    :
}
