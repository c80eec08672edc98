//! The main thread's side of the training worker: starts it, sends it commands, turns its
//! events into the Train view's signals, keeps its checkpoints in IndexedDB (through
//! `window.wbTrainStore`, web/train-store.js) and hands exported models to the user.

use std::cell::RefCell;
use std::sync::Arc;

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use leptos::prelude::*;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use crate::data::fmnist_web::{WebIndex, INDEX_FILE};
use crate::page::train_protocol::{
    decode, encode, pack_files, FromWorker, SessionSettings, ToWorker, IN_USE_NAME,
};
use crate::ui::state::AppState;
use crate::ui::web::js_text;

/// Where the page serves the Fashion-MNIST subset (web/datasets/fashion-mnist/).
const FMNIST_DIR: &str = "datasets/fashion-mnist/";

/// The script trunk writes for the worker bin (`data-loader-shim`).
const WORKER_URL: &str = "whitebox-train-worker_loader.js";

/// The Train view's state, shared through context (all fields `Copy`).
#[derive(Clone, Copy)]
pub struct TrainUi {
    /// The settings in the form (applied by Reset).
    pub settings: RwSignal<SessionSettings>,
    /// The worker's last report and its JSON text.
    pub report: RwSignal<Option<Arc<Value>>>,
    pub playing: RwSignal<bool>,
    pub engine: RwSignal<String>,
    pub engine_reason: RwSignal<String>,
    /// Workers computing each CPU step (2 where a helper worker takes half of every batch).
    pub workers: RwSignal<usize>,
    /// The step of the last checkpoint stored in IndexedDB.
    pub checkpoint_step: RwSignal<Option<u64>>,
    /// A run saved by an earlier visit, offered for resuming: its step.
    pub saved: RwSignal<Option<u64>>,
    pub exported: RwSignal<Option<u64>>,
    pub error: RwSignal<Option<String>>,
    pub worker_ready: RwSignal<bool>,
    /// Said when the tab is hidden while training, or when the browser slowed it.
    pub hidden_note: RwSignal<Option<String>>,
    /// Longest gap between two reports while playing, in ms (a throttled worker shows here).
    pub longest_gap_ms: RwSignal<f64>,
    /// `engine=` (auto, cpu, gpu), sent to the worker before every new run.
    pub engine_pref: RwSignal<String>,
    /// A dataset download or read in progress: what, bytes received, bytes expected.
    pub download: RwSignal<Option<(&'static str, u64, u64)>>,
    /// The licence line of the fetched Fashion-MNIST subset (from its index.json).
    pub data_credit: RwSignal<Option<String>>,
    /// The page: its model in use is what "continue training" starts from.
    pub app: AppState,
    /// Models trained here and opened in the other views (name, safetensors bytes): the page's
    /// model menu lists them beside the bundled ones.
    pub trained: RwSignal<Vec<(String, Arc<Vec<u8>>)>>,
}

/// Something to do once the worker holds a dataset's files.
type Action = Box<dyn FnOnce()>;

thread_local! {
    static WORKER: RefCell<Option<JsValue>> = const { RefCell::new(None) };
    /// The checkpoint found in IndexedDB at start, until resumed or replaced.
    static SAVED: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    static EXPORTED: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    static LAST_REPORT_MS: RefCell<f64> = const { RefCell::new(f64::NAN) };
    /// Whose files the worker holds: "fmnist" (fetched once per page) or "own".
    static SENT: RefCell<&'static str> = const { RefCell::new("") };
    /// While a dataset's files are on their way to the worker: the actions waiting for them.
    static WAITING: RefCell<Option<Vec<Action>>> = const { RefCell::new(None) };
}

/// The engine preference and `workers=` from the page's URL (1 or 2; absent: as many as
/// help), as the worker hears them before every run.
pub fn engine_message(pref: &str) -> ToWorker {
    let workers = crate::page::UrlState::parse(&crate::ui::web::query())
        .workers
        .unwrap_or(0);
    ToWorker::Engine {
        pref: pref.into(),
        workers,
    }
}

impl TrainUi {
    pub fn new(settings: SessionSettings, app: AppState) -> Self {
        Self {
            app,
            trained: RwSignal::new(Vec::new()),
            settings: RwSignal::new(settings),
            report: RwSignal::new(None),
            playing: RwSignal::new(false),
            engine: RwSignal::new("cpu".into()),
            engine_reason: RwSignal::new(String::new()),
            workers: RwSignal::new(1),
            checkpoint_step: RwSignal::new(None),
            saved: RwSignal::new(None),
            exported: RwSignal::new(None),
            error: RwSignal::new(None),
            worker_ready: RwSignal::new(false),
            hidden_note: RwSignal::new(None),
            longest_gap_ms: RwSignal::new(0.0),
            engine_pref: RwSignal::new("auto".into()),
            download: RwSignal::new(None),
            data_credit: RwSignal::new(None),
        }
    }
}

fn now_ms() -> f64 {
    super::super::web::now_ms()
}

/// Sends a command (with bytes, transferred, when given).
pub fn send(cmd: &ToWorker, bytes: Option<&[u8]>) {
    WORKER.with_borrow(|w| {
        let Some(w) = w else { return };
        let Ok(f) = Reflect::get(w, &"postMessage".into()).and_then(|f| f.dyn_into::<Function>())
        else {
            return;
        };
        let text = JsValue::from_str(&encode(cmd));
        let _ = match bytes {
            None => f.call1(w, &text),
            Some(b) => {
                let arr = Uint8Array::from(b);
                f.call2(w, &Array::of2(&text, &arr), &Array::of1(&arr.buffer()))
            }
        };
    });
}

/// Calls `window.wbTrainStore[method](args…)` and awaits its promise.
async fn store(method: &str, args: &[JsValue]) -> Result<JsValue, String> {
    let w: JsValue = web_sys::window().ok_or("no window")?.into();
    let s = Reflect::get(&w, &"wbTrainStore".into()).map_err(|e| js_text(&e))?;
    if s.is_undefined() {
        return Err("the checkpoint store (train-store.js) is not loaded".into());
    }
    let f: Function = Reflect::get(&s, &method.into())
        .map_err(|e| js_text(&e))?
        .dyn_into()
        .map_err(|_| format!("wbTrainStore.{method} is not a function"))?;
    let p = f
        .apply(&s, &args.iter().collect::<Array>())
        .map_err(|e| js_text(&e))?;
    JsFuture::from(Promise::from(p))
        .await
        .map_err(|e| format!("IndexedDB: {}", js_text(&e)))
}

/// Starts an instance of the training worker (the Train view and the Lab each run their own),
/// handing `on_event` every message it posts, decoded (with its bytes when it carries some), and
/// `on_error` a sentence when the worker fails to load. Errs when the browser cannot start one.
pub(crate) fn spawn_worker(
    on_event: impl Fn(Result<FromWorker, String>, Option<Uint8Array>) + 'static,
    on_error: impl Fn(String) + 'static,
) -> Result<JsValue, String> {
    let ctor = web_sys::window()
        .and_then(|w| Reflect::get(&w, &"Worker".into()).ok())
        .and_then(|c| c.dyn_into::<Function>().ok())
        .ok_or("this browser has no Web Workers")?;
    let worker = Reflect::construct(&ctor, &Array::of1(&WORKER_URL.into()))
        .map_err(|e| format!("cannot start the training worker: {}", js_text(&e)))?;
    let on_message = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let data = Reflect::get(&ev, &"data".into()).unwrap_or(JsValue::UNDEFINED);
        let (text, bytes) = if let Some(s) = data.as_string() {
            (s, None)
        } else if let Some(a) = data.dyn_ref::<Array>() {
            (
                a.get(0).as_string().unwrap_or_default(),
                a.get(1).dyn_into::<Uint8Array>().ok(),
            )
        } else {
            return;
        };
        on_event(
            decode::<FromWorker>(&text).map_err(|e| e.to_string()),
            bytes,
        );
    });
    let on_load_error = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let msg = Reflect::get(&ev, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| "the training worker failed to load".into());
        on_error(format!("training worker: {msg}"));
    });
    let _ = Reflect::set(&worker, &"onmessage".into(), on_message.as_ref());
    let _ = Reflect::set(&worker, &"onerror".into(), on_load_error.as_ref());
    on_message.forget();
    on_load_error.forget();
    Ok(worker)
}

