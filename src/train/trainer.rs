//! The training loop, engine-agnostic: the steps run on a [`StepEngine`] (the CPU reference
//! backward [`crate::grad`] through [`CpuSteps`], or the GPU through `gpu::train::GpuSteps`,
//! which reads its numbers back only every few steps): batches from a seeded [`Shuffler`], label-smoothed cross-entropy,
//! optional global-norm clipping, AdamW or Lion under a warm-up + cosine [`Schedule`], NaN/inf
//! steps skipped and counted, evaluation and per-layer R^c / sparsity every epoch, metrics as
//! JSON values. No file I/O and no clock here (both come in through [`Hooks`]), so this compiles
//! for wasm32; checkpoints live in [`super::checkpoint`] (native).

use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::optim::{all_finite, clip_grad_norm, OptimConfig, Optimizer};
use super::schedule::Schedule;
use super::selection::{per_layer_head_mean, segment_score, Selection};
use crate::analysis::segment::SegmentScores;
use crate::analysis::{summarise, LayerSummary};
use crate::cpu::CpuEngine;
use crate::data::{make_batch, Augment, AugmentPlan, ImageDataset, Shuffler, ShufflerState};
use crate::engine::{Engine, ForwardOptions};
use crate::error::{Error, Result};
use crate::grad::{self, ParamSet};
use crate::model::{CrateConfig, Model, Params};

/// Everything that defines a run (saved in the checkpoint's `state.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: u64,
    pub batch: usize,
    pub lr: f32,
    /// The cosine schedule's floor.
    pub min_lr: f32,
    pub warmup_epochs: f32,
    pub optim: OptimConfig,
    pub label_smoothing: f32,
    /// Global-norm gradient clipping (none when `None`).
    pub clip_norm: Option<f32>,
    pub seed: u64,
    /// Random crop (padding) and horizontal flip, when set.
    pub augment: Option<Augment>,
    /// A step metrics line every this many steps (0: none).
    pub log_every: u64,
    /// Images of the evaluation split used for per-layer R^c and sparsity.
    pub stats_images: usize,
    /// Evaluate on at most this many evaluation images (all when `None`).
    pub eval_limit: Option<usize>,
    /// Training images held out as a validation set (the last ones of the training split):
    /// the best checkpoint is chosen on them instead of on the test set (0: none).
    #[serde(default)]
    pub val_images: usize,
    /// Evaluation images whose CLS attention is scored against their masks every epoch (0:
    /// none; needs a dataset with masks).
    #[serde(default)]
    pub segment_images: usize,
    /// How the `best` checkpoint is chosen.
    #[serde(default)]
    pub select: Selection,
}

impl TrainConfig {
    /// Sensible defaults for a small model: AdamW, lr 1e-3, wd 0.05, 1 warm-up epoch.
    pub fn new(epochs: u64, batch: usize, seed: u64) -> Self {
        Self {
            epochs,
            batch,
            lr: 1e-3,
            min_lr: 1e-5,
            warmup_epochs: 1.0,
            optim: OptimConfig::adamw(0.05),
            label_smoothing: 0.0,
            clip_norm: Some(1.0),
            seed,
            augment: None,
            log_every: 50,
            stats_images: 256,
            eval_limit: None,
            val_images: 0,
            segment_images: 0,
            select: Selection::Accuracy,
        }
    }

    pub fn steps_per_epoch(&self, train_len: usize) -> u64 {
        train_len.div_ceil(self.batch.max(1)) as u64
    }

    pub fn schedule(&self, train_len: usize) -> Schedule {
        let spe = self.steps_per_epoch(train_len);
        Schedule {
            lr: self.lr,
            min_lr: self.min_lr,
            warmup_steps: (self.warmup_epochs as f64 * spe as f64).round() as u64,
            total_steps: self.epochs * spe,
        }
    }
}

