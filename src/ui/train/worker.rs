//! The training worker (a dedicated Web Worker, its own wasm built by trunk from
//! `src/bin/whitebox-train-worker.rs`): owns the [`TrainSession`] and its engine, runs steps in
//! chunks of about 100 ms between which it reads its messages, and posts reports, checkpoints
//! and exports to the Train view ([`crate::page::train_protocol`]). It never touches the DOM.
//!
//! The engine is chosen as inference chooses it: `engine=cpu|gpu` forces one; otherwise, where
//! the worker has WebGPU, one step's forward and backward is timed on each and the faster
//! trains. On the GPU the weights live on the device and are read back only for the probes,
//! evaluations, checkpoints and exports; a lost device continues on the CPU from the last
//! checkpoint.

use std::cell::RefCell;

use js_sys::{Array, Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;

use std::rc::Rc;

use super::engine::{calibrate_engines, cpu_trainer, open_gpu, CALIBRATION_IMAGES};
use super::helper::HelperLink;
use crate::analysis::lab::recover::{recover, RecoverConfig};
use crate::gpu::train::GpuTrainer;
use crate::page::train_protocol::{
    cpu_workers, decode, encode, unpack_files, FromWorker, Pacer, ToWorker,
};
use crate::train::session::{DataBytes, TrainSession};
use crate::train::shard::{halves, Shard};
use crate::ui::web::cores;
use crate::ui::web::sleep;
use futures::future::{select, Either};

/// The run and its engine, taken out of [`STATE`] while a chunk awaits the GPU.
struct Run {
    session: TrainSession,
    /// Some: the steps run on the GPU.
    gpu: Option<GpuTrainer>,
    /// The session's CPU copy of the weights is current (always on the CPU).
    synced: bool,
}

struct State {
    run: Option<Run>,
    /// A chunk holds the run (awaiting the GPU); commands wait in `pending`.
    busy: bool,
    pending: Vec<(ToWorker, Option<Vec<u8>>)>,
    playing: bool,
    scheduled: bool,
    pacer: Pacer,
    pref: String,
    /// `workers=` from the URL (0: as many as help).
    workers: usize,
    engine_reason: String,
    /// The last checkpoint's bytes: where a lost GPU device continues from.
    last_checkpoint: Option<Vec<u8>>,
    /// Counts runs started: a calibration finishing for an older run is ignored.
    generation: u64,
    /// The GPU won the calibration: installed (with the run's current weights) before the next
    /// step.
    switch_to: Option<GpuTrainer>,
    /// The files of the last dataset sent ([`ToWorker::Data`]): new, resumed and fallen-back
    /// runs build their sets from them.
    data: DataBytes,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State {
        run: None,
        busy: false,
        pending: Vec::new(),
        playing: false,
        scheduled: false,
        pacer: Pacer::default(),
        pref: "auto".into(),
        workers: 0,
        engine_reason: String::new(),
        last_checkpoint: None,
        generation: 0,
        switch_to: None,
        data: DataBytes::default(),
    });
    /// The helper worker that computes half of every CPU step, kept across runs.
    static HELPER: RefCell<Option<Rc<HelperLink>>> = const { RefCell::new(None) };
}

/// How long the training worker waits for the helper's half: this many times its own half's
/// time, and at least [`HELPER_TIMEOUT_MIN_MS`].
const HELPER_TIMEOUT_FACTOR: f64 = 20.0;
const HELPER_TIMEOUT_MIN_MS: f64 = 30_000.0;

/// How many workers a CPU run of batch `batch` uses here.
fn planned_workers(st: &State, batch: usize) -> usize {
    cpu_workers(st.workers, cores(), batch)
}

/// Starts the helper worker when a CPU run of batch `batch` wants one and none is up; Err:
/// why it could not start (the run trains with one worker).
fn ensure_helper(st: &State, batch: usize) -> Result<(), String> {
    if planned_workers(st, batch) < 2 {
        return Ok(());
    }
    HELPER.with_borrow_mut(|h| {
        if h.as_ref().is_some_and(|l| l.failed().is_none()) {
            return Ok(());
        }
        // The view hears at once that a second worker trains.
        let on_ready = || {
            STATE.with(|s| {
                if let Ok(st) = s.try_borrow() {
                    report(&st);
                }
            })
        };
        let link = HelperLink::spawn(on_ready)?;
        *h = Some(Rc::new(link));
        Ok(())
    })
}