/// Starts the worker once (it lives as long as the page, whichever view is on show).
pub fn ensure_worker(ui: TrainUi) {
    if WORKER.with_borrow(|w| w.is_some()) {
        return;
    }
    let started = spawn_worker(
        move |ev, bytes| match ev {
            Ok(ev) => on_event(ui, ev, bytes),
            Err(e) => ui.error.set(Some(e)),
        },
        move |msg| {
            ui.error.set(Some(msg));
            ui.playing.set(false);
        },
    );
    let worker = match started {
        Ok(w) => w,
        Err(e) => {
            ui.error.set(Some(format!("{e}: training cannot run")));
            return;
        }
    };
    WORKER.with_borrow_mut(|w| *w = Some(worker));
    watch_visibility(ui);
    // The device-loss and helper-failure tests' hooks (`window.__wbTrainLoseDevice()`): destroys the worker's
    // WebGPU device, as a driver reset would.
    if let Some(w) = web_sys::window() {
        let lose = Closure::<dyn Fn()>::new(|| send(&ToWorker::LoseDevice, None));
        let _ = Reflect::set(&w, &"__wbTrainLoseDevice".into(), lose.as_ref());
        lose.forget();
        // The helper-failure test's hook: the helper worker's next job arrives damaged.
        let brk = Closure::<dyn Fn()>::new(|| send(&ToWorker::BreakHelper, None));
        let _ = Reflect::set(&w, &"__wbTrainBreakHelper".into(), brk.as_ref());
        brk.forget();
    }
}

