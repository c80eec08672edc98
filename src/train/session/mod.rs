//! A training run as the page's worker drives it: one step at a time (so the worker can answer
//! pause, a new learning rate or an export between steps), with the live measures the Train view
//! draws — batch loss and accuracy per step, held-out loss, accuracy, per-class accuracy and the
//! confusion matrix every few steps, per-layer R^c (before/after MSSA) and ISTA sparsity on a
//! fixed probe batch every few steps — and the whole state as bytes for IndexedDB.
//!
//! The data and the model are built exactly as `whitebox train` builds them (same sizes, seeds,
//! preset mapping and [`TrainConfig`]), so that N steps here equal `whitebox train --steps N`.
//! No clock and no I/O: the worker passes the seconds it measured.

mod data;
mod init;
mod settings;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::checkpoint::{model_bytes, optim_bytes, restore_parts};
use super::shard::{self, Shard, ShardJob};
use super::trainer::{argmax, StepReport, TrainState, Trainer};
use crate::cpu::CpuEngine;
use crate::data::{make_batch, ImageDataset};
use crate::engine::{Engine, ForwardOptions};
use crate::error::{Error, Result};
use crate::model::{init::init_params, CrateConfig};
pub use data::{
    Built, DataBytes, DataChoice, SHAPES_TEST, SHAPES_TEST_SEED, SHAPES_TRAIN, SUBSPACE_TEST,
    SUBSPACE_TRAIN,
};
pub use init::{continued_params, is_head};
pub use settings::SessionSettings;
use std::ops::Range;

/// A held-out evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    pub step: u64,
    pub loss: f64,
    pub accuracy: f64,
    pub images: usize,
}

/// The per-layer measures on the probe batch at one step (means over its images).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbePoint {
    pub step: u64,
    pub epoch: u64,
    pub rc_in: Vec<f64>,
    pub rc_out: Vec<f64>,
    pub sparsity: Vec<f64>,
}

/// What the run did so far (saved with the checkpoint, so the curves survive a reload).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Per step: the step number, the epoch it belonged to, the batch loss and accuracy.
    pub steps: Vec<u64>,
    pub epochs: Vec<u64>,
    pub loss: Vec<f32>,
    pub accuracy: Vec<f32>,
    pub evals: Vec<EvalPoint>,
    pub probes: Vec<ProbePoint>,
    /// The last evaluation's confusion matrix (true class × predicted class).
    pub confusion: Vec<Vec<u32>>,
    /// Images trained on and seconds spent training (for images/s and time left).
    pub images: u64,
    pub seconds: f64,
    /// Where the weights came from when the run continues a model (what was kept, what was
    /// re-initialised); None for a fresh preset.
    #[serde(default)]
    pub origin: Option<String>,
}

/// A batch prepared by [`TrainSession::prepare_step`].
pub struct Prepared {
    /// Normalised images (B, C, H, W) and labels.
    pub images: Vec<f32>,
    pub labels: Vec<usize>,
    /// The schedule's learning rate for this step.
    pub lr: f32,
    epoch: u64,
}

/// Bytes that start a saved session.
const MAGIC: &[u8; 8] = b"WBTRAIN1";
/// Largest JSON part of a saved session (history of a long run).
const MAX_JSON: usize = 64 << 20;

/// The JSON part of a saved session.
#[derive(Serialize, Deserialize)]
struct Saved {
    settings: SessionSettings,
    state: TrainState,
    history: History,
}

/// A run in progress.
pub struct TrainSession {
    pub settings: SessionSettings,
    pub trainer: Trainer,
    pub history: History,
    train: Box<dyn ImageDataset>,
    test: Box<dyn ImageDataset>,
    /// Files of one's own images that could not be used, and why.
    pub skipped_files: Vec<crate::data::Skipped>,
}

impl TrainSession {
    /// A fresh, seeded run.
    pub fn new(settings: SessionSettings) -> Result<Self> {
        Self::new_with(settings, &DataBytes::default())
    }

