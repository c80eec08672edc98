"""Independent NumPy reference for `whitebox segment`'s numbers (issue 13, part 2), and the writer
of tests/fixtures/segment/small.json, which tests/suite/segment.rs checks the Rust module against.

Run from the repository root:  python3 tools/segment_ref.py
Needs:  pip install numpy

The fixture's inputs are made here (seeded): CLS attention rows (softmax over N = 17 tokens, CLS
first, of logits that lean towards the object for some heads and are noise or constant for others)
for L = 2 layers and K = 3 heads on a 16x16 input with 4x4 patches, and pixel masks of several
sizes fitted to the input by each resize mode. The expected outputs are recomputed from the
definitions below, written from the issue and src/analysis/segment.rs's doc comment:

  fit     : nearest neighbour, destination index i takes source floor((i + 0.5) * src / dst)
            (clamped); `stretch` resizes to the input size, `imagenet` resizes to torchvision's
            Resize(round(t * 256/224)) geometry then centre-crops (ties-to-even rounding),
            `none` keeps the mask.
  truth   : patch foreground iff more than half of its p*p pixels are (exactly half: background).
            Also written, for `--truth any` / `outline`: at least one pixel / some but not all.
  IoU     : |A & B| / |A | B|; 1 when both are empty.
  mass    : renormalise the patch row over the patches (float64 sum of the float32 values, in
            order), sort descending (ties: lower index), keep the shortest prefix whose cumulative
            mass reaches t (t = float32 0.6 widened to float64). Mean map: float32 mean of the
            heads' rows (summed in head order, divided by K in float32).
  fixed   : (v - min) / (max - min) in float64 (all zeros for a constant map), foreground where
            >= theta, theta = k / 20 for k = 1..19; per (layer, map) the theta with the highest
            mean IoU over the images (ties: lower theta).
  share   : the row's mass on the truth patches over its whole mass (float64 sums of the float32
            values, in patch order); 0 when the row has no positive mass. Mean over images.
  summary : mask_area = mean fraction of foreground patches; all_foreground_miou = mean IoU of the
            all-true mask; best layers by the head-mean map's mIoU (ties: lower layer).
"""

import json
import os

import numpy as np

SIZE = (16, 16)
PATCH = 4
LAYERS, HEADS = 2, 3
MASS = float(np.float32(0.6))
GRID = [k / 20 for k in range(1, 20)]
OUT = os.path.join("tests", "fixtures", "segment", "small.json")


def py_round(x):
    return int(round(x))  # Python 3's round is ties-to-even, as torchvision's arithmetic


