//! The engines behind the page: the model, the CPU engine (always there) and the WGSL engine on
//! WebGPU (when the browser has it and it works). Turns one preprocessed image into an
//! [`ImageReport`]. Holds no UI state. It runs in the inference worker ([`super::worker`]);
//! the page's [`crate::ui::runtime::Runtime`] runs it on the main thread only when the worker
//! cannot start or load the model.

use std::sync::Arc;

use crate::analysis::plan::page_options;
use crate::analysis::{image_reports, ImageReport, LayerStats};
use crate::cpu::CpuEngine;
use crate::engine::{ForwardOptions, ForwardOutput, Trace};
use crate::error::{Error, Result};
use crate::finite::{ensure_finite, ensure_finite_stats};
use crate::gpu::{GpuContext, GpuEngine};
use crate::model::Model;
use crate::tensor::Tensor;

use super::mark;
pub use crate::page::{GpuState, Which};
use crate::ui::web::{has_webgpu, now_ms, sleep};

pub struct LocalRuntime {
    pub model: Model,
    cpu: CpuEngine,
    gpu: Option<GpuEngine>,
    pub gpu_state: GpuState,
    /// The trace of the last [`LocalRuntime::analyse`], for the Subspaces view.
    last_trace: Option<Trace>,
}

impl LocalRuntime {
    /// The CPU engine for `model`, and the WGSL engine when `want_gpu` and WebGPU works.
    pub async fn new(model: Model, want_gpu: bool) -> Self {
        let cpu = CpuEngine::new(model.clone());
        // Let the browser breathe between copying a large model for each engine.
        sleep(0).await;
        let (gpu, gpu_state) = if !want_gpu {
            (None, GpuState::Unavailable("turned off".into()))
        } else {
            match Self::open_gpu(&model).await {
                Ok((engine, state)) => (Some(engine), state),
                Err(e) => (None, GpuState::Unavailable(e.to_string())),
            }
        };
        Self {
            model,
            cpu,
            gpu,
            gpu_state,
            last_trace: None,
        }
    }

    /// The WGSL engine for `model`: adapter, device, the weights uploaded and the ISTA
    /// operators computed (the inference worker runs this in the background).
    pub(super) async fn open_gpu(model: &Model) -> Result<(GpuEngine, GpuState)> {
        if !has_webgpu() {
            return Err(Error::Gpu(
                "this browser has no WebGPU (navigator.gpu is missing)".into(),
            ));
        }
        mark("gpu: opening");
        let ctx = GpuContext::new().await?;
        mark("gpu: adapter and device");
        let browser = crate::ui::web::webgpu_adapter_info().await;
        let state = GpuState::ready(
            &ctx.info.name,
            ctx.info.device_type,
            ctx.info.backend,
            browser,
        );
        let engine = GpuEngine::new(ctx, model.clone())?;
        mark("gpu: weights uploaded, ISTA operators recorded");
        Ok((engine, state))
    }

    /// [`Self::open_gpu`], then one forward of a blank image at the model's own size, as an
    /// analysis runs it: on a software adapter compiling the forward's pipelines takes seconds
    /// (SwiftShader: ~6 s for crate-fmnist's 10), which the CPU engine's first map need not
    /// wait for.
    pub(super) async fn open_warm_gpu(model: &Model) -> Result<(GpuEngine, GpuState)> {
        let (mut engine, state) = Self::open_gpu(model).await?;
        let c = &model.config;
        let blank = Tensor::zeros(&[1, c.channels, c.image[0], c.image[1]]);
        let tokens = c.tokens();
        engine
            .forward_async(&blank, page_options(c, tokens))
            .await?;
        mark(format!(
            "gpu: warm ({} pipelines compiled)",
            engine.pipelines()
        ));
        Ok((engine, state))
    }

    /// Takes in the WGSL engine opened in the background (or why it did not open).
    pub(super) fn attach_gpu(&mut self, opened: Result<(GpuEngine, GpuState)>) {
        match opened {
            Ok((engine, state)) => {
                self.gpu = Some(engine);
                self.gpu_state = state;
            }
            Err(e) => {
                self.gpu = None;
                self.gpu_state = GpuState::Unavailable(e.to_string());
            }
        }
    }

    /// Tries WebGPU again (after a lost device, or after it was turned off).
    pub async fn retry_gpu(&mut self) {
        let opened = Self::open_gpu(&self.model).await;
        self.attach_gpu(opened);
    }

    pub fn has_gpu(&self) -> bool {
        self.gpu.is_some()
    }

    /// Destroys the WebGPU device, as a driver reset would (the device-loss test's hook); the
    /// next WebGPU forward fails and the CPU engine takes over.
    pub fn lose_device(&self) -> bool {
        match &self.gpu {
            Some(g) => {
                g.context().device.destroy();
                true
            }
            None => false,
        }
    }

