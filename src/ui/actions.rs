//! What the page does, as async steps: start up, analyse an image, load a model, pick the
//! faster engine, compare engines, and the batch figure. Each step reports progress through
//! [`AppState::busy`], yields to the browser between heavy parts, and turns every failure into
//! a message in [`AppState::error`] that leaves the previous result on screen. This is wiring
//! only: the choices (which model, sample, engine, fit; what a comparison says) are made in
//! [`crate::page`], where they are tested natively.

use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::runtime::{ModelSource, Runtime, Which};
use super::state::{
    AppState, BatchFigure, Busy, Current, EngineInfo, EnginePref, KnownMask, ModelInfo, Sample,
};
use super::web::{fetch_bytes, fetch_text, has_webgpu, read_file, sleep};
use crate::analysis::segment::{patch_truth, TruthRule};
use crate::analysis::summarise;
use crate::data::image::{decode_image, DecodeLimits};
use crate::error::{Error, Result};
use crate::model::io::load_model;
use crate::model::{CrateConfig, Model};
use crate::page::batch_workers::{batch_workers, chunk_len};
use crate::page::comparison_text;
use crate::page::engine_choice::{active_engine as choose_engine, gpu_notice, Notice};
use crate::page::model_choice::{
    bundled_models, check_image_file_size, default_fit, file_label, head_on_show, heads_assumed,
    heads_prompt, input_size, layer_on_show, opening_model, opening_sample,
};
use crate::page::prepared::Prepared;
use crate::tensor::Tensor;

fn set_busy(app: AppState, what: impl Into<String>, progress: Option<f64>) {
    app.busy.set(Some(Busy {
        what: what.into(),
        progress,
    }));
}

/// Runs a step in the background, counted in [`AppState::tasks`] so the page can say when it
/// is idle.
fn spawn(app: AppState, step: impl std::future::Future<Output = ()> + 'static) {
    app.tasks.update(|n| *n += 1);
    spawn_local(async move {
        step.await;
        app.tasks.update(|n| *n = n.saturating_sub(1));
    });
}

fn next_generation(app: AppState) -> u64 {
    app.generation.update_value(|g| *g += 1);
    app.generation.get_value()
}

/// Starts the page: the gallery, the default model, the first image, then the calibration.
pub fn boot(app: AppState) {
    install_device_loss_hook(app);
    spawn(app, async move {
        set_busy(app, "loading the sample gallery…", None);
        match fetch_text("samples/samples.json").await.and_then(|t| {
            serde_json::from_str::<Vec<Sample>>(&t)
                .map_err(|e| Error::Format(format!("samples/samples.json: {e}")))
        }) {
            Ok(s) => app.samples.set(s),
            Err(e) => app.fail(format!("The sample gallery did not load: {e}")),
        }
        let index = fetch_text("models/index.json").await.ok();
        let bundled = bundled_models(index.as_deref());
        let name = opening_model(app.model_name.get_untracked().as_deref(), &bundled);
        app.bundled.set(bundled);
        if let Err(e) = install_bundled(app, &name).await {
            app.fail(format!("The model {name} did not load: {e}"));
            return;
        }
        let first = app.samples.with_untracked(|samples| {
            opening_sample(app.sample.get_untracked().as_deref(), samples)
        });
        if let Some(s) = first {
            analyse_sample_now(app, s).await;
        } else {
            app.busy.set(None);
        }
        calibrate(app).await;
    });
}

/// The device-loss test's hook (`window.__wbLoseDevice()`): destroys the WebGPU device the
/// analyses run on (in the inference worker), as a driver reset would.
fn install_device_loss_hook(app: AppState) {
    use wasm_bindgen::prelude::*;
    let Some(w) = web_sys::window() else { return };
    let lose = Closure::<dyn Fn()>::new(move || {
        spawn_local(async move {
            let lock = app.runtime.get_value();
            let mut guard = lock.lock().await;
            if let Some(rt) = guard.as_mut() {
                if let Err(e) = rt.lose_device().await {
                    app.fail(e);
                }
            }
        });
    });
    let _ = js_sys::Reflect::set(&w, &"__wbLoseDevice".into(), lose.as_ref());
    lose.forget();
}

