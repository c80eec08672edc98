#!/usr/bin/env python3
"""Writes a bundled shapes model's card (web/models/crate-shapes.json, crate-tiles.json) from a
finished `whitebox train --dataset shapes` run (its metrics.jsonl and state.json) and measurements
made with the CLI on the run's best.safetensors (chosen on the validation split by the trainer):

    python3 tools/shapes_card.py RUN_DIR --command "whitebox train ..." --object-scale 0.5,0.9 \
        [--object-fill flat|class|surface|tiled] [--name crate-shapes] \
        [--whitebox target/release/whitebox] [--out web/models/NAME.json]

Measured here: test accuracy on the 2,000 held-out images (`train --evaluate`, reported once),
the segmentation table on 200 validation-like images (seed 12345, never the test split; the best
layer is chosen there) and on the first 200 test images, and the fixed set that
tests/suite/shapes_model.rs reproduces (accuracy on the first 500 test images, mIoU on the
first 200). Standard library only.
"""

import argparse
import json
import subprocess
from pathlib import Path

TEST_SEED = 0x5EED7E57  # `train --seed 0`'s held-out split (= `segment`'s default seed)
CHOICE_SEED = 12345  # images used to choose the best layer: neither training nor test


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def segment(wb, weights, seed, images, scale, fill, truth="majority"):
    out = run([wb, "segment", "--weights", str(weights), "--dataset", "shapes", "--images", str(images),
               "--seed", str(seed), "--object-scale", scale, "--object-fill", fill, "--truth", truth,
               "--json"])
    return json.loads(out)["scores"]


def summary(s):
    """Per layer: mIoU mean over heads, the head-mean map's, and the object share of both."""
    return [{"layer": l,
             "mean_over_heads": round(sum(h["miou_mass"] for h in x["heads"]) / len(x["heads"]), 4),
             "head_mean_map": round(x["mean"]["miou_mass"], 4),
             "object_share_mean_over_heads":
                 round(sum(h["object_share"] for h in x["heads"]) / len(x["heads"]), 4),
             "object_share_head_mean_map": round(x["mean"]["object_share"], 4)}
            for l, x in enumerate(s["layers"])]


def trainer_note(state):
    sel = state["train"].get("select")
    if isinstance(sel, dict) and "Segment" in sel:
        rule = (f"checkpoint = the epoch with the best validation mIoU (best layer, mean over heads, "
                f"{state['train']['segment_images']} validation images) among epochs with validation "
                f"accuracy >= {sel['Segment']['min_accuracy']} (--select segment)")
    else:
        rule = "checkpoint = best validation accuracy"
    return ("whitebox train (src/train/, CPU reference backward), AdamW warm-up + cosine from a seeded "
            "init; " + rule + "; the validation split is the last 2,000 of the 20,000 training images "
            "(--val 2000)")


