//! LayerNorm over the last dimension: biased variance, eps = 1e-5, affine (CRATE-SPEC.md).

use super::{par, vecops};

pub const LN_EPS: f32 = 1e-5;

/// Normalises one row into `out`. Two passes (mean, then squared deviations) with lane-wise
/// accumulators: accurate for rows with a large mean, and vectorised.
pub fn layer_norm_row(x: &[f32], gamma: &[f32], beta: &[f32], out: &mut [f32]) {
    let n = x.len() as f32;
    let mean = vecops::sum(x) / n;
    let var = vecops::sum_sq_dev(x, mean) / n;
    let inv = 1.0 / (var + LN_EPS).sqrt();
    for (((o, &v), &g), &b) in out.iter_mut().zip(x).zip(gamma).zip(beta) {
        *o = (v - mean) * inv * g + b;
    }
}

/// Row-wise LayerNorm of a (rows, dim) matrix into `out`.
pub fn layer_norm(x: &[f32], dim: usize, gamma: &[f32], beta: &[f32], out: &mut [f32]) {
    debug_assert_eq!(x.len(), out.len());
    // Chunks of many rows keep the parallel overhead small.
    let rows_per_task = (4096 / dim).max(1);
    par::for_each_chunk(out, rows_per_task * dim, |t, o| {
        let x = &x[t * rows_per_task * dim..][..o.len()];
        for (xr, or) in x.chunks_exact(dim).zip(o.chunks_exact_mut(dim)) {
            layer_norm_row(xr, gamma, beta, or);
        }
    });
}
