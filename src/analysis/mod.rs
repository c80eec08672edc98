//! Measures computed from a [`Trace`] (CRATE-SPEC.md "Measures"): compression R^c before and
//! after each MSSA step, ISTA sparsity, attention maps and masks, PCA maps, subspace
//! incoherence, and batch mean/std. Pure CPU code on plain slices; it reads the engine's
//! output types ([`Trace`], [`crate::engine::ForwardOutput`]) and nothing in `engine` reads it.

pub mod coding_rate;
pub mod incoherence;
pub mod lab;
pub mod linalg;
pub mod maps;
pub mod pca;
pub mod plan;
pub mod report;
pub mod rollout;
pub mod segment;
pub mod subspaces;

pub use coding_rate::coding_rate;
pub use incoherence::incoherence;
pub use maps::{cls_rows, mass_mask, mean_map};
pub use pca::pca_rgb;
pub use report::{
    image_reports, layers_json, predictions, softmax, top_k, ImageReport, Prediction,
};
pub use rollout::{cls_rollout, head_masks, winning_heads};

use serde::Serialize;

/// Defined next to [`crate::engine::ForwardOutput`], which carries it, so that the engine
/// contract does not depend on this module (this module depends on the engine's types).
pub use crate::engine::LayerStats;
use crate::engine::Trace;

/// Fraction of non-zero entries.
pub fn sparsity(z: &[f32]) -> f64 {
    z.iter().filter(|&&v| v != 0.0).count() as f64 / z.len().max(1) as f64
}

/// Per image, per layer measures of a traced forward: `[image][layer]`.
pub fn layer_stats(trace: &Trace, heads: usize) -> Vec<Vec<LayerStats>> {
    let Some(first) = trace.layers.first() else {
        return Vec::new();
    };
    let (b, nt, d) = (first.z.shape[0], first.z.shape[1], first.z.shape[2]);
    (0..b)
        .map(|i| {
            trace
                .layers
                .iter()
                .map(|lt| {
                    let r = i * nt * d..(i + 1) * nt * d;
                    LayerStats {
                        rc_in: coding_rate(&lt.proj_in.data[r.clone()], nt, d, heads),
                        rc_out: coding_rate(&lt.proj_half.data[r.clone()], nt, d, heads),
                        sparsity: sparsity(&lt.zout.data[r]),
                    }
                })
                .collect()
        })
        .collect()
}

/// Mean and population standard deviation (ddof = 0).
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Per layer, the batch mean and std of each measure.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LayerSummary {
    pub rc_in: (f64, f64),
    pub rc_out: (f64, f64),
    pub sparsity: (f64, f64),
}

pub fn summarise(stats: &[Vec<LayerStats>]) -> Vec<LayerSummary> {
    let depth = stats.first().map_or(0, Vec::len);
    (0..depth)
        .map(|l| {
            let col = |f: fn(&LayerStats) -> f64| {
                mean_std(&stats.iter().map(|s| f(&s[l])).collect::<Vec<_>>())
            };
            LayerSummary {
                rc_in: col(|s| s.rc_in),
                rc_out: col(|s| s.rc_out),
                sparsity: col(|s| s.sparsity),
            }
        })
        .collect()
}