/// Fetches a bundled model (web/models/NAME.safetensors and its card NAME.json) and puts it in
/// place.
async fn install_bundled(app: AppState, name: &str) -> Result<()> {
    set_busy(app, format!("loading the model {name}…"), None);
    let file = format!("{name}.safetensors");
    let bytes = Rc::new(fetch_bytes(&format!("models/{file}")).await?);
    super::infer::client::page_mark("model file fetched");
    let loaded = load_model(&bytes, &file, None)?;
    let card = fetch_text(&format!("models/{name}.json"))
        .await
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    // Bundled models are ours: no probe.
    let source = ModelSource {
        bytes,
        name: file.clone(),
        heads: None,
    };
    install_model(
        app,
        loaded.model,
        source,
        loaded.format,
        loaded.notes,
        card,
        false,
    )
    .await?;
    app.model_name.set(Some(name.to_string()));
    Ok(())
}

/// Switches to another bundled model and analyses the image on show with it.
pub fn load_bundled(app: AppState, name: String) {
    app.error.set(None);
    spawn(app, async move {
        match install_bundled(app, &name).await {
            Ok(()) => {
                app.pending_model.set_value(None);
                after_model_change(app).await;
            }
            Err(e) => app.fail(format!(
                "The model {name} did not load: {e}. The current model stays."
            )),
        }
    });
}

/// Shows a gallery sample.
pub fn analyse_sample(app: AppState, sample: Sample) {
    // A new request: an old error no longer applies.
    app.error.set(None);
    spawn(app, analyse_sample_now(app, sample));
}

async fn analyse_sample_now(app: AppState, sample: Sample) {
    set_busy(app, format!("fetching {}…", sample.label), None);
    match fetch_bytes(&format!("samples/{}", sample.file)).await {
        Ok(bytes) => {
            analyse_bytes_now(
                app,
                sample.file.clone(),
                sample.label.clone(),
                Rc::new(bytes),
                Some(sample.file),
            )
            .await
        }
        Err(e) => app.fail(e),
    }
}

/// Analyses an uploaded, dropped or pasted image file.
pub fn analyse_file(app: AppState, file: web_sys::File) {
    app.error.set(None);
    spawn(app, async move {
        let name = file_label(&file.name());
        if let Err(e) = check_image_file_size(&name, file.size()) {
            app.fail(e);
            return;
        }
        set_busy(app, format!("reading {name}…"), Some(0.0));
        let bytes = read_file(&file, 4 << 20, |f| {
            set_busy(app, format!("reading {name}…"), Some(f))
        })
        .await;
        match bytes {
            Ok(b) => analyse_bytes_now(app, name.clone(), name, Rc::new(b), None).await,
            Err(e) => app.fail(e),
        }
    });
}

/// Analyses the drawing pad's picture (PNG bytes) as `drawing.png`, as an uploaded image; returns
/// when done, so that the pad keeps at most one analysis in flight.
pub async fn analyse_drawing(app: AppState, png: Vec<u8>) {
    app.tasks.update(|n| *n += 1);
    let (name, label) = ("drawing.png".to_string(), "your drawing".to_string());
    analyse_bytes_now(app, name, label, Rc::new(png), None).await;
    app.tasks.update(|n| *n = n.saturating_sub(1));
}

/// Runs the image on show again (after a change of model, input size, fit or engine).
pub fn reanalyse(app: AppState) {
    if let Some((name, label, bytes)) = app.source.get_value() {
        let sample = app.sample.get_untracked();
        spawn(app, analyse_bytes_now(app, name, label, bytes, sample));
    }
}

