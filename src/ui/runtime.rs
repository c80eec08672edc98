//! The engines behind the page, as the views use them: one [`Runtime`] per loaded model, with
//! `analyse`, `trace_batch`, `layer_stats`, `probe` and the WebGPU state. The work runs in the
//! inference worker ([`super::infer::worker`]): the model and both engines live there, this
//! side posts commands, awaits replies and copies the results in (a few MB per browser task),
//! so that the page never freezes on a large model. When the worker cannot start or cannot
//! load the model, the same engines run here on the main thread ([`LocalRuntime`]) and
//! [`Runtime::place`] says so. The page reaches a runtime through one async lock, so one
//! computation runs at a time.

use std::rc::Rc;
use std::sync::Arc;

use super::infer::client::{self, bytes_to_buffer, Reply};
use super::infer::local::LocalRuntime;
use super::infer::wire::{arrays_from_buffer, arrays_to_buffer};
use crate::analysis::{ImageReport, LayerStats};
use crate::data::image::Resize;
use crate::engine::Trace;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::page::infer_protocol::{
    pack_images, unpack_colors, unpack_prepared, unpack_report, unpack_stats, unpack_trace, Arrays,
    Body, Reader, ToInfer,
};
use crate::page::prepared::{prepare, Prepared};
pub use crate::page::{GpuState, Which};
use crate::tensor::Tensor;

/// Results reach the page in copies of about this many bytes per browser task.
const COPY_CHUNK: usize = 8 << 20;

/// Where inference runs, for the Model view's engine line.
pub const IN_WORKER: &str =
    "Inference runs in a Web Worker: the page stays responsive while it computes.";

/// The file a model was loaded from: the worker parses it again (the numbers are the same).
#[derive(Clone)]
pub struct ModelSource {
    pub bytes: Rc<Vec<u8>>,
    pub name: String,
    pub heads: Option<usize>,
}

enum Inner {
    Worker { id: u64, has_gpu: bool },
    Local(Box<LocalRuntime>),
}

pub struct Runtime {
    pub model: Model,
    pub gpu_state: GpuState,
    /// Where inference runs and, on the main thread, why.
    pub place: String,
    inner: Inner,
    want_gpu: bool,
    /// The model's file, for a second worker ([`Self::layer_stats_chunks`]).
    source: ModelSource,
    /// When inference runs here: the trace kept by the last [`Runtime::analyse_keeping`], by
    /// its key, for the Subspaces view.
    last_trace: Option<(u64, Trace)>,
}

fn unexpected() -> Error {
    Error::Input("the inference worker answered with something else".into())
}

impl Runtime {
    /// The engines for `model` (loaded from `source`): in the worker when it starts and loads
    /// the model, otherwise here. WebGPU when `want_gpu` and it works.
    pub async fn new(model: Model, source: ModelSource, want_gpu: bool) -> Self {
        let id = client::next_id();
        let remote = async {
            client::connect().await?;
            client::page_mark("worker connected");
            let reply = load_on(client::MAIN, id, &source, want_gpu).await?;
            client::page_mark("model loaded in the worker");
            Ok::<_, String>(reply)
        }
        .await;
        match remote {
            Ok(reply) => Self {
                model,
                gpu_state: reply.gpu,
                place: IN_WORKER.into(),
                inner: Inner::Worker {
                    id,
                    has_gpu: reply.has_gpu,
                },
                want_gpu,
                source,
                last_trace: None,
            },
            Err(why) => Self::local(model, source, want_gpu, &why).await,
        }
    }

    async fn local(model: Model, source: ModelSource, want_gpu: bool, why: &str) -> Self {
        let rt = LocalRuntime::new(model.clone(), want_gpu).await;
        Self {
            model,
            gpu_state: rt.gpu_state.clone(),
            place: format!(
                "Inference runs on the page's main thread, which pauses while it computes: {why}."
            ),
            inner: Inner::Local(Box::new(rt)),
            want_gpu,
            source,
            last_trace: None,
        }
    }

