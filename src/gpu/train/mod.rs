//! Training on the GPU: [`GpuTrainer`] keeps the parameters, their gradients (one flat buffer),
//! the optimiser moments and every activation the backward needs resident on the device, and
//! records a whole step — training forward, label-smoothed cross-entropy, backward, global-norm
//! clipping and the AdamW/Lion update — through one [`Recorder`](super::Recorder), i.e. ONE
//! submit per step. Loss and accuracy are accumulated on the GPU and read back only when asked
//! (every few steps). A step whose loss or gradient is not finite is skipped on the GPU itself: the
//! optimiser kernels see the flag and leave weights and moments untouched.
//!
//! The op-by-op backward mirrors [`crate::grad`] (the oracle in `tests/suite/gpu_train.rs`); the
//! kernels are in [`super::backward`]. Async throughout (the page trains in the browser);
//! natively, [`crate::train::StepEngine`] drives it through the shared epoch loop.

mod acts;
mod record;
mod state;
#[cfg(not(target_arch = "wasm32"))]
mod steps;

use self::acts::Acts;
use self::record::{record_fb, Lookup};
#[cfg(not(target_arch = "wasm32"))]
pub use self::steps::GpuSteps;
use super::backward::optim::{self as opt, OptimBuffers, Scal, SCAL_LEN};
use super::{Gpu, GpuContext, READBACK};
use crate::error::{Error, Result};
use crate::grad::ParamSet;
use crate::model::{CrateConfig, Slot, Weights};
use crate::train::{OptimConfig, Optimizer, OptimizerKind};

/// What a step needs besides the batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GpuStepConfig {
    pub optim: OptimConfig,
    pub label_smoothing: f32,
    pub clip_norm: Option<f32>,
}

/// What [`GpuTrainer::record_step`] records.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// Forward and unsmoothed loss only.
    Eval,
    /// Forward, loss and backward.
    Grads,
    /// A whole training step at this learning rate.
    Step(f32),
}

/// The numbers of the `scal` buffer, read back.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GpuStats {
    /// The last step's mean loss (inf when it was not finite), correct count and gradient norm.
    pub loss: f32,
    pub correct: f32,
    pub grad_norm: f32,
    pub finite: bool,
    /// Optimiser updates applied so far.
    pub optim_steps: u64,
    /// Since the last read-back: loss sum (loss × images), correct, images of finite steps,
    /// skipped steps and all steps.
    pub run_loss_sum: f64,
    pub run_correct: u64,
    pub run_images: u64,
    pub run_skipped: u64,
    pub run_steps: u64,
}

/// A training run's device state.
pub struct GpuTrainer {
    gpu: Gpu,
    cfg: CrateConfig,
    step_cfg: GpuStepConfig,
    spec: Weights<Slot>,
    /// Offset of each parameter's gradient in `grads` (laid out in key order).
    offs: Weights<usize>,
    params: Weights<wgpu::Buffer>,
    m: Weights<wgpu::Buffer>,
    /// None for Lion.
    v: Option<Weights<wgpu::Buffer>>,
    grads: wgpu::Buffer,
    total: usize,
    scal: wgpu::Buffer,
    spare: [wgpu::Buffer; 3],
    acts: Option<Acts>,
}

/// The per-parameter state an optimiser update needs.
struct ParamBuffers<'a> {
    spec: &'a Weights<Slot>,
    offs: &'a Weights<usize>,
    params: &'a Weights<wgpu::Buffer>,
    m: &'a Weights<wgpu::Buffer>,
    v: Option<&'a Weights<wgpu::Buffer>>,
}

/// The optimiser part of a step: the global norm, finite flag and clip scale over all `total`
/// gradients (`b` loss rows), then one AdamW/Lion update per parameter, with weight decay only
/// where the weights' [`Slot::decay`] says.
fn record_optimiser(
    rec: &mut crate::gpu::Recorder,
    ob: &OptimBuffers,
    step_cfg: &GpuStepConfig,
    p: &ParamBuffers,
    total: usize,
    b: usize,
    lr: f32,
) {
    opt::norm_and_flags(rec, ob, total, b, step_cfg.clip_norm, &step_cfg.optim);
    let mut vs = p.v.map(|v| v.iter());
    let slots = p.spec.iter().zip(p.offs.iter()).zip(p.params.iter());
    for (((slot, &off), w), m) in slots.zip(p.m.iter()) {
        let v = vs.as_mut().and_then(|it| it.next());
        let wd = if slot.decay {
            step_cfg.optim.weight_decay
        } else {
            0.0
        };
        let u = opt::Update {
            w,
            m,
            v,
            len: slot.numel(),
            goff: off,
            lr,
            wd,
        };
        opt::update(rec, ob, &step_cfg.optim, &u);
    }
}

