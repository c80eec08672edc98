//! The straightforward per-pixel drawing that [`super::render`]'s tabulated loops replace (a
//! division per pixel and neighbour), kept as the reference they must equal byte for byte.

use super::colormap::inferno;
use super::render::*;
use crate::data::image::Rgba8Image;

/// The grid cell (row, column) under pixel (x, y) of a `w`×`h` picture.
fn cell(x: usize, y: usize, w: usize, h: usize, grid: [usize; 2]) -> (usize, usize) {
    (
        (y * grid[0] / h).min(grid[0] - 1),
        (x * grid[1] / w).min(grid[1] - 1),
    )
}

/// Bilinear interpolation of a grid map at pixel (x, y), sampling at cell centres (as
/// `F.interpolate(..., mode="bilinear", align_corners=False)` does).
fn sample(map: &[f32], grid: [usize; 2], x: usize, y: usize, w: usize, h: usize) -> f32 {
    let fy = ((y as f32 + 0.5) * grid[0] as f32 / h as f32 - 0.5).clamp(0.0, (grid[0] - 1) as f32);
    let fx = ((x as f32 + 0.5) * grid[1] as f32 / w as f32 - 0.5).clamp(0.0, (grid[1] - 1) as f32);
    let (y0, x0) = (fy.floor() as usize, fx.floor() as usize);
    let (y1, x1) = ((y0 + 1).min(grid[0] - 1), (x0 + 1).min(grid[1] - 1));
    let (ty, tx) = (fy - y0 as f32, fx - x0 as f32);
    let at = |r: usize, c: usize| map[r * grid[1] + c];
    let top = at(y0, x0) * (1.0 - tx) + at(y0, x1) * tx;
    let bottom = at(y1, x0) * (1.0 - tx) + at(y1, x1) * tx;
    top * (1.0 - ty) + bottom * ty
}

/// `map` (one value per patch, grid row-major), min-max scaled, in the inferno colour map over
/// `base`, with the boundary of `mask` (one flag per patch) drawn as a 2-pixel outline.
fn ref_overlay(
    base: &Rgba8Image,
    map: &[f32],
    grid: [usize; 2],
    mask: Option<&[bool]>,
    style: OverlayStyle,
) -> Rgba8Image {
    let (w, h) = (base.width as usize, base.height as usize);
    let m = normalise(map);
    let a = style.opacity.clamp(0.0, 1.0);
    let mut data = base.data.clone();
    for y in 0..h {
        for x in 0..w {
            let v = if style.smooth {
                sample(&m, grid, x, y, w, h)
            } else {
                let (r, c) = cell(x, y, w, h, grid);
                m[r * grid[1] + c]
            };
            let col = inferno(v);
            let px = &mut data[(y * w + x) * 4..(y * w + x) * 4 + 3];
            for (p, c) in px.iter_mut().zip(col) {
                *p = (*p as f32 * (1.0 - a) + c as f32 * a).round() as u8;
            }
        }
    }
    if let Some(mask) = mask {
        ref_outline(&mut data, w, h, grid, mask, OUTLINE);
    }
    Rgba8Image {
        width: base.width,
        height: base.height,
        data,
    }
}

/// Pixels inside the mask whose neighbour within 2 pixels lies outside it (or off the picture)
/// are painted [`OUTLINE`].
fn ref_outline(
    data: &mut [u8],
    w: usize,
    h: usize,
    grid: [usize; 2],
    mask: &[bool],
    colour: [u8; 3],
) {
    let inside = |x: isize, y: isize| {
        if x < 0 || y < 0 || x >= w as isize || y >= h as isize {
            return false;
        }
        let (r, c) = cell(x as usize, y as usize, w, h, grid);
        mask[r * grid[1] + c]
    };
    for y in 0..h as isize {
        for x in 0..w as isize {
            if !inside(x, y) {
                continue;
            }
            let edge = (-2..=2).any(|d| !inside(x + d, y) || !inside(x, y + d));
            if edge {
                let i = (y as usize * w + x as usize) * 4;
                data[i..i + 3].copy_from_slice(&colour);
            }
        }
    }
}

