"""Whitebox against its peers, measured side by side in one run (scripts/bench-peers.sh runs this
after building and serving everything). Each row alternates Whitebox and the peer, A B A B …, for
ROUNDS rounds; each run reports its own median over ITERS timed repetitions after a warm-up, and
the table gives the median over rounds with the min–max. Ratios are Whitebox / peer (lower is
better for Whitebox). Prints a Markdown table and, with --json, every run's figures.

    python tools/bench_peers/run.py --whitebox target/release/whitebox --url http://127.0.0.1:PORT/ \
        --onnx-dir DIR [--rounds 3] [--iters 5] [--rows native-1t,native-2t,...]

The rows (see scripts/bench-peers.sh for what each needs):
  native-1t, native-2t   CRATE-T 224 batch 1: `whitebox bench --engine cpu` vs ONNX Runtime CPU
  native-b8              the same at batch 8, per image, 1 thread
  wasm                   headless Chromium, 1 thread: the page's `?bench=crate-t&engine=cpu` vs
                         onnxruntime-web's wasm backend (SIMD, 1 thread)
  webgpu                 headless Chromium on SwiftShader: `?bench=crate-t&engine=gpu` vs
                         onnxruntime-web's WebGPU backend (slow: tens of seconds per run)
  first-map              page load to the first attention map, `engine=gpu` and `engine=cpu`
  b8-page                the page with a CRATE-B/8-shaped model (785 tokens at 224): analysis time
                         and the longest main-thread task, CPU engine
  gallery                the page's gallery batch (every sample through CRATE-T 224, per-layer
                         measures), CPU engine: two inference workers vs one (`workers=2|1`), ms
                         from the click to the figure, preparing the images included
  train                  training crate-fmnist batch 128: the WGSL engine (lavapipe) vs the CPU
                         engine, images/s (both Whitebox; the ratio is GPU / CPU)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from wbdriver import Browser  # noqa: E402

ALL_ROWS = ["native-1t", "native-2t", "native-b8", "wasm", "webgpu", "first-map", "b8-page", "gallery", "train"]


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env={**os.environ, **(env or {})}).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def whitebox_native(a, threads, batch):
    r = run_json([a.whitebox, "bench", "--engine", "cpu", "--preset", "crate-t", "--batch", str(batch),
                  "--iters", str(a.iters), "--json"], env={"RAYON_NUM_THREADS": str(threads)})
    return r[-1]["ms_per_image"]


def ort_native(a, threads, batch):
    r = run_json([a.python, str(ROOT / "tools/bench_peers/ort_bench.py"),
                  str(Path(a.onnx_dir) / f"crate-t-b{batch}.onnx"), "--threads", str(threads),
                  "--iters", str(a.iters)])
    return statistics.median(r[-1]["ms_per_image"])


def page_result(url, timeout):
    with Browser(webgpu=True, timeout=timeout) as b:
        b.goto(url)
        b.wait_js("return !!document.querySelector('#bench-result');", what="#bench-result", timeout=timeout)
        r = json.loads(b.text("#bench-result"))
    if isinstance(r, dict) and "error" in r:
        raise RuntimeError(f"{url}: {r['error']}")
    return r


def whitebox_page(a, engine):
    r = page_result(f"{a.url}?bench=crate-t&batch=1&iters={a.iters}&engine={engine}", a.timeout)
    return r[-1]["ms_per_image"]


def ort_web(a, ep):
    iters = a.iters if ep == "wasm" else 1
    r = page_result(f"{a.url}peers/ortweb.html?model=crate-t-b1.onnx&ep={ep}&iters={iters}&threads=1",
                    a.timeout)
    return statistics.median(r["ms_per_image"])


def first_map(a, engine):
    """(ms to the first attention map, ms to the first one computed on WebGPU or None, the page's
    and the inference worker's start-up timings `[what, ms]`)."""
    with Browser(webgpu=True, timeout=a.timeout) as b:
        b.goto(f"{a.url}?engine={engine}")
        b.wait_js("const a = document.querySelector('#app'); return a && a.dataset.state === 'ready';",
                  what="the first analysis", timeout=a.timeout)
        d = b.js("const d = document.querySelector('#app').dataset; return [d.firstMapMs, d.firstGpuMapMs || null];")
        marks = b.js("return window.__wbWorkerMarks || [];")
        return float(d[0]), (float(d[1]) if d[1] else None), marks


def page_with_model(b, a, query, model, before_upload=None):
    """Opens the page with `query`, waits for its first analysis and loads `model` from the Model
    view (`before_upload(b)` runs just before the upload)."""
    b.goto(f"{a.url}?{query}")
    b.wait_js("const a = document.querySelector('#app'); return a && a.dataset.state === 'ready';",
              what="the first analysis", timeout=a.timeout)
    b.click("#tab-model")
    if before_upload:
        before_upload(b)
    b.upload("#model-file", model.resolve())
    b.wait_js(f"return (document.querySelector('#model-info') || {{}}).textContent?.includes('{model.name}') && "
              "document.querySelector('#app').dataset.state === 'ready';", what="the model", timeout=a.timeout)


def b8_page(a):
    """Loads a seeded crate-b8-demo model in the page (CPU engine) and analyses a gallery image:
    (analysis ms, longest main-thread task ms)."""
    with Browser(webgpu=True, timeout=a.timeout) as b:
        page_with_model(b, a, "engine=cpu", Path(a.onnx_dir) / "crate-b8-demo.safetensors",
                        before_upload=lambda b: b.js("window.__wbLongestTask = 0"))
        rep = b.js("const e = document.querySelector('#wb-report'); return JSON.parse(e.textContent);")
        return rep["ms"], b.js("return window.__wbLongestTask")


def gallery_batch(a, workers):
    """Loads the random-weight CRATE-T in the page (CPU engine, `workers=`) and runs the gallery
    batch: the page's own ms from the click to the figure (it says how many workers ran)."""
    with Browser(webgpu=True, timeout=a.timeout) as b:
        page_with_model(b, a, f"engine=cpu&workers={workers}", Path(a.onnx_dir) / "crate-t.safetensors")
        b.click("#tab-layers")
        b.click("#run-batch")
        b.wait_js("const e = document.querySelector('#wb-batch'); return !!e && !!e.textContent && "
                  "document.querySelector('#app').dataset.state === 'ready';", what="the gallery figure",
                  timeout=a.timeout)
        fig = b.js("return JSON.parse(document.querySelector('#wb-batch').textContent);")
    if fig["workers"] != workers:
        raise RuntimeError(f"workers={workers} ran the gallery on {fig['workers']} workers")
    return fig["ms"]


def train_rate(a, engine):
    r = run_json([a.whitebox, "bench", "--train", "--engine", engine, "--preset", "crate-fmnist",
                  "--batch", "128", "--iters", str(max(2, a.iters // 2)), "--json"])
    row = r[-1]
    return row.get("images_per_s") or 1e3 / row["ms_per_image"]


def spread(xs):
    return statistics.median(xs), min(xs), max(xs)


def fmt(xs, unit):
    m, lo, hi = spread(xs)
    return f"{m:.1f} {unit} ({lo:.1f}–{hi:.1f})" if len(xs) > 1 else f"{m:.1f} {unit}"


def pair_row(name, a, wb, peer, unit, label_wb, label_peer):
    """A B A B … for a.rounds rounds: (markdown row, raw figures)."""
    xs, ys = [], []
    for i in range(a.rounds):
        xs.append(wb())
        ys.append(peer())
        print(f"  {name} round {i + 1}: whitebox {xs[-1]:.1f} {unit}, peer {ys[-1]:.1f} {unit}", file=sys.stderr)
    ratio = [x / y for x, y in zip(xs, ys)]
    return (f"| {name} | {label_wb} {fmt(xs, unit)} | {label_peer} {fmt(ys, unit)} | "
            f"{statistics.median(ratio):.2f} ({min(ratio):.2f}–{max(ratio):.2f}) |",
            {"row": name, "whitebox": xs, "peer": ys, "ratio": ratio})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--whitebox", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--onnx-dir", required=True)
    ap.add_argument("--python", default=sys.executable, help="the Python with onnxruntime")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--rows", default=",".join(r for r in ALL_ROWS if r != "webgpu"))
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    a.url = a.url.rstrip("/") + "/"
    rows = a.rows.split(",")
    unknown = set(rows) - set(ALL_ROWS)
    if unknown:
        sys.exit(f"unknown rows {sorted(unknown)}; known: {ALL_ROWS}")
    lines = ["| where | Whitebox | peer | ratio |", "|---|---|---|---|"]
    raw = []
    t0 = time.monotonic()
    for row in rows:
        print(f"{row} …", file=sys.stderr)
        if row in ("native-1t", "native-2t", "native-b8"):
            th = 2 if row == "native-2t" else 1
            batch = 8 if row == "native-b8" else 1
            line, r = pair_row(f"native, {th} thread{'s' * (th > 1)}, batch {batch}", a,
                               lambda: whitebox_native(a, th, batch), lambda: ort_native(a, th, batch),
                               "ms", "`whitebox bench --engine cpu`", "ONNX Runtime CPU")
        elif row == "wasm":
            line, r = pair_row("headless Chromium, 1 thread wasm", a, lambda: whitebox_page(a, "cpu"),
                               lambda: ort_web(a, "wasm"), "ms", "`?bench=crate-t&engine=cpu`",
                               "onnxruntime-web wasm (SIMD, 1 thread)")
        elif row == "webgpu":
            line, r = pair_row("headless Chromium, WebGPU (SwiftShader)", a, lambda: whitebox_page(a, "gpu"),
                               lambda: ort_web(a, "webgpu"), "ms", "`?bench=crate-t&engine=gpu`",
                               "onnxruntime-web WebGPU")
        elif row == "first-map":
            g = [first_map(a, "gpu") for _ in range(a.rounds)]
            c = [first_map(a, "cpu") for _ in range(a.rounds)]
            gpu_maps = [x for _, x, _ in g if x is not None]
            line = (f"| page, first attention map after load | WebGPU forced {fmt([x for x, _, _ in g], 'ms')} "
                    f"(first WebGPU map {fmt(gpu_maps, 'ms') if gpu_maps else '—'}); "
                    f"CPU engine {fmt([x for x, _, _ in c], 'ms')} | — | — |")
            r = {"row": row, "gpu_ms": [x for x, _, _ in g], "gpu_first_webgpu_map_ms": [x for _, x, _ in g],
                 "cpu_ms": [x for x, _, _ in c], "gpu_marks": [m for _, _, m in g], "cpu_marks": [m for _, _, m in c]}
        elif row == "b8-page":
            runs = [b8_page(a) for _ in range(a.rounds)]
            line = (f"| page, B/8-shaped model (785 tokens), CPU engine | analysis {fmt([x for x, _ in runs], 'ms')}, "
                    f"longest main-thread task {fmt([y for _, y in runs], 'ms')} | — | — |")
            r = {"row": row, "analysis_ms": [x for x, _ in runs], "longest_task_ms": [y for _, y in runs]}
        elif row == "gallery":
            line, r = pair_row("page, gallery batch (every sample, CRATE-T 224), CPU engine", a,
                               lambda: gallery_batch(a, 2), lambda: gallery_batch(a, 1), "ms",
                               "two workers", "one worker")
        else:  # train
            line, r = pair_row("training crate-fmnist b128 (images/s; ratio = WGSL on lavapipe / CPU engine)", a,
                               lambda: train_rate(a, "gpu"), lambda: train_rate(a, "cpu"), "img/s",
                               "lavapipe", "the CPU engine")
        lines.append(line)
        raw.append(r)
    print("\n".join(lines))
    print(f"\n{a.rounds} rounds × {a.iters} iterations, {time.monotonic() - t0:.0f} s in all; "
          f"load average before the run: {os.getloadavg()[0]:.2f}")
    if a.json:
        print(json.dumps(raw))


if __name__ == "__main__":
    main()
