#!/usr/bin/env python3
"""Browser tests of the page's segmentation scores (issue 13, item 2), on the CPU engine (and the
gallery-shape check again on WebGPU): the
bundled shapes and tiles models load from the model selector, a gallery shape or tile (which ships its true mask)
gets `segment` scores in #wb-report equal to `whitebox segment --pairs` on the same image + mask
(and `segment_outline` equal to `--truth outline`), the Attention view shows the IoU of the mask
on show beside it, with the filled mask and with its outline (equal to the CLI's for that layer
and the head mean), and the true-outline toggle draws the outline over the map.

    python3 scripts/browser-segment.py http://127.0.0.1:PORT/ --whitebox target/debug/whitebox \
        --shots target/screenshots

Prints one line per check and "N passed, N failed"; exits 1 on any failure.
"""

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wbdriver import Browser, Checks  # noqa: E402

_spec = importlib.util.spec_from_file_location("browser_tests", Path(__file__).resolve().parent / "browser-tests.py")
bt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bt)
Failed, check, wait_report, READY, REPORT = bt.Failed, bt.check, bt.wait_report, bt.READY, bt.REPORT

MODELS = bt.ROOT / "web" / "models"
SAMPLE = "shapes-0003-cross.png"
TILE = "tiles-0003-crosses.png"
# The attention map as pixels (the Picture component draws into a canvas or an img).
MAP_PIXELS = """
const e = document.querySelector('#attention-map');
const c = e.tagName === 'CANVAS' ? e : e.querySelector('canvas');
if (c) return c.toDataURL();
const i = e.tagName === 'IMG' ? e : e.querySelector('img');
return i ? i.src : null;
"""


