#!/usr/bin/env python3
"""Checks that a safetensors file written by Whitebox loads into the official PyTorch CRATE
architecture with a strict `load_state_dict`, and that its logits on an image equal
`whitebox forward --json`'s.

    cargo build --release
    python3 tools/check_export.py [WEIGHTS.pth] [IMAGE.png] [--heads K]

Default: tests/fixtures/official/small32.pth (4 heads) on astronaut-32.png. Needs torch,
safetensors and Pillow.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(__file__))
from official_crate import build_model  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "whitebox")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights", nargs="?", default=os.path.join(ROOT, "tests/fixtures/official/small32.pth"))
    ap.add_argument("image", nargs="?", default=os.path.join(ROOT, "tests/fixtures/official/astronaut-32.png"))
    ap.add_argument("--heads", default="4")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "export.safetensors")
        subprocess.run([BIN, "convert", a.weights, "-o", out, "--heads", a.heads], check=True)
        with safe_open(out, "pt") as f:
            cfg = json.loads(f.metadata()["config"])
        model = build_model(cfg)
        model.load_state_dict(load_file(out), strict=True)
        model.eval()
        img = np.asarray(Image.open(a.image).convert("RGB"), dtype=np.float32) / 255.0
        x = (img - np.array(cfg["mean"], np.float32)) / np.array(cfg["std"], np.float32)
        x = torch.from_numpy(x.transpose(2, 0, 1)[None].copy())
        with torch.no_grad():
            torch_logits = model(x)[0].double().numpy()
        js = subprocess.run([BIN, "forward", "--json", "--resize", "none", "--weights", out, "--image", a.image],
                            check=True, capture_output=True, text=True).stdout
        ours = np.array(json.loads(js)["logits"], dtype=np.float64)
        rel = np.abs(ours - torch_logits).max() / np.abs(torch_logits).max()
        print(f"strict load_state_dict: ok ({len(model.state_dict())} tensors); logits max relative difference {rel:.2e}")
        return 0 if rel < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
