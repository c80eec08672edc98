//! PCA feature maps: the first three principal components of the patch tokens, as RGB.

use super::linalg::symmetric_eigen;

/// For one image's tokens (N, d) (CLS first, excluded here): per patch, the scores on the top
/// three principal components, each min-max scaled to [0, 1]. Each component's sign is chosen so
/// that its loading of largest magnitude is positive, so the colours are reproducible.
pub fn pca_rgb(tokens: &[f32], nt: usize, d: usize) -> Vec<[f32; 3]> {
    let n = nt - 1;
    let x = &tokens[d..nt * d];
    let mut mean = vec![0.0f64; d];
    for row in x.chunks_exact(d) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let xc: Vec<f64> = x
        .chunks_exact(d)
        .flat_map(|r| r.iter().zip(&mean).map(|(&v, m)| v as f64 - m))
        .collect();

    // Loadings v (d) of the top three components, from whichever of the covariance (d×d) or the
    // Gram (n×n) matrix is smaller: they share their non-zero spectrum (v = X^T u, normalised).
    let comps = 3.min(n.min(d));
    let mut loadings: Vec<Vec<f64>> = Vec::new();
    if d <= n {
        let mut cov = vec![0.0f64; d * d];
        for r in xc.chunks_exact(d) {
            for i in 0..d {
                for j in i..d {
                    cov[i * d + j] += r[i] * r[j];
                }
            }
        }
        for i in 0..d {
            for j in 0..i {
                cov[i * d + j] = cov[j * d + i];
            }
        }
        let (_, vecs) = symmetric_eigen(&cov, d);
        for c in 0..comps {
            loadings.push((0..d).map(|i| vecs[i * d + d - 1 - c]).collect());
        }
    } else {
        let mut gram = vec![0.0f64; n * n];
        for i in 0..n {
            for j in i..n {
                let s: f64 = xc[i * d..][..d]
                    .iter()
                    .zip(&xc[j * d..][..d])
                    .map(|(a, b)| a * b)
                    .sum();
                gram[i * n + j] = s;
                gram[j * n + i] = s;
            }
        }
        let (_, vecs) = symmetric_eigen(&gram, n);
        for c in 0..comps {
            let u: Vec<f64> = (0..n).map(|i| vecs[i * n + n - 1 - c]).collect();
            let mut v = vec![0.0f64; d];
            for (i, r) in xc.chunks_exact(d).enumerate() {
                for (vj, &x) in v.iter_mut().zip(r) {
                    *vj += u[i] * x;
                }
            }
            let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-300);
            v.iter_mut().for_each(|a| *a /= norm);
            loadings.push(v);
        }
    }
    let mut out = vec![[0.0f32; 3]; n];
    for (c, v) in loadings.iter_mut().enumerate() {
        let big = v
            .iter()
            .copied()
            .fold(0.0f64, |m, a| if a.abs() > m.abs() { a } else { m });
        if big < 0.0 {
            v.iter_mut().for_each(|a| *a = -*a);
        }
        let scores: Vec<f64> = xc
            .chunks_exact(d)
            .map(|r| r.iter().zip(v.iter()).map(|(a, b)| a * b).sum())
            .collect();
        let (lo, hi) = scores
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &s| {
                (l.min(s), h.max(s))
            });
        for (o, s) in out.iter_mut().zip(&scores) {
            o[c] = if hi > lo {
                ((s - lo) / (hi - lo)) as f32
            } else {
                0.0
            };
        }
    }
    out
}
