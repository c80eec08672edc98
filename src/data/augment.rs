//! Training-time augmentation on 8-bit images: random crop with zero padding (pad by `pad`
//! pixels on every side, crop back to the original size at a random offset) and random
//! horizontal flip. All randomness comes from [`SplitMix64`], so the same seed gives the same
//! images on every platform.

use crate::data::image_u8::ImageU8;
use crate::rng::{fnv1a64, SplitMix64};

/// Which augmentations to apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Augment {
    /// Zero padding on each side before the random crop; 0 disables cropping.
    pub pad: usize,
    /// Flip left-right with probability 1/2.
    pub flip: bool,
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
        Self { pad, flip }
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

    /// `img` augmented with choices drawn from `rng`.
    pub fn apply(&self, img: &ImageU8, rng: &mut SplitMix64) -> ImageU8 {
        let c = self.draw(rng);
        apply_choice(img, self.pad, c)
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
    fn draw_consumes_the_same_amount() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        Augment::new(0, false).draw(&mut a);
        Augment::new(4, true).draw(&mut b);
        assert_eq!(a, b);
    }
}