/// The saved position of a run (besides parameters and moments): `state.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    pub train: TrainConfig,
    /// Steps taken (including skipped ones): the schedule position.
    pub step: u64,
    /// Steps skipped for a non-finite loss or gradient.
    pub skipped: u64,
    /// Optimiser updates applied (AdamW's bias-correction count).
    pub optim_steps: u64,
    pub shuffler: ShufflerState,
    pub schedule: Schedule,
    /// Best evaluation accuracy so far and its epoch.
    pub best_accuracy: Option<f64>,
    pub best_epoch: Option<u64>,
    /// The best epoch's [`Selection::key`] (runs saved before it existed chose by accuracy,
    /// which is then the key).
    #[serde(default)]
    pub best_key: Option<f64>,
    /// Seconds of training so far (over all resumed runs).
    pub wall_time_s: f64,
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    pub step: u64,
    pub lr: f32,
    pub loss: f32,
    /// Correct predictions in the batch.
    pub correct: usize,
    pub images: usize,
    /// Gradient norm before clipping (NaN when skipped).
    pub grad_norm: f64,
    /// True when the loss or a gradient was not finite and nothing was updated.
    pub skipped: bool,
    /// Steps this report covers (1 on the CPU; a GPU engine reads back every few steps and
    /// reports them together: `loss` is then the mean over their `images`, which count only
    /// finite steps, and `skipped` means none of them updated).
    pub steps: u64,
    /// Of those, the steps skipped for a non-finite loss or gradient.
    pub skipped_steps: u64,
}

/// Where training steps run: the CPU reference backward ([`CpuSteps`]) or the GPU
/// (`gpu::train::GpuSteps`). The epoch loop, evaluation, metrics and checkpoints are shared.
pub trait StepEngine {
    /// One optimiser step of `t` on a batch (normalised images (B, C, H, W), labels), at the
    /// schedule's learning rate; advances `t.state.step`. `read`: the caller needs the numbers
    /// now (a metrics line or the end of an epoch). Returns a report covering every step since
    /// the last one, or `None` when nothing was read back.
    fn step(
        &mut self,
        t: &mut Trainer,
        images: &[f32],
        labels: &[usize],
        read: bool,
    ) -> Result<Option<StepReport>>;

    /// Makes `t.params`, `t.opt` and the step counters current (before evaluation and
    /// checkpoints).
    fn sync(&mut self, t: &mut Trainer) -> Result<()>;

    /// Evaluates the current weights on a batch (normalised images, labels): (sum of the
    /// per-image unsmoothed cross-entropy, correct predictions); `None` when the engine leaves
    /// evaluation to the CPU engine.
    fn evaluate_batch(
        &mut self,
        _images: &[f32],
        _labels: &[usize],
    ) -> Option<Result<(f64, usize)>> {
        None
    }
}

/// Training steps on the CPU reference backward ([`Trainer::train_batch`]).
pub struct CpuSteps;

impl StepEngine for CpuSteps {
    fn step(
        &mut self,
        t: &mut Trainer,
        images: &[f32],
        labels: &[usize],
        _read: bool,
    ) -> Result<Option<StepReport>> {
        t.train_batch(images, labels).map(Some)
    }

    fn sync(&mut self, _t: &mut Trainer) -> Result<()> {
        Ok(())
    }
}

/// Accuracy and mean loss on an evaluation set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    pub accuracy: f64,
    pub loss: f64,
    pub images: usize,
}

/// What the split evaluated every epoch is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// Held-out training images: the best epoch is chosen on them (`val_*` in epoch lines).
    Validation,
    /// The test split: reported (`test_*`), never chosen on.
    Test,
}

impl Held {
    fn prefix(self) -> &'static str {
        match self {
            Held::Validation => "val",
            Held::Test => "test",
        }
    }
}

/// A run in progress: parameters, optimiser, data order, schedule position.
#[derive(Clone, Debug)]
pub struct Trainer {
    pub config: CrateConfig,
    pub params: ParamSet<f32>,
    pub opt: Optimizer,
    pub shuffler: Shuffler,
    pub state: TrainState,
}

/// The outside world of [`Trainer::train`]: a clock, sinks for metrics and progress, the
/// checkpoint writer and a stop flag (set by Ctrl-C natively).
pub struct Hooks<'a> {
    /// Seconds since some fixed point.
    pub now: &'a dyn Fn() -> f64,
    /// One JSON value per metrics line (`"kind": "step" | "epoch" | "stop"`).
    pub metrics: &'a mut dyn FnMut(&Value),
    /// After every step: the report, the epoch's running (loss sum, correct, images) and images/s.
    pub progress: &'a mut dyn FnMut(&StepReport, &Running),
    /// Called at the end of every epoch (`best` true when this epoch is the best so far on a
    /// validation split) and when stopped.
    pub checkpoint: &'a mut dyn FnMut(&Trainer, bool) -> Result<()>,
    pub stop: &'a AtomicBool,
}