    /// The worker's reply to `cmd` (None: inference runs here, now or from now on because the
    /// worker stopped). A failed request is an error, with the worker's message.
    async fn remote(&mut self, cmd: ToInfer, arrays: Arrays) -> Result<Option<Reply>> {
        let Inner::Worker { id, .. } = self.inner else {
            return Ok(None);
        };
        match ask(client::MAIN, id, cmd, arrays).await {
            Ok(reply) => {
                self.gpu_state = reply.gpu.clone();
                self.inner = Inner::Worker {
                    id,
                    has_gpu: reply.has_gpu,
                };
                match reply.body {
                    Body::Failed { message } => Err(Error::Format(message)),
                    _ => Ok(Some(reply)),
                }
            }
            Err(Asked::Failed(e)) => Err(e),
            Err(Asked::Gone(why)) => {
                // The worker is gone (crashed, out of memory): carry on here.
                let model = self.model.clone();
                let source = self.source.clone();
                *self = Self::local(model, source, self.want_gpu, &why).await;
                Ok(None)
            }
        }
    }

    fn local_mut(&mut self) -> Result<&mut LocalRuntime> {
        match &mut self.inner {
            Inner::Local(rt) => Ok(rt),
            Inner::Worker { .. } => Err(unexpected()),
        }
    }

    /// Mirrors the local runtime's WebGPU state.
    fn sync_local(&mut self) {
        if let Inner::Local(rt) = &self.inner {
            self.gpu_state = rt.gpu_state.clone();
        }
    }

    async fn arrays(reply: &Reply) -> Result<Reader> {
        let a = match &reply.buf {
            Some(b) => arrays_from_buffer(&reply.arrays, b, Some(COPY_CHUNK)).await?,
            None => Arrays::default(),
        };
        Ok(Reader::new(a))
    }

    /// Tries WebGPU again (after a lost device, or after it was turned off).
    pub async fn retry_gpu(&mut self) {
        self.want_gpu = true;
        match self.remote(ToInfer::RetryGpu, Arrays::default()).await {
            Ok(Some(_)) => {}
            Err(e) => self.gpu_state = GpuState::Unavailable(e.to_string()),
            Ok(None) => {
                if let Ok(rt) = self.local_mut() {
                    rt.retry_gpu().await;
                }
                self.sync_local();
            }
        }
    }

    /// Whether WebGPU is still opening in the worker (the CPU engine answers meanwhile).
    pub fn gpu_starting(&self) -> bool {
        self.gpu_state == GpuState::Starting
    }

    /// Waits until the WebGPU engine opening in the worker is open (or failed).
    pub async fn await_gpu(&mut self) {
        if !self.gpu_starting() {
            return;
        }
        if let Err(e) = self.remote(ToInfer::AwaitGpu, Arrays::default()).await {
            self.gpu_state = GpuState::Unavailable(e.to_string());
        }
    }

    pub fn has_gpu(&self) -> bool {
        match &self.inner {
            Inner::Worker { has_gpu, .. } => *has_gpu,
            Inner::Local(rt) => rt.has_gpu(),
        }
    }

    /// Destroys the WebGPU device, as a driver reset would (the device-loss test's hook).
    pub async fn lose_device(&mut self) -> Result<()> {
        if self
            .remote(ToInfer::LoseDevice, Arrays::default())
            .await?
            .is_some()
        {
            return Ok(());
        }
        if self.local_mut()?.lose_device() {
            Ok(())
        } else {
            Err(Error::Gpu("lose_device: no WebGPU engine is open".into()))
        }
    }

    /// One image (C, H, W) → its report and the milliseconds the forward and the analysis took.
    pub async fn analyse(
        &mut self,
        image: &Tensor,
        which: Which,
    ) -> Result<(Arc<ImageReport>, f64)> {
        self.analyse_with(image, which, None).await
    }

    /// [`Self::analyse`], keeping the image's trace (when the plan computes one) for
    /// [`Self::take_trace`] under the key returned: only the Subspaces view reads it, and it
    /// is 145 MB to copy for a B/8 at 224.
    pub async fn analyse_keeping(
        &mut self,
        image: &Tensor,
        which: Which,
    ) -> Result<(Arc<ImageReport>, f64, u64)> {
        let key = client::next_id();
        let (report, ms) = self.analyse_with(image, which, Some(key)).await?;
        Ok((report, ms, key))
    }

