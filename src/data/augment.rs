//! Training-time augmentation on 8-bit images: random crop with zero padding (pad by `pad`
//! pixels on every side, crop back to the original size at a random offset), random
//! horizontal flip, and hide-and-seek (Singh & Lee 2017: every cell of a grid is painted over
//! with a constant with some probability). All randomness comes from [`SplitMix64`], so the same
//! seed gives the same images on every platform.
//!
//! Why hiding: a classifier told apart shapes by a few discriminative patches (a cross's arm
//! tips, a square's corners) attends to those only; when any of them may be hidden, it has to
//! find evidence all over the object, which is what a segmentation-like attention map needs.

use crate::data::image_u8::ImageU8;
use crate::rng::{fnv1a64, SplitMix64};

/// Which augmentations to apply.
#[derive(Clone, Copy, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Augment {
    /// Zero padding on each side before the random crop; 0 disables cropping.
    pub pad: usize,
    /// Flip left-right with probability 1/2.
    pub flip: bool,
    /// Hide-and-seek after the crop and flip, when set. (Absent from runs saved before it
    /// existed, which therefore resume without it.)
    #[serde(default)]
    pub hide: Option<Hide>,
}

/// Hide-and-seek: the image is cut into `cell`×`cell` squares (the last row and column may be
/// smaller) and each is filled with `fill` in every channel with probability `prob`. With `cell`
/// equal to the model's patch size a hidden cell is one constant token; `fill` at the
/// normalisation mean makes that token the zero input, as the paper's dataset-mean fill does.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hide {
    pub cell: usize,
    pub prob: f32,
    pub fill: u8,
}

/// What [`Augment::draw`] chose for one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AugmentChoice {
    /// Crop offset in the padded image, each in `0..=2 * pad`; `(pad, pad)` is no shift.
    pub offset: (usize, usize),
    pub flip: bool,
}

impl Augment {
    /// The standard recipe for small images: pad 2 (28×28) or 4 (32×32) with flips; no flips for
    /// data whose classes are not mirror-symmetric is the caller's choice.
    pub fn new(pad: usize, flip: bool) -> Self {
        Self {
            pad,
            flip,
            hide: None,
        }
    }

    /// The same with hide-and-seek.
    pub fn with_hide(self, hide: Option<Hide>) -> Self {
        Self { hide, ..self }
    }

    /// Draws the random choices. Always consumes exactly three values from `rng`, whatever the
    /// settings, so that turning one augmentation off does not shift the others' streams.
    pub fn draw(&self, rng: &mut SplitMix64) -> AugmentChoice {
        let span = 2 * self.pad + 1;
        let dy = rng.below(span);
        let dx = rng.below(span);
        let flip = rng.below(2) == 1;
        AugmentChoice {
            offset: (dy, dx),
            flip: self.flip && flip,
        }
    }

    /// `img` augmented with choices drawn from `rng`. The hiding draws come after the crop and
    /// flip's three, so turning hiding on or off leaves the crops and flips as they were.
    pub fn apply(&self, img: &ImageU8, rng: &mut SplitMix64) -> ImageU8 {
        let c = self.draw(rng);
        let mut out = apply_choice(img, self.pad, c);
        if let Some(h) = &self.hide {
            h.apply(&mut out, rng);
        }
        out
    }
}

impl Hide {
    /// Paints over cells of `img` in place. Draws exactly one value per cell (row-major), hidden
    /// or not, so the pattern depends only on the generator and the grid.
    pub fn apply(&self, img: &mut ImageU8, rng: &mut SplitMix64) {
        let cell = self.cell.max(1);
        let (h, w, c) = (img.height, img.width, img.channels);
        for y0 in (0..h).step_by(cell) {
            for x0 in (0..w).step_by(cell) {
                if rng.next_f32() >= self.prob {
                    continue;
                }
                for y in y0..(y0 + cell).min(h) {
                    let row = (y * w + x0) * c;
                    let end = (y * w + (x0 + cell).min(w)) * c;
                    img.pixels[row..end].fill(self.fill);
                }
            }
        }
    }
}

/// `img` padded by `pad`, cropped at `choice.offset`, then flipped if `choice.flip`.
pub fn apply_choice(img: &ImageU8, pad: usize, choice: AugmentChoice) -> ImageU8 {
    let cropped = if pad == 0 {
        img.clone()
    } else {
        pad_crop(img, pad, choice.offset)
    };
    if choice.flip {
        hflip(&cropped)
    } else {
        cropped
    }
}

/// Mirrors `img` left-right.
pub fn hflip(img: &ImageU8) -> ImageU8 {
    let (w, c) = (img.width, img.channels);
    let mut out = img.clone();
    for (src, dst) in img
        .pixels
        .chunks_exact(w * c)
        .zip(out.pixels.chunks_exact_mut(w * c))
    {
        for x in 0..w {
            dst[x * c..(x + 1) * c].copy_from_slice(&src[(w - 1 - x) * c..(w - x) * c]);
        }
    }
    out
}

