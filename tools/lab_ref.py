"""Independent NumPy/SciPy (float64) reference for the Subspace lab (issue 12), and the writer of
tests/fixtures/lab/<preset>.json.

Run from the repository root after `cargo build --release --bin whitebox`:
    python3 tools/lab_ref.py            (all fixture presets)
Needs:  pip install numpy scipy   (SciPy for `subspace_angles` and `linear_sum_assignment`)

For each preset it asks the native CLI for the preset's settings and generated inputs
(`whitebox lab inputs --preset NAME`: tokens, labels, true bases, operator heads, clustering points
and the first-layer weights of a CRATE trained 40 steps on the mixture), recomputes every number of
`whitebox lab run --json` here in matrix form, and writes {config, inputs, pullback, expected}.
The generator itself is checked by the Rust test (regenerating must give the fixture's inputs
bit for bit); everything downstream of the inputs is computed here independently.

Definitions (src/analysis/lab/ documents the same; tokens are rows of Z (N, d)):
  MSSA   for each operator head B (d, q): X = Z B, S = X X^T,
           softmax:   A = softmax over each row of S / sqrt(q)
           threshold: theta = threshold * mean(diag S); A = S * [S >= theta], rows divided by
                      their sum (rows summing to 0 stay 0)
         Z <- Z + eta * sum_h (A X) B^T
  ISTA   D (d, m): identity, or [U_1 .. U_K, -U_1 .. -U_K]; z0 = relu(Z D);
         codes = relu(z0 + eta_i (Z - z0 D^T) D - eta_i lambda); Z <- codes D^T;
         non-zero fraction = mean(codes != 0)
  SNR_k  = ||Z_k P_k||_F / ||Z_k - Z_k P_k||_F, Z_k the rows labelled k, P_k = U_k U_k^T
  theory = (1 + eta)^l SNR_k(0)
  R^c    = sum_k 1/2 logdet(I_N + p/(N 0.01) Xn Xn^T), Xn = rows of Z U_k scaled to unit norm
           (the N x N form; Rust uses the p x p Gram form)
  scatter: Z U_focus[:, :min(p, 3)];  raw3: Z when d = 3
  angles: scipy.linalg.subspace_angles (degrees); true_angles[i][j] = their mean; min_angle = the
         smallest angle over pairs i < j (90 for K = 1); heads_match: cost[k][h] = mean angle
         between U_k and head h, assignment by scipy.optimize.linear_sum_assignment, the matched
         pairs' angles (ascending) and their overall mean
  coding length (bits): L(W) = (m + 3)/2 log2 det(I + 3/(m eps^2) W^T W) (uncentred),
         L^s = sum_j L(W_j) - m_j log2(m_j / M); greedy pairwise merging from singletons, merging
         the pair (i < j) with the most negative change (ties to the first), merged group at i;
         eps grid 10^(-3 + 4 i / 24), i = 0..24
  pullback: E = diag(g0) C_D diag(ge) C_D W_e diag(gP) C_d (C_n = I - 11^T/n), head k's
         data-space basis = (U_k E)^T (d, dh); matched to the true bases as above
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from scipy.linalg import subspace_angles
from scipy.optimize import linear_sum_assignment

PRESETS = ["default", "random", "extra-heads", "sparse", "clustering"]
OUT = Path("tests/fixtures/lab")
BIN = Path("target/release/whitebox")
RC_EPS = 0.01


def mat(x, rows, cols):
    return np.asarray(x, dtype=np.float32).astype(np.float64).reshape(rows, cols)


def attention(x, phi, threshold):
    q = x.shape[1]
    s = x @ x.T
    if phi == "softmax":
        s = s / np.sqrt(q)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    theta = threshold * np.mean(np.diag(s))
    a = np.where(s >= theta, s, 0.0)
    sums = a.sum(axis=1, keepdims=True)
    return np.divide(a, sums, out=np.zeros_like(a), where=sums > 0)


def snr(z, labels, bases):
    out = []
    for k, u in enumerate(bases):
        zk = z[labels == k]
        if len(zk) == 0:
            out.append(float("nan"))
            continue
        proj = zk @ u @ u.T
        out.append(float(np.linalg.norm(proj) / np.linalg.norm(zk - proj)))
    return out


def coding_rate(z, bases):
    n = z.shape[0]
    total = 0.0
    for u in bases:
        x = z @ u
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        p = u.shape[1]
        total += 0.5 * np.linalg.slogdet(np.eye(n) + p / (n * RC_EPS) * x @ x.T)[1]
    return float(total)


def angles_deg(a, b):
    return np.sort(np.degrees(subspace_angles(a, b)))


def matching(truth, learned):
    cost = np.array([[angles_deg(t, h).mean() for h in learned] for t in truth])
    rows, cols = linear_sum_assignment(cost)
    assign = [int(c) for _, c in sorted(zip(rows, cols))]
    angles = [angles_deg(truth[k], learned[h]).tolist() for k, h in enumerate(assign)]
    return {
        "learned": assign,
        "angles": angles,
        "mean_angle": float(np.mean(np.concatenate(angles))),
        "cost": cost.tolist(),
    }


def L(gram, m, eps):
    dim = gram.shape[0]
    return (m + dim) / 2 * np.linalg.slogdet(np.eye(dim) + dim / (m * eps * eps) * gram)[1] / np.log(2)


def seg_cost(gram, m, total, eps):
    return L(gram, m, eps) - m * np.log2(m / total)


def segmentation_length(points, labels, eps):
    total = len(points)
    return float(sum(
        seg_cost(points[labels == g].T @ points[labels == g], int((labels == g).sum()), total, eps)
        for g in np.unique(labels)
    ))


def greedy(points, eps):
    total = len(points)
    grams = [np.outer(x, x) for x in points]
    ms = [1] * total
    members = [[i] for i in range(total)]
    cost = [seg_cost(g, 1, total, eps) for g in grams]

    def pair(i, j):
        return seg_cost(grams[i] + grams[j], ms[i] + ms[j], total, eps) - cost[i] - cost[j]

    gain = {(i, j): pair(i, j) for i in range(total) for j in range(i + 1, total)}
    while True:
        best = None
        g = len(grams)
        for i in range(g):
            for j in range(i + 1, g):
                v = gain[(i, j)]
                if v < 0 and (best is None or v < best[0]):
                    best = (v, i, j)
        if best is None:
            break
        _, i, j = best
        grams[i] = grams[i] + grams[j]
        ms[i] += ms[j]
        members[i] += members[j]
        del grams[j], ms[j], members[j], cost[j]
        cost[i] = seg_cost(grams[i], ms[i], total, eps)
        g = len(grams)
        # Re-index the pair table after removing j.
        new = {}
        for (a, b), v in gain.items():
            if a == j or b == j:
                continue
            new[(a - (a > j), b - (b > j))] = v
        gain = new
        for o in range(g):
            if o < i:
                gain[(o, i)] = pair(o, i)
            elif o > i:
                gain[(i, o)] = pair(i, o)
    return len(grams), float(sum(cost))


def coding_curve(points, labels, noise):
    eps = [10 ** (-3 + 4 * i / 24) for i in range(25)]
    c = {"eps": eps, "greedy": [], "groups": [], "one_group": [], "truth": [], "noise": noise}
    one = np.zeros(len(points), dtype=int)
    for e in eps:
        groups, s = greedy(points, e)
        c["greedy"].append(s)
        c["groups"].append(groups)
        c["one_group"].append(segmentation_length(points, one, e))
        c["truth"].append(segmentation_length(points, labels, e))
    return c


def pullback(w):
    d, dm, heads = w["d"], w["dim"], w["heads"]
    dh = dm // heads
    cd = np.eye(d) - np.ones((d, d)) / d
    cD = np.eye(dm) - np.ones((dm, dm)) / dm
    f = lambda x: np.asarray(x, dtype=np.float32).astype(np.float64)
    e = (np.diag(f(w["gamma_0"])) @ cD @ np.diag(f(w["gamma_e"])) @ cD
         @ f(w["w_e"]).reshape(dm, d) @ np.diag(f(w["gamma_p"])) @ cd)
    u = f(w["u"]).reshape(dm, dm)
    return [(u[k * dh:(k + 1) * dh] @ e).T for k in range(heads)]


def reference(cfg, inp, pb):
    n, d, p, q, k = cfg["n"], cfg["d"], cfg["p"], cfg["head_dim"], cfg["k"]
    z = mat(inp["tokens"], n, d)
    labels = np.array(inp["labels"])
    bases = [mat(b, d, p) for b in inp["bases"]]
    heads = [mat(h, d, q) for h in inp["heads"]]
    if cfg["dictionary"] == "identity":
        dic = np.eye(d)
    else:
        dic = np.concatenate(bases + [-b for b in bases], axis=1)
    keep = min(p, 3)
    out = {"counts": [int((labels == j).sum()) for j in range(k)], "snr": [], "rc": [],
           "nonzero": [], "scatter": [], "raw3": []}
    for layer in range(cfg["layers"] + 1):
        if layer > 0:
            delta = np.zeros_like(z)
            for b in heads:
                x = z @ b
                delta += attention(x, cfg["phi"], cfg["threshold"]) @ x @ b.T
            z = z + cfg["eta"] * delta
            if cfg["ista"]:
                z0 = np.maximum(z @ dic, 0.0)
                codes = np.maximum(
                    z0 + cfg["ista_eta"] * (z - z0 @ dic.T) @ dic - cfg["ista_eta"] * cfg["lambda"], 0.0)
                z = codes @ dic.T
                out["nonzero"].append(float(np.mean(codes != 0)))
        out["snr"].append(snr(z, labels, bases))
        out["rc"].append(coding_rate(z, bases))
        out["scatter"].append((z @ bases[cfg["focus"]])[:, :keep].tolist())
        if d == 3:
            out["raw3"].append(z.tolist())
    out["theory"] = [[s * (1 + cfg["eta"]) ** layer for s in out["snr"][0]]
                     for layer in range(cfg["layers"] + 1)]
    out["true_angles"] = [[float(angles_deg(a, b).mean()) for b in bases] for a in bases]
    pairs = [angles_deg(bases[i], bases[j])[0] for i in range(k) for j in range(i + 1, k)]
    out["min_angle"] = float(min(pairs)) if pairs else 90.0
    out["heads_match"] = matching(bases, heads) if cfg["heads"] >= k else None
    pts = mat(inp["points"], len(inp["point_labels"]), 3)
    out["coding"] = coding_curve(pts, np.array(inp["point_labels"]), cfg["cluster_noise"])
    out["recovery"] = matching(bases, pullback(pb))
    return out


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    names = sys.argv[1:] or PRESETS
    for name in names:
        raw = subprocess.run([str(BIN), "lab", "inputs", "--preset", name],
                             check=True, capture_output=True, text=True).stdout
        src = json.loads(raw)
        expected = reference(src["config"], src["inputs"], src["pullback"])
        src["preset"] = name
        src["expected"] = expected
        (OUT / f"{name}.json").write_text(json.dumps(src))
        print(f"{name}: SNR layer 0 {np.round(expected['snr'][0], 3).tolist()} -> "
              f"{np.round(expected['snr'][-1], 3).tolist()}, R^c {expected['rc'][0]:.3f} -> "
              f"{expected['rc'][-1]:.3f}, recovery {expected['recovery']['mean_angle']:.2f} deg")


if __name__ == "__main__":
    main()
