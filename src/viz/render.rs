//! RGBA pictures of maps on the patch grid, drawn over the image the model saw.

use super::colormap::{inferno, INFERNO};
use super::grid_px::Axis;
use crate::data::image::Rgba8Image;

/// An RGB byte image (3 bytes per pixel, row-major) scaled by an integer factor with nearest
/// neighbour, so that small inputs (28×28) show their pixels crisply, as RGBA.
pub fn upscale(rgb: &[u8], width: usize, height: usize, factor: usize) -> Rgba8Image {
    let f = factor.max(1);
    let (w, h) = (width * f, height * f);
    let mut data = Vec::with_capacity(w * h * 4);
    for y in 0..h {
        for x in 0..w {
            let i = ((y / f) * width + x / f) * 3;
            data.extend_from_slice(&[rgb[i], rgb[i + 1], rgb[i + 2], 255]);
        }
    }
    Rgba8Image {
        width: w as u32,
        height: h as u32,
        data,
    }
}

/// Half the size (each side rounded down, at least 1), each pixel the mean of a 2×2 block: a
/// thumbnail at a quarter of the drawing cost.
pub fn half(img: &Rgba8Image) -> Rgba8Image {
    let (w, h) = (img.width as usize, img.height as usize);
    let (hw, hh) = ((w / 2).max(1), (h / 2).max(1));
    let mut data = Vec::with_capacity(hw * hh * 4);
    for y in 0..hh {
        for x in 0..hw {
            for c in 0..4 {
                let at = |dx: usize, dy: usize| {
                    let (sx, sy) = ((2 * x + dx).min(w - 1), (2 * y + dy).min(h - 1));
                    img.data[(sy * w + sx) * 4 + c] as u32
                };
                data.push(((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1) + 2) / 4) as u8);
            }
        }
    }
    Rgba8Image {
        width: hw as u32,
        height: hh as u32,
        data,
    }
}

/// Min-max scaling to [0, 1]; a constant map becomes all zeros.
pub(crate) fn normalise(map: &[f32]) -> Vec<f32> {
    let (lo, hi) = map
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let span = hi - lo;
    map.iter()
        .map(|&v| {
            if span > 0.0 && v.is_finite() {
                (v - lo) / span
            } else {
                0.0
            }
        })
        .collect()
}

/// How an attention map is drawn over the image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OverlayStyle {
    /// Opacity of the colour map over the image, 0 (image only) to 1 (map only).
    pub opacity: f32,
    /// Smooth (bilinear) or blocky (one colour per patch).
    pub smooth: bool,
}

impl Default for OverlayStyle {
    fn default() -> Self {
        Self {
            opacity: 0.6,
            smooth: true,
        }
    }
}

/// The colour of the outline of a mask.
pub const OUTLINE: [u8; 3] = [0, 229, 255];

/// `map` (one value per patch, grid row-major), min-max scaled, in the inferno colour map over
/// `base`, with the boundary of `mask` (one flag per patch) drawn as a 2-pixel outline.
pub fn overlay(
    base: &Rgba8Image,
    map: &[f32],
    grid: [usize; 2],
    mask: Option<&[bool]>,
    style: OverlayStyle,
) -> Rgba8Image {
    let (w, h) = (base.width as usize, base.height as usize);
    let m = normalise(map);
    let a = style.opacity.clamp(0.0, 1.0);
    let keep = 1.0 - a;
    let mut data = base.data.clone();
    let (xs, ys) = (Axis::new(w, grid[1]), Axis::new(h, grid[0]));
    let (xl, yl) = (Axis::lerp(w, grid[1]), Axis::lerp(h, grid[0]));
    let g = grid[1];
    let blend = blend_table(keep, a);
    // Bilinear at cell centres (as `F.interpolate(..., mode="bilinear", align_corners=False)`),
    // along the rows first: every grid row interpolated at every pixel column, once.
    let across: Vec<Vec<f32>> = if style.smooth {
        (0..grid[0])
            .map(|r| {
                xl.iter()
                    .map(|&(x0, x1, tx)| m[r * g + x0] * (1.0 - tx) + m[r * g + x1] * tx)
                    .collect()
            })
            .collect()
    } else {
        Vec::new()
    };
    for (y, row) in data.chunks_exact_mut(w * 4).enumerate().take(h) {
        let (y0, y1, ty) = yl[y];
        let r = ys.cell[y];
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            let v = if style.smooth {
                across[y0][x] * (1.0 - ty) + across[y1][x] * ty
            } else {
                m[r * g + xs.cell[x]]
            };
            // `inferno(v)`, inlined: this loop runs per pixel.
            let t = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
            let xf = t * (INFERNO.len() - 1) as f32;
            let i = (xf.floor() as usize).min(INFERNO.len() - 2);
            let f = xf - i as f32;
            let (lo, hi) = (&INFERNO[i], &INFERNO[i + 1]);
            let c0 = (lo[0] as f32 + (hi[0] as f32 - lo[0] as f32) * f).round() as usize;
            let c1 = (lo[1] as f32 + (hi[1] as f32 - lo[1] as f32) * f).round() as usize;
            let c2 = (lo[2] as f32 + (hi[2] as f32 - lo[2] as f32) * f).round() as usize;
            px[0] = blend[(px[0] as usize) << 8 | c0];
            px[1] = blend[(px[1] as usize) << 8 | c1];
            px[2] = blend[(px[2] as usize) << 8 | c2];
        }
    }
    if let Some(mask) = mask {
        draw_outline(&mut data, w, h, grid, mask, OUTLINE);
    }
    Rgba8Image {
        width: base.width,
        height: base.height,
        data,
    }
}

