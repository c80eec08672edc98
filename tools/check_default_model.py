#!/usr/bin/env python3
"""Measures a bundled Fashion-MNIST model's test accuracy independently of the Rust code: reads
the safetensors file and its metadata with the `safetensors` package, the IDX test set with
NumPy, and runs the official PyTorch architecture (tools/official_crate.py).

    python3 tools/check_default_model.py [web/models/crate-fmnist.safetensors] [DATA_DIR]

Prints the accuracy and the model card's figure; exits 1 if they differ by more than 0.005.
"""
import gzip
import json
import os
import sys

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(__file__))
from official_crate import build_model  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def idx(path):
    data = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    magic, n = int.from_bytes(data[:4], "big"), int.from_bytes(data[4:8], "big")
    if magic == 0x803:
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, 28, 28)
    return np.frombuffer(data, np.uint8, offset=8)


def main():
    weights = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "web/models/crate-fmnist.safetensors")
    data = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/datasets/fashion-mnist"
    with safe_open(weights, "pt") as f:
        cfg = json.loads(f.metadata()["config"])
    model = build_model(cfg)
    model.load_state_dict(load_file(weights), strict=True)
    model.eval()
    x = idx(os.path.join(data, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    y = idx(os.path.join(data, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    x = (x - cfg["mean"][0]) / cfg["std"][0]
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 500):
            logits = model(torch.from_numpy(x[i:i + 500, None].copy()))
            correct += int((logits.argmax(1).numpy() == y[i:i + 500]).sum())
    acc = correct / len(x)
    card = os.path.splitext(weights)[0] + ".json"
    claimed = json.load(open(card))["test_accuracy"] if os.path.exists(card) else None
    print(f"independent test accuracy {acc:.4f} on {len(x)} images; model card says {claimed}")
    return 0 if claimed is None or abs(acc - claimed) <= 0.005 else 1


if __name__ == "__main__":
    sys.exit(main())
