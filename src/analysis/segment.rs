//! Scoring attention maps as segmentations (issue 13, part 2): how well the CLS attention of each
//! layer and head covers the true object mask, as mean IoU over a dataset.
//!
//! Definitions (tools/segment_ref.py recomputes them independently):
//! - **Patch truth.** A pixel mask is reduced to the patch grid by majority: a patch is
//!   foreground when *strictly* more than half of its pixels are (a tie, exactly half, is
//!   background). Partial patches at the right and bottom edges are left out, as the model does.
//!   Two other reductions ([`TruthRule`]) ask other questions of the same maps: `any` (a patch
//!   with any object pixel: the object's extent) and `outline` (a patch holding both object and
//!   background pixels: its boundary).
//! - **IoU** of two patch masks = |A ∩ B| / |A ∪ B|; when both are empty it is 1 (the prediction
//!   agrees perfectly with an image without object), so an empty truth is not silently dropped.
//! - **Mass-threshold mask** (DINO): [`mass_mask`] of the head's CLS row over the patches
//!   (renormalised over the patches), keeping the fewest patches that hold a fraction `t` of the
//!   mass (default 0.6). The head mean is [`mean_map`] of the rows, masked the same way.
//! - **Best fixed threshold**: the map min-max normalised to [0, 1] (a constant map becomes all
//!   zeros), foreground where the normalised value is `>= θ`, θ on [`threshold_grid`]
//!   (0.05, 0.10, …, 0.95). θ is chosen per (layer, head) as the one with the highest mIoU over
//!   the same images it is scored on (ties: the lower θ), so it is an oracle upper bound, not a
//!   held-out number.
//! - **Object share**: the share of the map's mass (renormalised over the patches) that lies on
//!   the true object's patches. It needs no threshold: a uniform map puts the object's area there
//!   (`mask_area` on average), one on the object alone puts 1.

use serde::Serialize;

use super::maps::{mass_mask, mean_map};
use crate::data::image::{imagenet_geometry, DecodedImage, Resize};
use crate::error::{Error, Result};

/// The DINO default: keep the patches holding 60 % of the attention mass.
pub const DEFAULT_MASS: f32 = 0.6;

/// Candidate fixed thresholds on the min-max-normalised map: k / 20 for k = 1..=19.
pub fn threshold_grid() -> Vec<f64> {
    (1..=19).map(|k| k as f64 / 20.0).collect()
}

/// |A ∩ B| / |A ∪ B|, and 1 when both masks are empty.
pub fn iou(pred: &[bool], truth: &[bool]) -> f64 {
    debug_assert_eq!(pred.len(), truth.len());
    let (mut inter, mut union) = (0usize, 0usize);
    for (&p, &t) in pred.iter().zip(truth) {
        inter += (p && t) as usize;
        union += (p || t) as usize;
    }
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

/// How a pixel mask becomes a patch mask (`segment --truth`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum TruthRule {
    /// Strictly more than half of the patch's pixels are object (the default, and the one
    /// the page and `train --select segment` use).
    #[default]
    Majority,
    /// At least one pixel is object: the object's extent on the grid.
    Any,
    /// Some pixels are object and some are not: the object's boundary on the grid.
    Outline,
}

impl TruthRule {
    pub fn as_str(self) -> &'static str {
        match self {
            TruthRule::Majority => "majority",
            TruthRule::Any => "any",
            TruthRule::Outline => "outline",
        }
    }

    /// Whether a patch with `n` object pixels of `total` is foreground.
    pub fn keeps(self, n: usize, total: usize) -> bool {
        match self {
            TruthRule::Majority => 2 * n > total,
            TruthRule::Any => n > 0,
            TruthRule::Outline => n > 0 && n < total,
        }
    }
}

/// A pixel mask (`h * w`, row-major) reduced to the `(h / patch) x (w / patch)` grid by strict
/// majority (ties are background).
pub fn majority_patch_mask(mask: &[bool], h: usize, w: usize, patch: usize) -> Vec<bool> {
    patch_truth_mask(mask, h, w, patch, TruthRule::Majority)
}