/// Gradient offsets in the flat buffer: every parameter's gradient, one after another in key
/// order (the order the CPU optimiser and checkpoints walk them).
fn grad_offsets(spec: &Weights<Slot>) -> (Weights<usize>, usize) {
    let mut order: Vec<(&str, usize, usize)> = spec
        .iter()
        .enumerate()
        .map(|(i, s)| (s.key.as_str(), i, s.numel()))
        .collect();
    order.sort();
    let mut offs = vec![0; order.len()];
    let mut total = 0;
    for (_, i, n) in order {
        offs[i] = total;
        total += n;
    }
    let w = Weights::from_vec(spec.layers.len(), spec.head.w2.is_some(), offs)
        .expect("one offset per slot");
    (w, total)
}

impl GpuTrainer {
    /// Destroys the device, as a lost GPU would (the page's device-loss test): every later
    /// call fails and the caller continues elsewhere.
    pub fn destroy_device(&self) {
        self.gpu.ctx.device.destroy();
    }

    /// Uploads parameters and optimiser state (moments and step count) to the device.
    pub fn new(
        ctx: GpuContext,
        cfg: &CrateConfig,
        params: &ParamSet<f32>,
        optimizer: &Optimizer,
        step_cfg: GpuStepConfig,
    ) -> Result<Self> {
        cfg.validate()?;
        params.check(cfg)?;
        let mut gpu = Gpu::new(ctx);
        let spec = Weights::spec(cfg);
        let (offs, total) = grad_offsets(&spec);
        let params_b = params.weights(cfg).map(|data| gpu.upload(data));
        let adamw = step_cfg.optim.kind == OptimizerKind::AdamW;
        let zeros = |gpu: &mut Gpu, n: usize| gpu.upload(&vec![0.0; n]);
        let m = spec.as_ref().map(|s| zeros(&mut gpu, s.numel()));
        let v = adamw.then(|| spec.as_ref().map(|s| zeros(&mut gpu, s.numel())));
        let grads = zeros(&mut gpu, total);
        let scal = zeros(&mut gpu, SCAL_LEN);
        let spare = [zeros(&mut gpu, 4), zeros(&mut gpu, 4), zeros(&mut gpu, 4)];
        let mut t = Self {
            gpu,
            cfg: cfg.clone(),
            step_cfg,
            spec,
            offs,
            params: params_b,
            m,
            v,
            grads,
            total,
            scal,
            spare,
            acts: None,
        };
        t.set_optimizer(optimizer)?;
        Ok(t)
    }

    /// The device state of a run: `t`'s parameters, optimiser state and step settings (a fresh
    /// or a resumed [`crate::train::Trainer`]; the page drives the async methods itself).
    pub fn for_trainer(ctx: GpuContext, t: &crate::train::Trainer) -> Result<Self> {
        let tc = &t.state.train;
        let cfg = GpuStepConfig {
            optim: tc.optim,
            label_smoothing: tc.label_smoothing,
            clip_norm: tc.clip_norm,
        };
        Self::new(ctx, &t.config, &t.params, &t.opt, cfg)
    }

    pub fn context(&self) -> &GpuContext {
        &self.gpu.ctx
    }

    /// Per-dispatch timestamps for the following submissions (see [`crate::gpu::profile`]).
    pub fn set_profiling(&mut self, on: bool) {
        self.gpu.profiling = on;
    }

    /// Per-dispatch (kernel label, ms) of the last profiled submission, once it has completed.
    pub async fn take_kernel_times(&mut self) -> Result<Option<Vec<(String, f64)>>> {
        self.gpu.take_kernel_times().await
    }

    /// Buffers the pool has created so far (a repeated step of the same batch size adds none).
    pub fn buffers_created(&self) -> usize {
        self.gpu.pool.created()
    }

    fn ensure_acts(&mut self, b: usize) -> Result<()> {
        if self.acts.as_ref().is_some_and(|a| a.b == b) {
            return Ok(());
        }
        if let Some(old) = self.acts.take() {
            self.gpu.pool.release(old.all());
        }
        let acts = Acts::new(&mut self.gpu, &self.cfg, b)?;
        self.acts = Some(acts);
        Ok(())
    }

