//! Tokens from a mixture of K low-dimensional Gaussian subspaces: the data model CRATE is
//! derived from. Subspace k has an orthonormal basis U_k ∈ R^{d×p}; a token of class k is
//! `x = U_k z + σ ε` with `z ~ N(0, I_p)` and `ε ~ N(0, I_d)`, so its distance to the subspace is
//! about `σ √(d − p)` while its norm is about `√(p + σ² d)`. With `leak` δ > 0 each token also
//! carries `δ Σ_{j≠k} U_j e_j` (`e_j ~ N(0, I_p)`): the other subspaces' share that MSSA is
//! meant to remove (the data model of the Subspace lab, issue 12).

use serde::{Deserialize, Serialize};

use crate::data::synthetic::gaussian;
use crate::error::{Error, Result};
use crate::rng::{fnv1a64, SplitMix64};
use crate::tensor::Tensor;

/// The largest number of values (samples × tokens × d) generated at once.
pub const MAX_VALUES: usize = 1 << 28;

/// What to generate. The page and `whitebox train --dataset subspaces` share it (serialised as
/// JSON in the page's settings), so that both generate the same data from the same knobs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubspaceConfig {
    /// Ambient dimension d.
    pub dim: usize,
    /// Number of subspaces K (the classes).
    pub subspaces: usize,
    /// Dimension p of each subspace.
    pub sub_dim: usize,
    /// Number of samples.
    pub samples: usize,
    /// Tokens per sample, all from the sample's subspace (1: each sample is one token).
    pub tokens_per_sample: usize,
    /// Noise σ per coordinate.
    pub noise: f32,
    /// δ: the weight of the other subspaces' components in each token (0: none). Drawn from its
    /// own stream, so that δ changes nothing else.
    pub leak: f32,
    /// Make the K subspaces mutually orthogonal (needs K·p ≤ d); otherwise each basis is an
    /// independent random orthonormal frame.
    pub orthogonal: bool,
    pub seed: u64,
}

impl Default for SubspaceConfig {
    fn default() -> Self {
        Self {
            dim: 32,
            subspaces: 4,
            sub_dim: 4,
            samples: 1024,
            tokens_per_sample: 1,
            noise: 0.05,
            leak: 0.0,
            orthogonal: false,
            seed: 0,
        }
    }
}

/// Most subspaces (classes) of the training set's knob.
pub const MAX_SUBSPACES: usize = 32;
/// Most tokens per sample of the training set's knob.
pub const MAX_TOKENS: usize = 256;
/// Largest noise σ of the training set's knob.
pub const MAX_NOISE: f32 = 10.0;

impl SubspaceConfig {
    /// Checks the knobs the page and `whitebox train` expose against their ranges (K from 2 to
    /// [`MAX_SUBSPACES`], p from 1 to `dim`, σ from 0 to [`MAX_NOISE`], tokens from 1 to
    /// [`MAX_TOKENS`]), so that both refuse the same values with the same words.
    pub fn check_knobs(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Dataset(format!("subspaces: {m}")));
        if !(2..=MAX_SUBSPACES).contains(&self.subspaces) {
            return bad(format!(
                "the number of subspaces must be between 2 and {MAX_SUBSPACES}, not {}",
                self.subspaces
            ));
        }
        if !(1..=self.dim).contains(&self.sub_dim) {
            return bad(format!(
                "the subspace dimension must be between 1 and {} (the tokens live in R^{}), not {}",
                self.dim, self.dim, self.sub_dim
            ));
        }
        if !self.noise.is_finite() || !(0.0..=MAX_NOISE).contains(&self.noise) {
            return bad(format!(
                "the noise σ must be between 0 and {MAX_NOISE}, not {}",
                self.noise
            ));
        }
        if !(1..=MAX_TOKENS).contains(&self.tokens_per_sample) {
            return bad(format!(
                "the tokens per sample must be between 1 and {MAX_TOKENS}, not {}",
                self.tokens_per_sample
            ));
        }
        Ok(())
    }

    /// The training set's knobs: K = 4 subspaces of dimension p = 4 in R^32, σ = 0.05, 16 tokens
    /// per sample (`whitebox train --dataset subspaces` without knob flags, and the page's
    /// defaults). The sample count is set by [`SubspaceImages::training`](super::SubspaceImages::training).
    pub fn training(seed: u64) -> Self {
        Self {
            tokens_per_sample: 16,
            seed,
            ..Self::default()
        }
    }
}

/// The generated data and its ground truth.
#[derive(Clone, Debug, PartialEq)]
pub struct SubspaceData {
    pub config: SubspaceConfig,
    /// K bases, each (d, p) with orthonormal columns.
    pub bases: Vec<Tensor>,
    /// (samples, tokens_per_sample, d).
    pub tokens: Tensor,
    /// The subspace of each sample, in `0..K`.
    pub labels: Vec<usize>,
}

impl SubspaceData {
    /// Token `t` of sample `i` (d values).
    pub fn token(&self, i: usize, t: usize) -> &[f32] {
        let d = self.config.dim;
        let o = (i * self.config.tokens_per_sample + t) * d;
        &self.tokens.data[o..o + d]
    }

    /// ‖x − U_k U_kᵀ x‖: the distance of `x` to subspace `k`.
    pub fn residual(&self, k: usize, x: &[f32]) -> f64 {
        let (d, p) = (self.config.dim, self.config.sub_dim);
        let u = &self.bases[k].data;
        let mut r: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        for j in 0..p {
            let c: f64 = (0..d).map(|i| u[i * p + j] as f64 * x[i] as f64).sum();
            for (i, ri) in r.iter_mut().enumerate() {
                *ri -= c * u[i * p + j] as f64;
            }
        }
        r.iter().map(|v| v * v).sum::<f64>().sqrt()
    }
}