/// `round(p · keep + c · a)` for every image byte `p` and colour byte `c`, at `p << 8 | c`: one
/// lookup per channel where the pixel loops rounded per channel.
fn blend_table(keep: f32, a: f32) -> Vec<u8> {
    (0..1usize << 16)
        .map(|i| ((i >> 8) as f32 * keep + (i & 255) as f32 * a).round() as u8)
        .collect()
}

/// Pixels inside the mask whose neighbour within 2 pixels (along the row or the column) lies
/// outside it (or off the picture) are painted `colour`.
pub(crate) fn draw_outline(
    data: &mut [u8],
    w: usize,
    h: usize,
    grid: [usize; 2],
    mask: &[bool],
    colour: [u8; 3],
) {
    let (xs, ys) = (Axis::new(w, grid[1]), Axis::new(h, grid[0]));
    let g = grid[1];
    // A pixel's row neighbours share its grid row, its column neighbours its grid column:
    // whether one is outside the mask is tabulated per (grid row, pixel column) and (grid
    // column, pixel row), not per pixel.
    let across = edges(&xs, grid[0], 2, |r, _, oc| !mask[r * g + oc]);
    let down = edges(&ys, grid[1], 2, |c, _, or| !mask[or * g + c]);
    for (y, row) in data.chunks_exact_mut(w * 4).enumerate().take(h) {
        let r = ys.cell[y];
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            let c = xs.cell[x];
            if !mask[r * g + c] {
                continue;
            }
            let edge = across[r][x] || down[c][y];
            if edge {
                px[..3].copy_from_slice(&colour);
            }
        }
    }
}

/// For each cell `line` of the other axis (`lines` of them) and each pixel of `axis`: does a
/// pixel within `reach` of it along `axis` fall off the picture, or in a cell `o` for which
/// `differs(line, its own cell, o)`?
fn edges(
    axis: &Axis,
    lines: usize,
    reach: usize,
    differs: impl Fn(usize, usize, usize) -> bool,
) -> Vec<Vec<bool>> {
    let near = axis.near(reach);
    (0..lines)
        .map(|line| {
            near.iter()
                .zip(&axis.cell)
                .map(|(n, &own)| n.off || n.others.iter().any(|&o| differs(line, own, o)))
                .collect()
        })
        .collect()
}

/// The colour of the true object mask's outline (distinct from [`OUTLINE`]).
pub const TRUTH_OUTLINE: [u8; 3] = [57, 255, 20];

/// `img` with the boundary of a patch mask drawn as a 2-pixel outline in `colour`.
pub fn outlined(img: &Rgba8Image, grid: [usize; 2], mask: &[bool], colour: [u8; 3]) -> Rgba8Image {
    let mut data = img.data.clone();
    draw_outline(
        &mut data,
        img.width as usize,
        img.height as usize,
        grid,
        mask,
        colour,
    );
    Rgba8Image {
        width: img.width,
        height: img.height,
        data,
    }
}