/// Pads `img` with `pad` zero pixels on every side and crops a window of the original size whose
/// top-left corner is `offset = (dy, dx)` in the padded image (`(pad, pad)` gives `img` back).
/// Offsets beyond `2 * pad` are clamped.
pub fn pad_crop(img: &ImageU8, pad: usize, offset: (usize, usize)) -> ImageU8 {
    let (h, w, c) = (img.height, img.width, img.channels);
    let (dy, dx) = (offset.0.min(2 * pad), offset.1.min(2 * pad));
    let mut out = ImageU8::zeros(h, w, c);
    for y in 0..h {
        // Source row in the original image: y + dy - pad.
        let Some(sy) = (y + dy).checked_sub(pad).filter(|&s| s < h) else {
            continue;
        };
        for x in 0..w {
            let Some(sx) = (x + dx).checked_sub(pad).filter(|&s| s < w) else {
                continue;
            };
            let (d, s) = ((y * w + x) * c, (sy * w + sx) * c);
            out.pixels[d..d + c].copy_from_slice(&img.pixels[s..s + c]);
        }
    }
    out
}

/// The generator for item `index` in epoch `epoch` of a run seeded with `seed`: independent of
/// batch size and data order, so that resumed runs augment exactly as uninterrupted ones.
pub fn sample_rng(seed: u64, epoch: u64, index: u64) -> SplitMix64 {
    let a = SplitMix64::new(seed ^ fnv1a64("augment")).next_u64();
    let b = SplitMix64::new(a ^ epoch).next_u64();
    SplitMix64::new(b ^ index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(h: usize, w: usize, c: usize) -> ImageU8 {
        ImageU8 {
            height: h,
            width: w,
            channels: c,
            pixels: (0..h * w * c).map(|i| (i % 255 + 1) as u8).collect(),
        }
    }

    #[test]
    fn shifts_move_content() {
        let img = ramp(5, 6, 3);
        // Offset (pad + 1, pad): the output row y is the input row y + 1; the last row is padding.
        let out = pad_crop(&img, 2, (3, 2));
        assert_eq!(out.at(0, 4, 1), img.at(1, 4, 1));
        assert!((0..6).all(|x| out.at(4, x, 0) == 0));
        let f = hflip(&img);
        assert_eq!(f.at(2, 0, 2), img.at(2, 5, 2));
    }

    #[test]
    fn hiding_fills_whole_cells_at_the_rate_asked() {
        let img = ramp(20, 18, 3);
        let never = Hide {
            cell: 8,
            prob: 0.0,
            fill: 128,
        };
        let mut out = img.clone();
        never.apply(&mut out, &mut SplitMix64::new(1));
        assert_eq!(out, img);
        let always = Hide { prob: 1.0, ..never };
        let mut out = img.clone();
        always.apply(&mut out, &mut SplitMix64::new(1));
        assert!(out.pixels.iter().all(|&p| p == 128));
        // Half the cells over many images: each 8×8 cell (3×3 grid with ragged edges) is
        // either untouched or entirely the fill, and about half of them are hidden.
        let half = Hide { prob: 0.5, ..never };
        let mut rng = SplitMix64::new(9);
        let mut hidden = 0;
        let trials = 400;
        for _ in 0..trials {
            let mut out = img.clone();
            half.apply(&mut out, &mut rng);
            for (cy, cx) in (0..3).flat_map(|y| (0..3).map(move |x| (y, x))) {
                let cells: Vec<(usize, usize)> = (cy * 8..(cy * 8 + 8).min(20))
                    .flat_map(|y| (cx * 8..(cx * 8 + 8).min(18)).map(move |x| (y, x)))
                    .collect();
                let filled = cells
                    .iter()
                    .all(|&(y, x)| (0..3).all(|ch| out.at(y, x, ch) == 128));
                let kept = cells
                    .iter()
                    .all(|&(y, x)| (0..3).all(|ch| out.at(y, x, ch) == img.at(y, x, ch)));
                assert!(filled ^ kept, "cell ({cy}, {cx}) partly hidden");
                hidden += usize::from(filled);
            }
        }
        let rate = hidden as f64 / (trials * 9) as f64;
        assert!((rate - 0.5).abs() < 0.05, "hidden rate {rate}");
    }

    #[test]
    fn hiding_keeps_the_crop_and_flip_streams() {
        let img = ramp(16, 16, 3);
        let plain = Augment::new(2, true);
        let hiding = plain.with_hide(Some(Hide {
            cell: 4,
            prob: 0.3,
            fill: 128,
        }));
        let a = plain.apply(&img, &mut SplitMix64::new(5));
        let b = hiding.apply(&img, &mut SplitMix64::new(5));
        assert_ne!(a, b);
        // Every pixel not painted over is the crop-and-flip result.
        for (pa, pb) in a.pixels.iter().zip(&b.pixels) {
            assert!(pa == pb || *pb == 128);
        }
        let old: Augment = serde_json::from_str(r#"{"pad":2,"flip":true}"#).unwrap();
        assert_eq!(old, plain);
    }

    #[test]
    fn draw_consumes_the_same_amount() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        Augment::new(0, false).draw(&mut a);
        Augment::new(4, true).draw(&mut b);
        assert_eq!(a, b);
    }
}