    async fn forward(
        &mut self,
        batch: &Tensor,
        which: Which,
        opts: ForwardOptions,
    ) -> Result<ForwardOutput> {
        match which {
            Which::Cpu => {
                // One layer per browser task: a large model (CRATE-B: ~1 s per image in
                // WebAssembly) never blocks the page for more than one layer.
                let mut pass = self.cpu.start(batch, opts)?;
                while !pass.done() {
                    pass.step()?;
                    sleep(0).await;
                }
                pass.finish()
            }
            Which::Gpu => {
                let gpu = self
                    .gpu
                    .as_mut()
                    .ok_or_else(|| Error::Gpu("WebGPU is not available in this page".into()))?;
                let out = gpu.forward_async(batch, opts).await;
                if let Err(e) = &out {
                    // A lost device or a failed dispatch: drop the engine; the CPU takes over
                    // and the user can retry WebGPU.
                    self.gpu_state = GpuState::Unavailable(format!("WebGPU failed: {e}"));
                    self.gpu = None;
                }
                out
            }
        }
    }

    /// One image (C, H, W) → its report and the milliseconds the forward and the analysis took.
    pub async fn analyse(
        &mut self,
        image: &Tensor,
        which: Which,
    ) -> Result<(Arc<ImageReport>, f64)> {
        let batch = Tensor::stack(std::slice::from_ref(image));
        let size = [image.shape[1], image.shape[2]];
        let c = &self.model.config;
        let tokens = c.tokens_at(size);
        // Every layer's tokens and attention when they fit the page's budget, otherwise the
        // measures and CLS rows only (a CRATE-B/8 at 448: see `analysis::plan`).
        let opts = page_options(c, tokens);
        // The previous image's trace is not needed while this one runs.
        self.last_trace = None;
        let t0 = now_ms();
        mark(format!("analyse on {}: start", which.key()));
        let out = self.forward(&batch, which, opts).await?;
        match (which, &self.gpu) {
            (Which::Gpu, Some(g)) => mark(format!(
                "analyse on gpu: forward done ({} pipelines compiled so far)",
                g.pipelines()
            )),
            _ => mark(format!("analyse on {}: forward done", which.key())),
        }
        // NaN or infinite logits are no result (finite weights can still overflow float32).
        ensure_finite(&out.logits.data, "the logits")?;
        let mut reports = image_reports(&self.model.config, &out, size)?;
        let ms = now_ms() - t0;
        mark(format!("analyse on {}: report done", which.key()));
        self.last_trace = out.trace;
        Ok((Arc::new(reports.remove(0)), ms))
    }

    /// The trace (every layer's tokens and projections) of the last [`Self::analyse`], once.
    pub fn take_trace(&mut self) -> Option<Trace> {
        self.last_trace.take()
    }

    /// A traced forward of a batch of images of one size, without attention probabilities
    /// (the Subspaces view's batch mode).
    pub async fn trace_batch(&mut self, images: &[Tensor], which: Which) -> Result<Trace> {
        let batch = Tensor::stack(images);
        let opts = ForwardOptions {
            trace: true,
            ..ForwardOptions::default()
        };
        self.forward(&batch, which, opts)
            .await?
            .trace
            .ok_or_else(|| Error::Input("the engine returned no trace".into()))
    }

    /// Per-layer measures of a batch of images of one size (`[image][layer]`), through the
    /// engines' measures path: on WebGPU only Gram matrices and counts are read back.
    pub async fn layer_stats(
        &mut self,
        images: &[Tensor],
        which: Which,
    ) -> Result<Vec<Vec<LayerStats>>> {
        let batch = Tensor::stack(images);
        let opts = ForwardOptions {
            stats: true,
            ..ForwardOptions::default()
        };
        let out = self.forward(&batch, which, opts).await?;
        let stats = out
            .stats
            .ok_or_else(|| Error::Input("the engine returned no measures".into()))?;
        for (i, s) in stats.iter().enumerate() {
            ensure_finite_stats(s, &format!("image {}", i + 1))?;
        }
        Ok(stats)
    }

    /// One CPU forward of a blank image at the model's own size: a model whose results are not
    /// finite numbers (weights or normalisation that overflow float32) is refused before it
    /// replaces the one in use.
    pub async fn probe(&mut self) -> Result<()> {
        let c = &self.model.config;
        let blank = Tensor::zeros(&[1, c.channels, c.image[0], c.image[1]]);
        // Logits only: a large model's trace is not needed to see whether they are finite.
        let out = self
            .forward(&blank, Which::Cpu, ForwardOptions::default())
            .await?;
        ensure_finite(&out.logits.data, "its logits on a blank image")
    }
}
