#!/usr/bin/env python3
"""The page's browser tests: headless Chromium (WebGPU on SwiftShader, and once without WebGPU)
driven in real time against a served dist/. Numbers shown by the page are compared with
`whitebox forward --json` on the same file and model. Every view is saved as a screenshot.

    python3 scripts/browser-tests.py http://127.0.0.1:PORT/ --whitebox target/debug/whitebox \
        --shots target/screenshots

Prints one line per check and "N passed, N failed"; exits 1 on any failure.
"""

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wbdriver import Browser, Checks, Failed, READY, REPORT, check, wait_report  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "web" / "models" / "crate-fmnist.safetensors"
SAMPLES = ROOT / "web" / "samples"
PHOTO = ROOT / "tests" / "fixtures" / "images" / "chelsea_224.png"
PTH = ROOT / "tests" / "fixtures" / "official" / "small32.pth"
BATCH = "return JSON.parse(document.querySelector('#wb-batch').textContent);"



def cli_report(whitebox, image, weights=MODEL, heads=None, resize="stretch"):
    cmd = [whitebox, "forward", "--json", "--rollout", "--weights", str(weights), "--image", str(image),
           "--resize", resize]
    if heads:
        cmd += ["--heads", str(heads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[0])


def cli_batch_figure(whitebox, images, weights=MODEL):
    """The gallery figure computed independently of the page: `whitebox forward --json` on every
    image (the native CPU engine, one image at a time), then per layer the mean and population
    standard deviation of R^c in, R^c out and sparsity, as [mean, std] pairs."""
    cmd = [whitebox, "forward", "--json", "--weights", str(weights), "--resize", "stretch", "--image",
           *map(str, images)]
    rows = [json.loads(line) for line in subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()]
    check(len(rows) == len(images), f"the CLI reported {len(rows)} of {len(images)} images")

    def mean_std(xs):
        m = sum(xs) / len(xs)
        return [m, math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))]

    return [{key: mean_std([r["layers"][l][key] for r in rows]) for key in ("rc_in", "rc_out", "sparsity")}
            for l in range(len(rows[0]["layers"]))]


def compare_batch(page, cli, rel=1e-5, sparsity_abs=1e-6):
    """The page's gallery figure against [`cli_batch_figure`]: R^c's mean and std within `rel` of
    the layer's mean R^c, the sparsity's within `sparsity_abs`. Returns the largest differences."""
    check(len(page) == len(cli), f"the page's figure has {len(page)} layers, the CLI's {len(cli)}")
    worst = {"rc": 0.0, "sparsity": 0.0}
    for l, (p, c) in enumerate(zip(page, cli)):
        for key in ("rc_in", "rc_out", "sparsity"):
            kind = "sparsity" if key == "sparsity" else "rc"
            scale = 1.0 if kind == "sparsity" else max(1.0, abs(c[key][0]))
            tol = sparsity_abs if kind == "sparsity" else rel
            for part, x, y in zip(("mean", "std"), p[key], c[key]):
                err = abs(x - y) / scale
                worst[kind] = max(worst[kind], err)
                check(err <= tol, f"layer {l} {key} {part}: page {x} vs CLI {y}")
    return f"R^c within {worst['rc']:.1e} of the mean, sparsity within {worst['sparsity']:.1e}"


def model_config(path):
    """The `config` metadata of a safetensors file."""
    data = Path(path).read_bytes()
    n = int.from_bytes(data[:8], "little")
    return json.loads(json.loads(data[8:8 + n])["__metadata__"]["config"])


def flat(v):
    return [x for y in v for x in flat(y)] if isinstance(v, list) else [v]


