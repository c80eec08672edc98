//! The lab's side of the training worker: one click starts a worker of its own (the same
//! `whitebox-train-worker` as the Train view, so a Train run is never held up), sends it
//! [`ToWorker::LabRecover`] and turns its points and report into signals. The run itself is the
//! library's `analysis::lab::recover`, the same as `whitebox lab recover`.

use std::cell::RefCell;
use std::sync::Arc;

use js_sys::{Function, Reflect};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::analysis::lab::recover::{RecoverConfig, RecoverPoint, RecoverReport};
use crate::page::train_protocol::{encode, FromWorker, ToWorker};
use crate::ui::train::client::spawn_worker;
use crate::ui::web::now_ms;

/// The run's state (all fields `Copy`).
#[derive(Clone, Copy)]
pub struct RecoverUi {
    /// The points measured so far (step 0 first).
    pub points: RwSignal<Arc<Vec<RecoverPoint>>>,
    pub report: RwSignal<Option<Arc<RecoverReport>>>,
    /// "idle", "loading", "running", "done" or "error".
    pub state: RwSignal<&'static str>,
    pub error: RwSignal<Option<String>>,
    /// The lab settings (`to_query`) the run was started with.
    pub query: RwSignal<String>,
    /// The run's settings, as sent.
    pub config: RwSignal<Option<RecoverConfig>>,
    /// Milliseconds from the click to the report (worker start included).
    pub wall_ms: RwSignal<f64>,
    started: StoredValue<f64>,
}

impl RecoverUi {
    pub fn new() -> Self {
        Self {
            points: RwSignal::new(Arc::new(Vec::new())),
            report: RwSignal::new(None),
            state: RwSignal::new("idle"),
            error: RwSignal::new(None),
            query: RwSignal::new(String::new()),
            config: RwSignal::new(None),
            wall_ms: RwSignal::new(0.0),
            started: StoredValue::new(0.0),
        }
    }
}

impl Default for RecoverUi {
    fn default() -> Self {
        Self::new()
    }
}

thread_local! {
    static WORKER: RefCell<Option<JsValue>> = const { RefCell::new(None) };
    /// The worker said [`FromWorker::Ready`].
    static READY: RefCell<bool> = const { RefCell::new(false) };
    /// A command waiting for the worker to be ready.
    static QUEUED: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn post(text: &str) {
    WORKER.with_borrow(|w| {
        let Some(w) = w else { return };
        if let Ok(f) = Reflect::get(w, &"postMessage".into()).and_then(|f| f.dyn_into::<Function>())
        {
            let _ = f.call1(w, &JsValue::from_str(text));
        }
    });
}

fn on_event(ui: RecoverUi, ev: FromWorker) {
    match ev {
        FromWorker::Ready => {
            READY.with_borrow_mut(|r| *r = true);
            if let Some(text) = QUEUED.with_borrow_mut(|q| q.take()) {
                ui.state.set("running");
                post(&text);
            }
        }
        FromWorker::LabPoint { point } => {
            ui.state.set("running");
            ui.points.update(|p| Arc::make_mut(p).push(point));
        }
        FromWorker::LabReport { report } => {
            ui.wall_ms.set(now_ms() - ui.started.get_value());
            ui.report.set(Some(Arc::new(*report)));
            ui.state.set("done");
        }
        FromWorker::Error { message } => {
            ui.error.set(Some(message));
            ui.state.set("error");
        }
        // Train-view events: this worker never runs a Train session.
        FromWorker::Report { .. } | FromWorker::Checkpoint { .. } | FromWorker::Exported { .. } => {
        }
    }
}

/// Starts the worker once (it lives as long as the page).
fn ensure_worker(ui: RecoverUi) -> Result<(), String> {
    if WORKER.with_borrow(|w| w.is_some()) {
        return Ok(());
    }
    let fail = move |e: String| {
        ui.error.set(Some(e));
        ui.state.set("error");
    };
    let worker = spawn_worker(
        move |ev, _| match ev {
            Ok(ev) => on_event(ui, ev),
            Err(e) => fail(e),
        },
        fail,
    )
    .map_err(|e| format!("{e}: the lab cannot train"))?;
    WORKER.with_borrow_mut(|w| *w = Some(worker));
    Ok(())
}

/// Trains `cfg` in the worker; `query` names the lab settings it belongs to. A run in progress
/// is not interrupted: the button is disabled meanwhile.
pub fn start(ui: RecoverUi, cfg: RecoverConfig, query: String) {
    if let Err(e) = ensure_worker(ui) {
        ui.error.set(Some(e));
        ui.state.set("error");
        return;
    }
    ui.error.set(None);
    ui.report.set(None);
    ui.points.set(Arc::new(Vec::new()));
    ui.query.set(query);
    ui.started.set_value(now_ms());
    let text = encode(&ToWorker::LabRecover {
        config: cfg.clone(),
    });
    ui.config.set(Some(cfg));
    if READY.with_borrow(|r| *r) {
        ui.state.set("running");
        post(&text);
    } else {
        ui.state.set("loading");
        QUEUED.with_borrow_mut(|q| *q = Some(text));
    }
}