def table(s):
    return [{"layer": l, "heads": [round(h["miou_mass"], 4) for h in x["heads"]],
             "mean_over_heads": round(sum(h["miou_mass"] for h in x["heads"]) / len(x["heads"]), 4),
             "head_mean_map": round(x["mean"]["miou_mass"], 4),
             "head_mean_map_best_fixed": round(x["mean"]["miou_best"], 4)}
            for l, x in enumerate(s["layers"])]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--command", required=True)
    ap.add_argument("--object-scale", required=True)
    ap.add_argument("--object-fill", default="flat")
    ap.add_argument("--name", default="crate-shapes")
    ap.add_argument("--whitebox", default="target/release/whitebox")
    ap.add_argument("--out", help="default: web/models/NAME.json")
    ap.add_argument("--machine", default="2-core AMD EPYC, CPU engine (2 cores shared with other jobs)")
    a = ap.parse_args()
    rd = Path(a.run)
    best = rd / "best.safetensors"
    state = json.loads((rd / "state.json").read_text())
    epochs = [json.loads(l) for l in (rd / "metrics.jsonl").read_text().splitlines()
              if '"kind":"epoch"' in l]
    scale, fill = a.object_scale, a.object_fill
    lo, hi = (float(x) for x in scale.split(","))
    data = ["--dataset", "shapes", "--preset", "crate-shapes", "--object-scale", scale,
            "--object-fill", fill, "--seed", "0"]
    ev = json.loads(run([a.whitebox, "train", *data, "--evaluate", str(best)]))
    ev500 = json.loads(run([a.whitebox, "train", *data, "--limit-test", "500", "--evaluate", str(best)]))
    choice = segment(a.whitebox, best, CHOICE_SEED, 200, scale, fill)
    test = segment(a.whitebox, best, TEST_SEED, 200, scale, fill)
    best_layer = choice["best_layer_mass"]  # by the head-mean map
    ct = table(choice)
    best_heads = max(range(len(ct)), key=lambda l: ct[l]["mean_over_heads"])  # by the mean over heads
    t = table(test)
    extent = segment(a.whitebox, best, TEST_SEED, 200, scale, fill, "any")
    outline = segment(a.whitebox, best, TEST_SEED, 200, scale, fill, "outline")
    card = {
        "name": a.name,
        "preset": "crate-shapes",
        "dataset": "shapes",
        "object_scale": [lo, hi],
        "object_fill": fill,
        "command": a.command,
        "epochs": len(epochs),
        "wall_time_s": round(state["wall_time_s"], 1),
        "machine": a.machine,
        "trainer": trainer_note(state),
        "best_epoch": state["best_epoch"],
        "val_accuracy": state["best_accuracy"],
        "test_accuracy": ev["test_accuracy"],
        "test_loss": ev["test_loss"],
        "test_images": ev["test_images"],
        "input": "64x64 RGB as is, pixels scaled to [0, 1], normalised with mean 0.5, std 0.25",
        "licence": "MIT OR Apache-2.0 (weights); the data is synthetic (src/data/synthetic/shapes.rs)",
        "layers": ev["layers"],
        "per_epoch_val_accuracy": [round(e["val_accuracy"], 4) for e in epochs],
        "per_epoch_train_loss": [round(e["train_loss"], 4) for e in epochs],
        "segmentation": {
            "definition": "mIoU of the 60 % mass-threshold mask of the CLS attention against the true "
                          "mask on the 8x8 patch grid (strict majority), `whitebox segment`",
            "best_layer": best_layer,
            "best_layer_by": "the head-mean map's mIoU",
            "best_layer_mean_over_heads": best_heads,
            "best_layer_chosen_on": f"200 images of seed {CHOICE_SEED} (neither training nor test)",
            "choice_layers": table(choice),
            "test_images": 200,
            "test_layers": t,
            "test_mask_area": round(test["mask_area"], 4),
            "test_all_foreground_miou": round(test["all_foreground_miou"], 4),
            "test_summary": summary(test),
            "other_truths": {
                "note": "the same maps scored against the object's extent (`segment --truth any`: "
                        "patches with any object pixel) and outline (`--truth outline`: patches with "
                        "object and background pixels), same 200 test images",
                "extent_mask_area": round(extent["mask_area"], 4),
                "extent": summary(extent),
                "outline_mask_area": round(outline["mask_area"], 4),
                "outline": summary(outline),
            },
        },
        "reproduce": {
            "note": "tests/suite/shapes_model.rs recomputes these from the committed weights",
            "seed": TEST_SEED,
            "object_scale": [lo, hi],
            "object_fill": fill,
            "accuracy_images": ev500["test_images"],
            "accuracy": ev500["test_accuracy"],
            "segment_images": 200,
            "best_layer": best_layer,
            "best_layer_mean_over_heads": best_heads,
            "layers": [{"heads": [h["miou_mass"] for h in x["heads"]], "head_mean_map": x["mean"]["miou_mass"]}
                       for x in test["layers"]],
        },
    }
    Path(a.out or f"web/models/{a.name}.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({"test_accuracy": ev["test_accuracy"], "best_layer": best_layer,
                      "test_best_layer": t[best_layer], "best_layer_mean_over_heads": best_heads,
                      "test_best_layer_mean_over_heads": t[best_heads]}, indent=1))


if __name__ == "__main__":
    main()