    /// A run that continues `model` (the model in use in the page) on the chosen data: its
    /// weights, or its trunk and a new seeded head when the data has another class count.
    /// The optimiser, schedule and data order start afresh, as `whitebox train --init` does.
    pub fn continue_from(
        settings: SessionSettings,
        bytes: &DataBytes,
        model: &crate::model::Model,
    ) -> Result<Self> {
        settings.validate()?;
        let name = settings
            .init
            .clone()
            .unwrap_or_else(|| "the model in use".into());
        let ((train, test, cfg), skipped_files) =
            settings.data.build_listing(&model.config, bytes)?;
        let (params, origin) = continued_params(model, &name, &cfg, settings.seed)?;
        let trainer = Trainer::new(cfg, &params, settings.train_config(), train.len())?;
        Ok(Self {
            settings: SessionSettings {
                init: Some(name),
                ..settings
            },
            trainer,
            history: History {
                origin: Some(origin),
                ..History::default()
            },
            train,
            test,
            skipped_files,
        })
    }

    /// A fresh, seeded run on data built from `bytes` where the choice needs files.
    pub fn new_with(settings: SessionSettings, bytes: &DataBytes) -> Result<Self> {
        settings.validate()?;
        if settings.init.is_some() {
            return Err(Error::Config(
                "these settings continue a model: send the model in use with them".into(),
            ));
        }
        let base = CrateConfig::preset(&settings.preset)?;
        let ((train, test, cfg), skipped_files) = settings.data.build_listing(&base, bytes)?;
        let params = init_params(&cfg, settings.seed)?;
        let trainer = Trainer::new(cfg, &params, settings.train_config(), train.len())?;
        Ok(Self {
            settings,
            trainer,
            history: History::default(),
            train,
            test,
            skipped_files,
        })
    }

    pub fn class_names(&self) -> Vec<String> {
        (0..self.trainer.config.classes)
            .map(|i| self.trainer.config.class_name(i))
            .collect()
    }

    pub fn step_count(&self) -> u64 {
        self.trainer.state.step
    }

    pub fn total_steps(&self) -> u64 {
        self.trainer.state.schedule.total_steps
    }

    /// True when every epoch is trained.
    pub fn done(&self) -> bool {
        self.trainer.state.step >= self.total_steps()
    }

    /// One optimiser step on the next batch; recorded in the history.
    pub fn step(&mut self) -> Result<StepReport> {
        if self.done() {
            return Err(Error::Input(format!(
                "the run is complete ({} epochs); reset to train again",
                self.settings.epochs
            )));
        }
        let epoch = self.trainer.shuffler.epoch();
        let r = self.trainer.next_step(self.train.as_ref())?;
        self.record(r.step, epoch, r.loss, r.correct, r.images);
        Ok(r)
    }

    /// A step's line in the history.
    fn record(&mut self, step: u64, epoch: u64, loss: f32, correct: usize, images: usize) {
        let h = &mut self.history;
        h.steps.push(step);
        h.epochs.push(epoch);
        h.loss.push(loss);
        h.accuracy.push(correct as f32 / images.max(1) as f32);
        h.images += images as u64;
    }

    /// The next batch and learning rate for a step that runs elsewhere (the GPU, awaited by the
    /// page's worker); the step counter and the data order move on as [`TrainSession::step`]
    /// moves them. [`TrainSession::finish_step`] records what the step did.
    pub fn prepare_step(&mut self) -> Result<Prepared> {
        if self.done() {
            return Err(Error::Input(format!(
                "the run is complete ({} epochs); reset to train again",
                self.settings.epochs
            )));
        }
        let epoch = self.trainer.shuffler.epoch();
        let b = self.trainer.next_batch(self.train.as_ref())?;
        let lr = self.trainer.state.schedule.lr_at(self.trainer.state.step);
        self.trainer.state.step += 1;
        Ok(Prepared {
            images: b.images.data,
            labels: b.labels,
            lr,
            epoch,
        })
    }