fn on_event(ui: TrainUi, ev: FromWorker, bytes: Option<Uint8Array>) {
    match ev {
        FromWorker::Ready => {
            ui.worker_ready.set(true);
            spawn_local(async move {
                // A run saved by an earlier visit is offered, never resumed behind the user's back.
                if let Ok(rec) = store("get", &[]).await {
                    if !rec.is_undefined() && !rec.is_null() {
                        let step = Reflect::get(&rec, &"step".into())
                            .ok()
                            .and_then(|s| s.as_f64());
                        let b = Reflect::get(&rec, &"bytes".into())
                            .ok()
                            .and_then(|b| b.dyn_into::<Uint8Array>().ok());
                        if let (Some(step), Some(b)) = (step, b) {
                            SAVED.with_borrow_mut(|s| *s = Some(b.to_vec()));
                            ui.saved.set(Some(step as u64));
                        }
                    }
                }
                send(&engine_message(&ui.engine_pref.get_untracked()), None);
                new_run(ui);
            });
        }
        FromWorker::Report {
            report,
            playing,
            engine,
            engine_reason,
            workers,
        } => {
            let now = now_ms();
            let last = LAST_REPORT_MS.with_borrow_mut(|l| std::mem::replace(l, now));
            if playing && ui.playing.get_untracked() && last.is_finite() {
                let gap = now - last;
                if gap > ui.longest_gap_ms.get_untracked() {
                    ui.longest_gap_ms.set(gap);
                }
                if gap > 3_000.0 && hidden() {
                    ui.hidden_note.set(Some(format!(
                        "This tab is hidden and the browser is slowing it: {:.0} s between \
                         updates. Training goes on in the worker, more slowly.",
                        gap / 1000.0
                    )));
                }
            }
            ui.playing.set(playing);
            ui.engine.set(engine);
            ui.engine_reason.set(engine_reason);
            ui.workers.set(workers);
            ui.report.set(Some(Arc::new(report)));
        }
        FromWorker::Checkpoint { step } => {
            let Some(b) = bytes else { return };
            spawn_local(async move {
                match store("put", &[b.into(), JsValue::from_f64(step as f64)]).await {
                    Ok(_) => ui.checkpoint_step.set(Some(step)),
                    Err(e) => ui.error.set(Some(format!("saving the checkpoint: {e}"))),
                }
            });
        }
        FromWorker::Exported { step } => {
            let Some(b) = bytes else { return };
            // Tests and scripts read the bytes here (a download leaves no trace they can see).
            if let Some(w) = web_sys::window() {
                let _ = Reflect::set(&w, &"__wbTrainExport".into(), &b);
            }
            let v = b.to_vec();
            download(&v, &format!("whitebox-trained-step{step}.safetensors"));
            EXPORTED.with_borrow_mut(|e| *e = Some(v));
            ui.exported.set(Some(step));
        }
        FromWorker::Error { message } => ui.error.set(Some(message)),
        // The lab's events: the Train view never sends it a lab run.
        FromWorker::LabPoint { .. } | FromWorker::LabReport { .. } => {}
    }
}