/// The epoch's running totals.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Running {
    pub epoch: u64,
    pub step_in_epoch: u64,
    pub steps_per_epoch: u64,
    pub loss_sum: f64,
    pub correct: usize,
    pub images: usize,
    pub skipped: u64,
    pub images_per_s: f64,
}

impl Running {
    pub fn loss(&self) -> f64 {
        self.loss_sum / self.images.max(1) as f64
    }
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.images.max(1) as f64
    }
}

/// An auxiliary objective for [`Trainer::train_batch_with`]: adds its gradients, returns its loss.
pub type AuxObjective<'a> = &'a mut dyn FnMut(
    &CrateConfig,
    &ParamSet<f32>,
    &grad::Cache<f32>,
    &mut ParamSet<f32>,
) -> Result<f64>;

impl Trainer {
    /// A fresh run from `params` on a training set of `train_len` items.
    pub fn new(
        config: CrateConfig,
        params: &Params,
        train: TrainConfig,
        train_len: usize,
    ) -> Result<Self> {
        config.validate()?;
        params.validate(&config)?;
        if train.batch == 0 || train_len == 0 {
            return Err(Error::Config(
                "training needs a positive batch size and a non-empty dataset".into(),
            ));
        }
        let p = ParamSet::from_params(params);
        let opt = Optimizer::new(train.optim, &p);
        let shuffler = Shuffler::new(train_len, train.seed);
        let state = TrainState {
            schedule: train.schedule(train_len),
            train,
            step: 0,
            skipped: 0,
            optim_steps: 0,
            shuffler: shuffler.state(),
            best_accuracy: None,
            best_epoch: None,
            best_key: None,
            wall_time_s: 0.0,
        };
        Ok(Self {
            config,
            params: p,
            opt,
            shuffler,
            state,
        })
    }

    /// A run restored from its parts (see [`super::checkpoint`]).
    pub fn restore(
        config: CrateConfig,
        params: &Params,
        state: TrainState,
        m: ParamSet<f32>,
        v: ParamSet<f32>,
    ) -> Result<Self> {
        params.validate(&config)?;
        let p = ParamSet::from_params(params);
        let opt = Optimizer::restore(state.train.optim, &p, m, v, state.optim_steps)?;
        let shuffler = Shuffler::restore(state.shuffler, state.shuffler.len)?;
        Ok(Self {
            config,
            params: p,
            opt,
            shuffler,
            state,
        })
    }

    /// The current model.
    pub fn model(&self) -> Model {
        Model {
            config: self.config.clone(),
            params: self.params.to_params(),
        }
    }

    pub fn steps_per_epoch(&self) -> u64 {
        self.state.train.steps_per_epoch(self.shuffler.state().len)
    }

    /// One optimiser step on a given batch (normalised images (B, C, H, W), labels). A non-finite
    /// loss or gradient skips the update (counted in `state.skipped`); the step still counts for
    /// the schedule.
    pub fn train_batch(&mut self, images: &[f32], labels: &[usize]) -> Result<StepReport> {
        self.train_batch_with(images, labels, &mut |_, _, _, _| Ok(0.0))
    }

    /// [`Trainer::train_batch`] with an auxiliary objective: `extra(config, params, cache,
    /// grads)` sees the forward's cache and the cross-entropy's gradients, adds its own
    /// gradients to `grads` and returns its loss, which is added to the step's loss.
    pub fn train_batch_with(
        &mut self,
        images: &[f32],
        labels: &[usize],
        extra: AuxObjective<'_>,
    ) -> Result<StepReport> {
        let tc = &self.state.train;
        let lr = self.state.schedule.lr_at(self.state.step);
        if let Some(&l) = labels.iter().find(|&&l| l >= self.config.classes) {
            return Err(Error::Input(format!(
                "label {l} is not below the {} classes",
                self.config.classes
            )));
        }
        let (logits, cache) = grad::forward(&self.config, &self.params, images, labels.len())?;
        let (loss, dlogits) =
            grad::loss::cross_entropy(&logits, self.config.classes, labels, tc.label_smoothing);
        let mut grads = grad::backward(&self.config, &self.params, &cache, &dlogits);
        let aux = extra(&self.config, &self.params, &cache, &mut grads)?;
        let correct = super::shard::count_correct(&logits, self.config.classes, labels);
        self.state.step += 1;
        Ok(self.update(loss + aux as f32, grads, correct, labels.len(), lr))
    }

