#!/usr/bin/env python3
"""Checks the CPU reference backward (src/grad/) against PyTorch autograd on the official CRATE
architecture (tools/official_crate.py), in float64: for a few small models the loss
F.cross_entropy(model(x), y, label_smoothing=s) and the gradient of every parameter must equal
Whitebox's.

    python3 tools/check_grads.py

Runs `cargo test --test grad_check dump -- --ignored` to write the dumps. Needs torch and
safetensors.
"""
import json
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F
from safetensors import safe_open

sys.path.insert(0, os.path.dirname(__file__))
from official_crate import build_model  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def check(path):
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
        t = {k: f.get_tensor(k).double() for k in f.keys()}
    cfg = json.loads(meta["config"])
    s = float(meta["smoothing"])
    model = build_model(cfg).double()
    params = {k[len("param/"):]: v for k, v in t.items() if k.startswith("param/")}
    model.load_state_dict(params, strict=True)
    model.train()
    x, y = t["images"], t["labels"].long()
    loss = F.cross_entropy(model(x), y, label_smoothing=s)
    loss.backward()
    ours = float(meta["loss"])
    worst = abs(loss.item() - ours) / abs(loss.item())
    print(f"{os.path.basename(path)}: loss torch {loss.item():.12f} whitebox {ours:.12f}")
    for k, p in model.named_parameters():
        g = t["grad_hi/" + k] + t["grad_lo/" + k]
        err = ((p.grad - g).abs().max() / p.grad.abs().max().clamp_min(1e-30)).item()
        worst = max(worst, err)
        print(f"  {k:<45} max |diff| / max |grad| {err:.2e}")
    return worst


def main():
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, WHITEBOX_GRAD_DUMP=d)
        subprocess.run(["cargo", "test", "-q", "--test", "grad_check", "dump", "--", "--ignored"],
                       cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        worst = max(check(os.path.join(d, n)) for n in sorted(os.listdir(d)))
    print(f"worst relative difference {worst:.2e}")
    if worst > 1e-10:
        sys.exit("gradients differ from PyTorch autograd")


if __name__ == "__main__":
    main()
