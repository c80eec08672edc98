//! The model and engine view: what is loaded (config, parameters, assumptions, model card),
//! loading another model, the input size, and which engine runs (with a comparison).

use leptos::prelude::*;

use super::actions::{
    compare_engines, load_bundled, load_model_from_bytes, reanalyse, retry_gpu,
    retry_model_with_heads,
};
use super::train::client::TrainUi;

/// The model menu's values for models trained in the page: this prefix and their index.
const TRAINED: &str = "trained:";
use super::inputs::ModelInput;
use super::official_panel::OfficialPanel;
use super::state::{AppState, EnginePref};
use crate::data::image::Resize;
use crate::page::model_choice::input_sides as sides;

#[component]
fn Row(k: &'static str, v: String) -> impl IntoView {
    view! { <tr><th scope="row">{k}</th><td>{v}</td></tr> }
}

#[component]
pub fn ModelView() -> impl IntoView {
    let app = expect_context::<AppState>();
    let info = move || {
        app.model.get().map(|m| {
            let c = &m.config;
            let card = m.card.as_ref().map(|card| {
                let get = |k: &str| card.get(k).map(|v| v.to_string().trim_matches('"').to_string());
                view! {
                    <h3>"Model card"</h3>
                    <table class="kv">
                        <Row k="dataset" v=get("dataset").unwrap_or_default() />
                        <Row k="test accuracy" v=get("test_accuracy").unwrap_or_default() />
                        <Row k="trained" v=format!("{} epochs, {} s", get("epochs").unwrap_or_default(), get("wall_time_s").unwrap_or_default()) />
                        <Row k="machine" v=get("machine").unwrap_or_default() />
                    </table>
                    <details><summary>"Training command"</summary><pre class="wrap">{get("command").unwrap_or_default()}</pre></details>
                }
            });
            let notes = m
                .notes
                .iter()
                .map(|n| view! { <li>{n.clone()}</li> })
                .collect_view();
            view! {
                <table class="kv" id="model-info">
                    <Row k="file" v=format!("{} ({})", m.name, m.format) />
                    <Row k="input" v=format!("{}×{}, {} channel{}", c.image[0], c.image[1], c.channels, if c.channels == 1 { "" } else { "s" }) />
                    <Row k="patch" v=format!("{0}×{0}", c.patch) />
                    <Row k="width d" v=c.dim.to_string() />
                    <Row k="layers" v=c.depth.to_string() />
                    <Row k="heads" v=format!("{} (head dimension {})", c.heads, c.head_dim()) />
                    <Row k="classes" v=c.classes.to_string() />
                    <Row k="parameters" v=format!("{:.2} M", m.parameters as f64 / 1e6) />
                </table>
                <Show when={let empty = m.notes.is_empty(); move || !empty}>
                    <h3>"Assumed while loading"</h3>
                </Show>
                <ul class="notes">{notes.clone()}</ul>
                {card}
            }
        })
    };

    let heads_input = RwSignal::new(String::new());
    let heads_prompt = move || {
        app.heads_prompt.get().map(|msg| {
            view! {
                <div class="prompt" role="dialog" aria-label="Number of heads" id="heads-prompt">
                    <p>{msg}</p>
                    <label>"Heads: "
                        <input type="number" min="1" id="heads-value" prop:value=move || heads_input.get()
                            on:input=move |ev| heads_input.set(event_target_value(&ev)) />
                    </label>
                    <button on:click=move |_| {
                        match heads_input.get().trim().parse::<usize>() {
                            Ok(h) if h > 0 => retry_model_with_heads(app, h),
                            _ => app.fail("enter a positive whole number of heads"),
                        }
                    }>"Load"</button>
                </div>
            }
        })
    };
    let override_heads = move || {
        // Offered when the model's head count was assumed from a preset (its bytes are kept
        // in `pending_model` for the reload).
        let assumed = app
            .model
            .with(|m| m.as_ref().is_some_and(|m| m.heads_assumed()));
        assumed.then(|| {
            view! {
                <p class="small">"The head count was assumed from a preset. A different one: "
                    <input type="number" min="1" class="narrow" prop:value=move || heads_input.get()
                        on:input=move |ev| heads_input.set(event_target_value(&ev)) />
                    <button on:click=move |_| {
                        if let Ok(h) = heads_input.get().trim().parse::<usize>() { retry_model_with_heads(app, h) }
                    }>"Reload"</button>
                </p>
            }
        })
    };

    let size_options = move || {
        app.model.with(|m| {
            m.as_ref()
                .map(|m| sides(m.config.image[0], m.config.patch))
                .unwrap_or_default()
        })
    };
    let engine = move || app.engine.get();
    // Models trained in the Train view and opened from it.
    let trained = use_context::<TrainUi>()
        .map(|u| u.trained)
        .unwrap_or_else(|| RwSignal::new(Vec::new()));
    let is_on_show = move |name: &str| {
        app.model_name.with(Option::is_none)
            && app
                .model
                .with(|m| m.as_ref().is_some_and(|m| m.name == name))
    };
    let on_choose = move |ev| {
        let v = event_target_value(&ev);
        match v
            .strip_prefix(TRAINED)
            .and_then(|i| i.parse::<usize>().ok())
        {
            Some(i) => {
                if let Some((name, bytes)) = trained.with_untracked(|t| t.get(i).cloned()) {
                    load_model_from_bytes(app, name, bytes.to_vec());
                }
            }
            None => load_bundled(app, v),
        }
    };

    view! {
        <div class="view model" id="view-model">
            <section>
                <h3>"Loaded model"</h3>
                <Show when=move || app.bundled.with(|b| b.len() > 1) || trained.with(|t| !t.is_empty())>
                    <label>"Bundled models: "
                        <select id="bundled-model" on:change=on_choose>
                            {move || app.bundled.get().into_iter().map(|b| {
                                let name = b.name.clone();
                                view! {
                                    <option value=b.name.clone() selected=move || app.model_name.get().as_deref() == Some(name.as_str())>
                                        {b.title}
                                    </option>
                                }
                            }).collect_view()}
                            {move || trained.get().into_iter().enumerate().map(|(i, (name, _))| {
                                let n = name.clone();
                                view! {
                                    <option value=format!("{TRAINED}{i}") selected=move || is_on_show(&n)>{name}</option>
                                }
                            }).collect_view()}
                            <Show when=move || app.model_name.with(Option::is_none) && !trained.with(|t| t.iter().any(|(n, _)| is_on_show(n)))>
                                <option value="" selected=true disabled=true>"(your file)"</option>
                            </Show>
                        </select>
                    </label>
                </Show>
                {info}
                {override_heads}
                {heads_prompt}
                <ModelInput />
            </section>
            <section>
                <h3>"Input"</h3>
                <label>"Size (multiples of the patch; position embeddings are interpolated): "
                    <select id="input-size" on:change=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse::<usize>() {
                            app.input_side.set(v);
                            // The gallery figure was measured at the old size.
                            app.batch.set(None);
                            reanalyse(app);
                        }
                    }>
                        {move || size_options().into_iter().map(|s| {
                            view! { <option value=s.to_string() selected=move || app.input_side.get() == s>{format!("{s}×{s}")}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>" Fit: "
                    <select id="fit" on:change=move |ev| {
                        if let Ok(r) = event_target_value(&ev).parse::<Resize>() {
                            app.fit.set(r);
                            app.batch.set(None);
                            reanalyse(app);
                        }
                    }>
                        <option value="imagenet" selected=move || app.fit.get() == Resize::Imagenet>"resize and centre-crop (ImageNet)"</option>
                        <option value="stretch" selected=move || app.fit.get() == Resize::Stretch>"stretch to the size"</option>
                    </select>
                </label>
            </section>
            <section id="engine-panel">
                <h3>"Engine"</h3>
                <p id="wb-engine" data-active=move || engine().active.label()>{move || engine().reason}</p>
                <p id="wb-inference-place" class="small">{move || app.inference_place.get()}</p>
                <p class="small">"WebGPU adapter: " <span id="wb-adapter">{move || engine().gpu}</span></p>
                <fieldset>
                    <legend>"Run on"</legend>
                    {[EnginePref::Auto, EnginePref::Gpu, EnginePref::Cpu].into_iter().map(|p| {
                        let label = match p {
                            EnginePref::Auto => "the faster (measured)",
                            EnginePref::Gpu => "WebGPU",
                            EnginePref::Cpu => "CPU (WebAssembly)",
                        };
                        view! {
                            <label class="radio">
                                <input type="radio" name="engine" value=p.key()
                                    prop:checked=move || app.engine_pref.get() == p
                                    on:change=move |_| {
                                        app.engine_pref.set(p);
                                        reanalyse(app);
                                    } />
                                {label}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <p>
                    <button id="compare-engines" on:click=move |_| compare_engines(app)
                        disabled=move || !engine().gpu_ok || app.busy.get().is_some()>"Compare both engines on this image"</button>
                    " "
                    <button on:click=move |_| retry_gpu(app) disabled=move || app.busy.get().is_some()>"Retry WebGPU"</button>
                </p>
                <p id="comparison">{move || app.comparison.get()}</p>
            </section>
            <OfficialPanel />
        </div>
    }
}
