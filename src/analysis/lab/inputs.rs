//! The lab's data with its ground truth: the subspace mixture (through
//! [`crate::data::synthetic::generate_subspaces`], one token per sample, the true bases kept),
//! the operator's head bases, and the clustering demo's points on two lines and a plane in ℝ³.
//! Everything is seeded; the f32 values are what the fixtures store.

use serde::{Deserialize, Serialize};

use super::config::LabConfig;
use crate::data::synthetic::subspaces::orthonormalise;
use crate::data::synthetic::{gaussian, generate_subspaces, SubspaceConfig};
use crate::error::Result;
use crate::rng::{fnv1a64, SplitMix64};

/// A (rows, cols) row-major f64 matrix given as its rows' flat values.
pub type Mat = Vec<f64>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabInputs {
    /// (N, d) tokens, one per row.
    pub tokens: Vec<f32>,
    /// The true subspace of each token.
    pub labels: Vec<usize>,
    /// K true bases, each (d, p) with orthonormal columns.
    pub bases: Vec<Vec<f32>>,
    /// H operator bases, each (d, q).
    pub heads: Vec<Vec<f32>>,
    /// Clustering demo: (M, 3) points and their group (0, 1: lines, 2: plane).
    pub points: Vec<f32>,
    pub point_labels: Vec<usize>,
}

/// The lines' and the plane's dimensions in the clustering demo.
pub const CLUSTER_DIMS: [usize; 3] = [1, 1, 2];

/// A random orthonormal (d, m) frame from `rng`.
fn random_frame(d: usize, m: usize, rng: &mut SplitMix64) -> Vec<f64> {
    let mut a: Vec<f64> = (0..d * m).map(|_| gaussian(rng)).collect();
    orthonormalise(&mut a, d, m, rng);
    a
}

impl LabInputs {
    pub fn generate(cfg: &LabConfig) -> Result<Self> {
        cfg.validate()?;
        let data = generate_subspaces(&SubspaceConfig {
            dim: cfg.d,
            subspaces: cfg.k,
            sub_dim: cfg.p,
            samples: cfg.n,
            tokens_per_sample: 1,
            noise: cfg.noise as f32,
            leak: cfg.delta as f32,
            orthogonal: cfg.orthogonal,
            seed: cfg.seed,
        })?;
        let (d, p, q) = (cfg.d, cfg.p, cfg.head_dim);
        let bases: Vec<Vec<f32>> = data.bases.iter().map(|b| b.data.clone()).collect();
        let mut rng = SplitMix64::new(cfg.seed ^ fnv1a64("lab/extra-heads"));
        let heads = (0..cfg.heads)
            .map(|h| match bases.get(h) {
                Some(b) => (0..d).flat_map(|i| b[i * p..i * p + q].to_vec()).collect(),
                None => random_frame(d, q, &mut rng)
                    .into_iter()
                    .map(|v| v as f32)
                    .collect(),
            })
            .collect();

        let mut rng = SplitMix64::new(cfg.seed ^ fnv1a64("lab/cluster"));
        let frames: Vec<Vec<f64>> = CLUSTER_DIMS
            .iter()
            .map(|&m| random_frame(3, m, &mut rng))
            .collect();
        let (mut points, mut point_labels) = (Vec::new(), Vec::new());
        for (g, (frame, &m)) in frames.iter().zip(&CLUSTER_DIMS).enumerate() {
            for _ in 0..cfg.cluster_points {
                let a: Vec<f64> = (0..m).map(|_| gaussian(&mut rng)).collect();
                for i in 0..3 {
                    let s: f64 = (0..m).map(|j| frame[i * m + j] * a[j]).sum();
                    points.push((s + cfg.cluster_noise * gaussian(&mut rng)) as f32);
                }
                point_labels.push(g);
            }
        }
        Ok(Self {
            tokens: data.tokens.data,
            labels: data.labels,
            bases,
            heads,
            points,
            point_labels,
        })
    }
}

/// f32 values as f64.
pub fn widen(x: &[f32]) -> Mat {
    x.iter().map(|&v| v as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_reuse_the_true_bases_and_extra_heads_are_orthonormal() {
        let cfg = LabConfig {
            heads: 5,
            head_dim: 1,
            ..LabConfig::default()
        };
        let inp = LabInputs::generate(&cfg).unwrap();
        assert_eq!(inp.heads.len(), 5);
        for h in 0..3 {
            let want: Vec<f32> = (0..cfg.d).map(|i| inp.bases[h][i * cfg.p]).collect();
            assert_eq!(inp.heads[h], want);
        }
        for h in 3..5 {
            let n: f32 = inp.heads[h].iter().map(|v| v * v).sum();
            assert!((n - 1.0).abs() < 1e-5);
        }
        assert_eq!(inp.points.len(), 3 * 3 * cfg.cluster_points);
        assert_eq!(inp, LabInputs::generate(&cfg).unwrap());
    }

    #[test]
    fn delta_adds_only_the_other_subspaces_share() {
        let quiet = LabConfig {
            delta: 0.0,
            noise: 0.0,
            ..LabConfig::default()
        };
        let a = LabInputs::generate(&quiet).unwrap();
        let b = LabInputs::generate(&LabConfig {
            delta: 0.5,
            ..quiet.clone()
        })
        .unwrap();
        let (d, p) = (quiet.d, quiet.p);
        for t in 0..quiet.n {
            let k = a.labels[t];
            assert_eq!(k, b.labels[t]);
            // The difference lies in the other subspaces: its component in U_k is zero and its
            // length is about δ √((K−1) p).
            let diff: Vec<f64> = (0..d)
                .map(|i| (b.tokens[t * d + i] - a.tokens[t * d + i]) as f64)
                .collect();
            for c in 0..p {
                let dot: f64 = (0..d).map(|i| a.bases[k][i * p + c] as f64 * diff[i]).sum();
                assert!(dot.abs() < 1e-5, "{dot}");
            }
        }
    }
}
