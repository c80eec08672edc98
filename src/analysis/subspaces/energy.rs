//! Which head claims which token: the energy of each token in each head's subspace.

use serde::Serialize;

/// Per token (N, CLS first), how `a_in = LN_{l,0}(Z^l)` splits over the K heads.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeadEnergy {
    /// (K, N): `‖U_k a‖² / Σ_j ‖U_j a‖²` with the learned U (the coordinates the attention uses),
    /// so each token's shares sum to 1 over the heads.
    pub share: Vec<Vec<f64>>,
    /// Per token, the head with the largest share (ties: the lower head).
    pub winner: Vec<usize>,
    /// (K, N): `‖Q_k a‖² / ‖a‖²`, the fraction of the token lying in head k's subspace (Q_k an
    /// orthonormal basis of U_k's rows): free of the scale U gives each head. Each is in [0, 1];
    /// they sum to 1 over the heads only for mutually orthogonal heads spanning ℝ^d.
    pub captured: Vec<Vec<f64>>,
    /// Per token, the head capturing the largest fraction (ties: the lower head).
    pub winner_captured: Vec<usize>,
}

fn argmax_per_token(v: &[Vec<f64>], n: usize) -> Vec<usize> {
    (0..n)
        .map(|t| (1..v.len()).fold(0, |best, k| if v[k][t] > v[best][t] { k } else { best }))
        .collect()
}

/// `w` = the trace's `proj_in` of one image (N, d); `a` = the same tokens after the layer's
/// `.0.norm` (N, d); `q` = per head, an orthonormal basis (dh rows of d).
pub fn head_energy(
    w: &[f32],
    a: &[f64],
    q: &[Vec<f64>],
    n: usize,
    d: usize,
    heads: usize,
) -> HeadEnergy {
    let dh = d / heads;
    let mut share = vec![vec![0.0f64; n]; heads];
    let mut captured = vec![vec![0.0f64; n]; heads];
    for t in 0..n {
        let row = &w[t * d..][..d];
        let e: Vec<f64> = (0..heads)
            .map(|k| {
                row[k * dh..][..dh]
                    .iter()
                    .map(|&v| (v as f64).powi(2))
                    .sum()
            })
            .collect();
        let total: f64 = e.iter().sum();
        let at = &a[t * d..][..d];
        let norm2: f64 = at.iter().map(|v| v * v).sum();
        for k in 0..heads {
            share[k][t] = if total > 0.0 { e[k] / total } else { 0.0 };
            let inside: f64 = q[k]
                .chunks_exact(d)
                .map(|qr| qr.iter().zip(at).map(|(x, y)| x * y).sum::<f64>().powi(2))
                .sum();
            captured[k][t] = if norm2 > 0.0 { inside / norm2 } else { 0.0 };
        }
    }
    HeadEnergy {
        winner: argmax_per_token(&share, n),
        winner_captured: argmax_per_token(&captured, n),
        share,
        captured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::subspaces::geometry::{orthonormal_bases, project};

    #[test]
    fn shares_sum_to_one_and_orthogonal_heads_capture_everything() {
        let (n, d, heads) = (7, 8, 4);
        let a: Vec<f64> = crate::rng::uniform(1, "a", n * d, 1.0)
            .iter()
            .map(|&v| v as f64)
            .collect();
        // A random U: shares sum to 1; captured fractions are in [0, 1].
        let u = crate::rng::uniform(2, "u", d * d, 1.0);
        let w: Vec<f32> = project(&a, n, d, &u).iter().map(|&v| v as f32).collect();
        let e = head_energy(&w, &a, &orthonormal_bases(&u, d, heads), n, d, heads);
        for t in 0..n {
            let s: f64 = (0..heads).map(|k| e.share[k][t]).sum();
            assert!((s - 1.0).abs() < 1e-12);
            assert!((0..heads).all(|k| (-1e-12..=1.0 + 1e-12).contains(&e.captured[k][t])));
            let w = e.winner[t];
            assert!((0..heads).all(|k| e.share[k][t] <= e.share[w][t]));
        }
        // U = diag(scales): heads are coordinate planes. Captured fractions sum to 1 and ignore
        // the scales; shares weigh them in.
        let mut u = vec![0.0f32; d * d];
        for i in 0..d {
            u[i * d + i] = if i < 2 { 10.0 } else { 1.0 };
        }
        let w: Vec<f32> = project(&a, n, d, &u).iter().map(|&v| v as f32).collect();
        let e = head_energy(&w, &a, &orthonormal_bases(&u, d, heads), n, d, heads);
        for t in 0..n {
            let c: f64 = (0..heads).map(|k| e.captured[k][t]).sum();
            assert!((c - 1.0).abs() < 1e-12);
            let at = &a[t * d..][..d];
            let want0 = (at[0] * at[0] + at[1] * at[1]) / at.iter().map(|v| v * v).sum::<f64>();
            assert!((e.captured[0][t] - want0).abs() < 1e-12);
            assert!(e.share[0][t] > e.captured[0][t] || want0 == 0.0);
        }
        // Ties go to the lower head; a zero token has zero shares.
        let e = head_energy(
            &[0.0; 8],
            &[0.0; 8],
            &orthonormal_bases(&u, d, heads),
            1,
            d,
            heads,
        );
        assert_eq!((e.winner[0], e.share[3][0]), (0, 0.0));
    }
}
