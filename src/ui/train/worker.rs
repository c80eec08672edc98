//! The training worker (a dedicated Web Worker, its own wasm built by trunk from
//! `src/bin/whitebox-train-worker.rs`): owns the [`TrainSession`], runs steps in chunks of about
//! 100 ms between which it reads its messages, and posts reports, checkpoints and exports to
//! the Train view ([`crate::page::train_protocol`]). It never touches the DOM.

use std::cell::RefCell;

use js_sys::{Array, Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::page::train_protocol::{decode, encode, FromWorker, Pacer, ToWorker};
use crate::train::session::TrainSession;

struct State {
    session: Option<TrainSession>,
    playing: bool,
    /// A chunk is scheduled (a `setTimeout` is pending).
    scheduled: bool,
    pacer: Pacer,
    engine_reason: String,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State {
        session: None,
        playing: false,
        scheduled: false,
        pacer: Pacer::default(),
        engine_reason: CPU_REASON.into(),
    });
}

const CPU_REASON: &str = "CPU trainer (wasm SIMD, one thread): the WGSL trainer does not run in \
                          the worker yet";

fn global() -> JsValue {
    js_sys::global().into()
}

fn now_ms() -> f64 {
    Reflect::get(&global(), &"performance".into())
        .ok()
        .and_then(|p| {
            let f: Function = Reflect::get(&p, &"now".into()).ok()?.dyn_into().ok()?;
            f.call0(&p).ok()?.as_f64()
        })
        .unwrap_or_else(js_sys::Date::now)
}

/// Posts an event, with bytes (transferred, not copied) when given.
fn post(ev: &FromWorker, bytes: Option<Vec<u8>>) {
    let g = global();
    let Ok(f) = Reflect::get(&g, &"postMessage".into()).and_then(|f| f.dyn_into::<Function>())
    else {
        return;
    };
    let text = JsValue::from_str(&encode(ev));
    let _ = match bytes {
        None => f.call1(&g, &text),
        Some(b) => {
            let arr = Uint8Array::from(b.as_slice());
            let msg = Array::of2(&text, &arr);
            f.call2(&g, &msg, &Array::of1(&arr.buffer()))
        }
    };
}

fn post_error(e: impl std::fmt::Display) {
    post(
        &FromWorker::Error {
            message: e.to_string(),
        },
        None,
    );
}

fn report(st: &State) {
    if let Some(s) = &st.session {
        post(
            &FromWorker::Report {
                report: s.report(),
                playing: st.playing,
                engine: "cpu".into(),
                engine_reason: st.engine_reason.clone(),
            },
            None,
        );
    }
}

fn checkpoint(st: &mut State) {
    let Some(s) = &st.session else { return };
    match s.save() {
        Ok(b) => post(
            &FromWorker::Checkpoint {
                step: s.step_count(),
            },
            Some(b),
        ),
        Err(e) => post_error(format!("checkpoint: {e}")),
    }
    st.pacer.checkpointed(now_ms());
}

/// One step plus the measures due after it. Returns false when the run cannot go on.
fn step_once(s: &mut TrainSession) -> bool {
    let t0 = now_ms();
    let r = s.step();
    s.add_seconds((now_ms() - t0) / 1000.0);
    if let Err(e) = r {
        post_error(e);
        return false;
    }
    if s.probe_due() {
        if let Err(e) = s.probe() {
            post_error(format!("per-layer measures: {e}"));
        }
    }
    if s.eval_due() {
        if let Err(e) = s.evaluate() {
            post_error(format!("held-out evaluation: {e}"));
        }
    }
    true
}

/// Runs steps for about one chunk, then reports, checkpoints when due and schedules the next
/// chunk while playing.
fn chunk() {
    STATE.with_borrow_mut(|st| {
        st.scheduled = false;
        if !st.playing {
            return;
        }
        let start = now_ms();
        let mut ok = true;
        if let Some(s) = st.session.as_mut() {
            loop {
                if s.done() || !step_once(s) {
                    ok = false;
                    break;
                }
                if !st.pacer.chunk_open(start, now_ms()) {
                    break;
                }
            }
        } else {
            ok = false;
        }
        if !ok {
            st.playing = false;
            checkpoint(st);
            report(st);
            return;
        }
        let now = now_ms();
        if st.pacer.report_due(now) {
            report(st);
        }
        if st.pacer.checkpoint_due(now) {
            checkpoint(st);
        }
        schedule(st);
    });
}