/// Every head's territory in its own colour over `base` (DINO's multi-head figures): patch i is
/// tinted with `colour(k)` at `opacity` when `winners[i] == Some(k)`, left as it is otherwise,
/// and each territory gets a thin outline in its colour.
pub fn heads_overlay(
    base: &Rgba8Image,
    grid: [usize; 2],
    winners: &[Option<usize>],
    colour: impl Fn(usize) -> [u8; 3],
    opacity: f32,
) -> Rgba8Image {
    let (w, h) = (base.width as usize, base.height as usize);
    let a = opacity.clamp(0.0, 1.0);
    let keep = 1.0 - a;
    let mut data = base.data.clone();
    let (xs, ys) = (Axis::new(w, grid[1]), Axis::new(h, grid[0]));
    let g = grid[1];
    // As in `draw_outline`: the neighbours' owners tabulated per grid row or column.
    let across = edges(&xs, grid[0], 1, |r, c, oc| {
        winners[r * g + oc] != winners[r * g + c]
    });
    let down = edges(&ys, grid[1], 1, |c, r, or| {
        winners[or * g + c] != winners[r * g + c]
    });
    for (y, row) in data.chunks_exact_mut(w * 4).enumerate().take(h) {
        let r = ys.cell[y];
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            let c = xs.cell[x];
            let Some(k) = winners[r * g + c] else {
                continue;
            };
            let col = colour(k);
            let edge = across[r][x] || down[c][y];
            for (p, c) in px[..3].iter_mut().zip(col) {
                *p = if edge {
                    c
                } else {
                    (*p as f32 * keep + c as f32 * a).round() as u8
                };
            }
        }
    }
    Rgba8Image {
        width: base.width,
        height: base.height,
        data,
    }
}

/// The image with the patches outside `mask` dimmed to a quarter: a segmentation-like cut-out.
pub fn masked(base: &Rgba8Image, grid: [usize; 2], mask: &[bool]) -> Rgba8Image {
    let (w, h) = (base.width as usize, base.height as usize);
    let mut data = base.data.clone();
    let (xs, ys) = (Axis::new(w, grid[1]), Axis::new(h, grid[0]));
    let g = grid[1];
    for (y, row) in data.chunks_exact_mut(w * 4).enumerate().take(h) {
        let r = ys.cell[y];
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            if !mask[r * g + xs.cell[x]] {
                for p in &mut px[..3] {
                    *p /= 4;
                }
            }
        }
    }
    Rgba8Image {
        width: base.width,
        height: base.height,
        data,
    }
}

/// PCA colours (one RGB triple in [0, 1] per patch) as a picture with `cell`×`cell` pixels per
/// patch.
pub fn pca_image(colors: &[[f32; 3]], grid: [usize; 2], cell_px: usize) -> Rgba8Image {
    let c = cell_px.max(1);
    let (w, h) = (grid[1] * c, grid[0] * c);
    let mut data = Vec::with_capacity(w * h * 4);
    for y in 0..h {
        for x in 0..w {
            let p = colors[(y / c) * grid[1] + x / c];
            let b = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            data.extend_from_slice(&[b(p[0]), b(p[1]), b(p[2]), 255]);
        }
    }
    Rgba8Image {
        width: w as u32,
        height: h as u32,
        data,
    }
}

/// Colour of an exact zero in [`heatmap`].
pub const ZERO: [u8; 3] = [246, 246, 244];

/// A token × channel picture of `z` (`rows`×`cols`, row-major), one pixel per entry: exact zeros
/// in a pale neutral, every non-zero entry in the inferno map by `sqrt(|v| / max|v|)` from its
/// dark end, so that the sparsity pattern stands out at a glance.
pub fn heatmap(z: &[f32], rows: usize, cols: usize) -> Rgba8Image {
    let mut data = Vec::with_capacity(rows * cols * 4);
    heatmap_rows(z, cols, heatmap_scale(z), 0..rows, &mut data);
    Rgba8Image {
        width: cols as u32,
        height: rows as u32,
        data,
    }
}

/// The [`heatmap`]'s scale: the largest finite |value|.
pub fn heatmap_scale(z: &[f32]) -> f32 {
    z.iter()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |m, v| m.max(v.abs()))
}

