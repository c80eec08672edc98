"""The official CRATE architecture (model/crate.py of Ma-Lab-Berkeley/CRATE), reconstructed
for this project's checks from CRATE-SPEC.md, with the same module structure so that state-dict
keys match the released checkpoints exactly:

  to_patch_embedding = Sequential(Rearrange, LayerNorm(P), Linear(P, d), LayerNorm(d))
  pos_embedding (1, N, d), cls_token (1, 1, d)
  transformer.layers[l] = ModuleList([PreNorm(d, Attention), PreNorm(d, FeedForward)])
      Attention: qkv Linear(d, d, bias=False) (one shared projection: q = k = v),
                 attend Softmax, to_out Sequential(Linear(d, d), Dropout)
      FeedForward (the ISTA block): weight (d, d), step_size (eta), lambd (lambda)
  mlp_head = Sequential(LayerNorm(d), Linear(d, classes))
  [segmentation demo variant: mlp_head.1 = Linear(d, pre_head_dim), then head = Linear(pre_head_dim, classes)]

No einops: Rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)') is implemented by hand.
Differences from the official file, all opt-in and off for the training-size path:
  * interpolate_pos=True: for an input grid other than the training grid, the patch part of
    pos_embedding is resized with F.interpolate(mode='bicubic', align_corners=False, size=grid)
    (CRATE-SPEC.md); the official classification file instead slices pos_embedding[:, :n+1].
  * pre_head_dim: the segmentation demo's extra `head` Linear (no activation in between).

`measures(model, x)` gives, through forward hooks, the quantities the visualiser plots.
"""

import torch
import torch.nn.functional as F
from torch import nn


class Rearrange(nn.Module):
    """'b c (h p1) (w p2) -> b (h w) (p1 p2 c)'."""

    def __init__(self, p1, p2):
        super().__init__()
        self.p1, self.p2 = p1, p2

    def forward(self, x):
        b, c, hh, ww = x.shape
        h, w = hh // self.p1, ww // self.p2
        x = x.reshape(b, c, h, self.p1, w, self.p2).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(b, h * w, self.p1 * self.p2 * c)


class PreNorm(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x, **kwargs):
        return self.fn(self.norm(x), **kwargs)


class FeedForward(nn.Module):
    """The ISTA block: ReLU(x + eta * (x D - (x D^T) D) - eta * lambda), as the official code."""

    def __init__(self, dim, hidden_dim=None, dropout=0.0, step_size=0.1, lambd=0.1):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(dim, dim))
        with torch.no_grad():
            nn.init.kaiming_uniform_(self.weight)
        self.step_size = step_size
        self.lambd = lambd

    def forward(self, x):
        x1 = F.linear(x, self.weight, bias=None)          # x D^T
        grad_1 = F.linear(x1, self.weight.t(), bias=None)  # (x D^T) D
        grad_2 = F.linear(x, self.weight.t(), bias=None)   # x D
        grad_update = self.step_size * (grad_2 - grad_1) - self.step_size * self.lambd
        return F.relu(x + grad_update)


OvercompleteISTABlock = FeedForward


class Attention(nn.Module):
    """Multi-head subspace self-attention: w = x U^T shared as query, key and value."""

    def __init__(self, dim, heads=8, dim_head=64, dropout=0.0):
        super().__init__()
        inner = dim_head * heads
        self.heads = heads
        self.scale = dim_head ** -0.5
        self.attend = nn.Softmax(dim=-1)
        self.dropout = nn.Dropout(dropout)
        self.qkv = nn.Linear(dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout))

    def forward(self, x):
        b, n, _ = x.shape
        w = self.qkv(x).reshape(b, n, self.heads, -1).transpose(1, 2)  # b h n dh
        dots = torch.matmul(w, w.transpose(-1, -2)) * self.scale
        attn = self.dropout(self.attend(dots))
        out = torch.matmul(attn, w).transpose(1, 2).reshape(b, n, -1)
        return self.to_out(out)


