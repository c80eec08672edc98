//! The learned-CRATE part of the lab: train a small CRATE on the subspace mixture (labels =
//! subspace) with the library's trainer, and measure how well its first layer's heads recover
//! the true subspaces.
//!
//! A head lives in the model's width, behind the patch embedding, so it is pulled back into the
//! data space through the linear part of everything in between (patch 1: a token is one patch):
//! `M_k = U_k · diag(γ_0) C_D · diag(γ_e) C_D · W_e · diag(γ_P) C_d` (dh, d), with `C_n = I − 11ᵀ/n`
//! the LayerNorms' centring (their per-token scale changes no direction; their biases, the
//! positions and the CLS token are offsets, not directions). Head k's data-space subspace is the
//! row space of `M_k`; it is compared with the true bases by principal angles after the optimal
//! assignment ([`super::angles::match_subspaces`]).

use serde::Serialize;

use super::angles::{angle_matrix, match_subspaces, Matching};
use super::config::LabConfig;
use super::inputs::Mat;
use crate::data::synthetic::{SubspaceConfig, SubspaceImages};
use crate::data::ImageDataset;
use crate::error::{Error, Result};
use crate::model::init::init_params;
use crate::model::weights::Weights;
use crate::model::{CrateConfig, Model};
use crate::train::{TrainConfig, Trainer};

/// A training run's settings; the data settings (K, p, d, δ, noise, bases, seed) are the lab's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecoverConfig {
    pub lab: LabConfig,
    /// Tokens per sample (all from the sample's subspace).
    pub tokens: usize,
    pub train_samples: usize,
    pub test_samples: usize,
    /// Model heads (≥ K for the matching) and depth; the width is heads·p (head dim = p).
    pub heads: usize,
    pub depth: usize,
    pub steps: u64,
    pub batch: usize,
    pub lr: f32,
    /// AdamW's weight decay.
    pub weight_decay: f32,
    /// Measure the recovery every this many steps.
    pub every: u64,
}

impl RecoverConfig {
    pub fn new(lab: LabConfig) -> Self {
        Self {
            heads: lab.k,
            lab,
            tokens: 8,
            train_samples: 2048,
            test_samples: 256,
            depth: 1,
            steps: 600,
            batch: 32,
            lr: 3e-3,
            weight_decay: 0.05,
            every: 25,
        }
    }

    fn data_config(&self) -> SubspaceConfig {
        let l = &self.lab;
        SubspaceConfig {
            dim: l.d,
            subspaces: l.k,
            sub_dim: l.p,
            samples: 0,
            tokens_per_sample: self.tokens,
            noise: l.noise as f32,
            leak: l.delta as f32,
            orthogonal: l.orthogonal,
            seed: l.seed,
        }
    }
}

/// The weights the pull-back reads (f32 as stored): `to_patch_embedding.1.weight` γ_P (d),
/// `.2.weight` W_e (D, d), `.3.weight` γ_e (D), layer 0's `.0.norm.weight` γ_0 (D) and
/// `.0.fn.qkv.weight` U (D, D).
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct PullbackWeights {
    pub d: usize,
    pub dim: usize,
    pub heads: usize,
    pub gamma_p: Vec<f32>,
    pub w_e: Vec<f32>,
    pub gamma_e: Vec<f32>,
    pub gamma_0: Vec<f32>,
    pub u: Vec<f32>,
}

impl PullbackWeights {
    /// Layer 0 of `model` (patch 1: a patch is one token).
    pub fn of(model: &Model) -> Result<Self> {
        let cfg = &model.config;
        if cfg.patch != 1 {
            return Err(Error::Config(
                "the recovery measure needs patch 1 (one token per patch)".into(),
            ));
        }
        let w = Weights::view(cfg, &model.params)?;
        let layer = w
            .layers
            .first()
            .ok_or_else(|| Error::Config("the model has no layer".into()))?;
        Ok(Self {
            d: cfg.patch_len(),
            dim: cfg.dim,
            heads: cfg.heads,
            gamma_p: w.embed.ln1_w.to_vec(),
            w_e: w.embed.w.to_vec(),
            gamma_e: w.embed.ln2_w.to_vec(),
            gamma_0: layer.mssa.norm_w.to_vec(),
            u: layer.mssa.qkv.to_vec(),
        })
    }

