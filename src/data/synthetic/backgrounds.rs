//! Backgrounds for the page's drawing pad, as RGBA pixels: plain black or white, or one of the
//! textures the [`shapes`](super::shapes) data puts behind its objects (stripes, checker, noise)
//! with the same construction and colours from the same dark half of the range, so that a light
//! shape drawn on them looks like the data. The pad is larger than the model's input: `scale`
//! canvas pixels make one input pixel, so the texture's period is in input pixels as in the data.
//! The pad's pattern brushes paint the tiled surfaces of the same data ([`pattern_tile_rgba`]).

use super::shapes::{partner_colour, tiled_second, Surface, Texture};
use crate::rng::{fnv1a64, SplitMix64};

/// What is behind the drawing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Background {
    Black,
    White,
    Texture(Texture),
}

impl Background {
    pub const ALL: [Background; 5] = [
        Background::Black,
        Background::White,
        Background::Texture(Texture::Stripes),
        Background::Texture(Texture::Checker),
        Background::Texture(Texture::Noise),
    ];

    /// A short key (for the page's selector).
    pub fn key(self) -> &'static str {
        match self {
            Background::Black => "black",
            Background::White => "white",
            Background::Texture(Texture::Stripes) => "stripes",
            Background::Texture(Texture::Checker) => "checker",
            Background::Texture(Texture::Noise) => "noise",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.key() == key)
    }
}

/// The two texture colours: both under 106 in every channel, as the shapes data's backgrounds
/// behind a bright object.
const COLOUR_A: [u8; 3] = [24, 40, 96];
const COLOUR_B: [u8; 3] = [92, 70, 20];
/// Stripes: direction (a unit vector, exact) and period in input pixels.
const STRIPE_DIR: (f64, f64) = (0.8, 0.6);
const STRIPE_PERIOD: f64 = 6.0;
/// Checker: cell side in input pixels.
const CHECKER_CELL: usize = 4;

/// The pad's longer side is about this many canvas pixels (a whole multiple of the input).
pub const PAD_SIDE: usize = 224;

/// The pad for a model input of `[height, width]`: (canvas width, canvas height, scale), the
/// input's aspect enlarged by a whole factor to about [`PAD_SIDE`] (never below the input).
pub fn pad_geometry(input: [usize; 2]) -> (usize, usize, usize) {
    let (h, w) = (input[0].max(1), input[1].max(1));
    let scale = (PAD_SIDE / h.max(w)).max(1);
    (w * scale, h * scale, scale)
}

/// `width × height` RGBA pixels (alpha 255) of `bg`, where `scale` canvas pixels make one input
/// pixel (0 counts as 1). The noise is the same for the same size and scale.
pub fn background_rgba(bg: Background, width: usize, height: usize, scale: usize) -> Vec<u8> {
    let scale = scale.max(1);
    let (iw, ih) = (width.div_ceil(scale), height.div_ceil(scale));
    // Noise: one value per input pixel, from a fixed stream.
    let noise: Vec<usize> = if bg == Background::Texture(Texture::Noise) {
        let mut rng = SplitMix64::new(fnv1a64("draw-pad-noise"));
        (0..iw * ih).map(|_| rng.below(256)).collect()
    } else {
        Vec::new()
    };
    let mut out = vec![255u8; width * height * 4];
    for y in 0..height {
        for x in 0..width {
            let (ix, iy) = (x / scale, y / scale);
            let rgb: [u8; 3] = match bg {
                Background::Black => [0, 0, 0],
                Background::White => [255, 255, 255],
                Background::Texture(t) => {
                    let first = match t {
                        Texture::Stripes => {
                            let (px, py) = (ix as f64 + 0.5, iy as f64 + 0.5);
                            let s = (px * STRIPE_DIR.0 + py * STRIPE_DIR.1) / (STRIPE_PERIOD / 2.0);
                            (s.floor() as i64).rem_euclid(2) == 0
                        }
                        Texture::Checker => {
                            (ix / CHECKER_CELL + iy / CHECKER_CELL).is_multiple_of(2)
                        }
                        Texture::Noise => {
                            let t = noise[iy * iw + ix];
                            let mut c = [0u8; 3];
                            for (k, v) in c.iter_mut().enumerate() {
                                let (a, b) = (COLOUR_A[k] as usize, COLOUR_B[k] as usize);
                                *v = ((a * (255 - t) + b * t) / 255) as u8;
                            }
                            let o = (y * width + x) * 4;
                            out[o..o + 3].copy_from_slice(&c);
                            continue;
                        }
                    };
                    if first {
                        COLOUR_A
                    } else {
                        COLOUR_B
                    }
                }
            };
            let o = (y * width + x) * 4;
            out[o..o + 3].copy_from_slice(&rgb);
        }
    }
    out
}