class Transformer(nn.Module):
    def __init__(self, dim, depth, heads, dim_head, mlp_dim, dropout=0.0, ista=0.1, lambd=0.1):
        super().__init__()
        self.layers = nn.ModuleList([])
        self.heads = heads
        self.depth = depth
        self.dim = dim
        for _ in range(depth):
            self.layers.append(nn.ModuleList([
                PreNorm(dim, Attention(dim, heads=heads, dim_head=dim_head, dropout=dropout)),
                PreNorm(dim, FeedForward(dim, mlp_dim, dropout=dropout, step_size=ista,
                                         lambd=lambd)),
            ]))

    def forward(self, x):
        for attn, ff in self.layers:
            grad_x = attn(x) + x   # MSSA with residual
            x = ff(grad_x)         # ISTA, no residual
        return x


class CRATE(nn.Module):
    def __init__(self, *, image_size, patch_size, num_classes, dim, depth, heads, mlp_dim=None,
                 pool="cls", channels=3, dim_head=64, dropout=0.0, emb_dropout=0.0, ista=0.1,
                 lambd=0.1, pre_head_dim=None, interpolate_pos=True):
        super().__init__()
        ih, iw = image_size if isinstance(image_size, (tuple, list)) else (image_size, image_size)
        ph, pw = patch_size if isinstance(patch_size, (tuple, list)) else (patch_size, patch_size)
        assert ih % ph == 0 and iw % pw == 0
        self.grid = (ih // ph, iw // pw)
        self.patch = (ph, pw)
        num_patches = self.grid[0] * self.grid[1]
        patch_dim = channels * ph * pw
        self.to_patch_embedding = nn.Sequential(
            Rearrange(ph, pw), nn.LayerNorm(patch_dim), nn.Linear(patch_dim, dim),
            nn.LayerNorm(dim))
        self.pos_embedding = nn.Parameter(torch.randn(1, num_patches + 1, dim))
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
        self.dropout = nn.Dropout(emb_dropout)
        self.transformer = Transformer(dim, depth, heads, dim_head, mlp_dim or dim, dropout,
                                       ista=ista, lambd=lambd)
        self.pool = pool
        self.to_latent = nn.Identity()
        if pre_head_dim is None:
            self.mlp_head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, num_classes))
            self.head = None
        else:
            self.mlp_head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, pre_head_dim))
            self.head = nn.Linear(pre_head_dim, num_classes)
        self.interpolate_pos = interpolate_pos

    def pos_for(self, gh, gw):
        pos = self.pos_embedding
        if (gh, gw) == self.grid or not self.interpolate_pos:
            return pos[:, :gh * gw + 1]
        d = pos.shape[-1]
        patch = pos[:, 1:].reshape(1, self.grid[0], self.grid[1], d).permute(0, 3, 1, 2)
        patch = F.interpolate(patch, size=(gh, gw), mode="bicubic", align_corners=False)
        patch = patch.permute(0, 2, 3, 1).reshape(1, gh * gw, d)
        return torch.cat([pos[:, :1], patch], dim=1)

    def forward(self, img):
        gh, gw = img.shape[-2] // self.patch[0], img.shape[-1] // self.patch[1]
        x = self.to_patch_embedding(img)
        b, n, _ = x.shape
        x = torch.cat((self.cls_token.expand(b, -1, -1), x), dim=1)
        x = x + self.pos_for(gh, gw)
        x = self.dropout(x)
        x = self.transformer(x)
        x = x.mean(dim=1) if self.pool == "mean" else x[:, 0]
        x = self.mlp_head(self.to_latent(x))
        if self.head is not None:
            x = self.head(x)
        return x


def build_model(cfg, interpolate_pos=True):
    """A CRATE from a project config dict (dim, depth, heads, patch, image, channels, classes,
    eta, lambda[, pre_head_dim]). Random init; load weights afterwards."""
    d, k = cfg["dim"], cfg["heads"]
    m = CRATE(image_size=tuple(cfg["image"]), patch_size=cfg["patch"], num_classes=cfg["classes"],
              dim=d, depth=cfg["depth"], heads=k, mlp_dim=d, channels=cfg["channels"],
              dim_head=d // k, ista=cfg.get("eta", 0.1), lambd=cfg.get("lambda", 0.1),
              pre_head_dim=cfg.get("pre_head_dim"), interpolate_pos=interpolate_pos)
    return m.eval()


