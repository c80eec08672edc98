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
//! assignment ([`super::angles::match_subspaces`]). With lifted tokens ([`super::lifted`]) the
//! input is `J z` and the head's data-space rows are those of `M_k J`.
//!
//! The run's objective is cross-entropy, plus, when `rate_weight > 0`, the supervised
//! compression term of [`super::rate_objective`]: without it the heads do not move towards the
//! subspaces (README's table).

use serde::{Deserialize, Deserializer, Serialize};

use super::angles::{angle_matrix, match_subspaces, Matching};
use super::config::LabConfig;
use super::inputs::Mat;
use super::lifted::LiftedImages;
use super::rate_objective::add_rate_objective;
use crate::data::synthetic::{SubspaceConfig, SubspaceImages};
use crate::data::ImageDataset;
use crate::error::{Error, Result};
use crate::model::init::init_params;
use crate::model::weights::Weights;
use crate::model::{CrateConfig, Model};
use crate::train::{TrainConfig, Trainer};

/// A training run's settings; the data settings (K, p, d, δ, noise, bases, seed) are the lab's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// Weight of the supervised compression term added to the cross-entropy
    /// ([`super::rate_objective`]); 0: cross-entropy alone.
    pub rate_weight: f32,
    /// ε of that term's coding rate.
    pub rate_eps: f32,
    /// Take that term's gradient back through the patch embedding too (not U alone).
    pub rate_embed: bool,
    /// Extra channels that make each token sum to zero ([`super::lifted`]); 0: the plain tokens.
    pub lift: usize,
}

impl RecoverConfig {
    /// The lab's learned CRATE (what the page trains): one head more than K (the width K·p + p
    /// is at least d on the presets), the tokens lifted ([`super::lifted`]) and the supervised
    /// compression term ([`super::rate_objective`]) beside the cross-entropy, through the whole
    /// embedding. On the default preset it reaches a mean principal angle of 6.3° (2000 steps;
    /// under 10° from step 500), where cross-entropy alone stays near 60° (README's table).
    pub fn new(lab: LabConfig) -> Self {
        Self {
            heads: (lab.k + 1).min(8),
            steps: 2000,
            every: 50,
            rate_weight: 1.0,
            rate_embed: true,
            lift: 4,
            ..Self::cross_entropy(lab)
        }
    }

    /// Cross-entropy alone on the plain tokens, K heads: the baseline (and what `whitebox lab
    /// inputs` trains for the fixtures).
    pub fn cross_entropy(lab: LabConfig) -> Self {
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
            rate_weight: 0.0,
            rate_eps: 0.5,
            rate_embed: false,
            lift: 0,
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
    /// The last `lift` of the `d` input channels are the lift of [`super::lifted`]: the heads
    /// are pulled back through it into the first `d − lift` (the data space).
    #[serde(default)]
    pub lift: usize,
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
            lift: 0,
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
                self.unlift(out, dh)
            })
            .collect()
    }

    /// The data dimension: the input channels less the lift.
    pub fn data_dim(&self) -> usize {
        self.d - self.lift
    }

    /// A head's (d, dh) basis in the lifted channels pulled back through `J z = [z ; −(𝟏ᵀz/m)𝟏_m]`:
    /// row c of Jᵀ·B is `B[c] − (1/m)·Σ_l B[d₀ + l]`.
    fn unlift(&self, b: Vec<f64>, dh: usize) -> Vec<f64> {
        if self.lift == 0 {
            return b;
        }
        let d0 = self.data_dim();
        let m = self.lift as f64;
        let mut out = vec![0.0; d0 * dh];
        for r in 0..dh {
            let tail: f64 = (d0..self.d).map(|c| b[c * dh + r]).sum::<f64>() / m;
            for c in 0..d0 {
                out[c * dh + r] = b[c * dh + r] - tail;
            }
        }
        out
    }

    /// How well these heads recover `truth` (each (d, p)).
    pub fn recovery(&self, truth: &[Mat], p: usize) -> Result<Matching> {
        match_subspaces(
            truth,
            p,
            &self.head_bases(),
            self.dim / self.heads,
            self.data_dim(),
        )
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

/// NaN travels as JSON `null` (serde_json's form for it) and comes back as NaN.
fn null_as_nan<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecoverPoint {
    pub step: u64,
    pub seconds: f64,
    /// Mean training loss (with the compression term, when on) and accuracy since the previous
    /// point; NaN at step 0.
    #[serde(deserialize_with = "null_as_nan")]
    pub loss: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub accuracy: f64,
    /// Mean principal angle (degrees) of the matched pairs.
    pub mean_angle: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
        || !(cfg.rate_weight.is_finite() && cfg.rate_weight >= 0.0)
        || !(cfg.rate_eps.is_finite() && cfg.rate_eps > 0.0)
    {
        return Err(Error::Config(format!(
            "recover: needs batch, train and test samples > 0, a finite lr > 0 (not {}) and a \
             finite weight decay ≥ 0 (not {}), rate weight ≥ 0 (not {}) and rate ε > 0 (not {})",
            cfg.lr, cfg.weight_decay, cfg.rate_weight, cfg.rate_eps
        )));
    }
    let (train, test) =
        SubspaceImages::generate(&cfg.data_config(), cfg.train_samples, cfg.test_samples)?;
    let truth: Vec<Mat> = train
        .data()
        .bases
        .iter()
        .map(|b| b.data.iter().map(|&v| v as f64).collect())
        .collect();
    let lift = cfg.lift;
    let train = LiftedImages { inner: train, lift };
    let test = LiftedImages { inner: test, lift };
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
    let p = cfg.lab.p;
    let measure = |t: &Trainer| -> Result<(PullbackWeights, Matching)> {
        let mut w = PullbackWeights::of(&t.model())?;
        w.lift = lift;
        let m = w.recovery(&truth, p)?;
        Ok((w, m))
    };
    let t0 = now();
    let mut points = Vec::new();
    let (_, first) = measure(&t)?;
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
        let b = t.next_batch(&train)?;
        let r = if cfg.rate_weight > 0.0 {
            let labels = b.labels.clone();
            let (w, eps, through) = (cfg.rate_weight as f64, cfg.rate_eps as f64, cfg.rate_embed);
            t.train_batch_with(&b.images.data, &b.labels, &mut |c, p, cache, g| {
                add_rate_objective(c, p, cache, g, &labels, w, eps, through)
            })?
        } else {
            t.train_batch(&b.images.data, &b.labels)?
        };
        if r.loss.is_finite() {
            loss += r.loss as f64 * r.images as f64;
        }
        correct += r.correct;
        seen += r.images;
        if step % cfg.every == 0 || step == cfg.steps {
            let (_, m) = measure(&t)?;
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
    let (weights, matching) = measure(&t)?;
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