/// A pixel mask (`h * w`, row-major) reduced to the `(h / patch) x (w / patch)` grid by `rule`.
pub fn patch_truth_mask(
    mask: &[bool],
    h: usize,
    w: usize,
    patch: usize,
    rule: TruthRule,
) -> Vec<bool> {
    let p = patch.max(1);
    let (gh, gw) = (h / p, w / p);
    (0..gh * gw)
        .map(|g| {
            let (py, px) = (g / gw, g % gw);
            let n: usize = (py * p..(py + 1) * p)
                .map(|y| {
                    mask[y * w + px * p..y * w + (px + 1) * p]
                        .iter()
                        .filter(|&&m| m)
                        .count()
                })
                .sum();
            rule.keeps(n, p * p)
        })
        .collect()
}

/// Nearest-neighbour resampling of one axis: destination index `i` of `dst` takes source index
/// `floor((i + 0.5) * src / dst)` (pixel centres), clamped to the last source pixel.
fn nearest_index(i: usize, src: usize, dst: usize) -> usize {
    (((2 * i + 1) * src) / (2 * dst)).min(src - 1)
}

fn resize_nearest(mask: &[bool], [h, w]: [usize; 2], [th, tw]: [usize; 2]) -> Vec<bool> {
    let mut out = Vec::with_capacity(th * tw);
    for y in 0..th {
        let sy = nearest_index(y, h, th);
        for x in 0..tw {
            out.push(mask[sy * w + nearest_index(x, w, tw)]);
        }
    }
    out
}

/// A pixel mask of `[h, w]` fitted to the model input with the geometry
/// [`crate::data::image::preprocess`] gives the image (same `size` and `resize`), resampled by
/// nearest neighbour so it stays binary. Returns the fitted mask and its size.
pub fn fit_mask(
    mask: &[bool],
    [h, w]: [usize; 2],
    size: [usize; 2],
    resize: Resize,
) -> Result<(Vec<bool>, [usize; 2])> {
    if h == 0 || w == 0 || mask.len() != h * w {
        return Err(Error::Input(format!(
            "mask of {} values for a {w}x{h} image",
            mask.len()
        )));
    }
    Ok(match resize {
        Resize::None => (mask.to_vec(), [h, w]),
        Resize::Stretch => (resize_nearest(mask, [h, w], size), size),
        Resize::Imagenet => {
            let g = imagenet_geometry([h, w], size);
            let big = resize_nearest(mask, [h, w], g.resized);
            let mut out = Vec::with_capacity(size[0] * size[1]);
            for y in 0..size[0] {
                let row = (g.offset[0] + y) * g.resized[1] + g.offset[1];
                out.extend_from_slice(&big[row..row + size[1]]);
            }
            (out, size)
        }
    })
}

/// The patch-grid truth of a mask image for an input fitted to `size` with `resize` (the
/// `segment --pairs` and the page's definition): foreground = pixels non-zero in any channel,
/// fitted like the image by [`fit_mask`], reduced by `rule` ([`patch_truth_mask`]; the page uses
/// [`TruthRule::Majority`]). Errors when the
/// mask's size differs from the image's (`image_hw`).
pub fn patch_truth(
    mask: &DecodedImage,
    image_hw: [usize; 2],
    size: [usize; 2],
    resize: Resize,
    patch: usize,
    rule: TruthRule,
) -> Result<Vec<bool>> {
    let src = [mask.height as usize, mask.width as usize];
    if src != image_hw {
        return Err(Error::Input(format!(
            "{}: mask is {}x{}, the image {}x{}",
            mask.name, src[1], src[0], image_hw[1], image_hw[0]
        )));
    }
    let pixels: Vec<bool> = mask.rgb.chunks_exact(3).map(|p| p != [0, 0, 0]).collect();
    let (fitted, [h, w]) = fit_mask(&pixels, src, size, resize)?;
    Ok(patch_truth_mask(&fitted, h, w, patch, rule))
}

/// One image's scores: `cls[layer][head]` its CLS rows over the patches, `truth` its patch mask.
pub fn image_scores(cls: &[Vec<Vec<f32>>], truth: &[bool], mass: f32) -> Result<SegmentScores> {
    let heads = cls.first().map_or(0, Vec::len);
    let mut s = SegmentScorer::new(cls.len(), heads, mass);
    s.add(cls, truth)?;
    Ok(s.finish())
}