/// The helper, when it is up and this CPU step is to be split.
fn helper_for(run: &Run, st: &State) -> Option<Rc<HelperLink>> {
    let wanted = planned_workers(st, run.session.settings.batch) >= 2;
    HELPER
        .with_borrow(|h| h.clone())
        .filter(|l| wanted && l.ready())
}

/// One CPU step with the batch's second half computed by the helper meanwhile. A helper that
/// fails is dropped and its half computed here: the step is the same either way.
async fn shared_step(run: &mut Run, helper: &HelperLink) -> crate::error::Result<()> {
    let p = run.session.prepare_step()?;
    let [mine, theirs] = halves(p.labels.len());
    let reply = run
        .session
        .shard_job(&p, theirs.clone())
        .and_then(|j| j.to_bytes())
        .map(|bytes| helper.send(bytes));
    let t0 = now_ms();
    // Kept as a Result until the helper has answered: a step never moves on with a job still
    // out (its late reply would be taken for the next step's).
    let local = run.session.compute_shard(&p, mine);
    // A helper that neither answers nor fails (it should not happen) must not stall the run.
    let limit = (HELPER_TIMEOUT_FACTOR * (now_ms() - t0)).max(HELPER_TIMEOUT_MIN_MS);
    let remote = match reply {
        Ok(rx) => match select(rx, Box::pin(sleep(limit as i32))).await {
            Either::Left((r, _)) => r
                .unwrap_or_else(|_| Err("the helper worker went away".into()))
                .and_then(|b| {
                    Shard::from_bytes(&run.session.trainer.config, &b).map_err(|e| e.to_string())
                }),
            Either::Right(_) => Err(format!(
                "the helper worker did not answer within {:.0} s",
                limit / 1000.0
            )),
        },
        Err(e) => Err(e.to_string()),
    };
    let remote = match remote {
        Ok(s) => s,
        Err(why) => {
            helper.fail(&why);
            HELPER.with_borrow_mut(|h| *h = None);
            // Not an error to the user: the step is the same; the engine line says why it is
            // slower from now on.
            STATE.with_borrow_mut(|st| {
                st.engine_reason = format!(
                    "{}: the helper worker failed at step {} ({why}); training goes on alone",
                    cpu_trainer(1),
                    run.session.step_count()
                )
            });
            run.session.compute_shard(&p, theirs)?
        }
    };
    run.session.finish_shards(&p, vec![local?, remote])?;
    Ok(())
}

/// Workers computing the run's steps now.
fn workers_now(run: &Run, st: &State) -> usize {
    match run.gpu {
        Some(_) => 1,
        None => 1 + helper_for(run, st).is_some() as usize,
    }
}

fn global() -> JsValue {
    js_sys::global().into()
}

pub(super) fn now_ms() -> f64 {
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
    if let Some(r) = &st.run {
        post(
            &FromWorker::Report {
                report: r.session.report(),
                playing: st.playing,
                engine: if r.gpu.is_some() { "gpu" } else { "cpu" }.into(),
                engine_reason: st.engine_reason.clone(),
                workers: workers_now(r, st),
            },
            None,
        );
    }
}

/// Brings the session's CPU copy of the weights up to date with the GPU's.
async fn sync(run: &mut Run) -> crate::error::Result<()> {
    if run.synced {
        return Ok(());
    }
    if let Some(g) = run.gpu.as_mut() {
        let (params, opt) = g.download_async().await?;
        run.session.set_weights(params, opt);
    }
    run.synced = true;
    Ok(())
}

/// Saves the run (synced first) and posts the bytes to be stored.
fn checkpoint_now(run: &Run, st: &mut State) {
    match run.session.save() {
        Ok(b) => {
            st.last_checkpoint = Some(b.clone());
            post(
                &FromWorker::Checkpoint {
                    step: run.session.step_count(),
                },
                Some(b),
            );
        }
        Err(e) => post_error(format!("checkpoint: {e}")),
    }
    st.pacer.checkpointed(now_ms());
}

