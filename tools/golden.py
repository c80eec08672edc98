"""Golden fixtures for the Rust CPU engine: an independent NumPy float64 implementation of
CRATE (the numerical contract is /work/shared/CRATE-SPEC.md, a copy of which the project keeps as
CRATE-SPEC.md) and the writer of tests/fixtures/golden/*.safetensors.

Run from the repository root:  python3 tools/golden.py
(needs numpy, safetensors; torch for the cross-checks against tools/official_crate.py).

GOLDEN WEIGHT SCHEME (replicated by the Rust tests; streams are tools/seeded.py == src/rng.rs)
------------------------------------------------------------------------------------------------
For every official state-dict key k of the config (order and shapes as in
src/model/params.rs::expected_shapes), n = numel(k), all values float32:
  * LayerNorm weights -- keys ending in `norm.weight`, and `to_patch_embedding.1.weight`,
    `to_patch_embedding.3.weight`, `mlp_head.0.weight`:
        1.0f32 + uniform(seed, k, n, 0.2f32)            (the addition in float32)
  * the matching LayerNorm biases -- keys ending in `norm.bias`, and
    `to_patch_embedding.1.bias`, `to_patch_embedding.3.bias`, `mlp_head.0.bias`:
        uniform(seed, k, n, 0.1f32)
  * `cls_token`, `pos_embedding`:
        uniform(seed, k, n, 0.5f32)
  * everything else (Linear weights (out, in) and their biases, `head.*`, the ISTA dictionary
    `transformer.layers.{l}.1.fn.weight`):
        uniform(seed, k, n, bound), bound = float32(1 / sqrt(fan_in)) COMPUTED IN FLOAT64 and then
        cast (`(1.0f64 / (fan_in as f64).sqrt()) as f32`; NOT the f32 expression
        `1.0f32 / (fan_in as f32).sqrt()`, which differs by one ulp for fan_in = 96 and 384),
        fan_in = the last dimension of the weight (for a bias: of its weight `<prefix>.weight`).
  * input images (B, C, H, W), row-major:  uniform(input_seed, "input", B*C*H*W, 1.7320508f32)
uniform(seed, name, n, bound) = bound * (2*u - 1) in float32, u = (v >> 40) / 2^24 (tools/seeded.py).
The reference math then runs in float64 on those float32 values; fixtures store float32.

Fixtures written (tests/fixtures/golden/), see tests/fixtures/README.md for the key lists:
  small.safetensors         d=128 K=4 L=6 p=4 28x28 C=1 10 classes; weights seed 1 (committed)
  small-interp.safetensors  same weights, input 36x32 (grid 9x8, bicubic position interpolation)
  crate-t.safetensors       CRATE-T, weights seed 2024 (not committed), input seed 21 (not committed)
"""

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import seeded  # noqa: E402

ROOT = os.path.dirname(HERE)
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "golden")

LN_EPS = 1e-5
RC_EPS = 0.01
MASK_T = 0.6
INPUT_BOUND = np.float32(1.7320508)

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


# ----------------------------------------------------------------------------------------------
# Config and parameter list
# ----------------------------------------------------------------------------------------------

def make_config(dim, depth, heads, patch, image, channels, classes, mean, std, eta=0.1, lam=0.1,
                pre_head_dim=None):
    cfg = {"dim": dim, "depth": depth, "heads": heads, "patch": patch, "image": list(image),
           "channels": channels, "classes": classes, "eta": eta, "lambda": lam,
           "mean": list(mean), "std": list(std)}
    if pre_head_dim is not None:
        cfg["pre_head_dim"] = pre_head_dim
    return cfg


SMALL = make_config(128, 6, 4, 4, (28, 28), 1, 10, [0.2860], [0.3530])
CRATE_T = make_config(384, 12, 6, 16, (224, 224), 3, 1000, IMAGENET_MEAN, IMAGENET_STD)


def grid0(cfg):
    return cfg["image"][0] // cfg["patch"], cfg["image"][1] // cfg["patch"]