    /// The update after a step's forward and backward (the step already counted in
    /// `state.step`): skipped, and counted in `state.skipped`, when the loss or a gradient is not
    /// finite; otherwise the gradients are clipped (when set) and the optimiser steps with `lr`.
    pub fn update(
        &mut self,
        loss: f32,
        mut grads: ParamSet<f32>,
        correct: usize,
        images: usize,
        lr: f32,
    ) -> StepReport {
        let finite = loss.is_finite() && all_finite(&grads);
        let mut report = StepReport {
            step: self.state.step,
            lr,
            loss,
            correct,
            images,
            grad_norm: f64::NAN,
            skipped: !finite,
            steps: 1,
            skipped_steps: !finite as u64,
        };
        if !finite {
            self.state.skipped += 1;
            return report;
        }
        report.grad_norm = match self.state.train.clip_norm {
            Some(c) => clip_grad_norm(&mut grads, c),
            None => grads.norm(),
        };
        self.opt.step(&mut self.params, &grads, lr);
        self.state.optim_steps = self.opt.steps;
        report
    }

    /// The next batch of the shuffled training set, trained on. Moves to the next epoch after
    /// the epoch's last batch.
    pub fn next_step<D: ImageDataset + ?Sized>(&mut self, ds: &D) -> Result<StepReport> {
        self.next_step_on(&mut CpuSteps, ds, true)?
            .ok_or_else(|| Error::Input("the CPU engine reports every step".into()))
    }

    /// [`Trainer::next_step`] on a given engine; `read` asks for a report now (the last step of
    /// an epoch always asks).
    pub fn next_step_on<D: ImageDataset + ?Sized>(
        &mut self,
        engine: &mut dyn StepEngine,
        ds: &D,
        read: bool,
    ) -> Result<Option<StepReport>> {
        if self.shuffler.position() >= self.shuffler.state().len {
            self.shuffler.next_epoch();
        }
        let read =
            read || self.shuffler.position() + self.state.train.batch >= self.shuffler.state().len;
        let batch = self.next_batch(ds)?;
        engine.step(self, &batch.images.data, &batch.labels, read)
    }

    /// The next batch of the shuffled (and, when set, augmented) training set; the data order
    /// moves past it (to the next epoch after the epoch's last batch). The step itself is the
    /// caller's: [`Trainer::next_step_on`], or the page's worker awaiting the GPU.
    pub fn next_batch<D: ImageDataset + ?Sized>(&mut self, ds: &D) -> Result<crate::data::Batch> {
        if self.shuffler.position() >= self.shuffler.state().len {
            self.shuffler.next_epoch();
        }
        let idx = self
            .shuffler
            .next_batch(self.state.train.batch, false)
            .expect("a non-empty epoch");
        let aug = self.state.train.augment;
        let plan = aug.as_ref().map(|a| AugmentPlan {
            augment: a,
            seed: self.state.train.seed,
            epoch: self.shuffler.epoch(),
        });
        let batch = make_batch(ds, &idx, &self.config, plan)?;
        if self.shuffler.position() >= self.shuffler.state().len {
            self.shuffler.next_epoch();
        }
        self.state.shuffler = self.shuffler.state();
        Ok(batch)
    }

    /// [`Trainer::evaluate`] on `engine` when it evaluates (the GPU does, with the weights it
    /// holds), else on the CPU engine.
    pub fn evaluate_on<D: ImageDataset + ?Sized>(
        &self,
        engine: &mut dyn StepEngine,
        ds: &D,
        limit: Option<usize>,
    ) -> Result<Evaluation> {
        let n = limit.unwrap_or(usize::MAX).min(ds.len());
        let (mut correct, mut loss) = (0usize, 0f64);
        for start in (0..n).step_by(256) {
            let idx: Vec<usize> = (start..(start + 256).min(n)).collect();
            let b = make_batch(ds, &idx, &self.config, None)?;
            match engine.evaluate_batch(&b.images.data, &b.labels) {
                Some(r) => {
                    let (l, c) = r?;
                    loss += l;
                    correct += c;
                }
                None => return self.evaluate(ds, limit),
            }
        }
        Ok(Evaluation {
            accuracy: correct as f64 / n.max(1) as f64,
            loss: loss / n.max(1) as f64,
            images: n,
        })
    }