def CRATE_tiny():
    return build_model({"dim": 384, "depth": 12, "heads": 6, "patch": 16, "image": [224, 224],
                        "channels": 3, "classes": 1000})


def coding_rate(w, heads, eps=0.01, dtype=torch.float64):
    """(B, N, d) projections -> (B,) sum over heads of 0.5 logdet(I_N + dh/(N eps) X X^T), rows of
    X unit-normalised (the official CodingRate, computed here in `dtype`)."""
    b, n, d = w.shape
    x = w.to(dtype).reshape(b, n, heads, d // heads).transpose(1, 2)
    x = x / torch.norm(x, dim=-1, keepdim=True)
    eye = torch.eye(n, dtype=dtype)
    m = eye + (d // heads) / (n * eps) * (x @ x.transpose(-1, -2))
    # The official code calls torch.logdet. The matrix is symmetric positive definite, so
    # logdet = 2 sum log diag(chol): the same value, and robust here, where batched torch.logdet
    # (LU through MKL) fails ("DLASWP parameter 6", NaN or wrong values) after
    # torch.set_num_threads(2) in the torch 2.15 CPU build this was written with.
    ld = 2.0 * torch.log(torch.diagonal(torch.linalg.cholesky(m), dim1=-2, dim2=-1)).sum(dim=-1)
    return ld.sum(dim=-1) / 2.0


@torch.no_grad()
def measures(model, x, rc_dtype=torch.float64):
    """Forward `x` through `model` with hooks. Returns numpy arrays: logits (B, classes);
    rc_in, rc_out, sparsity (B, L); zout, attn: lists over layers; attention_mean (B, gh, gw):
    the last layer's CLS attention over the patches, mean over heads."""
    layers = model.transformer.layers
    heads = model.transformer.heads
    rec = {"rc_in": [], "rc_out": [], "sparsity": [], "zout": [], "attn": []}
    hooks = []
    for attn_block, ff_block in layers:
        def on_qkv(mod, inp, out):
            rec["rc_in"].append(coding_rate(out, heads, dtype=rc_dtype))

        def on_attend(mod, inp, out):
            rec["attn"].append(out.detach().clone())

        def on_ff_in(mod, inp, attn_block=attn_block):
            zh = inp[0]
            w = attn_block.fn.qkv(attn_block.norm(zh))
            rec["rc_out"].append(coding_rate(w, heads, dtype=rc_dtype))

        def on_ff_out(mod, inp, out):
            b = out.shape[0]
            rec["sparsity"].append(
                (out.reshape(b, -1) != 0).sum(dim=1).double() / out[0].numel())
            rec["zout"].append(out.detach().clone())

        hooks += [attn_block.fn.qkv.register_forward_hook(on_qkv),
                  attn_block.fn.attend.register_forward_hook(on_attend),
                  ff_block.register_forward_pre_hook(on_ff_in),
                  ff_block.register_forward_hook(on_ff_out)]
    try:
        # the rc_out hook calls qkv itself; keep its extra outputs out of rc_in
        logits = model(x)
    finally:
        for h in hooks:
            h.remove()
    # on_qkv also fired for the qkv call made inside on_ff_in: entries alternate in, out-recompute
    rc_in = rec["rc_in"][0::2]
    gh, gw = x.shape[-2] // model.patch[0], x.shape[-1] // model.patch[1]
    last = rec["attn"][-1]
    amean = last[:, :, 0, 1:].mean(dim=1).reshape(x.shape[0], gh, gw)
    return {
        "logits": logits.double().numpy(),
        "rc_in": torch.stack(rc_in, dim=1).double().numpy(),
        "rc_out": torch.stack(rec["rc_out"], dim=1).double().numpy(),
        "sparsity": torch.stack(rec["sparsity"], dim=1).numpy(),
        "zout": [z.double().numpy() for z in rec["zout"]],
        "attn": [a.double().numpy() for a in rec["attn"]],
        "attention_mean": amean.double().numpy(),
    }