/// One step plus the measures due after it. Err: the GPU failed (the caller falls back).
async fn step_once(run: &mut Run) -> Result<bool, String> {
    let t0 = now_ms();
    match run.gpu.as_mut() {
        None => {
            let r = match STATE.with_borrow(|st| helper_for(run, st)) {
                Some(h) => shared_step(run, &h).await,
                None => run.session.step().map(|_| ()),
            };
            if let Err(e) = r {
                post_error(e);
                return Ok(false);
            }
        }
        Some(g) => {
            let p = match run.session.prepare_step() {
                Ok(p) => p,
                Err(e) => {
                    post_error(e);
                    return Ok(false);
                }
            };
            let s = g
                .step_async(&p.images, &p.labels, p.lr, true)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the GPU step returned no statistics")?;
            let images = s.run_images as usize;
            let loss = if images > 0 {
                (s.run_loss_sum / images as f64) as f32
            } else {
                f32::NAN
            };
            run.session
                .finish_step(&p, loss, s.run_correct as usize, images == 0, s.optim_steps);
            run.synced = false;
        }
    }
    run.session.add_seconds((now_ms() - t0) / 1000.0);
    let (probe, eval) = (run.session.probe_due(), run.session.eval_due());
    if probe || eval {
        sync(run).await.map_err(|e| e.to_string())?;
    }
    if probe {
        if let Err(e) = run.session.probe() {
            post_error(format!("per-layer measures: {e}"));
        }
    }
    if eval {
        if let Err(e) = run.session.evaluate() {
            post_error(format!("held-out evaluation: {e}"));
        }
    }
    Ok(true)
}

/// The GPU failed: continue on the CPU from the last checkpoint (or from the last synced
/// weights when the run has none).
fn fall_back(run: &mut Run, st: &mut State, why: &str) {
    let at = run.session.step_count();
    run.gpu = None;
    run.synced = true;
    let from = st
        .last_checkpoint
        .as_deref()
        .and_then(|b| TrainSession::load_with(b, &st.data).ok());
    let note = match from {
        Some(s) => {
            let step = s.step_count();
            run.session = s;
            format!("checkpoint at step {step}")
        }
        None => "start".into(),
    };
    let _ = ensure_helper(st, run.session.settings.batch);
    st.engine_reason = format!(
        "CPU: the WebGPU device failed at step {at} ({why}); training continues on the CPU \
         from the {note}"
    );
    post_error(format!(
        "WebGPU failed at step {at}: continuing on the CPU ({why})"
    ));
}