/// Starts a run with the form's settings, fetching the dataset's files first where it needs
/// them (only when chosen, once per page).
pub fn new_run(ui: TrainUi) {
    with_data(ui, move || {
        let settings = ui.settings.get_untracked();
        if settings.init.is_none() {
            send(&ToWorker::New { settings }, None);
            return;
        }
        // Continuing the model in use: its weights travel with the message.
        spawn_local(async move {
            match model_in_use(ui.app).await {
                Ok((name, bytes)) => send(
                    &ToWorker::New {
                        settings: SessionSettings {
                            init: Some(name),
                            ..settings
                        },
                    },
                    Some(&bytes),
                ),
                Err(e) => ui
                    .error
                    .set(Some(format!("continuing the model in use: {e}"))),
            }
        });
    });
}

/// The name and safetensors bytes of the model the page has loaded.
async fn model_in_use(app: AppState) -> Result<(String, Vec<u8>), String> {
    let lock = app.runtime.get_value();
    let guard = lock.lock().await;
    let rt = guard.as_ref().ok_or("no model is loaded in the page")?;
    let name = model_label(app);
    let bytes = crate::model::io::model_to_safetensors(&rt.model).map_err(|e| e.to_string())?;
    Ok((name, bytes))
}

/// How the page names its model: the bundled one's title, or the loaded file's name.
pub fn model_label(app: AppState) -> String {
    app.model
        .with_untracked(|m| m.as_ref().map(|m| m.name.clone()))
        .unwrap_or_else(|| IN_USE_NAME.into())
}

/// Runs `then` once the worker holds the files the form's dataset needs. One load at a time,
/// and actions in the order asked: a Resume clicked while the page's first run still waits
/// for the files must not overtake that run (it would be replaced by it at step 0).
fn with_data(ui: TrainUi, then: impl FnOnce() + 'static) {
    let Some(then) = unless_loading(then) else {
        return;
    };
    let key = ui.settings.with_untracked(|s| s.data.key());
    let needed = match key {
        "own" | "fmnist" => SENT.with_borrow(|s| *s != key),
        _ => false,
    };
    if !needed {
        then();
        return;
    }
    WAITING.with_borrow_mut(|w| *w = Some(Vec::new()));
    spawn_local(async move {
        if load_data(ui, key).await {
            then();
        }
        // What was asked meanwhile, in order (each may need another dataset's files).
        let queued = WAITING.with_borrow_mut(|w| w.take()).unwrap_or_default();
        for next in queued {
            with_data(ui, next);
        }
    });
}

/// `then` back when no dataset's files are on their way to the worker; else None, `then`
/// queued to follow them.
fn unless_loading<F: FnOnce() + 'static>(then: F) -> Option<F> {
    WAITING.with_borrow_mut(|w| match w {
        Some(queue) => {
            queue.push(Box::new(then));
            None
        }
        None => Some(then),
    })
}

/// Sends the worker the files of dataset `key` ("own": kept in IndexedDB; "fmnist": fetched);
/// false (the error shown) when they could not be had.
async fn load_data(ui: TrainUi, key: &'static str) -> bool {
    if key == "own" {
        // Own images chosen before a reload: kept in IndexedDB beside the run.
        return match stored_own_images().await {
            Some((msg, bytes)) => {
                send(&msg, Some(&bytes));
                SENT.with_borrow_mut(|s| *s = "own");
                true
            }
            None => {
                ui.error.set(Some(
                    "Your own images: choose a folder, a .zip or files per class".into(),
                ));
                false
            }
        };
    }
    let r = fetch_fmnist(ui).await;
    ui.download.set(None);
    match r {
        Ok(files) => {
            let (msg, bytes) = pack_files(&files);
            send(&msg, Some(&bytes));
            SENT.with_borrow_mut(|s| *s = "fmnist");
            true
        }
        Err(e) => {
            ui.error.set(Some(format!("fetching Fashion-MNIST: {e}")));
            false
        }
    }
}

