//! A second core for CPU training: the helper worker (the page's worker binary in the role
//! `?role=grad`) and the training worker's link to it.
//!
//! Each step the training worker sends the helper the second half of the batch with the step's
//! weights ([`ShardJob`] as bytes), computes the first half itself meanwhile, and adds the two
//! halves' gradients before its one optimiser update ([`crate::train::shard`]). The helper
//! keeps no state: a helper that fails to start, errs or dies costs nothing but speed — its
//! half is computed by the training worker and the run goes on with one worker.

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::oneshot;
use js_sys::{Array, Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::train::shard::ShardJob;
use crate::ui::web::js_text;

/// trunk's loader for the worker bin, in the helper's role (relative to the training worker's
/// own script, which sits beside it).
const HELPER_URL: &str = "whitebox-train-worker_loader.js?role=grad";
/// The helper's first message once its wasm is up.
const READY: &str = "ready";

/// The helper's side: computes each job it is sent and posts the shard's bytes (transferred),
/// or a sentence when the job fails.
pub fn start() {
    console_error_panic_hook::set_once();
    let on_message = Closure::<dyn FnMut(JsValue)>::new(|ev: JsValue| {
        let data = Reflect::get(&ev, &"data".into()).unwrap_or(JsValue::UNDEFINED);
        let reply = match data.dyn_into::<Uint8Array>() {
            Ok(a) => ShardJob::from_bytes(&a.to_vec())
                .and_then(|j| j.compute())
                .map(|s| s.to_bytes())
                .map_err(|e| e.to_string()),
            Err(_) => Err("the helper worker was sent something that is not a job".into()),
        };
        let g: JsValue = js_sys::global().into();
        let Ok(post) =
            Reflect::get(&g, &"postMessage".into()).and_then(|f| f.dyn_into::<Function>())
        else {
            return;
        };
        let _ = match reply {
            Ok(bytes) => {
                let arr = Uint8Array::from(bytes.as_slice());
                post.call2(&g, &arr, &Array::of1(&arr.buffer()))
            }
            Err(why) => post.call1(&g, &JsValue::from_str(&why)),
        };
    });
    let g: JsValue = js_sys::global().into();
    let _ = Reflect::set(&g, &"onmessage".into(), on_message.as_ref());
    on_message.forget();
    if let Ok(post) = Reflect::get(&g, &"postMessage".into()).and_then(|f| f.dyn_into::<Function>())
    {
        let _ = post.call1(&g, &JsValue::from_str(READY));
    }
}

type Reply = Result<Vec<u8>, String>;

#[derive(Default)]
struct Inner {
    ready: bool,
    /// Why the helper cannot be used any more.
    failed: Option<String>,
    /// The reply awaited (one job at a time).
    waiting: Option<oneshot::Sender<Reply>>,
    /// The test hook [`HelperLink::damage_next`] is set.
    damage_next: bool,
}

/// The training worker's link to its helper.
pub struct HelperLink {
    worker: JsValue,
    inner: Rc<RefCell<Inner>>,
    _handlers: [Closure<dyn FnMut(JsValue)>; 2],
}

impl HelperLink {
    /// Starts the helper worker; it can take jobs once its wasm is up ([`HelperLink::ready`]),
    /// when `on_ready` is called.
    pub fn spawn(on_ready: impl Fn() + 'static) -> Result<Self, String> {
        let ctor = Reflect::get(&js_sys::global(), &"Worker".into())
            .ok()
            .and_then(|c| c.dyn_into::<Function>().ok())
            .ok_or("this browser cannot start a worker from a worker")?;
        let worker = Reflect::construct(&ctor, &Array::of1(&HELPER_URL.into()))
            .map_err(|e| format!("the helper worker did not start ({})", js_text(&e)))?;
        let inner = Rc::new(RefCell::new(Inner::default()));
        let on_msg = {
            let inner = inner.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
                let data = Reflect::get(&ev, &"data".into()).unwrap_or(JsValue::UNDEFINED);
                let mut i = inner.borrow_mut();
                let reply = match data.as_string() {
                    Some(s) if s == READY => {
                        i.ready = true;
                        drop(i);
                        on_ready();
                        return;
                    }
                    Some(why) => Err(format!("the helper worker failed: {why}")),
                    None => data
                        .dyn_into::<Uint8Array>()
                        .map(|a| a.to_vec())
                        .map_err(|_| "the helper worker sent something unreadable".to_string()),
                };
                if let Some(w) = i.waiting.take() {
                    let _ = w.send(reply);
                }
            })
        };
        let on_err = {
            let inner = inner.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
                let msg = Reflect::get(&ev, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
                    .unwrap_or_else(|| "it failed to load".into());
                let mut i = inner.borrow_mut();
                let why = format!("the helper worker stopped: {msg}");
                if let Some(w) = i.waiting.take() {
                    let _ = w.send(Err(why.clone()));
                }
                i.failed = Some(why);
            })
        };
        let _ = Reflect::set(&worker, &"onmessage".into(), on_msg.as_ref());
        let _ = Reflect::set(&worker, &"onerror".into(), on_err.as_ref());
        Ok(Self {
            worker,
            inner,
            _handlers: [on_msg, on_err],
        })
    }

    /// The helper's wasm is up and it has not failed.
    pub fn ready(&self) -> bool {
        let i = self.inner.borrow();
        i.ready && i.failed.is_none()
    }

    /// Why the helper cannot be used, once it cannot.
    pub fn failed(&self) -> Option<String> {
        self.inner.borrow().failed.clone()
    }

    /// Posts a job (its bytes transferred) and returns the reply to await: the shard's bytes,
    /// or why there is none. Only one job is out at a time.
    pub fn send(&self, mut job: Vec<u8>) -> oneshot::Receiver<Reply> {
        let (tx, rx) = oneshot::channel();
        let mut i = self.inner.borrow_mut();
        if std::mem::take(&mut i.damage_next) {
            job.truncate(job.len() / 2);
        }
        if let Some(why) = &i.failed {
            let _ = tx.send(Err(why.clone()));
            return rx;
        }
        let posted = Reflect::get(&self.worker, &"postMessage".into())
            .and_then(|f| f.dyn_into::<Function>())
            .and_then(|f| {
                let arr = Uint8Array::from(job.as_slice());
                f.call2(&self.worker, &arr, &Array::of1(&arr.buffer()))
            });
        match posted {
            Ok(_) => i.waiting = Some(tx),
            Err(e) => {
                let why = format!("cannot reach the helper worker ({})", js_text(&e));
                i.failed = Some(why.clone());
                let _ = tx.send(Err(why));
            }
        }
        rx
    }

    /// A test hook: the next job is sent cut in half (the helper refuses it).
    pub fn damage_next(&self) {
        self.inner.borrow_mut().damage_next = true;
    }

    /// Marks the helper unusable (a reply that could not be used) and stops it.
    pub fn fail(&self, why: &str) {
        self.inner.borrow_mut().failed = Some(why.to_string());
        self.stop();
    }

    fn stop(&self) {
        if let Ok(f) =
            Reflect::get(&self.worker, &"terminate".into()).and_then(|f| f.dyn_into::<Function>())
        {
            let _ = f.call0(&self.worker);
        }
    }
}

impl Drop for HelperLink {
    fn drop(&mut self) {
        self.stop();
    }
}