/// Gram–Schmidt (twice, for accuracy) of the columns of a row-major (d, m) matrix; a column that
/// comes out too small is redrawn from `rng`.
pub(crate) fn orthonormalise(a: &mut [f64], d: usize, m: usize, rng: &mut SplitMix64) {
    for j in 0..m {
        loop {
            for _ in 0..2 {
                for k in 0..j {
                    let dot: f64 = (0..d).map(|i| a[i * m + k] * a[i * m + j]).sum();
                    for i in 0..d {
                        a[i * m + j] -= dot * a[i * m + k];
                    }
                }
            }
            let norm = (0..d).map(|i| a[i * m + j].powi(2)).sum::<f64>().sqrt();
            if norm > 1e-6 {
                for i in 0..d {
                    a[i * m + j] /= norm;
                }
                break;
            }
            for i in 0..d {
                a[i * m + j] = gaussian(rng);
            }
        }
    }
}

/// Generates the dataset `cfg` describes.
pub fn generate_subspaces(cfg: &SubspaceConfig) -> Result<SubspaceData> {
    let bad = |m: String| Err(Error::Dataset(format!("subspaces: {m}")));
    let (d, k, p) = (cfg.dim, cfg.subspaces, cfg.sub_dim);
    if d == 0 || k == 0 || p == 0 || cfg.tokens_per_sample == 0 {
        return bad("dim, subspaces, sub_dim and tokens_per_sample must be positive".into());
    }
    if p > d {
        return bad(format!("sub_dim {p} exceeds dim {d}"));
    }
    if cfg.orthogonal && k * p > d {
        return bad(format!(
            "{k} mutually orthogonal subspaces of dimension {p} do not fit in dimension {d}"
        ));
    }
    if !cfg.leak.is_finite() || cfg.leak < 0.0 {
        return bad(format!(
            "leak must be finite and non-negative, not {}",
            cfg.leak
        ));
    }
    if !cfg.noise.is_finite() || cfg.noise < 0.0 {
        return bad(format!(
            "noise must be finite and non-negative, not {}",
            cfg.noise
        ));
    }
    let total = cfg
        .samples
        .checked_mul(cfg.tokens_per_sample)
        .and_then(|v| v.checked_mul(d))
        .filter(|&v| v <= MAX_VALUES);
    let Some(total) = total else {
        return bad(format!(
            "{} samples × {} tokens × {d} values is more than {MAX_VALUES}",
            cfg.samples, cfg.tokens_per_sample
        ));
    };

    let mut rng = SplitMix64::new(cfg.seed ^ fnv1a64("subspaces/bases"));
    let mut bases64: Vec<Vec<f64>> = Vec::with_capacity(k);
    if cfg.orthogonal {
        let m = k * p;
        let mut a: Vec<f64> = (0..d * m).map(|_| gaussian(&mut rng)).collect();
        orthonormalise(&mut a, d, m, &mut rng);
        for s in 0..k {
            let b = (0..d)
                .flat_map(|i| a[i * m + s * p..i * m + (s + 1) * p].to_vec())
                .collect();
            bases64.push(b);
        }
    } else {
        for _ in 0..k {
            let mut a: Vec<f64> = (0..d * p).map(|_| gaussian(&mut rng)).collect();
            orthonormalise(&mut a, d, p, &mut rng);
            bases64.push(a);
        }
    }

    let mut rng = SplitMix64::new(cfg.seed ^ fnv1a64("subspaces/samples"));
    let mut leak_rng = SplitMix64::new(cfg.seed ^ fnv1a64("subspaces/leak"));
    let (sigma, delta) = (cfg.noise as f64, cfg.leak as f64);
    let mut data = Vec::with_capacity(total);
    let mut labels = Vec::with_capacity(cfg.samples);
    let mut z = vec![0.0f64; p];
    let mut leak = vec![0.0f64; d];
    for _ in 0..cfg.samples {
        let s = rng.below(k);
        labels.push(s);
        let u = &bases64[s];
        for _ in 0..cfg.tokens_per_sample {
            z.iter_mut().for_each(|v| *v = gaussian(&mut rng));
            leak.iter_mut().for_each(|v| *v = 0.0);
            if delta > 0.0 {
                for (_, uj) in bases64.iter().enumerate().filter(|&(j, _)| j != s) {
                    let e: Vec<f64> = (0..p).map(|_| gaussian(&mut leak_rng)).collect();
                    for (i, li) in leak.iter_mut().enumerate() {
                        *li += delta * (0..p).map(|c| uj[i * p + c] * e[c]).sum::<f64>();
                    }
                }
            }
            for i in 0..d {
                let signal: f64 = (0..p).map(|j| u[i * p + j] * z[j]).sum();
                data.push((signal + leak[i] + sigma * gaussian(&mut rng)) as f32);
            }
        }
    }
    Ok(SubspaceData {
        config: cfg.clone(),
        bases: bases64
            .into_iter()
            .map(|b| Tensor {
                shape: vec![d, p],
                data: b.into_iter().map(|v| v as f32).collect(),
            })
            .collect(),
        tokens: Tensor {
            shape: vec![cfg.samples, cfg.tokens_per_sample, d],
            data,
        },
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_configs() {
        let c = SubspaceConfig {
            sub_dim: 40,
            ..Default::default()
        };
        assert!(generate_subspaces(&c)
            .unwrap_err()
            .to_string()
            .contains("exceeds"));
        let c = SubspaceConfig {
            orthogonal: true,
            subspaces: 9,
            ..Default::default()
        };
        assert!(generate_subspaces(&c)
            .unwrap_err()
            .to_string()
            .contains("fit"));
    }
}