/// The model input for an image (decoded, fitted to the chosen size, normalised) and, with
/// `display`, the pictures the views draw on; the inference worker does the work.
async fn prepare(
    app: AppState,
    rt: &mut Runtime,
    name: &str,
    bytes: &[u8],
    display: bool,
) -> Result<Prepared> {
    let size = input_size(&rt.model.config, app.input_side.get_untracked());
    rt.prepare(name, bytes, size, app.fit.get_untracked(), display)
        .await
}

/// The patch-grid truths of a gallery sample that ships a mask (`mask` in samples.json), fitted
/// as the image was (input size and fit), reduced as `segment --pairs` reduces it (by majority,
/// and to the outline).
async fn known_mask(
    app: AppState,
    sample: Option<&str>,
    image: &[u8],
    cfg: &CrateConfig,
    input: &Tensor,
) -> Result<Option<KnownMask>> {
    let Some(file) = sample else { return Ok(None) };
    let mask = app.samples.with_untracked(|s| {
        s.iter()
            .find(|s| s.file == file)
            .and_then(|s| s.mask.clone())
    });
    let Some(mask) = mask else { return Ok(None) };
    let mask_bytes = fetch_bytes(&format!("samples/{mask}")).await?;
    let img = decode_image(image, file, &DecodeLimits::default())?;
    let m = decode_image(&mask_bytes, &mask, &DecodeLimits::default())?;
    let size = [input.shape[1], input.shape[2]];
    let hw = [img.height as usize, img.width as usize];
    let truth = |rule| patch_truth(&m, hw, size, app.fit.get_untracked(), cfg.patch, rule);
    Ok(Some(KnownMask {
        majority: truth(TruthRule::Majority)?,
        outline: truth(TruthRule::Outline)?,
    }))
}

async fn analyse_bytes_now(
    app: AppState,
    name: String,
    label: String,
    bytes: Rc<Vec<u8>>,
    sample: Option<String>,
) {
    let generation = next_generation(app);
    // A new request: an old error no longer applies.
    app.error.set(None);
    set_busy(app, format!("analysing {label}…"), None);
    // Let the browser paint the message before the work starts.
    sleep(0).await;
    let lock = app.runtime.get_value();
    let mut guard = lock.lock().await;
    let Some(rt) = guard.as_mut() else {
        app.fail("no model is loaded");
        return;
    };
    let cfg = rt.model.config.clone();
    let prepared = prepare(app, rt, &name, &bytes, true).await.and_then(|p| {
        let d = p
            .display
            .ok_or_else(|| Error::Input("the image came back without its picture".into()))?;
        Ok((p.input, d))
    });
    let (input, display) = match prepared {
        Ok(v) => v,
        Err(e) => {
            app.fail(format!("{e}. The page keeps showing the previous image."));
            return;
        }
    };
    let truth = match known_mask(app, sample.as_deref(), &bytes, &cfg, &input).await {
        Ok(t) => t.map(Arc::new),
        Err(e) => {
            app.fail(format!("The true mask of {label} did not load: {e}"));
            return;
        }
    };
    let which = active_engine(app, rt);
    super::infer::client::page_mark("image prepared");
    let result = rt.analyse_keeping(&input, which).await;
    super::infer::client::page_mark(&format!("analysed on {}", which.key()));
    // The trace stays in the runtime (the inference worker) until the Subspaces view asks for
    // it: taken at once only when that view is on show.
    let (mut trace, mut trace_key) = (None, None);
    if let Ok((report, _, key)) = &result {
        if !report.is_light() {
            trace_key = Some(*key);
            if app.view.get_untracked() == super::state::View::Subspaces {
                trace = rt.take_trace(*key).await.map(Arc::new);
                trace_key = None;
            }
        }
    }
    sync_gpu_state(app, rt);
    drop(guard);
    if app.generation.get_value() != generation {
        return; // a newer request replaced this one
    }
    match result {
        Ok((report, ms, _)) => {
            app.source
                .set_value(Some((name.clone(), label.clone(), bytes)));
            app.sample.set(sample);
            app.error.set(None);
            app.current.set(Some(Current {
                name,
                label,
                thumb: Arc::new(display.thumb),
                base: Arc::new(display.base),
                report,
                trace,
                trace_key,
                engine: which,
                ms,
                truth,
            }));
            app.ready.set(true);
            if app.first_map_ms.get_untracked().is_none() {
                app.first_map_ms.set(Some(super::web::now_ms()));
            }
            if which == Which::Gpu && app.first_gpu_map_ms.get_untracked().is_none() {
                app.first_gpu_map_ms.set(Some(super::web::now_ms()));
            }
            app.busy.set(None);
        }
        Err(e) => app.fail(e),
    }
}

