#!/usr/bin/env bash
# Fuzzes the readers of untrusted bytes (issue 14): the pickle machine, .pth checkpoints,
# safetensors, config inference, image decoding + preprocessing.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 30: the CI smoke run); TARGET defaults to all five. Each runs
# under libFuzzer with a 1 GiB RSS and malloc cap, so an input that makes a reader allocate
# more than that is a failure like a panic. The seed corpus is generated from
# tests/fixtures into fuzz/corpus/<target>/ (and grows there). Crashes land in
# fuzz/artifacts/<target>/; a run with any fails.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Stable Rust works: RUSTC_BOOTSTRAP=1 lets it
# take the sanitizer-coverage flags; no sanitizer is used (-s none), so no nightly is needed.
set -euo pipefail

SECS=${1:-30}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(pickle pth safetensors config image)

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUZZ=$ROOT/fuzz
FIX=$ROOT/tests/fixtures
export RUSTC_BOOTSTRAP=1

seeds() {
    local c=$FUZZ/corpus
    mkdir -p "$c"/{pickle,pth,safetensors,config,image}
    for f in "$FIX"/pth/*.pth "$FIX"/pth/*.pth.tar; do
        cp -f "$f" "$c/pth/"
        # The pickle of each checkpoint, for the pickle target.
        python3 - "$f" "$c/pickle/$(basename "$f").pkl" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
name = min((n for n in z.namelist() if n.endswith("/data.pkl")), key=len, default=None)
if name:
    open(sys.argv[2], "wb").write(z.read(name))
PY
    done
    cp -f "$FIX"/pth/*.safetensors "$FIX"/golden/small-interp.safetensors "$c/safetensors/"
    # Config JSON from every safetensors metadata that has one.
    for f in "$c"/safetensors/*.safetensors; do
        python3 - "$f" "$c/config/$(basename "$f").json" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
meta = json.loads(b[8:8 + n]).get("__metadata__", {})
if "config" in meta:
    open(sys.argv[2], "w").write(meta["config"])
PY
    done
    # Two preset configs as the CLI writes them (the model fixtures above carry others).
    echo '{"dim":128,"depth":6,"heads":4,"patch":4,"image":[28,28],"channels":1,"classes":10,"eta":0.1,"lambda":0.1,"mean":[0.286],"std":[0.353],"class_names":["a","b","c","d","e","f","g","h","i","j"]}' \
        >"$c/config/fmnist.json"
    echo '{"dim":768,"depth":12,"heads":6,"patch":8,"image":[224,224],"channels":3,"classes":21842,"eta":0.1,"lambda":0.1,"mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225],"pre_head_dim":768}' \
        >"$c/config/b8-demo.json"
    cp -f "$FIX"/images/*_32.png "$FIX"/images/*.jpg "$c/image/"
    # Tiny BMP and GIF, the formats the fixtures lack.
    python3 - "$c/image" <<'PY'
import struct, sys
d = sys.argv[1]
w = h = 4
row = bytes([0, 0, 255] * w) + b"\0" * ((4 - (w * 3) % 4) % 4)
px = row * h
hdr = struct.pack("<2sIHHI", b"BM", 54 + len(px), 0, 0, 54)
info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(px), 2835, 2835, 0, 0)
open(f"{d}/seed.bmp", "wb").write(hdr + info + px)
gif = (b"GIF89a" + struct.pack("<HH", 2, 2) + bytes([0x80, 0, 0]) + bytes([0, 0, 0, 255, 255, 255])
       + b"\x2c" + struct.pack("<HHHH", 0, 0, 2, 2) + b"\0" + bytes([2, 3, 0x84, 0x2d, 0x05, 0]) + b"\x3b")
open(f"{d}/seed.gif", "wb").write(gif)
# A 9x9 lossless WebP of one colour (tests/common/hostile_images.rs: webp_uniform).
open(f"{d}/seed.webp", "wb").write(bytes.fromhex(
    "524946461a000000574542505650384c0e0000002f08000200287215ead1ff020000"))
PY
}

seeds
cd "$FUZZ"
nice -n 10 cargo fuzz build -s none --release
status=0
for t in "${TARGETS[@]}"; do
    echo "== $t: ${SECS}s, corpus $(ls corpus/$t | wc -l) files"
    mkdir -p "artifacts/$t"
    # The binary cargo fuzz built, run directly: the source may change while a long run goes on.
    if ! nice -n 10 "target/x86_64-unknown-linux-gnu/release/$t" "corpus/$t" \
        -artifact_prefix="artifacts/$t/" -max_total_time="$SECS" -rss_limit_mb=1024 \
        -malloc_limit_mb=1024 -timeout=30 -max_len=1048576 -print_final_stats=1 2>&1 | tail -n 25; then
        status=1
    fi
    # Any input libFuzzer saved (crash, leak, out-of-memory, timeout) fails the run.
    if compgen -G "artifacts/$t/*" >/dev/null; then
        echo "!! $t: crashing inputs in fuzz/artifacts/$t/"
        status=1
    fi
done
exit $status
