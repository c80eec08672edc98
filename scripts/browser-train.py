#!/usr/bin/env python3
"""The Train view's browser tests: headless Chromium against a served dist/, driving the view
through its ids and reading `#wb-train-report`. The page's weights are compared with
`whitebox train --steps N` (same dataset, seed and settings) and its exported model with
`whitebox forward --json`.

    python3 scripts/browser-train.py http://127.0.0.1:PORT/ --whitebox target/debug/whitebox \
        --shots target/screenshots [--accuracy-run]

Prints one line per check and "N passed, N failed"; exits 1 on any failure. --accuracy-run
adds the long measure: default subspaces trained for two minutes (held-out accuracy, R^c after
MSSA by depth, images/s).
"""

import argparse
import base64
import json
import os
import zipfile
import zlib
import math
import struct
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wbdriver import REPORT, Browser, Checks, Failed, check  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "web" / "samples"
TREPORT = "const e = document.querySelector('#wb-train-report'); return e && e.textContent ? JSON.parse(e.textContent) : null;"
EXPORT_B64 = """
const b = window.__wbTrainExport; if (!b) return null;
let s = ''; for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000));
return btoa(s);"""


def read_safetensors(path):
    """{key: (shape, floats)} and the metadata of a float32 safetensors file."""
    raw = Path(path).read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for k, t in header.items():
        check(t["dtype"] == "F32", f"{path}: {k} is {t['dtype']}")
        a, b = t["data_offsets"]
        v = array("f")
        v.frombytes(raw[8 + n + a:8 + n + b])
        out[k] = (t["shape"], v)
    return out, meta


def relative_difference(a, b):
    check(sorted(a) == sorted(b), f"keys differ: {sorted(set(a) ^ set(b))[:5]}")
    diff = scale = 0.0
    for k in a:
        check(a[k][0] == b[k][0], f"{k}: shape {a[k][0]} vs {b[k][0]}")
        diff = max(diff, max(abs(x - y) for x, y in zip(a[k][1], b[k][1])))
        scale = max(scale, max(abs(y) for y in b[k][1]))
    return diff / (scale or 1.0)


def flat(v):
    return [x for y in v for x in flat(y)] if isinstance(v, list) else [v]


def treport(b):
    return b.js(TREPORT) or {}


def wait_train(b, cond, what, timeout=None, errors_ok=False):
    """Waits until cond(report) holds; fails at once if the view shows an error (unless
    errors_ok: an error the check expects)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < (timeout or b.timeout):
        r = treport(b)
        if r.get("error") and not errors_ok:
            raise Failed(f"the Train view shows an error while waiting for {what}: {r['error']}")
        if r and cond(r):
            return r
        time.sleep(0.1)
    raise Failed(f"timed out waiting for {what}; report: {json.dumps(treport(b))[:400]}")


def step_to(b, n, errors_ok=False):
    """Clicks #train-step until the run is at step n."""
    while treport(b).get("step", 0) < n:
        s = treport(b)["step"]
        b.click("#train-step")
        wait_train(b, lambda r: r.get("step", 0) > s, f"step {s + 1}", errors_ok=errors_ok)


def pause(b, checkpoint=False):
    """Presses Pause and waits until the run is paused (and, with `checkpoint`, until the pause
    checkpoint has been written at the current step); returns the report."""
    b.click("#train-pause")
    if checkpoint:
        return wait_train(b, lambda r: not r.get("playing") and r.get("checkpoint_step") == r.get("step"),
                          "the pause checkpoint")
    return wait_train(b, lambda r: not r.get("playing"), "the pause")


def export(b, path, errors_ok=False):
    b.js("window.__wbTrainExport = null;")
    step = treport(b)["step"]
    b.click("#train-export")
    wait_train(b, lambda r: r.get("exported_step") == step, "the export", errors_ok=errors_ok)
    data = b.wait_js(f"{EXPORT_B64}", what="the exported bytes")
    Path(path).write_bytes(base64.b64decode(data))
    return step


def cli_train(whitebox, out, steps, extra=()):
    subprocess.run([whitebox, "train", "--dataset", "subspaces", "--epochs", "10", "--steps", str(steps),
                    "--out", str(out), *extra], check=True, capture_output=True, text=True)
    return Path(out) / "model.safetensors"