/// Rows `rows` of the [`heatmap`] of `z` (`cols` wide) at scale `max`, appended to `out` as
/// RGBA: the page draws a large map in bands, a browser task each.
pub fn heatmap_rows(
    z: &[f32],
    cols: usize,
    max: f32,
    rows: std::ops::Range<usize>,
    out: &mut Vec<u8>,
) {
    for &v in &z[rows.start * cols..rows.end * cols] {
        let c = if v == 0.0 || max == 0.0 {
            ZERO
        } else {
            // Dark = large: reversed so that small values stay visible on the pale background.
            inferno(0.85 - 0.75 * (v.abs() / max).sqrt())
        };
        out.extend_from_slice(&[c[0], c[1], c[2], 255]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(w: usize, h: usize, v: u8) -> Rgba8Image {
        upscale(&vec![v; w * h * 3], w, h, 1)
    }

    #[test]
    fn a_heatmap_drawn_in_bands_is_the_whole_heatmap() {
        let (rows, cols) = (7, 5);
        let mut z = crate::rng::uniform(4, "heat", rows * cols, 2.0);
        z[3] = 0.0;
        let whole = heatmap(&z, rows, cols);
        let max = heatmap_scale(&z);
        let mut data = Vec::new();
        for r in [0..3, 3..4, 4..7] {
            heatmap_rows(&z, cols, max, r, &mut data);
        }
        assert_eq!(data, whole.data);
    }

    #[test]
    fn upscale_repeats_pixels() {
        let img = upscale(&[10, 20, 30, 40, 50, 60], 2, 1, 3);
        assert_eq!((img.width, img.height), (6, 3));
        assert_eq!(&img.data[0..4], &[10, 20, 30, 255]);
        assert_eq!(&img.data[2 * 4..3 * 4], &[10, 20, 30, 255]);
        assert_eq!(&img.data[3 * 4..4 * 4], &[40, 50, 60, 255]);
        assert_eq!(&img.data[(2 * 6 + 5) * 4..], &[40, 50, 60, 255]);
    }

    #[test]
    fn overlay_blends_and_outlines_the_mask() {
        let base = gray(8, 8, 100);
        // 2×2 grid: only the top-left patch is hot and masked.
        let map = [1.0, 0.0, 0.0, 0.0];
        let mask = [true, false, false, false];
        let style = OverlayStyle {
            opacity: 0.5,
            smooth: false,
        };
        let out = overlay(&base, &map, [2, 2], Some(&mask), style);
        let px = |x: usize, y: usize| &out.data[(y * 8 + x) * 4..(y * 8 + x) * 4 + 3];
        // Bottom-right: min of the map, inferno(0) = (0, 0, 4), blended half and half.
        assert_eq!(px(6, 6), &[50, 50, 52]);
        // The masked patch's edge pixels are outlined.
        assert_eq!(px(3, 3), &OUTLINE);
        assert_eq!(px(0, 0), &OUTLINE);
        // Opacity 0 leaves the image as it was.
        let plain = overlay(
            &base,
            &map,
            [2, 2],
            None,
            OverlayStyle {
                opacity: 0.0,
                smooth: true,
            },
        );
        assert_eq!(plain, base);
    }

    #[test]
    fn half_averages_blocks() {
        let img = upscale(&[0, 0, 0, 200, 100, 50], 2, 1, 1);
        let h = half(&img);
        assert_eq!((h.width, h.height), (1, 1));
        assert_eq!(h.data, vec![100, 50, 25, 255]);
        let big = upscale(&[7; 6 * 4 * 3], 6, 4, 1);
        let h = half(&big);
        assert_eq!((h.width, h.height), (3, 2));
        assert!(h.data.chunks(4).all(|p| p == [7, 7, 7, 255]));
    }

    #[test]
    fn masked_dims_outside() {
        let base = gray(4, 4, 200);
        let out = masked(&base, [2, 2], &[false, true, false, false]);
        assert_eq!(out.data[0], 50);
        assert_eq!(out.data[3 * 4], 200);
    }

    #[test]
    fn heatmap_shows_zeros_apart() {
        let img = heatmap(&[0.0, 1.0, 0.25, 0.0], 2, 2);
        assert_eq!((img.width, img.height), (2, 2));
        assert_eq!(&img.data[0..3], &ZERO);
        assert_eq!(&img.data[12..15], &ZERO);
        // The largest value is darkest.
        assert_eq!(&img.data[4..7], &inferno(0.1));
        assert_eq!(&img.data[8..11], &inferno(0.85 - 0.75 * 0.5));
    }

    #[test]
    fn pca_cells() {
        let img = pca_image(&[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], [1, 2], 2);
        assert_eq!((img.width, img.height), (4, 2));
        assert_eq!(&img.data[0..4], &[255, 0, 0, 255]);
        assert_eq!(&img.data[(4 + 3) * 4..], &[0, 0, 255, 255]);
    }
}
