//! The inference worker: the page's one worker binary (`whitebox-train-worker`) started with
//! `?role=infer` ([`crate::ui::train_worker_start`] chooses). It owns the models the page has
//! loaded (one [`LocalRuntime`] each: the model, the CPU engine and the WGSL engine on WebGPU,
//! which works in dedicated workers) and answers the page's requests
//! ([`crate::page::infer_protocol`]): forwards, the reports and measures cut from them, traces.
//! All of that work runs here, off the page's main thread; the page only copies results in.
//! It never touches the DOM.

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::{Array, ArrayBuffer, Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;

use super::local::LocalRuntime;
use super::wire::{arrays_from_buffer, arrays_to_buffer};
use super::{mark, pca_colors, take_marks};
use crate::engine::Trace;
use crate::error::{Error, Result};
use crate::gpu::GpuEngine;
use crate::model::io::load_model;
use crate::model::Model;
use crate::page::infer_protocol::{
    decode, encode, pack_colors, pack_prepared, pack_report, pack_stats, pack_trace, unpack_images,
    Arrays, Body, FromInfer, GpuWire, Reader, Request, ToInfer,
};
use crate::page::GpuState;
use crate::ui::web::sleep;

thread_local! {
    /// The page's runtimes by id; one is taken out while a request awaits it.
    static RUNTIMES: RefCell<HashMap<u64, LocalRuntime>> = RefCell::new(HashMap::new());
    /// The trace of the last analysis the page may ask for, by its key (`ToInfer::Analyse`'s
    /// `keep`), with the runtime it came from.
    static KEPT: RefCell<Option<(u64, u64, Trace)>> = const { RefCell::new(None) };
    /// WebGPU engines being opened in the background, by runtime: None while opening. The
    /// runtime itself may be out of [`RUNTIMES`] serving a request meanwhile; it takes the
    /// engine in at its next request ([`attach_opened`]).
    static OPENING: RefCell<HashMap<u64, Option<Opened>>> = RefCell::new(HashMap::new());
}

/// A WebGPU engine opened and warmed up in the background, or why it did not open.
type Opened = Result<(GpuEngine, GpuState)>;

/// Opens runtime `rt`'s WebGPU engine in the background and compiles its pipelines: the CPU
/// engine answers meanwhile, so the page's first map never waits for the adapter, the device,
/// the weights' upload or the pipelines' compilation.
fn open_gpu_later(rt: u64, model: Model) {
    OPENING.with_borrow_mut(|m| m.insert(rt, None));
    spawn_local(async move {
        let opened = LocalRuntime::open_warm_gpu(&model).await;
        drop(model);
        // A runtime dropped (or retried) meanwhile no longer waits for it.
        OPENING.with_borrow_mut(|m| {
            if let Some(slot) = m.get_mut(&rt) {
                *slot = Some(opened);
            }
        });
    });
}

/// Hands runtime `rt` its WebGPU engine once it has opened; false while it is still opening.
fn attach_opened(rt_id: u64, rt: &mut LocalRuntime) -> bool {
    let opened = OPENING.with_borrow_mut(|m| match m.get(&rt_id) {
        Some(None) => None,
        Some(Some(_)) => m.remove(&rt_id),
        // Nothing opening (none asked for, or superseded by a retry).
        None => Some(None),
    });
    match opened {
        None => false,
        Some(Some(o)) => {
            rt.attach_gpu(o);
            true
        }
        Some(None) => {
            if rt.gpu_state == GpuState::Starting {
                rt.gpu_state = GpuState::Unavailable("WebGPU did not open".into());
            }
            true
        }
    }
}

fn global() -> JsValue {
    js_sys::global().into()
}

fn post(ev: &FromInfer, buf: Option<ArrayBuffer>) {
    let g = global();
    let Ok(f) = Reflect::get(&g, &"postMessage".into()).and_then(|f| f.dyn_into::<Function>())
    else {
        return;
    };
    let text = JsValue::from_str(&encode(ev));
    let _ = match buf {
        None => f.call1(&g, &text),
        Some(b) => f.call2(&g, &Array::of2(&text, &b), &Array::of1(&b)),
    };
}

/// Starts answering the page.
pub fn start() {
    console_error_panic_hook::set_once();
    mark("worker: wasm started");
    let on_message = Closure::<dyn FnMut(JsValue)>::new(|ev: JsValue| {
        let Some((text, buf)) = super::wire::message_parts(&ev) else {
            return;
        };
        match decode::<Request>(&text) {
            Ok(req) => spawn_local(handle(req, buf)),
            // Without a request id nobody awaits an answer: say it on the console.
            Err(e) => web_sys::console::error_1(&e.to_string().into()),
        }
    });
    let _ = Reflect::set(&global(), &"onmessage".into(), on_message.as_ref());
    on_message.forget();
    post(&FromInfer::Ready, None);
}

fn take(rt: u64) -> Result<LocalRuntime> {
    RUNTIMES
        .with_borrow_mut(|m| m.remove(&rt))
        .ok_or_else(|| Error::Input("the inference worker holds no such model".into()))
}

async fn handle(req: Request, buf: Option<ArrayBuffer>) {
    let id = req.req;
    let rt_id = req.rt;
    let mut out = Arrays::default();
    let (result, state): (Result<Body>, Option<(GpuState, bool)>) = match req.cmd {
        ToInfer::Load {
            name,
            heads,
            want_gpu,
        } => {
            let result = async {
                let bytes = buf
                    .map(|b| Uint8Array::new(&b).to_vec())
                    .ok_or_else(|| Error::Input("no model file came with the request".into()))?;
                mark("load: model file received");
                let loaded = load_model(&bytes, &name, heads)?;
                drop(bytes);
                let mut rt = LocalRuntime::new(loaded.model, false).await;
                if want_gpu {
                    rt.gpu_state = GpuState::Starting;
                    open_gpu_later(rt_id, rt.model.clone());
                }
                mark("load: CPU engine ready");
                Ok(rt)
            }
            .await;
            match result {
                Ok(rt) => {
                    let state = (rt.gpu_state.clone(), rt.has_gpu());
                    RUNTIMES.with_borrow_mut(|m| m.insert(rt_id, rt));
                    (Ok(Body::Done), Some(state))
                }
                Err(e) => (Err(e), None),
            }
        }
        ToInfer::Drop => {
            RUNTIMES.with_borrow_mut(|m| m.remove(&rt_id));
            OPENING.with_borrow_mut(|m| m.remove(&rt_id));
            KEPT.with_borrow_mut(|k| k.take_if(|(_, rt, _)| *rt == rt_id));
            (Ok(Body::Done), None)
        }
        ToInfer::TakeTrace { key } => {
            let kept =
                KEPT.with_borrow_mut(|k| k.take_if(|(kk, rt, _)| *kk == key && *rt == rt_id));
            let result = match kept {
                Some((_, _, t)) => Ok(Body::Traced {
                    trace: pack_trace(t, &mut out),
                }),
                None => Err(Error::Input(
                    "the trace of that analysis is no longer kept".into(),
                )),
            };
            // The runtime's own WebGPU state: the page takes every reply's as the runtime's.
            let state = RUNTIMES.with_borrow_mut(|m| {
                m.get_mut(&rt_id).map(|rt| {
                    attach_opened(rt_id, rt);
                    (rt.gpu_state.clone(), rt.has_gpu())
                })
            });
            (result, state)
        }
        ToInfer::Pca { tokens, dim } => {
            let result = async {
                let b =
                    buf.ok_or_else(|| Error::Input("no tokens came with the request".into()))?;
                let mut a = Reader::new(arrays_from_buffer(&req.arrays, &b, None).await?);
                let t = a.tensor(&[tokens, dim])?;
                pack_colors(&pca_colors(&t.data, tokens, dim)?, &mut out);
                Ok(Body::Pca)
            }
            .await;
            (result, None)
        }
        cmd => match take(rt_id) {
            Err(e) => (Err(e), None),
            Ok(mut rt) => {
                attach_opened(rt_id, &mut rt);
                let arrays = match buf {
                    Some(b) => arrays_from_buffer(&req.arrays, &b, None).await,
                    None => Ok(Arrays::default()),
                };
                let result = match arrays {
                    Ok(a) => run(&mut rt, rt_id, cmd, Reader::new(a), &mut out).await,
                    Err(e) => Err(e),
                };
                let state = (rt.gpu_state.clone(), rt.has_gpu());
                RUNTIMES.with_borrow_mut(|m| m.insert(rt_id, rt));
                (result, Some(state))
            }
        },
    };
    let (gpu, has_gpu) = state.unwrap_or_else(|| (GpuState::Unavailable(String::new()), false));
    let (body, buf) = match result.and_then(|b| {
        let buf = (!out.is_empty())
            .then(|| arrays_to_buffer(&out))
            .transpose()?;
        Ok((b, buf))
    }) {
        Ok(v) => v,
        Err(e) => (
            Body::Failed {
                message: e.to_string(),
            },
            None,
        ),
    };
    let arrays = if buf.is_some() {
        out.lens()
    } else {
        Default::default()
    };
    post(
        &FromInfer::Reply {
            req: id,
            gpu: GpuWire::from(&gpu),
            has_gpu,
            arrays,
            body,
            marks: take_marks(),
        },
        buf,
    );
}

/// One request on a runtime; the results' numbers go in `out`.
async fn run(
    rt: &mut LocalRuntime,
    rt_id: u64,
    cmd: ToInfer,
    mut input: Reader,
    out: &mut Arrays,
) -> Result<Body> {
    match cmd {
        ToInfer::Analyse {
            shape,
            which,
            trace,
            keep,
        } => {
            let image = input.tensor(&shape)?;
            let (report, ms) = rt.analyse(&image, which).await?;
            let report = std::sync::Arc::try_unwrap(report).unwrap_or_else(|r| (*r).clone());
            let report = pack_report(report, out);
            let t = rt.take_trace();
            let trace = match (t, keep) {
                (Some(t), _) if trace => Some(pack_trace(t, out)),
                (Some(t), Some(key)) => {
                    KEPT.with_borrow_mut(|k| *k = Some((key, rt_id, t)));
                    None
                }
                _ => None,
            };
            Ok(Body::Analysed { ms, report, trace })
        }
        ToInfer::TraceBatch { shape, which } => {
            let images = unpack_images(shape, &mut input)?;
            let t = rt.trace_batch(&images, which).await?;
            Ok(Body::Traced {
                trace: pack_trace(t, out),
            })
        }
        ToInfer::LayerStats { shape, which } => {
            let images = unpack_images(shape, &mut input)?;
            let stats = rt.layer_stats(&images, which).await?;
            let (images, layers) = pack_stats(&stats, out);
            Ok(Body::Stats { images, layers })
        }
        ToInfer::Prepare {
            name,
            size,
            fit,
            display,
        } => {
            let bytes = input.u8()?;
            let fit = fit.parse()?;
            let p = crate::page::prepared::prepare(
                &bytes,
                &name,
                &rt.model.config,
                size,
                fit,
                display,
            )?;
            Ok(Body::Prepared {
                head: pack_prepared(p, out)?,
            })
        }
        ToInfer::Probe => rt.probe().await.map(|()| Body::Done),
        ToInfer::RetryGpu => {
            // A background opening still under way is superseded.
            OPENING.with_borrow_mut(|m| m.remove(&rt_id));
            rt.retry_gpu().await;
            Ok(Body::Done)
        }
        ToInfer::AwaitGpu => {
            while !attach_opened(rt_id, rt) {
                sleep(5).await;
            }
            Ok(Body::Done)
        }
        ToInfer::LoseDevice => {
            if rt.lose_device() {
                Ok(Body::Done)
            } else {
                Err(Error::Gpu("lose_device: no WebGPU engine is open".into()))
            }
        }
        ToInfer::Load { .. } | ToInfer::Drop | ToInfer::Pca { .. } | ToInfer::TakeTrace { .. } => {
            Err(Error::Input(
                "the inference worker got a command out of place".into(),
            ))
        }
    }
}