/// The map scaled to [0, 1] by its minimum and maximum (all zeros when it is constant).
pub fn minmax_normalise(map: &[f32]) -> Vec<f64> {
    let lo = map.iter().fold(f64::INFINITY, |a, &v| a.min(v as f64));
    let hi = map.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v as f64));
    let span = hi - lo;
    map.iter()
        .map(|&v| {
            if span > 0.0 {
                (v as f64 - lo) / span
            } else {
                0.0
            }
        })
        .collect()
}

/// Foreground where the normalised map is `>= theta`.
pub fn threshold_mask(norm: &[f64], theta: f64) -> Vec<bool> {
    norm.iter().map(|&v| v >= theta).collect()
}

/// The index of the best threshold: highest score, ties to the lower index (the lower θ).
pub fn best_threshold(scores: &[f64]) -> usize {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = i;
        }
    }
    best
}

/// The share of `map`'s mass on the `truth` patches (float64 sums in patch order; 0 for a map
/// without positive mass).
pub fn object_share(map: &[f32], truth: &[bool]) -> f64 {
    let total: f64 = map.iter().map(|&v| v as f64).sum();
    if total.is_nan() || total <= 0.0 {
        return 0.0;
    }
    let on: f64 = map
        .iter()
        .zip(truth)
        .filter(|(_, &t)| t)
        .map(|(&v, _)| v as f64)
        .sum();
    on / total
}

/// One map's scores over the dataset (a head, or the head mean).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MapScore {
    /// Mean IoU of the mass-threshold mask.
    pub miou_mass: f64,
    /// The grid threshold with the highest mIoU on these images (an oracle choice).
    pub best_threshold: f64,
    /// Mean IoU at that threshold.
    pub miou_best: f64,
    /// Mean [`object_share`]: how much of the attention mass falls on the object.
    pub object_share: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerScore {
    pub heads: Vec<MapScore>,
    /// The head-mean map.
    pub mean: MapScore,
}

/// Scores of every layer and head over a dataset.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SegmentScores {
    pub images: usize,
    pub mass: f32,
    pub grid: Vec<f64>,
    pub layers: Vec<LayerScore>,
    /// Mean over images of the fraction of patches that are foreground in the truth.
    pub mask_area: f64,
    /// mIoU of predicting every patch as foreground (a baseline: equals `mask_area` when no
    /// truth is empty).
    pub all_foreground_miou: f64,
    /// Layer whose head-mean mass-threshold mask has the highest mIoU (ties: lower layer).
    pub best_layer_mass: usize,
    /// Layer whose head-mean best-fixed-threshold mIoU is highest (ties: lower layer).
    pub best_layer_fixed: usize,
}

/// Accumulates IoUs image by image; [`SegmentScorer::finish`] gives the means.
#[derive(Clone, Debug)]
pub struct SegmentScorer {
    layers: usize,
    heads: usize,
    mass: f32,
    grid: Vec<f64>,
    /// Sum of IoUs, `[layer][map]`, map = head or `heads` for the mean.
    mass_sum: Vec<f64>,
    /// Sum of object shares, `[layer][map]`.
    share_sum: Vec<f64>,
    /// `[layer][map][theta]`.
    grid_sum: Vec<f64>,
    area_sum: f64,
    all_fg_sum: f64,
    images: usize,
}

/// Per image, the IoUs of one map: the mass-threshold IoU and one per grid threshold.
pub fn map_ious(map: &[f32], truth: &[bool], mass: f32, grid: &[f64]) -> (f64, Vec<f64>) {
    let m = iou(&mass_mask(map, mass), truth);
    let norm = minmax_normalise(map);
    let g = grid
        .iter()
        .map(|&t| iou(&threshold_mask(&norm, t), truth))
        .collect();
    (m, g)
}

impl SegmentScorer {
    pub fn new(layers: usize, heads: usize, mass: f32) -> Self {
        let grid = threshold_grid();
        let maps = layers * (heads + 1);
        Self {
            layers,
            heads,
            mass,
            mass_sum: vec![0.0; maps],
            share_sum: vec![0.0; maps],
            grid_sum: vec![0.0; maps * grid.len()],
            grid,
            area_sum: 0.0,
            all_fg_sum: 0.0,
            images: 0,
        }
    }