    /// Each head's data-space subspace as (d, dh) columns: the rows of `M_k` (module notes).
    pub fn head_bases(&self) -> Vec<Mat> {
        let (dm, d) = (self.dim, self.d);
        let dh = dm / self.heads;
        // Centres each column of a (dm, d) matrix: C_D applied from the left.
        let centre = |x: &mut [f64]| {
            for c in 0..d {
                let m = (0..dm).map(|i| x[i * d + c]).sum::<f64>() / dm as f64;
                (0..dm).for_each(|i| x[i * d + c] -= m);
            }
        };
        // E = diag(γ_0) C_D diag(γ_e) C_D W_e diag(γ_P) C_d, (D, d), built right to left.
        let mut e: Vec<f64> = (0..dm * d)
            .map(|i| self.w_e[i] as f64 * self.gamma_p[i % d] as f64)
            .collect();
        // Right-multiplying by C_d centres each row.
        for row in e.chunks_exact_mut(d) {
            let m = row.iter().sum::<f64>() / d as f64;
            row.iter_mut().for_each(|v| *v -= m);
        }
        centre(&mut e);
        for (i, row) in e.chunks_exact_mut(d).enumerate() {
            row.iter_mut().for_each(|v| *v *= self.gamma_e[i] as f64);
        }
        centre(&mut e);
        for (i, row) in e.chunks_exact_mut(d).enumerate() {
            row.iter_mut().for_each(|v| *v *= self.gamma_0[i] as f64);
        }
        (0..self.heads)
            .map(|k| {
                let mut out = vec![0.0f64; d * dh];
                for r in 0..dh {
                    let urow = &self.u[(k * dh + r) * dm..(k * dh + r + 1) * dm];
                    for c in 0..d {
                        out[c * dh + r] = (0..dm).map(|j| urow[j] as f64 * e[j * d + c]).sum();
                    }
                }
                out
            })
            .collect()
    }

    /// How well these heads recover `truth` (each (d, p)).
    pub fn recovery(&self, truth: &[Mat], p: usize) -> Result<Matching> {
        match_subspaces(truth, p, &self.head_bases(), self.dim / self.heads, self.d)
    }
}

/// Each head's data-space subspace (d, dh) at layer 0 of `model`.
pub fn head_bases(model: &Model) -> Result<Vec<Mat>> {
    Ok(PullbackWeights::of(model)?.head_bases())
}