/// The Subspaces view needs the trace of the image on show: takes it from the runtime (the
/// inference worker keeps the last analysis' trace), or analyses the image again when a later
/// analysis replaced it.
pub fn fetch_trace(app: AppState) {
    let Some(key) = app.current.with_untracked(|c| {
        c.as_ref()
            .filter(|c| c.trace.is_none())
            .and_then(|c| c.trace_key)
    }) else {
        return;
    };
    spawn(app, async move {
        let trace = {
            let lock = app.runtime.get_value();
            let mut guard = lock.lock().await;
            match guard.as_mut() {
                Some(rt) => rt.take_trace(key).await,
                None => None,
            }
        };
        // Another image may have replaced this one meanwhile: then there is nothing to do.
        let mut lost = false;
        app.current.update(|c| {
            if let Some(c) = c.as_mut().filter(|c| c.trace_key == Some(key)) {
                lost = trace.is_none();
                c.trace = trace.map(Arc::new);
                // Asked once: the analysis below, with the view on show, takes its trace at once.
                c.trace_key = None;
            }
        });
        if lost {
            reanalyse(app);
        }
    });
}

/// The engine to use now (see [`choose_engine`]).
fn active_engine(app: AppState, rt: &Runtime) -> Which {
    choose_engine(
        app.engine_pref.get_untracked(),
        app.engine.with_untracked(|e| e.active),
        rt.has_gpu(),
    )
}

/// Mirrors the runtime's WebGPU state into the engine panel, with a notice when the CPU has
/// taken over.
fn sync_gpu_state(app: AppState, rt: &Runtime) {
    if app.inference_place.with_untracked(|p| *p != rt.place) {
        app.inference_place.set(rt.place.clone());
    }
    app.engine.update(|e| e.observe_gpu(&rt.gpu_state));
    match gpu_notice(app.engine_pref.get_untracked(), &rt.gpu_state) {
        Notice::Keep => {}
        Notice::Clear => app.notice.set(None),
        Notice::Show(m) => app.notice.set(Some(m)),
    }
}

/// Puts a model in place of the current one and resets the views that depend on it. With
/// `probe`, a model whose results are not finite is refused first (the current one stays).
async fn install_model(
    app: AppState,
    model: Model,
    source: ModelSource,
    format: &str,
    notes: Vec<String>,
    card: Option<serde_json::Value>,
    probe: bool,
) -> Result<()> {
    let name = source.name.clone();
    set_busy(app, format!("preparing {name} on the engines…"), None);
    sleep(0).await;
    let want_gpu = app.engine_pref.get_untracked() != EnginePref::Cpu && has_webgpu();
    let cfg = model.config.clone();
    let parameters = model.params.tensors.values().map(|t| t.numel()).sum();
    sleep(0).await;
    let mut rt = Runtime::new(model, source, want_gpu).await;
    if probe {
        set_busy(app, format!("checking {name} on a blank image…"), None);
        rt.probe().await?;
    }
    {
        let lock = app.runtime.get_value();
        let mut guard = lock.lock().await;
        sync_gpu_state(app, &rt);
        app.inference_place.set(rt.place.clone());
        *guard = Some(rt);
    }
    app.input_side.set(cfg.image[0]);
    app.fit.set(default_fit(&cfg));
    let layer = app.layer.get_untracked();
    if layer >= cfg.depth {
        app.layer.set(layer_on_show(layer, cfg.depth));
    }
    let head = app.head.get_untracked();
    if head_on_show(head, cfg.heads) != head {
        app.head.set(None);
    }
    app.batch.set(None);
    app.comparison.set(None);
    app.model.set(Some(ModelInfo {
        name,
        format: format.to_string(),
        config: cfg,
        parameters,
        notes,
        card,
    }));
    Ok(())
}