    /// Adds one image: `cls[layer][head]` are its CLS rows over the patches (as
    /// [`super::maps::cls_rows_of`] gives them), `truth` its patch mask.
    pub fn add(&mut self, cls: &[Vec<Vec<f32>>], truth: &[bool]) -> Result<()> {
        if cls.len() != self.layers {
            return Err(Error::Input(format!(
                "{} layers of attention rows, expected {}",
                cls.len(),
                self.layers
            )));
        }
        let g = self.grid.len();
        for (l, rows) in cls.iter().enumerate() {
            if rows.len() != self.heads || rows.iter().any(|r| r.len() != truth.len()) {
                return Err(Error::Input(format!(
                    "layer {l}: attention rows do not match {} heads over {} patches",
                    self.heads,
                    truth.len()
                )));
            }
            let mean = mean_map(rows);
            for (k, map) in rows.iter().chain(std::iter::once(&mean)).enumerate() {
                let at = l * (self.heads + 1) + k;
                let (m, gs) = map_ious(map, truth, self.mass, &self.grid);
                self.mass_sum[at] += m;
                self.share_sum[at] += object_share(map, truth);
                for (s, v) in self.grid_sum[at * g..(at + 1) * g].iter_mut().zip(gs) {
                    *s += v;
                }
            }
        }
        let n = truth.len().max(1) as f64;
        self.area_sum += truth.iter().filter(|&&t| t).count() as f64 / n;
        self.all_fg_sum += iou(&vec![true; truth.len()], truth);
        self.images += 1;
        Ok(())
    }

