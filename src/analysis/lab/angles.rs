//! Principal angles between subspaces and the matching of one set of subspaces to another.
//!
//! Angles: orthonormalise both bases (Gram–Schmidt, twice), take the singular values σ of
//! `Q_aᵀ Q_b` (Q_a the larger; SVD through the eigenvalues of the smaller Gram matrix) and
//! `θ_i = arccos(min(σ_i, 1))`, except where σ_i² ≥ ½: there `θ_i = arcsin` of the matching
//! singular value of `Q_b − Q_a Q_aᵀ Q_b`, accurate near 0. Ascending, min(p, q) of them, in
//! degrees (SciPy's `subspace_angles` computes the same, descending, in radians).
//!
//! Matching: each of the K true subspaces gets its own learned subspace (H ≥ K of them)
//! minimising the sum over pairs of the mean principal angle; found exhaustively over all
//! injective assignments (H!/(H−K)! ≤ 40 320 for H ≤ 8), ties to the lexicographically first.

use serde::Serialize;

use crate::analysis::subspaces::singular_values;
use crate::error::{Error, Result};

/// Orthonormal columns spanning the columns of `a` (d, m) (columns that vanish are dropped).
pub fn orthonormal_columns(a: &[f64], d: usize, m: usize) -> (Vec<f64>, usize) {
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(m);
    for j in 0..m {
        let mut v: Vec<f64> = (0..d).map(|i| a[i * m + j]).collect();
        let n0 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        for _ in 0..2 {
            for c in &cols {
                let dot: f64 = c.iter().zip(&v).map(|(x, y)| x * y).sum();
                v.iter_mut().zip(c).for_each(|(x, y)| *x -= dot * y);
            }
        }
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if n > 1e-10 * n0.max(1e-300) && n > 0.0 {
            v.iter_mut().for_each(|x| *x /= n);
            cols.push(v);
        }
    }
    let r = cols.len();
    let mut out = vec![0.0; d * r];
    for (j, c) in cols.iter().enumerate() {
        for i in 0..d {
            out[i * r + j] = c[i];
        }
    }
    (out, r)
}

/// Principal angles (degrees, ascending) between span(a) (d, p) and span(b) (d, q).
pub fn principal_angles(a: &[f64], p: usize, b: &[f64], q: usize, d: usize) -> Vec<f64> {
    let (qa, ra) = orthonormal_columns(a, d, p);
    let (qb, rb) = orthonormal_columns(b, d, q);
    // The larger subspace first, so that rb angles come out.
    let ((qa, ra), (qb, rb)) = if ra >= rb {
        ((qa, ra), (qb, rb))
    } else {
        ((qb, rb), (qa, ra))
    };
    let mut m = vec![0.0f64; ra * rb];
    for i in 0..ra {
        for j in 0..rb {
            m[i * rb + j] = (0..d).map(|t| qa[t * ra + i] * qb[t * rb + j]).sum();
        }
    }
    let cos = singular_values(&m, ra, rb);
    // Near 0 the arccos of a cosine loses half the digits; the sines come from what is left of
    // Q_b outside span(Q_a) (as SciPy's subspace_angles does for cos² ≥ ½).
    let mut r = qb.clone();
    for t in 0..d {
        for j in 0..rb {
            r[t * rb + j] -= (0..ra).map(|i| qa[t * ra + i] * m[i * rb + j]).sum::<f64>();
        }
    }
    let sin = singular_values(&r, d, rb);
    cos.iter()
        .enumerate()
        .map(|(i, &c)| {
            if c * c >= 0.5 {
                sin[rb - 1 - i].min(1.0).asin()
            } else {
                c.min(1.0).acos()
            }
            .to_degrees()
        })
        .collect()
}

pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len().max(1) as f64
}

/// The (rows, cols) matrix of mean principal angles between two sets of bases.
pub fn angle_matrix(a: &[Vec<f64>], p: usize, b: &[Vec<f64>], q: usize, d: usize) -> Vec<Vec<f64>> {
    a.iter()
        .map(|x| {
            b.iter()
                .map(|y| mean(&principal_angles(x, p, y, q, d)))
                .collect()
        })
        .collect()
}