def png(w, h, pixel):
    """A w×h RGB PNG (stdlib only): pixel(x, y) -> (r, g, b)."""
    rows = b"".join(b"\x00" + bytes(c for x in range(w) for c in pixel(x, y)) for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def own_folder(root):
    """Three classes of six small images (colour and a bright square per class), one corrupt."""
    for c, (name, colour) in enumerate([("red", (200, 40, 40)), ("green", (40, 200, 40)), ("blue", (40, 40, 200))]):
        d = root / name
        d.mkdir(parents=True)
        for i in range(6):
            (d / f"{i}.png").write_bytes(png(16 + i, 16 + i, lambda x, y: (255, 255, 255) if (x + i) % 8 < 3 and y % 8 < 3 else colour))
    (root / "blue" / "broken.png").write_bytes(png(16, 16, lambda x, y: (0, 0, 0))[:40])
    return "broken.png"


def set_value(b, sel, value):
    b.js("const e = document.querySelector(arguments[0]); e.value = arguments[1]; "
         "e.dispatchEvent(new Event('change', {bubbles: true}));", sel, str(value))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--whitebox", required=True, help="the native CLI, for reference runs")
    ap.add_argument("--shots", default=str(ROOT / "target" / "screenshots"))
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--accuracy-run", action="store_true")
    ap.add_argument("--throughput", type=float, default=0,
                    help="also measure the page's CPU worker against the CLI on one thread for this many seconds")
    ap.add_argument("--workers", type=int, default=0,
                    help="with --throughput: the page's `workers=` (1: the training worker alone; 0: as many as help)")
    ap.add_argument("--only", default="", help="run only the checks whose names contain one of these (comma-separated)")
    a = ap.parse_args()
    shots = Path(a.shots)
    shots.mkdir(parents=True, exist_ok=True)
    base = a.url.rstrip("/") + "/"
    tmp = Path(tempfile.mkdtemp(prefix="wb-train-"))
    checks = Checks(only=a.only)

    def run(name, fn, b=None):
        checks.run(name, fn)

    state = {}
    with Browser(webgpu=True, timeout=a.timeout) as b:
        def first_seconds():
            b.goto(base + "?view=train")
            t0 = time.monotonic()
            r = wait_train(b, lambda r: r.get("worker_ready") and r.get("step") == 0 and "settings" in r,
                           "the worker's first report")
            check(b.js("return document.querySelector('#tab-train').getAttribute('aria-selected')") == "true",
                  "view=train did not open the Train tab")
            for i in ["#train-dataset", "#train-play", "#train-pause", "#train-step", "#train-reset",
                      "#train-export", "#train-files"]:
                check(b.js("return !!document.querySelector(arguments[0])", i), f"no {i}")
            check(r["dataset"] == "subspaces" and r["settings"]["batch"] == 128, "defaults are not the CLI's")
            ready_s = time.monotonic() - t0
            b.screenshot(shots / "train-01-first-report.png")
            time.sleep(max(0.0, 10 - (time.monotonic() - t0)))
            b.screenshot(shots / "train-00-first-10-seconds.png")
            at10 = treport(b)
            calib = wait_train(b, lambda r: "calibrated" in r.get("engine_reason", "") or
                               "not available" in r.get("engine_reason", ""), "the engine calibration")
            # The rest of this browser's checks compare with the CLI's CPU run: force the CPU.
            b.goto(base + "?view=train&engine=cpu")
            wait_train(b, lambda r: r.get("worker_ready") and r.get("step") == 0 and r.get("engine") == "cpu",
                       "the CPU run")
            return (f"first report (step 0, playable) {ready_s:.1f} s after opening; at 10 s the engine line said "
                    f"{at10.get('engine_reason')!r}; calibration {time.monotonic() - t0:.0f} s after opening: "
                    f"{calib['engine']}: {calib['engine_reason']}")
        run("the Train view opens from the URL with its worker and the CLI's defaults", first_seconds)

        def parity_20():
            # With two cores a helper worker computes half of every batch (src/train/shard.rs):
            # wait for it, so that these steps are the two-worker ones.
            cores = b.js("return navigator.hardwareConcurrency || 1")
            workers = 2 if cores >= 2 else 1
            wait_train(b, lambda r: r.get("workers") == workers, f"{workers} training workers")
            step_to(b, 20)
            r = treport(b)
            check(r.get("workers") == workers, f"{r.get('workers')} workers after 20 steps, not {workers}: "
                  f"{r.get('engine_reason')}")
            page = tmp / "page20.safetensors"
            export(b, page)
            cli = cli_train(a.whitebox, tmp / "cli20", 20)
            d = relative_difference(read_safetensors(page)[0], read_safetensors(cli)[0])
            check(d <= 1e-5, f"page vs CLI weights after 20 steps differ by {d:.2e} (relative) > 1e-5")
            return (f"page (worker, CPU, {workers} workers; {cores} cores) vs `whitebox train --steps 20`: "
                    f"{d:.1e} relative; {r.get('engine_reason')}")
        run("20 steps in the page equal `whitebox train --steps 20` (CPU, 1e-5)", parity_20)

        def helper_failure():
            r = treport(b)
            check(r.get("workers") == 2 and r.get("step") == 20, "needs the two-worker run at step 20 of the check before "
                  f"(workers {r.get('workers')}, step {r.get('step')})")
            b.js("window.__wbTrainBreakHelper();")
            step_to(b, 22)
            r = treport(b)
            reason = r["engine_reason"]
            check("helper worker failed at step 21" in reason and "alone" in reason and r.get("workers") == 1,
                  f"workers {r.get('workers')}; engine line {reason!r}")
            page = tmp / "page22.safetensors"
            export(b, page)
            cli = cli_train(a.whitebox, tmp / "cli22", 22)
            d = relative_difference(read_safetensors(page)[0], read_safetensors(cli)[0])
            check(d <= 1e-5, f"after the helper failed, page vs CLI weights after 22 steps differ by {d:.2e} > 1e-5")
            return f"damaged job at step 21: {reason!r}; on alone to step 22: {d:.1e} relative to `whitebox train --steps 22`"
        run("helper-failure: a helper worker that fails costs nothing but speed (its half computed by the trainer)",
            helper_failure)

        def train_30():
            b.js("window.__wbLongestTask = 0; window.__wbLongTasks = [];")
            b.click("#train-play")
            wait_train(b, lambda r: r.get("playing"), "playing")
            r = wait_train(b, lambda r: r.get("step", 0) >= 50, "step 50", timeout=600)
            r = pause(b, checkpoint=True)
            # The reload check resumes from this pause whatever the checks below find.
            state["saved"] = r["step"]
            longest = b.js("return window.__wbLongestTask || 0")
            loss = r["history"]["loss"]
            first, last = sum(loss[:5]) / 5, sum(loss[-5:]) / 5
            check(last < first, f"the training loss did not fall: {first:.4f} -> {last:.4f}")
            pts = b.js("return [...document.querySelectorAll('#train-loss-chart polyline')].map(p => p.getAttribute('points').split(' ').length)")
            check(len(pts) >= 2 and max(pts) >= 30, f"loss curves not drawn: {pts}")
            # The layer × step heatmap (ui::plots::Heatmap, a canvas): drawn, and a value on hover.
            hover = b.js_async("const d = arguments[0]; (async () => { "
                               "const c = document.querySelector('#train-heatmap canvas'); if (!c || !c.width) return d(null); "
                               "const r = c.getBoundingClientRect(), e = document.querySelector('#train-heatmap .readout'); "
                               "for (let fy = 0.05; fy < 1; fy += 0.1) for (let fx = 0.02; fx < 1; fx += 0.04) { "
                               "c.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + r.width * fx, "
                               "clientY: r.top + r.height * fy, bubbles: true})); "
                               "await new Promise(ok => setTimeout(ok, 0)); "
                               "if (/layer \\d+, step \\d+/.test(e.textContent)) return d(e.textContent); } d(''); })();")
            check(hover, f"no heatmap canvas, or no value on hover ({hover!r})")
            check(len(r["probes"]) >= 3 and len(r["probes"][-1]["rc_out"]) == 6, "per-layer probes missing")
            check(r["heldout"] and r["heldout"]["images"] > 0, "no held-out evaluation")
            check(b.js("return !!document.querySelector('#train-confusion canvas') && !!document.querySelector('#train-per-class canvas')"),
                  "no confusion matrix or per-class accuracy")
            check(longest < 50, f"a main-thread task took {longest:.0f} ms while training (tasks: {b.js('return window.__wbLongTasks')})")
            b.screenshot(shots / "train-02-after-50-steps.png")
            b.js("document.querySelector('#train-loss-chart').scrollIntoView()")
            b.screenshot(shots / "train-02b-curves.png")
            b.js("document.querySelector('#train-heatmap').scrollIntoView()")
            b.screenshot(shots / "train-02c-layers.png")
            b.js("window.scrollTo(0, 0)")
            return (f"loss {first:.3f} -> {last:.3f} over {r['step']} steps; held-out accuracy {r['heldout']['accuracy']:.3f}; "
                    f"{r['images_per_s']:.0f} images/s; longest main-thread task {longest:.0f} ms")
        run("training on subspaces: loss falls, curves drawn, no main-thread task over 50 ms", train_30)

        def reload_resume():
            s = state["saved"]
            b.goto(base + "?view=train&engine=cpu")
            wait_train(b, lambda r: r.get("saved_step") == s and r.get("step") == 0, f"the offer to resume at step {s}")
            b.screenshot(shots / "train-03-resume-offer.png")
            b.click("#train-resume")
            r = wait_train(b, lambda r: r.get("step") == s, f"the resumed run at step {s}")
            check(len(r["history"]["loss"]) == s and len(r["probes"]) > 0, "the curves did not come back")
            step_to(b, s + 3)
            page = tmp / "resumed.safetensors"
            export(b, page)
            cli = cli_train(a.whitebox, tmp / "cli-resumed", s + 3)
            d = relative_difference(read_safetensors(page)[0], read_safetensors(cli)[0])
            check(d <= 1e-5, f"resumed run vs uninterrupted CLI run differ by {d:.2e}")
            return f"paused at {s}, reloaded, resumed, +3 steps: vs uninterrupted `whitebox train --steps {s + 3}` {d:.1e} relative"
        run("pause → reload → resume continues exactly (equals an uninterrupted run)", reload_resume)

        def hidden_tab():
            r0 = treport(b)
            b.click("#train-play")
            wait_train(b, lambda r: r.get("playing"), "playing")
            main = b.cmd("GET", "/window")
            new = b.cmd("POST", "/window/new", {"type": "tab"})["handle"]
            b.cmd("POST", "/window", {"handle": new})
            time.sleep(10)
            b.cmd("POST", "/window", {"handle": main})
            hidden_steps = treport(b)["step"]
            r = pause(b)
            b.cmd("POST", "/window", {"handle": new})
            b.cmd("DELETE", "/window")
            b.cmd("POST", "/window", {"handle": main})
            gained = hidden_steps - r0["step"]
            check(gained >= 3, f"only {gained} steps in 10 s with the tab hidden")
            note = b.text("#train-hidden")
            return (f"{gained} steps while the tab was hidden 10 s; longest gap between reports "
                    f"{r['longest_report_gap_ms']:.0f} ms; note: {note[:90]!r}")
        run("training goes on while the tab is hidden", hidden_tab)

        def export_forward():
            set_value(b, "#train-dataset", "shapes")
            set_value(b, "#train-batch", 16)
            b.click("#train-reset")
            wait_train(b, lambda r: r.get("dataset") == "shapes" and r.get("step") == 0, "the shapes run")
            step_to(b, 2)
            path = tmp / "shapes.safetensors"
            export(b, path)
            before = json.dumps((b.js(REPORT) or {}).get("logits"))
            b.click("#train-open-attention")
            b.wait_js("return document.querySelector('header .status').textContent.includes('trained in the page') && "
                      "document.querySelector('#app').dataset.state === 'ready' && "
                      "JSON.stringify(JSON.parse(document.querySelector('#wb-report').textContent).logits) !== arguments[0]",
                      before, what="the exported model's analysis in the Attention view")
            r = b.js(REPORT)
            img = SAMPLES / r["image"]
            out = subprocess.run([a.whitebox, "forward", "--json", "--weights", str(path), "--image", str(img),
                                  "--resize", "stretch"], check=True, capture_output=True, text=True).stdout
            cli = json.loads(out.splitlines()[0])
            pl, cl = flat(r["logits"]), flat(cli["logits"])
            check(len(pl) == len(cl), f"{len(pl)} logits, CLI has {len(cl)}")
            err = max(abs(x - y) for x, y in zip(pl, cl)) / max(abs(y) for y in cl)
            tol = 1e-5 if r.get("engine") == "cpu" else 1e-3
            check(err <= tol, f"logits of the exported model differ from `whitebox forward` by {err:.2e} ({r.get('engine')})")
            rc = max(abs(p["rc_out"] - c["rc_out"]) / abs(c["rc_out"]) for p, c in zip(r["layers"], cli["layers"]))
            check(rc <= tol, f"R^c differs by {rc:.2e}")
            b.screenshot(shots / "train-04-exported-in-attention.png")
            return f"exported shapes model: page ({r.get('engine')}) vs `whitebox forward --json`: logits {err:.1e}, R^c {rc:.1e}"
        run("export → `whitebox forward --json` equals the page's numbers on the exported model", export_forward)

        if a.accuracy_run:
            def accuracy_2min():
                b.goto(base + "?view=train&engine=cpu")
                wait_train(b, lambda r: r.get("worker_ready") and r.get("step") == 0, "a fresh run")
                b.click("#train-play")
                t0 = time.monotonic()
                first95 = None
                while time.monotonic() - t0 < 120:
                    time.sleep(0.5)
                    h = treport(b).get("heldout") or {}
                    if first95 is None and (h.get("accuracy") or 0) >= 0.95:
                        first95 = (time.monotonic() - t0, h["step"], h["accuracy"])
                r = pause(b)
                ev = r["evals"][-1] if r["evals"] else None
                p = r["probes"][-1]
                # CRATE-SPEC.md: in the released CRATE-S the MSSA-side R^c falls over the layers, "not
                # monotonically". Both readings are reported.
                rc = p["rc_out"]
                falls = rc[-1] < rc[0]
                steady_from = next(i for i in range(len(rc)) if all(x > y for x, y in zip(rc[i:], rc[i + 1:])))
                b.screenshot(shots / "train-05-two-minutes.png")
                check(first95 is not None, "held-out accuracy stayed below 0.95 for two minutes")
                return (f"held-out accuracy {first95[2]:.3f} >= 0.95 at step {first95[1]}, {first95[0]:.0f} s after Play; "
                        f"after 120 s: step {r['step']}, held-out accuracy {ev and ev['accuracy']:.4f} (step {ev and ev['step']}), "
                        f"{r['images_per_s']:.1f} images/s, R^c after MSSA by layer {[round(x, 2) for x in p['rc_out']]} "
                        f"(first to last layer: {'falls' if falls else 'does not fall'}; falls at every layer from layer {steady_from} on)")
            run("measure: held-out accuracy on default subspaces after two minutes", accuracy_2min)

        if a.throughput:
            def throughput():
                # The page's CPU worker on the default run (subspaces, crate-fmnist, batch 128) for
                # a fixed time, then `whitebox train` on one thread for as many steps; three
                # rounds, A B A B A B, so that a change in the machine's load hits both sides.
                pages, clis = [], []
                for i in range(3):
                    b.goto(base + "?view=train&engine=cpu" + (f"&workers={a.workers}" if a.workers else ""))
                    wait_train(b, lambda r: r.get("worker_ready") and r.get("step") == 0, "a fresh run")
                    if a.workers != 1:
                        # As many workers as the page uses: wait for the helper.
                        cores = b.js("return navigator.hardwareConcurrency || 1")
                        wait_train(b, lambda r: r.get("workers") == min(2, cores), "the training workers")
                    b.click("#train-play")
                    time.sleep(a.throughput)
                    r = pause(b)
                    pages.append(r["images_per_s"])
                    steps = max(10, r["step"])
                    out_dir = tmp / f"cli-throughput-{i}"
                    subprocess.run([a.whitebox, "train", "--dataset", "subspaces", "--epochs", "10", "--steps", str(steps),
                                    "--log-every", "1", "--out", str(out_dir)],
                                   check=True, capture_output=True, text=True, env={**os.environ, "RAYON_NUM_THREADS": "1"})
                    lines = [json.loads(x) for x in (out_dir / "metrics.jsonl").read_text().splitlines()]
                    ips = [x["images_per_s"] for x in lines if x.get("kind") == "step"]
                    # The CLI's figure over all its steps (images over the epoch's time so far).
                    clis.append(ips[-1])
                ratios = sorted(p / c for p, c in zip(pages, clis))
                ratio = ratios[1]
                check(ratio >= 0.6, f"the page trains at {100 * ratio:.0f} % of the CLI's images/s (median of "
                      f"{[round(100 * x) for x in ratios]}; target 60 %): page {[round(x) for x in pages]}, "
                      f"CLI {[round(x) for x in clis]} images/s; load {os.getloadavg()[0]:.1f}")
                return (f"page CPU ({r.get('workers')} workers) {[round(x) for x in pages]} images/s vs `whitebox train` on one thread "
                        f"{[round(x) for x in clis]} images/s: median {100 * ratio:.0f} % "
                        f"({100 * ratios[0]:.0f}–{100 * ratios[-1]:.0f} %); load {os.getloadavg()[0]:.1f}")
            run("measure: page CPU worker images/s vs `whitebox train` on one thread (same model, batch)", throughput)

    with Browser(webgpu=True, timeout=a.timeout) as b:
        def fashion_mnist():
            b.goto(base + "?view=train&engine=cpu")
            wait_train(b, lambda r: r.get("worker_ready") and r.get("step") == 0 and r.get("engine") == "cpu",
                       "the CPU run")
            fetched = "return performance.getEntriesByType('resource').filter(e => e.name.includes('fashion-mnist')).length"
            check(b.js(fetched) == 0, "Fashion-MNIST was fetched before it was chosen")
            # Every download state the report shows, as the progress bar moves.
            b.js("window.__wbDl = []; new MutationObserver(() => { const e = document.querySelector('#wb-train-report'); "
                 "try { const d = JSON.parse(e.textContent).download; if (d) window.__wbDl.push(d); } catch (_) {} })"
                 ".observe(document.querySelector('#wb-train-report'), {childList: true, characterData: true, subtree: true});")
            set_value(b, "#train-dataset", "fmnist")
            check(b.js("return document.querySelector('#train-preset').value") == "crate-fmnist",
                  "choosing Fashion-MNIST did not choose the crate-fmnist model")
            b.click("#train-reset")
            r = wait_train(b, lambda r: r.get("dataset") == "fmnist" and r.get("step") == 0, "the Fashion-MNIST run", timeout=120)
            dl = b.js("return window.__wbDl")
            index = json.loads((ROOT / "web/datasets/fashion-mnist/index.json").read_text())
            total = sum(s[f]["bytes"] for s in index["splits"] for f in ("images_file", "labels_file"))
            check(dl and all(t == total for _, t in dl), f"no progress over {total} bytes: {dl[:5]}")
            partial = [d for d, t in dl if 0 < d < t]
            check(len(partial) >= 2 and max(d for d, _ in dl) == total, f"the progress bar did not move: {dl[:8]}")
            check(r["download"] is None, "the progress bar stayed after the download")
            credit = b.text("#train-data-credit")
            check("Zalando" in credit and "MIT" in credit, f"no licence credit: {credit!r}")
            check(len(r["class_names"]) == 10 and r["class_names"][0] == "T-shirt/top", f"classes {r['class_names']}")
            check(r["model"]["preset"] == "crate-fmnist", f"model {r['model']}")
            step_to(b, 3)
            r = treport(b)
            loss = r["history"]["loss"]
            check(len(loss) == 3 and all(isinstance(x, (int, float)) and math.isfinite(x) for x in loss), f"loss {loss}")
            b.screenshot(shots / "train-07-fashion-mnist.png")
            page = tmp / "fmnist3.safetensors"
            export(b, page)
            subprocess.run([a.whitebox, "train", "--dataset", "fmnist", "--data", str(ROOT / "web/datasets/fashion-mnist"),
                            "--epochs", "10", "--steps", "3", "--out", str(tmp / "cli-fmnist")],
                           check=True, capture_output=True, text=True)
            d = relative_difference(read_safetensors(page)[0], read_safetensors(tmp / "cli-fmnist" / "model.safetensors")[0])
            check(d <= 1e-5, f"page vs CLI Fashion-MNIST weights after 3 steps differ by {d:.2e}")
            return (f"fetched {total} bytes on choosing it ({len(partial)} progress updates), credit {credit[:40]!r}…; "
                    f"3 steps, loss {loss[0]:.3f} -> {loss[-1]:.3f}; vs `whitebox train --dataset fmnist --steps 3`: {d:.1e} relative")
        run("fmnist: Fashion-MNIST fetched when chosen, with progress and credit, trains as the CLI", fashion_mnist)

        def fmnist_resume():
            check(treport(b).get("dataset") == "fmnist", "needs the Fashion-MNIST run of the check before")
            b.click("#train-play")
            wait_train(b, lambda r: r.get("playing"), "playing")
            r = pause(b, checkpoint=True)
            s = r["step"]
            url = b.js("return location.href")
            check("fmnist" in url, f"the URL does not keep the dataset: {url}")
            b.goto(url)
            wait_train(b, lambda r: r.get("saved_step") == s, f"the offer to resume at step {s}", timeout=120)
            b.click("#train-resume")
            r = wait_train(b, lambda r: r.get("step") == s and r.get("dataset") == "fmnist",
                           f"the resumed Fashion-MNIST run at step {s}", timeout=120)
            step_to(b, s + 1)
            loss = treport(b)["history"]["loss"]
            check(len(loss) == s + 1 and math.isfinite(loss[-1]), f"loss {loss}")
            return f"paused at step {s}, reloaded, resumed (files fetched again), step {s + 1} loss {loss[-1]:.3f}"
        run("fmnist-resume: a Fashion-MNIST run resumes after a reload", fmnist_resume)

    with Browser(webgpu=True, timeout=a.timeout) as b:
        def continue_model():
            b.goto(base + "?view=train&engine=cpu")
            wait_train(b, lambda r: r.get("worker_ready") and r.get("step") == 0 and r.get("engine") == "cpu",
                       "the CPU run")
            label = b.wait_js("const o = document.querySelector('#train-preset option[value=\"in-use\"]'); "
                              "return o && !o.textContent.includes('none loaded') ? o.textContent : null",
                              what="the model in use in the model menu")
            presets = b.js("return [...document.querySelectorAll('#train-preset option')].map(o => o.value)")
            check(presets == ["crate-tiny", "crate-mini", "crate-fmnist", "in-use"], f"model menu {presets}")
            set_value(b, "#train-dataset", "fmnist")
            set_value(b, "#train-preset", "in-use")
            set_value(b, "#train-batch", 32)
            b.click("#train-reset")
            r = wait_train(b, lambda r: r.get("dataset") == "fmnist" and r.get("step") == 0 and r["model"].get("init"),
                           "the run continuing the model in use", timeout=180)
            origin = r["model"].get("origin") or ""
            check("every weight kept" in origin, f"origin {origin!r}")
            check("in-use" in b.js("return location.href"), "the URL does not keep the model choice")
            step_to(b, 3)
            loss = treport(b)["history"]["loss"]
            # A fresh model starts at ln 10 = 2.30 (label smoothing keeps a trained one above 0.5).
            check(loss[0] < 1.2 and all(math.isfinite(x) for x in loss), f"loss {loss} does not start at the bundled model's")
            page = tmp / "continued3.safetensors"
            export(b, page)
            subprocess.run([a.whitebox, "train", "--dataset", "fmnist", "--data", str(ROOT / "web/datasets/fashion-mnist"),
                            "--init", str(ROOT / "web/models/crate-fmnist.safetensors"), "--preset", "crate-fmnist",
                            "--batch", "32", "--epochs", "10", "--steps", "3", "--out", str(tmp / "cli-continued")],
                           check=True, capture_output=True, text=True)
            d = relative_difference(read_safetensors(page)[0], read_safetensors(tmp / "cli-continued" / "model.safetensors")[0])
            check(d <= 1e-5, f"page vs `whitebox train --init` after 3 steps differ by {d:.2e}")
            b.screenshot(shots / "train-09-continue-model.png")
            # Your own 3 classes on the same model: its trunk kept, a new head.
            folder = tmp / "continue-images"
            own_folder(folder)
            set_value(b, "#train-batch", 8)
            b.upload("#train-files", folder)
            r = wait_train(b, lambda r: r.get("dataset") == "own" and r.get("step") == 0, "the own-images run", timeout=120)
            origin2 = r["model"].get("origin") or ""
            check("new head for 3 classes (the model had 10)" in origin2 and len(r["class_names"]) == 3, f"origin {origin2!r}")
            check("new head" in b.text("#train-view"), "the view does not say the head is new")
            step_to(b, 2)
            loss2 = treport(b)["history"]["loss"]
            check(all(math.isfinite(x) for x in loss2), f"loss {loss2}")
            # Out and back for own images: open in Layers, then the page's model menu lists it.
            export(b, tmp / "own-continued.safetensors")
            b.click("#train-open-layers")
            trained = "trained in the page (own, step 2)"
            b.wait_js("return document.querySelector('header .status').textContent.includes(arguments[0]) && "
                      "document.querySelector('#app').dataset.state === 'ready'", trained,
                      what="the trained model in the Layers view")
            rep = b.js(REPORT)
            check(len(rep["logits"] if not isinstance(rep["logits"][0], list) else rep["logits"][0]) == 3,
                  f"the Layers view's model does not have 3 classes: {str(rep.get('logits'))[:80]}")
            b.click("#tab-model")
            menu = b.wait_js("const s = document.querySelector('#bundled-model'); return s && "
                             "[...s.options].map(o => [o.value, o.textContent, o.selected])", what="the model menu")
            chosen = [t for v, t, sel in menu if sel]
            check(any(t == trained for _, t, _ in menu) and chosen == [trained], f"model menu {menu}")
            set_value(b, "#bundled-model", "crate-fmnist")
            b.wait_js("return document.querySelector('header .status').textContent.includes('crate-fmnist') && "
                      "document.querySelector('#app').dataset.state === 'ready'", what="the bundled model again")
            set_value(b, "#bundled-model", next(v for v, t, _ in menu if t == trained))
            b.wait_js("return document.querySelector('header .status').textContent.includes(arguments[0]) && "
                      "document.querySelector('#app').dataset.state === 'ready'", trained,
                      what="the trained model chosen back from the menu")
            b.screenshot(shots / "train-10-trained-in-model-menu.png")
            return (f"menu {label!r}; Fashion-MNIST from the bundled model: loss {loss[0]:.3f} -> {loss[-1]:.3f} over 3 steps "
                    f"(fresh: ~2.30); vs `whitebox train --init`: {d:.1e} relative; own 3 classes: {origin2[:70]}…; "
                    f"opened in Layers and listed in the model menu: {[t for _, t, _ in menu]}")
        run("continue-model: training continues the model in use (fine-tune as `whitebox train --init`; new head for own classes)",
            continue_model)

    with Browser(webgpu=True, timeout=a.timeout) as b:
        def own_images():
            folder = tmp / "my-images"
            broken = own_folder(folder)
            b.goto(base + "?view=train&engine=cpu")
            wait_train(b, lambda r: r.get("worker_ready") and r.get("step") == 0 and r.get("engine") == "cpu",
                       "the CPU run")
            check(b.js("return document.querySelector('#train-files').hasAttribute('webkitdirectory')"),
                  "#train-files does not take a folder")
            set_value(b, "#train-batch", 8)
            b.upload("#train-files", folder)
            r = wait_train(b, lambda r: r.get("dataset") == "own" and r.get("step") == 0, "the own-images run", timeout=120)
            check(r["class_names"] == ["blue", "green", "red"], f"classes {r['class_names']}")
            skipped = r.get("skipped_files") or []
            check([s["path"] for s in skipped] == [f"my-images/blue/{broken}"] and skipped[0]["reason"],
                  f"the corrupt file is not listed as skipped: {skipped}")
            listed = b.text("#train-skipped")
            check(broken in listed, f"the view does not list the skipped file: {listed!r}")
            step_to(b, 4)
            r = treport(b)
            loss = r["history"]["loss"]
            check(len(loss) == 4 and all(math.isfinite(x) for x in loss), f"loss {loss}")
            check(r["settings"]["data"] == {"kind": "own", "seed": 0}, f"settings {r['settings']['data']}")
            b.screenshot(shots / "train-08-own-images.png")
            return (f"3 classes from a folder (18 images + 1 corrupt), skipped: {skipped[0]['path']} ({skipped[0]['reason'][:60]}); "
                    f"4 steps, loss {loss[0]:.3f} -> {loss[-1]:.3f}")
        run("own: a folder of own images through #train-files trains, the corrupt file listed as skipped", own_images)

        def own_reload():
            r = treport(b)
            check(r.get("dataset") == "own", "needs the own-images run of the check before")
            b.click("#train-play")
            wait_train(b, lambda r: r.get("playing"), "playing")
            r = pause(b, checkpoint=True)
            s = r["step"]
            # The page's first run (step 0) reads the images from IndexedDB too: make its read the
            # slow one, so that Resume's read finishes first. Resume must still win (it once lost
            # this race now and then, and the fresh run replaced the resumed one).
            slow = b.on_new_document(
                "let slowed = false; Object.defineProperty(window, 'wbTrainStore', { configurable: true, "
                "set(v) { const get = v.getData; v.getData = () => slowed ? get() : (slowed = true, "
                "new Promise(ok => setTimeout(ok, 1500)).then(get).then(d => (window.__wbSlowRead = 'done', d))); "
                "Object.defineProperty(window, 'wbTrainStore', { value: v, writable: true }); } });")
            try:
                b.goto(b.js("return location.href"))
                wait_train(b, lambda r: r.get("saved_step") == s, f"the offer to resume at step {s}", timeout=120)
                b.click("#train-resume")
                r = wait_train(b, lambda r: r.get("step") == s and r.get("dataset") == "own",
                               f"the resumed own-images run at step {s} (no folder asked for)", timeout=120)
                # Once the slowed read is done (and its run, were it to come, sent), still the resumed run.
                b.wait_js("return window.__wbSlowRead === 'done'", what="the slowed IndexedDB read")
                time.sleep(1)
                r = treport(b)
                check(r.get("step") == s, f"the resumed run was replaced: step {r.get('step')}, not {s}")
            finally:
                b.drop_new_document(slow)
            check(r["class_names"] == ["blue", "green", "red"] and len(r.get("skipped_files") or []) == 1,
                  f"classes {r['class_names']}, skipped {r.get('skipped_files')}")
            step_to(b, s + 1)
            loss = treport(b)["history"]["loss"]
            check(len(loss) == s + 1 and math.isfinite(loss[-1]), f"loss {loss}")
            return f"paused at step {s}, reloaded, resumed with the images from IndexedDB, step {s + 1} loss {loss[-1]:.3f}"
        run("own-reload: own images are kept across a reload (resume does not ask for the folder)", own_reload)

        def own_classes():
            folder = tmp / "per-class"
            own_folder(folder)
            b.goto(base + "?view=train&engine=cpu")
            wait_train(b, lambda r: r.get("worker_ready") and "settings" in r, "the worker")
            set_value(b, "#train-batch", 8)
            b.js("document.querySelector('#train-classes').open = true;")
            for _ in range(2):
                b.click("#train-add-class")
            for i, name in enumerate(["rouge", "vert", "bleu"]):
                src = {"rouge": "red", "vert": "green", "bleu": "blue"}[name]
                b.wait_js("return !!document.querySelector(arguments[0])", f"#train-class-files-{i}", what=f"row {i}")
                set_value(b, f"#train-class-name-{i}", name)
                b.upload(f"#train-class-files-{i}", "\n".join(str(f) for f in sorted((folder / src).glob("*.png"))))
            b.click("#train-use-classes")
            r = wait_train(b, lambda r: r.get("dataset") == "own" and r.get("step") == 0 and
                           r.get("class_names") == ["bleu", "rouge", "vert"], "the per-class run", timeout=120)
            skipped = [x["path"] for x in r.get("skipped_files") or []]
            check(skipped == ["classes/bleu/broken.png"], f"skipped {skipped}")
            step_to(b, 2)
            loss = treport(b)["history"]["loss"]
            check(all(math.isfinite(x) for x in loss), f"loss {loss}")
            return f"3 classes picked per class (+ class rows): {r['class_names']}, skipped {skipped}, 2 steps"
        run("own-classes: files picked per class (\"+ class\" rows) train, the corrupt file skipped", own_classes)

        def own_zip():
            folder = tmp / "zipped"
            broken = own_folder(folder / "set")
            archive = tmp / "set.zip"
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
                for f in sorted(folder.rglob("*.png")):
                    z.write(f, f.relative_to(folder).as_posix())
            b.goto(base + "?view=train&engine=cpu")
            wait_train(b, lambda r: r.get("worker_ready") and r.get("step") == 0 and r.get("engine") == "cpu",
                       "the CPU run")
            set_value(b, "#train-batch", 8)
            b.upload("#train-archive", archive)
            r = wait_train(b, lambda r: r.get("dataset") == "own" and r.get("step") == 0, "the .zip run", timeout=120)
            skipped = [s["path"] for s in r.get("skipped_files") or []]
            check(r["class_names"] == ["blue", "green", "red"] and skipped == [f"set/blue/{broken}"],
                  f"classes {r['class_names']}, skipped {skipped}")
            step_to(b, 2)
            loss = treport(b)["history"]["loss"]
            check(all(math.isfinite(x) for x in loss), f"loss {loss}")
            return f"a .zip through #train-archive: 3 classes, skipped {skipped}, 2 steps, loss {loss}"
        run("own-zip: a .zip of own images through #train-archive trains, the corrupt entry skipped", own_zip)

    with Browser(webgpu=True, timeout=a.timeout) as b:
        def webgpu_parity():
            b.goto(base + "?view=train&engine=gpu")
            r = wait_train(b, lambda r: r.get("worker_ready") and r.get("step") == 0 and "settings" in r,
                           "the WebGPU run")
            check(r["engine"] == "gpu", f"engine=gpu did not give the WGSL trainer: {r['engine_reason']}")
            # SwiftShader takes about 40 s for a batch of 128 here: batch 16 keeps this short.
            set_value(b, "#train-batch", 16)
            # One reset: the worker is busy from the moment a run begins, so a reset sent while
            # the first run is still opening WebGPU waits its turn instead of racing it.
            b.click("#train-reset")
            wait_train(b, lambda r: r.get("settings", {}).get("batch") == 16 and r.get("step") == 0
                       and r.get("engine") == "gpu", "the batch-16 WebGPU run", timeout=120)
            t0 = time.monotonic()
            step_to(b, 20)
            secs = time.monotonic() - t0
            page = tmp / "gpu20.safetensors"
            export(b, page)
            cli = cli_train(a.whitebox, tmp / "cli20-b16", 20, ["--batch", "16"])
            d = relative_difference(read_safetensors(page)[0], read_safetensors(cli)[0])
            r = treport(b)
            check(d <= 1e-3, f"WebGPU vs CPU weights after 20 steps differ by {d:.2e} (relative) > 1e-3")
            check(r["probes"] and r["evals"], "no probes or evaluations on the GPU run")
            b.screenshot(shots / "train-06-webgpu.png")
            return (f"WebGPU (SwiftShader) vs `whitebox train --batch 16 --steps 20` (CPU): {d:.1e} relative; "
                    f"{r['images_per_s']:.1f} images/s ({secs:.0f} s for 20 single steps); {r['engine_reason']}")
        run("the WGSL trainer in the worker (engine=gpu) matches the CPU run within 1e-3", webgpu_parity)

        def device_loss():
            r = treport(b)
            check(r.get("engine") == "gpu" and r["settings"]["batch"] == 16, "needs the WebGPU run of the check before")
            # Pause checkpoints a running run (a paused one keeps its last checkpoint).
            b.click("#train-play")
            wait_train(b, lambda r: r.get("playing"), "playing")
            r = pause(b, checkpoint=True)
            s = r["step"]
            b.js("window.__wbTrainLoseDevice();")
            b.click("#train-step")
            r = wait_train(b, lambda r: r.get("engine") == "cpu", "the fall-back to the CPU", timeout=180,
                           errors_ok=True)
            reason = r["engine_reason"]
            told = r.get("error") or ""
            check("WebGPU failed" in told and "continuing on the CPU" in told, f"the view says {told!r}")
            check("failed" in reason and f"checkpoint at step {s}" in reason and r["step"] == s,
                  f"step {r['step']}, reason {reason!r}")
            step_to(b, s + 2, errors_ok=True)
            r = treport(b)
            check(r["engine"] == "cpu" and math.isfinite(r["history"]["loss"][-1]), f"engine {r['engine']}, loss {r['history']['loss'][-3:]}")
            page = tmp / "after-loss.safetensors"
            export(b, page, errors_ok=True)
            cli = cli_train(a.whitebox, tmp / "cli-after-loss", s + 2, ["--batch", "16"])
            d = relative_difference(read_safetensors(page)[0], read_safetensors(cli)[0])
            check(d <= 1e-3, f"after the fall-back, weights differ from the CPU CLI by {d:.2e} > 1e-3")
            return (f"device destroyed at step {s}: {reason!r}; trained on to step {s + 2} on the CPU, "
                    f"{d:.1e} relative to `whitebox train --batch 16 --steps {s + 2}`")
        run("device-loss: a destroyed WebGPU device falls back to the CPU from the last checkpoint and trains on",
            device_loss)

    with Browser(webgpu=False, timeout=a.timeout) as b:
        def no_webgpu():
            gpu = b.js_async("const d = arguments[0]; navigator.gpu ? navigator.gpu.requestAdapter().then(x => d(!!x), () => d(false)) : d(false);")
            check(not gpu, "this Chromium still has a WebGPU adapter")
            b.goto(base + "?view=train&engine=gpu")
            wait_train(b, lambda r: r.get("worker_ready") and r.get("step") == 0, "the worker")
            b.click("#train-step")
            r = wait_train(b, lambda r: r.get("step") == 1, "one step")
            check(r["engine"] == "cpu", f"engine {r['engine']}")
            note = b.text("#train-engine")
            check("WebGPU is not available" in note, f"no notice that WebGPU is missing: {note!r}")
            return f"notice: {note[:120]!r}"
        run("a browser without WebGPU trains on the CPU, saying so", no_webgpu)

    checks.finish()


if __name__ == "__main__":
    main()
