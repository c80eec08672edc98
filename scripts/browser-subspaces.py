#!/usr/bin/env python3
"""Browser tests of the Subspaces view (issue 11), on the CPU engine and on WebGPU (SwiftShader):
the tab opens, layer and head follow the URL and the controls, `#wb-subspace-report` equals
`whitebox subspaces` on the same image and model (1e-4 relative on the CPU engine, 1e-3 on
WebGPU), the per-head R^c sum to the Layers view's, a layer or head change on a CRATE-T-shaped
model (seeded by `whitebox init`) keeps every main-thread task under 50 ms, and every panel is
saved as a screenshot.

    python3 scripts/browser-subspaces.py http://127.0.0.1:PORT/ --whitebox target/debug/whitebox \
        --shots target/screenshots

Prints one line per check and "N passed, N failed"; exits 1 on any failure.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wbdriver import Browser, Checks, Failed, READY, check  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "web" / "models" / "crate-fmnist.safetensors"
SAMPLES = ROOT / "web" / "samples"
HOOK = "const e = document.querySelector('#wb-subspace-report'); return e && e.textContent ? JSON.parse(e.textContent) : null;"
PANELS = ["tokens", "heads", "compression", "overlap", "codes", "spectra", "batch"]
# Per-token arrays compared as numbers (others: discrete).
DISCRETE = {"winner", "winner_captured", "nnz", "usage", "order", "atom", "zeros", "total", "counts",
            "overflow", "rank90", "image", "layer", "head", "heads", "head_dim", "tokens"}


def cli_reports(whitebox, image, layers, heads, weights=MODEL, resize="stretch", engine="cpu", atom=None):
    cmd = [whitebox, "subspaces", "--weights", str(weights), "--image", str(image), "--resize", resize,
           "--layer", ",".join(map(str, layers)), "--head", ",".join(map(str, heads)), "--engine", engine]
    if atom is not None:
        cmd += ["--atom", str(atom)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return {(r["layer"], r["head"]): r for r in map(json.loads, out.splitlines())}


def flat(v):
    return [x for y in v for x in flat(y)] if isinstance(v, list) else [v]


def align_axes(page, cli):
    """PCA axes are defined up to sign: flip the page's axis m (and coordinate m of every point)
    where it points against the CLI's."""
    for m, (a, b) in enumerate(zip(page["scatter"]["axes"], cli["scatter"]["axes"])):
        if sum(x * y for x, y in zip(a, b)) < 0:
            page["scatter"]["axes"][m] = [-x for x in a]
            for key in ["before", "after", "next"]:
                for p in page["scatter"][key]:
                    p[m] = -p[m]


def compare(page, cli, rel):
    """Every plotted number: continuous arrays within `rel` of their largest magnitude; discrete
    ones (winners, counts, ranks) may differ in a few items where a value sits on a threshold
    (at most 1 % of the items on the CPU engine, 3 % on WebGPU). Returns the largest errors."""
    align_axes(page, cli)
    worst = (0.0, "")
    discrete = []

    def walk(path, a, b):
        nonlocal worst
        key = path.split(".")[-1].split("[")[0]
        if isinstance(b, dict):
            for k, v in b.items():
                check(k in a, f"{path}.{k} missing from the page's report")
                walk(f"{path}.{k}", a[k], v)
            return
        if isinstance(b, list) and b and isinstance(flat(b)[0], dict):
            check(isinstance(a, list) and len(a) == len(b), f"{path}: {len(a)} items, CLI has {len(b)}")
            for i, (x, y) in enumerate(zip(a, b)):
                walk(f"{path}[{i}]", x, y)
            return
        fa, fb = flat(a), flat(b)
        check(len(fa) == len(fb), f"{path}: {len(fa)} values, CLI has {len(fb)}")
        if not fb or isinstance(fb[0], str):
            return
        if key in DISCRETE:
            bad = sum(x != y for x, y in zip(fa, fb))
            if key == "atom" and bad:
                return  # the most used atom can tie; its map is then compared as any other
            discrete.append((path, bad, len(fb)))
            return
        scale = max(abs(y) for y in fb) or 1.0
        err = max(abs(x - y) for x, y in zip(fa, fb)) / scale
        if err > worst[0]:
            worst = (err, path)
        check(err <= rel, f"{path}: differs from the CLI by {err:.2e} of its scale > {rel}: page {fa[:3]}, CLI {fb[:3]}")

    cli = {k: v for k, v in cli.items() if k not in ("engine", "image_name")}
    walk("report", page, cli)
    limit = 0.01 if rel <= 1e-4 else 0.03
    for path, bad, n in discrete:
        check(bad <= max(1, int(limit * n)), f"{path}: {bad} of {n} discrete values differ from the CLI")
    mism = sum(b for _, b, _ in discrete)
    return f"largest error {worst[0]:.1e} ({worst[1]}), {mism} discrete mismatches"


