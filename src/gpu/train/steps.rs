//! [`GpuTrainer`] as a [`StepEngine`] of the shared training loop (native: it blocks).

use super::{GpuStats, GpuTrainer};
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::train::{StepEngine, StepReport, Trainer};

/// [`GpuTrainer`] behind the shared epoch loop ([`Trainer::train_on`]): reads the
/// step statistics back every `read_every` steps (and whenever the loop asks: metrics lines,
/// the end of an epoch), and the parameters and moments only for evaluation and checkpoints.
/// Native only (it blocks); the page awaits [`GpuTrainer`]'s async methods itself.
pub struct GpuSteps {
    pub trainer: GpuTrainer,
    /// Read the loss and accuracy back every this many steps (0: only when asked).
    pub read_every: u64,
}

impl GpuSteps {
    /// Uploads `t`'s parameters and optimiser state (a fresh or a resumed run).
    pub fn new(ctx: GpuContext, t: &Trainer, read_every: u64) -> Result<Self> {
        Ok(Self {
            trainer: GpuTrainer::for_trainer(ctx, t)?,
            read_every,
        })
    }

    fn report(t: &mut Trainer, s: &GpuStats, lr: f32) -> StepReport {
        t.state.skipped += s.run_skipped;
        t.state.optim_steps = s.optim_steps;
        let images = s.run_images as usize;
        StepReport {
            step: t.state.step,
            lr,
            loss: if images > 0 {
                (s.run_loss_sum / images as f64) as f32
            } else {
                f32::NAN
            },
            correct: s.run_correct as usize,
            images,
            grad_norm: if s.finite {
                s.grad_norm as f64
            } else {
                f64::NAN
            },
            skipped: images == 0,
            steps: s.run_steps,
            skipped_steps: s.run_skipped,
        }
    }
}

impl StepEngine for GpuSteps {
    fn step(
        &mut self,
        t: &mut Trainer,
        images: &[f32],
        labels: &[usize],
        read: bool,
    ) -> Result<Option<StepReport>> {
        let lr = t.state.schedule.lr_at(t.state.step);
        t.state.step += 1;
        let read = read || (self.read_every > 0 && t.state.step.is_multiple_of(self.read_every));
        let s = self.trainer.step(images, labels, lr, read)?;
        Ok(s.map(|s| Self::report(t, &s, lr)))
    }

    fn evaluate_batch(&mut self, images: &[f32], labels: &[usize]) -> Option<Result<(f64, usize)>> {
        Some(self.trainer.evaluate_batch(images, labels))
    }

    fn sync(&mut self, t: &mut Trainer) -> Result<()> {
        let s = self.trainer.stats()?;
        t.state.skipped += s.run_skipped;
        t.state.optim_steps = s.optim_steps;
        let (params, opt) = self.trainer.download()?;
        t.params = params;
        t.opt = opt;
        Ok(())
    }
}
