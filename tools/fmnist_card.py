#!/usr/bin/env python3
"""Writes the bundled Fashion-MNIST model's card, web/models/crate-fmnist.json, and copies its
weights to web/models/crate-fmnist.safetensors, from one `whitebox train --val N` run: the
weights are RUN/best.safetensors, the epoch with the best accuracy on the validation split (the
last N training images, held out), chosen by the trainer.

    python3 tools/fmnist_card.py RUN --command "whitebox train ..." \
        [--whitebox target/release/whitebox] [--out web/models] [--disclosure TEXT]

The test split plays no part in any choice: the trainer does not evaluate it while a
validation split chooses the epoch, and its accuracy is measured once, here, on the kept
weights (`train --evaluate`, all 10,000 images, per-layer R^c and sparsity on all of them).
Standard library only.
"""

import argparse
import json
import shutil
import subprocess
from pathlib import Path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--command", required=True)
    ap.add_argument("--whitebox", default="target/release/whitebox")
    ap.add_argument("--out", default="web/models")
    ap.add_argument("--disclosure", default=None,
                    help="anything else the reader must know about how the test split was used")
    ap.add_argument("--machine", default="2-core AMD EPYC, CPU engine (2 cores shared with other jobs)")
    a = ap.parse_args()
    run = Path(a.run)
    epochs = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()
              if '"kind":"epoch"' in l]
    assert all("test_accuracy" not in e for e in epochs), "the run looked at the test split"
    state = json.loads((run / "state.json").read_text())
    val_images = state["train"]["val_images"]
    assert val_images > 0, "the run has no validation split (give --val N)"
    weights = run / "best.safetensors"
    ev = json.loads(subprocess.run(
        [a.whitebox, "train", "--dataset", "fmnist", "--preset", "crate-fmnist", "--seed", "0",
         "--stats-images", "10000", "--evaluate", str(weights)],
        check=True, capture_output=True, text=True).stdout)
    card = {
        "name": "crate-fmnist",
        "preset": "crate-fmnist",
        "dataset": "fashion-mnist",
        "command": a.command,
        "epochs": len(epochs),
        "wall_time_s": round(state["wall_time_s"], 1),
        "machine": a.machine,
        "trainer": f"whitebox train (src/train/, CPU reference backward): {len(epochs)} epochs AdamW "
                   f"warm-up + cosine from a seeded init on the first {60000 - val_images:,} training "
                   "images; the epoch with the best validation accuracy",
        "selection": {
            "how": f"the epoch with the best accuracy on the last {val_images:,} training images, held "
                   "out (--val); the test split was not evaluated during the run",
            "best_epoch": state["best_epoch"],
            "validation_accuracy_per_epoch": [round(e["val_accuracy"], 4) for e in epochs],
            "validation_accuracy_best_epoch": round(state["best_accuracy"], 4),
            "validation_images": val_images,
        },
        **({"disclosure": a.disclosure} if a.disclosure else {}),
        "test_accuracy": ev["test_accuracy"],
        "test_loss": ev["test_loss"],
        "test_images": ev["test_images"],
        "train_images_per_s": round(sum(e["images_per_s"] for e in epochs) / len(epochs), 1),
        "input": "28x28 grayscale as is, pixels scaled to [0, 1], normalised with the metadata's mean/std",
        "licence": "MIT OR Apache-2.0 (weights); Fashion-MNIST is MIT-licensed (Zalando Research)",
        "layers_on_test_images": ev["stats_images"],
        "layers": ev["layers"],
        "per_epoch_train_loss": [round(e["train_loss"], 4) for e in epochs],
    }
    out = Path(a.out)
    (out / "crate-fmnist.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    shutil.copyfile(weights, out / "crate-fmnist.safetensors")
    print(json.dumps({k: card[k] for k in ["epochs", "test_accuracy", "test_loss"]}))


if __name__ == "__main__":
    main()