    async fn analyse_with(
        &mut self,
        image: &Tensor,
        which: Which,
        keep: Option<u64>,
    ) -> Result<(Arc<ImageReport>, f64)> {
        if keep.is_some() {
            self.last_trace = None;
        }
        let shape: [usize; 3] = image
            .shape
            .as_slice()
            .try_into()
            .map_err(|_| Error::Input("an image is not (C, H, W)".into()))?;
        let arrays = Arrays {
            f32: vec![image.data.clone()],
            ..Arrays::default()
        };
        let cmd = ToInfer::Analyse {
            shape,
            which,
            trace: false,
            keep,
        };
        if let Some(reply) = self.remote(cmd, arrays).await? {
            let Body::Analysed { ms, report, .. } = &reply.body else {
                return Err(unexpected());
            };
            let (ms, report) = (*ms, report.clone());
            let mut r = Self::arrays(&reply).await?;
            let t0 = super::web::now_ms();
            let report = unpack_report(report, &mut r)?;
            super::web::note_section("unpack", t0);
            return Ok((Arc::new(report), ms));
        }
        let rt = self.local_mut()?;
        let out = rt.analyse(image, which).await;
        if let (Some(key), Some(t)) = (keep, rt.take_trace()) {
            self.last_trace = Some((key, t));
        }
        self.sync_local();
        out
    }

    /// The trace (every layer's tokens and projections, no attention) of the analysis kept
    /// under `key`, once; None when another analysis replaced it (or it had none).
    pub async fn take_trace(&mut self, key: u64) -> Option<Trace> {
        match self
            .remote(ToInfer::TakeTrace { key }, Arrays::default())
            .await
        {
            Ok(Some(reply)) => {
                let Body::Traced { trace } = &reply.body else {
                    return None;
                };
                let head = trace.clone();
                let mut r = Self::arrays(&reply).await.ok()?;
                return unpack_trace(&head, &mut r).ok();
            }
            // Replaced by a later analysis.
            Err(_) => return None,
            Ok(None) => {}
        }
        match self.last_trace.take_if(|(k, _)| *k == key) {
            Some((_, mut t)) => {
                // The worker never sends attention; the local engines' is dropped the same way
                // so that the views see one kind of trace.
                t.layers.iter_mut().for_each(|l| l.attn = None);
                Some(t)
            }
            None => None,
        }
    }

    /// A traced forward of a batch of images of one size, without attention probabilities
    /// (the Subspaces view's batch mode).
    pub async fn trace_batch(&mut self, images: &[Tensor], which: Which) -> Result<Trace> {
        let mut arrays = Arrays::default();
        let shape = pack_images(images, &mut arrays)?;
        if let Some(reply) = self
            .remote(ToInfer::TraceBatch { shape, which }, arrays)
            .await?
        {
            let Body::Traced { trace } = &reply.body else {
                return Err(unexpected());
            };
            let head = trace.clone();
            return unpack_trace(&head, &mut Self::arrays(&reply).await?);
        }
        let out = self.local_mut()?.trace_batch(images, which).await;
        self.sync_local();
        out
    }

    /// Per-layer measures of a batch of images of one size (`[image][layer]`), through the
    /// engines' measures path: on WebGPU only Gram matrices and counts are read back.
    pub async fn layer_stats(
        &mut self,
        images: &[Tensor],
        which: Which,
    ) -> Result<Vec<Vec<LayerStats>>> {
        let mut arrays = Arrays::default();
        let shape = pack_images(images, &mut arrays)?;
        if let Some(reply) = self
            .remote(ToInfer::LayerStats { shape, which }, arrays)
            .await?
        {
            return stats_of(reply).await;
        }
        let out = self.local_mut()?.layer_stats(images, which).await;
        self.sync_local();
        out
    }