/// The own images stored by [`own_files`]: the [`ToWorker::Data`] message and its bytes.
async fn stored_own_images() -> Option<(ToWorker, Vec<u8>)> {
    let rec = store("getData", &[]).await.ok()?;
    if rec.is_undefined() || rec.is_null() {
        return None;
    }
    let msg = Reflect::get(&rec, &"msg".into()).ok()?.as_string()?;
    let bytes = Reflect::get(&rec, &"bytes".into())
        .ok()?
        .dyn_into::<Uint8Array>()
        .ok()?
        .to_vec();
    Some((decode::<ToWorker>(&msg).ok()?, bytes))
}

/// One's own images chosen in `#train-files` (a folder: paths relative to it) or
/// `#train-archive` (a .zip): read here, sent to the worker as bytes, and a run started on them.
pub fn own_files(ui: TrainUi, list: web_sys::FileList) {
    let files = (0..list.length())
        .filter_map(|i| list.get(i))
        .map(|f| {
            // A folder's files carry their path below it (webkitRelativePath), a .zip its name.
            let path = Reflect::get(&f, &"webkitRelativePath".into())
                .ok()
                .and_then(|p| p.as_string())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| f.name());
            (path, f)
        })
        .collect();
    own_images(ui, files);
}

/// Files picked per class (the "+ class" rows): each becomes `classes/NAME/FILE`, as if the
/// user had chosen a folder with one sub-folder per class.
pub fn class_files(ui: TrainUi, classes: Vec<(String, web_sys::FileList)>) {
    let mut files = Vec::new();
    for (name, list) in classes {
        // A class name is a folder name: no separators.
        let name = name.trim().replace(['/', '\\'], "_");
        if name.is_empty() {
            continue;
        }
        for f in (0..list.length()).filter_map(|i| list.get(i)) {
            files.push((format!("classes/{name}/{}", f.name()), f));
        }
    }
    if files.is_empty() {
        ui.error.set(Some(
            "per class: give each class a name and some images".into(),
        ));
        return;
    }
    own_images(ui, files);
}

/// Reads `files` (path, file), stores them in IndexedDB (a reload keeps them), sends them to
/// the worker and starts a run on them.
fn own_images(ui: TrainUi, files: Vec<(String, web_sys::File)>) {
    if files.is_empty() {
        return;
    }
    spawn_local(async move {
        let total: f64 = files.iter().map(|(_, f)| f.size()).sum();
        let mut done = 0.0;
        let mut out = Vec::with_capacity(files.len());
        ui.download
            .set(Some(("Reading your images", 0, total as u64)));
        for (path, f) in files {
            match super::super::web::read_file(&f, 4 << 20, |_| {}).await {
                Ok(b) => out.push((path, b)),
                // Unreadable here: the library lists it as skipped (an empty file decodes to nothing).
                Err(_) => out.push((path, Vec::new())),
            }
            done += f.size();
            ui.download
                .set(Some(("Reading your images", done as u64, total as u64)));
        }
        ui.download.set(None);
        let (msg, bytes) = pack_files(&out);
        let arr = Uint8Array::from(bytes.as_slice());
        if let Err(e) = store("putData", &[encode(&msg).into(), arr.into()]).await {
            ui.error.set(Some(format!(
                "your images could not be kept for a reload: {e}"
            )));
        }
        // After any load under way (the images kept from before would follow these).
        let start = move || {
            send(&msg, Some(&bytes));
            SENT.with_borrow_mut(|s| *s = "own");
            ui.settings.update(|s| {
                if !matches!(s.data, crate::page::train_protocol::DataChoice::Own { .. }) {
                    s.data = crate::page::train_protocol::DataChoice::Own { seed: s.seed };
                }
            });
            ui.error.set(None);
            new_run(ui);
        };
        if let Some(start) = unless_loading(start) {
            start();
        }
    });
}

const FETCHING: &str = "Fetching Fashion-MNIST";

/// index.json and the four files it lists, with the progress in `ui.download`.
async fn fetch_fmnist(ui: TrainUi) -> Result<Vec<(String, Vec<u8>)>, String> {
    let index_bytes = fetch_progress(&format!("{FMNIST_DIR}{INDEX_FILE}"), &mut |_| {}).await?;
    let index = WebIndex::from_json(&index_bytes).map_err(|e| e.to_string())?;
    ui.data_credit.set(Some(index.licence.clone()));
    let listed: Vec<_> = index
        .splits
        .iter()
        .flat_map(|s| [s.images_file.clone(), s.labels_file.clone()])
        .collect();
    let total: u64 = listed.iter().map(|f| f.bytes).sum();
    let mut done = 0u64;
    ui.download.set(Some((FETCHING, 0, total)));
    let mut files = vec![(INDEX_FILE.to_string(), index_bytes)];
    for f in listed {
        let base = done;
        let b = fetch_progress(&format!("{FMNIST_DIR}{}", f.name), &mut |n| {
            ui.download.set(Some((FETCHING, base + n, total)))
        })
        .await?;
        done += b.len() as u64;
        files.push((f.name, b));
    }
    Ok(files)
}

