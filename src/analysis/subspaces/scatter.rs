//! Tokens in one head's subspace, drawn on their principal axes: the axes are fitted on the
//! coordinates before the MSSA step, and every set (before, after, next layer) goes through the
//! same affine map, so that movement between the panels is movement of the tokens.

use serde::Serialize;

use crate::analysis::linalg::symmetric_eigen;
use crate::error::{Error, Result};

/// A centred PCA fitted on (n, dh) points.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Axes {
    /// Mean of the fitted points (dh).
    pub center: Vec<f64>,
    /// The top principal directions (m, dh), by descending variance; each signed so that its
    /// entry of largest magnitude (the first such) is positive.
    pub axes: Vec<Vec<f64>>,
    /// Variance along each axis (population: divided by n).
    pub variance: Vec<f64>,
    /// Each axis's share of the total variance.
    pub explained: Vec<f64>,
}

/// Fits `m` centred principal axes to (n, dh) points. Fails when m is not 2 or 3 or exceeds dh.
pub fn fit_axes(x: &[f64], n: usize, dh: usize, m: usize) -> Result<Axes> {
    if !(2..=3).contains(&m) || m > dh || n == 0 {
        return Err(Error::Input(format!(
            "a scatter needs 2 or 3 axes, at most the head dimension {dh}, and some points: asked for {m} axes of {n} points"
        )));
    }
    let mut center = vec![0.0f64; dh];
    for r in x.chunks_exact(dh) {
        for (c, v) in center.iter_mut().zip(r) {
            *c += v;
        }
    }
    center.iter_mut().for_each(|c| *c /= n as f64);
    let mut cov = vec![0.0f64; dh * dh];
    for r in x.chunks_exact(dh) {
        for i in 0..dh {
            let ri = r[i] - center[i];
            for j in i..dh {
                cov[i * dh + j] += ri * (r[j] - center[j]);
            }
        }
    }
    for i in 0..dh {
        for j in i..dh {
            cov[i * dh + j] /= n as f64;
            cov[j * dh + i] = cov[i * dh + j];
        }
    }
    let (evals, vecs) = symmetric_eigen(&cov, dh);
    let total: f64 = evals.iter().sum();
    let mut axes = Vec::with_capacity(m);
    let mut variance = Vec::with_capacity(m);
    for c in 0..m {
        let col = dh - 1 - c;
        let mut v: Vec<f64> = (0..dh).map(|i| vecs[i * dh + col]).collect();
        let big = v
            .iter()
            .copied()
            .fold(0.0f64, |b, a| if a.abs() > b.abs() { a } else { b });
        if big < 0.0 {
            v.iter_mut().for_each(|a| *a = -*a);
        }
        axes.push(v);
        variance.push(evals[col].max(0.0));
    }
    let explained = variance
        .iter()
        .map(|v| if total > 0.0 { v / total } else { 0.0 })
        .collect();
    Ok(Axes {
        center,
        axes,
        variance,
        explained,
    })
}

impl Axes {
    /// (n, dh) points → n rows of m coordinates on these axes.
    pub fn project(&self, x: &[f64]) -> Vec<Vec<f64>> {
        let dh = self.center.len();
        x.chunks_exact(dh)
            .map(|r| {
                self.axes
                    .iter()
                    .map(|a| {
                        r.iter()
                            .zip(&self.center)
                            .zip(a)
                            .map(|((v, c), w)| (v - c) * w)
                            .sum()
                    })
                    .collect()
            })
            .collect()
    }
}

/// Head coordinates before and after the MSSA step and of the next layer's input, on the axes
/// of the "before" set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scatter {
    #[serde(flatten)]
    pub fit: Axes,
    /// n rows of m coordinates each (CLS first).
    pub before: Vec<Vec<f64>>,
    pub after: Vec<Vec<f64>>,
    pub next: Vec<Vec<f64>>,
}

/// Fits the axes on `before` (n, dh) and projects all three sets onto them.
pub fn scatter(
    before: &[f64],
    after: &[f64],
    next: &[f64],
    n: usize,
    dh: usize,
    m: usize,
) -> Result<Scatter> {
    let fit = fit_axes(before, n, dh, m)?;
    Ok(Scatter {
        before: fit.project(before),
        after: fit.project(after),
        next: fit.project(next),
        fit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_of_an_elongated_cloud() {
        // Points along (1, 1, 0)/√2 with spread 3, along (0, 0, 1) with spread 1, offset by 5.
        let mut x = Vec::new();
        for i in 0..20 {
            let t = (i as f64 - 9.5) / 3.0;
            // Signs + − − + per four points: uncorrelated with t, mean zero.
            let s = if i % 4 == 0 || i % 4 == 3 { 0.5 } else { -0.5 };
            x.extend([5.0 + t, 5.0 + t, s]);
        }
        let sc = scatter(&x, &x, &x, 20, 3, 2).unwrap();
        let h = 0.5f64.sqrt();
        assert!((sc.fit.axes[0][0] - h).abs() < 1e-12 && (sc.fit.axes[0][1] - h).abs() < 1e-12);
        assert!((sc.fit.axes[1][2].abs() - 1.0).abs() < 1e-12);
        assert!((sc.fit.center[0] - 5.0).abs() < 1e-12);
        // Centred: the projected "before" points have mean zero; the other sets use the same map.
        let mean0: f64 = sc.before.iter().map(|p| p[0]).sum::<f64>() / 20.0;
        assert!(mean0.abs() < 1e-12);
        assert_eq!(sc.after, sc.before);
        let shifted: Vec<f64> = x.iter().map(|v| v + 1.0).collect();
        let moved = fit_axes(&x, 20, 3, 2).unwrap().project(&shifted);
        assert!((moved[0][0] - sc.before[0][0] - 2.0 * h).abs() < 1e-12);
        let total: f64 = sc.fit.explained.iter().sum();
        assert!(total <= 1.0 + 1e-12 && sc.fit.explained[0] > 0.9);
        assert!(fit_axes(&x, 20, 3, 4).is_err() && fit_axes(&x, 20, 3, 1).is_err());
    }
}