def expected_shapes(cfg):
    """Every official key with its shape, in the order of src/model/params.rs."""
    d = cfg["dim"]
    pl = cfg["patch"] * cfg["patch"] * cfg["channels"]
    gh, gw = grid0(cfg)
    v = [("to_patch_embedding.1.weight", (pl,)), ("to_patch_embedding.1.bias", (pl,)),
         ("to_patch_embedding.2.weight", (d, pl)), ("to_patch_embedding.2.bias", (d,)),
         ("to_patch_embedding.3.weight", (d,)), ("to_patch_embedding.3.bias", (d,)),
         ("cls_token", (1, 1, d)), ("pos_embedding", (1, gh * gw + 1, d))]
    for l in range(cfg["depth"]):
        for rest, shape in [("0.norm.weight", (d,)), ("0.norm.bias", (d,)),
                            ("0.fn.qkv.weight", (d, d)), ("0.fn.to_out.0.weight", (d, d)),
                            ("0.fn.to_out.0.bias", (d,)), ("1.norm.weight", (d,)),
                            ("1.norm.bias", (d,)), ("1.fn.weight", (d, d))]:
            v.append((f"transformer.layers.{l}.{rest}", shape))
    v += [("mlp_head.0.weight", (d,)), ("mlp_head.0.bias", (d,))]
    m = cfg.get("pre_head_dim")
    if m is None:
        v += [("mlp_head.1.weight", (cfg["classes"], d)), ("mlp_head.1.bias", (cfg["classes"],))]
    else:
        v += [("mlp_head.1.weight", (m, d)), ("mlp_head.1.bias", (m,)),
              ("head.weight", (cfg["classes"], m)), ("head.bias", (cfg["classes"],))]
    return v


LN_NAMED = ("to_patch_embedding.1", "to_patch_embedding.3", "mlp_head.0")


def golden_params(cfg, seed):
    """The golden weight scheme (module docstring). Returns {key: float32 array}."""
    shapes = dict(expected_shapes(cfg))
    out = {}
    for k, shape in expected_shapes(cfg):
        n = int(np.prod(shape))
        prefix = k.rsplit(".", 1)[0]
        if k.endswith("norm.weight") or (prefix in LN_NAMED and k.endswith(".weight")):
            v = np.float32(1.0) + seeded.uniform(seed, k, n, np.float32(0.2))
        elif k.endswith("norm.bias") or (prefix in LN_NAMED and k.endswith(".bias")):
            v = seeded.uniform(seed, k, n, np.float32(0.1))
        elif k in ("cls_token", "pos_embedding"):
            v = seeded.uniform(seed, k, n, np.float32(0.5))
        else:
            wkey = k if k.endswith(".weight") else prefix + ".weight"
            fan_in = shapes[wkey][-1]
            bound = np.float32(1.0 / np.sqrt(np.float64(fan_in)))
            v = seeded.uniform(seed, k, n, bound)
        out[k] = v.astype(np.float32).reshape(shape)
    return out


def golden_input(seed, b, c, h, w):
    return seeded.uniform(seed, "input", b * c * h * w, INPUT_BOUND).reshape(b, c, h, w)


# ----------------------------------------------------------------------------------------------
# Reference math (float64)
# ----------------------------------------------------------------------------------------------

def layer_norm(x, g, b, eps=LN_EPS):
    m = x.mean(axis=-1, keepdims=True)
    v = ((x - m) ** 2).mean(axis=-1, keepdims=True)  # biased variance
    return (x - m) / np.sqrt(v + eps) * g + b


def patchify(x, p):
    """(B, C, H, W) -> (B, gh*gw, p*p*C), einops 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)'."""
    b, c, h, w = x.shape
    gh, gw = h // p, w // p
    t = x.reshape(b, c, gh, p, gw, p).transpose(0, 2, 4, 3, 5, 1)
    return t.reshape(b, gh * gw, p * p * c)