/// How well `model`'s first-layer heads recover `truth` (each (d, p)).
pub fn recovery(model: &Model, truth: &[Mat], p: usize) -> Result<Matching> {
    PullbackWeights::of(model)?.recovery(truth, p)
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecoverPoint {
    pub step: u64,
    pub seconds: f64,
    /// Mean training loss and accuracy since the previous point.
    pub loss: f64,
    pub accuracy: f64,
    /// Mean principal angle (degrees) of the matched pairs.
    pub mean_angle: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecoverReport {
    pub config: RecoverConfig,
    pub points: Vec<RecoverPoint>,
    pub matching: Matching,
    /// (H, H) mean principal angles between the learned heads' data-space subspaces, and
    /// (K, K) between the true ones: the overlap matrices side by side.
    pub learned_angles: Vec<Vec<f64>>,
    pub true_angles: Vec<Vec<f64>>,
    /// R^c per layer (before each MSSA step) on held-out tokens, mean over the test samples.
    pub rc_heldout: Vec<f64>,
    pub test_accuracy: f64,
    /// The first step at which the mean angle was under 10° (None: never).
    pub under_10_at: Option<u64>,
    /// The trained first layer's weights that the measure reads.
    pub weights: PullbackWeights,
}

/// Trains and measures; `now` gives seconds (for the page and the CLI alike), `progress` sees
/// each point as it comes, `stop` ends the run early (the report covers the steps done).
pub fn recover(
    cfg: &RecoverConfig,
    now: &dyn Fn() -> f64,
    progress: &mut dyn FnMut(&RecoverPoint),
    stop: &dyn Fn() -> bool,
) -> Result<RecoverReport> {
    cfg.lab.validate()?;
    if cfg.heads < cfg.lab.k || cfg.heads > 8 || cfg.every == 0 || cfg.tokens == 0 {
        return Err(Error::Config(format!(
            "recover: needs K ≤ heads ≤ 8 (K = {}, heads = {}), every > 0 and tokens > 0",
            cfg.lab.k, cfg.heads
        )));
    }
    if cfg.batch == 0
        || cfg.train_samples == 0
        || cfg.test_samples == 0
        || !(cfg.lr.is_finite() && cfg.lr > 0.0)
        || !(cfg.weight_decay.is_finite() && cfg.weight_decay >= 0.0)
    {
        return Err(Error::Config(format!(
            "recover: needs batch, train and test samples > 0, a finite lr > 0 (not {}) and a \
             finite weight decay ≥ 0 (not {})",
            cfg.lr, cfg.weight_decay
        )));
    }
    let (train, test) =
        SubspaceImages::generate(&cfg.data_config(), cfg.train_samples, cfg.test_samples)?;
    let base = CrateConfig {
        dim: cfg.heads * cfg.lab.p,
        depth: cfg.depth,
        heads: cfg.heads,
        ..CrateConfig::preset("crate-fmnist")?
    };
    let mc = train.model_config(&base);
    let params = init_params(&mc, cfg.lab.seed)?;
    let spe = train.len().div_ceil(cfg.batch) as u64;
    let tc = TrainConfig {
        lr: cfg.lr,
        warmup_epochs: (50.0 / spe as f32).min(1.0),
        log_every: 0,
        optim: crate::train::OptimConfig::adamw(cfg.weight_decay),
        ..TrainConfig::new(cfg.steps.div_ceil(spe), cfg.batch, cfg.lab.seed)
    };
    let mut t = Trainer::new(mc, &params, tc, train.len())?;
    let truth: Vec<Mat> = train
        .data()
        .bases
        .iter()
        .map(|b| b.data.iter().map(|&v| v as f64).collect())
        .collect();
    let p = cfg.lab.p;
    let t0 = now();
    let mut points = Vec::new();
    let first = recovery(&t.model(), &truth, p)?;
    let point = RecoverPoint {
        step: 0,
        seconds: 0.0,
        loss: f64::NAN,
        accuracy: f64::NAN,
        mean_angle: first.mean_angle,
    };
    progress(&point);
    points.push(point);
    let (mut loss, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
    for step in 1..=cfg.steps {
        if stop() {
            break;
        }
        let r = t.next_step(&train)?;
        if r.loss.is_finite() {
            loss += r.loss as f64 * r.images as f64;
        }
        correct += r.correct;
        seen += r.images;
        if step % cfg.every == 0 || step == cfg.steps {
            let m = recovery(&t.model(), &truth, p)?;
            let point = RecoverPoint {
                step,
                seconds: now() - t0,
                loss: loss / seen.max(1) as f64,
                accuracy: correct as f64 / seen.max(1) as f64,
                mean_angle: m.mean_angle,
            };
            progress(&point);
            points.push(point);
            (loss, correct, seen) = (0.0, 0, 0);
        }
    }
    let model = t.model();
    let weights = PullbackWeights::of(&model)?;
    let matching = weights.recovery(&truth, p)?;
    let heads = weights.head_bases();
    let d = cfg.lab.d;
    let ev = t.evaluate(&test, None)?;
    let rc_heldout = t
        .layer_summary(&test, cfg.test_samples)?
        .iter()
        .map(|s| s.rc_in.0)
        .collect();
    Ok(RecoverReport {
        config: cfg.clone(),
        under_10_at: points.iter().find(|x| x.mean_angle < 10.0).map(|x| x.step),
        points,
        learned_angles: angle_matrix(&heads, p, &heads, p, d),
        true_angles: angle_matrix(&truth, p, &truth, p, d),
        matching,
        rc_heldout,
        test_accuracy: ev.accuracy,
        weights,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_run_reports_every_measured_step() {
        let mut cfg = RecoverConfig::new(LabConfig::default());
        cfg.steps = 20;
        cfg.every = 10;
        cfg.train_samples = 64;
        cfg.test_samples = 16;
        let mut seen = Vec::new();
        let r = recover(&cfg, &|| 0.0, &mut |p| seen.push(p.step), &|| false).unwrap();
        assert_eq!(seen, vec![0, 10, 20]);
        assert_eq!(r.points.len(), 3);
        assert_eq!(r.matching.learned.len(), 3);
        assert!(r.matching.mean_angle > 0.0 && r.matching.mean_angle < 90.0);
        assert_eq!(r.points[2].mean_angle, r.matching.mean_angle);
        assert_eq!(r.rc_heldout.len(), 1);
        let bad = RecoverConfig {
            lr: f32::NAN,
            ..cfg.clone()
        };
        assert!(recover(&bad, &|| 0.0, &mut |_| {}, &|| false).is_err());
        // A stop request ends the run at once.
        let r = recover(&cfg, &|| 0.0, &mut |_| {}, &|| true).unwrap();
        assert_eq!(r.points.len(), 1);
    }

    #[test]
    fn pulled_back_heads_of_an_identity_embedding_are_the_rows_of_u() {
        // With W_e = I, all LayerNorm weights 1, the pull-back is U_k C (centring only): a head
        // whose rows already sum to zero comes back unchanged.
        let lab = LabConfig::default();
        let base = CrateConfig {
            dim: 4,
            depth: 1,
            heads: 2,
            ..CrateConfig::preset("crate-fmnist").unwrap()
        };
        let cfg = RecoverConfig::new(lab);
        let (tr, _) = SubspaceImages::generate(
            &SubspaceConfig {
                dim: 4,
                subspaces: 2,
                sub_dim: 2,
                ..cfg.data_config()
            },
            4,
            1,
        )
        .unwrap();
        let mc = tr.model_config(&base);
        let mut params = init_params(&mc, 0).unwrap();
        for (k, t) in params.tensors.iter_mut() {
            if k.ends_with("norm.weight")
                || (k.starts_with("to_patch_embedding.") && k.ends_with("weight"))
            {
                let n = t.data.len();
                if t.shape.len() == 2 {
                    t.data
                        .iter_mut()
                        .enumerate()
                        .for_each(|(i, v)| *v = (i % 5 == 0) as u8 as f32);
                } else {
                    t.data = vec![1.0; n];
                }
            }
        }
        let u = [
            1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 2.0, -2.0, 1.0, 1.0, -1.0, -1.0, 0.0, 0.5, 0.0, -0.5,
        ];
        params
            .tensors
            .get_mut("transformer.layers.0.0.fn.qkv.weight")
            .unwrap()
            .data = u.to_vec();
        let model = Model { config: mc, params };
        let hb = head_bases(&model).unwrap();
        for k in 0..2 {
            for r in 0..2 {
                for c in 0..4 {
                    assert!((hb[k][c * 2 + r] - u[(k * 2 + r) * 4 + c] as f64).abs() < 1e-12);
                }
            }
        }
    }
}
