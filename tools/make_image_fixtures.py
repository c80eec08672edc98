#!/usr/bin/env python3
"""Regenerates the image fixtures under tests/fixtures/images/.

Needs Pillow and scikit-image's bundled sample photos (Debian: `apt-get install python3-skimage
python3-pil`; run with the interpreter that has them, e.g. `/usr/bin/python3
tools/make_image_fixtures.py`). Licences of the photos: see tests/fixtures/images/CREDITS.md.

Outputs (all deterministic for a given Pillow version):
  <photo>_224.png, <photo>_32.png  centre square crop of the photo, resized with Lanczos
  orient6.jpg                      16x8 JPEG (left half red, right half blue) whose EXIF
                                   orientation is 6 ("rotate 90 CW to display"); displayed
                                   correctly it is 8 wide, 16 tall, red on top, blue below.
"""

import os
import sys

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "images")

# name in skimage.data -> (credit, licence); kept in step with CREDITS.md.
PHOTOS = ["astronaut", "chelsea", "coffee"]
SIZES = [224, 32]


def skimage_data_dir():
    try:
        import skimage

        d = os.path.join(os.path.dirname(skimage.__file__), "data")
        if os.path.isdir(d):
            return d
    except ImportError:
        pass
    d = "/usr/lib/python3/dist-packages/skimage/data"
    if os.path.isdir(d):
        return d
    sys.exit("scikit-image's data folder not found (apt-get install python3-skimage)")


def centre_square(im):
    w, h = im.size
    s = min(w, h)
    left = (w - s) // 2
    top = (h - s) // 2
    return im.crop((left, top, left + s, top + s))


def photos():
    data = skimage_data_dir()
    for name in PHOTOS:
        im = Image.open(os.path.join(data, name + ".png")).convert("RGB")
        sq = centre_square(im)
        for s in SIZES:
            out = os.path.join(OUT, f"{name}_{s}.png")
            sq.resize((s, s), Image.LANCZOS).save(out, optimize=True)
            print(out, os.path.getsize(out), "bytes")


def orient6():
    im = Image.new("RGB", (16, 8), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 8, 8))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the stored image must be rotated 90 degrees clockwise.
    out = os.path.join(OUT, "orient6.jpg")
    im.save(out, quality=95, subsampling=0, exif=exif.tobytes())
    print(out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    photos()
    orient6()