def _cubic_weights(t, a=-0.75):
    """PyTorch's upsample_bicubic2d coefficients for fractional offset t in [0, 1)."""
    def c1(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def c2(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [c2(t + 1.0), c1(t), c1(1.0 - t), c2(2.0 - t)]


def bicubic_matrix(n_in, n_out):
    """(n_out, n_in) matrix M with out = M @ in along one axis, exactly
    F.interpolate(mode='bicubic', align_corners=False, size=...): scale = n_in / n_out,
    src = (dst + 0.5) * scale - 0.5 (not clamped), i0 = floor(src), t = src - i0,
    taps i0-1 .. i0+2 clamped to [0, n_in-1]."""
    m = np.zeros((n_out, n_in))
    scale = n_in / n_out
    for o in range(n_out):
        src = (o + 0.5) * scale - 0.5
        i0 = int(np.floor(src))
        t = src - i0
        for j, wgt in enumerate(_cubic_weights(t)):
            idx = min(max(i0 - 1 + j, 0), n_in - 1)
            m[o, idx] += wgt
    return m


def bicubic_resize(img, out_h, out_w):
    """img (h, w, d) -> (out_h, out_w, d)."""
    mh = bicubic_matrix(img.shape[0], out_h)
    mw = bicubic_matrix(img.shape[1], out_w)
    return np.einsum("oh,hwd,pw->opd", mh, img, mw)


def position_embedding(pos, cfg, gh, gw):
    """pos (1, N0, d) -> (N, d) for an input grid gh x gw; bicubic on the patch part when the
    grid differs from the training grid, CLS entry kept."""
    pos = pos[0].astype(np.float64)
    g0h, g0w = grid0(cfg)
    if (gh, gw) == (g0h, g0w):
        return pos
    patch = pos[1:].reshape(g0h, g0w, -1)
    patch = bicubic_resize(patch, gh, gw).reshape(gh * gw, -1)
    return np.concatenate([pos[:1], patch], axis=0)


def softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def coding_rate(w, heads):
    """w (B, N, d) projections -> (B,) sum_k 0.5 logdet(I_N + dh/(N eps) X_k X_k^T), rows of X_k
    unit-normalised (the N x N form, as the official CodingRate)."""
    b, n, d = w.shape
    dh = d // heads
    x = w.reshape(b, n, heads, dh).transpose(0, 2, 1, 3)
    x = x / np.linalg.norm(x, axis=-1, keepdims=True)
    gram = x @ x.transpose(0, 1, 3, 2)
    m = np.eye(n) + dh / (n * RC_EPS) * gram
    sign, logdet = np.linalg.slogdet(m)
    assert np.all(sign > 0)
    return 0.5 * logdet.sum(axis=1)


def mass_mask(amap, t=MASK_T):
    """amap (n,) non-negative -> 0/1 mask (n,): renormalise, sort descending (stable: ties by
    lower index first), keep the smallest prefix whose cumulative mass >= t. Also returns the
    cumulative masses just before and at the cut (how close the fixture is to a flip)."""
    v = amap / amap.sum()
    order = np.argsort(-v, kind="stable")
    cum = np.cumsum(v[order])
    k = int(np.argmax(cum >= t))  # first index reaching t
    mask = np.zeros(v.shape)
    mask[order[:k + 1]] = 1.0
    before = cum[k - 1] if k > 0 else 0.0
    return mask, (before, cum[k])


def pca_map(tokens, gh, gw):
    """tokens (n, d) patch tokens -> (gh, gw, 3), plus the top-4 eigenvalues (for gap checks)."""
    xc = tokens - tokens.mean(axis=0, keepdims=True)
    cov = xc.T @ xc / max(xc.shape[0] - 1, 1)
    evals, evecs = np.linalg.eigh(cov)
    idx = np.argsort(-evals, kind="stable")[:3]
    v = evecs[:, idx]
    for j in range(v.shape[1]):
        i = int(np.argmax(np.abs(v[:, j])))
        if v[i, j] < 0:
            v[:, j] = -v[:, j]
    s = xc @ v
    lo, hi = s.min(axis=0), s.max(axis=0)
    rng = hi - lo
    out = np.where(rng > 0, (s - lo) / np.where(rng > 0, rng, 1.0), 0.0)
    return out.reshape(gh, gw, 3), np.sort(evals)[::-1][:4]


def incoherence(u, heads):
    """u (d, d) = qkv.weight -> (K, K): ||U_i U_j^T||_F / sqrt(dh), rows of U_k orthonormalised."""
    d = u.shape[0]
    dh = d // heads
    qs = []
    for k in range(heads):
        q, _ = np.linalg.qr(u[k * dh:(k + 1) * dh, :].T)  # (d, dh), orthonormal columns
        qs.append(q)
    m = np.zeros((heads, heads))
    for i in range(heads):
        for j in range(heads):
            m[i, j] = np.linalg.norm(qs[i].T @ qs[j]) / np.sqrt(dh)
    return m


def forward(params, x, cfg):
    """Full reference forward with every intermediate and measure. params: {key: float32},
    x: (B, C, H, W) float32. Everything is computed in float64."""
    P = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    x = np.asarray(x, dtype=np.float64)
    d, K, L, p = cfg["dim"], cfg["heads"], cfg["depth"], cfg["patch"]
    dh = d // K
    eta, lam = float(np.float32(cfg["eta"])), float(np.float32(cfg["lambda"]))
    B, C, H, W = x.shape
    gh, gw = H // p, W // p
    n = gh * gw
    N = n + 1

    y = layer_norm(patchify(x, p), P["to_patch_embedding.1.weight"], P["to_patch_embedding.1.bias"])
    e = y @ P["to_patch_embedding.2.weight"].T + P["to_patch_embedding.2.bias"]
    e = layer_norm(e, P["to_patch_embedding.3.weight"], P["to_patch_embedding.3.bias"])
    cls = np.broadcast_to(P["cls_token"].reshape(1, 1, d), (B, 1, d))
    z = np.concatenate([cls, e], axis=1) + position_embedding(P["pos_embedding"], cfg, gh, gw)

    r = {"rc_in": np.zeros((B, L)), "rc_out": np.zeros((B, L)), "sparsity": np.zeros((B, L))}
    diag = {"mask_margin": [], "pca_evals": {}}
    for l in range(L):
        pre = f"transformer.layers.{l}."
        U = P[pre + "0.fn.qkv.weight"]
        r[f"z.{l}"] = z
        a = layer_norm(z, P[pre + "0.norm.weight"], P[pre + "0.norm.bias"])
        w = a @ U.T
        r[f"proj_in.{l}"] = w
        wk = w.reshape(B, N, K, dh).transpose(0, 2, 1, 3)
        A = softmax(wk @ wk.transpose(0, 1, 3, 2) / np.sqrt(dh))
        o = (A @ wk).transpose(0, 2, 1, 3).reshape(B, N, d)
        zh = z + o @ P[pre + "0.fn.to_out.0.weight"].T + P[pre + "0.fn.to_out.0.bias"]
        r[f"attn.{l}"] = A
        r[f"zhalf.{l}"] = zh
        ph = layer_norm(zh, P[pre + "0.norm.weight"], P[pre + "0.norm.bias"]) @ U.T
        r[f"proj_half.{l}"] = ph
        # ISTA, the official 3-matmul form
        yy = layer_norm(zh, P[pre + "1.norm.weight"], P[pre + "1.norm.bias"])
        D = P[pre + "1.fn.weight"]
        grad_1 = (yy @ D.T) @ D   # F.linear(F.linear(y, D), D.t())
        grad_2 = yy @ D           # F.linear(y, D.t())
        zo = np.maximum(yy + (eta * (grad_2 - grad_1) - eta * lam), 0.0)
        r[f"zout.{l}"] = zo
        # measures
        r["rc_in"][:, l] = coding_rate(w, K)
        r["rc_out"][:, l] = coding_rate(ph, K)
        r["sparsity"][:, l] = np.count_nonzero(zo.reshape(B, -1), axis=1) / (N * d)
        amap = A[:, :, 0, 1:].reshape(B, K, gh, gw)
        r[f"attn_map.{l}"] = amap
        amean = amap.mean(axis=1)
        r[f"attn_mean.{l}"] = amean
        masks, pcas = [], []
        for b in range(B):
            mk, margin = mass_mask(amean[b].reshape(-1))
            masks.append(mk.reshape(gh, gw))
            diag["mask_margin"].append((l, b) + margin)
            pm, ev = pca_map(zo[b, 1:, :], gh, gw)
            pcas.append(pm)
            diag["pca_evals"][(l, b)] = ev
        r[f"mask.{l}"] = np.stack(masks)
        r[f"pca.{l}"] = np.stack(pcas)
        r[f"incoherence.{l}"] = incoherence(U, K)
        z = zo
    h = layer_norm(z[:, 0], P["mlp_head.0.weight"], P["mlp_head.0.bias"])
    logits = h @ P["mlp_head.1.weight"].T + P["mlp_head.1.bias"]
    if "head.weight" in P:
        logits = logits @ P["head.weight"].T + P["head.bias"]
    r["logits"] = logits
    for m in ("rc_in", "rc_out", "sparsity"):
        r[m + "_mean"] = r[m].mean(axis=0)
        r[m + "_std"] = r[m].std(axis=0, ddof=0)
    return r, diag


# ----------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------

def check_bicubic():
    """Our bicubic against torch.nn.functional.interpolate, float64."""
    import torch
    import torch.nn.functional as F
    rs = np.random.RandomState(0)
    worst = 0.0
    for (h0, w0, h1, w1) in [(7, 7, 9, 8), (7, 7, 3, 5), (14, 14, 20, 17), (4, 6, 13, 2),
                             (14, 14, 14, 14), (5, 5, 1, 1)]:
        img = rs.randn(h0, w0, 3)
        ours = bicubic_resize(img, h1, w1)
        t = torch.from_numpy(img).permute(2, 0, 1)[None]
        ref = F.interpolate(t, size=(h1, w1), mode="bicubic", align_corners=False)[0]
        ref = ref.permute(1, 2, 0).numpy()
        err = np.abs(ours - ref).max()
        worst = max(worst, err)
        assert err < 1e-12, (h0, w0, h1, w1, err)
    print(f"bicubic vs torch F.interpolate (float64, 6 cases): max abs diff {worst:.2e}")


def check_identities(params, x, cfg):
    """The spec's cheaper forms equal the reference ones: the 2-matmul ISTA step and the
    dh x dh (Sylvester) coding rate."""
    ref, _ = forward(params, x, cfg)
    P = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    eta, lam = float(np.float32(cfg["eta"])), float(np.float32(cfg["lambda"]))
    K, worst_ista, worst_rc = cfg["heads"], 0.0, 0.0
    for l in range(cfg["depth"]):
        pre = f"transformer.layers.{l}."
        y = layer_norm(ref[f"zhalf.{l}"], P[pre + "1.norm.weight"], P[pre + "1.norm.bias"])
        D = P[pre + "1.fn.weight"]
        two = np.maximum(y + eta * ((y - y @ D.T) @ D) - eta * lam, 0.0)
        worst_ista = max(worst_ista, np.abs(two - ref[f"zout.{l}"]).max())
        w = ref[f"proj_in.{l}"]
        b, n, d = w.shape
        xk = w.reshape(b, n, K, d // K).transpose(0, 2, 1, 3)
        xk = xk / np.linalg.norm(xk, axis=-1, keepdims=True)
        m = np.eye(d // K) + (d // K) / (n * RC_EPS) * (xk.transpose(0, 1, 3, 2) @ xk)
        syl = 0.5 * np.linalg.slogdet(m)[1].sum(axis=1)
        worst_rc = max(worst_rc, np.abs(syl - ref["rc_in"][:, l]).max())
    print(f"identities: ISTA 2-matmul vs 3-matmul max abs {worst_ista:.2e}; "
          f"R^c dh x dh (Sylvester) vs N x N max abs {worst_rc:.2e}")
    assert worst_ista < 1e-10 and worst_rc < 1e-8


def check_against_official(cfg, params, x, ref, label):
    """Compare the NumPy reference with the PyTorch model of the official architecture."""
    import torch
    import official_crate as oc
    out = {}
    # eta and lambda as the float32 values the Rust engine uses (the torch f32 model rounds the
    # Python scalars to float32 anyway; this makes the f64 comparison exact to round-off)
    cfg = dict(cfg, eta=float(np.float32(cfg["eta"])), **{"lambda": float(np.float32(cfg["lambda"]))})
    for dtype in (torch.float64, torch.float32):
        m = oc.build_model(cfg, interpolate_pos=True)
        m.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in params.items()})
        m = m.to(dtype)
        meas = oc.measures(m, torch.from_numpy(x).to(dtype), rc_dtype=torch.float64)
        def rel(a, b):
            a = np.asarray(a, dtype=np.float64)
            return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))
        L = cfg["depth"]
        diffs = {
            "logits": rel(meas["logits"], ref["logits"]),
            "z_out(all l)": max(rel(meas["zout"][l], ref[f"zout.{l}"]) for l in range(L)),
            "attn(all l)": max(rel(meas["attn"][l], ref[f"attn.{l}"]) for l in range(L)),
            "rc_in": rel(meas["rc_in"], ref["rc_in"]),
            "rc_out": rel(meas["rc_out"], ref["rc_out"]),
            "sparsity(abs)": float(np.abs(np.asarray(meas["sparsity"]) - ref["sparsity"]).max()),
            "attn_mean(last)": rel(meas["attention_mean"], ref[f"attn_mean.{L-1}"]),
        }
        name = "f64" if dtype == torch.float64 else "f32"
        print(f"  [{label}] numpy f64 vs official torch {name}: "
              + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items()))
        out[name] = diffs
    return out


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------