fn schedule(st: &mut State) {
    if st.scheduled {
        return;
    }
    let g = global();
    let Ok(f) = Reflect::get(&g, &"setTimeout".into()).and_then(|f| f.dyn_into::<Function>())
    else {
        return;
    };
    let cb = Closure::once_into_js(chunk);
    if f.call2(&g, &cb, &JsValue::from(0)).is_ok() {
        st.scheduled = true;
    }
}

fn handle(cmd: ToWorker, bytes: Option<Vec<u8>>) {
    STATE.with_borrow_mut(|st| match cmd {
        ToWorker::New { settings } => match TrainSession::new(settings) {
            Ok(s) => {
                st.session = Some(s);
                st.playing = false;
                report(st);
            }
            Err(e) => post_error(e),
        },
        ToWorker::Resume => match bytes.as_deref().map(TrainSession::load) {
            Some(Ok(s)) => {
                st.session = Some(s);
                st.playing = false;
                report(st);
            }
            Some(Err(e)) => post_error(format!("resuming: {e}")),
            None => post_error("resuming: no checkpoint came with the message"),
        },
        ToWorker::Play => {
            if st.session.as_ref().is_some_and(|s| !s.done()) {
                st.playing = true;
                report(st);
                schedule(st);
            }
        }
        ToWorker::Pause => {
            st.playing = false;
            checkpoint(st);
            report(st);
        }
        ToWorker::Step => {
            st.playing = false;
            if let Some(s) = st.session.as_mut() {
                if !s.done() {
                    step_once(s);
                }
            }
            report(st);
        }
        ToWorker::SetLr { lr } => {
            if let Some(s) = st.session.as_mut() {
                if let Err(e) = s.set_lr(lr) {
                    post_error(e);
                }
            }
            report(st);
        }
        ToWorker::Export => {
            if let Some(s) = &st.session {
                match s.export_model() {
                    Ok(b) => post(
                        &FromWorker::Exported {
                            step: s.step_count(),
                        },
                        Some(b),
                    ),
                    Err(e) => post_error(format!("export: {e}")),
                }
            }
        }
        ToWorker::Engine { pref } => {
            st.engine_reason = match pref.as_str() {
                "gpu" => format!("engine=gpu asked; {CPU_REASON}"),
                "cpu" => "CPU trainer (engine=cpu)".into(),
                _ => CPU_REASON.into(),
            };
            report(st);
        }
    });
}

/// A message's JSON text and the bytes that came with it.
fn unpack(data: &JsValue) -> Option<(String, Option<Vec<u8>>)> {
    if let Some(s) = data.as_string() {
        return Some((s, None));
    }
    let arr = data.dyn_ref::<Array>()?;
    let text = arr.get(0).as_string()?;
    let bytes = arr.get(1).dyn_into::<Uint8Array>().ok().map(|a| a.to_vec());
    Some((text, bytes))
}

/// The worker's entry point: listens for messages and says it is ready.
pub fn start() {
    console_error_panic_hook::set_once();
    let on_message = Closure::<dyn FnMut(JsValue)>::new(|ev: JsValue| {
        let data = Reflect::get(&ev, &"data".into()).unwrap_or(JsValue::UNDEFINED);
        match unpack(&data) {
            Some((text, bytes)) => match decode::<ToWorker>(&text) {
                Ok(cmd) => handle(cmd, bytes),
                Err(e) => post_error(e),
            },
            None => post_error("training worker: a message it cannot read"),
        }
    });
    let _ = Reflect::set(&global(), &"onmessage".into(), on_message.as_ref());
    on_message.forget();
    post(&FromWorker::Ready, None);
}