/// Runs steps for about one chunk (or `single` step), then reports, checkpoints when due and
/// schedules the next chunk while playing.
async fn chunk(single: bool) {
    let taken = STATE.with_borrow_mut(|st| {
        st.scheduled = false;
        if st.busy {
            // Whoever holds the run reschedules (or the command waits in `pending`).
            if st.playing {
                st.pending.push((ToWorker::Play, None));
            }
            return Err(());
        }
        if !single && !st.playing {
            return Err(());
        }
        install_switch(st);
        let run = st.run.take();
        st.busy = run.is_some();
        if run.is_none() {
            st.playing = false;
        }
        Ok(run)
    });
    let Ok(Some(mut run)) = taken else {
        return;
    };
    let start = now_ms();
    let mut failed = None;
    let mut ok = true;
    loop {
        if run.session.done() {
            ok = false;
            break;
        }
        match step_once(&mut run).await {
            Ok(true) => {}
            Ok(false) => {
                ok = false;
                break;
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
        let (playing, open) =
            STATE.with_borrow(|st| (st.playing, st.pacer.chunk_open(start, now_ms())));
        if single || !playing || !open {
            break;
        }
    }
    let stop = !ok || single || STATE.with_borrow(|st| !st.playing);
    if stop && failed.is_none() {
        if let Err(e) = sync(&mut run).await {
            failed = Some(e.to_string());
        }
    }
    let due_checkpoint = STATE.with_borrow_mut(|st| st.pacer.checkpoint_due(now_ms()));
    if due_checkpoint && failed.is_none() && !stop {
        if let Err(e) = sync(&mut run).await {
            failed = Some(e.to_string());
        }
    }
    STATE.with_borrow_mut(|st| {
        if let Some(why) = &failed {
            fall_back(&mut run, st, why);
        }
        if !ok {
            st.playing = false;
        }
        if (stop && !single) || !ok || (due_checkpoint && run.synced) {
            checkpoint_now(&run, st);
        }
        let now = now_ms();
        st.run = Some(run);
        st.busy = false;
        if stop || st.pacer.report_due(now) {
            report(st);
        }
        if st.playing {
            schedule(st);
        }
    });
    drain();
}

/// Commands that arrived while a chunk held the run.
fn drain() {
    let pending = STATE.with_borrow_mut(|st| std::mem::take(&mut st.pending));
    for (cmd, bytes) in pending {
        handle(cmd, bytes);
    }
}

/// The next chunk, after the worker has read its messages (a zero-delay timer).
fn schedule(st: &mut State) {
    if st.scheduled {
        return;
    }
    let g = global();
    let Ok(f) = Reflect::get(&g, &"setTimeout".into()).and_then(|f| f.dyn_into::<Function>())
    else {
        return;
    };
    let cb = Closure::once_into_js(|| spawn_local(chunk(false)));
    if f.call2(&g, &cb, &JsValue::from(0)).is_ok() {
        st.scheduled = true;
    }
}

/// Starts `session` as the run. The worker is busy from this moment, not from when
/// [`start_run`] first runs: `drain` handles its commands in one loop, and a second `New` in the
/// same loop would otherwise start a second run beside the first (the one whose WebGPU opened
/// last won).
fn begin_run(session: TrainSession) {
    STATE.with_borrow_mut(|st| st.busy = true);
    spawn_local(start_run(session));
}

/// Installs a new or resumed run. `engine=gpu` opens the WGSL trainer first; otherwise the run
/// starts on the CPU at once and, where the worker has WebGPU, a calibration in the background
/// may move it to the GPU (a software adapter can take a minute to compile and time).
async fn start_run(session: TrainSession) {
    let (pref, generation, workers) = STATE.with_borrow_mut(|st| {
        st.busy = true;
        st.generation += 1;
        st.switch_to = None;
        let workers = planned_workers(st, session.settings.batch);
        (st.pref.clone(), st.generation, workers)
    });
    let (gpu, reason) = match pref.as_str() {
        "gpu" => open_gpu(&session.trainer).await.map_or_else(
            |why| {
                (
                    None,
                    format!("{}: engine=gpu, but {why}", cpu_trainer(workers)),
                )
            },
            |(g, adapter)| (Some(g), format!("WGSL trainer on {adapter}: engine=gpu")),
        ),
        "cpu" => (None, format!("{}: engine=cpu", cpu_trainer(workers))),
        _ => (
            None,
            format!("{} while WebGPU is being timed…", cpu_trainer(workers)),
        ),
    };
    let calibrate = pref != "gpu" && pref != "cpu";
    let probe = calibrate
        .then(|| {
            let batch = session.calibration_batch(CALIBRATION_IMAGES).ok()?;
            Some((session.trainer.clone(), batch))
        })
        .flatten();
    STATE.with_borrow_mut(|st| {
        st.engine_reason = match gpu
            .is_none()
            .then(|| ensure_helper(st, session.settings.batch))
        {
            Some(Err(why)) => format!("{}: no helper worker ({why})", cpu_trainer(1)),
            _ => reason,
        };
        st.playing = false;
        st.last_checkpoint = session.save().ok();
        st.run = Some(Run {
            session,
            gpu,
            synced: true,
        });
        st.busy = false;
        report(st);
    });
    drain();
    if let Some((trainer, (images, labels))) = probe {
        let (gpu, reason) = calibrate_engines(&trainer, &images, &labels, workers).await;
        STATE.with_borrow_mut(|st| {
            if st.generation != generation {
                return;
            }
            st.engine_reason = reason;
            st.switch_to = gpu;
            if !st.busy {
                install_switch(st);
            }
            report(st);
        });
    }
}

/// Moves the run to the GPU chosen by the calibration, with its current weights.
fn install_switch(st: &mut State) {
    let Some(mut g) = st.switch_to.take() else {
        return;
    };
    let Some(run) = st.run.as_mut() else { return };
    let t = &run.session.trainer;
    match g
        .set_params(&t.params)
        .and_then(|_| g.set_optimizer(&t.opt))
    {
        Ok(()) => {
            run.gpu = Some(g);
            run.synced = true;
        }
        Err(e) => st.engine_reason = format!("CPU trainer: moving the run to WebGPU failed ({e})"),
    }
}

/// Takes the run (the worker busy meanwhile), brings its CPU weights up to date with the GPU's
/// (falling back to the CPU if that fails), acts on it, puts it back, reports if asked, and
/// handles the commands that waited.
fn with_synced_run(act: impl FnOnce(&Run, &mut State) + 'static, report_after: bool) {
    spawn_local(async move {
        let taken = STATE.with_borrow_mut(|st| {
            st.busy = true;
            st.run.take()
        });
        if let Some(mut run) = taken {
            let r = sync(&mut run).await;
            STATE.with_borrow_mut(|st| {
                if let Err(e) = r {
                    fall_back(&mut run, st, &e.to_string());
                }
                act(&run, st);
                st.run = Some(run);
            });
        }
        STATE.with_borrow_mut(|st| {
            st.busy = false;
            if report_after {
                report(st);
            }
        });
        drain();
    });
}

fn handle(cmd: ToWorker, bytes: Option<Vec<u8>>) {
    let busy = STATE.with_borrow_mut(|st| {
        if matches!(cmd, ToWorker::Pause) {
            // Seen at once by a running chunk; the checkpoint follows when it ends.
            st.playing = false;
        }
        st.busy
    });
    if busy {
        STATE.with_borrow_mut(|st| st.pending.push((cmd, bytes)));
        return;
    }
    match cmd {
        ToWorker::New { settings } => {
            let made = STATE.with_borrow(|st| match (&settings.init, bytes.as_deref()) {
                (None, _) => TrainSession::new_with(settings, &st.data),
                (Some(name), Some(b)) => {
                    crate::model::io::load_model(b, name, None).and_then(|m| {
                        TrainSession::continue_from(settings.clone(), &st.data, &m.model)
                    })
                }
                (Some(_), None) => Err(crate::error::Error::Input(
                    "continuing a model: its weights did not come with the message".into(),
                )),
            });
            match made {
                Ok(s) => begin_run(s),
                Err(e) => post_error(e),
            }
        }
        ToWorker::Data { names, lens } => {
            match unpack_files(&names, &lens, bytes.as_deref().unwrap_or_default()) {
                Ok(d) => STATE.with_borrow_mut(|st| st.data = d),
                Err(e) => post_error(e),
            }
        }
        ToWorker::Resume => match bytes
            .as_deref()
            .map(|b| STATE.with_borrow(|st| TrainSession::load_with(b, &st.data)))
        {
            Some(Ok(s)) => begin_run(s),
            Some(Err(e)) => post_error(format!("resuming: {e}")),
            None => post_error("resuming: no checkpoint came with the message"),
        },
        ToWorker::Play => STATE.with_borrow_mut(|st| {
            if st.run.as_ref().is_some_and(|r| !r.session.done()) {
                st.playing = true;
                report(st);
                schedule(st);
            }
        }),
        // Checkpoint on pause (the GPU's weights read back first).
        ToWorker::Pause => with_synced_run(checkpoint_now, true),
        ToWorker::Step => {
            STATE.with_borrow_mut(|st| st.playing = false);
            spawn_local(chunk(true));
        }
        ToWorker::SetLr { lr } => STATE.with_borrow_mut(|st| {
            if let Some(r) = st.run.as_mut() {
                if let Err(e) = r.session.set_lr(lr) {
                    post_error(e);
                }
            }
            report(st);
        }),
        ToWorker::Export => with_synced_run(
            |run, _| match run.session.export_model() {
                Ok(b) => post(
                    &FromWorker::Exported {
                        step: run.session.step_count(),
                    },
                    Some(b),
                ),
                Err(e) => post_error(format!("export: {e}")),
            },
            false,
        ),
        ToWorker::BreakHelper => HELPER.with_borrow(|h| match h {
            Some(l) => l.damage_next(),
            None => post_error("break_helper: no helper worker is running"),
        }),
        ToWorker::LoseDevice => STATE.with_borrow_mut(|st| match st.run.as_ref() {
            Some(Run { gpu: Some(g), .. }) => g.destroy_device(),
            _ => post_error("lose_device: the run is not on the GPU"),
        }),
        ToWorker::Engine { pref, workers } => STATE.with_borrow_mut(|st| {
            st.pref = pref;
            st.workers = workers;
            if workers == 1 {
                HELPER.with_borrow_mut(|h| *h = None);
            }
        }),
        ToWorker::LabRecover { config } => lab_recover(&config),
    }
}

/// The Subspace lab's training run, on the CPU, start to end: the worker reads no message
/// meanwhile (the lab starts a worker of its own, so no Train run waits on it); each measured
/// point is posted as it comes.
fn lab_recover(cfg: &RecoverConfig) {
    let r = recover(
        cfg,
        &|| now_ms() / 1000.0,
        &mut |p| post(&FromWorker::LabPoint { point: p.clone() }, None),
        &|| false,
    );
    match r {
        Ok(report) => post(
            &FromWorker::LabReport {
                report: Box::new(report),
            },
            None,
        ),
        Err(e) => post_error(format!("the lab's training run: {e}")),
    }
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