PER_LAYER = ["z", "zhalf", "zout", "proj_in", "proj_half", "attn", "attn_map", "attn_mean",
             "mask", "pca", "incoherence"]
BIG = ("z", "zhalf", "zout", "proj_in", "proj_half", "attn")
STATS = ["rc_in", "rc_out", "sparsity", "rc_in_mean", "rc_in_std", "rc_out_mean", "rc_out_std",
         "sparsity_mean", "sparsity_std"]


def write(path, tensors, meta):
    """A float32 safetensors file written byte-for-byte deterministically (the safetensors
    package orders the header through a hash map, so its files differ run to run): header keys
    and tensor data in sorted key order, `__metadata__` first, header padded with spaces to a
    multiple of 8 bytes, little-endian data."""
    import struct
    t = {k: np.ascontiguousarray(np.asarray(v, dtype="<f4")) for k, v in tensors.items()}
    header = {"__metadata__": {k: (v if isinstance(v, str) else json.dumps(v))
                               for k, v in sorted(meta.items())}}
    off = 0
    for k in sorted(t):
        nb = t[k].nbytes
        header[k] = {"dtype": "F32", "shape": list(t[k].shape), "data_offsets": [off, off + nb]}
        off += nb
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * (-len(hb) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for k in sorted(t):
            f.write(t[k].tobytes())
    from safetensors.numpy import load_file  # read back: the file must be valid safetensors
    back = load_file(path)
    assert set(back) == set(t) and all(np.array_equal(back[k], t[k]) for k in t)
    print(f"wrote {os.path.relpath(path, ROOT)}: {len(t)} tensors, {os.path.getsize(path)} bytes")


def report_margins(label, diag):
    mm = min(min(abs(b4 - MASK_T), abs(at - MASK_T)) for (_, _, b4, at) in diag["mask_margin"])
    gaps = []
    for ev in diag["pca_evals"].values():
        gaps.append(min((ev[i] - ev[i + 1]) / ev[0] for i in range(3)))
    print(f"  [{label}] closest cumulative mass to t=0.6 at a mask cut: {mm:.2e}; "
          f"smallest relative eigen-gap among top-3 PCA components: {min(gaps):.2e}")


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    import torch
    torch.manual_seed(0)  # the official model's random init, overwritten by load_state_dict
    torch.set_num_threads(2)
    check_bicubic()
    summary = {}

    # 1. small
    cfg = SMALL
    params = golden_params(cfg, 1)
    x = golden_input(11, 2, 1, 28, 28)
    ref, diag = forward(params, x, cfg)
    check_identities(params, x, cfg)
    report_margins("small", diag)
    summary["small"] = check_against_official(cfg, params, x, ref, "small")
    t = {"param." + k: v for k, v in params.items()}
    t["input"] = x
    t["logits"] = ref["logits"]
    for l in range(cfg["depth"]):
        for k in PER_LAYER:
            t[f"{k}.{l}"] = ref[f"{k}.{l}"]
    for k in STATS:
        t[k] = ref[k]
    write(os.path.join(OUT_DIR, "small.safetensors"), t, {
        "config": cfg, "seed": {"weights": 1, "input": 11}, "weights": "committed",
        "omitted": []})

    # 2. small-interp: same weights, 36x32 input (grid 9x8), bicubic position interpolation
    x = golden_input(12, 1, 1, 36, 32)
    ref, diag = forward(params, x, cfg)
    report_margins("small-interp", diag)
    summary["small-interp"] = check_against_official(cfg, params, x, ref, "small-interp")
    t = {"input": x, "logits": ref["logits"]}
    L = cfg["depth"]
    for l in range(L):
        for k in PER_LAYER:
            if k in BIG and l not in (0, L - 1):
                continue  # size: the large per-layer tensors only at the first and last layer
            t[f"{k}.{l}"] = ref[f"{k}.{l}"]
    for k in STATS:
        t[k] = ref[k]
    write(os.path.join(OUT_DIR, "small-interp.safetensors"), t, {
        "config": cfg, "seed": {"weights": 1, "input": 12}, "weights": "seeded",
        "weights_from": "small.safetensors (param.*), = golden scheme with seed 1",
        "omitted": ["param.* (use small.safetensors)",
                    "z/zhalf/zout/proj_in/proj_half/attn.{l} for l in 1..4 (kept for l = 0 and 5)"]})

    # 3. CRATE-T, seeded weights, not committed
    cfg = CRATE_T
    params = golden_params(cfg, 2024)
    x = golden_input(21, 2, 3, 224, 224)
    ref, diag = forward(params, x, cfg)
    report_margins("crate-t", diag)
    summary["crate-t"] = check_against_official(cfg, params, x, ref, "crate-t")
    L = cfg["depth"]
    t = {"logits": ref["logits"]}
    for k in STATS:
        t[k] = ref[k]
    for l in range(L):
        for k in ("attn_map", "attn_mean", "mask"):
            t[f"{k}.{l}"] = ref[f"{k}.{l}"]
    for l in (0, L - 1):
        t[f"pca.{l}"] = ref[f"pca.{l}"]
        t[f"incoherence.{l}"] = ref[f"incoherence.{l}"]
    for k in ("z", "zhalf", "zout", "proj_in"):
        t[f"{k}.{L-1}"] = ref[f"{k}.{L-1}"][:1]
    checks = {  # to localise a mismatch in the regenerated weights or input
        "input_sum_f64": float(x.astype(np.float64).sum()),
        "input_first4": [float(v) for v in x.reshape(-1)[:4]],
        "params_sum_f64": float(sum(v.astype(np.float64).sum() for v in params.values())),
        "param_first2": {k: [float(v) for v in params[k].reshape(-1)[:2]]
                         for k in ("to_patch_embedding.1.weight", "to_patch_embedding.2.weight",
                                   "pos_embedding", "transformer.layers.0.0.fn.qkv.weight",
                                   "transformer.layers.11.1.fn.weight", "mlp_head.1.bias")},
    }
    write(os.path.join(OUT_DIR, "crate-t.safetensors"), t, {
        "config": cfg, "seed": {"weights": 2024, "input": 21}, "weights": "seeded",
        "checks": checks,
        "omitted": ["param.* (regenerate: golden scheme, seed 2024)",
                    "input (regenerate: uniform(21, 'input', 2*3*224*224, 1.7320508), shape (2,3,224,224))",
                    "attn.{l} for all l",
                    "z/zhalf/zout/proj_in.{l} for l in 0..10; proj_half.{l} for all l",
                    "z/zhalf/zout/proj_in.11 hold image 0 only: shape (1, 197, 384)",
                    "pca.{l}, incoherence.{l} for l in 1..10"]})
    with open(os.path.join(OUT_DIR, "crosscheck.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    print("golden.py done")


if __name__ == "__main__":
    main()