def imagenet_geometry(image, target):
    ih, iw = max(image[0], 1), max(image[1], 1)
    rh, rw = (max(py_round(t * 256.0 / 224.0), t) for t in target)
    if rh * iw >= rw * ih:
        resized = [rh, max(iw * rh // ih, rw)]
    else:
        resized = [max(ih * rw // iw, rh), rw]
    offset = [py_round((resized[i] - target[i]) / 2.0) for i in range(2)]
    return resized, offset


def nearest(mask, dst):
    h, w = mask.shape
    ys = np.minimum((2 * np.arange(dst[0]) + 1) * h // (2 * dst[0]), h - 1)
    xs = np.minimum((2 * np.arange(dst[1]) + 1) * w // (2 * dst[1]), w - 1)
    return mask[np.ix_(ys, xs)]


def fit(mask, resize):
    if resize == "none":
        return mask
    if resize == "stretch":
        return nearest(mask, SIZE)
    resized, off = imagenet_geometry(mask.shape, SIZE)
    big = nearest(mask, resized)
    return big[off[0]:off[0] + SIZE[0], off[1]:off[1] + SIZE[1]]


def counts(mask, p):
    gh, gw = mask.shape[0] // p, mask.shape[1] // p
    return mask[:gh * p, :gw * p].reshape(gh, p, gw, p).sum(axis=(1, 3)).reshape(-1)


def majority(mask, p):
    return 2 * counts(mask, p) > p * p


def any_pixel(mask, p):
    return counts(mask, p) > 0


def outline(mask, p):
    c = counts(mask, p)
    return (c > 0) & (c < p * p)


def iou(a, b):
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else np.logical_and(a, b).sum() / union


def mass_mask(row, t):
    vals = [float(v) for v in row]
    total = 0.0
    for v in vals:
        total += v
    out = np.zeros(len(vals), dtype=bool)
    if not total > 0.0:
        return out
    order = sorted(range(len(vals)), key=lambda i: (-vals[i], i))
    cum = 0.0
    for i in order:
        out[i] = True
        cum += vals[i] / total
        if cum >= t:
            break
    return out


def object_share(row, truth):
    total, on = 0.0, 0.0
    for v, t in zip(row, truth):
        total += float(v)
        if t:
            on += float(v)
    return on / total if total > 0.0 else 0.0


def mean_map(rows):
    acc = np.zeros(rows.shape[1], dtype=np.float32)
    for r in rows:
        acc = (acc + r).astype(np.float32)
    return (acc / np.float32(rows.shape[0])).astype(np.float32)


def minmax(row):
    v = row.astype(np.float64)
    span = v.max() - v.min()
    return np.zeros_like(v) if not span > 0 else (v - v.min()) / span


def make_inputs():
    rng = np.random.default_rng(13)
    images = []

    def disc(h, w, cy, cx, r):
        y, x = np.mgrid[0:h, 0:w]
        return ((y + 0.5 - cy) ** 2 + (x + 0.5 - cx) ** 2 <= r * r).astype(np.uint8)

    tie = np.zeros(SIZE, dtype=np.uint8)
    tie[0:4, 0:2] = 1  # patch (0, 0) exactly half: background
    tie[4:8, 4:7] = 1  # patch (1, 1) three quarters: foreground
    tie[8:16, 8:16] = 1
    specs = [
        ("disc-none", disc(16, 16, 7.0, 9.0, 5.0), "none"),
        ("disc-stretch", disc(20, 28, 9.0, 12.0, 7.0), "stretch"),
        ("disc-imagenet", disc(24, 20, 13.0, 8.0, 6.5), "imagenet"),
        ("wide-imagenet", disc(18, 40, 8.0, 22.0, 8.0), "imagenet"),
        ("empty", np.zeros(SIZE, dtype=np.uint8), "none"),
        ("ties", tie, "none"),
    ]
    for name, mask, resize in specs:
        truth = majority(fit(mask.astype(bool), resize), PATCH)
        cls = []
        for l in range(LAYERS):
            heads = []
            for k in range(HEADS):
                n = SIZE[0] // PATCH * SIZE[1] // PATCH
                if (l, k) == (1, 2):
                    logits = np.zeros(n + 1)  # uniform: a constant map
                else:
                    lean = [2.5, 0.8, 0.0][k] * (l + 1)
                    logits = rng.normal(0, 1, n + 1)
                    logits[1:] += lean * truth
                e = np.exp(logits - logits.max())
                p = (e / e.sum()).astype(np.float32)
                heads.append(p[1:])
            cls.append(np.stack(heads))
        images.append((name, mask, resize, truth, np.stack(cls)))
    return images


def main():
    images = make_inputs()
    maps = HEADS + 1
    mass_sum = np.zeros((LAYERS, maps))
    share_sum = np.zeros((LAYERS, maps))
    grid_sum = np.zeros((LAYERS, maps, len(GRID)))
    records = []
    area, allfg = 0.0, 0.0
    for name, mask, resize, truth, cls in images:
        rec_mass, rec_iou_mass, rec_iou_grid = [], [], []
        for l in range(LAYERS):
            rows = list(cls[l]) + [mean_map(cls[l])]
            mm, im, ig = [], [], []
            for k, row in enumerate(rows):
                m = mass_mask(row, MASS)
                mm.append(m.astype(int).tolist())
                im.append(float(iou(m, truth)))
                norm = minmax(row)
                ig.append([float(iou(norm >= t, truth)) for t in GRID])
                mass_sum[l, k] += im[-1]
                share_sum[l, k] += object_share(row, truth)
                grid_sum[l, k] += ig[-1]
            rec_mass.append(mm)
            rec_iou_mass.append(im)
            rec_iou_grid.append(ig)
        area += truth.mean()
        allfg += iou(np.ones_like(truth), truth)
        records.append({
            "name": name,
            "resize": resize,
            "mask_size": list(mask.shape),
            "mask": mask.reshape(-1).astype(int).tolist(),
            # float32 values, printed so that they parse back to the same float32.
            "cls": [[[float(v) for v in row] for row in layer] for layer in cls],
            "truth": truth.astype(int).tolist(),
            "truth_any": any_pixel(fit(mask.astype(bool), resize), PATCH).astype(int).tolist(),
            "truth_outline": outline(fit(mask.astype(bool), resize), PATCH).astype(int).tolist(),
            "mass_masks": rec_mass,
            "iou_mass": rec_iou_mass,
            "iou_grid": rec_iou_grid,
        })
    n = len(images)
    summary = []
    for l in range(LAYERS):
        layer = []
        for k in range(maps):
            means = grid_sum[l, k] / n
            b = int(np.argmax(means))  # first maximum: the lower theta
            layer.append({"miou_mass": mass_sum[l, k] / n, "best_threshold": GRID[b],
                          "miou_best": float(means[b]), "object_share": share_sum[l, k] / n})
        summary.append(layer)
    fixture = {
        "size": list(SIZE), "patch": PATCH, "layers": LAYERS, "heads": HEADS, "mass": MASS,
        "grid": GRID, "images": records,
        "expected": {
            "layers": summary,
            "mask_area": area / n,
            "all_foreground_miou": allfg / n,
            "best_layer_mass": int(np.argmax([s[HEADS]["miou_mass"] for s in summary])),
            "best_layer_fixed": int(np.argmax([s[HEADS]["miou_best"] for s in summary])),
        },
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}")
    for l, s in enumerate(summary):
        print(l, " ".join(f"{m['miou_mass']:.3f}/{m['miou_best']:.3f}@{m['best_threshold']:.2f}"
                          for m in s))


if __name__ == "__main__":
    main()
