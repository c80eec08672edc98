"""Independent NumPy reference for the attention rollout and the heads' colour overlay
(src/analysis/rollout.rs, issue 13 item 4), and the writer of tests/fixtures/rollout/small.json,
which tests/suite/rollout.rs checks the Rust module against.

Run from the repository root:  python3 tools/rollout_ref.py      (needs numpy)

Inputs (seeded here): L = 3 layers of attention for K = 3 heads over N = 17 tokens (CLS first, a
4x4 patch grid): each row a softmax of random logits, one head leaning to a block of patches.
Definitions, from the issue and the module's doc comment:
  rollout : Ã_m = ½ mean_k A_{m,k} + ½ I; for layer l, the CLS row of Ã_l Ã_{l-1} ... Ã_0 (an
            explicit float64 matrix product here), patches only.
  masks   : per head, the mass mask of its CLS row over the patches (renormalise, sort descending
            with ties to the lower index, shortest prefix reaching t = float32 0.6).
  winners : per patch, among heads whose mask holds it, the head with the largest share
            row[i] / sum(row) (ties: lower head); -1 for none.
"""

import json
import os

import numpy as np

L, K, N = 3, 3, 17
T = float(np.float32(0.6))
OUT = os.path.join("tests", "fixtures", "rollout", "small.json")


def attention(rng):
    a = np.zeros((L, K, N, N), dtype=np.float32)
    for l in range(L):
        for k in range(K):
            logits = rng.normal(size=(N, N))
            if k == 0:
                logits[:, 1:5] += 2.0  # the first row of patches
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            a[l, k] = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    return a


def rollout(a):
    out = []
    for l in range(L):
        p = np.eye(N)
        for m in range(l, -1, -1):
            p = p @ (0.5 * a[m].astype(np.float64).mean(axis=0) + 0.5 * np.eye(N))
        out.append(p[0, 1:].tolist())
    return out


def mass_mask(row, t):
    row = row.astype(np.float64)
    total = row.sum()
    order = sorted(range(len(row)), key=lambda i: (-row[i], i))
    mask = [False] * len(row)
    cum = 0.0
    for i in order:
        mask[i] = True
        cum += row[i] / total
        if cum >= t:
            break
    return mask


def winners(rows, masks):
    out = []
    for i in range(rows.shape[1]):
        best, share = -1, -1.0
        for k in range(rows.shape[0]):
            s = rows[k, i] / rows[k].astype(np.float64).sum()
            if masks[k][i] and s > share:
                best, share = k, s
        out.append(best)
    return out


def main():
    a = attention(np.random.default_rng(13))
    layers = []
    for l in range(L):
        rows = a[l, :, 0, 1:]
        masks = [mass_mask(r, T) for r in rows]
        layers.append({"masks": masks, "winners": winners(rows, masks)})
    fixture = {"layers": L, "heads": K, "tokens": N, "mass": T,
               "attention": a.reshape(-1).tolist(), "rollout": rollout(a), "per_layer": layers}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