def cli_segment(whitebox, sample, tmp, truth="majority", model="crate-shapes"):
    """`whitebox segment --pairs --truth TRUTH` on the gallery's image + mask, fitted as the page
    fits images for models of up to 64 pixels (stretched: the identity for a 64×64 image)."""
    d = tmp / f"pair-{sample}"
    d.mkdir(exist_ok=True)
    stem = sample[:-len(".png")]
    shutil.copyfile(bt.SAMPLES / sample, d / sample)
    shutil.copyfile(bt.SAMPLES / f"{stem}.mask.png", d / f"{stem}.mask.png")
    out = subprocess.run([whitebox, "segment", "--weights", str(MODELS / f"{model}.safetensors"), "--pairs", str(d),
                          "--resize", "stretch", "--truth", truth, "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["scores"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--whitebox", required=True, help="the native CLI, for reference numbers")
    ap.add_argument("--shots", default=str(bt.ROOT / "target" / "screenshots"))
    ap.add_argument("--timeout", type=float, default=240)
    a = ap.parse_args()
    shots = Path(a.shots)
    shots.mkdir(parents=True, exist_ok=True)
    base = a.url.rstrip("/") + "/"
    tmp = Path(tempfile.mkdtemp(prefix="wb-segment-"))
    checks = Checks()
    run = checks.run

    def same_scores_as_cli(r, sample=SAMPLE, model="crate-shapes"):
        """The report's segment scores against `whitebox segment --pairs` (CPU) on the same pair:
        `segment` against the filled mask (majority), `segment_outline` against its outline."""
        worst = 0.0
        for field, truth in [("segment", "majority"), ("segment_outline", "outline")]:
            seg = r.get(field)
            check(seg and "layers" in seg, f"no {field} scores in the report: {seg}")
            cli = cli_segment(a.whitebox, sample, tmp, truth, model)
            check(len(seg["layers"]) == len(cli["layers"]), "layer counts differ")
            for l, (p, c) in enumerate(zip(seg["layers"], cli["layers"])):
                for k, (pm, cm) in enumerate(zip(p["heads"] + [p["mean"]], c["heads"] + [c["mean"]])):
                    for key in ["miou_mass", "miou_best", "best_threshold"]:
                        d = abs(pm[key] - cm[key])
                        worst = max(worst, d)
                        check(d <= 1e-9, f"{field}: layer {l} map {k} {key}: page {pm[key]}, CLI {cm[key]}")
                    # The share sums the attention itself, so float rounding (wasm or WGSL
                    # against native) shows in it; a mask flips only when a patch sits at its edge.
                    d = abs(pm["object_share"] - cm["object_share"])
                    check(d <= 1e-5, f"{field}: layer {l} map {k} object_share: page "
                                     f"{pm['object_share']}, CLI {cm['object_share']}")
            check(abs(seg["mask_area"] - cli["mask_area"]) <= 1e-12, f"{field}: mask areas differ")
        check(r["segment"]["mask_area"] != r["segment_outline"]["mask_area"],
              "the outline is the filled mask")
        return r["segment"], r["segment_outline"], worst

    def load_shapes_model(b, name="crate-shapes"):
        b.js(f"const s = document.querySelector('#bundled-model'); s.value = '{name}';"
             "s.dispatchEvent(new Event('change', {bubbles: true}));")
        b.wait_js(f"return (document.querySelector('#model-info') || {{}}).textContent?.includes('{name}')",
                  what=f"the {name} model to load")
        b.wait_js(READY, what=f"the page to be ready with the {name} model")

    with Browser(webgpu=False, timeout=a.timeout) as b:
        b.goto(base + "?engine=cpu&view=model")
        b.wait_js(READY, what="the page to be ready")
        state = {}

        def model_from_selector():
            options = b.js("return [...document.querySelectorAll('#bundled-model option')].map(o => o.value)")
            check("crate-shapes" in options, f"the model selector offers {options}")
            load_shapes_model(b)
            return "crate-shapes loaded"

        def gallery_shape_equals_cli():
            b.js("document.querySelector('#tab-attention').click()")
            b.click(f".gallery button.thumb[data-file='{SAMPLE}']")
            r = wait_report(b, SAMPLE, engine="cpu")
            seg, outline, worst = same_scores_as_cli(r)
            state["seg"], state["outline"] = seg, outline
            means = " ".join(f"{x['mean']['miou_mass']:.3f}" for x in seg["layers"])
            outl = " ".join(f"{x['mean']['miou_mass']:.3f}" for x in outline["layers"])
            return (f"{len(seg['layers'])} layers × (heads + mean) equal, filled and outline (max diff {worst:.1e}); "
                    f"head-mean IoU per layer {means}; against the outline {outl}")

        def iou_beside_mask_and_outline():
            seg = state.get("seg")
            check(seg, "no scores from the previous check")
            text = b.wait_js("const e = document.querySelector('#mask-iou'); return e && e.textContent ? e.textContent : null;",
                             what="the IoU beside the mask")
            # The layer on show (the slider), the head mean, the default 60 % threshold.
            layer = int(b.js("return document.querySelector('#layer').value"))
            check(b.js("return new URLSearchParams(location.search).get('t')") in (None, "0.6"),
                  "the threshold is not the default 60 %")
            want = seg["layers"][layer]["mean"]["miou_mass"]
            check(f"true mask: {want:.3f}" in text,
                  f"the page says {text!r}; the CLI's head-mean IoU at layer {layer} is {want:.3f}")
            want_o = state["outline"]["layers"][layer]["mean"]["miou_mass"]
            check(f"outline: {want_o:.3f}" in text,
                  f"the page says {text!r}; the CLI's outline IoU at layer {layer} is {want_o:.3f}")
            before = b.js(MAP_PIXELS)
            b.click("#show-truth")
            b.wait_js("return document.querySelector('#show-truth').checked", what="the toggle")
            time.sleep(0.3)
            after = b.js(MAP_PIXELS)
            check(before and after and before != after, "the true outline toggle did not change the map")
            b.js("document.querySelector('#attention-map').scrollIntoView({block: 'start'})")
            b.screenshot(shots / "04d-attention-true-outline.png")
            b.click("#show-truth")
            time.sleep(0.3)
            check(b.js(MAP_PIXELS) == before, "turning the outline off did not restore the map")
            return f"{text.strip()} (layer {layer}, head mean); the outline draws and clears"

        def photos_have_no_iou():
            b.click(".gallery button.thumb[data-file='chelsea_224.png']")
            r = wait_report(b, "chelsea_224.png", engine="cpu")
            check("segment" not in r, "a photo without a mask got segment scores")
            check(not b.js("return document.querySelector('#mask-iou')"), "a photo without a mask shows an IoU")
            return "no mask, no IoU"

        def tiles_model_segments_its_tile():
            # The model whose heads fill the object (its card: mean over heads >= 0.5 at its best
            # layer): loaded from the selector, a gallery tile scored as the CLI scores it.
            b.js("document.querySelector('#tab-model').click()")
            b.wait_js("return !!document.querySelector('#bundled-model')", what="the model selector")
            options = b.js("return [...document.querySelectorAll('#bundled-model option')].map(o => o.value)")
            check("crate-tiles" in options, f"the model selector offers {options}")
            load_shapes_model(b, "crate-tiles")
            b.js("document.querySelector('#tab-attention').click()")
            b.click(f".gallery button.thumb[data-file='{TILE}']")
            r = wait_report(b, TILE, engine="cpu")
            logits = r["logits"]
            check(logits.index(max(logits)) == 3, f"the tile is not classified as crosses (class 3): {logits}")
            seg, _, worst = same_scores_as_cli(r, TILE, "crate-tiles")
            text = b.wait_js("const e = document.querySelector('#mask-iou'); return e && e.textContent ? e.textContent : null;",
                             what="the IoU beside the mask")
            b.js("document.querySelector('#attention-map').scrollIntoView({block: 'start'})")
            b.screenshot(shots / "04e-attention-tiles-model.png")
            means = " ".join(f"{x['mean']['miou_mass']:.3f}" for x in seg["layers"])
            return (f"crate-tiles on {TILE}: {len(seg['layers'])} layers × (heads + mean) equal to the CLI "
                    f"(max diff {worst:.1e}); head-mean IoU per layer {means}; {text.strip()}")

        run("the shapes model loads from the selector", model_from_selector)
        run("a gallery shape's segment scores equal `whitebox segment --pairs`", gallery_shape_equals_cli)
        run("the IoU beside the mask and the true outline toggle", iou_beside_mask_and_outline)
        run("an image without a mask shows no IoU", photos_have_no_iou)
        run("the tiles model loads from the selector and a gallery tile's scores equal the CLI's",
            tiles_model_segments_its_tile)
        errors = [e for e in b.console_errors() if "favicon" not in e.get("message", "")]
        run("no console errors", lambda: check(not errors, f"console errors: {errors[:3]}") or "")

    with Browser(webgpu=True, timeout=a.timeout) as b:
        def webgpu_scores_equal_cli():
            # The WGSL engine's attention (SwiftShader in CI) gives the same masks, hence the
            # same scores, as the CPU CLI.
            b.goto(base + "?engine=gpu&view=model")
            b.wait_js(READY, what="the page to be ready")
            load_shapes_model(b)
            b.js("document.querySelector('#tab-attention').click()")
            b.click(f".gallery button.thumb[data-file='{SAMPLE}']")
            r = wait_report(b, SAMPLE, engine="gpu")
            seg, _, worst = same_scores_as_cli(r)
            text = b.wait_js("const e = document.querySelector('#mask-iou'); return e && e.textContent ? e.textContent : null;",
                             what="the IoU beside the mask")
            return f"WebGPU: {len(seg['layers'])} layers × (heads + mean) equal to the CPU CLI (max diff {worst:.1e}); {text.strip()}"
        run("on WebGPU, a gallery shape's segment scores equal the CLI's", webgpu_scores_equal_cli)

    checks.finish()


if __name__ == "__main__":
    main()
