//! One ISTA step with a chosen dictionary D (d, m), generalising CRATE's square case to a code
//! space of its own: the code starts at `z0 = ReLU(Dᵀx)` and takes one proximal-gradient step
//! of `½‖x − Dz‖² + λ‖z‖₁, z ≥ 0`:  `z = ReLU(z0 + η Dᵀ(x − D z0) − ηλ)`; the token becomes
//! `x' = D z`. With D = I this is CRATE's `ReLU(x − ηλ)` (CRATE-SPEC.md's ISTA without the
//! LayerNorm, since `ReLU(ReLU(x) − c) = ReLU(x − c)` and the residual term is zero where x > 0).

use super::config::Dictionary;
use super::inputs::Mat;

/// The dictionary (d, m) row-major.
pub fn dictionary(kind: Dictionary, d: usize, bases: &[Mat], p: usize) -> (Mat, usize) {
    match kind {
        Dictionary::Identity => {
            let mut m = vec![0.0; d * d];
            for i in 0..d {
                m[i * d + i] = 1.0;
            }
            (m, d)
        }
        Dictionary::Bases => {
            let m = 2 * bases.len() * p;
            let mut out = vec![0.0; d * m];
            for (k, b) in bases.iter().enumerate() {
                for i in 0..d {
                    for c in 0..p {
                        out[i * m + k * p + c] = b[i * p + c];
                        out[i * m + (bases.len() + k) * p + c] = -b[i * p + c];
                    }
                }
            }
            (out, m)
        }
    }
}

/// The step on every token of `z` (N, d) in place; returns the codes (N, m).
pub fn ista_step(
    z: &mut [f64],
    n: usize,
    d: usize,
    dict: &[f64],
    m: usize,
    eta: f64,
    lambda: f64,
) -> Mat {
    let mut codes = vec![0.0f64; n * m];
    for t in 0..n {
        let x = &z[t * d..(t + 1) * d];
        let z0: Vec<f64> = (0..m)
            .map(|j| (0..d).map(|i| dict[i * m + j] * x[i]).sum::<f64>().max(0.0))
            .collect();
        let r: Vec<f64> = (0..d)
            .map(|i| x[i] - (0..m).map(|j| dict[i * m + j] * z0[j]).sum::<f64>())
            .collect();
        let code = &mut codes[t * m..(t + 1) * m];
        for j in 0..m {
            let g: f64 = (0..d).map(|i| dict[i * m + j] * r[i]).sum();
            code[j] = (z0[j] + eta * g - eta * lambda).max(0.0);
        }
        let out = &mut z[t * d..(t + 1) * d];
        for (i, o) in out.iter_mut().enumerate() {
            *o = (0..m).map(|j| dict[i * m + j] * code[j]).sum();
        }
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_dictionary_is_cratees_relu_shift() {
        let (dict, m) = dictionary(Dictionary::Identity, 3, &[], 0);
        let mut z = vec![0.5, -0.2, 0.01];
        let codes = ista_step(&mut z, 1, 3, &dict, m, 0.1, 0.1);
        let want = [0.49, 0.0, 0.0];
        for (a, b) in z.iter().zip(want) {
            assert!((a - b).abs() < 1e-15);
        }
        assert_eq!(codes, z);
    }

    #[test]
    fn signed_bases_drop_what_lies_outside_and_shrink_the_rest() {
        // One line (the first axis) in R^2: the second coordinate is removed.
        let b = vec![vec![1.0, 0.0]];
        let (dict, m) = dictionary(Dictionary::Bases, 2, &b, 1);
        assert_eq!(m, 2);
        let mut z = vec![-0.7, 0.3];
        let codes = ista_step(&mut z, 1, 2, &dict, m, 0.1, 0.1);
        assert_eq!(codes[0], 0.0);
        assert!((codes[1] - 0.69).abs() < 1e-15);
        assert!((z[0] + 0.69).abs() < 1e-15 && z[1] == 0.0);
    }
}
