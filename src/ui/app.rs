//! The page: header and status, the gallery and inputs on the side, the three views with
//! their explanations. State lives in [`AppState`] (context); the work in [`super::actions`].

use leptos::prelude::*;

use super::actions::boot;
use super::attention_view::AttentionView;
use super::explain::Explain;
use super::inputs::{listen_for_paste, Gallery, ImageInput};
use super::lab_view::LabView;
use super::layers_view::LayersView;
use super::model_view::ModelView;
use super::state::{AppState, UrlState, View};
use super::subspaces_view::SubspacesView;
use super::web::{query, set_query};
use crate::analysis::segment::{image_scores, DEFAULT_MASS};

#[component]
pub fn App() -> impl IntoView {
    let app = AppState::new(&UrlState::parse(&query()));
    provide_context(app);
    provide_context(super::train_view::train_ui(&app));
    listen_for_paste(app);
    // The view state follows into the address bar, so a view can be shared by its URL.
    Effect::new(move |_| {
        if app.ready.get() {
            set_query(&app.url().to_query());
        }
    });
    boot(app);

    let state = move || {
        if app.busy.get().is_some() || app.tasks.get() > 0 {
            "busy"
        } else if app.ready.get() {
            "ready"
        } else if app.error.get().is_some() {
            "error"
        } else {
            "loading"
        }
    };
    let report_json = move || {
        app.current.with(|c| {
            c.as_ref().map(|c| {
                let mut v = c.report.json();
                v["image"] = c.name.clone().into();
                v["ms"] = c.ms.into();
                v["adapter"] = app.engine.with_untracked(|e| e.gpu.clone()).into();
                v["engine"] = c.engine.key().into();
                // `segment --pairs` on this image and its mask prints the same scores.
                // (`--truth outline` for `segment_outline`.)
                if let Some(t) = &c.truth {
                    for (key, truth) in [("segment", &t.majority), ("segment_outline", &t.outline)]
                    {
                        v[key] = match image_scores(&c.report.cls, truth, DEFAULT_MASS) {
                            Ok(s) => serde_json::to_value(s).unwrap_or_default(),
                            Err(e) => serde_json::json!({ "error": e.to_string() }),
                        };
                    }
                }
                v.to_string()
            })
        })
    };
    let tabs = View::ALL
        .into_iter()
        .map(|v| {
            view! {
                <button
                    role="tab"
                    id=format!("tab-{}", v.key())
                    aria-selected=move || (app.view.get() == v).to_string()
                    on:click=move |_| app.view.set(v)
                >
                    {v.title()}
                </button>
            }
        })
        .collect_view();
    let body = move || match app.view.get() {
        View::Attention => view! { <AttentionView /><Explain which="attention" /> }.into_any(),
        View::Layers => view! { <LayersView /><Explain which="layers" /> }.into_any(),
        View::Subspaces => view! { <SubspacesView /> }.into_any(),
        View::Lab => view! { <LabView /> }.into_any(),
        View::Model => view! { <ModelView /><Explain which="model" /> }.into_any(),
        View::Train => view! { <super::train_view::TrainView /> }.into_any(),
    };
    let progress = move || {
        app.busy.get().map(|b| {
            view! {
                <div class="busy" id="wb-busy" role="status">
                    <span>{b.what}</span>
                    {b.progress.map(|p| view! { <progress max="1" value=p></progress> })}
                </div>
            }
        })
    };

    view! {
        <div id="app" data-state=state data-first-map-ms=move || app.first_map_ms.get().map(|t| format!("{t:.0}"))
            data-first-gpu-map-ms=move || app.first_gpu_map_ms.get().map(|t| format!("{t:.0}"))>
            <header>
                <h1>"Whitebox" <span class="muted">" — inside CRATE, the white-box transformer"</span></h1>
                <p class="status">
                    {move || app.model.with(|m| m.as_ref().map(|m| format!("{} · ", m.name)))}
                    <span id="engine-badge">{move || app.engine.with(|e| e.active.label())}</span>
                </p>
            </header>
            {progress}
            <Show when=move || app.notice.get().is_some()>
                <p class="notice" id="wb-notice" role="status">{move || app.notice.get()}</p>
            </Show>
            <Show when=move || app.error.get().is_some()>
                <div class="error" id="wb-error" role="alert">
                    <span>{move || app.error.get()}</span>
                    <button aria-label="Dismiss" on:click=move |_| app.error.set(None)>"×"</button>
                </div>
            </Show>
            <div class="layout">
                <aside class="side">
                    <ImageInput />
                    <super::draw_pad::DrawPad />
                    <Gallery />
                </aside>
                <main>
                    <nav
                        role="tablist"
                        aria-label="Views"
                        on:keydown=move |ev: web_sys::KeyboardEvent| {
                            // Arrow keys move between the tabs, as in the ARIA tabs pattern.
                            let i = View::ALL.iter().position(|v| *v == app.view.get_untracked()).unwrap_or(0);
                            let n = View::ALL.len();
                            let next = match ev.key().as_str() {
                                "ArrowRight" => (i + 1) % n,
                                "ArrowLeft" => (i + n - 1) % n,
                                _ => return,
                            };
                            ev.prevent_default();
                            app.view.set(View::ALL[next]);
                            if let Some(el) = web_sys::window()
                                .and_then(|w| w.document())
                                .and_then(|d| d.get_element_by_id(&format!("tab-{}", View::ALL[next].key())))
                                .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
                            {
                                let _ = el.focus();
                            }
                        }
                    >
                        {tabs}
                    </nav>
                    <div class="view-body">{body}</div>
                </main>
            </div>
            <pre id="wb-report" hidden>{report_json}</pre>
        </div>
    }
}