    /// Accuracy and mean (unsmoothed) cross-entropy on the first `limit` items of `ds`.
    pub fn evaluate<D: ImageDataset + ?Sized>(
        &self,
        ds: &D,
        limit: Option<usize>,
    ) -> Result<Evaluation> {
        let n = limit.unwrap_or(usize::MAX).min(ds.len());
        let mut engine = CpuEngine::new(self.model());
        let (mut correct, mut loss) = (0usize, 0f64);
        let classes = self.config.classes;
        for start in (0..n).step_by(256) {
            let idx: Vec<usize> = (start..(start + 256).min(n)).collect();
            let b = make_batch(ds, &idx, &self.config, None)?;
            let out = engine.forward(&b.images, ForwardOptions::default())?;
            let (l, _) = grad::loss::cross_entropy(&out.logits.data, classes, &b.labels, 0.0f32);
            loss += l as f64 * idx.len() as f64;
            correct += b
                .labels
                .iter()
                .enumerate()
                .filter(|&(i, &y)| argmax(&out.logits.data[i * classes..(i + 1) * classes]) == y)
                .count();
        }
        Ok(Evaluation {
            accuracy: correct as f64 / n.max(1) as f64,
            loss: loss / n.max(1) as f64,
            images: n,
        })
    }

    /// Per-layer R^c (before/after MSSA) and ISTA sparsity, mean and std over the first `n`
    /// items of `ds`.
    pub fn layer_summary<D: ImageDataset + ?Sized>(
        &self,
        ds: &D,
        n: usize,
    ) -> Result<Vec<LayerSummary>> {
        let n = n.min(ds.len());
        let mut engine = CpuEngine::new(self.model());
        let mut stats = Vec::with_capacity(n);
        for start in (0..n).step_by(64) {
            let idx: Vec<usize> = (start..(start + 64).min(n)).collect();
            let b = make_batch(ds, &idx, &self.config, None)?;
            let out = engine.forward(
                &b.images,
                ForwardOptions {
                    stats: true,
                    ..Default::default()
                },
            )?;
            stats.extend(
                out.stats
                    .ok_or_else(|| Error::Input("the engine returned no measures".into()))?,
            );
        }
        Ok(summarise(&stats))
    }

    /// Records `epoch` as the best so far when its selection key (accuracy, or the segmentation
    /// score among accurate enough epochs) beats the best one's; says whether it did.
    fn keep_if_best(&mut self, epoch: u64, accuracy: f64, seg: Option<&SegmentScores>) -> bool {
        let key = self
            .state
            .train
            .select
            .key(accuracy, seg.map(segment_score));
        let best = self
            .state
            .best_key
            .or(self.state.best_accuracy)
            .is_none_or(|b| key > b);
        if best {
            self.state.best_accuracy = Some(accuracy);
            self.state.best_epoch = Some(epoch);
            self.state.best_key = Some(key);
        }
        best
    }

    /// Trains until `state.train.epochs` epochs are done or `hooks.stop` is set, evaluating on
    /// `eval`, a validation split (accuracy, loss, per-layer stats; the best epoch is chosen on
    /// it), and checkpointing after every epoch.
    pub fn train<D: ImageDataset + ?Sized, E: ImageDataset + ?Sized>(
        &mut self,
        ds: &D,
        eval: &E,
        hooks: Hooks<'_>,
    ) -> Result<()> {
        self.train_on(&mut CpuSteps, ds, eval, hooks)
    }

    /// [`Trainer::train`] with the steps on `engine`.
    pub fn train_on<D: ImageDataset + ?Sized, E: ImageDataset + ?Sized>(
        &mut self,
        engine: &mut dyn StepEngine,
        ds: &D,
        eval: &E,
        hooks: Hooks<'_>,
    ) -> Result<()> {
        self.train_split(engine, ds, eval, Held::Validation, hooks)
    }

