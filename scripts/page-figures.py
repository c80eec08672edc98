#!/usr/bin/env python3
"""Figures for the page (a benchmark, not a test): time from page load to the first attention
map, per-image analysis time on WebGPU and on the CPU fallback, and the longest main-thread
task, in headless Chromium against a served dist/ (build it with `trunk build --release`).

    python3 scripts/page-figures.py http://127.0.0.1:PORT/ [--model crate-t.safetensors]

`--model` also loads that file in the page and times it (e.g. `whitebox init --preset crate-t
--output crate-t.safetensors`). Prints one JSON object.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wbdriver import Browser  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STATE = "const a = document.querySelector('#app'); return a && a.dataset.state === 'ready';"
REPORT = "const e = document.querySelector('#wb-report'); return e && e.textContent ? JSON.parse(e.textContent) : null;"


def per_image(b, files):
    times = []
    for f in files:
        b.click(f"button[data-file='{f}']")
        b.wait_js(f"const e = document.querySelector('#wb-report'); return e && e.textContent.includes('\"image\":\"{f}\"') && "
                  "document.querySelector('#app').dataset.state === 'ready';", what=f)
        times.append(b.js(REPORT)["ms"])
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--model")
    ap.add_argument("--images", type=int, default=6)
    a = ap.parse_args()
    base = a.url.rstrip("/") + "/"
    samples = [s["file"] for s in json.loads((ROOT / "web" / "samples" / "samples.json").read_text())]
    out = {}
    for engine in ["gpu", "cpu"]:
        with Browser(webgpu=True, timeout=600) as b:
            b.goto(base + f"?engine={engine}")
            b.wait_js(STATE, what="the first analysis")
            r = b.js(REPORT)
            fig = {"engine": r["engine"], "adapter": r.get("adapter"),
                   "first_map_ms": float(b.js("return document.querySelector('#app').dataset.firstMapMs")),
                   "boot_longest_task_ms": b.js("return window.__wbLongestTask")}
            b.js("window.__wbLongestTask = 0")
            t = per_image(b, samples[1:1 + a.images])
            fig["fmnist_ms_per_image_median"] = statistics.median(t)
            fig["fmnist_ms_per_image"] = [round(x, 1) for x in t]
            fig["longest_task_ms_while_browsing"] = b.js("return window.__wbLongestTask")
            if a.model:
                b.click("#tab-model")
                b.js("window.__wbLongestTask = 0")
                t0 = time.monotonic()
                b.upload("#model-file", Path(a.model).resolve())
                name = Path(a.model).name
                b.wait_js(f"return (document.querySelector('#model-info') || {{}}).textContent?.includes('{name}') && "
                          "document.querySelector('#app').dataset.state === 'ready';", what="the model", timeout=600)
                fig["model_load_and_first_image_s"] = round(time.monotonic() - t0, 2)
                b.click("#tab-attention")
                t = per_image(b, samples[-3:])
                fig["model_ms_per_image"] = [round(x, 1) for x in t]
                fig["model_longest_task_ms"] = b.js("return window.__wbLongestTask")
            out[engine] = fig
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