    /// Uploads a batch: normalised images (B, C, H, W) at the training size and labels.
    fn load_batch(&mut self, images: &[f32], labels: &[usize]) -> Result<()> {
        let cfg = &self.cfg;
        let b = labels.len();
        let [h, w] = cfg.image;
        if b == 0 || images.len() != b * cfg.channels * h * w {
            return Err(Error::Input(format!(
                "training needs {b} images of shape ({}, {h}, {w}), got {} values",
                cfg.channels,
                images.len()
            )));
        }
        if let Some(&l) = labels.iter().find(|&&l| l >= cfg.classes) {
            return Err(Error::Input(format!(
                "label {l} is not below the {} classes",
                cfg.classes
            )));
        }
        self.ensure_acts(b)?;
        let acts = self.acts.as_ref().expect("allocated");
        let q = &self.gpu.ctx.queue;
        q.write_buffer(&acts.img, 0, bytemuck::cast_slice(images));
        let lf: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
        q.write_buffer(&acts.labels, 0, bytemuck::cast_slice(&lf));
        Ok(())
    }

    /// Records forward and loss (`Mode::Eval`: unsmoothed, nothing else), the backward
    /// (gradients into the flat buffer) and, for `Mode::Step`, norm/flags and the optimiser at
    /// `lr`, then the copies in `staging`; submits once.
    fn record_step(
        &mut self,
        mode: Mode,
        staging: &[(&wgpu::Buffer, &wgpu::Buffer, usize)],
    ) -> Result<Option<wgpu::Buffer>> {
        let Self {
            gpu,
            cfg,
            step_cfg,
            spec,
            offs,
            params,
            m,
            v,
            grads,
            total,
            scal,
            spare,
            acts,
        } = self;
        let x = acts.as_ref().expect("batch loaded");
        let lk = Lookup { params, offs };
        let mut rec = gpu.recorder();
        let (smoothing, backward) = match mode {
            Mode::Eval => (0.0, false),
            _ => (step_cfg.label_smoothing, true),
        };
        record_fb(&mut rec, cfg, x, &lk, grads, smoothing, backward)?;
        if let Mode::Step(lr) = mode {
            let ob = OptimBuffers {
                rows: &x.rows,
                grads,
                scal,
                spare: [&spare[0], &spare[1], &spare[2]],
            };
            let pb = ParamBuffers {
                spec,
                offs,
                params,
                m,
                v: v.as_ref(),
            };
            record_optimiser(&mut rec, &ob, step_cfg, &pb, *total, x.b, lr);
        }
        for (src, dst, len) in staging {
            rec.copy(src, dst, (*len * 4) as u64);
        }
        Ok(rec.finish())
    }

    fn staging(&mut self, len: usize) -> wgpu::Buffer {
        self.gpu
            .pool
            .acquire(&self.gpu.ctx.device, (len * 4) as u64, READBACK)
    }

    async fn read(
        &mut self,
        staged: Vec<(wgpu::Buffer, usize)>,
        ubuf: Option<wgpu::Buffer>,
    ) -> Result<Vec<Vec<f32>>> {
        let reads: Vec<(&wgpu::Buffer, usize)> = staged.iter().map(|(b, l)| (b, *l)).collect();
        let out = self.gpu.ctx.read_back(&reads).await;
        self.gpu.pool.release(staged.into_iter().map(|(b, _)| b));
        self.gpu.pool.release(ubuf);
        out
    }

    /// One training step on a batch at learning rate `lr`, one submit. With `read`, waits for it
    /// and returns the statistics (and zeroes the running totals); otherwise returns at once.
    pub async fn step_async(
        &mut self,
        images: &[f32],
        labels: &[usize],
        lr: f32,
        read: bool,
    ) -> Result<Option<GpuStats>> {
        self.gpu.ctx.check_alive()?;
        self.load_batch(images, labels)?;
        if !read {
            let ubuf = self.record_step(Mode::Step(lr), &[])?;
            self.gpu.pool.release(ubuf);
            return Ok(None);
        }
        let st = self.staging(16);
        let scal = self.scal.clone();
        let ubuf = self.record_step(Mode::Step(lr), &[(&scal, &st, 16)])?;
        let out = self.read(vec![(st, 16)], ubuf).await?;
        Ok(Some(self.take_stats(&out[0])))
    }

    /// Reads the statistics without stepping (and zeroes the running totals).
    pub async fn stats_async(&mut self) -> Result<GpuStats> {
        let st = self.staging(16);
        let scal = self.scal.clone();
        let ubuf = {
            let mut rec = self.gpu.recorder();
            rec.copy(&scal, &st, 64);
            rec.finish()
        };
        let out = self.read(vec![(st, 16)], ubuf).await?;
        Ok(self.take_stats(&out[0]))
    }

