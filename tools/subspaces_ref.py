"""Independent NumPy (float64) reference for the Subspaces view's numbers (issue 11), written from
CRATE-SPEC.md on the official key names, and the writer of tests/fixtures/subspaces/small.json.

Run from the repository root:  python3 tools/subspaces_ref.py
Needs:  pip install numpy safetensors

The forward pass is tools/golden.py's float64 reference; every measure below is recomputed here
with NumPy's own decompositions (eigh, svd, qr), not with the Rust module's algorithms. Model:
tests/fixtures/golden/small.safetensors (`param.*`: d=128, K=4, dh=32, L=6, 28x28, N=50),
input: 3 images uniform(13, "input", 3*1*28*28, 1.7320508) with class labels LABELS.

Definitions (src/analysis/subspaces/ documents the same; l = layer, k = head, image b):
  a_in   = LN_{l,0}(Z^l),  a_half = LN_{l,0}(Z^{l+1/2}),  a_next = LN_{l,0}(Z^{l+1})
           (all three through layer l's `.0.norm`);  W_set = a_set U^T, U = `.0.fn.qkv.weight`;
  X_set  = W_set[:, k*dh:(k+1)*dh]   ("coordinates in head k's subspace", N tokens, CLS first).
  scatter: centre mu = mean of X_in over its N rows; C = (X_in - mu)^T (X_in - mu) / N;
           axes = top `axes` eigenvectors of C (descending), each signed so that its entry of
           largest |value| (first such index) is positive; every set is projected as
           (X_set - mu) . axes (one affine map for before/after/next); `variance` = eigenvalues,
           `explained` = eigenvalue / trace(C).
  energy : e_k(t) = ||X_in,k(t)||^2 (raw U rows, what the attention sees); share_k = e_k / sum_j e_j;
           captured_k(t) = ||Q_k a_in(t)||^2 / ||a_in(t)||^2, Q_k an orthonormal basis of U_k's row
           space; winners = argmax over heads (ties: lower head).
  R^c per head: 0.5 logdet(I_N + dh/(N eps) Xh Xh^T), Xh = X rows scaled to unit norm, eps 0.01
           (N x N form here; Rust uses the dh x dh form). Sum over heads = the layer's R^c.
  overlap: M_ij = ||Q_i^T Q_j||_F / sqrt(dh) (QR of U_k^T); random = sqrt(dh / d) (the RMS
           value for independent uniformly random dh-dim subspaces: E||P_i P_j||_F^2 = dh^2 / d);
           offdiag_rms = sqrt(mean of M_ij^2 over i != j); union_sv = singular values of
           [Q_1 ... Q_K] (d x K dh); u_sv = singular values of U; both descending.
  codes  : Z = Z^{l+1} (ISTA output) of image b; zeros = #(Z == 0); histogram of the NON-ZERO
           entries with fixed bins [i*w, (i+1)*w), w = HIST_MAX / HIST_BINS, i = 0..HIST_BINS-1,
           entries >= HIST_MAX counted in `overflow`; nnz[t] = #(Z[t, :] != 0);
           usage[j] = #(Z[:, j] != 0) over all N tokens: code entry j multiplies dictionary atom
           j = COLUMN j of D = `.1.fn.weight` (ISTA is ReLU(y + eta D^T (y - D y) - eta lambda) for a
           column token y, so the reconstruction is D z = sum_j z_j D[:, j]); mass[j] = sum_t Z[t, j];
           order = atoms by usage descending (ties: lower index); atom = order[0] unless chosen;
           atom_map = Z[:, atom] (N values, CLS first).
  spectra: singular values of the token matrix (uncentred: subspaces through the origin) divided by
           the largest; tokens[l] = Z^l for l < L and tokens[L] = Z^L (last ISTA output);
           heads[l][k] = X_in,k of layer l; rank90 = fewest singular values holding >= 90% of
           sum sigma^2.
  batch  : the scatter fitted on all images' X_in rows together (image-major), per-image per-head
           R^c (in, out), and per class (labels) the spectra of the pooled tokens of its images and
           the pooled atom usage.
Margins written beside (for the tests' discrete comparisons): for each tolerance tol in (1e-5, 1e-3),
how many ISTA pre-activations lie within tol * max|Z| of 0, how many non-zero entries lie within
tol * max|Z| of a histogram edge, how many tokens have their top two shares (captured fractions)
within 2*tol, and the smallest relative eigen-gap among the scatter's top axes.
"""

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import golden  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402

ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "tests", "fixtures", "subspaces", "small.json")

