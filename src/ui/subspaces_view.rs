//! The Subspaces view (issue 11): how one image's tokens gather onto each head's subspace and
//! sparsify, layer by layer, in seven panels (see [`super::subspaces`]).
//!
//! Responsiveness: the numbers come from [`SubspaceCache`], built once per analysed image from
//! the engine's trace in small steps with a yield to the browser between them (as the CPU
//! engine yields between layers); a layer, head or atom change then only assembles a report from
//! the cache and redraws. The cache outlives the view (a tab switch does not recompute it).

use std::cell::RefCell;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::controls::LayerSlider;
use super::light::light_note;
use super::state::AppState;
use super::subspaces::batch::BatchPanel;
use super::subspaces::codes::CodesPanel;
use super::subspaces::compression::CompressionPanel;
use super::subspaces::heads::HeadsPanel;
use super::subspaces::overlap::OverlapPanel;
use super::subspaces::spectra::SpectraPanel;
use super::subspaces::tokens::TokensPanel;
use super::subspaces::{Hook, Shared, Stage};
use super::web::{now_ms, sleep};
use crate::analysis::subspaces::{SubspaceBuilder, SubspaceCache, SubspaceOptions};
use crate::engine::Trace;

thread_local! {
    /// The cache of the last analysed image, keyed by its trace's address.
    static CACHE: RefCell<Option<(usize, Arc<SubspaceCache>)>> = const { RefCell::new(None) };
}

fn key(trace: &Arc<Trace>) -> usize {
    Arc::as_ptr(trace) as usize
}

/// Builds the cache of `trace` in steps, yielding to the browser between them; `progress` gets
/// the fraction done, `done` the cache (or the error, as a message).
fn build(
    app: AppState,
    trace: Arc<Trace>,
    progress: RwSignal<Option<f64>>,
    done: RwSignal<Option<Arc<SubspaceCache>>>,
    error: RwSignal<Option<String>>,
) {
    let id = key(&trace);
    spawn_local(async move {
        progress.set(Some(0.0));
        sleep(0).await;
        let t0 = now_ms();
        let builder = {
            let lock = app.runtime.get_value();
            let guard = lock.lock().await;
            let Some(rt) = guard.as_ref() else {
                progress.set(None);
                return;
            };
            SubspaceBuilder::new(
                &rt.model.params,
                &rt.model.config,
                trace,
                SubspaceOptions::default(),
            )
        };
        let mut builder = match builder {
            Ok(b) => b,
            Err(e) => {
                error.set(Some(e.to_string()));
                progress.set(None);
                return;
            }
        };
        let steps = builder.steps() as f64;
        let mut longest = 0.0f64;
        while !builder.done() {
            let t = now_ms();
            let stepped = builder.step();
            longest = longest.max(now_ms() - t);
            if let Err(e) = stepped {
                error.set(Some(e.to_string()));
                progress.set(None);
                return;
            }
            progress.set(Some(builder.done_steps() as f64 / steps));
            sleep(0).await;
            // A newer image replaced this one: stop.
            let current = app
                .current
                .with_untracked(|c| c.as_ref().and_then(|c| c.trace.as_ref().map(key)));
            if current != Some(id) {
                progress.set(None);
                return;
            }
        }
        match builder.finish() {
            Ok(cache) => {
                let cache = Arc::new(cache);
                CACHE.with(|c| *c.borrow_mut() = Some((id, cache.clone())));
                set_build_ms(now_ms() - t0, longest);
                error.set(None);
                done.set(Some(cache));
            }
            Err(e) => error.set(Some(e.to_string())),
        }
        progress.set(None);
    });
}

/// How long the last cache took (wall clock, yields included) and its longest step, for the
/// tests' report.
fn set_build_ms(ms: f64, step: f64) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("app"))
    {
        let _ = el.set_attribute("data-subspace-build-ms", &format!("{ms:.0}"));
        let _ = el.set_attribute("data-subspace-step-ms", &format!("{step:.0}"));
    }
}

#[component]
pub fn SubspacesView() -> impl IntoView {
    let app = expect_context::<AppState>();
    let cache = RwSignal::new(None::<Arc<SubspaceCache>>);
    let progress = RwSignal::new(None::<f64>);
    let error = RwSignal::new(None::<String>);

    // A new image (or model): take its cache, or build it.
    Effect::new(move |_| {
        let trace = app
            .current
            .with(|c| c.as_ref().and_then(|c| c.trace.clone()));
        let Some(trace) = trace else {
            cache.set(None);
            // The runtime keeps the trace until this view asks for it.
            super::actions::fetch_trace(app);
            return;
        };
        let id = key(&trace);
        let known = CACHE.with(|c| {
            c.borrow()
                .as_ref()
                .filter(|(k, _)| *k == id)
                .map(|(_, v)| v.clone())
        });
        match known {
            Some(c) => cache.set(Some(c)),
            None => {
                cache.set(None);
                build(app, trace, progress, cache, error);
            }
        }
    });

    let heads = Memo::new(move |_| app.model.with(|m| m.as_ref().map_or(1, |m| m.config.heads)));
    let layer = Signal::derive(move || app.layer_now());
    let head = Signal::derive(move || app.head.get().unwrap_or(0).min(heads.get() - 1));
    let atom = RwSignal::new(None::<usize>);
    let shared = Shared::new(cache, layer, head, atom);
    provide_context(shared);

    let head_buttons = move || {
        (0..heads.get())
            .map(|k| {
                view! {
                    <button
                        class="head-button"
                        id=format!("subspace-head-{k}")
                        aria-pressed=move || (head.get() == k).to_string()
                        on:click=move |_| app.head.set(Some(k))
                    >
                        {k.to_string()}
                    </button>
                }
            })
            .collect_view()
    };
    let hook = move || {
        let r = shared.at(Stage::Hook).get()?;
        let engine = app.current.with(|c| c.as_ref().map(|c| c.engine.key()));
        let image = app.current.with(|c| c.as_ref().map(|c| c.name.clone()));
        let layers = app.current.with(|c| {
            c.as_ref()
                .map(|c| crate::analysis::layers_json(&c.report.layers))
        });
        serde_json::to_string(&Hook {
            report: &r,
            engine,
            image_name: image,
            layers_view: layers,
        })
        .ok()
    };
    let status = move || {
        if let Some(why) = light_note(app) {
            return Some(format!("The subspace analysis of this image is unavailable: it needs every layer's token states. {why}."));
        }
        if let Some(e) = error.get() {
            return Some(format!("The subspace analysis failed: {e}"));
        }
        progress.get().map(|p| {
            format!(
                "computing each layer's subspaces for this image… {:.0} %",
                100.0 * p
            )
        })
    };

    view! {
        <div class="view subspaces" id="view-subspaces">
            <div class="controls">
                <LayerSlider />
                <div class="head-picker" role="group" aria-label="Head">
                    <span>"Head"</span>
                    {head_buttons}
                </div>
            </div>
            <p class="muted small" id="subspace-status" role="status">{status}</p>
            <Show
                when=move || shared.at(Stage::Tokens).with(Option::is_some)
                fallback=|| view! { <p class="muted">"The subspace analysis appears once an image is analysed."</p> }
            >
                <TokensPanel />
                <HeadsPanel />
                <CompressionPanel />
                <OverlapPanel />
                <CodesPanel />
                <SpectraPanel />
            </Show>
            <BatchPanel />
            <pre id="wb-subspace-report" hidden>{hook}</pre>
        </div>
    }
}