def compare(page, cli, rel=1e-3, sparsity_abs=2e-3):
    """Largest differences between the page's report and the CLI's, checked against the
    tolerances the engines promise (GPU within 1e-3 relative; the CPU engine is far closer)."""
    notes = []
    check(page["grid"] == cli["grid"], f"grid {page['grid']} != CLI {cli['grid']}")
    for key in ["logits", "attention_mean", "rollout"]:
        a, b = flat(page[key]), flat(cli[key])
        check(len(a) == len(b), f"{key}: {len(a)} values, CLI has {len(b)}")
        err = max(abs(x - y) for x, y in zip(a, b)) / (max(abs(y) for y in b) or 1.0)
        check(err <= rel, f"{key} differ from the CLI by {err:.2e} (relative) > {rel}: page {a[:4]}, CLI {b[:4]} "
                          f"(page engine {page.get('engine')}, image {page.get('image')})")
        notes.append(f"{key} {err:.1e}")
    for m in ["rc_in", "rc_out", "sparsity"]:
        a = [l[m] for l in page["layers"]]
        b = [l[m] for l in cli["layers"]]
        check(len(a) == len(b), f"{m}: {len(a)} layers, CLI has {len(b)}")
        if m == "sparsity":
            err = max(abs(x - y) for x, y in zip(a, b))
            check(err <= max(sparsity_abs, rel), f"sparsity differs by {err:.2e}")
        else:
            err = max(abs(x - y) for x, y in zip(a, b)) / max(abs(y) for y in b)
            check(err <= rel, f"{m} differs by {err:.2e} (relative)")
        notes.append(f"{m} {err:.1e}")
    check([p["class"] for p in page["top5"]] == [p["class"] for p in cli["top5"]], "top-5 classes differ")
    return ", ".join(notes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--whitebox", required=True, help="the native CLI, for reference numbers")
    ap.add_argument("--shots", default=str(ROOT / "target" / "screenshots"))
    ap.add_argument("--timeout", type=float, default=240)
    a = ap.parse_args()
    shots = Path(a.shots)
    shots.mkdir(parents=True, exist_ok=True)
    base = a.url.rstrip("/") + "/"
    samples = json.loads((SAMPLES / "samples.json").read_text())
    first = samples[0]["file"]
    checks = Checks()
    tmp = Path(tempfile.mkdtemp(prefix="wb-browser-"))

    def run(name, fn, b=None):
        def with_tasks():
            detail = fn()
            if b is not None:
                # Informational: the longest main-thread task during the check (index.html
                # observes long tasks), and when the first attention map appeared.
                lt = b.js("const t = window.__wbLongestTask || 0; window.__wbLongestTask = 0; return t;")
                first = b.js("return document.querySelector('#app')?.dataset.firstMapMs")
                detail = (detail + "; " if detail else "") + f"longest task {lt:.0f} ms, first map at {first} ms"
            return detail
        checks.run(name, with_tasks)

    with Browser(webgpu=True, timeout=a.timeout) as b:
        def gallery_on_webgpu():
            gpu = b.js_async("const d = arguments[0]; navigator.gpu ? navigator.gpu.requestAdapter().then(x => d(!!x), () => d(false)) : d(false);")
            check(gpu, "this Chromium has no WebGPU adapter: the flags in DESIGN.md did not take")
            b.goto(base + "?engine=gpu")
            r = wait_report(b, first, engine="gpu")
            check(r["top5"], "no predictions")
            b.wait_js("return document.querySelectorAll('#heads canvas').length >= 5", what="the head grid")
            b.screenshot(shots / "01-attention-webgpu.png")
            detail = compare(r, cli_report(a.whitebox, SAMPLES / first))
            adapter = r.get("adapter")
            return f"WebGPU ({adapter}) vs CLI: {detail}"
        run("the page loads the default model and analyses a gallery image on WebGPU", gallery_on_webgpu, b)

        def cpu_while_webgpu_starts():
            # SwiftShader compiles the forward's pipelines for seconds: meanwhile the page must show
            # the CPU engine's map (its numbers, labelled `cpu`), then WebGPU's in its place. A
            # browser of its own, so that nothing compiled by the checks before is reused.
            with Browser(webgpu=True, timeout=a.timeout) as nb:
                nb.goto(base + "?engine=gpu")
                seen, reports = [], {}
                t0 = time.monotonic()
                while time.monotonic() - t0 < a.timeout and seen[-1:] != ["gpu"]:
                    r = nb.js(REPORT)
                    if r and r.get("image") == first and seen[-1:] != [r.get("engine")]:
                        seen.append(r.get("engine"))
                        reports[r.get("engine")] = r
                    time.sleep(0.05)
                check(seen[-1:] == ["gpu"], f"WebGPU never replaced the map: reports by engine in order {seen}")
                d = nb.js("const d = document.querySelector('#app').dataset; return [d.firstMapMs, d.firstGpuMapMs];")
            check(all(v is not None for v in d), f"first map / first WebGPU map times missing: {d}")
            first_ms, gpu_ms = float(d[0]), float(d[1])
            check(first_ms <= gpu_ms, f"first map at {first_ms} ms after the first WebGPU map at {gpu_ms} ms")
            adapter = reports["gpu"].get("adapter") or ""
            if "swiftshader" in adapter.lower():
                check(seen == ["cpu", "gpu"], f"on SwiftShader the CPU map should come first: {seen}")
                check(first_ms < gpu_ms, f"the CPU map came no earlier than WebGPU's ({first_ms} vs {gpu_ms} ms)")
            cpu_detail = compare(reports["cpu"], cli_report(a.whitebox, SAMPLES / first)) if "cpu" in reports else "none"
            return (f"reports in order {seen}; first map {first_ms:.0f} ms, first WebGPU map {gpu_ms:.0f} ms; "
                    f"the CPU map vs CLI: {cpu_detail}")
        run("with engine=gpu the CPU engine's map shows while WebGPU starts, then WebGPU's replaces it",
            cpu_while_webgpu_starts)

        def upload_photo():
            b.upload("#image-file", PHOTO)
            r = wait_report(b, PHOTO.name)
            b.screenshot(shots / "02-attention-upload.png")
            for sel in ["#attention-map", "#mask-map", "#pca-map"]:
                check(b.js(f"const c = document.querySelector('{sel}'); return c && c.width > 0;"), f"{sel} not drawn")
            return compare(r, cli_report(a.whitebox, PHOTO)) + f" (engine {r['engine']})"
        run("an uploaded photo shows maps, predictions and per-layer numbers equal to the CLI", upload_photo, b)

        def device_loss():
            # Inference runs in a worker (src/ui/infer/): a WebGPU device lost there is said on
            # the page, and the CPU engine in the same worker takes over.
            check(b.js(REPORT).get("engine") == "gpu", "the photo was not analysed on WebGPU")
            b.js("window.__wbLoseDevice();")
            time.sleep(0.5)
            b.upload("#image-file", PHOTO)
            t0 = time.monotonic()
            said = ""
            while time.monotonic() - t0 < b.timeout:
                said = (b.text("#wb-error") or "") + " " + (b.text("#wb-notice") or "")
                if "GPU" in said:
                    break
                time.sleep(0.2)
            check("GPU" in said, f"the lost device is not reported: {said!r}")
            b.upload("#image-file", PHOTO)
            r = wait_report(b, PHOTO.name, engine="cpu")
            b.click("#tab-model")
            place = b.wait_js("return (document.querySelector('#wb-inference-place') || {}).textContent",
                              what="the engine panel's inference line")
            check("Web Worker" in place, f"inference does not run in the worker: {place!r}")
            b.click("#tab-attention")
            return (f"said {said.strip()[:90]!r}; then on the CPU engine: "
                    + compare(r, cli_report(a.whitebox, PHOTO)))
        run("a lost WebGPU device in the inference worker is reported and the CPU engine takes over", device_loss, b)

        def broken_file():
            bad = tmp / "broken.png"
            bad.write_bytes(PHOTO.read_bytes()[:300])
            b.upload("#image-file", bad)
            err = b.wait_js("const e = document.querySelector('#wb-error'); return e && e.textContent;",
                            what="an error message")
            check("broken.png" in err, f"the error does not name the file: {err!r}")
            r = b.js(REPORT)
            check(r and r["image"] == PHOTO.name, "the previous image was lost")
            b.screenshot(shots / "03-broken-file.png")
            b.click(f"button[data-file='{samples[2]['file']}']")
            wait_report(b, samples[2]["file"])
            # A truncated model file: a message, and the model in use stays.
            bad_model = tmp / "truncated.safetensors"
            bad_model.write_bytes(MODEL.read_bytes()[:200_000])
            b.click("#tab-model")
            b.upload("#model-file", bad_model)
            merr = b.wait_js("const e = document.querySelector('#wb-error'); return e && e.textContent;",
                             what="an error message for the truncated model")
            check("truncated.safetensors" in merr, f"the model error does not name the file: {merr!r}")
            b.wait_js(READY, what="the page to settle")
            check("crate-fmnist" in b.text("header"), "the model in use was lost")
            b.click("#tab-attention")
            b.click(f"button[data-file='{samples[3]['file']}']")
            wait_report(b, samples[3]["file"])
            return f"image error {err.strip()[:80]!r}; model error {merr.strip()[:100]!r}; the page kept working"
        run("a broken image or model file shows an error and the page keeps working", broken_file, b)

        def views_and_url():
            b.click("#tab-layers")
            b.wait_js("return document.querySelectorAll('#chart-rc circle').length > 0", what="the R^c chart")
            depth = len(b.js(REPORT)["layers"])
            n = b.js("return document.querySelectorAll('#chart-rc circle').length")
            check(n == 2 * depth, f"R^c chart has {n} points, expected {2 * depth}")
            b.screenshot(shots / "04-layers.png")
            b.click("#run-batch")
            b.wait_js("return document.querySelectorAll('#batch-charts circle').length > 0 && document.querySelector('#app').dataset.state === 'ready'",
                      what="the gallery batch figure")
            b.js("document.querySelector('#batch-charts').scrollIntoView()")
            b.screenshot(shots / "05-layers-batch.png")
            fig = b.js(BATCH)
            check(fig["images"] == len(samples), f"the gallery figure has {fig['images']} images, not {len(samples)}")
            # crate-fmnist's gallery is far below the work that pays for a second worker.
            check(fig["workers"] == 1, f"a small gallery batch ran on {fig['workers']} workers")
            b.click("#tab-model")
            b.wait_js("return document.querySelector('#model-info')", what="the model view")
            b.screenshot(shots / "06-model.png")
            q = b.js("return location.search")
            check("view=model" in q and f"sample={samples[3]['file']}" in q, f"the URL does not hold the view state: {q}")
            # A shared URL opens the same view.
            b.goto(base + f"?view=layers&layer=2&head=1&t=0.4&sample={samples[1]['file']}")
            wait_report(b, samples[1]["file"])
            check(b.js("return document.querySelector('#tab-layers').getAttribute('aria-selected')") == "true", "layers tab not selected")
            check(b.js("return document.querySelector('#layer').value") == "2", "layer slider not at 2")
            b.click("#tab-attention")
            b.wait_js("return document.querySelector('#threshold')", what="attention view")
            check(b.js("return document.querySelector('#threshold').value") == "0.4", "threshold not from the URL")
            check(b.js("return document.querySelector('#heads li:nth-child(2) button').getAttribute('aria-pressed')") == "true", "head 1 not chosen")
            # The other maps: every head in colour (a legend entry per head) and the rollout
            # (its note), both from the URL and from the select.
            b.goto(base + f"?layer=2&map=heads&sample={samples[1]['file']}")
            wait_report(b, samples[1]["file"])
            b.wait_js("return document.querySelectorAll('#heads-legend li').length > 0", what="the heads legend")
            legend = b.js("return [...document.querySelectorAll('#heads-legend li')].map(e => e.textContent)")
            heads = model_config(MODEL)["heads"]
            check(len(legend) == heads and all(f"head {k}" in legend[k] for k in range(heads)),
                  f"the legend should list the {heads} heads: {legend}")
            b.screenshot(shots / "04b-attention-heads-in-colour.png")
            b.js("const s = document.querySelector('#map-kind'); s.value = 'rollout'; s.dispatchEvent(new Event('change'));")
            b.wait_js("return (document.querySelector('#map-note') || {}).textContent?.includes('rollout')", what="the rollout note")
            check("map=rollout" in b.js("return location.search"), "the map kind is not in the URL")
            b.screenshot(shots / "04c-attention-rollout.png")
            # Keyboard: the arrow keys move between the tabs.
            b.cmd("POST", f"/element/{b.find('#tab-attention')}/value", {"text": "\ue014"})
            b.wait_js("return document.querySelector('#tab-layers').getAttribute('aria-selected') === 'true' && "
                      "document.activeElement.id === 'tab-layers'", what="ArrowRight to move to the next tab", timeout=10)
            return f"{depth} layers charted; URL {q}"
        run("each view renders and the view state lives in the URL", views_and_url, b)

        def own_model():
            b.click("#tab-model")
            b.upload("#model-file", PTH)
            b.wait_js("return document.querySelector('#heads-prompt')", what="the head-count prompt")
            b.screenshot(shots / "07-heads-prompt.png")
            b.js("const i = document.querySelector('#heads-value'); i.value = '4'; i.dispatchEvent(new Event('input', {bubbles: true}));")
            b.click("#heads-prompt button")
            b.wait_js("return (document.querySelector('#model-info') || {}).textContent?.includes('small32.pth')", what="the model to load")
            b.wait_js("const e = document.querySelector('#wb-report'); const r = e && e.textContent ? JSON.parse(e.textContent) : null; "
                      "return r && r.grid[0] === 8 && document.querySelector('#app').dataset.state === 'ready';",
                      what="the new model's analysis")
            r = b.js(REPORT)
            b.screenshot(shots / "08-own-model.png")
            view = b.text("#view-model")
            check("4 (head dimension 24)" in view, "the model table does not show the 4 heads given")
            check("head count was assumed" not in view, "the page says the head count was assumed, but it was given")
            return compare(r, cli_report(a.whitebox, SAMPLES / samples[1]["file"], weights=PTH, heads=4))
        run("an official .pth checkpoint loads (asking for the head count) and its numbers equal the CLI", own_model, b)
        errors = [e for e in b.console_errors() if "favicon" not in e]

    with Browser(webgpu=False, timeout=a.timeout) as b:
        def cpu_fallback():
            gpu = b.js_async("const d = arguments[0]; navigator.gpu ? navigator.gpu.requestAdapter().then(x => d(!!x), () => d(false)) : d(false);")
            check(not gpu, "this Chromium still has a WebGPU adapter; the fallback is not exercised")
            b.goto(base)
            r = wait_report(b, first, engine="cpu")
            notice = b.text("#wb-notice")
            check("WebGPU is not available" in notice, f"no fallback notice: {notice!r}")
            b.screenshot(shots / "09-cpu-fallback.png")
            return compare(r, cli_report(a.whitebox, SAMPLES / first), rel=1e-5, sparsity_abs=0.0) + f"; notice: {notice[:80]!r}"
        run("without WebGPU the CPU fallback gives the same numbers, with a notice", cpu_fallback, b)

        def gallery_on_two_workers():
            cores = b.js("return navigator.hardwareConcurrency || 1")

            def batch(query, hook=None):
                b.goto(base + f"?view=layers&{query}")
                wait_report(b, first, engine="cpu")
                if hook:
                    b.js(f"window.{hook} = true")
                b.click("#run-batch")
                b.wait_js("const e = document.querySelector('#wb-batch'); return !!e && !!e.textContent && "
                          "document.querySelector('#app').dataset.state === 'ready'", what="the gallery batch figure")
                err = b.js("const e = document.querySelector('#wb-error'); return e ? e.textContent : '';")
                check(not err, f"the batch with {query} {hook or ''} shows an error: {err!r}")
                return b.js(BATCH)

            one = batch("workers=1")
            two = batch("workers=2")
            fails = batch("workers=2", "__wbBatchHelperFails")
            dies = batch("workers=2", "__wbBatchHelperDies")
            check(one["workers"] == 1, f"workers=1 ran on {one['workers']} workers")
            want = 2 if cores >= 2 else 1
            check(two["workers"] == want, f"workers=2 on {cores} cores ran on {two['workers']} workers, not {want}")
            check(fails["workers"] == 1 and dies["workers"] == 1,
                  f"a second worker that failed still counts: {fails['workers']}, {dies['workers']}")
            for name, fig in (("two workers", two), ("a second worker that fails to load", fails),
                              ("a second worker that dies", dies)):
                check(fig["images"] == one["images"] == len(samples), f"{name}: {fig['images']} images")
                check(fig["layers"] == one["layers"], f"{name}: the per-layer figure differs from one worker's")
            worst = compare_batch(one["layers"], cli_batch_figure(a.whitebox, [SAMPLES / s["file"] for s in samples]))
            note = b.text("#batch-note")
            return (f"{cores} cores: one worker {one['ms']:.0f} ms, two {two['ms']:.0f} ms; the same "
                    f"{len(one['layers'])}-layer figure from one worker, two, and a second worker that fails to load or "
                    f"dies in its first chunk, equal to the CLI's mean ± std over the gallery ({worst}); note {note!r}")
        run("the gallery batch on two workers equals one worker's, and survives a failing second worker",
            gallery_on_two_workers, b)

    with Browser(webgpu=True, timeout=a.timeout, width=390, height=844) as b:
        def phone():
            b.goto(base)
            wait_report(b, first)
            wide = b.js("return document.documentElement.scrollWidth <= window.innerWidth + 1")
            b.screenshot(shots / "10-phone.png")
            check(wide, "the page scrolls sideways at phone width")
            return None
        run("the page fits a phone-width screen", phone, b)

    if errors:
        print("console errors:", *errors[:5], sep="\n  ")
    print(f"screenshots in {shots}")
    checks.finish()


if __name__ == "__main__":
    main()