    /// Records a step run elsewhere: its mean loss and correct count, whether it was skipped
    /// (non-finite), and the optimiser's update count after it.
    pub fn finish_step(
        &mut self,
        p: &Prepared,
        loss: f32,
        correct: usize,
        skipped: bool,
        optim_steps: u64,
    ) {
        let st = &mut self.trainer.state;
        st.skipped += skipped as u64;
        st.optim_steps = optim_steps;
        let step = st.step;
        self.record(step, p.epoch, loss, correct, p.labels.len());
    }

    /// The job for the images `range` of a prepared batch with the run's current weights: what
    /// a helper worker computes while this one computes the rest ([`shard`]).
    pub fn shard_job(&self, p: &Prepared, range: Range<usize>) -> Result<ShardJob> {
        let (images, labels) = self.shard_parts(p, &range)?;
        Ok(ShardJob {
            config: self.trainer.config.clone(),
            params: self.trainer.params.clone(),
            images: images.to_vec(),
            labels: labels.to_vec(),
            smoothing: self.trainer.state.train.label_smoothing,
            batch: p.labels.len(),
        })
    }

    /// The images `range` of a prepared batch, computed here.
    pub fn compute_shard(&self, p: &Prepared, range: Range<usize>) -> Result<Shard> {
        let (images, labels) = self.shard_parts(p, &range)?;
        let t = &self.trainer;
        shard::compute(
            &t.config,
            &t.params,
            images,
            labels,
            t.state.train.label_smoothing,
            p.labels.len(),
        )
    }