    /// [`Trainer::train_on`] with `eval` playing `held`'s part: a validation split chooses the
    /// best epoch (epoch lines report `val_*`); the test split is only reported (`test_*`), and
    /// no epoch is chosen on it, so a run without a validation split keeps no `best` checkpoint.
    pub fn train_split<D: ImageDataset + ?Sized, E: ImageDataset + ?Sized>(
        &mut self,
        engine: &mut dyn StepEngine,
        ds: &D,
        eval: &E,
        held: Held,
        hooks: Hooks<'_>,
    ) -> Result<()> {
        let spe = self.steps_per_epoch();
        let fresh = |epoch| Running {
            epoch,
            steps_per_epoch: spe,
            ..Running::default()
        };
        let mut run = fresh(self.shuffler.epoch());
        let t_start = (hooks.now)();
        let wall0 = self.state.wall_time_s;
        let mut t_epoch = t_start;
        while self.shuffler.epoch() < self.state.train.epochs {
            if hooks.stop.load(Ordering::SeqCst) {
                engine.sync(self)?;
                self.state.wall_time_s = wall0 + (hooks.now)() - t_start;
                (hooks.metrics)(&json!({"kind": "stop", "step": self.state.step,
                    "epoch": self.shuffler.epoch(), "position": self.shuffler.position()}));
                (hooks.checkpoint)(self, false)?;
                return Ok(());
            }
            let epoch = self.shuffler.epoch();
            let le = self.state.train.log_every;
            let log_next = le > 0 && (self.state.step + 1).is_multiple_of(le);
            let r = self.next_step_on(engine, ds, log_next)?;
            run.step_in_epoch += 1;
            let now = (hooks.now)();
            let Some(r) = r else {
                continue;
            };
            run.skipped += r.skipped_steps;
            if !r.skipped {
                run.loss_sum += r.loss as f64 * r.images as f64;
                run.correct += r.correct;
                run.images += r.images;
            }
            run.images_per_s = run.images as f64 / (now - t_epoch).max(1e-9);
            (hooks.progress)(&r, &run);
            if le > 0 && r.step % le == 0 {
                (hooks.metrics)(&json!({"kind": "step", "step": r.step, "epoch": epoch,
                    "lr": r.lr, "loss": finite_or_null(r.loss as f64),
                    "batch_accuracy": r.correct as f64 / r.images as f64,
                    "grad_norm": finite_or_null(r.grad_norm), "skipped_total": self.state.skipped,
                    "images_per_s": run.images_per_s}));
            }
            if self.shuffler.epoch() > epoch {
                let train_time = now - t_epoch;
                engine.sync(self)?;
                let ev = self.evaluate_on(engine, eval, self.state.train.eval_limit)?;
                let layers = self.layer_summary(eval, self.state.train.stats_images)?;
                let seg = match self.state.train.segment_images {
                    0 => None,
                    n => self.segment_scores(eval, n)?,
                };
                let best = held == Held::Validation
                    && self.keep_if_best(epoch + 1, ev.accuracy, seg.as_ref());
                let end = (hooks.now)();
                self.state.wall_time_s = wall0 + end - t_start;
                let pre = held.prefix();
                let mut line = json!({"kind": "epoch", "epoch": epoch + 1, "step": self.state.step,
                    "train_loss": run.loss(), "train_accuracy": run.accuracy(),
                    "skipped_steps": run.skipped, "images_per_s": run.images as f64 / train_time.max(1e-9),
                    "epoch_time_s": end - t_epoch, "wall_time_s": self.state.wall_time_s,
                    "lr": self.state.schedule.lr_at(self.state.step),
                    "layers": layers.iter().map(|l| json!({"rc_in": l.rc_in.0, "rc_out": l.rc_out.0,
                        "sparsity": l.sparsity.0})).collect::<Vec<_>>()});
                line[format!("{pre}_loss")] = json!(ev.loss);
                line[format!("{pre}_accuracy")] = json!(ev.accuracy);
                line[format!("{pre}_images")] = json!(ev.images);
                if let Some(s) = &seg {
                    line[format!("{pre}_miou_heads")] = json!(per_layer_head_mean(s));
                    line[format!("{pre}_miou_mean_map")] = json!(s
                        .layers
                        .iter()
                        .map(|l| l.mean.miou_mass)
                        .collect::<Vec<_>>());
                    line[format!("{pre}_miou_images")] = json!(s.images);
                }
                (hooks.metrics)(&line);
                (hooks.checkpoint)(self, best)?;
                t_epoch = (hooks.now)();
                run = fresh(self.shuffler.epoch());
            }
        }
        Ok(())
    }
}

fn finite_or_null(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

/// Index of the largest value (first on ties).
pub fn argmax(xs: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best
}
