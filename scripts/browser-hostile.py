#!/usr/bin/env python3
"""Hostile files in the page (issue 14): the cases of tests/suite/hostile.rs that a user can drop
on the page — decode bombs, a truncated JPEG, models whose config wraps the patch grid or whose
header lists a million tensors, finite weights that overflow, a pickle bomb — each uploaded in
headless Chromium. Every one must give an error that names the file, leave the model and image in
use as they were, keep the wasm instance's linear memory under 1 GiB, and the page must still
analyse another gallery image afterwards.

Generators are small and in the standard library (nothing is committed); they mirror the Rust
suite's. Prints one line per check and "N passed, N failed"; exits 1 on any failure.

    python3 scripts/browser-hostile.py http://127.0.0.1:PORT/ [--shots target/screenshots]
"""

import argparse
import io
import json
import struct
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wbdriver import READY, REPORT, Browser, Checks, check, wait_report  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "web" / "models" / "crate-fmnist.safetensors"
JPEG = ROOT / "tests" / "fixtures" / "images" / "orient6.jpg"
WASM_BYTES = "return window.__wbWasm ? window.__wbWasm.memory.buffer.byteLength : null;"
GIB = 1 << 30


# ---------------------------------------------------------------------------------------------
# Generators (stdlib only)
# ---------------------------------------------------------------------------------------------

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_gray(w, h, value=90, declared=None):
    """An 8-bit grey PNG; `declared` overrides the IHDR size (a decode bomb's header)."""
    dw, dh = declared or (w, h)
    raw = b"".join(b"\x00" + bytes([value]) * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", dw, dh, 8, 0, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b""))


def jpeg_claiming(side):
    """A small baseline JPEG whose SOF0 header claims side × side pixels."""
    j = bytearray(JPEG.read_bytes())
    sof = j.find(b"\xff\xc0")
    assert sof >= 0, "the fixture JPEG is baseline"
    j[sof + 5:sof + 7] = struct.pack(">H", side)
    j[sof + 7:sof + 9] = struct.pack(">H", side)
    return bytes(j)


def webp_uniform(side, rgb=(0, 0, 0)):
    """A lossless WebP (VP8L) of side × side pixels of one colour in 34 bytes: every prefix code
    has one symbol, so pixels cost no bits (tests/common/hostile_images.rs writes the same)."""
    bits = []

    def put(v, n):
        bits.extend((v >> i) & 1 for i in range(n))

    put(0x2F, 8), put(side - 1, 14), put(side - 1, 14), put(0, 1), put(0, 3)
    put(0, 1), put(0, 1), put(0, 1)  # no transform, no colour cache, one prefix-code group
    for sym in (rgb[1], rgb[0], rgb[2], 255, 0):
        put(1, 1), put(0, 1), put(1, 1), put(sym, 8)
    bits += [0] * (-len(bits) % 8)
    data = bytes(sum(bits[i + j] << j for j in range(8)) for i in range(0, len(bits), 8))
    data += b"\0" * (len(data) % 2)
    return b"RIFF" + struct.pack("<I", 12 + len(data)) + b"WEBPVP8L" + struct.pack("<I", len(data)) + data


def read_safetensors(data):
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n]), data[8 + n:]


def write_safetensors(header, body):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + body


def with_config(data, edit):
    header, body = read_safetensors(data)
    cfg = json.loads(header["__metadata__"]["config"])
    edit(cfg)
    header["__metadata__"]["config"] = json.dumps(cfg)
    return write_safetensors(header, body)


def wrapping_grid():
    """(a, b) with a * b == 49 mod 2^64, both huge: a patch grid whose size wraps."""
    a = (1 << 40) + 1
    m = 1 << 64
    while True:
        b = (49 * pow(a, -1, m)) % m
        if b < (1 << 62):
            return a, b
        a += 2


def huge_weights(data, k=1e30):
    """Every value replaced by ±k: finite, but products overflow float32."""
    header, body = read_safetensors(data)
    vals = struct.unpack(f"<{len(body) // 4}f", body)
    return write_safetensors(header, struct.pack(f"<{len(vals)}f", *[k if v >= 0 else -k for v in vals]))


def many_tensors(n):
    """A header listing n one-float tensors over an 4n-byte body."""
    header = {"__metadata__": {}}
    for i in range(n):
        header[f"t{i}"] = {"dtype": "F32", "shape": [1], "data_offsets": [4 * i, 4 * i + 4]}
    return write_safetensors(header, bytes(4 * n))