def sums_match(r):
    """The per-head R^c of every layer sum to the Layers view's R^c."""
    worst = 0.0
    for l, (h, v) in enumerate(zip(r["compression"], r["layers_view"])):
        for mine, theirs in [(sum(h["rc_in"]), v["rc_in"]), (sum(h["rc_out"]), v["rc_out"])]:
            err = abs(mine - theirs) / abs(theirs)
            worst = max(worst, err)
            check(err <= 1e-6, f"layer {l}: per-head R^c sum {mine} != the Layers view's {theirs}")
    return worst


def wait_hook(b, layer, head, tokens=None, timeout=None):
    def ok():
        r = b.js(HOOK)
        if r and r["layer"] == layer and r["head"] == head and (tokens is None or r["tokens"] == tokens):
            return r
        return None
    t0 = time.monotonic()
    while time.monotonic() - t0 < (timeout or b.timeout):
        r = ok()
        if r and b.js(READY):
            return r
        err = b.text("#wb-error") or (b.text("#subspace-status") if "failed" in b.text("#subspace-status") else "")
        if err:
            raise Failed(f"the page shows an error: {err}")
        time.sleep(0.1)
    raise Failed(f"no subspace report for layer {layer}, head {head}; page: {b.text('#view-subspaces')[:400]!r}")


