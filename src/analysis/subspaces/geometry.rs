//! The heads' subspaces: projections onto them, orthonormal bases, and how much they overlap.

use serde::Serialize;

use super::spectra::singular_values;
use crate::analysis::incoherence::{incoherence, orthonormal_rows};

/// LayerNorm eps (CRATE-SPEC.md).
const LN_EPS: f64 = 1e-5;

/// Row-wise LayerNorm (biased variance, eps 1e-5, affine) of (rows, d) f32 values, in f64.
pub fn layer_norm(x: &[f32], d: usize, gamma: &[f32], beta: &[f32]) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(d) {
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / d as f64;
        let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / d as f64;
        let inv = 1.0 / (var + LN_EPS).sqrt();
        out.extend(
            row.iter()
                .zip(gamma.iter().zip(beta))
                .map(|(&v, (&g, &b))| (v as f64 - mean) * inv * g as f64 + b as f64),
        );
    }
    out
}

/// `a U^T` for `a` (n, d) and `U` (d, d): every head's coordinates side by side.
pub fn project(a: &[f64], n: usize, d: usize, u: &[f32]) -> Vec<f64> {
    let mut out = vec![0.0f64; n * d];
    for (row, o) in a.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        for (oj, urow) in o.iter_mut().zip(u.chunks_exact(d)) {
            *oj = row.iter().zip(urow).map(|(x, &w)| x * w as f64).sum();
        }
    }
    debug_assert_eq!(out.len(), n * d);
    out
}

/// Head `k`'s columns `k*dh..(k+1)*dh` of a (n, d) projection, as (n, dh) f64.
pub fn head_columns<T: Copy + Into<f64>>(
    w: &[T],
    n: usize,
    d: usize,
    dh: usize,
    k: usize,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(n * dh);
    for row in w.chunks_exact(d).take(n) {
        out.extend(row[k * dh..(k + 1) * dh].iter().map(|&v| v.into()));
    }
    out
}

/// Per head, an orthonormal basis (dh rows of length d) of the row space of `U_k`.
pub fn orthonormal_bases(u: &[f32], d: usize, heads: usize) -> Vec<Vec<f64>> {
    let dh = d / heads;
    (0..heads)
        .map(|k| orthonormal_rows(&u[k * dh * d..(k + 1) * dh * d], dh, d))
        .collect()
}

/// The expected overlap `‖Q_iᵀQ_j‖_F / √p` of two independent uniformly random p-dimensional
/// subspaces of ℝ^d, as a root mean square: `√(p/d)`.
///
/// Why: with `P_j = Q_jQ_jᵀ` the orthogonal projector, `‖Q_iᵀQ_j‖_F² = tr(P_iP_j)`. A random
/// subspace's projector is rotation invariant in distribution, so `E[P_j] = c·I`, and
/// `tr E[P_j] = p` gives `c = p/d`; with P_i independent, `E tr(P_iP_j) = tr(P_i)·p/d = p²/d`.
/// Dividing by p gives `E[overlap²] = p/d`. (Only invariance under signed permutations is used,
/// so the same holds for i.i.d. symmetric entries, e.g. a uniform init.) By Jensen the mean of
/// the overlap itself is at most this, and close to it for large d.
pub fn random_overlap(p: usize, d: usize) -> f64 {
    (p as f64 / d as f64).sqrt()
}

/// How the heads' subspaces of one layer sit against each other.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Overlap {
    /// (K, K) `‖Q_iᵀQ_j‖_F / √dh`, Q_k an orthonormal basis of U_k's rows (CRATE-SPEC.md's
    /// incoherence): 1 on the diagonal, 0 for orthogonal subspaces.
    pub matrix: Vec<Vec<f64>>,
    /// [`random_overlap`]`(dh, d)`, the colour bar's reference.
    pub random: f64,
    /// Root mean square of the off-diagonal entries, to set against `random`.
    pub offdiag_rms: f64,
    /// Singular values of `[Q_1 … Q_K]` (d × K·dh), descending: all 1 exactly when the heads are
    /// mutually orthogonal; their squares sum to K·dh.
    pub union_sv: Vec<f64>,
    /// Singular values of U itself (the learned scales included), descending.
    pub u_sv: Vec<f64>,
}