def pickle_bomb(opcodes):
    """A torch.save-style zip whose pickle is `opcodes` EMPTY_LIST opcodes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", b"\x80\x02" + b"]" * opcodes + b".")
    return out.getvalue()


def cases():
    """(file name, input, bytes, why, may_succeed); input is the page's file input. `may_succeed`:
    the page may analyse it instead of refusing it (the 1×16384 strip, which the bundled model's
    28×28 stretch fit handles in a few kilobytes; the CLI refuses it for an ImageNet fit)."""
    model = MODEL.read_bytes()
    a, b = wrapping_grid()
    jpg = JPEG.read_bytes()
    return [
        ("bomb-100000.png", "#image-file", png_gray(1, 1, declared=(100000, 100000)),
         "a PNG header declaring 100000×100000", False),
        ("tall-1x16384.png", "#image-file", png_gray(1, 16384), "a 1×16384 PNG (an ImageNet fit would blow it up)", True),
        ("claims-16384.jpg", "#image-file", jpeg_claiming(16384), "a JPEG claiming 16384×16384", False),
        ("bomb-16383.webp", "#image-file", webp_uniform(16383), "a 34-byte WebP of 16383×16383 pixels", False),
        ("truncated.jpg", "#image-file", jpg[:len(jpg) // 2], "a truncated JPEG", False),
        ("wrapped-grid.safetensors", "#model-file",
         with_config(model, lambda c: c.update(image=[4 * a, 4 * b])), "a config whose patch grid wraps past 2^64", False),
        ("huge-weights.safetensors", "#model-file", huge_weights(model),
         "finite weights whose products overflow (results not finite)", False),
        ("many-tensors.safetensors", "#model-file", many_tensors(300_000), "a header listing 300,000 tensors", False),
        ("lists.pth", "#model-file", pickle_bomb(32 << 20), "a .pth whose pickle is 32M EMPTY_LIST opcodes", False),
    ]


# ---------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--shots", default=str(ROOT / "target" / "screenshots"))
    ap.add_argument("--timeout", type=float, default=240)
    a = ap.parse_args()
    shots = Path(a.shots)
    shots.mkdir(parents=True, exist_ok=True)
    base = a.url.rstrip("/") + "/"
    samples = json.loads((ROOT / "web" / "samples" / "samples.json").read_text())
    first, other = samples[0]["file"], samples[1]["file"]
    tmp = Path(tempfile.mkdtemp(prefix="wb-hostile-"))
    checks = Checks()

    with Browser(webgpu=False, timeout=a.timeout) as b:
        for name, selector, data, why, may_succeed in cases():
            def case():
                # A fresh page for every case, so that one case's outcome cannot hide another's.
                b.goto(base + "?engine=cpu")
                wait_report(b, first, timeout=a.timeout)
                check(b.js(WASM_BYTES), "the page did not expose its wasm instance (index.html's listener)")
                path = tmp / name
                path.write_bytes(data)
                b.click("#tab-model" if selector == "#model-file" else "#tab-attention")
                b.upload(selector, path)
                outcome = b.wait_js(
                    "const e = document.querySelector('#wb-error'); if (e && e.textContent) return e.textContent;"
                    "const r = document.querySelector('#wb-report'); const a = document.querySelector('#app');"
                    f"return a.dataset.state === 'ready' && r && r.textContent.includes('\"image\":\"{name}\"') ? 'handled' : null;",
                    what=f"an error for {name}", timeout=a.timeout)
                if outcome == "handled":
                    check(may_succeed, f"{name} was accepted: it should have been refused")
                    shown = "handled: analysed within the budget"
                else:
                    check(name in outcome, f"the error does not name the file: {outcome!r}")
                    b.wait_js(READY, what="the page to settle", timeout=a.timeout)
                    check("crate-fmnist" in b.text("header"), "the model in use was lost")
                    r = b.js(REPORT)
                    check(r and r["image"] == first, f"the image on show changed: {r and r['image']}")
                    shown = repr(outcome.strip().rstrip("×")[:160])
                mem = b.js(WASM_BYTES)
                check(mem < GIB, f"wasm memory grew to {mem / 2**20:.0f} MiB")
                b.screenshot(shots / f"20-hostile-{Path(name).stem}.png")
                # The page keeps working: another gallery image is analysed.
                b.js("const e = document.querySelector('#wb-error button'); if (e) e.click();")
                b.click("#tab-attention")
                b.click(f"button[data-file='{other}']")
                wait_report(b, other, timeout=a.timeout)
                return f"{shown}; wasm memory {mem / 2**20:.0f} MiB; the page kept working"
            checks.run(why, case)
    checks.finish()


if __name__ == "__main__":
    main()
