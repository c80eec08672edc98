#!/usr/bin/env python3
"""Writes the page's sample gallery, web/samples/: the first Fashion-MNIST test image of each
class (28×28 gray PNG, from Debian's dataset-fashion-mnist, MIT licence) and three CC0 /
public-domain photos (copied from tests/fixtures/images, see CREDITS.md there), plus
samples.json, the manifest the page reads; and the first five synthetic shapes of the held-out
split `whitebox segment --dataset shapes` scores (64×64, one per class) with their true masks,
written by `whitebox dataset shapes`, flat (the crate-shapes model's data) and with tiled
surfaces (`--object-fill tiled`, the crate-tiles model's). Standard library only; deterministic
output.

    python3 tools/make_samples.py [--fmnist /usr/share/datasets/fashion-mnist]
                                  [--whitebox target/release/whitebox]
"""

import argparse
import gzip
import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SHAPES = ["circle", "square", "triangle", "cross", "ring"]
SHAPES_SEED = 0x5EED7E57
SHAPES_SCALE = "0.5,0.9"  # the bundled crate-shapes and crate-tiles models' --object-scale (cards)
TILES = ["dots", "grid", "blobs", "crosses", "frames"]
# The gallery's synthetic sets: (kind and file prefix, --object-fill, class names, what one is).
GALLERY_SETS = [
    ("shapes", "flat", SHAPES, "synthetic shape {i} of the held-out split"),
    ("tiles", "tiled", TILES, "synthetic object {i} of the held-out split with a tiled surface"),
]
PHOTOS = [
    ("chelsea_224.png", "Chelsea the cat", "Stéfan van der Walt, CC0 (scikit-image data)"),
    ("astronaut_224.png", "Astronaut Eileen Collins", "NASA, public domain (scikit-image data)"),
    ("coffee_224.png", "Coffee cup", "Rachel Michetti, CC0 (scikit-image data)"),
]


def png_gray(pixels, w, h):
    raw = b"".join(b"\x00" + bytes(pixels[y * w:(y + 1) * w]) for y in range(h))
    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fmnist", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--whitebox", default=str(ROOT / "target" / "release" / "whitebox"))
    a = ap.parse_args()
    d = Path(a.fmnist)
    images = gzip.open(d / "t10k-images-idx3-ubyte.gz").read()
    labels = gzip.open(d / "t10k-labels-idx1-ubyte.gz").read()
    assert struct.unpack(">I", images[:4])[0] == 2051 and struct.unpack(">I", labels[:4])[0] == 2049
    n = struct.unpack(">I", labels[4:8])[0]
    out = ROOT / "web" / "samples"
    out.mkdir(parents=True, exist_ok=True)
    samples, seen = [], set()
    for i in range(n):
        c = labels[8 + i]
        if c in seen:
            continue
        seen.add(c)
        px = images[16 + i * 784:16 + (i + 1) * 784]
        name = f"fmnist-{i:04d}-{CLASSES[c].lower().replace('/', '-').replace(' ', '-')}.png"
        (out / name).write_bytes(png_gray(px, 28, 28))
        samples.append({"file": name, "label": CLASSES[c], "kind": "fashion-mnist",
                        "credit": f"Fashion-MNIST test image {i} (Zalando Research, MIT licence)"})
        if len(seen) == len(CLASSES):
            break
    samples.sort(key=lambda s: CLASSES.index(s["label"]))
    for file, label, credit in PHOTOS:
        shutil.copyfile(ROOT / "tests" / "fixtures" / "images" / file, out / file)
        samples.append({"file": file, "label": label, "kind": "photo", "credit": credit})
    # The held-out split of `train --dataset shapes --seed 0` (seed 0x5eed7e57), images 0-4, at
    # the object scale the bundled shapes models were trained on: flat objects (crate-shapes)
    # and tiled surfaces (crate-tiles, the class is the pattern).
    for kind, fill, names, what in GALLERY_SETS:
        fill_flag = "" if fill == "flat" else f" --object-fill {fill}"
        subprocess.run([a.whitebox, "dataset", "shapes", "--out", str(out), "--size", "64",
                        "--seed", str(SHAPES_SEED), "--count", "5", "--object-scale", SHAPES_SCALE,
                        "--object-fill", fill, "--prefix", kind], check=True, stdout=subprocess.DEVNULL)
        for i, name in enumerate(names):
            stem = f"{kind}-{i:04d}-{name}"
            samples.append({"file": f"{stem}.png", "label": name, "kind": kind,
                            "credit": f"{what.format(i=i)} (whitebox dataset shapes --seed {SHAPES_SEED} "
                                      f"--object-scale {SHAPES_SCALE}{fill_flag}), CC0; true mask: {stem}.mask.png",
                            "mask": f"{stem}.mask.png"})
    (out / "samples.json").write_text(json.dumps(samples, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(samples)} samples to {out}")


if __name__ == "__main__":
    main()
