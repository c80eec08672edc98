//! Per-layer measures of the lab's tokens against the true bases.
//!
//! - `SNR_k = ‖Z_k P_k‖_F / ‖Z_k (I − P_k)‖_F`, Z_k the tokens (rows) of subspace k and
//!   `P_k = U_k U_kᵀ` (computed as written, from the stored f32 bases).
//! - The theory's geometric line `SNR_k(l) = (1 + η)^l · SNR_k(0)`. Why: in the idealised limit
//!   each token's attention in its own head matches only itself (A = I on its row) and finds
//!   nothing above θ in the other heads (a zero row), so one step maps its own-subspace part
//!   `P_k z` to `(1 + η) P_k z` and leaves the rest (the other subspaces' δ share and the noise)
//!   unchanged; the numerator grows by (1 + η) per layer, the denominator stays. Matches with
//!   other tokens (a larger θ-neighbourhood, softmax's spread weights) or heads that match no
//!   subspace pull the curve below the line; overlapping (random) subspaces move part of the
//!   "noise" along with the signal.
//! - `R^c(Z | U) = Σ_k ½ logdet(I_p + p/(N ε) X_kᵀ X_k)`, X_k = Z U_k with each row scaled to unit
//!   norm, ε = 0.01: CRATE-SPEC.md's R^c with the true bases as the heads
//!   ([`crate::analysis::coding_rate::coding_rate_from_grams`]).
//! - Non-zero fraction of the ISTA codes: `#(codes ≠ 0) / (N m)`.

use super::mssa::coordinates;
use crate::analysis::coding_rate::coding_rate_from_grams;

/// SNR of each subspace's tokens; NaN for a subspace without tokens.
pub fn snr(
    z: &[f64],
    n: usize,
    d: usize,
    labels: &[usize],
    bases: &[Vec<f64>],
    p: usize,
) -> Vec<f64> {
    let mut sig = vec![0.0f64; bases.len()];
    let mut res = vec![0.0f64; bases.len()];
    let mut count = vec![0usize; bases.len()];
    for t in 0..n {
        let k = labels[t];
        let u = &bases[k];
        let x = &z[t * d..(t + 1) * d];
        let c: Vec<f64> = (0..p)
            .map(|j| (0..d).map(|i| u[i * p + j] * x[i]).sum())
            .collect();
        for i in 0..d {
            let proj: f64 = (0..p).map(|j| u[i * p + j] * c[j]).sum();
            sig[k] += proj * proj;
            res[k] += (x[i] - proj).powi(2);
        }
        count[k] += 1;
    }
    (0..bases.len())
        .map(|k| {
            if count[k] == 0 {
                f64::NAN
            } else {
                (sig[k] / res[k]).sqrt()
            }
        })
        .collect()
}

/// The geometric line from each subspace's SNR at layer 0.
pub fn theory_line(snr0: &[f64], eta: f64, layers: usize) -> Vec<Vec<f64>> {
    (0..=layers)
        .map(|l| {
            snr0.iter()
                .map(|s| s * (1.0 + eta).powi(l as i32))
                .collect()
        })
        .collect()
}

/// R^c of `z` (N, d) against the bases (each (d, p)).
pub fn coding_rate(z: &[f64], n: usize, d: usize, bases: &[Vec<f64>], p: usize) -> f64 {
    let mut grams = vec![0.0f64; bases.len() * p * p];
    for (k, b) in bases.iter().enumerate() {
        let x = coordinates(z, n, d, b, p);
        let g = &mut grams[k * p * p..(k + 1) * p * p];
        for row in x.chunks_exact(p) {
            let inv = 1.0 / row.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
            for i in 0..p {
                for j in 0..p {
                    g[i * p + j] += row[i] * inv * row[j] * inv;
                }
            }
        }
    }
    coding_rate_from_grams(&grams, n, p)
}

pub fn nonzero_fraction(codes: &[f64]) -> f64 {
    codes.iter().filter(|&&v| v != 0.0).count() as f64 / codes.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snr_of_tokens_on_and_off_an_axis() {
        // Subspace 0 = first axis of R^2; token (3, 4): signal 3, residual 4.
        let s = snr(&[3.0, 4.0], 1, 2, &[0], &[vec![1.0, 0.0]], 1);
        assert!((s[0] - 0.75).abs() < 1e-15);
        let line = theory_line(&s, 0.5, 2);
        assert!((line[2][0] - 0.75 * 2.25).abs() < 1e-15);
    }

    #[test]
    fn coding_rate_of_collinear_tokens_is_one_direction() {
        // N tokens on one line: X X^T has one eigenvalue N (unit rows), so R^c = ½ log(1 + p/ε).
        let z = [1.0, 0.0, -2.0, 0.0, 0.5, 0.0];
        let r = coding_rate(&z, 3, 2, &[vec![1.0, 0.0, 0.0, 1.0]], 2);
        assert!((r - 0.5 * (1.0f64 + 2.0 / 0.01).ln()).abs() < 1e-12, "{r}");
    }
}