RC_EPS = 0.01
AXES = 3
HIST_BINS = 32
HIST_MAX = 8.0
INPUT_SEED = 13
LABELS = [2, 0, 2]
CASES = [(0, 0, 1), (1, 3, 0), (2, 5, 3)]  # (image, layer, head)
BATCH_CASE = (4, 2)  # (layer, head)
TOLS = (1e-5, 1e-3)


def head_cols(w, k, dh):
    return w[..., k * dh:(k + 1) * dh]


def rc_head(x):
    """0.5 logdet(I_N + dh/(N eps) Xh Xh^T), N x N form."""
    n, dh = x.shape
    xh = x / np.linalg.norm(x, axis=1, keepdims=True)
    sign, ld = np.linalg.slogdet(np.eye(n) + dh / (n * RC_EPS) * (xh @ xh.T))
    assert sign > 0
    return 0.5 * ld


def pca_fit(x, axes):
    mu = x.mean(axis=0)
    xc = x - mu
    c = xc.T @ xc / x.shape[0]
    evals, evecs = np.linalg.eigh(c)
    idx = np.argsort(-evals, kind="stable")
    m = min(axes, x.shape[1])
    v = evecs[:, idx[:m]].copy()
    for j in range(m):
        i = int(np.argmax(np.abs(v[:, j])))
        if v[i, j] < 0:
            v[:, j] = -v[:, j]
    ev = evals[idx]
    gap = min((ev[i] - ev[i + 1]) / ev[0] for i in range(m))
    return mu, v, ev[:m], ev[:m] / evals.sum(), gap


def scatter(sets, axes):
    mu, v, var, expl, gap = pca_fit(sets[0], axes)
    out = {"center": mu.tolist(), "axes": v.T.tolist(), "variance": var.tolist(),
           "explained": expl.tolist()}
    for name, x in zip(("before", "after", "next"), sets):
        out[name] = ((x - mu) @ v).tolist()
    return out, gap


def orth_bases(u, heads):
    dh = u.shape[0] // heads
    return [np.linalg.qr(u[k * dh:(k + 1) * dh, :].T)[0] for k in range(heads)]  # (d, dh) each


def spectrum(m):
    s = np.linalg.svd(m, compute_uv=False)
    e = np.cumsum(s ** 2) / np.sum(s ** 2)
    r90 = int(np.argmax(e >= 0.9 - 1e-12)) + 1
    return {"sigma1": float(s[0]), "normalised": (s / s[0]).tolist(), "rank90": r90}, e


def codes(z, atom=None):
    n, d = z.shape
    w = HIST_MAX / HIST_BINS
    pos = z[z != 0]
    idx = np.floor(pos / w).astype(np.int64)
    bins = np.bincount(np.clip(idx[pos < HIST_MAX], 0, None), minlength=HIST_BINS)[:HIST_BINS]
    usage = np.count_nonzero(z, axis=0)
    order = sorted(range(d), key=lambda j: (-usage[j], j))
    atom = order[0] if atom is None else atom
    return {
        "total": int(z.size),
        "zeros": int(np.sum(z == 0)),
        "histogram": {"max": HIST_MAX, "counts": bins.astype(int).tolist(),
                      "overflow": int(np.sum(pos >= HIST_MAX))},
        "nnz": np.count_nonzero(z, axis=1).astype(int).tolist(),
        "usage": usage.astype(int).tolist(),
        "mass": z.sum(axis=0).tolist(),
        "order": order,
        "atom": atom,
        "atom_map": z[:, atom].tolist(),
    }


def ista_pre(params, zhalf, l, cfg):
    pre = f"transformer.layers.{l}."
    P = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    eta, lam = float(np.float32(cfg["eta"])), float(np.float32(cfg["lambda"]))
    y = golden.layer_norm(zhalf, P[pre + "1.norm.weight"], P[pre + "1.norm.bias"])
    D = P[pre + "1.fn.weight"]
    return y + eta * ((y - y @ D.T) @ D) - eta * lam


def top2_close(vals, tol):
    """vals (K, N): tokens whose two largest values are within tol."""
    s = np.sort(vals, axis=0)
    return int(np.sum(s[-1] - s[-2] <= tol))