    fn shard_parts<'a>(
        &self,
        p: &'a Prepared,
        range: &Range<usize>,
    ) -> Result<(&'a [f32], &'a [usize])> {
        let n = p.labels.len();
        if range.start >= range.end || range.end > n {
            return Err(Error::Input(format!("images {range:?} of a batch of {n}")));
        }
        let per = p.images.len() / n.max(1);
        Ok((
            &p.images[range.start * per..range.end * per],
            &p.labels[range.clone()],
        ))
    }

    /// The update of a prepared step from its shards (added in order), recorded as
    /// [`TrainSession::step`] records a step.
    pub fn finish_shards(&mut self, p: &Prepared, shards: Vec<Shard>) -> Result<StepReport> {
        let s = shard::combine(shards)?;
        if s.images != p.labels.len() {
            return Err(Error::Input(format!(
                "the shards hold {} images of a batch of {}",
                s.images,
                p.labels.len()
            )));
        }
        let r = self
            .trainer
            .update(s.loss, s.grads, s.correct, s.images, p.lr);
        self.record(r.step, p.epoch, r.loss, r.correct, r.images);
        Ok(r)
    }

    /// Weights and optimiser state computed elsewhere (read back from the GPU before a probe,
    /// an evaluation, a checkpoint or an export).
    pub fn set_weights(&mut self, params: crate::grad::ParamSet<f32>, opt: super::Optimizer) {
        self.trainer.params = params;
        self.trainer.opt = opt;
        self.trainer.state.optim_steps = self.trainer.opt.steps;
    }

    /// The first `n` training items as they are (at most a batch), for timing the engines
    /// (nothing moves).
    pub fn calibration_batch(&self, n: usize) -> Result<(Vec<f32>, Vec<usize>)> {
        let n = n.min(self.settings.batch).min(self.train.len()).max(1);
        let idx: Vec<usize> = (0..n).collect();
        let b = make_batch(self.train.as_ref(), &idx, &self.trainer.config, None)?;
        Ok((b.images.data, b.labels))
    }

    /// Adds training time measured by the caller.
    pub fn add_seconds(&mut self, s: f64) {
        if s.is_finite() && s > 0.0 {
            self.history.seconds += s;
        }
    }

    /// Whether the step just taken calls for a probe / an evaluation (and none was made at it).
    pub fn probe_due(&self) -> bool {
        let s = self.trainer.state.step;
        (s.is_multiple_of(self.settings.probe_every) || self.done())
            && self.history.probes.last().is_none_or(|p| p.step != s)
    }

    pub fn eval_due(&self) -> bool {
        let s = self.trainer.state.step;
        (s.is_multiple_of(self.settings.eval_every) || self.done())
            && self.history.evals.last().is_none_or(|e| e.step != s)
    }

    /// Per-layer R^c before and after MSSA and ISTA sparsity on the probe batch (the first
    /// `probe_images` held-out items), through the CPU engine's measures path.
    pub fn probe(&mut self) -> Result<&ProbePoint> {
        let layers = self
            .trainer
            .layer_summary(self.test.as_ref(), self.settings.probe_images)?;
        self.history.probes.push(ProbePoint {
            step: self.trainer.state.step,
            epoch: self.trainer.shuffler.epoch(),
            rc_in: layers.iter().map(|l| l.rc_in.0).collect(),
            rc_out: layers.iter().map(|l| l.rc_out.0).collect(),
            sparsity: layers.iter().map(|l| l.sparsity.0).collect(),
        });
        Ok(self.history.probes.last().expect("just pushed"))
    }

    /// Loss, accuracy and the confusion matrix on the first `eval_images` held-out items.
    pub fn evaluate(&mut self) -> Result<&EvalPoint> {
        let n = self.settings.eval_images.min(self.test.len());
        let classes = self.trainer.config.classes;
        let mut engine = CpuEngine::new(self.trainer.model());
        let mut confusion = vec![vec![0u32; classes]; classes];
        let mut loss = 0f64;
        for start in (0..n).step_by(128) {
            let idx: Vec<usize> = (start..(start + 128).min(n)).collect();
            let b = make_batch(self.test.as_ref(), &idx, &self.trainer.config, None)?;
            let out = engine.forward(&b.images, ForwardOptions::default())?;
            let (l, _) =
                crate::grad::loss::cross_entropy(&out.logits.data, classes, &b.labels, 0.0f32);
            loss += l as f64 * idx.len() as f64;
            for (i, &y) in b.labels.iter().enumerate() {
                let p = argmax(&out.logits.data[i * classes..(i + 1) * classes]);
                confusion[y][p] += 1;
            }
        }
        let correct: u32 = (0..classes).map(|c| confusion[c][c]).sum();
        self.history.confusion = confusion;
        self.history.evals.push(EvalPoint {
            step: self.trainer.state.step,
            loss: loss / n.max(1) as f64,
            accuracy: correct as f64 / n.max(1) as f64,
            images: n,
        });
        Ok(self.history.evals.last().expect("just pushed"))
    }

    /// A new peak learning rate from the next step on (the warm-up and cosine shape stay).
    pub fn set_lr(&mut self, lr: f32) -> Result<()> {
        if !(lr > 0.0 && lr <= 10.0) {
            return Err(Error::Config(format!(
                "learning rate {lr} is outside (0, 10]"
            )));
        }
        let st = &mut self.trainer.state;
        st.train.lr = lr;
        st.train.min_lr = st.train.min_lr.min(lr);
        st.schedule.lr = lr;
        st.schedule.min_lr = st.train.min_lr;
        self.settings.lr = lr;
        Ok(())
    }

    /// The trained model as safetensors: official keys, config and class names in the metadata
    /// (the bytes `whitebox train` writes as `model.safetensors`).
    pub fn export_model(&self) -> Result<Vec<u8>> {
        model_bytes(&self.trainer)
    }

    /// The whole run as bytes: model, optimiser moments, step, data order, schedule, settings
    /// and history. [`TrainSession::load`] continues it exactly.
    pub fn save(&self) -> Result<Vec<u8>> {
        let model = model_bytes(&self.trainer)?;
        let optim = optim_bytes(&self.trainer)?;
        let json = serde_json::to_vec(&Saved {
            settings: self.settings.clone(),
            state: self.trainer.state.clone(),
            history: self.history.clone(),
        })
        .map_err(|e| Error::Format(format!("cannot write the training state: {e}")))?;
        let mut out = Vec::with_capacity(24 + model.len() + optim.len() + json.len());
        out.extend_from_slice(MAGIC);
        for part in [&model, &optim] {
            out.extend_from_slice(&(part.len() as u64).to_le_bytes());
            out.extend_from_slice(part);
        }
        out.extend_from_slice(&json);
        Ok(out)
    }

    /// A run saved by [`TrainSession::save`]; its data is generated again from the settings.
    pub fn load(bytes: &[u8]) -> Result<Self> {
        Self::load_with(bytes, &DataBytes::default())
    }

    /// [`TrainSession::load`] for data built from files (`data`, as for [`TrainSession::new_with`]).
    pub fn load_with(bytes: &[u8], data: &DataBytes) -> Result<Self> {
        const NAME: &str = "the saved training run";
        let bad = |m: &str| Error::Format(format!("{NAME}: {m}"));
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| bad("not a Whitebox training checkpoint"))?;
        let (model, rest) = take_part(rest).ok_or_else(|| bad("truncated model"))?;
        let (optim, json) = take_part(rest).ok_or_else(|| bad("truncated optimiser state"))?;
        if json.len() > MAX_JSON {
            return Err(bad("the saved history is implausibly large"));
        }
        let saved: Saved = serde_json::from_slice(json).map_err(|e| bad(&format!("state: {e}")))?;
        saved.settings.validate()?;
        let model = crate::model::io::load_model(model, NAME, None)?.model;
        // A continued model's shape is its own, not a preset's.
        let base = match saved.settings.init {
            Some(_) => model.config.clone(),
            None => CrateConfig::preset(&saved.settings.preset)?,
        };
        let ((train, test, cfg), skipped_files) = saved.settings.data.build_listing(&base, data)?;
        if cfg.image != model.config.image || cfg.classes != model.config.classes {
            return Err(bad("its model does not fit its dataset"));
        }
        if saved.state.shuffler.len != train.len() {
            return Err(bad(&format!(
                "it trained on {} items, its dataset has {}",
                saved.state.shuffler.len,
                train.len()
            )));
        }
        let trainer = restore_parts(model, saved.state, optim, NAME, NAME)?;
        Ok(Self {
            settings: saved.settings,
            trainer,
            history: saved.history,
            train,
            test,
            skipped_files,
        })
    }

    /// Images per second over the run so far, and the seconds the remaining steps will take.
    pub fn speed(&self) -> (f64, f64) {
        let h = &self.history;
        if h.seconds <= 0.0 || h.images == 0 {
            return (0.0, f64::NAN);
        }
        let ips = h.images as f64 / h.seconds;
        let left = self.total_steps().saturating_sub(self.trainer.state.step);
        (ips, left as f64 * self.settings.batch as f64 / ips)
    }

    /// The state the Train view draws and `#wb-train-report` carries.
    pub fn report(&self) -> Value {
        let h = &self.history;
        let st = &self.trainer.state;
        let (ips, left) = self.speed();
        // The training figures are the mean over the last few batches: one batch is noisy.
        let tail = h.loss.len().saturating_sub(10);
        let mean = |v: &[f32]| {
            (!v.is_empty()).then(|| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64)
        };
        let per_class: Vec<Option<f64>> = h
            .confusion
            .iter()
            .enumerate()
            .map(|(c, row)| {
                let n: u32 = row.iter().sum();
                (n > 0).then(|| row[c] as f64 / n as f64)
            })
            .collect();
        json!({
            "step": st.step,
            "epoch": self.trainer.shuffler.epoch(),
            "epochs": st.train.epochs,
            "steps_per_epoch": self.trainer.steps_per_epoch(),
            "total_steps": self.total_steps(),
            "done": self.done(),
            "dataset": self.settings.data.key(),
            "settings": self.settings,
            "model": {"preset": self.settings.preset, "init": self.settings.init,
                "origin": h.origin, "classes": self.trainer.config.classes, "dim": self.trainer.config.dim,
                "depth": self.trainer.config.depth, "heads": self.trainer.config.heads,
                "params": self.trainer.params.tensors.values().map(|t| t.data.len()).sum::<usize>()},
            "lr": st.schedule.lr_at(st.step),
            "skipped": st.skipped,
            "skipped_files": self.skipped_files,
            "class_names": self.class_names(),
            "train": {"loss": mean(&h.loss[tail..]), "accuracy": mean(&h.accuracy[tail..])},
            "heldout": h.evals.last(),
            "per_class": per_class,
            "confusion": h.confusion,
            "history": {"steps": h.steps, "epochs": h.epochs, "loss": h.loss, "accuracy": h.accuracy},
            "evals": h.evals,
            "probes": h.probes,
            "images": h.images,
            "seconds": h.seconds,
            "images_per_s": ips,
            "time_left_s": if left.is_finite() { json!(left) } else { Value::Null },
        })
    }
}