    fn take_stats(&mut self, s: &[f32]) -> GpuStats {
        let stats = GpuStats {
            loss: s[Scal::LOSS],
            correct: s[Scal::CORRECT],
            grad_norm: s[Scal::NORM],
            finite: s[Scal::FINITE] != 0.0,
            optim_steps: s[Scal::STEPS] as u64,
            run_loss_sum: s[Scal::RUN_LOSS] as f64,
            run_correct: s[Scal::RUN_CORRECT] as u64,
            run_images: s[Scal::RUN_IMAGES] as u64,
            run_skipped: s[Scal::RUN_SKIPPED] as u64,
            run_steps: s[Scal::RUN_STEPS] as u64,
        };
        // Zero the running totals; ordered before the next submit.
        self.gpu.ctx.queue.write_buffer(
            &self.scal,
            (Scal::RUN_LOSS * 4) as u64,
            bytemuck::cast_slice(&[0f32; 5]),
        );
        stats
    }

    /// Forward, loss and backward only (no update): the mean loss, the logits (B, classes) and
    /// every parameter's gradient. For tests and gradient checks.
    pub async fn loss_and_grads_async(
        &mut self,
        images: &[f32],
        labels: &[usize],
    ) -> Result<(f32, Vec<f32>, ParamSet<f32>)> {
        self.gpu.ctx.check_alive()?;
        self.load_batch(images, labels)?;
        let b = labels.len();
        let classes = self.cfg.classes;
        let (s_rows, s_log, s_g) = (
            self.staging(2 * b),
            self.staging(b * classes),
            self.staging(self.total),
        );
        let x = self.acts.as_ref().expect("loaded");
        let (rows, logits, grads) = (x.rows.clone(), x.logits.clone(), self.grads.clone());
        let ubuf = self.record_step(
            Mode::Grads,
            &[
                (&rows, &s_rows, 2 * b),
                (&logits, &s_log, b * classes),
                (&grads, &s_g, self.total),
            ],
        )?;
        let out = self
            .read(
                vec![(s_rows, 2 * b), (s_log, b * classes), (s_g, self.total)],
                ubuf,
            )
            .await?;
        let loss = out[0][..b].iter().sum::<f32>() / b as f32;
        let data = self
            .offs
            .as_ref()
            .zip(self.spec.as_ref())
            .map(|(&o, s)| out[2][o..o + s.numel()].to_vec());
        Ok((
            loss,
            out[1].clone(),
            ParamSet::from_weights(&self.cfg, data),
        ))
    }

    /// Forward only on a batch with the current weights: (sum of the unsmoothed per-image
    /// cross-entropy, correct predictions), for evaluation without a copy of the weights.
    pub async fn evaluate_batch_async(
        &mut self,
        images: &[f32],
        labels: &[usize],
    ) -> Result<(f64, usize)> {
        self.gpu.ctx.check_alive()?;
        self.load_batch(images, labels)?;
        let b = labels.len();
        let st = self.staging(2 * b);
        let rows = self.acts.as_ref().expect("loaded").rows.clone();
        let ubuf = self.record_step(Mode::Eval, &[(&rows, &st, 2 * b)])?;
        let out = self.read(vec![(st, 2 * b)], ubuf).await?;
        let loss = out[0][..b].iter().map(|&v| v as f64).sum();
        let correct = out[0][b..].iter().filter(|&&v| v > 0.5).count();
        Ok((loss, correct))
    }
}

/// Native blocking forms (tests, the CLI); the page awaits the async ones.
#[cfg(not(target_arch = "wasm32"))]
impl GpuTrainer {
    pub fn step(
        &mut self,
        images: &[f32],
        labels: &[usize],
        lr: f32,
        read: bool,
    ) -> Result<Option<GpuStats>> {
        pollster::block_on(self.step_async(images, labels, lr, read))
    }

    pub fn stats(&mut self) -> Result<GpuStats> {
        pollster::block_on(self.stats_async())
    }

    pub fn loss_and_grads(
        &mut self,
        images: &[f32],
        labels: &[usize],
    ) -> Result<(f32, Vec<f32>, ParamSet<f32>)> {
        pollster::block_on(self.loss_and_grads_async(images, labels))
    }

    pub fn apply_grads(&mut self, grads: &ParamSet<f32>, lr: f32) -> Result<()> {
        pollster::block_on(self.apply_grads_async(grads, lr))
    }

    pub fn download(&mut self) -> Result<(ParamSet<f32>, Optimizer)> {
        pollster::block_on(self.download_async())
    }

    pub fn evaluate_batch(&mut self, images: &[f32], labels: &[usize]) -> Result<(f64, usize)> {
        pollster::block_on(self.evaluate_batch_async(images, labels))
    }
}