def set_layer(b, l):
    b.js("const i = document.querySelector('#layer'); i.value = String(arguments[0]); "
         "i.dispatchEvent(new Event('input', {bubbles: true}));", l)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--whitebox", required=True)
    ap.add_argument("--shots", default=str(ROOT / "target" / "screenshots"))
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--only", default="", help="run only the checks whose name contains this")
    a = ap.parse_args()
    shots = Path(a.shots)
    shots.mkdir(parents=True, exist_ok=True)
    base = a.url.rstrip("/") + "/"
    samples = json.loads((SAMPLES / "samples.json").read_text())
    sample = samples[1]["file"]
    tmp = Path(tempfile.mkdtemp(prefix="wb-subspaces-"))

    checks = Checks(only=a.only)
    run = checks.run

    for engine, webgpu, rel in [("cpu", False, 1e-4), ("gpu", True, 1e-3)]:
        if a.only[:4] in ("cpu:", "gpu:") and not a.only.startswith(engine):
            continue
        with Browser(webgpu=webgpu, timeout=a.timeout, height=1400) as b:
            def numbers():
                if engine == "gpu":
                    gpu = b.js_async("const d = arguments[0]; navigator.gpu ? navigator.gpu.requestAdapter().then(x => d(!!x), () => d(false)) : d(false);")
                    check(gpu, "this Chromium has no WebGPU adapter")
                b.goto(base + f"?view=subspaces&layer=0&head=1&engine={engine}&sample={sample}")
                r = wait_hook(b, 0, 1)
                check(r["engine"] == engine, f"the report came from the {r['engine']} engine, not {engine}")
                check(b.js("return document.querySelector('#tab-subspaces').getAttribute('aria-selected')") == "true",
                      "the Subspaces tab is not selected")
                depth = len(r["compression"])
                cli = cli_reports(a.whitebox, SAMPLES / sample, [0, 2, depth - 1], [0, 1, 3])
                notes = [compare(r, cli[(0, 1)], rel)]
                s = sums_match(r)
                # Through the controls: a head button, then the layer slider.
                b.click("#subspace-head-3")
                r = wait_hook(b, 0, 3, timeout=30)
                notes.append(compare(r, cli[(0, 3)], rel))
                set_layer(b, depth - 1)
                r = wait_hook(b, depth - 1, 3, timeout=30)
                notes.append(compare(r, cli[(depth - 1, 3)], rel))
                q = b.js("return location.search")
                check(f"layer={depth - 1}" in q and "head=3" in q and "view=subspaces" in q, f"the URL does not follow: {q}")
                # Clicking the fourth most used atom's bar shows that atom's activation map.
                atom = r["codes"]["order"][3]
                b.js("const c = document.querySelector('#codes-usage canvas'); const r = c.getBoundingClientRect(); "
                     "const slot = (r.width - 66) / arguments[0]; "
                     "c.dispatchEvent(new MouseEvent('click', {clientX: r.left + 56 + 3.5 * slot, clientY: r.bottom - 60, bubbles: true}));",
                     len(r["codes"]["usage"]))
                b.wait_js("const e = document.querySelector('#wb-subspace-report'); return e && JSON.parse(e.textContent).codes.atom === arguments[0];",
                          atom, what=f"atom {atom}'s map after clicking its bar", timeout=30)
                r = b.js(HOOK)
                notes.append(compare(r, cli_reports(a.whitebox, SAMPLES / sample, [depth - 1], [3], atom=atom)[(depth - 1, 3)], rel))
                # Through the URL.
                b.goto(base + f"?view=subspaces&layer=2&head=0&engine={engine}&sample={sample}")
                r = wait_hook(b, 2, 0)
                notes.append(compare(r, cli[(2, 0)], rel))
                return f"{'; '.join(notes)}; per-head R^c sums = Layers view (rel {s:.1e})"
            run(f"{engine}: #wb-subspace-report equals `whitebox subspaces` through URL and controls", numbers)

            if engine == "cpu":
                def screenshots():
                    b.goto(base + f"?view=subspaces&layer=0&head=0&engine=cpu&sample={sample}")
                    wait_hook(b, 0, 0)
                    # Hovering a patch of the image outlines it and highlights its point.
                    b.js("const c = document.querySelector('#tokens-image canvas'); const r = c.getBoundingClientRect(); "
                         "c.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + r.width * 0.99, "
                         "clientY: r.top + r.height * 0.01, bubbles: true}));")
                    cols = b.js(HOOK)["energy"]["share"][0]
                    side = int(round((len(cols) - 1) ** 0.5))
                    want = f"patch (0, {side - 1})"
                    b.wait_js("return document.querySelector('#tokens-image .patch-box') && "
                              "document.querySelector('#scatter-before .readout').textContent.includes(arguments[0])",
                              want, what=f"the hovered {want} to be outlined and its point highlighted", timeout=10)
                    b.click("#subspace-batch")
                    b.wait_js("return document.querySelector('#batch-before canvas')", what="the batch panel")
                    b.wait_js(READY, what="the batch run")
                    for i, p in enumerate(PANELS):
                        b.element_shot(f"#panel-{p}", shots / f"subspaces-l0-{i + 1}-{p}.png")
                    last = len(b.js(HOOK)["compression"]) - 1
                    set_layer(b, last)
                    wait_hook(b, last, 0, timeout=60)
                    b.wait_js(READY, what="the batch report at the last layer")
                    for i, p in enumerate(PANELS):
                        b.element_shot(f"#panel-{p}", shots / f"subspaces-last-{i + 1}-{p}.png")
                    b.screenshot(shots / "subspaces-view.png")
                    # 3-D, with the next layer's input: three rotatable panels.
                    b.click("#subspace-3d")
                    b.click("#subspace-next")
                    b.wait_js("return document.querySelector('#scatter-next canvas.rotatable')", what="the 3-D panels", timeout=10)
                    b.element_shot("#panel-tokens", shots / "subspaces-last-1-tokens-3d.png")
                    return f"{2 * len(PANELS) + 2} screenshots in {shots}"
                run("cpu: a screenshot of every panel at layer 0 and at the last layer", screenshots)

                def long_tasks():
                    weights = tmp / "crate-t.safetensors"
                    subprocess.run([a.whitebox, "init", "--preset", "crate-t", "-o", str(weights)],
                                   check=True, capture_output=True)
                    b.goto(base + "?view=subspaces&layer=0&head=0&engine=cpu")
                    b.wait_js(READY, what="the page")
                    b.click("#tab-model")
                    b.upload("#model-file", weights)
                    b.wait_js("return (document.querySelector('#model-info') || {}).textContent?.includes('crate-t')",
                              what="the CRATE-T model to load")
                    b.click("#tab-subspaces")
                    wait_hook(b, 0, 0, tokens=197, timeout=a.timeout)
                    build = b.js("return document.querySelector('#app').dataset.subspaceBuildMs")
                    step = b.js("return document.querySelector('#app').dataset.subspaceStepMs")
                    built_longest = b.js("return window.__wbLongestTask")
                    time.sleep(1.0)
                    b.js("window.__wbLongestTask = 0; window.__wbLongTasks = [];")
                    steps = [(0, 1), (0, 4), (3, 4), (7, 4), (7, 2), (11, 2), (11, 5), (5, 0)]
                    for l, k in steps:
                        if k != b.js(HOOK)["head"]:
                            b.click(f"#subspace-head-{k}")
                        if l != b.js(HOOK)["layer"]:
                            set_layer(b, l)
                        wait_hook(b, l, k, tokens=197, timeout=30)
                    time.sleep(0.6)  # the last glide and any late task
                    longest = b.js("return window.__wbLongestTask")
                    tasks = b.js("return window.__wbLongTasks")
                    check(longest < 50, f"a layer/head change blocked the main thread for {longest:.0f} ms (tasks {tasks})")
                    return (f"{len(steps)} layer/head changes on CRATE-T (197 tokens): longest task {longest:.0f} ms; "
                            f"the cache took {build} ms in steps of at most {step} ms (longest task while loading the model, "
                            f"analysing and building: {built_longest:.0f} ms)")
                run("cpu: layer and head changes on CRATE-T keep every task under 50 ms", long_tasks)
            errors = [e for e in b.console_errors() if "favicon" not in e]
            run(f"{engine}: no console errors", lambda: check(not errors, f"console errors: {errors[:3]}"))

    checks.finish()


if __name__ == "__main__":
    main()
