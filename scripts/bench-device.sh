#!/usr/bin/env bash
# The hardware-GPU figures of issue 15 (target 6): Whitebox's WGSL engine on Vulkan against
# PyTorch eager fp32 on the same card (tools/bench_device.py: matmul 4096³ against the fp32
# peak, CRATE-T forward at batch 256, crate-fmnist training at batch 128; A B A B, medians).
#
# Two steps, for a machine lent with an NVIDIA GPU and PyTorch but no network (the device
# machines of this workplace):
#   bash scripts/bench-device.sh prepare   # here: the release CLI, and the Vulkan loader's
#                                          # Debian packages in .gl/ (git-ignored)
#   bash scripts/bench-device.sh           # there, with target/release/whitebox and .gl carried
# Anywhere with a GPU, PyTorch and a Vulkan loader, the second alone does. BENCH_ARGS passes
# options to tools/bench_device.py (e.g. "--rounds 2 --iters 5"); results go to $OUT (or
# target/bench-device/) as device.json and device.log.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if [ "${1:-}" = prepare ]; then
    # shellcheck source=scripts/setup.sh
    . scripts/setup.sh
    wb_ensure_rust
    cargo build --release --bin whitebox
    grep -qxF /.gl/ .git/info/exclude 2>/dev/null || echo /.gl/ >>.git/info/exclude
    mkdir -p .gl /tmp/amd64/partial
    o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
    apt-get "${o[@]}" update -qq
    (cd .gl && apt-get "${o[@]}" download -qq libvulkan1)
    ls -l target/release/whitebox .gl
    exit 0
fi

out=${OUT:-target/bench-device}
mkdir -p "$out"
if ! ldconfig -p | grep -q libvulkan.so.1; then
    [ -d .gl ] || { echo "no Vulkan loader: run 'bash scripts/bench-device.sh prepare' and carry .gl" >&2; exit 1; }
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
# The NVIDIA driver's Vulkan manifest where the loader does not find it by itself.
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && [ -z "${VK_DRIVER_FILES:-}" ] && export VK_DRIVER_FILES=$icd
# On an NVIDIA machine, its GPU and nothing else (a software adapter would be a wrong figure;
# a missing one is an error that lists what was found).
command -v nvidia-smi >/dev/null && export WHITEBOX_ADAPTER=${WHITEBOX_ADAPTER:-nvidia}
export PYTHONUNBUFFERED=1
{
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv
    fi
    # shellcheck disable=SC2086
    python3 tools/bench_device.py --whitebox target/release/whitebox --out "$out/device.json" ${BENCH_ARGS:-}
} 2>&1 | tee "$out/device.log"