    pub fn finish(&self) -> SegmentScores {
        let n = self.images.max(1) as f64;
        let g = self.grid.len();
        let score = |at: usize| {
            let means: Vec<f64> = self.grid_sum[at * g..(at + 1) * g]
                .iter()
                .map(|s| s / n)
                .collect();
            let b = best_threshold(&means);
            MapScore {
                miou_mass: self.mass_sum[at] / n,
                best_threshold: self.grid[b],
                miou_best: means[b],
                object_share: self.share_sum[at] / n,
            }
        };
        let layers: Vec<LayerScore> = (0..self.layers)
            .map(|l| {
                let base = l * (self.heads + 1);
                LayerScore {
                    heads: (0..self.heads).map(|k| score(base + k)).collect(),
                    mean: score(base + self.heads),
                }
            })
            .collect();
        let best_layer = |f: fn(&MapScore) -> f64| {
            best_threshold(&layers.iter().map(|l| f(&l.mean)).collect::<Vec<_>>())
        };
        SegmentScores {
            images: self.images,
            mass: self.mass,
            grid: self.grid.clone(),
            best_layer_mass: best_layer(|m| m.miou_mass),
            best_layer_fixed: best_layer(|m| m.miou_best),
            layers,
            mask_area: self.area_sum / n,
            all_foreground_miou: self.all_fg_sum / n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_is_strict_and_ties_are_background() {
        // 4x4 image, patch 2: patches with 3, 2 (a tie), 1 and 4 foreground pixels.
        let m = [
            1, 1, 1, 0, //
            1, 0, 1, 0, //
            1, 0, 1, 1, //
            0, 0, 1, 1,
        ]
        .map(|v| v == 1);
        assert_eq!(
            majority_patch_mask(&m, 4, 4, 2),
            vec![true, false, false, true]
        );
        // Partial patches at the edges are left out: a 5x5 image on patch 2 is a 2x2 grid.
        let mut m5 = vec![false; 25];
        for y in 0..2 {
            for x in 2..4 {
                m5[y * 5 + x] = true;
            }
        }
        assert_eq!(
            majority_patch_mask(&m5, 5, 5, 2),
            vec![false, true, false, false]
        );
    }

    #[test]
    fn truth_rules_keep_the_extent_or_the_boundary() {
        // Patch counts 3, 2, 0 and 4 of 4 pixels.
        let m = [
            1, 1, 0, 0, //
            1, 0, 0, 0, //
            1, 0, 1, 1, //
            1, 0, 1, 1,
        ]
        .map(|v| v == 1);
        let rule = |r| patch_truth_mask(&m, 4, 4, 2, r);
        assert_eq!(rule(TruthRule::Majority), vec![true, false, false, true]);
        assert_eq!(rule(TruthRule::Any), vec![true, false, true, true]);
        assert_eq!(rule(TruthRule::Outline), vec![true, false, true, false]);
        assert_eq!(TruthRule::default(), TruthRule::Majority);
    }

    #[test]
    fn iou_edge_cases() {
        let (t, f) = (true, false);
        assert_eq!(iou(&[f, f], &[f, f]), 1.0);
        assert_eq!(iou(&[t, f], &[f, f]), 0.0);
        assert_eq!(iou(&[f, f], &[t, f]), 0.0);
        assert_eq!(iou(&[t, t, f], &[t, f, t]), 1.0 / 3.0);
        assert_eq!(iou(&[t, t], &[t, t]), 1.0);
    }

    #[test]
    fn threshold_selection_prefers_the_highest_then_the_lowest_theta() {
        assert_eq!(best_threshold(&[0.1, 0.5, 0.5, 0.2]), 1);
        assert_eq!(best_threshold(&[0.3, 0.3]), 0);
        let grid = threshold_grid();
        assert_eq!(grid.len(), 19);
        assert_eq!((grid[0], grid[18]), (0.05, 0.95));
        // Map: object patches 0 and 1 are bright, patch 2 is medium, patch 3 dark.
        // Normalised: [1, 0.8, 0.4, 0] → θ in (0.4, 0.8] gives exactly the truth.
        let map = [0.6f32, 0.5, 0.3, 0.1];
        let truth = [true, true, false, false];
        let (_, g) = map_ious(&map, &truth, 0.6, &grid);
        let b = best_threshold(&g);
        assert_eq!(g[b], 1.0);
        assert_eq!(grid[b], 0.45, "the lowest θ reaching IoU 1");
        let mut s = SegmentScorer::new(1, 1, 0.6);
        s.add(&[vec![map.to_vec()]], &truth).unwrap();
        let r = s.finish();
        assert_eq!(r.layers[0].heads[0].best_threshold, 0.45);
        assert_eq!(r.layers[0].heads[0].miou_best, 1.0);
        // Mass mask: 0.6/1.5 = 0.4, + 0.5/1.5 → 0.733 >= 0.6: exactly the two object patches.
        assert_eq!(r.layers[0].heads[0].miou_mass, 1.0);
        assert_eq!(r.mask_area, 0.5);
        // (0.6 + 0.5) / 1.5 of the mass is on the object.
        assert!((r.layers[0].heads[0].object_share - 1.1 / 1.5).abs() < 1e-7);
        assert_eq!(object_share(&[0.0, 0.0], &[true, false]), 0.0);
        assert_eq!(r.all_foreground_miou, 0.5);
    }

    #[test]
    fn constant_maps_normalise_to_zero() {
        assert_eq!(minmax_normalise(&[0.2, 0.2]), vec![0.0, 0.0]);
        assert_eq!(minmax_normalise(&[1.0, 3.0, 2.0]), vec![0.0, 1.0, 0.5]);
    }

    #[test]
    fn masks_fit_with_the_image_geometry() {
        // 2x4 mask, left half set, stretched to 4x8: left half stays set.
        let m = [true, true, false, false, true, true, false, false];
        let (out, size) = fit_mask(&m, [2, 4], [4, 8], Resize::Stretch).unwrap();
        assert_eq!(size, [4, 8]);
        for y in 0..4 {
            for x in 0..8 {
                assert_eq!(out[y * 8 + x], x < 4);
            }
        }
        // Imagenet on an already-square mask to 4x4: resized to round(4*256/224) = 5 then
        // centre-cropped; the mask keeps its left/right split around the centre.
        let sq: Vec<bool> = (0..64).map(|i| i % 8 < 4).collect();
        let (out, size) = fit_mask(&sq, [8, 8], [4, 4], Resize::Imagenet).unwrap();
        assert_eq!(size, [4, 4]);
        // Columns 0, 2, 4, 5 of the source (nearest of 5 resampled ones; crop offset 0).
        for y in 0..4 {
            assert_eq!(out[y * 4..y * 4 + 4], [true, true, false, false]);
        }
        assert_eq!(
            fit_mask(&m, [2, 4], [9, 9], Resize::None).unwrap().0,
            m.to_vec()
        );
        assert!(fit_mask(&m, [3, 4], [4, 4], Resize::Stretch).is_err());
    }
}
