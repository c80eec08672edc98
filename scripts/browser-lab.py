#!/usr/bin/env python3
"""Browser tests of the Subspace lab (issue 12): every preset driven through the URL (`view=lab`
and its `lab-…` keys) and through its button, a slider move, and in each case `#wb-lab-report`
compared with `whitebox lab run --json` on the same settings (1e-6, relative above 1: the page
runs the same library code on the CPU); the settings follow into the URL; the stepped run keeps
every main-thread task short; a screenshot of every panel; the learned CRATE trained by one click on
the default preset reaches a mean principal angle under 10° within 2 minutes and equals
`whitebox lab recover --json`.

    python3 scripts/browser-lab.py http://127.0.0.1:PORT/ --whitebox target/debug/whitebox \
        --shots target/screenshots

Prints one line per check and "N passed, N failed"; exits 1 on any failure.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wbdriver import READY, Browser, Checks, check  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LAB_READY = ("const l = document.querySelector('#wb-lab');"
             "return !!l && l.dataset.state === 'ready' && l.dataset.report === arguments[0];")
HOOK = "return JSON.parse(document.querySelector('#wb-lab-report').textContent);"
PANELS = ["data", "snr", "rc", "sparsity", "scatter", "angles", "coding"]
TOL = 1e-6
# The learned CRATE's run: the page trains the same library code as `whitebox lab recover` in a
# worker, but not bit for bit: the gemm crate's microkernels (AVX/FMA natively, SIMD128 in wasm)
# and libm's exp/ln round differently in the last bit, and 2000 AdamW steps amplify that. Natively,
# moving the learning rate by one f32 ulp (a perturbation of the same size) moves the final angle
# over 6.286…6.319° (±0.02°); ANGLE_TOL, the allowed |page − native| in degrees, is 5× that and
# still far inside the 10° criterion.
RECOVER_DONE = ("const l = document.querySelector('.lab-learned');"
                "return !!l && (l.dataset.recover === 'done' || l.dataset.recover === 'error');")
RECOVER_S = 120
ANGLE_TOL = 0.1
# index.html records every long task in window.__wbLongTasks / __wbLongestTask; this resets them.
LONG_TASKS = "window.__wbLongestTask = 0; window.__wbLongTasks = [];"


def presets(whitebox):
    """name -> query (`k=3&p=4…`), from `whitebox lab presets` (name line, then query line)."""
    out = subprocess.run([whitebox, "lab", "presets"], check=True, capture_output=True, text=True).stdout
    lines = out.splitlines()
    return {lines[i].split()[0]: lines[i + 1].strip() for i in range(0, len(lines), 2)}


def cli_report(whitebox, query):
    args = [whitebox, "lab", "run", "--json"]
    for kv in query.split("&"):
        args += ["--set", kv]
    return json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)


def compare(path, got, want, worst):
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        check(isinstance(got, (int, float)), f"{path}: {got!r} vs {want!r}")
        err = abs(got - want) / max(1.0, abs(want))
        worst[0] = max(worst[0], err)
        check(err <= TOL, f"{path}: page {got} vs native {want}")
    elif isinstance(want, list):
        check(isinstance(got, list) and len(got) == len(want), f"{path}: length {len(got or [])} vs {len(want)}")
        for i, (a, b) in enumerate(zip(got, want)):
            compare(f"{path}[{i}]", a, b, worst)
    elif isinstance(want, dict):
        for k, b in want.items():
            check(isinstance(got, dict) and k in got, f"{path}.{k} missing")
            compare(f"{path}.{k}", got[k], b, worst)
    else:
        check(got == want, f"{path}: {got!r} vs {want!r}")


def wait_lab(b, query, timeout):
    """Waits until the lab's report is the one of `query` (and no run is pending)."""
    return b.wait_js(LAB_READY, query, timeout=timeout, what=f"the lab with {query}")