/// The bytes at `url`, read chunk by chunk from the response's stream so that `progress`
/// (bytes so far) can move a progress bar; `response.body` through Reflect, as in [`download`].
async fn fetch_progress(url: &str, progress: &mut dyn FnMut(u64)) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| format!("{url}: {}", js_text(&e)))?
        .dyn_into()
        .map_err(|_| format!("{url}: not a response"))?;
    if !resp.ok() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    let call = |obj: &JsValue, name: &str| -> Result<JsValue, String> {
        let f: Function = Reflect::get(obj, &name.into())
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| format!("{url}: no {name}"))?;
        f.call0(obj).map_err(|e| format!("{url}: {}", js_text(&e)))
    };
    let body = Reflect::get(&resp, &"body".into()).map_err(|e| js_text(&e))?;
    let reader = call(&body, "getReader")?;
    let mut out = Vec::new();
    loop {
        let chunk = JsFuture::from(Promise::from(call(&reader, "read")?))
            .await
            .map_err(|e| format!("{url}: {}", js_text(&e)))?;
        if Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true)
        {
            break;
        }
        if let Some(v) = Reflect::get(&chunk, &"value".into())
            .ok()
            .and_then(|v| v.dyn_into::<Uint8Array>().ok())
        {
            out.extend_from_slice(&v.to_vec());
            progress(out.len() as u64);
        }
    }
    Ok(out)
}

/// Continues the run saved in IndexedDB (the form's dataset files sent first: the URL keeps the
/// saved run's settings).
pub fn resume(ui: TrainUi) {
    if let Some(b) = SAVED.with_borrow_mut(|s| s.take()) {
        ui.saved.set(None);
        with_data(ui, move || send(&ToWorker::Resume, Some(&b)));
    }
}

/// The last exported model's bytes.
pub fn exported_bytes() -> Option<Vec<u8>> {
    EXPORTED.with_borrow(|e| e.clone())
}

fn hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden())
}

fn watch_visibility(ui: TrainUi) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let cb = Closure::<dyn FnMut()>::new(move || {
        if hidden() && ui.playing.get_untracked() {
            ui.hidden_note.set(Some(
                "This tab is hidden: training goes on in its worker.".into(),
            ));
        } else if !hidden() {
            // Keep a throttling note (it says what happened); drop the plain one.
            ui.hidden_note.update(|n| {
                if n.as_deref().is_some_and(|t| !t.contains("slowing")) {
                    *n = None;
                }
            });
        }
    });
    let _ = doc.add_event_listener_with_callback("visibilitychange", cb.as_ref().unchecked_ref());
    cb.forget();
}

/// Offers bytes as a file download.
fn download(bytes: &[u8], name: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let parts = Array::of1(&Uint8Array::from(bytes));
    let Ok(blob) = web_sys::Blob::new_with_u8_array_sequence(&parts) else {
        return;
    };
    // URL.createObjectURL through Reflect: no web-sys feature (and rebuild) for two calls.
    let Some(url_obj) = web_sys::window().and_then(|w| Reflect::get(&w, &"URL".into()).ok()) else {
        return;
    };
    let call = |name: &str, arg: &JsValue| {
        Reflect::get(&url_obj, &name.into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
            .and_then(|f| f.call1(&url_obj, arg).ok())
    };
    let Some(url) = call("createObjectURL", &blob.into()).and_then(|u| u.as_string()) else {
        return;
    };
    if let Ok(a) = doc.create_element("a") {
        let _ = a.set_attribute("href", &url);
        let _ = a.set_attribute("download", name);
        if let Some(a) = a.dyn_ref::<web_sys::HtmlElement>() {
            a.click();
        }
    }
    call("revokeObjectURL", &JsValue::from_str(&url));
}