def report(params, cfg, ref, b, l, k):
    P = {key: np.asarray(v, dtype=np.float64) for key, v in params.items()}
    d, K, L = cfg["dim"], cfg["heads"], cfg["depth"]
    dh = d // K
    pre = f"transformer.layers.{l}."
    U = P[pre + "0.fn.qkv.weight"]
    g, beta = P[pre + "0.norm.weight"], P[pre + "0.norm.bias"]
    a_in = golden.layer_norm(ref[f"z.{l}"][b], g, beta)
    a_next = golden.layer_norm(ref[f"zout.{l}"][b], g, beta)
    w_in = ref[f"proj_in.{l}"][b]
    w_half = ref[f"proj_half.{l}"][b]
    w_next = a_next @ U.T
    assert np.allclose(a_in @ U.T, w_in, atol=1e-12)
    sets = [head_cols(w, k, dh) for w in (w_in, w_half, w_next)]
    sc, gap = scatter(sets, AXES)

    e = np.stack([np.sum(head_cols(w_in, j, dh) ** 2, axis=1) for j in range(K)])  # (K, N)
    share = e / e.sum(axis=0, keepdims=True)
    Q = orth_bases(U, K)
    cap = np.stack([np.sum((a_in @ Q[j]) ** 2, axis=1) for j in range(K)]) / np.sum(a_in ** 2, axis=1)
    energy = {"share": share.tolist(), "winner": np.argmax(share, axis=0).astype(int).tolist(),
              "captured": cap.tolist(),
              "winner_captured": np.argmax(cap, axis=0).astype(int).tolist()}

    comp = []
    for ll in range(L):
        wi, wh = ref[f"proj_in.{ll}"][b], ref[f"proj_half.{ll}"][b]
        ri = [rc_head(head_cols(wi, j, dh)) for j in range(K)]
        ro = [rc_head(head_cols(wh, j, dh)) for j in range(K)]
        assert abs(sum(ri) - ref["rc_in"][b, ll]) < 1e-8 and abs(sum(ro) - ref["rc_out"][b, ll]) < 1e-8
        comp.append({"rc_in": ri, "rc_out": ro})
    rc_next = [rc_head(head_cols(w_next, j, dh)) for j in range(K)]

    m = np.array([[np.linalg.norm(Q[i].T @ Q[j]) / np.sqrt(dh) for j in range(K)] for i in range(K)])
    off = m[~np.eye(K, dtype=bool)]
    overlap = {"matrix": m.tolist(), "random": float(np.sqrt(dh / d)),
               "offdiag_rms": float(np.sqrt(np.mean(off ** 2))),
               "union_sv": np.linalg.svd(np.concatenate(Q, axis=1), compute_uv=False).tolist(),
               "u_sv": np.linalg.svd(U, compute_uv=False).tolist()}

    z = ref[f"zout.{l}"][b]
    cd = codes(z)

    tok, heads, cum = [], [], []
    for ll in range(L + 1):
        s, c = spectrum(ref[f"z.{ll}"][b] if ll < L else ref[f"zout.{L-1}"][b])
        tok.append(s)
        cum.append(c)
    for ll in range(L):
        row = []
        for j in range(K):
            s, c = spectrum(head_cols(ref[f"proj_in.{ll}"][b], j, dh))
            row.append(s)
            cum.append(c)
        heads.append(row)

    rep = {"image": b, "layer": l, "head": k, "heads": K, "head_dim": dh, "tokens": z.shape[0],
           "scatter": sc, "energy": energy, "compression": comp, "rc_next": rc_next,
           "overlap": overlap, "codes": cd, "spectra": {"tokens": tok, "heads": heads}}

    zmax = np.abs(z).max()
    p = ista_pre(params, ref[f"zhalf.{l}"][b], l, cfg)
    pos = z[z > 0]
    edges = np.arange(HIST_BINS + 1) * (HIST_MAX / HIST_BINS)
    edge_dist = np.min(np.abs(pos[:, None] - edges[None, 1:]), axis=1)
    margins = {}
    for tol in TOLS:
        margins[f"{tol:.0e}"] = {
            "near_zero": int(np.sum(np.abs(p) <= tol * zmax)),
            "near_edge": int(np.sum(edge_dist <= tol * zmax)),
            "share_ties": top2_close(share, 2 * tol),
            "captured_ties": top2_close(cap, 2 * tol),
            "rank90_near": int(sum(np.any(np.abs(c - 0.9) <= 4 * tol) for c in cum)),
        }
    margins["scatter_gap"] = float(gap)
    margins["coords"] = {"before": sets[0].tolist(), "after": sets[1].tolist(),
                         "next": sets[2].tolist()}
    return rep, margins