    /// Starts a second inference worker and loads this runtime's model into it (CPU engine
    /// only) for [`Self::layer_stats_chunks`]: None when inference runs on the main thread or
    /// the second worker could not load the model (it is stopped then). The future does not
    /// borrow the runtime, so that it runs while the runtime prepares the images.
    pub fn start_helper(&self) -> impl std::future::Future<Output = Option<Helper>> + 'static {
        let mut source = self.source.clone();
        if super::web::flag("__wbBatchHelperFails") {
            // The failure test's hook: the second worker gets an empty file.
            source.bytes = Rc::new(Vec::new());
        }
        let in_worker = matches!(self.inner, Inner::Worker { .. });
        async move {
            if !in_worker {
                return None;
            }
            // Made first, so that a failed load stops the worker too.
            let helper = Helper {
                id: client::next_id(),
            };
            let loaded = load_on(client::HELPER, helper.id, &source, false).await;
            loaded.ok().map(|_| helper)
        }
    }

    /// [`Self::layer_stats`] of each chunk of images, in order. With `helper` (the second
    /// worker, from [`Self::start_helper`]) and the CPU engine, the two workers take chunks
    /// from one queue, each the next one as soon as it is free, and the second worker is
    /// stopped as soon as it is no longer needed, so that its memory does not stay taken.
    /// A second worker that fails costs only speed: the chunks it did not finish run on the
    /// main one. `progress` hears how many chunks are done. Returns the measures and how many
    /// workers computed them.
    pub async fn layer_stats_chunks(
        &mut self,
        chunks: &[Vec<Tensor>],
        which: Which,
        helper: Option<Helper>,
        progress: &dyn Fn(usize),
    ) -> Result<(Vec<Vec<LayerStats>>, usize)> {
        let mut done: Vec<Option<Vec<Vec<LayerStats>>>> = vec![None; chunks.len()];
        let finished = std::cell::Cell::new(0usize);
        let mut used = 1;
        if let (Inner::Worker { id: main_id, .. }, Some(helper_id), Which::Cpu) =
            (&self.inner, helper.as_ref().map(|h| h.id), which)
        {
            let main_id = *main_id;
            let queue = std::cell::Cell::new(0usize);
            let results = std::cell::RefCell::new(&mut done);
            let dies = super::web::flag("__wbBatchHelperDies");
            let run = |slot: usize, id: u64| {
                let (queue, finished, results) = (&queue, &finished, &results);
                async move {
                    let mut ran = 0;
                    loop {
                        let i = queue.get();
                        if i >= chunks.len() {
                            return Ok(ran);
                        }
                        queue.set(i + 1);
                        let stats = stats_on(slot, id, &chunks[i], which);
                        let r = if slot == client::HELPER && dies {
                            // The failure test's hook: the second worker stops while it
                            // computes its first chunk, as a crashed worker would.
                            let kill = async { client::close(client::HELPER) };
                            futures::future::join(stats, kill).await.0
                        } else {
                            stats.await
                        };
                        match r {
                            Ok(s) => {
                                results.borrow_mut()[i] = Some(s);
                                ran += 1;
                                finished.set(finished.get() + 1);
                                progress(finished.get());
                            }
                            // A failure of the work itself ends the batch; a second worker
                            // that fails, or a worker that is gone, leaves its chunk to the
                            // pass below.
                            Err(Asked::Failed(e)) if slot == client::MAIN => return Err(e),
                            Err(_) => return Ok(ran),
                        }
                    }
                }
            };
            let (a, b) =
                futures::future::join(run(client::MAIN, main_id), run(client::HELPER, helper_id))
                    .await;
            drop(helper);
            a?;
            if b.unwrap_or(0) > 0 {
                used = 2;
            }
        } else {
            drop(helper);
        }
        let mut out = Vec::new();
        for (i, d) in done.into_iter().enumerate() {
            match d {
                Some(s) => out.extend(s),
                None => {
                    out.extend(self.layer_stats(&chunks[i], which).await?);
                    finished.set(finished.get() + 1);
                    progress(finished.get());
                }
            }
        }
        Ok((out, used))
    }

    /// The model input of an image file (and its pictures when `display`), prepared in the
    /// worker: decoding and resizing a photo is too long a task for the page's main thread.
    pub async fn prepare(
        &mut self,
        name: &str,
        bytes: &[u8],
        size: [usize; 2],
        fit: Resize,
        display: bool,
    ) -> Result<Prepared> {
        let arrays = Arrays {
            u8: vec![bytes.to_vec()],
            ..Arrays::default()
        };
        let cmd = ToInfer::Prepare {
            name: name.to_string(),
            size,
            fit: fit.as_str().to_string(),
            display,
        };
        if let Some(reply) = self.remote(cmd, arrays).await? {
            let Body::Prepared { head } = &reply.body else {
                return Err(unexpected());
            };
            return unpack_prepared(head, &mut Self::arrays(&reply).await?);
        }
        prepare(bytes, name, &self.model.config, size, fit, display)
    }

    /// One CPU forward of a blank image at the model's own size: a model whose results are not
    /// finite numbers (weights or normalisation that overflow float32) is refused before it
    /// replaces the one in use.
    pub async fn probe(&mut self) -> Result<()> {
        if self
            .remote(ToInfer::Probe, Arrays::default())
            .await?
            .is_some()
        {
            return Ok(());
        }
        self.local_mut()?.probe().await
    }
}