/// The overlap of layer weights `U` (d, d) split into `heads` subspaces.
pub fn overlap(u: &[f32], d: usize, heads: usize) -> Overlap {
    let dh = d / heads;
    let flat = incoherence(u, d, heads);
    let matrix: Vec<Vec<f64>> = flat.chunks_exact(heads).map(<[f64]>::to_vec).collect();
    let off: Vec<f64> = (0..heads)
        .flat_map(|i| (0..heads).filter(move |&j| j != i).map(move |j| (i, j)))
        .map(|(i, j)| matrix[i][j].powi(2))
        .collect();
    let offdiag_rms = if off.is_empty() {
        0.0
    } else {
        (off.iter().sum::<f64>() / off.len() as f64).sqrt()
    };
    let stacked: Vec<f64> = orthonormal_bases(u, d, heads).concat();
    let u64: Vec<f64> = u.iter().map(|&v| v as f64).collect();
    Overlap {
        matrix,
        random: random_overlap(dh, d),
        offdiag_rms,
        // Rows of the stacked bases are the columns of [Q_1 … Q_K].
        union_sv: singular_values(&stacked, heads * dh, d),
        u_sv: singular_values(&u64, d, d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_baseline_matches_monte_carlo() {
        // Independent heads of a matrix with i.i.d. entries are independent random subspaces:
        // the mean squared off-diagonal overlap must approach p/d.
        for (d, heads) in [(24, 6), (64, 4), (30, 3)] {
            let p = d / heads;
            let (mut sum, mut count) = (0.0, 0usize);
            for seed in 0..200 {
                let u = crate::rng::uniform(seed, "mc", d * d, 1.0);
                let o = overlap(&u, d, heads);
                for i in 0..heads {
                    for j in 0..heads {
                        if i != j {
                            sum += o.matrix[i][j].powi(2);
                            count += 1;
                        }
                    }
                }
            }
            let mc = sum / count as f64;
            let exact = random_overlap(p, d).powi(2);
            assert!(
                (mc - exact).abs() < 0.03 * exact,
                "d={d} p={p}: {mc} vs {exact}"
            );
        }
    }

    #[test]
    fn union_singular_values_of_orthogonal_and_equal_heads() {
        // d = 4, two heads: orthogonal planes give all ones; the same plane twice gives √2, √2, 0, 0.
        let mut u = vec![0.0f32; 16];
        for i in 0..4 {
            u[i * 4 + i] = 3.0;
        }
        let o = overlap(&u, 4, 2);
        assert!(
            o.union_sv.iter().all(|s| (s - 1.0).abs() < 1e-12),
            "{:?}",
            o.union_sv
        );
        assert!(o.u_sv.iter().all(|s| (s - 3.0).abs() < 1e-12));
        assert_eq!(o.offdiag_rms, 0.0);
        assert_eq!(o.random, 0.5f64.sqrt());
        let same = [
            1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0,
        ];
        let o = overlap(&same, 4, 2);
        let want = [2f64.sqrt(), 2f64.sqrt(), 0.0, 0.0];
        for (s, w) in o.union_sv.iter().zip(want) {
            assert!((s - w).abs() < 1e-7, "{:?}", o.union_sv);
        }
        assert!((o.offdiag_rms - 1.0).abs() < 1e-12);
        // Squares of the union's singular values sum to K·dh.
        let u = crate::rng::uniform(9, "u", 64, 1.0);
        let o = overlap(&u, 8, 4);
        assert!((o.union_sv.iter().map(|s| s * s).sum::<f64>() - 8.0).abs() < 1e-10);
    }

    #[test]
    fn layer_norm_and_projection() {
        let x = [1.0f32, 2.0, 3.0, 4.0];
        let a = layer_norm(&x, 4, &[1.0; 4], &[0.5; 4]);
        let mean = a.iter().sum::<f64>() / 4.0;
        let var = a.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4.0;
        assert!((mean - 0.5).abs() < 1e-12 && (var - 1.25 / (1.25 + 1e-5)).abs() < 1e-12);
        // U = 2·I: every coordinate doubles; head 1 of 2 is columns 2..4.
        let mut u = vec![0.0f32; 16];
        for i in 0..4 {
            u[i * 4 + i] = 2.0;
        }
        let w = project(&a, 1, 4, &u);
        assert_eq!(head_columns(&w, 1, 4, 2, 1), vec![2.0 * a[2], 2.0 * a[3]]);
    }
}