/// After a new model is in place: the image on show runs again with it, then both engines are
/// timed anew.
async fn after_model_change(app: AppState) {
    // Awaited rather than spawned: it runs on the CPU engine while WebGPU opens, before the
    // calibration waits for WebGPU.
    if let Some((name, label, bytes)) = app.source.get_value() {
        let sample = app.sample.get_untracked();
        analyse_bytes_now(app, name, label, bytes, sample).await;
    } else {
        app.busy.set(None);
    }
    calibrate(app).await;
}

/// Loads a dropped or picked model file (safetensors or an official PyTorch checkpoint).
pub fn load_model_file(app: AppState, file: web_sys::File) {
    spawn(app, async move {
        let name = file.name();
        let mb = file.size() / (1 << 20) as f64;
        set_busy(app, format!("reading {name} ({mb:.0} MB)…"), Some(0.0));
        let bytes = read_file(&file, 8 << 20, |f| {
            set_busy(app, format!("reading {name} ({mb:.0} MB)…"), Some(f))
        })
        .await;
        match bytes {
            Ok(b) => load_model_bytes_now(app, name, Rc::new(b), None).await,
            Err(e) => app.fail(e),
        }
    });
}

/// Loads a model made in the page (the Train view's export) as if it were a dropped file.
pub fn load_model_from_bytes(app: AppState, name: String, bytes: Vec<u8>) {
    spawn(app, load_model_bytes_now(app, name, Rc::new(bytes), None));
}

/// Loads the model kept while the head-count prompt was open, with the given head count.
pub fn retry_model_with_heads(app: AppState, heads: usize) {
    if let Some((name, bytes)) = app.pending_model.get_value() {
        spawn(app, load_model_bytes_now(app, name, bytes, Some(heads)));
    }
}

async fn load_model_bytes_now(
    app: AppState,
    name: String,
    bytes: Rc<Vec<u8>>,
    heads: Option<usize>,
) {
    set_busy(app, format!("reading the tensors of {name}…"), None);
    sleep(0).await;
    app.heads_prompt.set(None);
    match load_model(&bytes, &name, heads) {
        Err(e) => {
            let msg = e.to_string();
            if let Some(prompt) = heads_prompt(&msg) {
                // The checkpoint does not say how many heads: ask.
                app.pending_model.set_value(Some((name, bytes)));
                app.heads_prompt.set(Some(prompt));
                app.view.set(super::state::View::Model);
                app.busy.set(None);
            } else {
                app.fail(format!("{msg}. The current model stays loaded."));
            }
        }
        Ok(loaded) => {
            let assumed = heads_assumed(&loaded.notes);
            app.pending_model
                .set_value(assumed.then(|| (name.clone(), bytes.clone())));
            let source = ModelSource {
                bytes: bytes.clone(),
                name: name.clone(),
                heads,
            };
            let installed = install_model(
                app,
                loaded.model,
                source,
                loaded.format,
                loaded.notes,
                None,
                true,
            )
            .await;
            if let Err(e) = installed {
                app.pending_model.set_value(None);
                app.fail(format!("{name}: {e}. The current model stays loaded."));
                return;
            }
            app.model_name.set(None);
            app.error.set(None);
            after_model_change(app).await;
        }
    }
}

/// One forward of `input` on `which`, in milliseconds (the analysis included).
async fn timed(app: AppState, input: &Tensor, which: Which) -> Result<f64> {
    let lock = app.runtime.get_value();
    let mut guard = lock.lock().await;
    let rt = guard
        .as_mut()
        .ok_or_else(|| Error::Input("no model is loaded".into()))?;
    let ms = rt.analyse(input, which).await.map(|(_, ms)| ms);
    sync_gpu_state(app, rt);
    ms
}

