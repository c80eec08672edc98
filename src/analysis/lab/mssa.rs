//! The idealised MSSA step with known bases (no LayerNorm, no learned output map):
//!
//! for tokens as rows (N, d) and head bases B_h (d, q): `X_h = Z B_h` (N, q), `S_h = X_h X_hᵀ` (N, N), `O_h = A(S_h) X_h`,
//! `Z ← Z + η Σ_h O_h B_hᵀ`. In the column form of the issue this is
//! `Z ← Z + η Σ_k U_k U_kᵀ Z φ((U_kᵀZ)ᵀ(U_kᵀZ))` with φ acting on each token's column of
//! similarities. `A` is [`Phi::Softmax`]: `softmax_row(S/√q)` (CRATE-SPEC.md's MSSA scale, the
//! query's row over all keys), or [`Phi::Threshold`]: `φ(s) = s·1[s ≥ θ]` with
//! θ = `threshold`·mean_i S_ii (the head's mean token energy), each row rescaled to sum 1 (a row
//! with nothing above θ gives zero).

use super::config::{LabConfig, Phi};
use super::inputs::Mat;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| u * v).sum()
}

/// θ of [`Phi::Threshold`] for one head's coordinates `x` (N, q): `threshold` × the mean token
/// energy. It scales with the tokens, so that the split between strong and weak matches does not
/// drift as the steps grow them.
pub fn theta(x: &[f64], n: usize, q: usize, threshold: f64) -> f64 {
    threshold
        * (0..n)
            .map(|i| dot(&x[i * q..(i + 1) * q], &x[i * q..(i + 1) * q]))
            .sum::<f64>()
        / n as f64
}

/// Rows `rows` (each N long) of the attention matrix of one head's coordinates `x` (N, q);
/// `theta` from [`theta`] (unused by softmax). Rows are independent, so the page computes them a
/// block at a time.
pub fn attention_rows(
    x: &[f64],
    n: usize,
    q: usize,
    phi: Phi,
    theta: f64,
    rows: std::ops::Range<usize>,
) -> Mat {
    let mut a = vec![0.0f64; rows.len() * n];
    for (i, row) in rows.zip(a.chunks_exact_mut(n)) {
        let xi = &x[i * q..(i + 1) * q];
        for (j, r) in row.iter_mut().enumerate() {
            *r = dot(xi, &x[j * q..(j + 1) * q]);
        }
        match phi {
            Phi::Softmax => {
                let scale = 1.0 / (q as f64).sqrt();
                let m = row.iter().fold(f64::NEG_INFINITY, |m, &s| m.max(s)) * scale;
                let mut sum = 0.0;
                for r in row.iter_mut() {
                    *r = (*r * scale - m).exp();
                    sum += *r;
                }
                row.iter_mut().for_each(|r| *r /= sum);
            }
            Phi::Threshold => {
                let mut sum = 0.0;
                for r in row.iter_mut() {
                    if *r < theta {
                        *r = 0.0;
                    }
                    sum += *r;
                }
                if sum > 0.0 {
                    row.iter_mut().for_each(|r| *r /= sum);
                }
            }
        }
    }
    a
}

/// The attention matrix (N, N) of one head's coordinates `x` (N, q).
pub fn attention(x: &[f64], n: usize, q: usize, phi: Phi, threshold: f64) -> Mat {
    attention_rows(x, n, q, phi, theta(x, n, q, threshold), 0..n)
}

/// Adds the head's output `(A X) Bᵀ` for tokens `rows` to `delta` (N, d), from those rows `a`
/// of its attention matrix.
pub fn add_head_rows(
    delta: &mut [f64],
    x: &[f64],
    b: &[f64],
    dims: (usize, usize, usize),
    a: &[f64],
    rows: std::ops::Range<usize>,
) {
    let (n, d, q) = dims;
    let mut o = vec![0.0f64; q];
    for (t, arow) in rows.zip(a.chunks_exact(n)) {
        o.iter_mut().for_each(|v| *v = 0.0);
        for (s, &w) in arow.iter().enumerate() {
            if w != 0.0 {
                for c in 0..q {
                    o[c] += w * x[s * q + c];
                }
            }
        }
        for i in 0..d {
            delta[t * d + i] += (0..q).map(|c| o[c] * b[i * q + c]).sum::<f64>();
        }
    }
}

/// `Z B` for tokens `z` (N, d) and a basis `b` (d, q).
pub fn coordinates(z: &[f64], n: usize, d: usize, b: &[f64], q: usize) -> Mat {
    let mut x = vec![0.0f64; n * q];
    for t in 0..n {
        for i in 0..d {
            let zi = z[t * d + i];
            for c in 0..q {
                x[t * q + c] += zi * b[i * q + c];
            }
        }
    }
    x
}

/// One idealised MSSA step on the tokens `z` (N, d) with head bases `heads` (each (d, q)); N, d,
/// q, η, φ and θ are `cfg`'s.
pub fn mssa_step(z: &mut [f64], heads: &[Mat], cfg: &LabConfig) {
    let (n, d, q) = (cfg.n, cfg.d, cfg.head_dim);
    let mut delta = vec![0.0f64; n * d];
    for b in heads {
        let x = coordinates(z, n, d, b, q);
        let a = attention(&x, n, q, cfg.phi, cfg.threshold);
        add_head_rows(&mut delta, &x, b, (n, d, q), &a, 0..n);
    }
    apply(z, &delta, cfg.eta);
}

/// `Z ← Z + η Δ`.
pub fn apply(z: &mut [f64], delta: &[f64], eta: f64) {
    for (zi, di) in z.iter_mut().zip(delta) {
        *zi += eta * di;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_rows_sum_to_one_and_threshold_keeps_only_strong_matches() {
        let x = [1.0, 0.0, 0.9, 0.1, 0.0, 0.2];
        let a = attention(&x, 3, 2, Phi::Softmax, 0.0);
        for r in a.chunks(3) {
            assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // θ = 0.4·2 = 0.8: token 0 matches itself (1) and token 1 (0.9); token 2 nothing.
        let a = attention(&x, 3, 2, Phi::Threshold, 0.4);
        assert!((a[0] - 1.0 / 1.9).abs() < 1e-12 && (a[1] - 0.9 / 1.9).abs() < 1e-12);
        assert_eq!(a[2], 0.0);
        assert!(a[6..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn a_token_that_matches_only_itself_grows_by_one_plus_eta() {
        // Two orthogonal tokens on the axes of one 2-D head: each attends only to itself.
        let mut z = vec![2.0, 0.0, 0.0, 0.0, 3.0, 0.5];
        let b = vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let cfg = LabConfig {
            n: 2,
            d: 3,
            head_dim: 2,
            eta: 0.5,
            phi: Phi::Threshold,
            threshold: 0.5,
            ..LabConfig::default()
        };
        mssa_step(&mut z, &[b], &cfg);
        assert_eq!(z, vec![3.0, 0.0, 0.0, 0.0, 4.5, 0.5]);
    }
}
