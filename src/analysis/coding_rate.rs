//! Compression: the coding rate R^c of tokens against the heads' subspaces (CRATE-SPEC.md).
//!
//! `R^c = sum_k 0.5 * logdet(I_N + dh/(N*eps) X_k X_k^T)`, X_k = head k's projection with each
//! token scaled to unit norm. Computed through the dh×dh Gram `X_k^T X_k` (Sylvester's identity),
//! which is what the GPU engine reads back.

use super::linalg::logdet_spd;

/// The official analysis code's eps (the paper's epsilon squared).
pub const RC_EPS: f64 = 0.01;

/// Per-head Gram matrices `X_k^T X_k` (K, dh, dh) of unit-normalised rows, for one image's
/// projection `w` (N, d).
pub fn head_grams(w: &[f32], n: usize, d: usize, heads: usize) -> Vec<f64> {
    let dh = d / heads;
    let mut grams = vec![0.0f64; heads * dh * dh];
    let mut row = vec![0.0f64; dh];
    for k in 0..heads {
        let g = &mut grams[k * dh * dh..][..dh * dh];
        for t in 0..n {
            let x = &w[t * d + k * dh..][..dh];
            let norm = x
                .iter()
                .map(|&v| (v as f64) * (v as f64))
                .sum::<f64>()
                .sqrt();
            // A zero token stays zero (torch's F.normalize clamps the norm the same way).
            let inv = 1.0 / norm.max(1e-12);
            for (r, &v) in row.iter_mut().zip(x) {
                *r = v as f64 * inv;
            }
            for i in 0..dh {
                let ri = row[i];
                for j in i..dh {
                    g[i * dh + j] += ri * row[j];
                }
            }
        }
        for i in 0..dh {
            for j in 0..i {
                g[i * dh + j] = g[j * dh + i];
            }
        }
    }
    grams
}

/// R^c from per-head Grams (K, dh, dh) of N tokens.
pub fn coding_rate_from_grams(grams: &[f64], n: usize, dh: usize) -> f64 {
    let c = dh as f64 / (n as f64 * RC_EPS);
    grams
        .chunks_exact(dh * dh)
        .map(|g| {
            let mut m: Vec<f64> = g.iter().map(|v| c * v).collect();
            for i in 0..dh {
                m[i * dh + i] += 1.0;
            }
            0.5 * logdet_spd(m, dh).unwrap_or(f64::NAN)
        })
        .sum()
}

/// R^c of one image's projection `w` (N, d) split into `heads` subspaces.
pub fn coding_rate(w: &[f32], n: usize, d: usize, heads: usize) -> f64 {
    coding_rate_from_grams(&head_grams(w, n, d, heads), n, d / heads)
}