/// WebGPU opens in the inference worker while the CPU engine answers: once it is open, the
/// image on show runs again on it when WebGPU is the engine to use and the CPU engine computed
/// what is shown (WebGPU still starting then, or opened during that analysis), and its result
/// replaces the CPU engine's.
async fn finish_gpu_start(app: AppState) {
    let rerun = {
        let lock = app.runtime.get_value();
        let mut guard = lock.lock().await;
        let Some(rt) = guard.as_mut() else { return };
        if rt.gpu_starting() {
            rt.await_gpu().await;
            sync_gpu_state(app, rt);
        }
        active_engine(app, rt) == Which::Gpu
            && app
                .current
                .with_untracked(|c| c.as_ref().is_some_and(|c| c.engine == Which::Cpu))
    };
    if rerun {
        app.engine
            .update(|e| e.reason = "WebGPU is open: the image runs again on it…".into());
        if let Some((name, label, bytes)) = app.source.get_value() {
            let sample = app.sample.get_untracked();
            analyse_bytes_now(app, name, label, bytes, sample).await;
        }
    }
}

/// Times both engines on the image on show (or a blank input) and, in Auto mode, picks the
/// faster: a software WebGPU adapter can be far slower than the CPU engine.
pub async fn calibrate(app: AppState) {
    finish_gpu_start(app).await;
    let input = {
        let lock = app.runtime.get_value();
        let mut guard = lock.lock().await;
        let Some(rt) = guard.as_mut() else { return };
        let cfg = rt.model.config.clone();
        if !rt.has_gpu() {
            sync_gpu_state(app, rt);
            app.engine.update(EngineInfo::without_gpu);
            return;
        }
        let shown = match app.source.get_value() {
            Some((name, _, bytes)) => prepare(app, rt, &name, &bytes, false)
                .await
                .ok()
                .map(|p| p.input),
            None => None,
        };
        shown.unwrap_or_else(|| Tensor::zeros(&[cfg.channels, cfg.image[0], cfg.image[1]]))
    };
    let pref = app.engine_pref.get_untracked();
    app.engine
        .update(|e| e.reason = "measuring both engines…".into());
    set_busy(
        app,
        "measuring WebGPU and the CPU engine on this image…",
        None,
    );
    // Warm-up (pipeline compilation, first allocations), then one timed run each. Each run takes
    // the lock on its own, so an image the user picks meanwhile is analysed between them.
    let gpu_ms = match timed(app, &input, Which::Gpu).await {
        Ok(_) => timed(app, &input, Which::Gpu).await,
        Err(e) => Err(e),
    };
    let _ = timed(app, &input, Which::Cpu).await;
    let cpu_ms = timed(app, &input, Which::Cpu).await;
    let adapter = app.engine.get_untracked().gpu;
    let info = EngineInfo::calibrated(pref, cpu_ms, gpu_ms, adapter);
    app.engine.set(info);
    app.busy.set(None);
}

/// Runs the image on show on both engines and reports the largest differences and the times.
pub fn compare_engines(app: AppState) {
    spawn(app, async move {
        let Some((name, _, bytes)) = app.source.get_value() else {
            return;
        };
        set_busy(app, "running the image on both engines…", None);
        sleep(0).await;
        let lock = app.runtime.get_value();
        let mut guard = lock.lock().await;
        let Some(rt) = guard.as_mut() else { return };
        rt.await_gpu().await;
        let result = async {
            let input = prepare(app, rt, &name, &bytes, false).await?.input;
            let (c, cms) = rt.analyse(&input, Which::Cpu).await?;
            let (g, gms) = rt.analyse(&input, Which::Gpu).await?;
            Ok::<_, Error>(comparison_text(&name, &g, gms, &c, cms))
        }
        .await;
        sync_gpu_state(app, rt);
        drop(guard);
        match result {
            Ok(text) => {
                app.comparison.set(Some(text));
                app.busy.set(None);
            }
            Err(e) => app.fail(format!("Engine comparison failed: {e}")),
        }
    });
}