def batch(params, cfg, ref, l, k, labels):
    P = {key: np.asarray(v, dtype=np.float64) for key, v in params.items()}
    d, K, L = cfg["dim"], cfg["heads"], cfg["depth"]
    dh = d // K
    pre = f"transformer.layers.{l}."
    U = P[pre + "0.fn.qkv.weight"]
    g, beta = P[pre + "0.norm.weight"], P[pre + "0.norm.bias"]
    B, N, _ = ref[f"z.{l}"].shape
    w_in = ref[f"proj_in.{l}"].reshape(B * N, d)
    w_half = ref[f"proj_half.{l}"].reshape(B * N, d)
    w_next = golden.layer_norm(ref[f"zout.{l}"], g, beta).reshape(B * N, d) @ U.T
    sc, gap = scatter([head_cols(w, k, dh) for w in (w_in, w_half, w_next)], AXES)
    rc_in = [[rc_head(head_cols(ref[f"proj_in.{l}"][b], j, dh)) for j in range(K)] for b in range(B)]
    rc_out = [[rc_head(head_cols(ref[f"proj_half.{l}"][b], j, dh)) for j in range(K)] for b in range(B)]
    classes = []
    for c in sorted(set(labels)):
        imgs = [b for b in range(B) if labels[b] == c]
        spectra = []
        for ll in range(L + 1):
            zs = ref[f"z.{ll}"] if ll < L else ref[f"zout.{L-1}"]
            spectra.append(spectrum(zs[imgs].reshape(-1, d))[0])
        usage = np.count_nonzero(ref[f"zout.{l}"][imgs].reshape(-1, d), axis=0)
        classes.append({"class": c, "images": imgs, "spectra": spectra,
                        "usage": usage.astype(int).tolist()})
    rep = {"layer": l, "head": k, "images": B, "tokens": N, "labels": labels, "scatter": sc,
           "rc_in": rc_in, "rc_out": rc_out, "classes": classes}
    z = ref[f"zout.{l}"]
    p = ista_pre(params, ref[f"zhalf.{l}"], l, cfg)
    margins = {"scatter_gap": float(gap)}
    for tol in TOLS:
        margins[f"{tol:.0e}"] = {"near_zero": int(np.sum(np.abs(p) <= tol * np.abs(z).max()))}
    return rep, margins


def check_random_baseline():
    """Monte Carlo check of E||Q_i^T Q_j||_F^2 = p^2 / d for independent random subspaces."""
    rs = np.random.RandomState(0)
    for d, p in ((24, 4), (64, 16), (30, 10)):
        vals = []
        for _ in range(2000):
            qi = np.linalg.qr(rs.randn(d, p))[0]
            qj = np.linalg.qr(rs.randn(d, p))[0]
            vals.append(np.linalg.norm(qi.T @ qj) ** 2)
        mc, exact = np.mean(vals), p * p / d
        print(f"random subspaces d={d} p={p}: MC E||Qi^T Qj||_F^2 = {mc:.4f}, p^2/d = {exact:.4f}")
        assert abs(mc - exact) < 0.03 * exact


def main():
    check_random_baseline()
    t = load_file(os.path.join(ROOT, "tests", "fixtures", "golden", "small.safetensors"))
    params = {k[len("param."):]: v for k, v in t.items() if k.startswith("param.")}
    cfg = golden.SMALL
    x = golden.golden_input(INPUT_SEED, 3, 1, 28, 28)
    ref, _ = golden.forward(params, x, cfg)
    cases, margins = [], []
    for (b, l, k) in CASES:
        rep, mg = report(params, cfg, ref, b, l, k)
        cases.append(rep)
        margins.append(mg)
        print(f"case image {b} layer {l} head {k}: scatter gap {mg['scatter_gap']:.2e}, "
              + ", ".join(f"{tol}: {v}" for tol, v in mg.items() if tol.endswith("e-05")
                          or tol.endswith("e-03")))
    brep, bmg = batch(params, cfg, ref, BATCH_CASE[0], BATCH_CASE[1], LABELS)
    print(f"batch: scatter gap {bmg['scatter_gap']:.2e}")
    out = {
        "about": "tools/subspaces_ref.py: NumPy float64 reference for src/analysis/subspaces",
        "model": "tests/fixtures/golden/small.safetensors (param.*)",
        "config": cfg,
        "input": {"seed": INPUT_SEED, "shape": list(x.shape),
                  "data": [float(v) for v in x.reshape(-1)]},
        "labels": LABELS,
        "options": {"axes": AXES, "histogram": {"bins": HIST_BINS, "max": HIST_MAX}},
        "cases": cases,
        "margins": margins,
        "batch": brep,
        "batch_margins": bmg,
        "rc_in": ref["rc_in"].tolist(),
        "rc_out": ref["rc_out"].tolist(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)}: {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