/// One tile of the tiled surface `kind` (`Surface::TILED`, the `crate-tiles` model's classes):
/// `8 × scale` canvas pixels square, RGBA, in `colour` and its pattern partner
/// ([`partner_colour`], the object's side of mid-gray taken from `colour`'s mean). Repeated from
/// the canvas's corner, as a canvas pattern is, it lays the pattern on the model input's 8-pixel
/// grid exactly as the data does.
pub fn pattern_tile_rgba(kind: Surface, colour: [u8; 3], scale: usize) -> Vec<u8> {
    let scale = scale.max(1);
    let bright = colour.iter().map(|&c| c as u32).sum::<u32>() >= 3 * 128;
    let partner = partner_colour(&colour, bright);
    let side = 8 * scale;
    let mut out = vec![255u8; side * side * 4];
    for y in 0..side {
        for x in 0..side {
            let rgb = if tiled_second(kind, x / scale, y / scale) {
                &partner[..]
            } else {
                &colour[..]
            };
            let o = (y * side + x) * 4;
            out[o..o + 3].copy_from_slice(rgb);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::{Fill, ShapesConfig, ShapesDataset};

    fn px(v: &[u8], w: usize, x: usize, y: usize) -> [u8; 4] {
        let o = (y * w + x) * 4;
        [v[o], v[o + 1], v[o + 2], v[o + 3]]
    }

    #[test]
    fn plain_backgrounds_are_plain_and_opaque() {
        let b = background_rgba(Background::Black, 5, 3, 2);
        assert_eq!(b.len(), 5 * 3 * 4);
        assert!(b.chunks(4).all(|p| p == [0, 0, 0, 255]));
        let w = background_rgba(Background::White, 4, 4, 0);
        assert!(w.iter().all(|&v| v == 255));
    }

    #[test]
    fn checker_cells_are_in_input_pixels() {
        let (w, h, s) = (32, 32, 2);
        let v = background_rgba(Background::Texture(Texture::Checker), w, h, s);
        // Cells of 4 input pixels = 8 canvas pixels.
        assert_eq!(px(&v, w, 0, 0)[..3], COLOUR_A);
        assert_eq!(px(&v, w, 7, 7)[..3], COLOUR_A);
        assert_eq!(px(&v, w, 8, 0)[..3], COLOUR_B);
        assert_eq!(px(&v, w, 8, 8)[..3], COLOUR_A);
        assert!(v.chunks(4).all(|p| p[3] == 255));
    }

    #[test]
    fn stripes_and_noise_use_both_dark_colours_and_are_constant_per_input_pixel() {
        for t in [Texture::Stripes, Texture::Noise] {
            let (w, h, s) = (24, 16, 3);
            let v = background_rgba(Background::Texture(t), w, h, s);
            for y in 0..h {
                for x in 0..w {
                    let p = px(&v, w, x, y);
                    assert_eq!(p, px(&v, w, x / s * s, y / s * s), "{t:?} at {x},{y}");
                    assert!(p[..3].iter().all(|&c| c < 106), "{t:?}: dark, as the data");
                }
            }
            let distinct: std::collections::HashSet<_> =
                v.chunks(4).map(|p| [p[0], p[1], p[2]]).collect();
            assert!(distinct.len() >= 2, "{t:?} is not plain");
            assert_eq!(
                v,
                background_rgba(Background::Texture(t), w, h, s),
                "deterministic"
            );
        }
        // Stripes: colour A where the projection's half-period index is even.
        let v = background_rgba(Background::Texture(Texture::Stripes), 10, 1, 1);
        assert_eq!(px(&v, 10, 0, 0)[..3], COLOUR_A); // s = (0.4+0.3)/3 < 1
        assert_eq!(px(&v, 10, 4, 0)[..3], COLOUR_B); // s = (3.6+0.3)/3 = 1.3
    }

    #[test]
    fn the_pad_keeps_the_input_aspect_at_a_whole_scale() {
        assert_eq!(pad_geometry([28, 28]), (224, 224, 8));
        assert_eq!(pad_geometry([32, 64]), (192, 96, 3));
        assert_eq!(pad_geometry([448, 448]), (448, 448, 1));
        assert_eq!(pad_geometry([0, 0]), (224, 224, 224));
    }

    #[test]
    fn pattern_tiles_are_the_tiled_data_at_the_pad_scale() {
        // The tiled data's objects (64×64, patch 8): wherever an object pixel shows its
        // pattern's second colour, the brush tile (scale 1, any colour) shows its partner.
        let ds = ShapesDataset::new(
            ShapesConfig {
                size: [64, 64],
                len: 10,
                seed: 2,
                min_scale: 0.6,
                max_scale: 0.9,
                ..Default::default()
            }
            .with_fill(Fill::Tiled),
        )
        .unwrap();
        for i in 0..10 {
            let s = ds.sample(i);
            let kind = Surface::TILED[s.label];
            let tile = pattern_tile_rgba(kind, [230, 230, 230], 1);
            let mut seen = [0usize; 2];
            for y in 0..64 {
                for x in 0..64 {
                    let second = tile[((y % 8) * 8 + x % 8) * 4] != 230;
                    assert_eq!(second, tiled_second(kind, x, y));
                    seen[usize::from(second)] += usize::from(s.mask[y * 64 + x] == 1);
                }
            }
            assert!(seen[0] > 0 && seen[1] > 0, "{kind:?}: {seen:?}");
        }
        // At scale 3 every input pixel is a 3×3 block; the partner lies 50 away in every
        // channel, inside the bright half (down from above 202, up from below); the tile is opaque.
        let t = pattern_tile_rgba(Surface::Crosses, [240, 250, 200], 3);
        assert_eq!(t.len(), 24 * 24 * 4);
        for y in 0..24 {
            for x in 0..24 {
                let p = px(&t, 24, x, y);
                assert_eq!(p, px(&t, 24, x / 3 * 3, y / 3 * 3));
                let want = if tiled_second(Surface::Crosses, x / 3, y / 3) {
                    [190, 200, 250, 255]
                } else {
                    [240, 250, 200, 255]
                };
                assert_eq!(p, want, "{x},{y}");
            }
        }
        // A dark colour's partner is lighter, still dark.
        let d = pattern_tile_rgba(Surface::Dots, [0, 0, 0], 1);
        assert_eq!(px(&d, 8, 0, 0), [50, 50, 50, 255]);
        assert_eq!(px(&d, 8, 2, 0), [0, 0, 0, 255]);
    }

    #[test]
    fn keys_round_trip() {
        for b in Background::ALL {
            assert_eq!(Background::from_key(b.key()), Some(b));
        }
        assert_eq!(Background::from_key("plaid"), None);
    }
}
