#!/usr/bin/env python3
"""The path for official checkpoints on real photos (issue 13 item 5), in the browser: a
random-weights stand-in of the CRATE-B/8 demo checkpoint (`whitebox init --preset
crate-b8-demo`: d=768, 12 layers, 6 heads, 8×8 patches, 21,842 classes) is loaded in the page
and a photo is analysed at 224×224 (785 tokens) and at 448×448 (3,137 tokens), on the CPU
engine (WebAssembly) and on WebGPU (SwiftShader). Each case checks the page's numbers against
`whitebox forward --json` on the same file and size, and records the wasm memory (it never
shrinks, so the value after the case is the peak so far), the longest main-thread task and the
time; a screenshot of each goes to --shots. Inference runs in a Web Worker, so no main-thread
task may pass LONG_TASK_LIMIT ms while a case runs (the page's own long-task observer measures;
the long tasks of the case are printed, with the page's own sections of work over 20 ms).

SwiftShader runs WebGPU on the CPU, slowly (a B/8 forward there takes minutes on 2 cores): the
WebGPU cases of the B/8 stand-in run only when WB_B8_GPU=1 (both sizes; WB_B8_GPU448=1 the 448
one too) and are printed as skipped otherwise (a skipped case is not counted as passed). What
448 asks of WebGPU in the browser (3,137 tokens: attention of 6 × 3,137² floats, more than one
storage binding may hold, so it runs in chunks) is tested on every run with a thin model of the
same geometry (`whitebox init --preset crate-b8-demo --dim 48 --depth 2`: patch 8, 6 heads, a
few seconds a forward on SwiftShader). The native WebGPU engine's large-token path is tested on
lavapipe by tests/suite/gpu_forward.rs.

    python3 scripts/browser-b8.py http://127.0.0.1:PORT/ --whitebox target/debug/whitebox
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wbdriver import READY, Browser, Checks, check, wait_report  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "tests" / "fixtures" / "images" / "chelsea_224.png"
WASM_BYTES = "return window.__wbWasm ? window.__wbWasm.memory.buffer.byteLength : null;"
LONGEST = "const t = window.__wbLongestTask || 0; window.__wbLongestTask = 0; return t;"
CASE_START = "window.__wbCaseStart = performance.now();"
# The long tasks [start ms, duration ms] since the last LONGEST.
LONG_TASKS = ("return (window.__wbLongTasks || []).filter(t => t[0] >= (window.__wbCaseStart || 0))"
              ".slice(-12);")
# The page's own sections of main-thread work of 10 ms or more [what, start ms, ms]
# (`note_section` in src/ui/web.rs): they tell who ran a long task.
SECTIONS = ("return (window.__wbSections || []).filter(t => t[1] >= (window.__wbCaseStart || 0) && t[2] >= 20)"
            ".slice(-16);")
MIB = 2**20
# The brief's target for the CPU engine at 448; a wasm tab has at most 4 GiB.
CPU_PEAK_LIMIT = 1.5 * 2**30
GPU_PEAK_LIMIT = 2 * 2**30
# Issue 15 item 5: no main-thread task over 50 ms for this model at 224 and 448. Inference,
# measures, maps, PCA, the picked image's decoding and resizing (src/page/prepared.rs) run in
# the inference worker, the trace stays there until the Subspaces view asks for it, and the
# Attention view draws each picture in a task of its own (src/ui/deferred.rs). Measured in the
# debug build on the loaded 2-core machine: no long task at 224 or 448; the largest page section
# is the 448×448 attention map (about 40 ms). Before: 123 ms (224) and 220 ms (448); before the
# worker, 19-59 s.
LONG_TASK_LIMIT = 50


def cli_report(whitebox, weights, image, side):
    cmd = [whitebox, "forward", "--json", "--weights", str(weights), "--image", str(image),
           "--resize", "imagenet", "--size", f"{side}x{side}"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[0])


def rel_err(a, b):
    check(len(a) == len(b), f"{len(a)} values, the CLI has {len(b)}")
    return max(abs(x - y) for x, y in zip(a, b)) / (max(abs(y) for y in b) or 1.0)


def compare(page, cli, rel):
    check(page["grid"] == cli["grid"], f"grid {page['grid']} != CLI {cli['grid']}")
    notes = []
    for key in ["logits", "attention_mean"]:
        err = rel_err(page[key], cli[key])
        check(err <= rel, f"{key} differ from the CLI by {err:.2e} (relative) > {rel}")
        notes.append(f"{key} {err:.1e}")
    for m in ["rc_in", "rc_out"]:
        err = rel_err([l[m] for l in page["layers"]], [l[m] for l in cli["layers"]])
        check(err <= rel, f"{m} differs from the CLI by {err:.2e}")
        notes.append(f"{m} {err:.1e}")
    check([p["class"] for p in page["top5"]] == [p["class"] for p in cli["top5"]], "top-5 classes differ")
    return ", ".join(notes)


def load_model(b, base, engine, weights, timeout):
    """Opens the page on `engine` (checking that WebGPU is the active engine for `gpu`) and
    loads the model file `weights` from the Model view."""
    b.goto(base + f"?engine={engine}")
    b.wait_js(READY, what="the page", timeout=timeout)
    b.click("#tab-model")
    if engine == "gpu":
        active = b.wait_js("const e = document.querySelector('#wb-engine');"
                           "return e && e.dataset.active;", what="the engine panel")
        check(active == "WebGPU", f"WebGPU is not active: {b.text('#wb-engine')}")
    b.upload("#model-file", weights)
    b.wait_js("return (document.querySelector('#model-info') || {}).textContent?.includes(arguments[0])"
              " && document.querySelector('#app').dataset.state === 'ready'",
              Path(weights).name, what=f"{Path(weights).name} to load", timeout=timeout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--whitebox", required=True, help="the native CLI, for reference numbers")
    ap.add_argument("--shots", default=str(ROOT / "target" / "screenshots"))
    ap.add_argument("--timeout", type=float, default=420, help="seconds per case")
    ap.add_argument("--engines", default="cpu,gpu", help="cpu, gpu or both (comma-separated)")
    a = ap.parse_args()
    shots = Path(a.shots)
    shots.mkdir(parents=True, exist_ok=True)
    base = a.url.rstrip("/") + "/"
    tmp = Path(tempfile.mkdtemp(prefix="wb-b8-"))
    weights = tmp / "crate-b8-demo.safetensors"
    subprocess.run([a.whitebox, "init", "--preset", "crate-b8-demo", "-o", str(weights)],
                   check=True, capture_output=True)
    gpu448 = os.environ.get("WB_B8_GPU448") == "1"
    gpu_any = gpu448 or os.environ.get("WB_B8_GPU") == "1"
    checks = Checks()

    for engine in a.engines.split(","):
        with Browser(webgpu=engine == "gpu", timeout=a.timeout) as b:
            state = {"loaded": False}
            for side in [224, 448]:
                name = f"CRATE-B/8-shaped stand-in, {side}×{side} ({(side // 8) ** 2 + 1} tokens), {engine.upper()} engine"
                if engine == "gpu" and not gpu_any:
                    checks.skip(name, "SwiftShader is too slow for CI here; set WB_B8_GPU=1 to run it")
                    continue
                if engine == "gpu" and side == 448 and not gpu448:
                    checks.skip(name, "SwiftShader is too slow for CI here; set WB_B8_GPU448=1 to run it")
                    continue

                def case():
                    if not state["loaded"]:
                        load_model(b, base, engine, weights, a.timeout)
                        state["loaded"] = True
                    b.js(LONGEST)
                    b.js(CASE_START)
                    b.click("#tab-model")
                    # A new size re-analyses the image on show: the photo, after the first case.
                    b.js("const s = document.querySelector('#input-size'); s.value = arguments[0];"
                         "s.dispatchEvent(new Event('change', {bubbles: true}));", str(side))
                    b.click("#tab-attention")
                    if side == 224:
                        b.upload("#image-file", PHOTO)
                    r = wait_report(b, PHOTO.name, engine=engine, side=side, timeout=a.timeout)
                    mem = b.js(WASM_BYTES)
                    longest = b.js(LONGEST)
                    b.screenshot(shots / f"30-b8-{engine}-{side}.png")
                    detail = compare(r, cli_report(a.whitebox, weights, PHOTO, side), 1e-4 if engine == "cpu" else 1e-3)
                    check(mem is not None, "the page did not expose its wasm memory")
                    limit = CPU_PEAK_LIMIT if engine == "cpu" else GPU_PEAK_LIMIT
                    check(mem < limit, f"peak wasm memory {mem / MIB:.0f} MiB over {limit / MIB:.0f} MiB")
                    check(longest <= LONG_TASK_LIMIT,
                          f"a main-thread task took {longest:.0f} ms (> {LONG_TASK_LIMIT} ms; tasks: {b.js(LONG_TASKS)};"
                          f" page sections: {b.js(SECTIONS)})")
                    # The Layers view: its token × channel heat map of Z^{l+1} (785 × 768 values at
                    # 224) is drawn in row bands, each in a task of its own; then another layer.
                    b.js(LONGEST)
                    b.js(CASE_START)
                    tokens = (side // 8) ** 2 + 1
                    b.click("#tab-layers")
                    # (When the page keeps no token states for an input this large, the view says so
                    # in the map's caption instead.)
                    heat = ("const c = document.querySelector('#zout-heatmap');"
                            "return c && ((c.height === arguments[0] && c.width === 768) || "
                            "c.title.startsWith('No token states')) && "
                            "document.querySelector('#app').dataset.state === 'ready';")
                    b.wait_js(heat, tokens, what="the token heat map", timeout=a.timeout)
                    b.js("const s = document.querySelector('#layer'); s.value = '5';"
                         "s.dispatchEvent(new Event('input', {bubbles: true}));")
                    b.wait_js("const t = (document.querySelector('#zout-heatmap') || {}).title || '';"
                              "return (t.startsWith('Z⁶') || t.startsWith('No token states'))"
                              " && document.querySelector('#app').dataset.state === 'ready';",
                              what="layer 5's heat map", timeout=a.timeout)
                    layers_longest = b.js(LONGEST)
                    b.screenshot(shots / f"30-b8-{engine}-{side}-layers.png")
                    check(layers_longest <= LONG_TASK_LIMIT,
                          f"the Layers view took a main-thread task of {layers_longest:.0f} ms (> {LONG_TASK_LIMIT} ms;"
                          f" tasks: {b.js(LONG_TASKS)}; page sections: {b.js(SECTIONS)})")
                    b.js("const s = document.querySelector('#layer'); s.value = '0';"
                         "s.dispatchEvent(new Event('input', {bubbles: true}));")
                    b.click("#tab-model")
                    place = b.wait_js("return (document.querySelector('#wb-inference-place') || {}).textContent",
                                      what="the engine panel's inference line")
                    check("Web Worker" in place, f"inference does not run in the worker: {place!r}")
                    return (f"{detail}; peak wasm memory {mem / MIB:.0f} MiB, longest main-thread task {longest:.0f} ms "
                            f"(Layers view: {layers_longest:.0f} ms) "
                            f"(long tasks [start, ms]: {b.js(LONG_TASKS)}; page sections [what, start, ms]: {b.js(SECTIONS)})")

                def on_fail():
                    b.screenshot(shots / f"30-b8-{engine}-{side}-failed.png")
                    mem = b.js(WASM_BYTES)
                    return f" (wasm memory {mem / MIB:.0f} MiB)" if mem else ""

                checks.run(name, case, on_fail)
    if "gpu" in a.engines.split(","):
        thin = tmp / "b8-thin.safetensors"
        subprocess.run([a.whitebox, "init", "--preset", "crate-b8-demo", "--dim", "48", "--depth", "2",
                        "--classes", "10", "-o", str(thin)], check=True, capture_output=True)
        with Browser(webgpu=True, timeout=a.timeout) as b:
            def thin_case():
                load_model(b, base, "gpu", thin, a.timeout)
                b.js(LONGEST)
                b.js(CASE_START)
                b.js("const s = document.querySelector('#input-size'); s.value = '448';"
                     "s.dispatchEvent(new Event('change', {bubbles: true}));")
                b.click("#tab-attention")
                b.upload("#image-file", PHOTO)
                r = wait_report(b, PHOTO.name, engine="gpu", side=448, timeout=a.timeout)
                longest = b.js(LONGEST)
                b.screenshot(shots / "31-b8-thin-gpu-448.png")
                detail = compare(r, cli_report(a.whitebox, thin, PHOTO, 448), 1e-3)
                check(longest <= LONG_TASK_LIMIT,
                      f"a main-thread task took {longest:.0f} ms (> {LONG_TASK_LIMIT} ms; tasks: {b.js(LONG_TASKS)})")
                return f"{detail}; longest main-thread task {longest:.0f} ms"

            checks.run("a thin model of the B/8 geometry at 448×448 (3137 tokens, 6 heads), GPU engine",
                       thin_case)
    checks.finish()


if __name__ == "__main__":
    main()