fn take_part(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = u64::from_le_bytes(b.get(..8)?.try_into().ok()?);
    let n = usize::try_from(n).ok()?;
    let rest = &b[8..];
    (n <= rest.len()).then(|| rest.split_at(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::OptimConfig;

    /// A small run (narrow model, small batch) so the tests stay quick.
    fn small() -> SessionSettings {
        SessionSettings {
            batch: 16,
            epochs: 1,
            probe_every: 2,
            eval_every: 3,
            eval_images: 64,
            probe_images: 16,
            ..SessionSettings::default()
        }
    }

    #[test]
    fn steps_in_two_shards_train_what_whole_steps_train() {
        let mut whole = TrainSession::new(small()).unwrap();
        let mut split = TrainSession::new(small()).unwrap();
        for _ in 0..3 {
            let a = whole.step().unwrap();
            let p = split.prepare_step().unwrap();
            // The second half goes through bytes, as it does to the page's helper worker.
            let [r0, r1] = shard::halves(p.labels.len());
            let job = split.shard_job(&p, r1).unwrap().to_bytes().unwrap();
            let theirs = ShardJob::from_bytes(&job).unwrap().compute().unwrap();
            let theirs = Shard::from_bytes(&split.trainer.config, &theirs.to_bytes()).unwrap();
            let mine = split.compute_shard(&p, r0).unwrap();
            let b = split.finish_shards(&p, vec![mine, theirs]).unwrap();
            assert_eq!((a.step, a.correct, a.images), (b.step, b.correct, b.images));
            assert!(
                (a.loss - b.loss).abs() < 1e-5 * a.loss,
                "{} vs {}",
                a.loss,
                b.loss
            );
            assert!((a.grad_norm - b.grad_norm).abs() < 1e-4 * a.grad_norm);
        }
        let (mut diff, mut scale) = (0.0f32, 0.0f32);
        for (k, t) in &whole.trainer.params.tensors {
            for (x, y) in t.data.iter().zip(&split.trainer.params.tensors[k].data) {
                diff = diff.max((x - y).abs());
                scale = scale.max(x.abs());
            }
        }
        assert!(
            diff <= 1e-5 * scale,
            "weights differ by {diff} (scale {scale})"
        );
        assert_eq!(whole.history.steps, split.history.steps);
        assert_eq!(whole.history.epochs, split.history.epochs);
        assert_eq!(whole.history.images, split.history.images);
        assert_eq!(
            whole.trainer.state.optim_steps,
            split.trainer.state.optim_steps
        );
        let p = split.prepare_step().unwrap();
        assert!(split.compute_shard(&p, 3..3).is_err());
        assert!(split.compute_shard(&p, 0..17).is_err());
        let mine = split.compute_shard(&p, 0..8).unwrap();
        assert!(
            split.finish_shards(&p, vec![mine]).is_err(),
            "half a batch is not a step"
        );
    }

    #[test]
    fn defaults_are_the_cli_defaults() {
        let s = SessionSettings::default();
        let tc = s.train_config();
        assert_eq!((tc.batch, tc.epochs, tc.seed, tc.lr), (128, 10, 0, 1e-3));
        assert_eq!((tc.min_lr, tc.warmup_epochs), (1e-5, 1.0));
        assert_eq!((tc.label_smoothing, tc.clip_norm), (0.1, Some(1.0)));
        assert_eq!(tc.optim, OptimConfig::adamw(0.05));
        assert_eq!(s.preset, "crate-fmnist");
        let DataChoice::Subspaces {
            subspaces,
            sub_dim,
            noise,
            tokens,
            seed,
        } = s.data
        else {
            panic!("subspaces by default")
        };
        assert_eq!(
            (subspaces, sub_dim, noise, tokens, seed),
            (4, 4, 0.05, 16, 0)
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        for s in [
            SessionSettings { lr: 0.0, ..small() },
            SessionSettings {
                batch: 0,
                ..small()
            },
            SessionSettings {
                augment: true,
                ..small()
            },
            SessionSettings {
                probe_every: 0,
                ..small()
            },
            SessionSettings {
                data: DataChoice::Subspaces {
                    subspaces: 1,
                    sub_dim: 4,
                    noise: 0.05,
                    tokens: 16,
                    seed: 0,
                },
                ..small()
            },
        ] {
            assert!(TrainSession::new(s).is_err());
        }
        assert!(TrainSession::load(b"not a checkpoint").is_err());
        assert!(TrainSession::load(b"WBTRAIN1\xff\xff\xff\xff\xff\xff\xff\x7f").is_err());
    }

    #[test]
    fn steps_probes_and_evaluations_are_recorded() {
        let mut s = TrainSession::new(small()).unwrap();
        for _ in 0..3 {
            let r = s.step().unwrap();
            assert!(r.loss.is_finite());
            if s.probe_due() {
                s.probe().unwrap();
            }
            if s.eval_due() {
                s.evaluate().unwrap();
            }
        }
        let rep = s.report();
        assert_eq!(rep["step"], 3);
        assert_eq!(rep["history"]["loss"].as_array().unwrap().len(), 3);
        let probes = rep["probes"].as_array().unwrap();
        assert_eq!(probes.len(), 1);
        assert_eq!(probes[0]["step"], 2);
        assert_eq!(probes[0]["rc_out"].as_array().unwrap().len(), 6);
        assert_eq!(rep["evals"][0]["step"], 3);
        let total: u64 = rep["confusion"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap())
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(total, 64);
    }

    #[test]
    fn a_saved_run_continues_exactly() {
        let mut a = TrainSession::new(small()).unwrap();
        for _ in 0..2 {
            a.step().unwrap();
        }
        a.set_lr(2e-3).unwrap();
        let mut b = TrainSession::load(&a.save().unwrap()).unwrap();
        assert_eq!(b.history, a.history);
        assert_eq!(b.settings.lr, 2e-3);
        for _ in 0..2 {
            a.step().unwrap();
            b.step().unwrap();
        }
        assert_eq!(a.trainer.params, b.trainer.params);
        assert_eq!(a.trainer.config, b.trainer.config);
        assert_eq!(a.trainer.state, b.trainer.state);
    }

    #[test]
    fn a_step_run_elsewhere_sees_the_same_batch_and_learning_rate() {
        let mut a = TrainSession::new(small()).unwrap();
        let mut b = TrainSession::new(small()).unwrap();
        for _ in 0..3 {
            let ra = a.step().unwrap();
            let p = b.prepare_step().unwrap();
            assert_eq!(p.lr, ra.lr);
            // The CPU step stands in for the GPU: it counts the step itself.
            b.trainer.state.step -= 1;
            let rb = b.trainer.train_batch(&p.images, &p.labels).unwrap();
            b.finish_step(&p, rb.loss, rb.correct, rb.skipped, b.trainer.opt.steps);
        }
        assert_eq!(a.trainer.params, b.trainer.params);
        assert_eq!(a.trainer.state, b.trainer.state);
        assert_eq!(a.history, b.history);
        let (p, o) = (a.trainer.params.clone(), a.trainer.opt.clone());
        b.set_weights(p, o);
        assert_eq!(b.trainer.state.optim_steps, 3);
    }

    #[test]
    fn a_new_learning_rate_applies_to_the_next_step() {
        let mut s = TrainSession::new(small()).unwrap();
        let before = s.trainer.state.schedule.lr_at(5);
        s.set_lr(1e-2).unwrap();
        assert!((s.trainer.state.schedule.lr_at(5) / before - 10.0).abs() < 1e-4);
        assert!(s.set_lr(f32::NAN).is_err());
    }
}
