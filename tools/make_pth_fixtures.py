#!/usr/bin/env python3
"""Writes the small PyTorch checkpoints that tests/suite/weights_io.rs reads (tests/fixtures/pth/).

Run from the repository root: `python3 tools/make_pth_fixtures.py`. Needs torch and safetensors.
The model below is the official CRATE module layout (same attribute names, hence the same
state-dict keys as the released checkpoints), shrunk to dim 8, heads 2, depth 2, patch 2,
1 channel, 4x4 images, 3 classes. Einops' Rearrange (index 0 of to_patch_embedding, no
parameters) is replaced by nn.Identity so that the script needs only torch.

Nothing here ever unpickles the malicious fixture: it is written opcode by opcode.
"""
import collections
import copy
import io
import os
import zipfile

import torch
from torch import nn
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "pth")


class PreNorm(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn


class FeedForward(nn.Module):  # ISTA block of the official code
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(dim, dim))
        nn.init.kaiming_uniform_(self.weight)
        self.step_size = 0.1
        self.lambd = 0.1


class Attention(nn.Module):  # MSSA block of the official code
    def __init__(self, dim, heads, dim_head):
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.qkv = nn.Linear(dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(0.0))


class Transformer(nn.Module):
    def __init__(self, dim, depth, heads, dim_head):
        super().__init__()
        self.layers = nn.ModuleList(
            [
                nn.ModuleList(
                    [PreNorm(dim, Attention(dim, heads, dim_head)), PreNorm(dim, FeedForward(dim))]
                )
                for _ in range(depth)
            ]
        )


class CRATE(nn.Module):
    def __init__(self, image=4, patch=2, classes=3, dim=8, depth=2, heads=2, channels=1):
        super().__init__()
        n = (image // patch) ** 2
        patch_dim = channels * patch * patch
        self.to_patch_embedding = nn.Sequential(
            nn.Identity(), nn.LayerNorm(patch_dim), nn.Linear(patch_dim, dim), nn.LayerNorm(dim)
        )
        self.pos_embedding = nn.Parameter(torch.randn(1, n + 1, dim))
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
        self.transformer = Transformer(dim, depth, heads, dim // heads)
        self.mlp_head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, classes))


def tiny_model():
    torch.manual_seed(0)
    m = CRATE()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "norm" in name or name.startswith(("to_patch_embedding.1", "to_patch_embedding.3", "mlp_head.0")):
                p.add_(0.1 * torch.randn_like(p))  # LayerNorm params away from 1 / 0
    return m


def path(name):
    return os.path.join(OUT, name)


def write_malicious(dest):
    # A torch-style zip whose data.pkl is: posix.system('echo pwned') -- REDUCE.
    pkl = (
        b"\x80\x02"
        + b"cposix\nsystem\n"
        + b"q\x00"
        + b"X\x0a\x00\x00\x00echo pwned"
        + b"q\x01\x85q\x02Rq\x03."
    )
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("malicious/data.pkl", pkl)
        z.writestr("malicious/byteorder", "little")
        z.writestr("malicious/version", "3\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    m = tiny_model()
    sd = m.state_dict()
    # (a) bare state dict, and its safetensors twin (official keys, float32)
    torch.save(sd, path("tiny_bare.pth"))
    save_file({k: v.contiguous() for k, v in sd.items()}, path("tiny.safetensors"))

    # (b) the official training script's layout: DataParallel prefixes, optimizer with
    # momentum buffers, best_acc1 as a tensor, a scheduler state.
    # The optimizer steps a copy: `sd` shares memory with `m`'s parameters.
    m2 = copy.deepcopy(m)
    opt = torch.optim.SGD(m2.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=30)
    loss = sum((p * p).sum() for p in m2.parameters())
    loss.backward()
    opt.step()
    ckpt = {
        "epoch": 7,
        "arch": "crate_tiny",
        "state_dict": collections.OrderedDict(("module." + k, v) for k, v in sd.items()),
        "best_acc1": torch.tensor(42.5),
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
    }
    torch.save(ckpt, path("tiny_train.pth.tar"))

    # (c) half and bfloat16 tensors; twins written by safetensors in the same dtypes
    half = {k: v.half() for k, v in sd.items()}
    torch.save(half, path("tiny_f16.pth"))
    save_file({k: v.contiguous() for k, v in half.items()}, path("tiny_f16.safetensors"))
    bf = {k: v.bfloat16() for k, v in sd.items()}
    torch.save(bf, path("tiny_bf16.pth"))
    save_file({k: v.contiguous() for k, v in bf.items()}, path("tiny_bf16.safetensors"))

    # (d) views: transposed, sliced (offset + strides), shared storage, float64
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    views = {
        "transposed": base.t(),
        "sliced": base[1:3, 2:5],
        "offset": base.reshape(-1)[5:11],
        "strided_step": base[:, ::2],
        "whole": base,
        "double": torch.linspace(-1, 1, 5, dtype=torch.float64),
    }
    torch.save(views, path("views.pth"))
    save_file(
        {k: v.contiguous().float().clone() for k, v in views.items()}, path("views_expected.safetensors")
    )

    # (e) a pickle that would run a shell command if loaded with pickle.load
    write_malicious(path("malicious.pth"))


if __name__ == "__main__":
    main()
