//! ISTA: one proximal-gradient step of sparse coding against the dictionary D. The CPU twin of
//! the ISTA epilogue in `shaders/matmul.wgsl`.
//!
//! `Z^{l+1} = ReLU(y + eta * (y D - (y D^T) D) - eta * lambda)` with `y = LN(Z^{l+1/2})` (the
//! official form, three matmuls). With the dictionary fixed, as in inference, its linear part is
//! one matrix: `y D - y D^T D = y M` with `M = D - D^T D` ([`operator`], computed once per layer),
//! so a forward costs one (rows × d × d) product here instead of the official three.
//! [`ista_unfused`] is the two-product form `(y - y D^T) D`, kept as the test's second opinion.

use super::gemm::{gemm, MatMut, MatRef, Threads};

/// `M = D - D^T D` (d, d), row-major, for a dictionary D (d, d) row-major.
pub fn operator(dict: &[f32], d: usize) -> Vec<f32> {
    let dm = MatRef::new(dict, d, d);
    let mut m = dict.to_vec();
    gemm(
        MatMut::new(&mut m, d, d),
        true,
        dm.t(),
        dm,
        -1.0,
        Threads::Auto,
    );
    m
}

/// `y` is the normalised input (rows, d); `op` is the layer's [`operator`].
pub fn ista(y: &[f32], rows: usize, d: usize, op: &[f32], eta: f32, lambda: f32) -> Vec<f32> {
    // z = y + eta * y M, then the shifted ReLU.
    let mut z = y.to_vec();
    gemm(
        MatMut::new(&mut z, rows, d),
        true,
        MatRef::new(y, rows, d),
        MatRef::new(op, d, d),
        eta,
        Threads::Auto,
    );
    shifted_relu(&mut z, eta * lambda);
    z
}

/// The same step from the dictionary itself: `y + eta * (y - y D^T) D`, two products.
pub fn ista_unfused(
    y: &[f32],
    rows: usize,
    d: usize,
    dict: &[f32],
    eta: f32,
    lambda: f32,
) -> Vec<f32> {
    let dm = MatRef::new(dict, d, d);
    // r = y - y D^T
    let mut r = y.to_vec();
    gemm(
        MatMut::new(&mut r, rows, d),
        true,
        MatRef::new(y, rows, d),
        dm.t(),
        -1.0,
        Threads::Auto,
    );
    let mut z = y.to_vec();
    gemm(
        MatMut::new(&mut z, rows, d),
        true,
        MatRef::new(&r, rows, d),
        dm,
        eta,
        Threads::Auto,
    );
    shifted_relu(&mut z, eta * lambda);
    z
}

fn shifted_relu(z: &mut [f32], shift: f32) {
    for v in z.iter_mut() {
        // Written so that a NaN stays NaN (and is caught downstream) instead of becoming 0.
        let t = *v - shift;
        *v = if t < 0.0 { 0.0 } else { t };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::uniform;

    /// The official three-product form in f64, straight from the formula.
    fn official(y: &[f32], rows: usize, d: usize, dict: &[f32], eta: f64, lambda: f64) -> Vec<f64> {
        let at = |m: &[f32], i: usize, j: usize| m[i * d + j] as f64;
        let mut out = vec![0.0; rows * d];
        for r in 0..rows {
            let yr = &y[r * d..][..d];
            // x1 = y D^T, grad_1 = x1 D, grad_2 = y D
            let x1: Vec<f64> = (0..d)
                .map(|i| (0..d).map(|j| yr[j] as f64 * at(dict, i, j)).sum())
                .collect();
            for j in 0..d {
                let g1: f64 = (0..d).map(|i| x1[i] * at(dict, i, j)).sum();
                let g2: f64 = (0..d).map(|i| yr[i] as f64 * at(dict, i, j)).sum();
                out[r * d + j] = (yr[j] as f64 + eta * (g2 - g1) - eta * lambda).max(0.0);
            }
        }
        out
    }

    #[test]
    fn fused_and_unfused_steps_match_the_official_form() {
        let (rows, d) = (37, 48);
        let y = uniform(7, "y", rows * d, 1.5);
        let dict = uniform(7, "dict", d * d, 0.25);
        let (eta, lambda) = (0.1f32, 0.1f32);
        let want = official(&y, rows, d, &dict, eta as f64, lambda as f64);
        let fused = ista(&y, rows, d, &operator(&dict, d), eta, lambda);
        let unfused = ista_unfused(&y, rows, d, &dict, eta, lambda);
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (name, got) in [("fused", &fused), ("unfused", &unfused)] {
            let err = got
                .iter()
                .zip(&want)
                .fold(0.0f64, |m, (g, w)| m.max((*g as f64 - w).abs()));
            assert!(
                err <= 1e-5 * scale,
                "{name}: max error {err:e} (scale {scale})"
            );
        }
        assert!(want.contains(&0.0) && want.iter().any(|v| *v > 0.0));
    }
}
