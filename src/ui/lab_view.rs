//! The Subspace lab (issue 12): CRATE's idealised operators on tokens from known subspaces, every
//! setting in the URL (`lab-…` keys), presets with a sentence each, plots with their formulas.
//!
//! Responsiveness: a settings change starts a [`LabRun`] that advances one layer (or one ε of the
//! coding curve) at a time with a yield to the browser between steps; a newer change abandons the
//! older run. The numbers are the library's (`analysis::lab`), the same as `whitebox lab run`.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::lab::controls::Controls;
use super::lab::panels::Panels;
use super::lab::recover_client::RecoverUi;
use super::state::AppState;
use super::web::{now_ms, set_query, sleep};
use crate::analysis::lab::{LabConfig, LabInputs, LabReport, LabRun};

/// Settings from the URL's `lab-…` pairs (anything invalid falls back to the defaults).
fn from_url(pairs: &[(String, String)]) -> LabConfig {
    let mut c = LabConfig::default();
    for (k, v) in pairs {
        let before = c.clone();
        if c.set(k, v).is_err() {
            c = before;
        }
    }
    c.repair();
    if c.validate().is_err() {
        return LabConfig::default();
    }
    c
}

#[component]
pub fn LabView() -> impl IntoView {
    let app = expect_context::<AppState>();
    let cfg = RwSignal::new(from_url(&app.lab.get_untracked()));
    let report = RwSignal::new(None::<Arc<LabReport>>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let run_ms = RwSignal::new(0.0f64);
    let json = RwSignal::new(String::new());
    let step_ms = RwSignal::new(0.0f64);
    let generation = StoredValue::new(0u64);
    let recover = RecoverUi::new();
    // The learned CRATE's report, serialised once when it arrives: `#wb-lab-report` carries it
    // as `recovery` while the settings are the ones it was trained with.
    let recover_json = Memo::new(move |_| {
        recover.report.with(|r| {
            r.as_ref()
                .map(|r| serde_json::to_string(r.as_ref()).unwrap_or_default())
        })
    });
    let hook = move || {
        let base = json.get();
        let current = recover.query.get() == cfg.with(|c| c.to_query());
        match recover_json.get() {
            Some(r) if current && base.ends_with('}') => {
                format!("{},\"recovery\":{r}}}", &base[..base.len() - 1])
            }
            _ => base,
        }
    };

    Effect::new(move |_| {
        let c = cfg.get();
        let pairs: Vec<(String, String)> = c
            .to_pairs()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        app.lab.set(pairs);
        set_query(&untrack(|| app.url()).to_query());
        generation.update_value(|g| *g += 1);
        let g = generation.get_value();
        busy.set(true);
        spawn_local(async move {
            sleep(0).await;
            let t0 = now_ms();
            let started = LabInputs::generate(&c).and_then(|inp| LabRun::new(&c, &inp));
            let mut run = match started {
                Ok(r) => r,
                Err(e) => {
                    error.set(Some(e.to_string()));
                    busy.set(false);
                    return;
                }
            };
            let mut longest = 0.0f64;
            while !run.done() {
                let t = now_ms();
                run.step();
                longest = longest.max(now_ms() - t);
                sleep(0).await;
                if generation.get_value() != g {
                    return;
                }
            }
            // Serialising the hook's JSON and redrawing the plots are separate tasks, each
            // after a yield, so that neither adds to the other (a debug build at N = 512).
            let rep = Arc::new(run.finish());
            let text = serde_json::to_string(rep.as_ref()).unwrap_or_default();
            sleep(0).await;
            if generation.get_value() != g {
                return;
            }
            error.set(None);
            report.set(Some(rep));
            sleep(0).await;
            json.set(text);
            step_ms.set(longest);
            run_ms.set(now_ms() - t0);
            busy.set(false);
        });
    });

    view! {
        <section
            class="lab"
            id="wb-lab"
            data-state=move || if busy.get() { "busy" } else { "ready" }
            data-query=move || cfg.with(|c| c.to_query())
            data-report=move || {
                report.with(|r| r.as_ref().map(|r| r.config.to_query()))
            }
            data-run-ms=move || format!("{:.0}", run_ms.get())
            data-step-ms=move || format!("{:.1}", step_ms.get())
        >
            <Controls cfg=cfg />
            {move || error.get().map(|e| view! { <p class="lab-error" role="alert">{e}</p> })}
            <Panels report=report cfg=cfg recover=recover />
            <pre id="wb-lab-report" hidden>{hook}</pre>
        </section>
    }
}
