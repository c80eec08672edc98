#!/usr/bin/env python3
"""Writes the bundled Fashion-MNIST model's card, web/models/crate-fmnist.json, and copies its
weights to web/models/crate-fmnist.safetensors, from two `whitebox train` runs:

- VAL_RUN, the run that chose the recipe: the last 5,000 training images held out
  (`--val 5000`), with its one-epoch fine-tune in VAL_RUN/ft (kept only if it raised the
  validation accuracy);
- FINAL_RUN, the same schedule on all 60,000 training images; its final weights
  (model.safetensors, the last epoch: a rule fixed before the run) are the bundled model.

    python3 tools/fmnist_card.py VAL_RUN FINAL_RUN --command "whitebox train ..." \
        [--whitebox target/release/whitebox] [--out web/models]

The test split plays no part in any choice: its accuracy is measured once, here, on the final
weights (`train --evaluate`, all 10,000 images, per-layer R^c and sparsity on all of them). The
trainer also logs a test accuracy per epoch; the card keeps FINAL_RUN's curve for reference only.
Standard library only.
"""

import argparse
import json
import shutil
import subprocess
from pathlib import Path


def epochs(run):
    return [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if '"kind":"epoch"' in l]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("val_run")
    ap.add_argument("final_run")
    ap.add_argument("--command", required=True)
    ap.add_argument("--whitebox", default="target/release/whitebox")
    ap.add_argument("--out", default="web/models")
    ap.add_argument("--disclosure", default=None,
                    help="anything else the reader must know about how the test split was used")
    ap.add_argument("--machine", default="2-core AMD EPYC, CPU engine (2 cores shared with other jobs)")
    a = ap.parse_args()
    val_run, final_run = Path(a.val_run), Path(a.final_run)
    val_epochs, ft_epochs = epochs(val_run), epochs(val_run / "ft")
    final_epochs = epochs(final_run)
    state = json.loads((final_run / "state.json").read_text())
    weights = final_run / "model.safetensors"
    ev = json.loads(subprocess.run(
        [a.whitebox, "train", "--dataset", "fmnist", "--preset", "crate-fmnist", "--seed", "0",
         "--stats-images", "10000", "--evaluate", str(weights)],
        check=True, capture_output=True, text=True).stdout)
    best_val = max(e["val_accuracy"] for e in val_epochs)
    card = {
        "name": "crate-fmnist",
        "preset": "crate-fmnist",
        "dataset": "fashion-mnist",
        "command": a.command,
        "epochs": len(final_epochs),
        "wall_time_s": round(state["wall_time_s"], 1),
        "machine": a.machine,
        "trainer": f"whitebox train (src/train/, CPU reference backward): {len(final_epochs)} epochs AdamW "
                   "warm-up + cosine from a seeded init on the 60,000 training images; the final weights",
        "selection": {
            "how": "the recipe was chosen on a validation split (the last 5,000 training images held out, "
                   "--val 5000), then trained on all 60,000 and its last epoch kept (rule fixed before that "
                   "run); the test split chose nothing (see disclosure)",
            "validation_accuracy_per_epoch": [round(e["val_accuracy"], 4) for e in val_epochs],
            "validation_accuracy_last_epoch": round(val_epochs[-1]["val_accuracy"], 4),
            "validation_accuracy_best_epoch": round(best_val, 4),
            "fine_tune_validation_accuracy": [round(e["val_accuracy"], 4) for e in ft_epochs],
            "fine_tune_kept": bool(ft_epochs) and max(e["val_accuracy"] for e in ft_epochs) > best_val,
            "validation_images": 5000,
        },
        **({"disclosure": a.disclosure} if a.disclosure else {}),
        "test_accuracy": ev["test_accuracy"],
        "test_loss": ev["test_loss"],
        "test_images": ev["test_images"],
        "train_images_per_s": round(sum(e["images_per_s"] for e in final_epochs) / len(final_epochs), 1),
        "input": "28x28 grayscale as is, pixels scaled to [0, 1], normalised with the metadata's mean/std",
        "licence": "MIT OR Apache-2.0 (weights); Fashion-MNIST is MIT-licensed (Zalando Research)",
        "layers_on_test_images": ev["stats_images"],
        "layers": ev["layers"],
        "per_epoch_train_loss": [round(e["train_loss"], 4) for e in final_epochs],
        "per_epoch_test_accuracy_reference_only": [round(e["test_accuracy"], 4) for e in final_epochs],
    }
    out = Path(a.out)
    (out / "crate-fmnist.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    shutil.copyfile(weights, out / "crate-fmnist.safetensors")
    print(json.dumps({k: card[k] for k in ["epochs", "test_accuracy", "test_loss"]}))


if __name__ == "__main__":
    main()