/// Loads `source` into the worker in `slot` as runtime `id`.
async fn load_on(
    slot: usize,
    id: u64,
    source: &ModelSource,
    want_gpu: bool,
) -> std::result::Result<Reply, String> {
    client::connect_to(slot).await?;
    let buf = bytes_to_buffer(&source.bytes).await?;
    let cmd = ToInfer::Load {
        name: source.name.clone(),
        heads: source.heads,
        want_gpu,
    };
    let reply = client::request_on(slot, id, cmd, Default::default(), Some(buf)).await?;
    match reply.body {
        Body::Done => Ok(reply),
        Body::Failed { message } => Err(format!(
            "the inference worker could not load it ({message})"
        )),
        _ => Err("the inference worker answered with something else".into()),
    }
}

/// A second inference worker holding a copy of the model as runtime `id`, from
/// [`Runtime::start_helper`]: the worker is stopped (and its memory freed) when this is
/// dropped, on every path.
pub struct Helper {
    id: u64,
}

impl Drop for Helper {
    fn drop(&mut self) {
        client::close(client::HELPER);
    }
}

/// Why [`ask`] has no reply.
enum Asked {
    /// The worker is gone, and why.
    Gone(String),
    /// The request could not be sent, or (from [`stats_on`]) the work itself failed.
    Failed(Error),
}

/// Sends `cmd` with `arrays` (transferred) to runtime `id` of the worker in `slot` and awaits
/// the reply, which may be a [`Body::Failed`].
async fn ask(
    slot: usize,
    id: u64,
    cmd: ToInfer,
    arrays: Arrays,
) -> std::result::Result<Reply, Asked> {
    let lens = arrays.lens();
    let buf = if arrays.is_empty() {
        None
    } else {
        Some(arrays_to_buffer(&arrays).map_err(Asked::Failed)?)
    };
    drop(arrays);
    client::request_on(slot, id, cmd, lens, buf)
        .await
        .map_err(Asked::Gone)
}

/// The per-layer measures in a worker's reply to [`ToInfer::LayerStats`].
async fn stats_of(reply: Reply) -> Result<Vec<Vec<LayerStats>>> {
    match reply.body {
        Body::Stats { images, layers } => {
            unpack_stats(images, layers, &mut Runtime::arrays(&reply).await?)
        }
        Body::Failed { ref message } => Err(Error::Format(message.clone())),
        _ => Err(unexpected()),
    }
}

/// The per-layer measures of `images` computed by runtime `id` of the worker in `slot` (a
/// failure of the work itself is [`Asked::Failed`]).
async fn stats_on(
    slot: usize,
    id: u64,
    images: &[Tensor],
    which: Which,
) -> std::result::Result<Vec<Vec<LayerStats>>, Asked> {
    let mut arrays = Arrays::default();
    let shape = pack_images(images, &mut arrays).map_err(Asked::Failed)?;
    let reply = ask(slot, id, ToInfer::LayerStats { shape, which }, arrays).await?;
    stats_of(reply).await.map_err(Asked::Failed)
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Inner::Worker { id, .. } = self.inner {
            client::notify(id, ToInfer::Drop);
        }
    }
}

/// The PCA colours of one layer's tokens (N, d), computed in the inference worker (the main
/// thread computes them only when no worker runs).
pub async fn pca_colors(tokens: &[f32], nt: usize, d: usize) -> Result<Vec<[f32; 3]>> {
    let arrays = Arrays {
        f32: vec![tokens.to_vec()],
        ..Arrays::default()
    };
    match ask(client::MAIN, 0, ToInfer::Pca { tokens: nt, dim: d }, arrays).await {
        Ok(reply) => match &reply.body {
            Body::Pca => unpack_colors(&mut Runtime::arrays(&reply).await?),
            Body::Failed { message } => Err(Error::Format(message.clone())),
            _ => Err(unexpected()),
        },
        Err(Asked::Failed(e)) => Err(e),
        Err(Asked::Gone(_)) => super::infer::pca_colors(tokens, nt, d),
    }
}
