//! The page's connections to its inference workers: starts each once (the page's one worker
//! binary, `?role=infer`), posts requests and hands each reply to the future awaiting it. A
//! worker that fails to load, or fails later, fails every request in flight with a sentence,
//! and the next request starts a fresh one.
//!
//! Slot [`MAIN`] is the worker that holds the page's models and engines; slot [`HELPER`] is a
//! second one the gallery batch starts on machines with two or more cores
//! ([`crate::ui::runtime::Runtime::layer_stats_chunks`]) and [`close`]s when it is done.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use futures::channel::oneshot;
use futures::future::{select, Either};
use js_sys::{Array, ArrayBuffer, Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::page::infer_protocol::{decode, encode, ArrayLens, Body, FromInfer, Request, ToInfer};
use crate::page::GpuState;
use crate::ui::web::{js_text, sleep};

/// trunk's loader for the worker bin (`data-loader-shim`), in its inference role.
const WORKER_URL: &str = "whitebox-train-worker_loader.js?role=infer";

/// The worker that holds the page's models.
pub const MAIN: usize = 0;
/// A second worker for work that splits by image (the gallery batch).
pub const HELPER: usize = 1;
const SLOTS: usize = 2;

/// How long a fresh worker may take to load its wasm before the page gives up on it.
const READY_TIMEOUT_MS: i32 = 60_000;

/// A reply: the runtime's WebGPU state after the request, the body, and its arrays.
pub struct Reply {
    pub gpu: GpuState,
    pub has_gpu: bool,
    pub arrays: ArrayLens,
    pub body: Body,
    pub buf: Option<ArrayBuffer>,
}

type Waiter = oneshot::Sender<Result<Reply, String>>;

struct Conn {
    worker: JsValue,
    /// Which start of the slot's worker this is (a stopped worker's late events are ignored).
    generation: u64,
    ready: bool,
    /// Futures awaiting the worker's `ready`.
    on_ready: Vec<oneshot::Sender<Result<(), String>>>,
    pending: HashMap<u64, Waiter>,
}

thread_local! {
    static CONN: RefCell<[Option<Conn>; SLOTS]> = const { RefCell::new([None, None]) };
    static NEXT: Cell<u64> = const { Cell::new(1) };
}

/// A fresh id (requests and runtimes share the counter).
pub fn next_id() -> u64 {
    NEXT.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    })
}

/// Appends the worker's timings to `window.__wbWorkerMarks` (`[what, ms]` pairs, ms since the
/// page's time origin), where the start-up measurements read them.
fn keep_marks(marks: &[(String, f64)]) {
    let Some(w) = web_sys::window() else { return };
    if marks.is_empty() {
        return;
    }
    let list = match Reflect::get(&w, &"__wbWorkerMarks".into()).map(|l| l.dyn_into::<Array>()) {
        Ok(Ok(l)) => l,
        _ => {
            let l = Array::new();
            let _ = Reflect::set(&w, &"__wbWorkerMarks".into(), &l);
            l
        }
    };
    let origin = crate::ui::web::epoch_ms() - crate::ui::web::now_ms();
    for (what, at) in marks {
        list.push(&Array::of2(&what.into(), &(at - origin).into()));
    }
}

/// Notes a step of the page's own start-up next to the worker's timings.
pub fn page_mark(what: &str) {
    keep_marks(&[(format!("page: {what}"), crate::ui::web::epoch_ms())]);
}

/// The worker in `slot` is gone: every future awaiting it hears why, and the next request
/// starts anew.
fn fail_all(slot: usize, why: String) {
    let conn = CONN.with_borrow_mut(|c| c[slot].take());
    stop(conn, why);
}

/// [`fail_all`] when the worker in `slot` is still the start `generation`.
fn fail_if_current(slot: usize, generation: u64, why: String) {
    let conn = CONN.with_borrow_mut(|c| match &c[slot] {
        Some(conn) if conn.generation == generation => c[slot].take(),
        _ => None,
    });
    stop(conn, why);
}

fn stop(conn: Option<Conn>, why: String) {
    if let Some(c) = conn {
        if let Ok(f) =
            Reflect::get(&c.worker, &"terminate".into()).and_then(|f| f.dyn_into::<Function>())
        {
            let _ = f.call0(&c.worker);
        }
        for w in c.on_ready {
            let _ = w.send(Err(why.clone()));
        }
        for (_, w) in c.pending {
            let _ = w.send(Err(why.clone()));
        }
    }
}

/// Stops the worker in `slot` (the page no longer needs it): what it holds is freed, and any
/// request still in flight hears that it stopped.
pub fn close(slot: usize) {
    fail_all(slot, "the inference worker was closed".into());
}

fn on_message(slot: usize, generation: u64, ev: JsValue) {
    if !CONN.with_borrow(|c| c[slot].as_ref().is_some_and(|c| c.generation == generation)) {
        return;
    }
    let Some((text, buf)) = super::wire::message_parts(&ev) else {
        return;
    };
    match decode::<FromInfer>(&text) {
        Ok(FromInfer::Ready) => CONN.with_borrow_mut(|c| {
            if let Some(c) = &mut c[slot] {
                c.ready = true;
                for w in c.on_ready.drain(..) {
                    let _ = w.send(Ok(()));
                }
            }
        }),
        Ok(FromInfer::Reply {
            req,
            gpu,
            has_gpu,
            arrays,
            body,
            marks,
        }) => {
            keep_marks(&marks);
            let waiter =
                CONN.with_borrow_mut(|c| c[slot].as_mut().and_then(|c| c.pending.remove(&req)));
            if let Some(w) = waiter {
                let _ = w.send(Ok(Reply {
                    gpu: gpu.into(),
                    has_gpu,
                    arrays,
                    body,
                    buf,
                }));
            }
        }
        Err(e) => fail_if_current(slot, generation, e.to_string()),
    }
}