/// The cheapest injective assignment of rows to columns of `cost` (rows ≤ cols ≤ 8):
/// `assign[r]` = the column of row r.
pub fn assign(cost: &[Vec<f64>]) -> Result<Vec<usize>> {
    let rows = cost.len();
    let cols = cost.first().map_or(0, Vec::len);
    if rows > cols || cols > 8 {
        return Err(Error::Input(format!(
            "matching {rows} subspaces to {cols}: needs rows ≤ columns ≤ 8"
        )));
    }
    let mut best: Option<(f64, Vec<usize>)> = None;
    let mut cur = Vec::with_capacity(rows);
    let mut used = vec![false; cols];
    fn go(
        cost: &[Vec<f64>],
        cur: &mut Vec<usize>,
        used: &mut [bool],
        sum: f64,
        best: &mut Option<(f64, Vec<usize>)>,
    ) {
        let r = cur.len();
        if r == cost.len() {
            if best.as_ref().is_none_or(|(b, _)| sum < *b) {
                *best = Some((sum, cur.clone()));
            }
            return;
        }
        for c in 0..used.len() {
            if !used[c] {
                used[c] = true;
                cur.push(c);
                go(cost, cur, used, sum + cost[r][c], best);
                cur.pop();
                used[c] = false;
            }
        }
    }
    go(cost, &mut cur, &mut used, 0.0, &mut best);
    Ok(best.map(|(_, a)| a).unwrap_or_default())
}

/// True subspaces matched to learned ones.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Matching {
    /// `learned[k]`: the learned subspace matched to true subspace k.
    pub learned: Vec<usize>,
    /// The principal angles (degrees, ascending) of each matched pair.
    pub angles: Vec<Vec<f64>>,
    /// The mean over all matched pairs' angles.
    pub mean_angle: f64,
    /// (K, H) mean principal angle of every pair (the assignment's cost).
    pub cost: Vec<Vec<f64>>,
}

pub fn match_subspaces(
    truth: &[Vec<f64>],
    p: usize,
    learned: &[Vec<f64>],
    q: usize,
    d: usize,
) -> Result<Matching> {
    let cost = angle_matrix(truth, p, learned, q, d);
    let a = assign(&cost)?;
    let angles: Vec<Vec<f64>> = a
        .iter()
        .enumerate()
        .map(|(k, &h)| principal_angles(&truth[k], p, &learned[h], q, d))
        .collect();
    let all: Vec<f64> = angles.iter().flatten().copied().collect();
    Ok(Matching {
        learned: a,
        mean_angle: mean(&all),
        angles,
        cost,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angle_between_a_line_and_a_plane() {
        // x-axis vs the plane spanned by (cos 30°, sin 30°, 0) and z: 30°.
        let a = [1.0, 0.0, 0.0];
        let t = 30f64.to_radians();
        let b = [t.cos(), 0.0, t.sin(), 0.0, 0.0, 1.0];
        let ang = principal_angles(&a, 1, &b, 2, 3);
        assert_eq!(ang.len(), 1);
        assert!((ang[0] - 30.0).abs() < 1e-9, "{ang:?}");
        // A plane against itself, given by a non-orthonormal basis.
        let c = [2.0 * t.cos(), t.cos(), 2.0 * t.sin(), t.sin(), 0.0, 3.0];
        let same = principal_angles(&b, 2, &c, 2, 3);
        assert!(same.iter().all(|&x| x.abs() < 1e-9), "{same:?}");
    }

    #[test]
    fn assignment_is_optimal_not_by_index() {
        let cost = vec![vec![5.0, 1.0, 9.0], vec![1.0, 6.0, 9.0]];
        assert_eq!(assign(&cost).unwrap(), vec![1, 0]);
        assert!(assign(&[vec![1.0], vec![2.0]]).is_err());
    }
}