/// Retries WebGPU after it failed or was turned off.
pub fn retry_gpu(app: AppState) {
    spawn(app, async move {
        set_busy(app, "opening WebGPU…", None);
        {
            let lock = app.runtime.get_value();
            let mut guard = lock.lock().await;
            if let Some(rt) = guard.as_mut() {
                rt.retry_gpu().await;
                sync_gpu_state(app, rt);
            }
        }
        app.busy.set(None);
        calibrate(app).await;
    });
}

/// The paper's layer-wise figure for the gallery: every sample through the model, per-layer
/// mean ± std of R^c and sparsity, computed in small batches with progress. On a machine with
/// two or more cores and a batch worth it ([`batch_workers`]), a second inference worker loads
/// the model while the images are prepared and then shares the chunks.
pub fn run_batch(app: AppState) {
    spawn(app, async move {
        let samples = app.samples.get_untracked();
        if samples.is_empty() {
            return;
        }
        let lock = app.runtime.get_value();
        let mut guard = lock.lock().await;
        let Some(rt) = guard.as_mut() else { return };
        let t0 = super::web::now_ms();
        let cfg = rt.model.config.clone();
        let which = active_engine(app, rt);
        let n = samples.len();
        let [h, w] = input_size(&cfg, app.input_side.get_untracked());
        // Four images at a time, fewer when one image's attention is large (CRATE-B/8 at 448).
        let tokens = (h / cfg.patch) * (w / cfg.patch) + 1;
        let most = crate::analysis::plan::batch_chunk(&cfg, tokens, 4);
        let workers = batch_workers(
            which,
            super::web::cores(),
            app.workers,
            n.div_ceil(most),
            cfg.forward_flops(h, w) * n as f64,
        );
        let chunk_len = chunk_len(n, most, workers);
        let helper = if workers >= 2 {
            Some(rt.start_helper())
        } else {
            None
        };
        let prepare_all = async {
            let mut inputs = Vec::new();
            for (i, s) in samples.iter().enumerate() {
                set_busy(
                    app,
                    format!("preparing gallery images ({}/{n})…", i + 1),
                    Some(i as f64 / n as f64 * 0.3),
                );
                sleep(0).await;
                let bytes = fetch_bytes(&format!("samples/{}", s.file)).await?;
                inputs.push(prepare(app, rt, &s.file, &bytes, false).await?.input);
            }
            Ok::<_, Error>(inputs)
        };
        let (inputs, helper) = match helper {
            Some(helper) => futures::future::join(prepare_all, helper).await,
            None => (prepare_all.await, None),
        };
        let inputs = match inputs {
            Ok(i) => i,
            Err(e) => {
                // (A second worker stops as `helper` is dropped.)
                app.fail(e);
                return;
            }
        };
        let mut chunks: Vec<Vec<Tensor>> = Vec::new();
        let mut rest = inputs.into_iter().peekable();
        while rest.peek().is_some() {
            chunks.push(rest.by_ref().take(chunk_len).collect());
        }
        let on = match helper {
            Some(_) => format!("{} in two workers", which.label()),
            None => which.label().to_string(),
        };
        let show = |done_chunks: usize| {
            let done = (done_chunks * chunk_len).min(n);
            set_busy(
                app,
                format!("running {n} images on {on} ({done}/{n})…"),
                Some(0.3 + 0.7 * done as f64 / n as f64),
            );
        };
        show(0);
        sleep(0).await;
        let (stats, used) = match rt.layer_stats_chunks(&chunks, which, helper, &show).await {
            Ok(s) => s,
            Err(e) => {
                sync_gpu_state(app, rt);
                app.fail(format!("The batch run failed: {e}"));
                return;
            }
        };
        let ms = super::web::now_ms() - t0;
        drop(guard);
        app.batch.set(Some(BatchFigure {
            images: stats.len(),
            workers: used,
            ms,
            layers: summarise(&stats),
        }));
        app.busy.set(None);
    });
}