def same_as_native(b, whitebox, query):
    page = b.js(HOOK)
    worst = [0.0]
    compare("report", page, cli_report(whitebox, query), worst)
    return page, worst[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--whitebox", required=True)
    ap.add_argument("--shots", default=str(ROOT / "target" / "screenshots"))
    ap.add_argument("--timeout", type=float, default=120.0)
    a = ap.parse_args()
    base = a.url.rstrip("/") + "/"
    shots = Path(a.shots)
    shots.mkdir(parents=True, exist_ok=True)
    checks = Checks()
    run = checks.run

    table = presets(a.whitebox)
    with Browser(webgpu=False, timeout=a.timeout) as b:
        for name, query in table.items():
            def by_url(name=name, query=query):
                url = base + "?view=lab&engine=cpu&" + "&".join(f"lab-{kv}" for kv in query.split("&"))
                b.goto(url)
                b.wait_js(READY, what="the page")
                wait_lab(b, query, a.timeout)
                page, worst = same_as_native(b, a.whitebox, query)
                last = [round(x, 3) for x in page["snr"][-1]]
                return f"SNR {[round(x, 3) for x in page['snr'][0]]} -> {last}, R^c {page['rc'][0]:.3f} -> {page['rc'][-1]:.3f}, worst rel. diff {worst:.1e}"
            run(f"{name}: via the URL, #wb-lab-report = whitebox lab run", by_url)

        def by_buttons():
            b.goto(base + "?view=lab&engine=cpu")
            b.wait_js(READY, what="the page")
            wait_lab(b, table["default"], a.timeout)
            notes = []
            for name, query in table.items():
                b.click(f"#wb-lab-preset-{name}")
                wait_lab(b, query, a.timeout)
                _, worst = same_as_native(b, a.whitebox, query)
                search = b.js("return location.search")
                check(all(f"lab-{kv}" in search for kv in query.split("&")), f"{name}: URL {search}")
                notes.append(f"{name} {worst:.0e}")
            return "; ".join(notes)
        run("every preset button sets everything (URL too); reports = native", by_buttons)

        def slider():
            notes = []
            # The machine is shared (load average often above 5 on 2 cores): a main-thread task can
            # be stretched by other processes, so the long-task check gets three tries; the
            # largest single step of the run, timed in the page, is reported each time.
            for attempt in range(3):
                b.click("#wb-lab-preset-default")
                wait_lab(b, table["default"], a.timeout)
                time.sleep(0.3)
                b.js(LONG_TASKS)
                b.js("const i = document.querySelector('#wb-lab-layers'); i.value = '3';"
                     "i.dispatchEvent(new Event('input', {bubbles: true}));")
                query = table["default"].replace("layers=8", "layers=3")
                wait_lab(b, query, a.timeout)
                page, worst = same_as_native(b, a.whitebox, query)
                check(len(page["snr"]) == 4, f"{len(page['snr'])} layers")
                b.js("const i = document.querySelector('#wb-lab-n'); i.value = '512';"
                     "i.dispatchEvent(new Event('input', {bubbles: true}));")
                query = query.replace("n=120", "n=512")
                wait_lab(b, query, a.timeout)
                _, worst2 = same_as_native(b, a.whitebox, query)
                time.sleep(0.3)
                longest = b.js("return window.__wbLongestTask")
                tasks = b.js("return window.__wbLongTasks")
                ms = b.js("return document.querySelector('#wb-lab').dataset.runMs")
                step = float(b.js("return document.querySelector('#wb-lab').dataset.stepMs"))
                notes.append(f"try {attempt + 1}: longest task {longest:.0f} ms, longest step {step:.1f} ms, "
                             f"run {ms} ms")
                if longest < 50:
                    break
            check(longest < 50, f"a task blocked the main thread for {longest:.0f} ms ({tasks}); " + "; ".join(notes))
            return (f"layers=3 and N=512 match native ({worst:.0e}, {worst2:.0e}); N=512 in steps: "
                    + "; ".join(notes))
        run("sliders re-run the lab; every task stays short", slider)

        def screenshots():
            b.click("#wb-lab-preset-default")
            wait_lab(b, table["default"], a.timeout)
            for p in PANELS:
                b.element_shot(f"#wb-lab-{p}", shots / f"lab-{p}.png", settle=0.4)
            b.click("#wb-lab-play")
            time.sleep(1.5)
            b.element_shot("#wb-lab-scatter", shots / "lab-scatter-playing.png", settle=0.4)
            b.js("window.scrollTo(0, 0);")
            b.screenshot(shots / "lab-view.png")
            return f"{len(PANELS) + 2} screenshots in {shots}"
        run("a screenshot of every panel", screenshots)

        def three_d():
            query = table["default"].replace("d=16", "d=3").replace("k=3", "k=1").replace("p=4", "p=2").replace("q=4", "q=2")
            b.goto(base + "?view=lab&" + "&".join(f"lab-{kv}" for kv in query.split("&")))
            b.wait_js(READY, what="the page")
            wait_lab(b, query, a.timeout)
            _, worst = same_as_native(b, a.whitebox, query)
            check(b.js("return !!document.querySelector('#wb-lab-scatter3-plot')"), "no 3-D view for d = 3")
            b.element_shot("#wb-lab-scatter", shots / "lab-scatter-3d.png", settle=0.4)
            return f"d = 3: the 3-D view is shown; report = native ({worst:.0e})"
        run("d = 3 shows the 3-D view", three_d)

        def learned():
            # The default preset's learned CRATE: one click, trained in the worker, must reach a
            # mean principal angle under 10° within RECOVER_S seconds and equal the native run.
            b.goto(base + "?view=lab&engine=cpu")
            b.wait_js(READY, what="the page")
            wait_lab(b, table["default"], a.timeout)
            time.sleep(0.3)
            b.js(LONG_TASKS)
            t0 = time.time()
            b.click("#wb-lab-train")
            b.wait_js(RECOVER_DONE, timeout=RECOVER_S, what="the learned CRATE's run")
            wall = time.time() - t0
            state = b.js("return document.querySelector('.lab-learned').dataset.recover")
            check(state == "done", f"the run ended in state {state}: {b.text('#wb-lab-train-status')}")
            longest = b.js("return window.__wbLongestTask")
            rec = b.js(HOOK).get("recovery")
            check(rec is not None, "#wb-lab-report has no recovery")
            args = [a.whitebox, "lab", "recover", "--json"]
            for kv in table["default"].split("&"):
                args += ["--set", kv]
            native = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
            check(rec["config"] == native["config"], f"settings differ: {rec['config']} vs {native['config']}")
            got, want = rec["matching"]["mean_angle"], native["matching"]["mean_angle"]
            check(rec["matching"]["learned"] == native["matching"]["learned"],
                  f"matching {rec['matching']['learned']} vs native {native['matching']['learned']}")
            check(abs(got - want) <= ANGLE_TOL, f"final mean angle: page {got:.6f}° vs native {want:.6f}°")
            worst = max(abs(x - y) for x, y in zip(sum(rec["matching"]["angles"], []),
                                                  sum(native["matching"]["angles"], [])))
            curve = max(abs(p["mean_angle"] - q["mean_angle"]) for p, q in zip(rec["points"], native["points"]))
            check(len(rec["points"]) == len(native["points"]), "points differ in number")
            check(got < 10.0, f"the page's run ends at {got:.2f}°, not under 10°")
            check(len(rec["learned_angles"]) == rec["config"]["heads"] and len(rec["true_angles"]) == 3,
                  "overlap matrices of the wrong size")
            check(len(rec["rc_heldout"]) == rec["config"]["depth"], "R^c per layer missing")
            for sel in ("#wb-lab-learned-plot", "#wb-lab-learned-angles", "#wb-lab-true-angles"):
                check(b.js("return !!document.querySelector(arguments[0])", sel), f"{sel} missing")
            check(longest < 50, f"a main-thread task took {longest:.0f} ms during the run")
            b.element_shot("#wb-lab-learned", shots / "lab-learned.png", settle=0.4)
            return (f"mean principal angle {got:.3f}° (native {want:.3f}°, |Δ| {abs(got - want):.1e}, worst angle "
                    f"|Δ| {worst:.1e}, worst |Δ| over the curve {curve:.1e}); under 10° from step {rec['under_10_at']}; "
                    f"{rec['points'][-1]['seconds']:.1f} s of training, {wall:.1f} s from the click; "
                    f"longest main-thread task {longest:.0f} ms")
        run(f"learned CRATE on the default preset: under 10° within {RECOVER_S} s, = whitebox lab recover", learned)

        errors = [e for e in b.console_errors() if "favicon" not in e]
        run("no console errors", lambda: check(not errors, f"console errors: {errors[:3]}"))

    checks.finish()


if __name__ == "__main__":
    main()