/// Starts the worker in `slot` unless it runs. Errs when the browser cannot start one.
fn spawn(slot: usize) -> Result<(), String> {
    if CONN.with_borrow(|c| c[slot].is_some()) {
        return Ok(());
    }
    let ctor = Reflect::get(&js_sys::global(), &"Worker".into())
        .ok()
        .and_then(|c| c.dyn_into::<Function>().ok())
        .ok_or("this browser has no Web Workers")?;
    let worker = Reflect::construct(&ctor, &Array::of1(&WORKER_URL.into()))
        .map_err(|e| format!("the inference worker did not start: {}", js_text(&e)))?;
    let generation = next_id();
    let on_msg = Closure::<dyn FnMut(JsValue)>::new(move |ev| on_message(slot, generation, ev));
    let on_err = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let msg = Reflect::get(&ev, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| "it failed to load".into());
        fail_if_current(
            slot,
            generation,
            format!("the inference worker failed: {msg}"),
        );
    });
    let _ = Reflect::set(&worker, &"onmessage".into(), on_msg.as_ref());
    let _ = Reflect::set(&worker, &"onerror".into(), on_err.as_ref());
    on_msg.forget();
    on_err.forget();
    CONN.with_borrow_mut(|c| {
        c[slot] = Some(Conn {
            worker,
            generation,
            ready: false,
            on_ready: Vec::new(),
            pending: HashMap::new(),
        })
    });
    Ok(())
}

/// Starts the main worker if needed and waits until its wasm is up.
pub async fn connect() -> Result<(), String> {
    connect_to(MAIN).await
}

/// Starts the worker in `slot` if needed and waits until its wasm is up.
pub async fn connect_to(slot: usize) -> Result<(), String> {
    spawn(slot)?;
    let (tx, rx) = oneshot::channel();
    let waiting = CONN.with_borrow_mut(|c| match &mut c[slot] {
        Some(c) if c.ready => false,
        Some(c) => {
            c.on_ready.push(tx);
            true
        }
        None => false,
    });
    if !waiting {
        return match CONN.with_borrow(|c| c[slot].is_some()) {
            true => Ok(()),
            false => Err("the inference worker stopped".into()),
        };
    }
    let timeout = Box::pin(sleep(READY_TIMEOUT_MS));
    match select(rx, timeout).await {
        Either::Left((Ok(r), _)) => r,
        Either::Left((Err(_), _)) => Err("the inference worker stopped".into()),
        Either::Right(_) => {
            let why = format!(
                "the inference worker did not start within {} s",
                READY_TIMEOUT_MS / 1000
            );
            fail_all(slot, why.clone());
            Err(why)
        }
    }
}

fn post(slot: usize, req: &Request, buf: Option<&ArrayBuffer>) -> Result<(), String> {
    CONN.with_borrow(|c| {
        let c = c[slot].as_ref().ok_or("the inference worker stopped")?;
        let f: Function = Reflect::get(&c.worker, &"postMessage".into())
            .and_then(|f| f.dyn_into())
            .map_err(|e| js_text(&e))?;
        let text = JsValue::from_str(&encode(req));
        match buf {
            None => f.call1(&c.worker, &text),
            Some(b) => f.call2(&c.worker, &Array::of2(&text, b), &Array::of1(b)),
        }
        .map(|_| ())
        .map_err(|e| format!("cannot reach the inference worker: {}", js_text(&e)))
    })
}

/// Sends `cmd` for runtime `rt` of the worker in `slot` (with `buf`, transferred) and awaits
/// the reply. Errs (with a sentence) only when the worker is gone; a failure of the request
/// itself is a [`Body::Failed`].
pub async fn request_on(
    slot: usize,
    rt: u64,
    cmd: ToInfer,
    arrays: ArrayLens,
    buf: Option<ArrayBuffer>,
) -> Result<Reply, String> {
    connect_to(slot).await?;
    let req = next_id();
    let (tx, rx) = oneshot::channel();
    CONN.with_borrow_mut(|c| c[slot].as_mut().map(|c| c.pending.insert(req, tx)));
    post(
        slot,
        &Request {
            req,
            rt,
            cmd,
            arrays,
        },
        buf.as_ref(),
    )?;
    rx.await
        .unwrap_or_else(|_| Err("the inference worker stopped".into()))
}

/// Sends `cmd` to the main worker without awaiting its reply (freeing a runtime).
pub fn notify(rt: u64, cmd: ToInfer) {
    let ready = CONN.with_borrow(|c| c[MAIN].as_ref().is_some_and(|c| c.ready));
    if ready {
        let _ = post(
            MAIN,
            &Request {
                req: 0,
                rt,
                cmd,
                arrays: ArrayLens::default(),
            },
            None,
        );
    }
}

/// `bytes` in a fresh buffer, copied a few MB per browser task (a model file is hundreds of MB).
pub async fn bytes_to_buffer(bytes: &[u8]) -> Result<ArrayBuffer, String> {
    let len = u32::try_from(bytes.len()).map_err(|_| "the model file passes 4 GB".to_string())?;
    let arr = Uint8Array::new_with_length(len);
    const CHUNK: usize = 16 << 20;
    for (i, c) in bytes.chunks(CHUNK).enumerate() {
        let at = (i * CHUNK) as u32;
        arr.subarray(at, at + c.len() as u32).copy_from(c);
        sleep(0).await;
    }
    Ok(arr.buffer())
}