/// Every head's territory in its own colour over `base` (DINO's multi-head figures): patch i is
/// tinted with `colour(k)` at `opacity` when `winners[i] == Some(k)`, left as it is otherwise,
/// and each territory gets a thin outline in its colour.
fn ref_heads_overlay(
    base: &Rgba8Image,
    grid: [usize; 2],
    winners: &[Option<usize>],
    colour: impl Fn(usize) -> [u8; 3],
    opacity: f32,
) -> Rgba8Image {
    let (w, h) = (base.width as usize, base.height as usize);
    let a = opacity.clamp(0.0, 1.0);
    let mut data = base.data.clone();
    let owner = |x: isize, y: isize| {
        if x < 0 || y < 0 || x >= w as isize || y >= h as isize {
            return None;
        }
        let (r, c) = cell(x as usize, y as usize, w, h, grid);
        winners[r * grid[1] + c]
    };
    for y in 0..h as isize {
        for x in 0..w as isize {
            let Some(k) = owner(x, y) else { continue };
            let col = colour(k);
            let edge = (-1..=1).any(|d| owner(x + d, y) != Some(k) || owner(x, y + d) != Some(k));
            let i = (y as usize * w + x as usize) * 4;
            for (p, c) in data[i..i + 3].iter_mut().zip(col) {
                *p = if edge {
                    c
                } else {
                    (*p as f32 * (1.0 - a) + c as f32 * a).round() as u8
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
fn ref_masked(base: &Rgba8Image, grid: [usize; 2], mask: &[bool]) -> Rgba8Image {
    let (w, h) = (base.width as usize, base.height as usize);
    let mut data = base.data.clone();
    for y in 0..h {
        for x in 0..w {
            let (r, c) = cell(x, y, w, h, grid);
            if !mask[r * grid[1] + c] {
                let i = (y * w + x) * 4;
                for p in &mut data[i..i + 3] {
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

fn noise(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32
        })
        .collect()
}

#[test]
fn tabulated_drawing_equals_the_per_pixel_reference() {
    // Cells of 8, 4, 1 and uneven widths; pictures larger and smaller than the grid.
    for (w, h, grid) in [
        (224, 224, [28, 28]),
        (112, 112, [28, 28]),
        (56, 56, [56, 56]),
        (30, 20, [4, 7]),
        (9, 13, [5, 3]),
    ] {
        let base = upscale(
            &noise(w * h * 3, 7)
                .iter()
                .map(|v| (v * 255.0) as u8)
                .collect::<Vec<_>>(),
            w,
            h,
            1,
        );
        let n = grid[0] * grid[1];
        let map = noise(n, 3);
        let mask: Vec<bool> = noise(n, 5).iter().map(|&v| v > 0.4).collect();
        let winners: Vec<Option<usize>> = noise(n, 9)
            .iter()
            .map(|&v| (v > 0.3).then_some((v * 6.0) as usize))
            .collect();
        for smooth in [true, false] {
            let s = OverlayStyle {
                opacity: 0.6,
                smooth,
            };
            assert_eq!(
                overlay(&base, &map, grid, Some(&mask), s),
                ref_overlay(&base, &map, grid, Some(&mask), s),
                "{w}×{h} over {grid:?}"
            );
        }
        let colour = |k: usize| [(40 * k) as u8, 200, (255 - 30 * k) as u8];
        assert_eq!(
            heads_overlay(&base, grid, &winners, colour, 0.45),
            ref_heads_overlay(&base, grid, &winners, colour, 0.45)
        );
        assert_eq!(masked(&base, grid, &mask), ref_masked(&base, grid, &mask));
        let mut a = base.data.clone();
        let mut b = base.data.clone();
        draw_outline(&mut a, w, h, grid, &mask, TRUTH_OUTLINE);
        ref_outline(&mut b, w, h, grid, &mask, TRUTH_OUTLINE);
        assert_eq!(a, b);
    }
}

#[test]
fn smooth_sampling_hits_cell_centres() {
    // 1×2 grid on a 4-pixel-wide picture: pixel centres 0.5..3.5 → grid coords -0.25..1.25.
    let m = [0.0, 1.0];
    assert_eq!(sample(&m, [1, 2], 0, 0, 4, 1), 0.0);
    assert_eq!(sample(&m, [1, 2], 3, 0, 4, 1), 1.0);
    assert!((sample(&m, [1, 2], 1, 0, 4, 1) - 0.25).abs() < 1e-6);
}
