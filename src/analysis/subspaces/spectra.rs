//! Singular-value spectra: how close the tokens are to a low-dimensional (union of) subspace(s).
//! Uncentred, because CRATE's subspaces pass through the origin.

use serde::Serialize;

use super::geometry::head_columns;
use super::Dims;
use crate::analysis::linalg::symmetric_eigenvalues;
use crate::engine::Trace;

/// Singular values (descending, `min(rows, cols)` of them) of a row-major (rows, cols) matrix,
/// from the eigenvalues of its smaller Gram matrix. Values below ~1e-8 of the largest are
/// round-off (the square root of the Gram's).
pub fn singular_values(x: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let m = rows.min(cols);
    let mut g = vec![0.0f64; m * m];
    if rows <= cols {
        for i in 0..rows {
            for j in i..rows {
                let s: f64 = x[i * cols..][..cols]
                    .iter()
                    .zip(&x[j * cols..][..cols])
                    .map(|(a, b)| a * b)
                    .sum();
                g[i * m + j] = s;
                g[j * m + i] = s;
            }
        }
    } else {
        for r in x.chunks_exact(cols) {
            for i in 0..cols {
                let ri = r[i];
                for j in i..cols {
                    g[i * m + j] += ri * r[j];
                }
            }
        }
        for i in 0..m {
            for j in 0..i {
                g[i * m + j] = g[j * m + i];
            }
        }
    }
    symmetric_eigenvalues(&g, m)
        .iter()
        .rev()
        .map(|&l| l.max(0.0).sqrt())
        .collect()
}

/// One spectrum, normalised for a log plot.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spectrum {
    /// The largest singular value.
    pub sigma1: f64,
    /// σ_i / σ_1, descending (all 0 for a zero matrix).
    pub normalised: Vec<f64>,
    /// The fewest singular values holding at least 90 % of Σσ² (0 for a zero matrix).
    pub rank90: usize,
}

pub fn spectrum(x: &[f64], rows: usize, cols: usize) -> Spectrum {
    let s = singular_values(x, rows, cols);
    let sigma1 = s.first().copied().unwrap_or(0.0);
    let total: f64 = s.iter().map(|v| v * v).sum();
    let mut rank90 = 0;
    if total > 0.0 {
        let mut cum = 0.0;
        for (i, v) in s.iter().enumerate() {
            cum += v * v;
            // The slack keeps an exact 90 % (e.g. ten equal values) from depending on round-off.
            if cum / total >= 0.9 - 1e-12 {
                rank90 = i + 1;
                break;
            }
        }
    }
    Spectrum {
        sigma1,
        normalised: s
            .iter()
            .map(|v| if sigma1 > 0.0 { v / sigma1 } else { 0.0 })
            .collect(),
        rank90,
    }
}

/// Every layer's spectra for one image.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spectra {
    /// L + 1 entries: the tokens Z^l (N, d) entering layer l, then the last ISTA output Z^L.
    pub tokens: Vec<Spectrum>,
    /// `[layer][head]`: head k's coordinates `LN_{l,0}(Z^l) U_k^T` (N, dh).
    pub heads: Vec<Vec<Spectrum>>,
}

/// The spectra of image `b` of a checked trace.
pub fn token_spectra(trace: &Trace, dims: &Dims, b: usize) -> Spectra {
    let (n, d, dh) = (dims.tokens, dims.dim, dims.head_dim);
    let f64s = |x: &[f32]| x.iter().map(|&v| v as f64).collect::<Vec<f64>>();
    let mut tokens: Vec<Spectrum> = trace
        .layers
        .iter()
        .map(|lt| spectrum(&f64s(dims.image(&lt.z.data, b)), n, d))
        .collect();
    if let Some(last) = trace.layers.last() {
        tokens.push(spectrum(&f64s(dims.image(&last.zout.data, b)), n, d));
    }
    let heads = trace
        .layers
        .iter()
        .map(|lt| {
            let w = dims.image(&lt.proj_in.data, b);
            (0..dims.heads)
                .map(|k| spectrum(&head_columns(w, n, d, dh, k), n, dh))
                .collect()
        })
        .collect();
    Spectra { tokens, heads }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singular_values_of_known_matrices() {
        // diag(3, 2) padded to 2×3 and 3×2: both Gram branches.
        let wide = [3.0, 0.0, 0.0, 0.0, 2.0, 0.0];
        let tall = [3.0, 0.0, 0.0, 2.0, 0.0, 0.0];
        for s in [singular_values(&wide, 2, 3), singular_values(&tall, 3, 2)] {
            assert!(
                (s[0] - 3.0).abs() < 1e-12 && (s[1] - 2.0).abs() < 1e-12,
                "{s:?}"
            );
        }
        // A rank-one matrix: one non-zero value, rank90 = 1.
        let r1: Vec<f64> = (0..12)
            .map(|i| ((i / 4) + 1) as f64 * ((i % 4) as f64 - 1.5))
            .collect();
        let sp = spectrum(&r1, 3, 4);
        assert_eq!(sp.rank90, 1);
        assert!(sp.normalised[1] < 1e-6 && sp.normalised[0] == 1.0);
        // Ten equal singular values: exactly 90 % at nine.
        let mut eye = vec![0.0; 100];
        for i in 0..10 {
            eye[i * 10 + i] = 2.0;
        }
        let sp = spectrum(&eye, 10, 10);
        assert_eq!((sp.rank90, sp.sigma1), (9, 2.0));
        assert_eq!(spectrum(&[0.0; 6], 2, 3).rank90, 0);
    }
}
