//! The sparse codes Z^{l+1} of the ISTA step, per dictionary atom.
//!
//! Which entry is which atom: for a token y as a column vector, the ISTA step is
//! `ReLU(y + η Dᵀ(y − D y) − ηλ)` (the spec's row form `y + η((y − yDᵀ)D)` transposed), one
//! proximal step on `½‖y − D z‖² + λ‖z‖₁` from `z = y`. The reconstruction is
//! `D z = Σ_j z_j D[:, j]`, so code entry j of Z^{l+1} weighs atom j = **column j** of
//! `D` the ISTA dictionary (d, d).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Fixed histogram bins: `bins` of width `max / bins` from 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistogramBins {
    pub bins: usize,
    pub max: f64,
}

impl Default for HistogramBins {
    /// 32 bins of 0.25 up to 8: the codes are ReLU outputs on a LayerNorm scale, so the same
    /// bins fit every layer and model, and layers can be compared bin by bin.
    fn default() -> Self {
        Self { bins: 32, max: 8.0 }
    }
}

/// Counts of the non-zero entries.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Histogram {
    pub max: f64,
    /// Bin i counts the non-zero entries in `[i·w, (i+1)·w)`, `w = max / bins`.
    pub counts: Vec<usize>,
    /// Non-zero entries `≥ max`.
    pub overflow: usize,
}

/// One image's codes at one layer (tokens: N, CLS first; atoms: d).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SparseCodes {
    /// N·d.
    pub total: usize,
    /// Exact zeros (from the ReLU).
    pub zeros: usize,
    pub histogram: Histogram,
    /// Non-zero atoms per token (N).
    pub nnz: Vec<usize>,
    /// Per atom, the tokens using it (non-zero entry) (d).
    pub usage: Vec<usize>,
    /// Per atom, the sum of its activations over the tokens (d).
    pub mass: Vec<f64>,
    /// Atoms by usage, most used first (ties: lower index first).
    pub order: Vec<usize>,
    /// The atom of `atom_map`.
    pub atom: usize,
    /// That atom's activation per token (N).
    pub atom_map: Vec<f64>,
}

/// Sorts the non-zero entries of (rows, d) codes into fixed bins.
pub fn histogram(z: &[f32], bins: &HistogramBins) -> Result<Histogram> {
    if bins.bins == 0 || !(bins.max > 0.0 && bins.max.is_finite()) {
        return Err(Error::Input(format!(
            "histogram needs at least one bin and a positive finite range, got {} bins up to {}",
            bins.bins, bins.max
        )));
    }
    let width = bins.max / bins.bins as f64;
    let mut counts = vec![0usize; bins.bins];
    let mut overflow = 0;
    for &v in z.iter().filter(|&&v| v != 0.0) {
        let v = v as f64;
        if v >= bins.max {
            overflow += 1;
        } else {
            // A ReLU output is never negative; clamp anyway rather than index out of range.
            let i = (v / width).floor().max(0.0) as usize;
            counts[i.min(bins.bins - 1)] += 1;
        }
    }
    Ok(Histogram {
        max: bins.max,
        counts,
        overflow,
    })
}

/// Per-atom usage counts over the rows of (rows, d) codes.
pub fn atom_usage(z: &[f32], d: usize) -> Vec<usize> {
    let mut usage = vec![0usize; d];
    for row in z.chunks_exact(d) {
        for (u, &v) in usage.iter_mut().zip(row) {
            *u += usize::from(v != 0.0);
        }
    }
    usage
}

/// The codes `z` (N, d) of one image: statistics, and `atom`'s map (default: the most used).
pub fn sparse_codes(
    z: &[f32],
    n: usize,
    d: usize,
    bins: &HistogramBins,
    atom: Option<usize>,
) -> Result<SparseCodes> {
    let usage = atom_usage(z, d);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| usage[b].cmp(&usage[a]).then(a.cmp(&b)));
    let atom = atom.unwrap_or(order[0]);
    if atom >= d {
        return Err(Error::Input(format!(
            "atom {atom} out of range (the dictionary has {d})"
        )));
    }
    let mut mass = vec![0.0f64; d];
    for row in z.chunks_exact(d) {
        for (m, &v) in mass.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    Ok(SparseCodes {
        total: n * d,
        zeros: z.iter().filter(|&&v| v == 0.0).count(),
        histogram: histogram(z, bins)?,
        nnz: z
            .chunks_exact(d)
            .map(|r| r.iter().filter(|&&v| v != 0.0).count())
            .collect(),
        usage,
        mass,
        order,
        atom,
        atom_map: z.chunks_exact(d).map(|r| r[atom] as f64).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_a_small_code() {
        // N = 3 tokens, d = 4 atoms.
        let z = [
            0.0, 0.3, 0.0, 9.0, //
            0.0, 0.25, 1.0, 0.0, //
            0.0, 0.0, 0.1, 0.0,
        ];
        let bins = HistogramBins { bins: 4, max: 1.0 };
        let c = sparse_codes(&z, 3, 4, &bins, None).unwrap();
        assert_eq!((c.total, c.zeros), (12, 7));
        assert_eq!(c.nnz, vec![2, 2, 1]);
        assert_eq!(c.usage, vec![0, 2, 2, 1]);
        assert_eq!(c.order, vec![1, 2, 3, 0]);
        assert_eq!(c.atom, 1);
        assert_eq!(c.atom_map, vec![0.3f32 as f64, 0.25, 0.0]);
        // 0.1 → [0, .25); 0.25 and 0.3 → [.25, .5); 1.0 and 9.0 overflow.
        assert_eq!(c.histogram.counts, vec![1, 2, 0, 0]);
        assert_eq!(c.histogram.overflow, 2);
        assert_eq!(
            c.histogram.counts.iter().sum::<usize>() + c.histogram.overflow + c.zeros,
            c.total
        );
        assert!((c.mass[2] - 1.1).abs() < 1e-6);
        assert!(sparse_codes(&z, 3, 4, &bins, Some(4)).is_err());
        assert!(histogram(&z, &HistogramBins { bins: 0, max: 1.0 }).is_err());
    }
}
